import { assertEquals } from "@std/assert";
import { planLayerExclusions } from "./init_layer.ts";
import { testContainerConfig } from "../testing/container_config.ts";

Deno.test("init layer: the runtime's files always, mount points the image lacks with their parents", () => {
  const image = new Set(["/proc", "/dev", "/sys", "/srv", "/run", "/tmp"]);
  const config = testContainerConfig({
    volumes: [{ source: "/h", destination: "/srv/a/b", readOnly: false }],
    tmpfs: [{ destination: "/cache", flags: [], data: "" }],
  });
  assertEquals([...planLayerExclusions(config, (p) => image.has(p))].sort(), [
    "/cache",
    "/etc", // made for the init files: this image has no /etc
    "/etc/hostname",
    "/etc/hosts",
    "/etc/resolv.conf",
    "/srv/a",
    "/srv/a/b",
  ]);
  const withEtc = planLayerExclusions(config, (p) => image.has(p) || p === "/etc");
  assertEquals(withEtc.has("/etc"), false, "an image's own /etc is never left out");
  const os = testContainerConfig({ systemd: true });
  const excluded = planLayerExclusions(os, (p) => image.has(p) || p === "/var/log/journal");
  assertEquals(["/etc/machine-id", "/run/lock"].every((p) => excluded.has(p)), true);
  assertEquals(
    ["/run", "/tmp", "/var/log/journal", "/var/log"].some((p) => excluded.has(p)),
    false,
  );
});

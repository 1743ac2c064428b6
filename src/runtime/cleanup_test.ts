import { assertEquals } from "@std/assert";
import { exitRecordFromEnv, mountsBelow, unescapeMountPath } from "./cleanup.ts";

const MOUNTINFO = [
  "22 27 0:21 / /proc rw,relatime - proc proc rw",
  "100 27 0:50 / /var/lib/tsnspawn/containers/web/rootfs rw - overlay overlay rw",
  "101 100 0:51 / /var/lib/tsnspawn/containers/web/rootfs/proc rw - proc proc rw",
  "102 27 0:52 / /var/lib/tsnspawn/containers/web2/rootfs rw - overlay overlay rw",
  "103 27 0:53 / /var/lib/tsnspawn/containers/web/with\\040space rw - tmpfs tmpfs rw",
  "",
].join("\n");

Deno.test("mountsBelow: only the container's own mounts, deepest first", () => {
  assertEquals(mountsBelow(MOUNTINFO, "/var/lib/tsnspawn/containers/web"), [
    "/var/lib/tsnspawn/containers/web/rootfs/proc",
    "/var/lib/tsnspawn/containers/web/with space",
    "/var/lib/tsnspawn/containers/web/rootfs",
  ]);
  assertEquals(mountsBelow(MOUNTINFO, "/nothing"), []);
});

Deno.test("unescapeMountPath: octal escapes of mountinfo", () => {
  assertEquals(unescapeMountPath("/a\\040b\\011c\\134d"), "/a b\tc\\d");
});

Deno.test("exitRecordFromEnv: systemd's ExecStopPost= variables", () => {
  const env: Record<string, string> = {
    EXIT_CODE: "killed",
    EXIT_STATUS: "TERM",
    SERVICE_RESULT: "signal",
  };
  assertEquals(exitRecordFromEnv((k) => env[k], new Date("2024-01-02T03:04:05Z")), {
    exitCode: "killed",
    exitStatus: "TERM",
    serviceResult: "signal",
    finishedAt: "2024-01-02T03:04:05.000Z",
  });
  assertEquals(exitRecordFromEnv(() => undefined, new Date(0)).exitCode, "");
});

/** Volume names, driver options and the mounts they plan (pure). */
import { assertEquals, assertThrows } from "@std/assert";
import { TsnspawnError } from "../errors.ts";
import {
  planVolumeConfig,
  planVolumeMount,
  validateVolumeName,
  validateVolumeOptions,
} from "./config.ts";

Deno.test("volume names as docker's", () => {
  assertEquals(validateVolumeName("db_data.v1-x"), "db_data.v1-x");
  for (const bad of ["a", "-x", "a/b", "a b", "x".repeat(129)]) {
    assertThrows(() => validateVolumeName(bad), TsnspawnError, "volume name", bad);
  }
});

Deno.test("volume options: local driver mounts", () => {
  assertEquals(planVolumeMount({}), null);
  assertEquals(planVolumeMount({ type: "tmpfs", device: "tmpfs", o: "size=64m,uid=1000,nodev" }), {
    type: "tmpfs",
    device: "tmpfs",
    data: "size=64m,uid=1000",
    flags: ["nodev"],
  });
  assertEquals(planVolumeMount({ type: "none", device: "/srv/x", o: "bind,ro" }), {
    type: "bind",
    device: "/srv/x",
    data: "",
    flags: ["ro"],
  });
  assertEquals(planVolumeMount({ type: "bind", device: "/srv/x" })?.type, "bind");
  assertThrows(() => planVolumeMount({ type: "tmpfs" }), TsnspawnError, "go together");
  assertThrows(() => planVolumeMount({ o: "size=1m" }), TsnspawnError, "needs type= and device=");
  assertThrows(
    () => planVolumeMount({ type: "none", device: "/x" }),
    TsnspawnError,
    "needs o=bind",
  );
  assertThrows(
    () => planVolumeMount({ type: "bind", device: "rel" }),
    TsnspawnError,
    "absolute host path",
  );
  assertThrows(() => validateVolumeOptions({ driver: "nfs" }), TsnspawnError, "unknown");
  assertThrows(() => validateVolumeOptions({ uid: "root" }), TsnspawnError, "not a number");
  const config = planVolumeConfig({ name: "data", labels: { a: "b" } }, new Date(0));
  assertEquals([config.driver, config.anonymous, config.labels], ["local", false, { a: "b" }]);
});

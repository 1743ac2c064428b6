import { assert, assertEquals, assertThrows } from "@std/assert";
import { TsnspawnError } from "../errors.ts";
import {
  CAP_LAST_CAP,
  CAPABILITIES,
  capabilityMask,
  capabilityName,
  capabilityNumber,
  DOCKER_DEFAULT_CAPABILITIES,
  normalizeCapabilityName,
  resolveCapabilities,
} from "./capabilities.ts";

Deno.test("the table has capabilities 0..40 with their kernel numbers", () => {
  assertEquals(CAPABILITIES.length, 41);
  assertEquals(CAP_LAST_CAP, 40);
  assertEquals(capabilityNumber("CAP_CHOWN"), 0);
  assertEquals(capabilityNumber("CAP_KILL"), 5);
  assertEquals(capabilityNumber("CAP_NET_BIND_SERVICE"), 10);
  assertEquals(capabilityNumber("CAP_NET_RAW"), 13);
  assertEquals(capabilityNumber("CAP_SYS_CHROOT"), 18);
  assertEquals(capabilityNumber("CAP_SYS_ADMIN"), 21);
  assertEquals(capabilityNumber("CAP_MKNOD"), 27);
  assertEquals(capabilityNumber("CAP_AUDIT_WRITE"), 29);
  assertEquals(capabilityNumber("CAP_SETFCAP"), 31);
  assertEquals(capabilityNumber("CAP_SYSLOG"), 34);
  assertEquals(capabilityNumber("CAP_PERFMON"), 38);
  assertEquals(capabilityNumber("CAP_BPF"), 39);
  assertEquals(capabilityNumber("CAP_CHECKPOINT_RESTORE"), 40);
  const names = new Set(CAPABILITIES.map((c) => c.name));
  assertEquals(names.size, 41);
  for (const c of CAPABILITIES) {
    assert(/^CAP_[A-Z_]+$/.test(c.name));
    assert(c.description.length > 0);
  }
  for (let n = 0; n <= 40; n++) assertEquals(capabilityNumber(capabilityName(n)), n);
});

Deno.test("names are accepted with or without CAP_, in any case", () => {
  assertEquals(normalizeCapabilityName("net_admin"), "CAP_NET_ADMIN");
  assertEquals(normalizeCapabilityName("NET_ADMIN"), "CAP_NET_ADMIN");
  assertEquals(normalizeCapabilityName("cap_net_admin"), "CAP_NET_ADMIN");
  assertEquals(capabilityNumber("sys_ptrace"), 19);
});

Deno.test("unknown names and numbers are clear errors", () => {
  const error = assertThrows(() => capabilityNumber("CAP_FLY"), TsnspawnError);
  assertEquals(error.code, "invalid");
  assertEquals(error.message, 'capability "CAP_FLY": unknown capability');
  assert(error.hint);
  assertThrows(() => capabilityName(41), TsnspawnError, "no such capability number");
  assertThrows(() => capabilityName(-1), TsnspawnError);
  assertThrows(() => capabilityName(1.5), TsnspawnError);
  assertThrows(() => normalizeCapabilityName(""), TsnspawnError);
  assertThrows(() => normalizeCapabilityName("ALL"), TsnspawnError);
});

Deno.test("docker's default set has the 14 capabilities", () => {
  assertEquals(DOCKER_DEFAULT_CAPABILITIES.length, 14);
  assertEquals(new Set(DOCKER_DEFAULT_CAPABILITIES).size, 14);
  for (const name of DOCKER_DEFAULT_CAPABILITIES) capabilityNumber(name);
  assertEquals(capabilityMask(DOCKER_DEFAULT_CAPABILITIES), 0xa80425fbn);
});

Deno.test("capabilityMask sets bit n for capability n", () => {
  assertEquals(capabilityMask([]), 0n);
  assertEquals(capabilityMask(["CHOWN"]), 1n);
  assertEquals(capabilityMask(["CAP_CHECKPOINT_RESTORE"]), 1n << 40n);
  assertEquals(capabilityMask(["kill", "CAP_KILL"]), 1n << 5n);
  assertEquals(capabilityMask(CAPABILITIES.map((c) => c.name)), (1n << 41n) - 1n);
});

Deno.test("resolveCapabilities follows docker's --cap-add/--cap-drop", () => {
  const defaults = DOCKER_DEFAULT_CAPABILITIES;
  assertEquals(resolveCapabilities(defaults, [], []).length, 14);
  const added = resolveCapabilities(defaults, ["net_admin"], []);
  assert(added.includes("CAP_NET_ADMIN"));
  assertEquals(added.length, 15);
  const dropped = resolveCapabilities(defaults, [], ["CAP_NET_RAW", "mknod"]);
  assertEquals(dropped.length, 12);
  assert(!dropped.includes("CAP_NET_RAW"));
  assertEquals(resolveCapabilities(defaults, ["CAP_SYS_ADMIN"], ["ALL"]), ["CAP_SYS_ADMIN"]);
  assertEquals(resolveCapabilities(defaults, ["kill", "chown"], ["all"]), [
    "CAP_CHOWN",
    "CAP_KILL",
  ]);
  assertEquals(resolveCapabilities(defaults, [], ["ALL"]), []);
  const all = resolveCapabilities(defaults, ["ALL"], ["CAP_SYS_ADMIN"]);
  assertEquals(all.length, 40);
  assert(!all.includes("CAP_SYS_ADMIN"));
  // An add wins over a drop of the same name (docker appends adds after drops).
  assert(resolveCapabilities(defaults, ["KILL"], ["KILL"]).includes("CAP_KILL"));
  // Sorted by number, no duplicates.
  const result = resolveCapabilities(defaults, ["CHOWN", "SYS_ADMIN"], []);
  assertEquals(result, [...new Set(result)]);
  assertEquals(result.map(capabilityNumber), result.map(capabilityNumber).sort((a, b) => a - b));
  assertThrows(
    () => resolveCapabilities(defaults, ["CAP_FLY"], []),
    TsnspawnError,
    "unknown capability",
  );
  assertThrows(
    () => resolveCapabilities(defaults, [], ["nope"]),
    TsnspawnError,
    "unknown capability",
  );
});

Deno.test("fuzz capability names: only TsnspawnError", () => {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const alphabet = "CAP_cap_SYSADMINKLLAl0 \0é";
  for (let i = 0; i < 3000; i++) {
    let s = "";
    const length = Math.floor(random() * 14);
    for (let j = 0; j < length; j++) s += alphabet[Math.floor(random() * alphabet.length)];
    try {
      resolveCapabilities(DOCKER_DEFAULT_CAPABILITIES, [s], [s]);
      capabilityMask([s]);
    } catch (error) {
      if (!(error instanceof TsnspawnError)) throw error;
    }
  }
});

import { assertEquals, assertThrows } from "@std/assert";
import { TsnspawnError } from "../errors.ts";
import { SysError } from "../errors.ts";
import { capabilityMask, DOCKER_DEFAULT_CAPABILITIES } from "../security/capabilities.ts";
import { DEFAULT_PATH } from "../container/mount_plan.ts";
import { capabilitiesToDrop, exitStatusFor, pathOf, resolveCommand } from "./process_security.ts";

Deno.test("pathOf: the last PATH wins, docker's default otherwise", () => {
  assertEquals(pathOf(["A=1", "PATH=/a", "PATH=/b"]), "/b");
  assertEquals(pathOf(["A=1"]), DEFAULT_PATH);
  assertEquals(pathOf(["PATHX=/x"]), DEFAULT_PATH);
});

Deno.test("capabilitiesToDrop: every capability outside the kept mask", () => {
  const keep = capabilityMask(DOCKER_DEFAULT_CAPABILITIES);
  assertEquals(keep, 0xa80425fbn);
  const drop = capabilitiesToDrop(keep, 40);
  assertEquals(drop.includes(21), true); // CAP_SYS_ADMIN
  assertEquals(drop.includes(0), false); // CAP_CHOWN
  assertEquals(drop.length, 41 - DOCKER_DEFAULT_CAPABILITIES.length);
  assertEquals(capabilitiesToDrop(0n, 2), [0, 1, 2]);
});

Deno.test("exitStatusFor: 127 not found, 126 not executable, 1 otherwise", () => {
  assertEquals(exitStatusFor(new TsnspawnError("not-found", "x")), 127);
  assertEquals(exitStatusFor(new TsnspawnError("permission", "x")), 126);
  assertEquals(exitStatusFor(new SysError("execve", 2, "ENOENT", "No such file", "/x")), 127);
  assertEquals(exitStatusFor(new SysError("execve", 8, "ENOEXEC", "Exec format error", "/x")), 126);
  assertEquals(exitStatusFor(new SysError("mount", 1, "EPERM", "Operation not permitted")), 1);
  assertEquals(exitStatusFor(new Error("boom")), 1);
});

Deno.test("resolveCommand: PATH lookup like execvp, with clear errors", () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(`${dir}/tool`, "#!/bin/sh\n", { mode: 0o755 });
    Deno.writeTextFileSync(`${dir}/plain`, "data\n", { mode: 0o644 });
    Deno.mkdirSync(`${dir}/adir`);
    assertEquals(resolveCommand("tool", [`PATH=/nonexistent:${dir}`]), `${dir}/tool`);
    assertEquals(resolveCommand(`${dir}/tool`, []), `${dir}/tool`);
    const missing = assertThrows(() => resolveCommand("nosuch", [`PATH=${dir}`]), TsnspawnError);
    assertEquals(missing.code, "not-found");
    assertEquals(missing.message, `command nosuch: not found in the container's PATH (${dir})`);
    assertEquals(
      assertThrows(() => resolveCommand("plain", [`PATH=${dir}`]), TsnspawnError).code,
      "permission",
    );
    assertEquals(
      assertThrows(() => resolveCommand(`${dir}/adir`, []), TsnspawnError).code,
      "permission",
    );
    assertEquals(
      assertThrows(() => resolveCommand(`${dir}/none`, []), TsnspawnError).code,
      "not-found",
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

import { assertEquals } from "@std/assert";
import { makedev, MS_NOSUID, preservedMountFlags } from "./mount.ts";

Deno.test("makedev: glibc's dev_t encoding", () => {
  assertEquals(makedev(1, 3), 0x103n);
  assertEquals(makedev(5, 0), 0x500n);
  assertEquals(makedev(0x1234, 0x56789), 0x1000_5672_3489n);
});

Deno.test({
  name: "preservedMountFlags: reads the flags of the mount holding a path",
  ignore: Deno.build.os !== "linux",
  fn() {
    // /proc is mounted nosuid,nodev,noexec almost everywhere; at least it answers.
    const flags = preservedMountFlags("/proc");
    assertEquals(typeof flags, "number");
    if (Deno.readTextFileSync("/proc/self/mountinfo").match(/ \/proc [^ ]*nosuid/)) {
      assertEquals(flags & MS_NOSUID, MS_NOSUID);
    }
  },
});

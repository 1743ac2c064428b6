/**
 * Installs docker's default seccomp program for real, in a child Deno
 * process (tests/seccomp_apply_probe.ts), and checks what the kernel then
 * answers: EPERM for mount/unshare/keyctl/socket(AF_VSOCK), ENOSYS for
 * clone3 and syscalls newer than the profile, while getpid, AF_UNIX sockets
 * and spawning a child (which inherits the filter) keep working.
 *
 * The "before" probes show the same calls behave differently without the
 * filter; mount's and unshare's need root, and are skipped otherwise.
 *
 *   cd /work/main && node_modules/.bin/deno test -A tests/seccomp_apply_test.ts
 */
import { assertEquals, assertNotEquals, assertThrows } from "@std/assert";
import { fromFileUrl } from "@std/path";
import { TsnspawnError } from "../src/errors.ts";
import { installSeccompFilter } from "../src/runtime/seccomp_apply.ts";

const PROBE = fromFileUrl(new URL("./seccomp_apply_probe.ts", import.meta.url));
const ROOT = Deno.uid() === 0;

interface ProbeReport {
  before: Record<string, string>;
  after: Record<string, string>;
}

async function runProbe(): Promise<ProbeReport> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", PROBE],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assertEquals(output.code, 0, `probe failed: ${stderr}`);
  return JSON.parse(new TextDecoder().decode(output.stdout));
}

Deno.test({
  name: "docker's default filter, installed on a Deno thread, refuses and allows what docker does",
  ignore: Deno.build.os !== "linux" || Deno.build.arch !== "x86_64",
  async fn() {
    const { before, after } = await runProbe();
    assertEquals(before.seccomp_mode, "0", "the probe starts without a filter");
    assertEquals(after, {
      getpid: "ok",
      mount: "EPERM",
      unshare: "EPERM",
      keyctl: "EPERM",
      clone3: "ENOSYS",
      file_getattr: "ENOSYS",
      socket_unix: "ok",
      socket_vsock: "EPERM",
      seccomp_mode: "2",
      child_seccomp: "2",
    });
    // Without the filter the kernel gives other answers: the filter made the difference.
    assertNotEquals(before.keyctl, "EPERM");
    assertEquals(before.clone3, "EINVAL");
    assertNotEquals(before.file_getattr, "ENOSYS");
    if (ROOT) {
      assertEquals(before.mount, "ENOENT");
      assertEquals(before.unshare, "ok");
    }
  },
});

Deno.test("installSeccompFilter refuses buffers that are not whole programs, before any syscall", () => {
  for (const bytes of [0, 12, 8 * 4097]) {
    const error = assertThrows(() => installSeccompFilter(new Uint8Array(bytes)), TsnspawnError);
    assertEquals(error.code, "invalid");
  }
});

/**
 * Probe for tests/seccomp_apply_test.ts, run as its own Deno process:
 * tries a few syscalls on the main thread, sets no_new_privs, installs
 * docker's default seccomp program (docker's default capabilities), tries
 * them again, and prints `{"before": {...}, "after": {...}}` as JSON on
 * stdout. Each probe reports "ok" or the errno name.
 *
 * Raw syscalls without a glibc wrapper (keyctl, clone3, file_getattr) go
 * through the `syscall(2)` symbol ffi/libc.ts declares for pivot_root
 * (number plus two pointer arguments, passed as NULL here).
 */
import { DOCKER_DEFAULT_CAPABILITIES } from "../src/security/capabilities.ts";
import { planSeccompProgram } from "../src/security/seccomp_bpf.ts";
import { DOCKER_DEFAULT_PROFILE } from "../src/security/seccomp_profile.ts";
import { x86_64SyscallNumber } from "../src/security/seccomp_syscalls.ts";
import { installSeccompFilter, threadSeccompMode } from "../src/runtime/seccomp_apply.ts";
import { setNoNewPrivileges } from "../ffi/capabilities.ts";
import { cstring, errno, errnoName, libc } from "../ffi/libc.ts";

const CLONE_NEWUTS = 0x04000000;
const AF_UNIX = 1;
const AF_VSOCK = 40;
const SOCK_STREAM = 1;

/** "ok", or the errno name when the call returned -1. */
function outcome(result: number | bigint): string {
  return result === -1 || result === -1n ? errnoName(errno()) : "ok";
}

function raw(name: string): string {
  return outcome(libc().syscall_pivot_root(BigInt(x86_64SyscallNumber(name)!), null, null));
}

function socket(family: number): string {
  const fd = libc().socket(family, SOCK_STREAM, 0);
  if (fd >= 0) libc().close(fd);
  return outcome(fd);
}

function probe(): Record<string, string> {
  return {
    getpid: libc().getpid() > 0 ? "ok" : "failed",
    mount: outcome(
      libc().mount(
        cstring("none"),
        cstring("/nonexistent-tsnspawn-probe"),
        cstring("tmpfs"),
        0n,
        null,
      ),
    ),
    unshare: outcome(libc().unshare(CLONE_NEWUTS)),
    keyctl: raw("keyctl"), // keyctl(KEYCTL_GET_KEYRING_ID, 0, 0)
    clone3: raw("clone3"), // clone3(NULL, 0)
    file_getattr: raw("file_getattr"), // newer than docker's profile
    socket_unix: socket(AF_UNIX),
    socket_vsock: socket(AF_VSOCK),
    seccomp_mode: String(threadSeccompMode()),
  };
}

const before = probe();
setNoNewPrivileges();
const program = planSeccompProgram(DOCKER_DEFAULT_PROFILE, {
  capabilities: DOCKER_DEFAULT_CAPABILITIES,
  arch: "x86_64",
  kernelVersion: Deno.osRelease(),
});
installSeccompFilter(program.instructions);
const after = probe();
// A child forked from this thread inherits the filter; glibc's posix_spawn
// tries clone3 first and falls back to clone on ENOSYS.
const child = new Deno.Command("/bin/cat", { args: ["/proc/self/status"] }).outputSync();
after.child_seccomp = child.success
  ? /^Seccomp:\s*(\d+)$/m.exec(new TextDecoder().decode(child.stdout))?.[1] ?? "?"
  : `exit ${child.code}`;
console.log(JSON.stringify({ before, after }));

/**
 * Installs a compiled seccomp filter (`src/security/seccomp_bpf.ts`) on the calling
 * thread: `prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &struct sock_fprog)`.
 *
 * Per thread, on purpose: the filter binds the calling thread and what it
 * execs or forks, not Deno's other threads (no SECCOMP_FILTER_FLAG_TSYNC).
 * Stage two calls this on the main thread, the one that execve(2)s the
 * container's command, which inherits the filter; the rest of the Deno
 * process keeps working until then. Filters cannot be removed, only stacked.
 *
 * The kernel accepts a filter only from a thread with no_new_privs set or
 * with CAP_SYS_ADMIN in its effective set (seccomp(2), EACCES otherwise):
 * install it right after PR_SET_NO_NEW_PRIVS, or while still privileged.
 * The kernel copies the program, so the buffers may go once this returns.
 *
 * Man pages: seccomp(2), prctl(2) (PR_SET_SECCOMP).
 */
import { addressOf, check, libc, strerror } from "../../ffi/libc.ts";
import { SysError, TsnspawnError } from "../errors.ts";
import { BPF_MAXINSNS, SOCK_FILTER_SIZE } from "../security/bpf_program.ts";

/** prctl(2) option (linux/prctl.h). */
export const PR_SET_SECCOMP = 22;
/** Filter mode of PR_SET_SECCOMP (linux/seccomp.h). */
export const SECCOMP_MODE_FILTER = 2;

/** sizeof(struct sock_fprog) on x86_64: unsigned short len; 6 bytes padding; struct sock_filter *filter. */
const SOCK_FPROG_SIZE = 16;

/** Likely causes of a PR_SET_SECCOMP failure, by errno name. */
const INSTALL_HINTS: Record<string, string> = {
  EACCES: "set no_new_privs first or keep CAP_SYS_ADMIN until the filter is installed",
  EINVAL: "the kernel rejected the program, or lacks CONFIG_SECCOMP_FILTER",
  ENOMEM: "too many seccomp filters are stacked on this thread",
  EFAULT: "the program buffer was not readable",
};

/** The last buffers handed to the kernel, kept referenced until the call has returned. */
let _handedToKernel: unknown;

/**
 * Installs `instructions` (struct sock_filter[], 8 bytes each) as a seccomp
 * filter of the calling thread. Throws a SysError naming PR_SET_SECCOMP
 * (with a hint) when the kernel refuses it, a TsnspawnError when the buffer
 * is not a whole, non-empty program of at most BPF_MAXINSNS instructions.
 */
export function installSeccompFilter(instructions: Uint8Array): void {
  const count = instructions.byteLength / SOCK_FILTER_SIZE;
  if (!Number.isInteger(count) || count === 0 || count > BPF_MAXINSNS) {
    throw new TsnspawnError(
      "invalid",
      `seccomp filter: ${instructions.byteLength} bytes is not a program of 1 to ${BPF_MAXINSNS} instructions`,
    );
  }
  const filter = new Uint8Array(instructions); // our own ArrayBuffer, whatever the caller passed
  const program = new Uint8Array(SOCK_FPROG_SIZE);
  const view = new DataView(program.buffer);
  view.setUint16(0, count, true);
  view.setBigUint64(8, addressOf(filter), true);
  const address = addressOf(program);
  _handedToKernel = [filter, program];
  try {
    check(
      "prctl",
      libc().prctl(PR_SET_SECCOMP, BigInt(SECCOMP_MODE_FILTER), address, 0n, 0n),
      "PR_SET_SECCOMP",
    );
  } catch (error) {
    if (!(error instanceof SysError)) throw error;
    throw new SysError(
      error.call,
      error.errno,
      error.errnoName,
      strerror(error.errno),
      "PR_SET_SECCOMP",
      INSTALL_HINTS[error.errnoName] ?? error.hint,
    );
  } finally {
    _handedToKernel = undefined;
  }
}

/**
 * The seccomp mode of the calling thread from /proc/thread-self/status:
 * 0 none, 1 strict, 2 filter.
 */
export function threadSeccompMode(): number {
  const status = Deno.readTextFileSync("/proc/thread-self/status");
  const match = /^Seccomp:\s*(\d+)$/m.exec(status);
  return match ? Number(match[1]) : 0;
}

/**
 * Process attributes and program execution: execve(2) with argv/envp arrays,
 * sethostname(2), setgroups(2)/setresgid(2)/setresuid(2), chdir(2),
 * getpid(2), kill(2), setsid(2), ioctl(TIOCSCTTY), umask(2), prctl(2)'s
 * PR_SET_DUMPABLE, and resetting signal dispositions and the signal mask
 * before execve.
 *
 * Man pages: execve(2), credentials(7), setresuid(2), setgroups(2),
 * sethostname(2), setsid(2), ioctl_tty(2), signal(7), prctl(2).
 */
import { POLLIN, pollOne } from "./fifo.ts";
import { check, cstring, cstringArray, EINTR, errno, libc, SYS_pidfd_send_signal } from "./libc.ts";

/** ioctl: make the terminal on fd the controlling terminal of this session. */
export const TIOCSCTTY = 0x540e;

/**
 * execve(2). Only returns by throwing (the SysError names the path and errno:
 * ENOENT, EACCES, ENOEXEC...).
 */
export function execve(path: string, argv: readonly string[], env: readonly string[]): never {
  const args = cstringArray(argv);
  const envp = cstringArray(env);
  check("execve", libc().execve(cstring(path), args.pointers, envp.pointers), path);
  // keep the string buffers alive until after the call
  void args.buffers;
  void envp.buffers;
  throw new Error("execve returned without an error");
}

const PR_GET_DUMPABLE = 3;
const PR_SET_DUMPABLE = 4;

/**
 * prctl(PR_SET_DUMPABLE): a process that is not dumpable cannot be reached
 * through /proc/PID/{exe,fd,cwd,root,environ,mem,maps} or ptrace by anyone
 * without CAP_SYS_PTRACE (its /proc/PID files also belong to root). The flag
 * belongs to the address space, so it holds for every thread, and execve
 * resets it for the new image.
 */
export function setDumpable(dumpable: boolean): void {
  check("prctl", libc().prctl(PR_SET_DUMPABLE, dumpable ? 1n : 0n, 0n, 0n, 0n), "PR_SET_DUMPABLE");
}

/** prctl(PR_GET_DUMPABLE). */
export function isDumpable(): boolean {
  return check("prctl", libc().prctl(PR_GET_DUMPABLE, 0n, 0n, 0n, 0n), "PR_GET_DUMPABLE") !== 0;
}

/** sethostname(2) in the current UTS namespace. */
export function sethostname(name: string): void {
  const bytes = new TextEncoder().encode(name);
  check("sethostname", libc().sethostname(bytes, BigInt(bytes.length)), name);
}

/** setgroups(2): the supplementary group list (empty = none). */
export function setgroups(groups: readonly number[]): void {
  const list = new Uint32Array(groups.length || 1);
  list.set(groups);
  check("setgroups", libc().setgroups(BigInt(groups.length), list), `[${groups.join(",")}]`);
}

/** setresgid(2) with real = effective = saved = gid (glibc applies it to all threads). */
export function setresgid(gid: number): void {
  check("setresgid", libc().setresgid(gid, gid, gid), String(gid));
}

/** setresuid(2) with real = effective = saved = uid (glibc applies it to all threads). */
export function setresuid(uid: number): void {
  check("setresuid", libc().setresuid(uid, uid, uid), String(uid));
}

/** chdir(2) (Deno.chdir would do too; this one reports errno). */
export function chdir(path: string): void {
  check("chdir", libc().chdir(cstring(path)), path);
}

/**
 * _exit(2): ends the process at once, without Deno's shutdown (no unload
 * handlers, no waiting for other threads). Output written so far is out:
 * Deno's console and file writes are unbuffered.
 */
export function exitNow(status: number): never {
  libc()._exit(status);
  throw new Error("unreachable: _exit returned");
}

/** getpid(2): the PID in the caller's PID namespace. */
export function getpid(): number {
  return libc().getpid();
}

/**
 * pidfd_send_signal(2): `signal` to the process the pidfd refers to (a PID
 * reused meanwhile cannot receive it; ESRCH once that process has ended).
 */
export function pidfdSendSignal(pidfd: number, signal: number): void {
  check(
    "pidfd_send_signal",
    Number(
      libc().syscall6(BigInt(SYS_pidfd_send_signal), BigInt(pidfd), BigInt(signal), 0n, 0n, 0n, 0n),
    ),
    `pidfd ${pidfd}`,
  );
}

/** kill(2). */
export function kill(pid: number, signal: number): void {
  check("kill", libc().kill(pid, signal), String(pid));
}

/**
 * Waits up to `timeoutMs` for process `pid` (not necessarily our child) to
 * end, through a pidfd (pidfd_open(2) + poll(2)). True when it ended or
 * never existed, false on timeout.
 */
export function waitForExit(pid: number, timeoutMs: number): boolean {
  const fd = libc().pidfd_open(pid, 0);
  if (fd < 0) return true; // ESRCH: already gone
  try {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) return false;
      if (pollOne(fd, POLLIN, Math.min(remaining, 1000)) & POLLIN) return true;
    }
  } finally {
    libc().close(fd);
  }
}

/** setsid(2): start a new session (the caller must not be a process group leader). */
export function setsid(): number {
  return check("setsid", libc().setsid());
}

/**
 * ioctl(fd, TIOCSCTTY, steal): make the terminal on `fd` the controlling
 * terminal of our session (we must be a session leader). With `steal`
 * (needs CAP_SYS_ADMIN) a terminal that controls another session is taken
 * over, so that session's leader exiting no longer hangs it up.
 */
export function setControllingTerminal(fd: number, steal = false): void {
  check(
    "ioctl",
    libc().ioctl_int(fd, BigInt(TIOCSCTTY), steal ? 1n : 0n),
    `TIOCSCTTY on fd ${fd}`,
  );
}

/** dup2(2): makes `newFd` a copy of `oldFd` (the copy is not close-on-exec). */
export function dup2(oldFd: number, newFd: number): void {
  check("dup2", libc().dup2(oldFd, newFd), `fd ${oldFd} to ${newFd}`);
}

const CLOSE_RANGE_CLOEXEC = 1 << 2;

/**
 * close_range(first, ~0, CLOSE_RANGE_CLOEXEC): every descriptor from `first`
 * on is closed by the next execve, whatever its owner opened it with
 * (descriptors inherited without O_CLOEXEC must not reach the container).
 */
export function closeOnExecFrom(first: number): void {
  check("close_range", libc().close_range(first, 0xffffffff, CLOSE_RANGE_CLOEXEC), `${first}..`);
}

/** umask(2); returns the previous mask. */
export function umask(mask: number): number {
  return libc().umask(mask);
}

/**
 * Ignores `signals` in this process (SIG_IGN). A child started with
 * ffi/spawn.ts gets default dispositions back; one started any other way
 * would inherit the ignoring through execve.
 */
export function ignoreSignals(signals: readonly number[]): void {
  for (const sig of signals) libc().signal(sig, 1n); // SIG_IGN
}

const SIG_SETMASK = 2;
const SIGKILL = 9;
const SIGSTOP = 19;
/** Highest signal number on Linux (SIGRTMAX). */
const NSIG_MAX = 64;

/**
 * Restores default signal dispositions and an empty signal mask on the
 * calling thread. Needed before execve from Deno: execve keeps ignored
 * signals ignored (the Rust runtime ignores SIGPIPE) and keeps the mask.
 */
export function resetSignals(): void {
  for (let sig = 1; sig <= NSIG_MAX; sig++) {
    if (sig === SIGKILL || sig === SIGSTOP) continue;
    // glibc refuses its internal signals 32 and 33 with EINVAL: ignored.
    libc().signal(sig, 0n); // SIG_DFL
  }
  const empty = new Uint8Array(128); // sigset_t
  check("sigprocmask", libc().sigprocmask(SIG_SETMASK, empty, null));
}

/** How a process ended. */
export type ExitStatus = { code: number; signal: null } | { code: null; signal: number };

const P_PID = 1;
const WNOHANG = 1;
const WEXITED = 4;
const WNOWAIT = 0x01000000;
const CLD_EXITED = 1;

/**
 * Whether child `pid` has ended, WITHOUT reaping it (waitid with WNOWAIT):
 * it stays a zombie, so whoever reaps it later (systemd, once we exit and it
 * inherits the process) still sees its status. null while it runs.
 */
export function peekExit(pid: number): ExitStatus | null {
  // siginfo_t: si_signo @0, si_errno @4, si_code @8, si_pid @16, si_uid @20, si_status @24
  const info = new Uint8Array(128);
  check("waitid", libc().waitid(P_PID, pid, info, WEXITED | WNOHANG | WNOWAIT), String(pid));
  const view = new DataView(info.buffer);
  if (view.getInt32(16, true) === 0) return null;
  const status = view.getInt32(24, true);
  return view.getInt32(8, true) === CLD_EXITED
    ? { code: status, signal: null }
    : { code: null, signal: status };
}

/** waitpid(2) for child `pid`; null with `noHang` while it runs. Reaps it. */
export function waitPid(pid: number, noHang = false): ExitStatus | null {
  const status = new Int32Array(1);
  let result: number;
  for (;;) {
    result = libc().waitpid(pid, new Uint8Array(status.buffer), noHang ? WNOHANG : 0);
    if (result !== -1 || errno() !== EINTR) break;
  }
  check("waitpid", result, String(pid));
  if (result === 0) return null;
  const s = status[0];
  return (s & 0x7f) === 0
    ? { code: (s >> 8) & 0xff, signal: null }
    : { code: null, signal: s & 0x7f };
}

/**
 * Namespaces: unshare(2), setns(2) and the CLONE_* flags, plus opening the
 * namespace files of a process (/proc/PID/ns/*) or a pidfd to enter them
 * all at once.
 *
 * Namespace changes apply to the calling thread only; tsnspawn makes them on
 * Deno's main thread and afterwards uses only synchronous APIs (async ops run
 * on worker threads, which stay in the old namespaces). After
 * unshare(CLONE_NEWPID) or setns(CLONE_NEWPID) the process cannot create new
 * threads (the kernel refuses CLONE_THREAD across PID namespaces).
 *
 * Man pages: namespaces(7), unshare(2), setns(2), pidfd_open(2).
 */
import { check, cstring, libc } from "./libc.ts";

/** New mount namespace. */
export const CLONE_NEWNS = 0x00020000;
/** Unshare the filesystem information (root, cwd, umask): needed before setns(mnt). */
export const CLONE_FS = 0x00000200;
/** New cgroup namespace. */
export const CLONE_NEWCGROUP = 0x02000000;
/** New UTS (hostname) namespace. */
export const CLONE_NEWUTS = 0x04000000;
/** New System V IPC / POSIX message queue namespace. */
export const CLONE_NEWIPC = 0x08000000;
/** New user namespace. */
export const CLONE_NEWUSER = 0x10000000;
/** New PID namespace (for children). */
export const CLONE_NEWPID = 0x20000000;
/** New network namespace. */
export const CLONE_NEWNET = 0x40000000;

/** Namespace kinds as named in /proc/PID/ns/. */
export type NamespaceKind = "ipc" | "uts" | "net" | "pid" | "cgroup" | "mnt";

/** The CLONE_* flag of each namespace kind. */
export const NAMESPACE_FLAGS: Readonly<Record<NamespaceKind, number>> = {
  ipc: CLONE_NEWIPC,
  uts: CLONE_NEWUTS,
  net: CLONE_NEWNET,
  pid: CLONE_NEWPID,
  cgroup: CLONE_NEWCGROUP,
  mnt: CLONE_NEWNS,
};

/** unshare(2) the given CLONE_* flags on the calling thread. */
export function unshare(flags: number): void {
  check("unshare", libc().unshare(flags), `0x${flags.toString(16)}`);
}

/** setns(2): moves the calling thread into the namespace `fd` refers to. */
export function setns(fd: number, nstype: number, subject?: string): void {
  check("setns", libc().setns(fd, nstype), subject);
}

const O_RDONLY = 0;
const O_CLOEXEC = 0o2000000;

/** Opens /proc/PID/ns/KIND (or /proc/self/ns/KIND) and returns the fd (O_CLOEXEC). */
export function openNamespace(pid: number | "self", kind: NamespaceKind): number {
  const path = `/proc/${pid}/ns/${kind}`;
  return check("open", libc().open(cstring(path), O_RDONLY | O_CLOEXEC, 0), path);
}

/** close(2) a file descriptor, ignoring errors (namespace fds, sockets). */
export function closeFd(fd: number): void {
  libc().close(fd);
}

/**
 * pidfd_open(2): a descriptor that stays bound to process `pid` (always
 * close-on-exec). setns(2) with it and several CLONE_NEW* flags enters
 * those namespaces of that very process at once, and fails with ESRCH once
 * it has ended, so a PID reused meanwhile cannot lead anywhere else.
 */
export function openPidfd(pid: number): number {
  return check("pidfd_open", libc().pidfd_open(pid, 0), `PID ${pid}`);
}

/**
 * The one binding to glibc (`libc.so.6`) for all of tsnspawn.
 *
 * Every foreign symbol is declared here once, with its C prototype in a
 * comment, and typed with `satisfies Deno.ForeignLibraryInterface`; the
 * library is opened lazily on first use so modules that never touch the
 * kernel (the CLI's pure parts, tests) do not need `--allow-ffi`.
 *
 * Return codes become exceptions in exactly one function, {@link check}: a -1
 * becomes a {@link SysError} naming the call, the errno name, strerror(3) and
 * the path, with a bubblewrap-style hint where we know a likely cause.
 *
 * Threads: errno is thread-local, so `check` is only meaningful for the
 * synchronous symbols, which run on the calling (main) thread. The
 * `nonblocking` symbols run on a worker thread; their errno is lost.
 *
 * Raw system calls that glibc does not wrap use `syscall(2)` with x86_64
 * numbers (this project targets x86_64 Linux only).
 *
 * Man pages: errno(3), strerror(3), syscall(2), and the page of each symbol.
 */
import { SysError } from "../src/errors.ts";

/** x86_64 system call numbers used through `syscall(2)`. */
export const SYS_pivot_root = 155;
/** The new mount API (Linux 5.2; overlayfs' "lowerdir+" from 6.8). */
export const SYS_move_mount = 429;
export const SYS_fsopen = 430;
export const SYS_fsconfig = 431;
export const SYS_fsmount = 432;
/** mount_setattr(2) (Linux 5.12): mount attributes, recursively. */
export const SYS_mount_setattr = 442;
/** pidfd_send_signal(2) (Linux 5.1). */
export const SYS_pidfd_send_signal = 424;

const SYMBOLS = {
  // int *__errno_location(void);
  __errno_location: { parameters: [], result: "pointer" },
  // char *strerror(int errnum);
  strerror: { parameters: ["i32"], result: "pointer" },

  // int unshare(int flags);
  unshare: { parameters: ["i32"], result: "i32" },
  // int setns(int fd, int nstype);
  setns: { parameters: ["i32", "i32"], result: "i32" },

  // int mount(const char *source, const char *target, const char *filesystemtype,
  //           unsigned long mountflags, const void *data);
  mount: {
    parameters: ["buffer", "buffer", "buffer", "u64", "buffer"],
    result: "i32",
  },
  // int umount2(const char *target, int flags);
  umount2: { parameters: ["buffer", "i32"], result: "i32" },
  // long syscall(SYS_pivot_root, const char *new_root, const char *put_old);
  syscall_pivot_root: {
    name: "syscall",
    parameters: ["i64", "buffer", "buffer"],
    result: "i64",
  },
  // int mknod(const char *pathname, mode_t mode, dev_t dev);
  mknod: { parameters: ["buffer", "u32", "u64"], result: "i32" },
  // int mkfifo(const char *pathname, mode_t mode);
  mkfifo: { parameters: ["buffer", "u32"], result: "i32" },
  // int statvfs(const char *path, struct statvfs *buf);
  statvfs: { parameters: ["buffer", "buffer"], result: "i32" },
  // mode_t umask(mode_t mask);
  umask: { parameters: ["u32"], result: "u32" },

  // int capget(cap_user_header_t hdrp, cap_user_data_t datap);
  capget: { parameters: ["buffer", "buffer"], result: "i32" },
  // int capset(cap_user_header_t hdrp, const cap_user_data_t datap);
  capset: { parameters: ["buffer", "buffer"], result: "i32" },
  // int prctl(int option, unsigned long arg2, unsigned long arg3,
  //           unsigned long arg4, unsigned long arg5);
  prctl: { parameters: ["i32", "u64", "u64", "u64", "u64"], result: "i32" },

  // int execve(const char *pathname, char *const argv[], char *const envp[]);
  execve: { parameters: ["buffer", "buffer", "buffer"], result: "i32" },
  // int sethostname(const char *name, size_t len);
  sethostname: { parameters: ["buffer", "usize"], result: "i32" },
  // int setgroups(size_t size, const gid_t *list);
  setgroups: { parameters: ["usize", "buffer"], result: "i32" },
  // int setresgid(gid_t rgid, gid_t egid, gid_t sgid);
  setresgid: { parameters: ["u32", "u32", "u32"], result: "i32" },
  // int setresuid(uid_t ruid, uid_t euid, uid_t suid);
  setresuid: { parameters: ["u32", "u32", "u32"], result: "i32" },
  // int chdir(const char *path);
  chdir: { parameters: ["buffer"], result: "i32" },
  // pid_t getpid(void);
  getpid: { parameters: [], result: "i32" },
  // void _exit(int status);
  _exit: { parameters: ["i32"], result: "void" },
  // int kill(pid_t pid, int sig);
  kill: { parameters: ["i32", "i32"], result: "i32" },
  // pid_t setsid(void);
  setsid: { parameters: [], result: "i32" },
  // int waitid(idtype_t idtype, id_t id, siginfo_t *infop, int options);
  waitid: { parameters: ["i32", "u32", "buffer", "i32"], result: "i32" },
  // pid_t waitpid(pid_t pid, int *wstatus, int options);
  waitpid: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  // sighandler_t signal(int signum, sighandler_t handler);  (handler as an integer: SIG_DFL = 0)
  signal: { parameters: ["i32", "usize"], result: "usize" },
  // int sigprocmask(int how, const sigset_t *set, sigset_t *oldset);
  sigprocmask: { parameters: ["i32", "buffer", "buffer"], result: "i32" },

  // int ioctl(int fd, unsigned long request, void *argp);
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  // int ioctl(int fd, unsigned long request, unsigned long arg);
  ioctl_int: { name: "ioctl", parameters: ["i32", "u64", "u64"], result: "i32" },

  // int open(const char *pathname, int flags, mode_t mode);
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  // int close_range(unsigned int first, unsigned int last, int flags);
  close_range: { parameters: ["u32", "u32", "i32"], result: "i32" },
  // int dup2(int oldfd, int newfd);
  dup2: { parameters: ["i32", "i32"], result: "i32" },
  // int close(int fd);
  close: { parameters: ["i32"], result: "i32" },
  // ssize_t read(int fd, void *buf, size_t count);
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  // ssize_t write(int fd, const void *buf, size_t count);
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  // read(2) on a worker thread, for relaying a pty master from async code.
  read_async: {
    name: "read",
    parameters: ["i32", "buffer", "usize"],
    result: "isize",
    nonblocking: true,
  },
  // write(2) on a worker thread, for relaying a pty master from async code.
  write_async: {
    name: "write",
    parameters: ["i32", "buffer", "usize"],
    result: "isize",
    nonblocking: true,
  },
  // int poll(struct pollfd *fds, nfds_t nfds, int timeout);
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },

  // posix_spawn(3) and its attributes and file actions (ffi/spawn.ts); each
  // returns an errno value, not -1. posix_spawnattr_t is 336 bytes and
  // posix_spawn_file_actions_t 80 bytes on x86_64 glibc.
  // int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *file_actions,
  //                 const posix_spawnattr_t *attrp, char *const argv[], char *const envp[]);
  posix_spawn: {
    parameters: ["buffer", "buffer", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  // int posix_spawnattr_init(posix_spawnattr_t *attr);
  posix_spawnattr_init: { parameters: ["buffer"], result: "i32" },
  // int posix_spawnattr_destroy(posix_spawnattr_t *attr);
  posix_spawnattr_destroy: { parameters: ["buffer"], result: "i32" },
  // int posix_spawnattr_setflags(posix_spawnattr_t *attr, short flags);
  posix_spawnattr_setflags: { parameters: ["buffer", "i16"], result: "i32" },
  // int posix_spawnattr_setsigmask(posix_spawnattr_t *attr, const sigset_t *sigmask);
  posix_spawnattr_setsigmask: { parameters: ["buffer", "buffer"], result: "i32" },
  // int posix_spawnattr_setsigdefault(posix_spawnattr_t *attr, const sigset_t *sigdefault);
  posix_spawnattr_setsigdefault: { parameters: ["buffer", "buffer"], result: "i32" },
  // int posix_spawn_file_actions_init(posix_spawn_file_actions_t *file_actions);
  posix_spawn_file_actions_init: { parameters: ["buffer"], result: "i32" },
  // int posix_spawn_file_actions_destroy(posix_spawn_file_actions_t *file_actions);
  posix_spawn_file_actions_destroy: { parameters: ["buffer"], result: "i32" },
  // int posix_spawn_file_actions_addopen(posix_spawn_file_actions_t *file_actions, int fildes,
  //                                      const char *path, int oflag, mode_t mode);
  posix_spawn_file_actions_addopen: {
    parameters: ["buffer", "i32", "buffer", "i32", "u32"],
    result: "i32",
  },
  // int posix_spawn_file_actions_adddup2(posix_spawn_file_actions_t *file_actions, int fildes,
  //                                      int newfildes);
  posix_spawn_file_actions_adddup2: { parameters: ["buffer", "i32", "i32"], result: "i32" },
  // int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *file_actions,
  //                                              int from);  (glibc 2.34)
  posix_spawn_file_actions_addclosefrom_np: { parameters: ["buffer", "i32"], result: "i32" },
  // int sigfillset(sigset_t *set);
  sigfillset: { parameters: ["buffer"], result: "i32" },

  // int socket(int domain, int type, int protocol);
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  // ssize_t sendto(int sockfd, const void *buf, size_t len, int flags,
  //                const struct sockaddr *dest_addr, socklen_t addrlen);
  sendto: {
    parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"],
    result: "isize",
  },

  // ssize_t sendmsg(int sockfd, const struct msghdr *msg, int flags);
  sendmsg: { parameters: ["i32", "buffer", "i32"], result: "isize" },
  // int sendmmsg(int sockfd, struct mmsghdr *msgvec, unsigned int vlen, int flags);
  sendmmsg: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  // int pipe2(int pipefd[2], int flags);
  pipe2: { parameters: ["buffer", "i32"], result: "i32" },
  // int pidfd_open(pid_t pid, unsigned int flags);  (glibc 2.36)
  pidfd_open: { parameters: ["i32", "u32"], result: "i32" },
  // long syscall(long number, ...) with six integer arguments.
  syscall6: {
    name: "syscall",
    parameters: ["i64", "u64", "u64", "u64", "u64", "u64", "u64"],
    result: "i64",
  },

  // int connect(int sockfd, const struct sockaddr *addr, socklen_t addrlen);
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  // int bind(int sockfd, const struct sockaddr *addr, socklen_t addrlen);
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  // ssize_t recv(int sockfd, void *buf, size_t len, int flags);
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  // int listen(int sockfd, int backlog);
  listen: { parameters: ["i32", "i32"], result: "i32" },
  // int accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen, int flags);
  // on a worker thread: the terminal holder waits for connections from async code.
  accept4_async: {
    name: "accept4",
    parameters: ["i32", "buffer", "buffer", "i32"],
    result: "i32",
    nonblocking: true,
  },
  // ssize_t recvmsg(int sockfd, struct msghdr *msg, int flags);
  recvmsg: { parameters: ["i32", "buffer", "i32"], result: "isize" },
  // recvmsg(2) on a worker thread (the terminal holder).
  recvmsg_async: {
    name: "recvmsg",
    parameters: ["i32", "buffer", "i32"],
    result: "isize",
    nonblocking: true,
  },
  // int getsockopt(int sockfd, int level, int optname, void *optval, socklen_t *optlen);
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },

  // int posix_openpt(int flags);
  posix_openpt: { parameters: ["i32"], result: "i32" },
  // int grantpt(int fd);
  grantpt: { parameters: ["i32"], result: "i32" },
  // int unlockpt(int fd);
  unlockpt: { parameters: ["i32"], result: "i32" },
  // int ptsname_r(int fd, char *buf, size_t buflen);  (returns an errno value, not -1)
  ptsname_r: { parameters: ["i32", "buffer", "usize"], result: "i32" },

  // The layer unpacker and packer (src/image/layer_syscalls.ts, src/image/layer_pack.ts).
  // int lchown(const char *pathname, uid_t owner, gid_t group);
  lchown: { parameters: ["buffer", "u32", "u32"], result: "i32" },
  // int fchown(int fd, uid_t owner, gid_t group);
  fchown: { parameters: ["i32", "u32", "u32"], result: "i32" },
  // int fchmod(int fd, mode_t mode);
  fchmod: { parameters: ["i32", "u32"], result: "i32" },
  // int utimensat(int dirfd, const char *pathname, const struct timespec times[2], int flags);
  utimensat: { parameters: ["i32", "buffer", "buffer", "i32"], result: "i32" },
  // int futimens(int fd, const struct timespec times[2]);
  futimens: { parameters: ["i32", "buffer"], result: "i32" },
  // int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags);
  lsetxattr: { parameters: ["buffer", "buffer", "buffer", "usize", "i32"], result: "i32" },
  // int fsetxattr(int fd, const char *name, const void *value, size_t size, int flags);
  fsetxattr: { parameters: ["i32", "buffer", "buffer", "usize", "i32"], result: "i32" },
  // ssize_t llistxattr(const char *path, char *list, size_t size);
  llistxattr: { parameters: ["buffer", "buffer", "usize"], result: "isize" },
  // ssize_t lgetxattr(const char *path, const char *name, void *value, size_t size);
  lgetxattr: { parameters: ["buffer", "buffer", "buffer", "usize"], result: "isize" },
  // int lremovexattr(const char *path, const char *name);
  lremovexattr: { parameters: ["buffer", "buffer"], result: "i32" },
  // uid_t geteuid(void);
  geteuid: { parameters: [], result: "u32" },
  // gid_t getegid(void);
  getegid: { parameters: [], result: "u32" },
} as const satisfies Deno.ForeignLibraryInterface;

type LibcSymbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
let symbols: LibcSymbols | undefined;

/**
 * The libc symbols. Each is bound on its first use, on its own: Deno.dlopen
 * builds a call trampoline per symbol (~0.2 ms each), and the container's
 * start path (shim, stage two) needs a fraction of the table.
 */
export function libc(): LibcSymbols {
  if (symbols) return symbols;
  const lazy = {} as LibcSymbols;
  for (const name of Object.keys(SYMBOLS) as (keyof typeof SYMBOLS)[]) {
    Object.defineProperty(lazy, name, {
      configurable: true,
      enumerable: true,
      get() {
        const bound = Deno.dlopen("libc.so.6", { [name]: SYMBOLS[name] }).symbols[name];
        Object.defineProperty(lazy, name, { value: bound, enumerable: true });
        return bound;
      },
    });
  }
  // Bound now: binding it after a failed call could change the errno it reads.
  void lazy.__errno_location;
  return symbols = lazy;
}

const encoder = new TextEncoder();

/** A NUL-terminated UTF-8 copy of `s`, to pass as `const char *`. */
export function cstring(s: string): Uint8Array<ArrayBuffer> {
  if (s.includes("\0")) {
    throw new TypeError(`String contains a NUL byte: ${JSON.stringify(s)}`);
  }
  return encoder.encode(s + "\0") as Uint8Array<ArrayBuffer>;
}

/** `cstring(s)`, or null for a NULL pointer. */
export function cstringOrNull(s: string | null | undefined): Uint8Array<ArrayBuffer> | null {
  return s === null || s === undefined ? null : cstring(s);
}

/** Reads a NUL-terminated string from a C buffer. */
export function readCString(buffer: Uint8Array): string {
  const end = buffer.indexOf(0);
  return new TextDecoder().decode(end === -1 ? buffer : buffer.subarray(0, end));
}

/**
 * The address of a buffer's first byte as a 64-bit integer (0 for null), for
 * pointers passed inside structs or to syscall(2). Keep the buffer alive
 * until the call that uses the address returns.
 */
export function addressOf(bytes: Uint8Array | null): bigint {
  return bytes === null ? 0n : BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(bytes)));
}

/**
 * A NULL-terminated array of pointers to NUL-terminated strings (`char *const
 * argv[]`). Keep the returned object alive until the call returns: it holds
 * the string buffers the pointers point into.
 */
export function cstringArray(strings: readonly string[]): {
  pointers: BigUint64Array<ArrayBuffer>;
  buffers: Uint8Array<ArrayBuffer>[];
} {
  const buffers = strings.map(cstring);
  const pointers = new BigUint64Array(buffers.length + 1);
  buffers.forEach((b, i) => {
    pointers[i] = addressOf(b);
  });
  pointers[buffers.length] = 0n;
  return { pointers, buffers };
}

/** The calling thread's errno. */
export function errno(): number {
  const pointer = libc().__errno_location();
  return new Deno.UnsafePointerView(pointer!).getInt32();
}

/** strerror(3) of an errno value. */
export function strerror(code: number): string {
  const pointer = libc().strerror(code);
  return pointer ? Deno.UnsafePointerView.getCString(pointer) : `errno ${code}`;
}

/** Linux errno values by name (asm-generic/errno-base.h, errno.h). */
export const ERRNO_NAMES: Readonly<Record<number, string>> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  4: "EINTR",
  5: "EIO",
  6: "ENXIO",
  7: "E2BIG",
  8: "ENOEXEC",
  9: "EBADF",
  10: "ECHILD",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  15: "ENOTBLK",
  16: "EBUSY",
  17: "EEXIST",
  18: "EXDEV",
  19: "ENODEV",
  20: "ENOTDIR",
  21: "EISDIR",
  22: "EINVAL",
  23: "ENFILE",
  24: "EMFILE",
  25: "ENOTTY",
  26: "ETXTBSY",
  27: "EFBIG",
  28: "ENOSPC",
  29: "ESPIPE",
  30: "EROFS",
  31: "EMLINK",
  32: "EPIPE",
  33: "EDOM",
  34: "ERANGE",
  35: "EDEADLK",
  36: "ENAMETOOLONG",
  37: "ENOLCK",
  38: "ENOSYS",
  39: "ENOTEMPTY",
  40: "ELOOP",
  61: "ENODATA",
  75: "EOVERFLOW",
  84: "EILSEQ",
  88: "ENOTSOCK",
  89: "EDESTADDRREQ",
  90: "EMSGSIZE",
  91: "EPROTOTYPE",
  93: "EPROTONOSUPPORT",
  95: "EOPNOTSUPP",
  97: "EAFNOSUPPORT",
  98: "EADDRINUSE",
  99: "EADDRNOTAVAIL",
  100: "ENETDOWN",
  101: "ENETUNREACH",
  104: "ECONNRESET",
  105: "ENOBUFS",
  107: "ENOTCONN",
  110: "ETIMEDOUT",
  111: "ECONNREFUSED",
  116: "ESTALE",
  122: "EDQUOT",
  125: "ECANCELED",
};

/** Numeric errno values used by callers that branch on them. */
export const ENOENT = 2;
export const ESRCH = 3;
export const EINTR = 4;
export const EIO = 5;
export const EAGAIN = 11;
export const EACCES = 13;
export const EBUSY = 16;
export const EEXIST = 17;
export const EINVAL = 22;
export const ENOSPC = 28;

/** The name of an errno value ("EPERM"), or "errno N" if unknown. */
export function errnoName(code: number): string {
  return ERRNO_NAMES[code] ?? `errno ${code}`;
}

/** Likely causes of a failure, by call and errno (bubblewrap-style). */
function defaultHint(call: string, name: string): string | undefined {
  if (name === "EPERM" && call !== "execve") {
    return "tsnspawn must run as root (with CAP_SYS_ADMIN)";
  }
  if (call === "mount" || call === "umount2" || call === "pivot_root") {
    switch (name) {
      case "EBUSY":
        return "the target is busy or already mounted";
      case "ENOSPC":
        return "too many mounts: raise /proc/sys/fs/mount-max";
      case "ENODEV":
        return "the filesystem type is not supported by this kernel (modprobe it?)";
      case "ENOENT":
        return "the source or the target does not exist";
    }
  }
  if (call === "unshare" && name === "EINVAL") {
    return "CLONE_NEWUSER cannot be unshared by a multi-threaded process";
  }
  if (call === "setns" && name === "EINVAL") {
    return "entering a mount namespace needs unshare(CLONE_FS) first";
  }
  return undefined;
}

/**
 * Turns a libc return value into an exception: -1 (as number or bigint)
 * becomes a {@link SysError} naming `call`, the errno name, strerror(3) and
 * `subject` (usually the path). Returns the result as a number otherwise.
 */
export function check(
  call: string,
  result: number | bigint,
  subject?: string,
  hint?: string,
): number {
  if (result !== -1 && result !== -1n) return Number(result);
  const code = errno();
  const name = errnoName(code);
  throw new SysError(
    call,
    code,
    name,
    strerror(code),
    subject,
    hint ?? defaultHint(call, name),
  );
}

/** Throws a {@link SysError} for a call that returns an errno value directly (e.g. ptsname_r). */
export function checkErrnoResult(call: string, result: number, subject?: string): void {
  if (result === 0) return;
  throw new SysError(call, result, errnoName(result), strerror(result), subject);
}

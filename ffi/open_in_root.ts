/**
 * Opening a file of a container from the host without following the
 * container's symlinks out of it: openat2(2) with RESOLVE_IN_ROOT below the
 * container's root (/proc/PID/root), no symlinks and no magic links at all.
 *
 * A path walked from the host through /proc/PID/root/... resolves an
 * absolute symlink inside it against the host's root: a container that
 * makes /dev/pts/ptmx a link to /etc/shadow would have us open the host's
 * file. RESOLVE_IN_ROOT makes the container's root the walk's "/", and
 * RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS refuses links outright (ELOOP).
 *
 * Man pages: openat2(2), path_resolution(7).
 */
import { addressOf, check, cstring, libc } from "./libc.ts";

/** x86_64 system call number of openat2(2) (Linux 5.6). */
const SYS_openat2 = 437n;
const RESOLVE_NO_MAGICLINKS = 0x02n;
const RESOLVE_NO_SYMLINKS = 0x04n;
const RESOLVE_IN_ROOT = 0x10n;
const O_PATH = 0o10000000;
const O_DIRECTORY = 0o200000;
const O_CLOEXEC = 0o2000000;
/** sizeof(struct open_how): flags, mode, resolve (three u64). */
const OPEN_HOW_SIZE = 24;

/**
 * Opens `path` (relative to the root of process `pid`) with `flags`
 * (O_CLOEXEC is added), resolving it inside that root with no symlinks.
 */
export function openInRoot(pid: number, path: string, flags: number): number {
  const rootPath = `/proc/${pid}/root`;
  const root = check(
    "open",
    libc().open(cstring(rootPath), O_PATH | O_DIRECTORY | O_CLOEXEC, 0),
    rootPath,
  );
  try {
    const how = new Uint8Array(OPEN_HOW_SIZE);
    const view = new DataView(how.buffer);
    view.setBigUint64(0, BigInt(flags | O_CLOEXEC), true);
    view.setBigUint64(16, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS, true);
    const name = cstring(path.replace(/^\/+/, ""));
    const fd = check(
      "openat2",
      libc().syscall6(
        SYS_openat2,
        BigInt(root),
        addressOf(name),
        addressOf(how),
        BigInt(OPEN_HOW_SIZE),
        0n,
        0n,
      ),
      `${path} in the root of PID ${pid}`,
    );
    void name;
    void how;
    return fd;
  } finally {
    libc().close(root);
  }
}

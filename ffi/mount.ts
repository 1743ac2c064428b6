/**
 * Mounts: mount(2), umount2(2), pivot_root(2) (raw syscall), mknod(2) with
 * makedev(3), statvfs(3) for the flags of an existing mount, the new mount
 * API for many-layer overlays, mount_setattr(2), and the MS_*, MNT_* and ST_*
 * constants.
 *
 * Man pages: mount(2), umount(2), pivot_root(2), mknod(2), statvfs(3),
 * mount_setattr(2), mount_namespaces(7).
 */
import {
  addressOf,
  check,
  cstring,
  cstringOrNull,
  errno,
  libc,
  SYS_fsconfig,
  SYS_fsmount,
  SYS_fsopen,
  SYS_mount_setattr,
  SYS_move_mount,
  SYS_pivot_root,
} from "./libc.ts";

export const MS_RDONLY = 1;
export const MS_NOSUID = 2;
export const MS_NODEV = 4;
export const MS_NOEXEC = 8;
export const MS_SYNCHRONOUS = 16;
export const MS_REMOUNT = 32;
export const MS_MANDLOCK = 64;
export const MS_DIRSYNC = 128;
export const MS_NOSYMFOLLOW = 256;
export const MS_NOATIME = 1024;
export const MS_NODIRATIME = 2048;
export const MS_BIND = 4096;
export const MS_MOVE = 8192;
export const MS_REC = 16384;
export const MS_SILENT = 32768;
export const MS_UNBINDABLE = 1 << 17;
export const MS_PRIVATE = 1 << 18;
export const MS_SLAVE = 1 << 19;
export const MS_SHARED = 1 << 20;
export const MS_RELATIME = 1 << 21;
export const MS_STRICTATIME = 1 << 24;

/** umount2 flag: lazy unmount (detach now, clean up when no longer busy). */
export const MNT_DETACH = 2;
/** umount2 flag: do not follow a trailing symlink. */
export const UMOUNT_NOFOLLOW = 8;

/** statvfs f_flag bits (statvfs(3)). */
export const ST_RDONLY = 1;
export const ST_NOSUID = 2;
export const ST_NODEV = 4;
export const ST_NOEXEC = 8;
export const ST_SYNCHRONOUS = 16;
export const ST_MANDLOCK = 64;
export const ST_NOATIME = 1024;
export const ST_NODIRATIME = 2048;
export const ST_RELATIME = 4096;
export const ST_NOSYMFOLLOW = 8192;

/** File type bits for mknod(2). */
export const S_IFCHR = 0o020000;

/** mount(2). `source`/`fstype`/`data` may be null. */
export function mount(
  source: string | null,
  target: string,
  fstype: string | null,
  flags: number,
  data: string | null = null,
): void {
  check(
    "mount",
    libc().mount(
      cstringOrNull(source),
      cstring(target),
      cstringOrNull(fstype),
      BigInt(flags),
      cstringOrNull(data),
    ),
    fstype && !(flags & (MS_BIND | MS_REMOUNT | MS_PRIVATE | MS_SLAVE | MS_SHARED))
      ? `${fstype} on ${target}`
      : source && !(flags & MS_REMOUNT)
      ? `${source} on ${target}`
      : target,
  );
}

/** umount2(2). */
export function umount2(target: string, flags: number): void {
  check("umount2", libc().umount2(cstring(target), flags), target);
}

/** pivot_root(2) through syscall(2) (glibc has no wrapper). */
export function pivotRoot(newRoot: string, putOld: string): void {
  check(
    "pivot_root",
    libc().syscall_pivot_root(BigInt(SYS_pivot_root), cstring(newRoot), cstring(putOld)),
    newRoot,
  );
}

/** makedev(3): the dev_t of a (major, minor) pair, glibc encoding. */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) |
    ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

/** mknod(2) a character device. `mode` is the permission bits (umask applies). */
export function mknodChar(path: string, mode: number, major: number, minor: number): void {
  check("mknod", libc().mknod(cstring(path), S_IFCHR | mode, makedev(major, minor)), path);
}

/** File type bits of a block device for mknod(2). */
export const S_IFBLK = 0o060000;

/** mknod(2) a block device (`--privileged` copies the host's). `mode` is the permission bits. */
export function mknodBlock(path: string, mode: number, major: number, minor: number): void {
  check("mknod", libc().mknod(cstring(path), S_IFBLK | mode, makedev(major, minor)), path);
}

/** The f_flag field (ST_* bits) of statvfs(3) on `path`: the flags of the mount holding it. */
export function mountFlagsOf(path: string): number {
  // struct statvfs on x86_64: 11 unsigned longs + int __f_spare[6]; f_flag is the 10th field.
  const buffer = new Uint8Array(112);
  check("statvfs", libc().statvfs(cstring(path), buffer), path);
  return Number(new DataView(buffer.buffer).getBigUint64(72, true));
}

/**
 * The MS_* flags to pass to a bind remount of `path` so that its per-mount
 * flags (nosuid, nodev, noexec, atime) are kept; a remount that would clear a
 * locked flag fails with EPERM.
 */
export function preservedMountFlags(path: string): number {
  const st = mountFlagsOf(path);
  let flags = 0;
  if (st & ST_NOSUID) flags |= MS_NOSUID;
  if (st & ST_NODEV) flags |= MS_NODEV;
  if (st & ST_NOEXEC) flags |= MS_NOEXEC;
  if (st & ST_NOATIME) flags |= MS_NOATIME;
  if (st & ST_NODIRATIME) flags |= MS_NODIRATIME;
  if (st & ST_RELATIME) flags |= MS_RELATIME;
  if (st & ST_NOSYMFOLLOW) flags |= MS_NOSYMFOLLOW;
  return flags;
}

const FSOPEN_CLOEXEC = 1n;
const FSMOUNT_CLOEXEC = 1n;
const FSCONFIG_SET_STRING = 1n;
const FSCONFIG_CMD_CREATE = 6n;
const MOVE_MOUNT_F_EMPTY_PATH = 4n;
const AT_FDCWD = BigInt.asUintN(64, -100n);
const AT_RECURSIVE = 0x8000n;
const ENOSYS = 38;
const MOUNT_ATTR_RDONLY = 0x1n;
/** sizeof(struct mount_attr): attr_set, attr_clr, propagation, userns_fd (u64 each). */
const MOUNT_ATTR_SIZE = 32;

function syscall(call: string, nr: number, subject: string, ...args: bigint[]): number {
  const padded = [...args, 0n, 0n, 0n, 0n, 0n, 0n].slice(0, 6) as [
    bigint,
    bigint,
    bigint,
    bigint,
    bigint,
    bigint,
  ];
  return check(call, Number(libc().syscall6(BigInt(nr), ...padded)), subject);
}

/**
 * Mounts an overlay at `target` with the new mount API: fsopen("overlay"),
 * one fsconfig("lowerdir+") per layer (topmost first), upperdir, workdir,
 * FSCONFIG_CMD_CREATE, fsmount, move_mount. Unlike mount(2)'s data, which
 * must fit in one page, this takes any number of layers (Linux 6.8+).
 */
export function mountOverlayLayers(
  lowerDirs: readonly string[],
  upperDir: string,
  workDir: string,
  target: string,
): void {
  const fsType = cstring("overlay");
  const context = syscall("fsopen", SYS_fsopen, "overlay", addressOf(fsType), FSOPEN_CLOEXEC);
  let mounted = -1;
  try {
    const set = (key: string, value: string) => {
      const k = cstring(key);
      const v = cstring(value);
      syscall(
        "fsconfig",
        SYS_fsconfig,
        `overlay ${key}=${value}`,
        BigInt(context),
        FSCONFIG_SET_STRING,
        addressOf(k),
        addressOf(v),
        0n,
      );
      void [k, v];
    };
    for (const dir of lowerDirs) set("lowerdir+", dir);
    set("upperdir", upperDir);
    set("workdir", workDir);
    syscall(
      "fsconfig",
      SYS_fsconfig,
      "overlay (create)",
      BigInt(context),
      FSCONFIG_CMD_CREATE,
      0n,
      0n,
      0n,
    );
    mounted = syscall("fsmount", SYS_fsmount, "overlay", BigInt(context), FSMOUNT_CLOEXEC, 0n);
    const empty = cstring("");
    const to = cstring(target);
    syscall(
      "move_mount",
      SYS_move_mount,
      target,
      BigInt(mounted),
      addressOf(empty),
      AT_FDCWD,
      addressOf(to),
      MOVE_MOUNT_F_EMPTY_PATH,
    );
    void [empty, to, fsType];
  } finally {
    if (mounted >= 0) libc().close(mounted);
    libc().close(context);
  }
}

/**
 * Makes the mount at `target` and every mount below it read-only:
 * mount_setattr(2) with AT_RECURSIVE and MOUNT_ATTR_RDONLY. A bind remount
 * (MS_REMOUNT|MS_BIND|MS_RDONLY) changes only the one mount, so a read-only
 * volume's submounts would stay writable (docker's "rro", its default for
 * "ro" since 25.0). Returns false when the kernel lacks the call (ENOSYS).
 */
export function makeReadOnlyRecursive(target: string): boolean {
  const path = cstring(target);
  const attr = new Uint8Array(MOUNT_ATTR_SIZE);
  new DataView(attr.buffer).setBigUint64(0, MOUNT_ATTR_RDONLY, true); // attr_set
  const result = Number(
    libc().syscall6(
      BigInt(SYS_mount_setattr),
      AT_FDCWD,
      addressOf(path),
      AT_RECURSIVE,
      addressOf(attr),
      BigInt(MOUNT_ATTR_SIZE),
      0n,
    ),
  );
  void path;
  if (result === -1 && errno() === ENOSYS) return false;
  check("mount_setattr", result, target);
  return true;
}

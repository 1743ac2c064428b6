/**
 * The file-system calls of the layer unpacker, straight to libc (effects).
 *
 * A layer can hold hundreds of thousands of small files, and each one costs
 * an open, a write, fchown, fchmod, futimens and a close. Through FFI these
 * are plain system calls; Deno's own file API adds a resource-table entry
 * per file and an op per call, which is several times slower. Deno also
 * lacks what the unpacker needs for symlinks and xattrs (lchown, lsetxattr,
 * utimensat with AT_SYMLINK_NOFOLLOW).
 *
 * Man pages: open(2), write(2), close(2), chown(2), chmod(2), utimensat(2),
 * setxattr(2), mknod(2).
 */
import { check, cstring, libc } from "../../ffi/libc.ts";

const O_WRONLY = 0o1;
const O_CREAT = 0o100;
const O_EXCL = 0o200;
const O_NOFOLLOW = 0o400000;
const O_CLOEXEC = 0o2000000;
const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;

/** File type bits of mknod(2)'s mode. */
export const S_IFIFO = 0o010000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;

const encoder = new TextEncoder();
let pathBuffer = new Uint8Array(4096);

/**
 * `path` NUL-terminated in a buffer shared by the calls below (one path per
 * call; valid until the next): the hot path encodes a path per file.
 */
function cpath(path: string): Uint8Array<ArrayBuffer> {
  if (path.includes("\0")) throw new TypeError(`Path contains a NUL byte: ${JSON.stringify(path)}`);
  if (pathBuffer.length <= path.length * 3) pathBuffer = new Uint8Array(path.length * 3 + 1);
  const { written } = encoder.encodeInto(path, pathBuffer);
  pathBuffer[written] = 0;
  return pathBuffer.subarray(0, written + 1);
}

/** Linux makedev(3). */
function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major >>> 0);
  const mi = BigInt(minor >>> 0);
  return ((ma & 0xfffn) << 8n) | ((ma & 0xfffff000n) << 32n) | (mi & 0xffn) |
    ((mi & 0xffffff00n) << 12n);
}

const times = new Uint8Array(32);
const timesView = new DataView(times.buffer);

/**
 * `struct timespec[2]` (two pairs of little-endian int64): access and
 * modification time both set to `mtime` (seconds). One shared buffer: the
 * calls that read it are synchronous.
 */
function timespecs(mtime: number): Uint8Array<ArrayBuffer> {
  const sec = Math.floor(mtime);
  const nsec = Math.round((mtime - sec) * 1e9);
  for (const at of [0, 16]) {
    timesView.setBigInt64(at, BigInt(sec), true);
    timesView.setBigInt64(at + 8, BigInt(nsec), true);
  }
  return times;
}

/** An xattr value as a buffer (FFI needs a non-empty one even for size 0). */
function xattrValue(value: Uint8Array): Uint8Array<ArrayBuffer> {
  const buffer = new Uint8Array(value.length || 1);
  buffer.set(value);
  return buffer;
}

/**
 * Creates the regular file `path` (mode 0600 until `fchmod`) and opens it for
 * writing. O_EXCL: fails if anything, a symlink included, is there.
 * @returns the file descriptor.
 */
export function createFile(path: string): number {
  const flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  return check("open", libc().open(cpath(path), flags, 0o600), path);
}

/** The effective user and group ids: the owner of what this process creates. */
export function effectiveIds(): { uid: number; gid: number } {
  return { uid: libc().geteuid(), gid: libc().getegid() };
}

/** Writes all of `bytes` to `fd`. */
export function writeAll(fd: number, bytes: Uint8Array, path: string): void {
  for (let off = 0; off < bytes.length;) {
    const view = bytes.subarray(off) as Uint8Array<ArrayBuffer>;
    off += check("write", libc().write(fd, view, BigInt(view.length)), path);
  }
}

/** close(2). */
export function closeFile(fd: number, path: string): void {
  check("close", libc().close(fd), path);
}

/** fchown(2). */
export function fchown(fd: number, uid: number, gid: number, path: string): void {
  check("fchown", libc().fchown(fd, uid, gid), path);
}

/** fchmod(2). */
export function fchmod(fd: number, mode: number, path: string): void {
  check("fchmod", libc().fchmod(fd, mode), path);
}

/** futimens(2): access and modification time to `mtime` (seconds, may be fractional). */
export function futimes(fd: number, mtime: number, path: string): void {
  check("futimens", libc().futimens(fd, timespecs(mtime)), path);
}

/** fsetxattr(2). */
export function fsetxattr(fd: number, name: string, value: Uint8Array, path: string): void {
  const size = BigInt(value.length);
  const result = libc().fsetxattr(fd, cstring(name), xattrValue(value), size, 0);
  check("fsetxattr", result, `${path} (${name})`);
}

/** mknod(2) with makedev(major, minor). */
export function mknod(path: string, mode: number, major = 0, minor = 0): void {
  check("mknod", libc().mknod(cpath(path), mode, makedev(major, minor)), path);
}

/** lchown(2): the link itself, never its target. */
export function lchown(path: string, uid: number, gid: number): void {
  check("lchown", libc().lchown(cpath(path), uid, gid), path);
}

/** lsetxattr(2): on the link itself, never its target. */
export function lsetxattr(path: string, name: string, value: Uint8Array): void {
  const size = BigInt(value.length);
  check(
    "lsetxattr",
    libc().lsetxattr(cpath(path), cstring(name), xattrValue(value), size, 0),
    `${path} (${name})`,
  );
}

/** utimensat(2) with AT_SYMLINK_NOFOLLOW: the link itself, never its target. */
export function lutimes(path: string, mtime: number): void {
  const result = libc().utimensat(AT_FDCWD, cpath(path), timespecs(mtime), AT_SYMLINK_NOFOLLOW);
  check("utimensat", result, path);
}

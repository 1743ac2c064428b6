/**
 * FIFOs and raw file descriptors for the start pipe between the shim and
 * stage two: mkfifo(3), open(2) with explicit flags (O_NONBLOCK, O_CLOEXEC),
 * poll(2), read(2), write(2), close(2) — all synchronous, on the calling thread.
 *
 * Man pages: fifo(7), mkfifo(3), open(2), poll(2), pipe(7).
 */
import { check, cstring, EAGAIN, EINTR, errno, libc } from "./libc.ts";

export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_NOCTTY = 0o400;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;

export const POLLIN = 0x1;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;

/** mkfifo(3) with exactly `mode` (callers should umask appropriately or chmod). */
export function mkfifo(path: string, mode: number): void {
  check("mkfifo", libc().mkfifo(cstring(path), mode), path);
}

/** open(2) with raw flags; returns the fd. */
export function openFd(path: string, flags: number, mode = 0): number {
  return check("open", libc().open(cstring(path), flags, mode), path);
}

/** close(2), ignoring errors. */
export function closeFd(fd: number): void {
  libc().close(fd);
}

/** poll(2) on one fd; returns the revents bits (0 on timeout). EINTR counts as a timeout. */
export function pollOne(fd: number, events: number, timeoutMs: number): number {
  // struct pollfd { int fd; short events; short revents; }
  const pfd = new Uint8Array(8);
  const view = new DataView(pfd.buffer);
  view.setInt32(0, fd, true);
  view.setInt16(4, events, true);
  const n = libc().poll(pfd, 1n, timeoutMs);
  if (n === -1 && errno() === EINTR) return 0;
  check("poll", n, `fd ${fd}`);
  return n === 0 ? 0 : view.getInt16(6, true);
}

/**
 * poll(2) on several fds for POLLIN; returns each fd's revents (all 0 on
 * timeout or EINTR).
 */
export function pollMany(fds: readonly number[], timeoutMs: number): number[] {
  const pfds = new Uint8Array(8 * fds.length);
  const view = new DataView(pfds.buffer);
  fds.forEach((fd, i) => {
    view.setInt32(8 * i, fd, true);
    view.setInt16(8 * i + 4, POLLIN, true);
  });
  const n = libc().poll(pfds, BigInt(fds.length), timeoutMs);
  if (n === -1 && errno() === EINTR) return fds.map(() => 0);
  check("poll", n);
  return fds.map((_, i) => view.getInt16(8 * i + 6, true));
}

/**
 * read(2) into `buffer`; returns the byte count, 0 at EOF, or null when a
 * non-blocking fd has no data (EAGAIN).
 */
export function readFd(fd: number, buffer: Uint8Array<ArrayBuffer>): number | null {
  const n = libc().read(fd, buffer, BigInt(buffer.length));
  if (n === -1n) {
    const code = errno();
    if (code === EAGAIN || code === EINTR) return null;
  }
  return check("read", n, `fd ${fd}`);
}

/** write(2) all of `data` to fd. */
export function writeAll(fd: number, data: Uint8Array<ArrayBuffer>): void {
  let offset = 0;
  while (offset < data.length) {
    const chunk = data.subarray(offset);
    const n = libc().write(fd, chunk, BigInt(chunk.length));
    if (n === -1n && errno() === EINTR) continue;
    offset += check("write", n, `fd ${fd}`);
  }
}

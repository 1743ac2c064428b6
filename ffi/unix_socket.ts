/**
 * Unix sockets beyond what Deno offers: passing file descriptors
 * (SCM_RIGHTS), peer credentials (SO_PEERCRED), binding paths longer than
 * sun_path through the directory, and accept/recvmsg from async code (on a
 * worker thread). The terminal holder receives a pty master this way, and
 * sd_notify's FDSTORE=1 hands descriptors to systemd.
 *
 * x86_64 layouts: struct msghdr 56 bytes (name, namelen, iov, iovlen,
 * control, controllen, flags), struct iovec 16, struct cmsghdr 16 bytes of
 * header (len u64, level i32, type i32) then data, aligned to 8
 * (CMSG_SPACE), struct ucred 12 bytes (pid, uid, gid).
 *
 * Man pages: unix(7) ("Ancillary messages", SO_PEERCRED),
 * cmsg(3), sendmsg(2), recvmsg(2), accept4(2), listen(2).
 */
import { addressOf, check, libc } from "./libc.ts";
import { dirname } from "../src/path_util.ts";

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const SO_PEERCRED = 17;
const MSG_NOSIGNAL = 0x4000;
const MSG_CMSG_CLOEXEC = 0x40000000;
const O_PATH = 0o10000000;
const O_DIRECTORY = 0o200000;
const O_CLOEXEC = 0o2000000;
/** sizeof(struct sockaddr_un) on Linux. */
const SOCKADDR_UN_SIZE = 110;
/** offsetof(struct sockaddr_un, sun_path). */
const SUN_PATH_OFFSET = 2;

/** Builds a struct sockaddr_un for `address` ("@name" = abstract); returns it and its length. */
export function sockaddrUn(address: string): { sockaddr: Uint8Array<ArrayBuffer>; length: number } {
  const abstract = address.startsWith("@");
  const path = new TextEncoder().encode(abstract ? address.slice(1) : address);
  // sun_path holds 108 bytes; a path needs a trailing NUL, an abstract name a leading one.
  if (path.length + 1 > SOCKADDR_UN_SIZE - SUN_PATH_OFFSET) {
    throw new RangeError(`Unix socket address too long: ${address}`);
  }
  const sockaddr = new Uint8Array(SOCKADDR_UN_SIZE);
  new DataView(sockaddr.buffer).setUint16(0, AF_UNIX, true);
  sockaddr.set(path, SUN_PATH_OFFSET + (abstract ? 1 : 0));
  const length = SUN_PATH_OFFSET + path.length + 1;
  return { sockaddr, length };
}

/** Process credentials (struct ucred). */
export interface Credentials {
  pid: number;
  uid: number;
  gid: number;
}

/** CMSG_SPACE(n): a control message with n bytes of data, padded to 8. */
function cmsgSpace(n: number): number {
  return 16 + Math.ceil(n / 8) * 8;
}

/**
 * Binds `fd` to `path`. A path longer than sun_path allows (108 bytes) is
 * bound by its name within an O_PATH descriptor of its directory, reached
 * through /proc/self/fd (the kernel resolves the whole path then).
 */
function bindPath(fd: number, path: string): void {
  if (new TextEncoder().encode(path).length < 100) {
    const { sockaddr, length } = sockaddrUn(path);
    check("bind", libc().bind(fd, sockaddr, length), path);
    return;
  }
  const dir = check(
    "open",
    libc().open(
      new TextEncoder().encode(dirname(path) + "\0"),
      O_PATH | O_DIRECTORY | O_CLOEXEC,
      0,
    ),
    dirname(path),
  );
  try {
    const short = `/proc/self/fd/${dir}/${path.slice(dirname(path).length + 1)}`;
    const { sockaddr, length } = sockaddrUn(short);
    check("bind", libc().bind(fd, sockaddr, length), path);
  } finally {
    libc().close(dir);
  }
}

/** A listening SOCK_STREAM socket at `path` (replacing a stale one), with `mode`. */
export function listenUnix(path: string, mode = 0o600): number {
  try {
    Deno.removeSync(path);
  } catch {
    // not there
  }
  const fd = check("socket", libc().socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), "AF_UNIX");
  try {
    bindPath(fd, path);
    Deno.chmodSync(path, mode);
    check("listen", libc().listen(fd, 16), path);
  } catch (error) {
    libc().close(fd);
    throw error;
  }
  return fd;
}

/** A SOCK_DGRAM socket bound at `path`. */
export function bindDatagram(path: string, mode = 0o600): number {
  const fd = check("socket", libc().socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), "AF_UNIX");
  try {
    bindPath(fd, path);
    Deno.chmodSync(path, mode);
  } catch (error) {
    libc().close(fd);
    throw error;
  }
  return fd;
}

/** A SOCK_STREAM socket connected to `path` (close-on-exec). */
export function connectUnix(path: string): number {
  const fd = check("socket", libc().socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), "AF_UNIX");
  try {
    const { sockaddr, length } = sockaddrUn(path);
    check("connect", libc().connect(fd, sockaddr, length), path);
  } catch (error) {
    libc().close(fd);
    throw error;
  }
  return fd;
}

/** Accepts one connection (close-on-exec) on a worker thread; -1 on error. */
export async function acceptAsync(fd: number): Promise<number> {
  return await libc().accept4_async(fd, null, null, SOCK_CLOEXEC);
}

/** The credentials of a connected socket's peer (as of connect(2)). */
export function peerCredentials(fd: number): Credentials {
  const ucred = new Uint8Array(12);
  const length = new Uint32Array([12]);
  check(
    "getsockopt",
    libc().getsockopt(fd, SOL_SOCKET, SO_PEERCRED, ucred, new Uint8Array(length.buffer)),
    "SO_PEERCRED",
  );
  const view = new DataView(ucred.buffer);
  return {
    pid: view.getInt32(0, true),
    uid: view.getUint32(4, true),
    gid: view.getUint32(8, true),
  };
}

/**
 * sendmsg(2) of `data` with `fds` (SCM_RIGHTS). `address`: for an
 * unconnected datagram socket.
 */
export function sendWithAncillary(
  fd: number,
  data: Uint8Array,
  options: { fds?: number[]; address?: string } = {},
): void {
  const fds = options.fds ?? [];
  const control = new Uint8Array(fds.length > 0 ? cmsgSpace(4 * fds.length) : 0);
  if (fds.length > 0) {
    const view = new DataView(control.buffer);
    view.setBigUint64(0, BigInt(16 + 4 * fds.length), true);
    view.setInt32(8, SOL_SOCKET, true);
    view.setInt32(12, SCM_RIGHTS, true);
    fds.forEach((f, i) => view.setInt32(16 + 4 * i, f, true));
  }
  const payload = new Uint8Array(data);
  const iov = new BigUint64Array([addressOf(payload), BigInt(payload.length)]);
  const name = options.address ? sockaddrUn(options.address) : null;
  const msghdr = new Uint8Array(56);
  const m = new DataView(msghdr.buffer);
  m.setBigUint64(0, name ? addressOf(name.sockaddr) : 0n, true);
  m.setUint32(8, name ? name.length : 0, true);
  m.setBigUint64(16, addressOf(new Uint8Array(iov.buffer)), true);
  m.setBigUint64(24, 1n, true);
  m.setBigUint64(32, control.length ? addressOf(control) : 0n, true);
  m.setBigUint64(40, BigInt(control.length), true);
  check("sendmsg", libc().sendmsg(fd, msghdr, MSG_NOSIGNAL), options.address ?? `fd ${fd}`);
  void [payload, iov, control, name];
}

/** What one recvmsg(2) brought. */
export interface Received {
  /** The bytes (empty at end of stream). */
  data: Uint8Array;
  /** Descriptors that came with them (close-on-exec). */
  fds: number[];
}

function receiveBuffers(size: number) {
  const data = new Uint8Array(size);
  const iov = new BigUint64Array([addressOf(data), BigInt(size)]);
  const control = new Uint8Array(cmsgSpace(4 * 8));
  const msghdr = new Uint8Array(56);
  const m = new DataView(msghdr.buffer);
  m.setBigUint64(16, addressOf(new Uint8Array(iov.buffer)), true);
  m.setBigUint64(24, 1n, true);
  m.setBigUint64(32, addressOf(control), true);
  m.setBigUint64(40, BigInt(control.length), true);
  return { data, iov, control, msghdr, m };
}

function parseReceived(
  n: number,
  buffers: ReturnType<typeof receiveBuffers>,
): Received {
  const { data, control, m } = buffers;
  const controlLength = Number(m.getBigUint64(40, true));
  const result: Received = { data: data.slice(0, n), fds: [] };
  const view = new DataView(control.buffer);
  let offset = 0;
  while (offset + 16 <= controlLength) {
    const length = Number(view.getBigUint64(offset, true));
    const level = view.getInt32(offset + 8, true);
    const type = view.getInt32(offset + 12, true);
    if (length < 16) break;
    if (level === SOL_SOCKET && type === SCM_RIGHTS) {
      for (let i = offset + 16; i + 4 <= offset + length; i += 4) {
        result.fds.push(view.getInt32(i, true));
      }
    }
    offset += cmsgSpace(length - 16);
  }
  return result;
}

/** recvmsg(2) on the calling thread (non-blocking sockets: null when nothing is there). */
export function receive(fd: number, size = 4096, flags = 0): Received | null {
  const buffers = receiveBuffers(size);
  const n = Number(libc().recvmsg(fd, buffers.msghdr, flags | MSG_CMSG_CLOEXEC));
  if (n < 0) return null;
  return parseReceived(n, buffers);
}

/** recvmsg(2) on a worker thread; null on error. */
export async function receiveAsync(fd: number, size = 4096): Promise<Received | null> {
  const buffers = receiveBuffers(size);
  const n = Number(await libc().recvmsg_async(fd, buffers.msghdr, MSG_CMSG_CLOEXEC));
  if (n < 0) return null;
  return parseReceived(n, buffers);
}

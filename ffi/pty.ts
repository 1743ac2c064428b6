/**
 * Pseudo-terminals: posix_openpt(3)/grantpt(3)/unlockpt(3)/ptsname_r(3),
 * window size (TIOCGWINSZ/TIOCSWINSZ), and read/write of a pty master from
 * async code (the `nonblocking` FFI symbols run on a worker thread, so the
 * event loop keeps running while they block).
 *
 * Man pages: pty(7), posix_openpt(3), ioctl_tty(2).
 */
import { check, checkErrnoResult, libc, readCString } from "./libc.ts";

const O_RDWR = 2;
const O_NOCTTY = 0o400;
const O_CLOEXEC = 0o2000000;
export const TIOCGWINSZ = 0x5413;
export const TIOCSWINSZ = 0x5414;
/** _IO('T', 0x41): open the peer (slave) of a pty master. */
export const TIOCGPTPEER = 0x5441;

/** A pty pair: the master fd and the path of the slave (/dev/pts/N). */
export interface Pty {
  master: number;
  slavePath: string;
}

/**
 * Opens a new pty master (O_RDWR|O_NOCTTY|O_CLOEXEC) and unlocks its slave.
 * With `ptmx`, an open descriptor of some devpts instance's ptmx (e.g. a
 * container's own, see ffi/open_in_root.ts), the pty comes from there and
 * the descriptor becomes the master; `slavePath` is then the slave's path
 * in that instance's usual place, /dev/pts/N (ptsname_r formats it so).
 */
export function openPty(ptmx?: number): Pty {
  const master = ptmx === undefined
    ? check("posix_openpt", libc().posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC))
    : ptmx;
  try {
    check("grantpt", libc().grantpt(master));
    check("unlockpt", libc().unlockpt(master));
    const name = new Uint8Array(128);
    checkErrnoResult("ptsname_r", libc().ptsname_r(master, name, BigInt(name.length)));
    return { master, slavePath: readCString(name) };
  } catch (error) {
    libc().close(master);
    throw error;
  }
}

/**
 * ioctl(TIOCGPTPEER): opens the slave of the pty whose master is `master`
 * without a path lookup (O_RDWR|O_NOCTTY|O_CLOEXEC), so that no path of a
 * container's /dev is ever walked from the host.
 */
export function openPtyPeer(master: number): number {
  return check(
    "ioctl",
    libc().ioctl_int(master, BigInt(TIOCGPTPEER), BigInt(O_RDWR | O_NOCTTY | O_CLOEXEC)),
    "TIOCGPTPEER",
  );
}

/**
 * A pty whose slave the caller holds open until the process that gets it
 * has opened it too: without that hold, the pty would hang up when a
 * process that opened and closed the slave early (a shell's startup)
 * leaves it closed. Release the hold once the process runs.
 */
export interface HeldPty extends Pty {
  /** Closes the caller's hold on the slave. */
  releaseSlave(): void;
  /** Releases the slave and closes the master. */
  close(): void;
}

/** {@link openPty} plus a held slave (opened through {@link openPtyPeer}). */
export function openHeldPty(ptmx?: number): HeldPty {
  const pty = openPty(ptmx);
  let slave: number | null;
  try {
    slave = openPtyPeer(pty.master);
  } catch (error) {
    closePty(pty.master);
    throw error;
  }
  let closed = false;
  return {
    master: pty.master,
    slavePath: pty.slavePath,
    releaseSlave() {
      if (slave !== null) closePty(slave);
      slave = null;
    },
    close() {
      this.releaseSlave();
      if (!closed) closePty(pty.master);
      closed = true;
    },
  };
}

/**
 * Wakes a reader blocked in {@link readAsync} on the master: one byte
 * written to the slave becomes readable on the master. A blocked read holds
 * the master open, so closing it would not hang the pty up until the read
 * returned; wake the reader, let it see it should stop, then close.
 */
export function wakeMasterReader(master: number): void {
  let peer: number;
  try {
    peer = openPtyPeer(master);
  } catch {
    return; // the pty is gone already
  }
  try {
    libc().write(peer, new Uint8Array([0]), 1n);
  } finally {
    closePty(peer);
  }
}

/** Terminal size in character cells. */
export interface WindowSize {
  rows: number;
  columns: number;
}

/** ioctl(TIOCGWINSZ) of the terminal on `fd`. */
export function getWindowSize(fd: number): WindowSize {
  // struct winsize { unsigned short ws_row, ws_col, ws_xpixel, ws_ypixel; }
  const ws = new Uint8Array(8);
  check("ioctl", libc().ioctl(fd, BigInt(TIOCGWINSZ), ws), `TIOCGWINSZ on fd ${fd}`);
  const view = new DataView(ws.buffer);
  return { rows: view.getUint16(0, true), columns: view.getUint16(2, true) };
}

/** ioctl(TIOCSWINSZ) on the terminal on `fd` (the pty master: the slave side gets SIGWINCH). */
export function setWindowSize(fd: number, size: WindowSize): void {
  const ws = new Uint8Array(8);
  const view = new DataView(ws.buffer);
  view.setUint16(0, size.rows, true);
  view.setUint16(2, size.columns, true);
  check("ioctl", libc().ioctl(fd, BigInt(TIOCSWINSZ), ws), `TIOCSWINSZ on fd ${fd}`);
}

/**
 * Reads from `fd` on a worker thread. Returns the byte count, or 0 at EOF or
 * error (a pty master reads EIO once the last slave fd closes; errno is not
 * available from a worker thread, so errors and EOF look the same).
 */
export async function readAsync(fd: number, buffer: Uint8Array<ArrayBuffer>): Promise<number> {
  const n = Number(await libc().read_async(fd, buffer, BigInt(buffer.length)));
  return n < 0 ? 0 : n;
}

/** Writes all of `data` to `fd` on a worker thread; false if a write failed. */
export async function writeAllAsync(fd: number, data: Uint8Array<ArrayBuffer>): Promise<boolean> {
  let offset = 0;
  while (offset < data.length) {
    const chunk = data.subarray(offset);
    const n = Number(await libc().write_async(fd, chunk, BigInt(chunk.length)));
    if (n <= 0) return false;
    offset += n;
  }
  return true;
}

/** TIOCSETD: set a terminal's line discipline (tty_ioctl(4)). */
const TIOCSETD = 0x5423;
/** N_NULL (Linux 4.10): a line discipline that discards what it receives. */
export const N_NULL = 27;

/**
 * Sets the line discipline of the terminal on `fd`. On a pty master, N_NULL
 * makes whatever the slave side writes vanish: writers never block, though
 * nobody reads. Needs the n_null module on kernels that build it as one
 * (the kernel loads it for a caller with CAP_SYS_MODULE).
 */
export function setLineDiscipline(fd: number, discipline: number): void {
  const value = new Int32Array([discipline]);
  check(
    "ioctl",
    libc().ioctl(fd, BigInt(TIOCSETD), new Uint8Array(value.buffer)),
    `TIOCSETD ${discipline}`,
  );
}

/** close(2) a pty fd. */
export function closePty(fd: number): void {
  libc().close(fd);
}

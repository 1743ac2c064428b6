/**
 * The "setup ready" pipe from the shim to stage two, a FIFO at
 * `<container dir>/setup.fifo`.
 *
 * The shim spawns stage two first, then builds the container's root file
 * system (rootfs.ts) and, in bridge mode, its network while stage two's Deno
 * boots, so the two overlap. Stage two waits on this pipe before pivot_root:
 * the container's command never runs without its root file system and its
 * network.
 *
 * Protocol:
 * 1. The shim creates the FIFO and opens it O_RDWR|O_CLOEXEC before it spawns
 *    stage two (O_RDWR on a FIFO never blocks, and the shim's end keeps
 *    whatever it writes in the pipe until stage two reads it, however late
 *    stage two opens it).
 * 2. Stage two opens it O_RDONLY|O_NONBLOCK|O_CLOEXEC at its start.
 * 3. The shim writes {@link READY} once all is set up, and keeps its end
 *    open until stage two has exec'd. On failure it kills stage two instead
 *    (and reports the error itself).
 * 4. Stage two polls for data: READY = go on; end of file (the shim died) or
 *    a timeout = a start failure.
 */
import { TsnspawnError } from "../errors.ts";
import {
  closeFd,
  mkfifo,
  O_CLOEXEC,
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  openFd,
  POLLERR,
  POLLHUP,
  POLLIN,
  pollOne,
  readFd,
  writeAll,
} from "../../ffi/fifo.ts";

/** The message meaning "the root file system (and network) are set up". */
export const READY = "ready\n";

/** How long stage two waits at most (a bridge's nftables may be slow). */
export const SETUP_TIMEOUT_MS = 120_000;

/** Shim: creates the FIFO (replacing a stale one) and opens its end. */
export function createSetupPipe(path: string): number {
  try {
    Deno.removeSync(path);
  } catch {
    // not there
  }
  mkfifo(path, 0o600);
  return openFd(path, O_RDWR | O_CLOEXEC);
}

/** Shim: tells stage two everything is ready. */
export function signalSetupReady(fd: number): void {
  writeAll(fd, new TextEncoder().encode(READY));
}

/** Stage two: opens its end (before pivot_root: the path is a host path). */
export function openSetupPipe(path: string): number {
  return openFd(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
}

/** Stage two: waits for {@link READY}; throws on end of file or timeout. Closes `fd`. */
export function waitForSetup(fd: number, timeoutMs = SETUP_TIMEOUT_MS): void {
  const deadline = Date.now() + timeoutMs;
  const buffer = new Uint8Array(64);
  let text = "";
  try {
    while (Date.now() < deadline) {
      const revents = pollOne(fd, POLLIN, Math.max(1, Math.min(1000, deadline - Date.now())));
      if (!(revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const n = readFd(fd, buffer);
      if (n === null) continue;
      if (n === 0) {
        throw new TsnspawnError(
          "start-failed",
          "setup: the shim ended before the container was ready",
        );
      }
      text += new TextDecoder().decode(buffer.subarray(0, n));
      if (text.includes(READY)) return;
    }
    throw new TsnspawnError(
      "start-failed",
      `setup: the container was not ready after ${timeoutMs / 1000}s`,
    );
  } finally {
    closeFd(fd);
  }
}

/**
 * The start pipe between the shim and stage two (a FIFO at
 * `<container dir>/start.fifo`, crun's "sync pipe" idea).
 *
 * Protocol:
 * 1. The shim creates the FIFO and opens it O_RDONLY|O_NONBLOCK BEFORE it
 *    spawns stage two, so stage two's O_WRONLY|O_NONBLOCK open never blocks
 *    and fails (ENXIO) only if the shim is gone.
 * 2. Stage two holds the write end with O_CLOEXEC. If it fails, it writes
 *    one UTF-8 text ("stage two: <message>" and optionally "\nhint: <hint>"),
 *    at most {@link MAX_MESSAGE} bytes (one atomic pipe write), and exits
 *    1/126/127.
 * 3. A successful execve closes the write end: the shim sees EOF (POLLHUP)
 *    with no text. EOF with text = failure; the shim prints the text.
 * 4. poll(2) reports POLLHUP on a FIFO only after a writer has come and gone
 *    since our open (pipe_poll compares the writer counter), so "stage two
 *    never opened it" (e.g. deno failed to start) is not mistaken for
 *    success: the shim also watches the child with waitid(WNOWAIT).
 */
import { closeFd, O_CLOEXEC, O_NONBLOCK, O_WRONLY, openFd, writeAll } from "../../ffi/fifo.ts";

/** Longest error text: below PIPE_BUF so one write is atomic. */
export const MAX_MESSAGE = 4000;

/** Stage two's end of the start pipe. */
export interface StartPipeWriter {
  /** Reports a start failure to the shim (truncated to MAX_MESSAGE bytes). */
  fail(message: string): void;
  close(): void;
}

/** Opens the start pipe for writing (O_CLOEXEC: a successful execve closes it). */
export function openStartPipeWriter(path: string): StartPipeWriter {
  const fd = openFd(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  return {
    fail(message: string) {
      let bytes = new TextEncoder().encode(message);
      if (bytes.length > MAX_MESSAGE) bytes = bytes.slice(0, MAX_MESSAGE);
      writeAll(fd, bytes);
    },
    close() {
      closeFd(fd);
    },
  };
}

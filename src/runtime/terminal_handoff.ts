/**
 * The shim's side of a -t container's terminal: the pty master goes to the
 * terminal holder (runtime/terminal_holder.ts) over its socket, as runc's
 * console socket hands a container's pty master to its caller. The holder
 * runs in a unit of its own, outside the container's namespaces and cgroups.
 *
 * Protocol (terminal_protocol.ts): one "register" message with the master
 * attached (SCM_RIGHTS); the holder answers one byte once it holds it.
 * Before that the shim sets the terminal's first window size, from
 * $TSNSPAWN_TTY_SIZE ("ROWSxCOLUMNS", the attaching client's), so that the
 * command starts with the right size.
 *
 * Man pages: unix(7) (SCM_RIGHTS), ioctl_tty(2) (TIOCSWINSZ).
 */
import { TsnspawnError } from "../errors.ts";
import { closeFd, POLLIN, pollOne, readFd } from "../../ffi/fifo.ts";
import { setWindowSize } from "../../ffi/pty.ts";
import { connectUnix, sendWithAncillary } from "../../ffi/unix_socket.ts";
import {
  encodeFrame,
  FRAME_REGISTER,
  parseTerminalSize,
  TTY_SIZE_ENV,
} from "../container/terminal_protocol.ts";

/** How long the holder may take to answer. */
const ANSWER_TIMEOUT_MS = 10_000;

/** Hands `master` to the holder listening at `socketPath`; throws when it is not there. */
export function handToTerminalHolder(socketPath: string, master: number): void {
  const size = parseTerminalSize(Deno.env.get(TTY_SIZE_ENV));
  if (size) setWindowSize(master, size);
  let socket: number;
  try {
    socket = connectUnix(socketPath);
  } catch (error) {
    throw new TsnspawnError("start-failed", "the terminal holder is not there", {
      cause: error,
      hint: "start -t containers with 'tsnspawn start', which starts their terminal holder",
    });
  }
  try {
    sendWithAncillary(socket, encodeFrame(FRAME_REGISTER, new Uint8Array()), { fds: [master] });
    const answer = new Uint8Array(1);
    if (!(pollOne(socket, POLLIN, ANSWER_TIMEOUT_MS) & POLLIN) || readFd(socket, answer) !== 1) {
      throw new TsnspawnError("start-failed", "the terminal holder did not take the terminal");
    }
  } finally {
    closeFd(socket);
  }
}

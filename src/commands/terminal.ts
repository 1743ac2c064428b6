/**
 * The terminal of `run -t`/`exec -t`: a pty whose slave is the container's
 * stdin/stdout/stderr (systemd's TTYPath= for run) and whose master the CLI
 * relays to the user's terminal, in raw mode, with window-size changes
 * forwarded (SIGWINCH → TIOCSWINSZ on the master). The relay ends when the
 * last slave fd closes (the master then reads EIO), which is how Ctrl-D/exit
 * in the container ends `run -it` as in docker.
 */
import {
  closePty,
  getWindowSize,
  openPty,
  openPtyPeer,
  readAsync,
  setWindowSize,
  writeAllAsync,
} from "../../ffi/pty.ts";
import { closeFd } from "../../ffi/fifo.ts";

/** An open pty for one container process. */
export interface Terminal {
  master: number;
  slavePath: string;
  /** Closes our hold on the slave once the container has it open. */
  releaseSlave(): void;
  close(): void;
}

/**
 * Opens a pty (from the devpts instance of the open `ptmx` descriptor if
 * given). Our own slave fd keeps the pty from hanging up before the
 * container opened its side; release it once the container runs.
 */
export function openTerminal(ptmx?: number): Terminal {
  const pty = openPty(ptmx);
  let slave: number | null;
  try {
    slave = openPtyPeer(pty.master);
  } catch (error) {
    closePty(pty.master);
    throw error;
  }
  let closed = false;
  if (Deno.stdin.isTerminal()) {
    try {
      setWindowSize(pty.master, getWindowSize(0));
    } catch { /* keep the default size */ }
  }
  return {
    master: pty.master,
    slavePath: pty.slavePath,
    releaseSlave() {
      if (slave !== null) closeFd(slave);
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
 * Relays between the user's terminal and the pty master until the container
 * side closes. Stdin is forwarded only when `interactive`.
 */
export async function relayTerminal(terminal: Terminal, interactive: boolean): Promise<void> {
  const stdinIsTerminal = Deno.stdin.isTerminal();
  const onResize = () => {
    try {
      setWindowSize(terminal.master, getWindowSize(0));
    } catch { /* terminal went away */ }
  };
  if (stdinIsTerminal) {
    Deno.stdin.setRaw(true);
    Deno.addSignalListener("SIGWINCH", onResize);
  }
  if (interactive) void pumpStdin(terminal.master);
  try {
    const buffer = new Uint8Array(16384);
    while (true) {
      const n = await readAsync(terminal.master, buffer);
      if (n === 0) break;
      let written = 0;
      const chunk = buffer.subarray(0, n);
      while (written < n) written += await Deno.stdout.write(chunk.subarray(written));
    }
  } finally {
    if (stdinIsTerminal) {
      Deno.removeSignalListener("SIGWINCH", onResize);
      Deno.stdin.setRaw(false);
    }
  }
}

async function pumpStdin(master: number): Promise<void> {
  const buffer = new Uint8Array(4096);
  while (true) {
    let n: number | null;
    try {
      n = await Deno.stdin.read(buffer);
    } catch {
      return;
    }
    if (n === null) return; // stdin closed: the container keeps running, as docker does
    if (!await writeAllAsync(master, buffer.slice(0, n))) return;
  }
}

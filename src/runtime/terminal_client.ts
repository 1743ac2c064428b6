/**
 * A client of a -t container's terminal holder (runtime/terminal_holder.ts;
 * the frames are container/terminal_protocol.ts): what `tsnspawn attach`,
 * `run -it` and `start -ai` (commands/attach.ts) and the Docker API's
 * attach (api/container_io.ts) connect through. The holder keeps the
 * terminal; a connection that closes only detaches (the container keeps
 * running, as with docker).
 */
import {
  encodeFrame,
  encodeSize,
  FRAME_ATTACH,
  FRAME_END,
  FRAME_INPUT,
  FRAME_OUTPUT,
  FRAME_WINSIZE,
  FrameDecoder,
  type TerminalSize,
} from "../container/terminal_protocol.ts";

/** How a holder connection ended. */
export type HolderEnd =
  /** The container's side of the terminal closed: it ended. */
  | "ended"
  /** The connection closed without that (we detached, or the holder went away). */
  | "lost";

/** One connection to a terminal holder. */
export class HolderConnection {
  readonly #conn: Deno.UnixConn;
  #writing: Promise<unknown> = Promise.resolve();
  #closed = false;
  /** Settles when the holder says the terminal ended, or the connection is gone. */
  readonly ended: Promise<HolderEnd>;

  private constructor(conn: Deno.UnixConn, onOutput: (bytes: Uint8Array) => void) {
    this.#conn = conn;
    this.ended = this.#read(onOutput);
  }

  /**
   * Connects to the holder at `socket` and attaches; `replay` first sends
   * the output of this run so far. Null when no holder listens there.
   */
  static async open(
    socket: string,
    replay: boolean,
    onOutput: (bytes: Uint8Array) => void,
  ): Promise<HolderConnection | null> {
    let conn: Deno.UnixConn;
    try {
      conn = await Deno.connect({ transport: "unix", path: socket });
    } catch {
      return null;
    }
    const request = new TextEncoder().encode(JSON.stringify({ replay }));
    try {
      await writeAll(conn, encodeFrame(FRAME_ATTACH, request));
    } catch {
      conn.close();
      return null;
    }
    return new HolderConnection(conn, onOutput);
  }

  async #read(onOutput: (bytes: Uint8Array) => void): Promise<HolderEnd> {
    const decoder = new FrameDecoder();
    const buffer = new Uint8Array(65536);
    try {
      for (;;) {
        const n = await this.#conn.read(buffer);
        if (n === null) return "lost";
        for (const frame of decoder.push(buffer.subarray(0, n))) {
          if (frame.type === FRAME_OUTPUT) onOutput(frame.payload);
          else if (frame.type === FRAME_END) return "ended";
        }
      }
    } catch {
      return "lost";
    } finally {
      this.close();
    }
  }

  /** Bytes for the terminal (in order; dropped once closed). */
  input(bytes: Uint8Array): void {
    this.#send(encodeFrame(FRAME_INPUT, bytes));
  }

  /** The terminal's new window size. */
  resize(size: TerminalSize): void {
    this.#send(encodeFrame(FRAME_WINSIZE, encodeSize(size)));
  }

  #send(frame: Uint8Array): void {
    this.#writing = this.#writing.then(() => this.#closed ? undefined : writeAll(this.#conn, frame))
      .catch(() => {});
  }

  /** Resolves once the frames sent so far are written. */
  async flush(): Promise<void> {
    await this.#writing;
  }

  /** Detaches: the container keeps running. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch { /* closed */ }
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let written = 0; written < bytes.length;) {
    written += await conn.write(bytes.subarray(written));
  }
}

/** Sets the window size of a running -t container's terminal through its holder. */
export async function resizeThroughHolder(socket: string, size: TerminalSize): Promise<boolean> {
  const connection = await HolderConnection.open(socket, false, () => {});
  if (!connection) return false;
  connection.resize(size);
  // Written after the attach; the holder reads both before our close.
  await connection.flush();
  connection.close();
  return true;
}

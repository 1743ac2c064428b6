/**
 * What flows over a terminal holder's socket (`<container dir>/tty.sock`,
 * runtime/terminal_holder.ts), PURE: frames of one type byte, a 32-bit
 * big-endian length and the payload.
 *
 *   shim   → holder  "R"  register: the pty master rides along (SCM_RIGHTS); the holder answers one byte
 *   client → holder  "A"  attach: {"replay": bool} — replay = the output of this run so far first
 *   client → holder  "I"  input: bytes for the terminal
 *   client → holder  "W"  window size: rows, columns (16 bits each)
 *   holder → client  "O"  output of the terminal
 *   holder → client  "E"  end: the container's side of the terminal closed
 *
 * A client detaches by closing its connection.
 */

export const FRAME_REGISTER = 0x52; // "R"
export const FRAME_ATTACH = 0x41; // "A"
export const FRAME_INPUT = 0x49; // "I"
export const FRAME_WINSIZE = 0x57; // "W"
export const FRAME_OUTPUT = 0x4f; // "O"
export const FRAME_END = 0x45; // "E"

/** The environment variable giving a -t container's first window size ("ROWSxCOLUMNS"). */
export const TTY_SIZE_ENV = "TSNSPAWN_TTY_SIZE";

/** Largest payload accepted in one frame. */
export const MAX_FRAME = 1 << 20;

/** One frame. */
export interface Frame {
  type: number;
  payload: Uint8Array;
}

/** A terminal size in character cells. */
export interface TerminalSize {
  rows: number;
  columns: number;
}

/** Encodes one frame. */
export function encodeFrame(type: number, payload: Uint8Array): Uint8Array<ArrayBuffer> {
  const frame = new Uint8Array(5 + payload.length);
  frame[0] = type;
  new DataView(frame.buffer).setUint32(1, payload.length);
  frame.set(payload, 5);
  return frame;
}

/** Splits a byte stream into frames. */
export class FrameDecoder {
  #buffer = new Uint8Array(0);

  /** Takes more bytes; returns the frames completed by them. Throws on a frame over MAX_FRAME. */
  push(bytes: Uint8Array): Frame[] {
    const joined = new Uint8Array(this.#buffer.length + bytes.length);
    joined.set(this.#buffer);
    joined.set(bytes, this.#buffer.length);
    const frames: Frame[] = [];
    let offset = 0;
    while (joined.length - offset >= 5) {
      const length = new DataView(joined.buffer, offset + 1, 4).getUint32(0);
      if (length > MAX_FRAME) throw new RangeError(`terminal frame of ${length} bytes`);
      if (joined.length - offset < 5 + length) break;
      frames.push({ type: joined[offset], payload: joined.slice(offset + 5, offset + 5 + length) });
      offset += 5 + length;
    }
    this.#buffer = joined.slice(offset);
    return frames;
  }
}

/** The payload of a window-size frame. */
export function encodeSize(size: TerminalSize): Uint8Array {
  const payload = new Uint8Array(4);
  const view = new DataView(payload.buffer);
  view.setUint16(0, size.rows);
  view.setUint16(2, size.columns);
  return payload;
}

/** A window-size frame's size, or null when malformed. */
export function decodeSize(payload: Uint8Array): TerminalSize | null {
  if (payload.length !== 4) return null;
  const view = new DataView(payload.buffer, payload.byteOffset, 4);
  return { rows: view.getUint16(0), columns: view.getUint16(2) };
}

/** "ROWSxCOLUMNS" (TSNSPAWN_TTY_SIZE) → a size, or null. */
export function parseTerminalSize(text: string | undefined): TerminalSize | null {
  const match = /^(\d{1,5})x(\d{1,5})$/.exec(text ?? "");
  if (!match) return null;
  const size = { rows: Number(match[1]), columns: Number(match[2]) };
  return size.rows > 0 && size.columns > 0 && size.rows < 65536 && size.columns < 65536
    ? size
    : null;
}

/** A size as TSNSPAWN_TTY_SIZE spells it. */
export function formatTerminalSize(size: TerminalSize): string {
  return `${size.rows}x${size.columns}`;
}

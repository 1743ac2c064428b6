/**
 * Terminal output as log text (PURE): what a pty master delivers becomes
 * journal lines, and the last lines of a console are kept for a failed
 * boot's error message.
 *
 * A pty's output processing (termios OPOST|ONLCR, the default) turns every
 * "\n" a program writes into "\r\n": for the journal the "\r" before a
 * newline goes (a "\r" at the end of a chunk is held back until the next
 * chunk shows what follows). For the error message, escape sequences
 * (colours, cursor moves) and other control characters are dropped too.
 *
 * References: termios(3) (ONLCR), ECMA-48 (CSI sequences).
 */

/** Turns "\r\n" into "\n" across chunk boundaries. */
export class NewlineNormalizer {
  #pendingCr = false;

  /** The text of `chunk` with "\r\n" as "\n". */
  push(chunk: Uint8Array): Uint8Array {
    const out: number[] = [];
    if (this.#pendingCr) {
      if (chunk[0] !== 0x0a) out.push(0x0d);
      this.#pendingCr = false;
    }
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      if (byte === 0x0d) {
        if (i + 1 === chunk.length) {
          this.#pendingCr = true;
          continue;
        }
        if (chunk[i + 1] === 0x0a) continue;
      }
      out.push(byte);
    }
    return new Uint8Array(out);
  }
}

/** CSI and OSC escape sequences, and other escapes of two characters. */
// deno-lint-ignore no-control-regex
const ESCAPES = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]/g;
// deno-lint-ignore no-control-regex
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f]/g;

/** A line of terminal output as plain text: no escapes, no control characters. */
export function plainLine(line: string): string {
  // A carriage return in a line means it was overwritten: its last part is what shows.
  const shown = line.split("\r").filter((part) => part !== "").at(-1) ?? "";
  return shown.replace(ESCAPES, "").replace(CONTROLS, "").trimEnd();
}

/** The last lines of a terminal's output, as plain text. */
export class ConsoleTail {
  #lines: string[] = [];
  #partial = "";
  #decoder = new TextDecoder();
  readonly #keep: number;

  constructor(keep = 12) {
    this.#keep = keep;
  }

  /** Takes more output. */
  push(chunk: Uint8Array): void {
    const text = this.#partial + this.#decoder.decode(chunk, { stream: true });
    const parts = text.split("\n");
    this.#partial = parts.pop() ?? "";
    for (const part of parts) {
      const line = plainLine(part);
      if (line === "") continue;
      this.#lines.push(line);
      if (this.#lines.length > this.#keep) this.#lines.shift();
    }
  }

  /** The last complete lines, then a partial one if any. */
  lines(): string[] {
    const partial = plainLine(this.#partial);
    return partial === "" ? [...this.#lines] : [...this.#lines, partial].slice(-this.#keep);
  }

  /** Whether a line so far says systemd froze (it does so instead of exiting on fatal errors). */
  frozen(): boolean {
    return this.lines().some((line) => /Freezing execution/i.test(line));
  }
}

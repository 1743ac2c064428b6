/**
 * `--detach-keys`: the key sequence that detaches an attached terminal
 * (`run -it`, `start -ai`, `attach`), in docker's syntax: a comma-separated
 * list of keys, each `ctrl-<c>` (c one of a-z @ [ \ ] ^ _) or one printable
 * character, e.g. `ctrl-p,ctrl-q` (the default) or `ctrl-a,d`. Pure.
 *
 * Reference: docker-attach(1) "Override the detach sequence"; ASCII control
 * codes (ctrl-a = 0x01 … ctrl-z = 0x1a, ctrl-@ = 0, ctrl-[ = 0x1b … ctrl-_ = 0x1f).
 */
import { TsnspawnError } from "../errors.ts";

/** docker's default detach sequence. */
export const DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q";

/** Control keys beyond the letters, by the character after `ctrl-`. */
const CONTROL_SYMBOLS: Record<string, number> = {
  "@": 0x00,
  "[": 0x1b,
  "\\": 0x1c,
  "]": 0x1d,
  "^": 0x1e,
  "_": 0x1f,
};

/** The bytes of a detach sequence ("" = no detach keys: nothing detaches). */
export function parseDetachKeys(text: string): Uint8Array {
  if (text === "") return new Uint8Array();
  const bytes: number[] = [];
  for (const key of text.split(",")) {
    const lower = key.toLowerCase();
    if (lower.startsWith("ctrl-") && key.length === 6) {
      const c = lower[5];
      if (c >= "a" && c <= "z") {
        bytes.push(c.charCodeAt(0) - 0x60);
        continue;
      }
      if (Object.hasOwn(CONTROL_SYMBOLS, c)) {
        bytes.push(CONTROL_SYMBOLS[c]);
        continue;
      }
    } else if (key.length === 1 && key >= " " && key <= "~") {
      bytes.push(key.charCodeAt(0));
      continue;
    }
    throw new TsnspawnError(
      "invalid",
      `detach keys ${JSON.stringify(text)}: bad key ${JSON.stringify(key)}`,
      {
        hint: "give keys like ctrl-p,ctrl-q: ctrl-<a-z, @, [, \\, ], ^ or _> or single characters",
      },
    );
  }
  return new Uint8Array(bytes);
}

/**
 * Watches typed input for a detach sequence. Bytes that may start the
 * sequence are held back until the next byte decides (docker's escape
 * proxy): a completed sequence detaches and is never forwarded; a broken
 * one is forwarded as typed.
 */
export class DetachKeyWatcher {
  #keys: Uint8Array;
  #matched = 0;

  constructor(keys: Uint8Array) {
    this.#keys = keys;
  }

  /**
   * Feeds typed bytes: returns what to forward now and whether the sequence
   * completed (then everything after it is dropped).
   */
  feed(input: Uint8Array): { forward: Uint8Array; detach: boolean } {
    if (this.#keys.length === 0) return { forward: input, detach: false };
    const out: number[] = [];
    for (const byte of input) {
      if (byte === this.#keys[this.#matched]) {
        this.#matched++;
        if (this.#matched === this.#keys.length) {
          return { forward: new Uint8Array(out), detach: true };
        }
        continue;
      }
      // A broken sequence: what was held back goes out as typed.
      out.push(...this.#keys.subarray(0, this.#matched));
      this.#matched = 0;
      if (byte === this.#keys[0]) this.#matched = 1;
      else out.push(byte);
    }
    return { forward: new Uint8Array(out), detach: false };
  }
}

/**
 * What every command shares: the root check, one lazily opened systemd
 * connection, and output helpers. Commands receive a `CommandContext` so
 * tests can run them against another store root or bus.
 */
import type { Systemd } from "../systemd/bus.ts";
import { trace } from "../trace.ts";

/** Shared state of one CLI invocation. */
export class CommandContext {
  #systemd: Promise<Systemd> | null = null;
  /** --json given. */
  readonly json: boolean;

  constructor(options: { json?: boolean } = {}) {
    this.json = options.json ?? false;
  }

  /**
   * The systemd connection, opened on first use. The D-Bus client (and its
   * npm packages) is loaded only then: commands that never talk to systemd
   * (`version`, `help`, `images`, …) start that much faster.
   */
  systemd(): Promise<Systemd> {
    this.#systemd ??= (trace("dbus-import"), import("../systemd/bus.ts")).then(({ Systemd }) => {
      trace("dbus-imported");
      return Systemd.connect();
    });
    return this.#systemd;
  }

  /** Closes what was opened. */
  async close(): Promise<void> {
    if (this.#systemd) {
      try {
        await (await this.#systemd).close();
      } catch { /* connecting failed; nothing to close */ }
    }
  }

  /** Writes text to stdout. */
  print(text: string): void {
    const bytes = new TextEncoder().encode(text.endsWith("\n") ? text : text + "\n");
    let written = 0;
    while (written < bytes.length) written += Deno.stdout.writeSync(bytes.subarray(written));
  }
}

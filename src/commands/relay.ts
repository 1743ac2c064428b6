/**
 * Relaying a child's output pipes to our own stdout and stderr, for as long
 * as the child's process lives and a moment after.
 *
 * A pipe reaches EOF only when every writer closed it; a command that left
 * a background process holding it would keep the relay (and the CLI) alive
 * for as long as that process lives. `exec` ends with its command, as
 * docker's does: once the command is gone, what is already in the pipes is
 * passed on, and the relay stops as soon as the pipes have been quiet for
 * {@link QUIET_MS}.
 */

/** How long the pipes must be silent, after the command ended, before the relay stops. */
export const QUIET_MS = 100;

/** Where relayed bytes go (Deno.stdout, Deno.stderr). */
export interface ByteSink {
  write(bytes: Uint8Array): Promise<number>;
}

/** Relays in progress. */
export interface Relays {
  /** Call once the child ended: resolves when every pipe is drained or quiet. */
  finish(): Promise<void>;
}

/** Starts relaying each `[source, sink]` pair. */
export function relayUntilQuiet(pairs: [ReadableStream<Uint8Array>, ByteSink][]): Relays {
  let lastActivity = Date.now();
  const readers = pairs.map(([source]) => source.getReader());
  const done = pairs.map(async ([, sink], i) => {
    const reader = readers[i];
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        lastActivity = Date.now();
        for (let written = 0; written < value.length;) {
          written += await sink.write(value.subarray(written));
        }
      }
    } catch {
      // Our side went away (a closed stdout): stop relaying this pipe.
      await reader.cancel().catch(() => {});
    }
  });
  const all = Promise.all(done);
  return {
    async finish() {
      let finished = false;
      void all.then(() => finished = true);
      while (!finished) {
        const idle = Date.now() - lastActivity;
        if (idle >= QUIET_MS) {
          await Promise.all(readers.map((r) => r.cancel().catch(() => {})));
          break;
        }
        await Promise.race([all, new Promise((resolve) => setTimeout(resolve, QUIET_MS - idle))]);
      }
      await all;
    },
  };
}

/**
 * Yielding to the event loop from long synchronous work (effects: timers).
 *
 * tsnspawn does file work with synchronous calls (fewer promises, faster),
 * but a build runs stages in parallel on one thread: while one stage hashes
 * or packs 64 MiB, another waits on systemd for its RUN container. Long
 * loops call `tick()` of a {@link Yielder}: every `budgetMs` of work it lets
 * timers and I/O callbacks run (a macrotask, not a microtask), so the
 * waiting stage moves on meanwhile; otherwise it costs a clock read.
 */

/** Lets the event loop run every so often. */
export interface Yielder {
  /** Resolves at once, or after one turn of the event loop once the budget is spent. */
  tick(): Promise<void> | undefined;
}

/** A yielder that gives the event loop a turn after every `budgetMs` of work. */
export function yielder(budgetMs = 10): Yielder {
  let since = performance.now();
  return {
    tick() {
      const now = performance.now();
      if (now - since < budgetMs) return undefined;
      return new Promise<void>((resolve) =>
        setTimeout(() => {
          since = performance.now();
          resolve();
        }, 0)
      );
    },
  };
}

/**
 * When the API service may exit: after `idleMs` with nothing in progress.
 * Activity is counted, not guessed: each request from its first byte until
 * its answer ended, each stream (logs, events, `/wait`, pull) until it
 * closed, and each hijacked connection (attach, exec) until it closed, as
 * podman's idle tracker counts hijacked connections (podman#7826: a service
 * that timed out under active connections; #7905: one that never exited).
 * Idle keep-alive connections are not activity. `idleMs` 0 = never exit.
 *
 * References: systemd.socket(5) (a socket-activated service that exits is
 * started again on the next connection); podman pkg/api/server/idle/tracker.go
 * (the behaviour); research notes /work/shared/research/docker-api.md §0.12, §7.6.
 */

/** Counts activity and calls `onIdle` once nothing happened for `idleMs`. */
export class IdleTracker {
  readonly #idleMs: number;
  readonly #onIdle: () => void;
  #active = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #fired = false;

  constructor(idleMs: number, onIdle: () => void) {
    this.#idleMs = idleMs;
    this.#onIdle = onIdle;
    this.#arm();
  }

  /** Activities in progress. */
  get active(): number {
    return this.#active;
  }

  /** Whether the idle time ran out (the service is closing). */
  get expired(): boolean {
    return this.#fired;
  }

  /** Marks the start of an activity; returns its end (idempotent). */
  begin(): () => void {
    this.#active++;
    this.#disarm();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.#active--;
      if (this.#active === 0) this.#arm();
    };
  }

  /** Stops the timer for good (the service is shutting down for another reason). */
  stop(): void {
    this.#disarm();
    this.#fired = true;
  }

  #arm(): void {
    this.#disarm();
    if (this.#idleMs <= 0 || this.#fired) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#active > 0 || this.#fired) return;
      this.#fired = true;
      this.#onIdle();
    }, this.#idleMs);
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/**
 * What the API's handlers share for the service's lifetime: one systemd
 * connection (a warm service makes no D-Bus handshake per call, which is
 * what makes it quicker than a CLI start), the events seen, the runs and
 * attached clients, the exec instances, and the idle tracker that counts
 * their activity.
 */
import type { Systemd } from "../systemd/bus.ts";
import type { OpsContext } from "../ops/context.ts";
import { EventHub } from "./event_hub.ts";
import { RunBoard } from "./runs.ts";
import { ExecRegistry } from "./exec_registry.ts";
import { IdleTracker } from "./idle.ts";

/** The service's shared state. */
export class ApiContext implements OpsContext {
  #systemd: Promise<Systemd> | null = null;
  readonly events: EventHub;
  readonly runs = new RunBoard();
  readonly execs = new ExecRegistry();
  readonly idle: IdleTracker;
  /** The host's CPUs (the bound of --cpus). */
  readonly hostCpus = navigator.hardwareConcurrency;

  constructor(idleMs: number, onIdle: () => void) {
    this.events = new EventHub(this, (name) => this.runs.live(name)?.exit);
    this.idle = new IdleTracker(idleMs, onIdle);
  }

  /** The systemd connection, opened on first use; a failed one is retried next time. */
  systemd(): Promise<Systemd> {
    if (!this.#systemd) {
      this.#systemd = import("../systemd/bus.ts").then(({ Systemd }) => Systemd.connect());
      this.#systemd.catch(() => this.#systemd = null);
    }
    return this.#systemd;
  }

  /** Closes the connection (units the service referenced are released). */
  async close(): Promise<void> {
    if (!this.#systemd) return;
    try {
      await (await this.#systemd).close();
    } catch { /* never connected */ }
  }
}

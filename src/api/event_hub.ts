/**
 * The events the API service has seen, for `GET /events`: what its own
 * calls did (create, destroy, rename, attach, exec, pull, tag, delete,
 * network and volume changes; the handlers emit them) and the start and
 * death of every tsnspawn container, whoever started it (the CLI, systemd,
 * the API): those come from systemd's PropertiesChanged signals of the
 * containers' units (the Unit interface's ActiveState), `die`'s `exitCode`
 * from the run the service follows, else the unit, else the exit record.
 *
 * The service follows those signals from its start, keeps no state on disk
 * and exits when idle, so `since` reaches back over what this process saw only (at most {@link KEEP} events); a client that listens
 * keeps the service running, so a live stream misses nothing.
 *
 * References: Docker Engine API v1.44 (`GET /events`); moby v28.2.2
 * daemon/events/events.go (a ring of recent events plus subscribers);
 * org.freedesktop.systemd1(5); research notes
 * /work/shared/research/docker-api.md §3.5, §4 (compose's log printer
 * follows `start` and `die`).
 */
import { containerExists } from "../container/state.ts";
import type { OpsContext } from "../ops/context.ts";
import { type EventContainer, type EventRecord, planContainerEvent } from "./events.ts";
import { eventContainerOf, exitFactsOf } from "./facts.ts";
import { loadExitRecord } from "../container/state.ts";
import { nanosOf } from "./docker_time.ts";
import { exitStatusOf } from "../ops/start.ts";

/** Events kept for `since`. */
export const KEEP = 1024;

/** Unit names of containers: `tsnspawn-NAME.service` (not the API's or machined's units). */
const CONTAINER_UNIT = /^tsnspawn-(.+)\.(?:service|scope)$/;

/** Recent events and live subscribers. */
export class EventHub {
  readonly #ctx: OpsContext;
  readonly #recent: EventRecord[] = [];
  readonly #subscribers = new Set<(record: EventRecord) => void>();
  #watching = false;
  /** Per unit: its last ActiveState and the main exit seen. */
  readonly #units = new Map<string, { active?: string; container?: EventContainer }>();
  /** The exit of the service's own attached run of a container, if one runs. */
  readonly #ownExit: (name: string) => Promise<number> | undefined;

  constructor(ctx: OpsContext, ownExit: (name: string) => Promise<number> | undefined) {
    this.#ctx = ctx;
    this.#ownExit = ownExit;
  }

  /** Records an event and passes it to every subscriber. */
  emit(record: EventRecord): void {
    this.#recent.push(record);
    if (this.#recent.length > KEEP) this.#recent.shift();
    for (const subscriber of this.#subscribers) subscriber(record);
  }

  /** A container event now. */
  emitContainer(action: string, container: EventContainer, extra?: Record<string, string>): void {
    this.emit(planContainerEvent(action, container, nanosOf(new Date()), extra));
  }

  /**
   * A container event for container `name` now, unless it is gone already
   * (removed meanwhile: nothing to say about it).
   */
  emitFor(action: string, name: string, extra?: Record<string, string>): void {
    let container: EventContainer;
    try {
      container = eventContainerOf(name);
    } catch {
      return;
    }
    this.emitContainer(action, container, extra);
  }

  /** The events kept, oldest first. */
  recent(): readonly EventRecord[] {
    return this.#recent;
  }

  /** Subscribes to new events; returns the unsubscribe function. */
  async subscribe(subscriber: (record: EventRecord) => void): Promise<() => void> {
    this.#subscribers.add(subscriber);
    await this.watch();
    return () => this.#subscribers.delete(subscriber);
  }

  /** Starts following the containers' units (once; the service calls it when it starts). */
  async watch(): Promise<void> {
    const systemd = await this.#ctx.systemd();
    if (this.#watching) return;
    this.#watching = true;
    systemd.watchUnits("tsnspawn-", (unit, changed) => {
      const match = CONTAINER_UNIT.exec(unit);
      if (match) this.#unitChanged(match[1], unit, changed);
    });
  }

  #unitChanged(name: string, unit: string, changed: Record<string, unknown>): void {
    const seen = this.#units.get(unit) ?? {};
    this.#units.set(unit, seen);
    const active = changed.ActiveState;
    if (typeof active !== "string" || active === seen.active) return;
    const previous = seen.active;
    seen.active = active;
    // Looked up at the first change: an --rm container is gone once it died.
    const container = this.#container(name, seen);
    if (!container) return;
    if (active === "active" && previous !== "active") {
      this.emitContainer("start", container);
    } else if ((active === "inactive" || active === "failed") && previous !== undefined) {
      this.#exitCodeOf(name, unit).then((exitCode) => {
        this.emitContainer("die", container, { exitCode: String(exitCode) });
      });
    }
  }

  /**
   * The exit status of a run that just ended: the service's own attached
   * run knows it; else the unit (still loaded, or gone: then the exit
   * record the cleanup wrote; an --rm container without one says 0).
   */
  async #exitCodeOf(name: string, unit: string): Promise<number> {
    const own = this.#ownExit(name);
    if (own) return await own.catch(() => 0);
    try {
      const systemd = await this.#ctx.systemd();
      return exitStatusOf(await systemd.mainExit(unit), name);
    } catch {
      return exitFactsOf(loadExitRecord(name))?.exitCode ?? 0;
    }
  }

  /** The container behind a unit, remembered: an --rm container is gone when it dies. */
  #container(name: string, seen: { container?: EventContainer }): EventContainer | undefined {
    if (!seen.container && containerExists(name)) {
      try {
        seen.container = eventContainerOf(name);
      } catch { /* removed meanwhile */ }
    }
    return seen.container;
  }
}

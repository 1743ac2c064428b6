/**
 * The runs the API service follows: clients attached to a container before
 * it starts (`docker run` attaches, then waits, then starts), `/wait`
 * callers, and the runs the service started attached, with their exit
 * status.
 *
 * A start through the API is attached when someone is attached or waiting
 * (ops/start.ts: the unit watched from before the start and referenced, so
 * the exit status stays readable): the run's output goes to the clients
 * that were attached at the start (stdcopy frames, or the pty's raw bytes),
 * and its exit status to every waiter, before the attached streams end (the
 * docker CLI reads the status, then waits for the stream's end). A start
 * with nobody attached or waiting is detached. A container started some
 * other way (the CLI, systemd) is waited for through its unit.
 *
 * References: research notes /work/shared/research/docker-api.md §2
 * (`docker run` order), §3.4 (`/wait`), §7.1, §7.2 (the exit status of
 * `--rm`), §7.18 (clients that vanish mid-wait).
 */
import type { Hijacked } from "./hijack.ts";
import type { HolderConnection } from "../runtime/terminal_client.ts";
import { formatFrame, STDERR, STDOUT } from "./stream.ts";

/** A client hijacked for a container's streams. */
export interface AttachClient {
  connection: Hijacked;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

/** Writes output of a non-tty container (a line, or a chunk) to a client that wants its stream. */
export function sendLine(
  client: AttachClient,
  text: string | Uint8Array,
  stream: "stdout" | "stderr",
): void {
  if (stream === "stdout" ? !client.stdout : !client.stderr) return;
  client.connection.write(formatFrame(stream === "stdout" ? STDOUT : STDERR, text));
}

/** A run the service started attached. */
export interface LiveRun {
  name: string;
  /** Clients attached at the start. */
  clients: Set<AttachClient>;
  /** With a terminal: the service's connection to its holder (resize goes there). */
  terminal: HolderConnection | null;
  /** The exit status, once the container ended (docker's: 128+N for signal N). */
  exit: Promise<number>;
}

/** The board of pending clients and waiters, and live runs, by container name. */
export class RunBoard {
  readonly #pending = new Map<string, Set<AttachClient>>();
  readonly #waiters = new Map<string, number>();
  readonly #live = new Map<string, LiveRun>();
  readonly #runStarted = new Map<string, Set<(run: LiveRun) => void>>();

  /** Adds a client that waits for the container's start; it leaves when its connection closes. */
  addPending(name: string, client: AttachClient): void {
    const set = this.#pending.get(name) ?? new Set();
    set.add(client);
    this.#pending.set(name, set);
    client.connection.onClose(() => {
      set.delete(client);
      if (set.size === 0 && this.#pending.get(name) === set) this.#pending.delete(name);
    });
  }

  /** Takes the clients waiting for the start (their connections still open). */
  takePending(name: string): AttachClient[] {
    const set = this.#pending.get(name);
    this.#pending.delete(name);
    return [...set ?? []].filter((c) => !c.connection.closed);
  }

  /** Counts a `/wait` caller until `done` is called; true while any waits for `name`. */
  addWaiter(name: string): () => void {
    this.#waiters.set(name, (this.#waiters.get(name) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const left = (this.#waiters.get(name) ?? 1) - 1;
      if (left <= 0) this.#waiters.delete(name);
      else this.#waiters.set(name, left);
    };
  }

  /** Someone waits for `name`'s exit. */
  hasWaiters(name: string): boolean {
    return (this.#waiters.get(name) ?? 0) > 0;
  }

  /** Registers a run the service started attached; it leaves the board when it ended. */
  addLive(run: LiveRun): void {
    this.#live.set(run.name, run);
    for (const resolve of this.#runStarted.get(run.name) ?? []) resolve(run);
    this.#runStarted.delete(run.name);
    const forget = () => {
      if (this.#live.get(run.name) === run) this.#live.delete(run.name);
    };
    run.exit.then(forget, forget);
  }

  /** The live run of `name`, if the service started it attached and it runs. */
  live(name: string): LiveRun | undefined {
    return this.#live.get(name);
  }

  /**
   * Resolves with the next run of `name` the service starts attached;
   * `cancel` stops waiting (resolves undefined).
   */
  nextRun(name: string, cancel: AbortSignal): Promise<LiveRun | undefined> {
    return new Promise((resolve) => {
      const set = this.#runStarted.get(name) ?? new Set();
      set.add(resolve);
      this.#runStarted.set(name, set);
      cancel.addEventListener("abort", () => {
        set.delete(resolve);
        resolve(undefined);
      }, { once: true });
    });
  }
}

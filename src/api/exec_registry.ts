/**
 * Exec instances (`POST /containers/NAME/exec` creates one, `POST
 * /exec/ID/start` runs it, `GET /exec/ID/json` tells its end), kept in the
 * service's memory as docker keeps them in the daemon's: an instance lives
 * until a while after its process ended, or until the service exits.
 *
 * The exit code is recorded before the stream that ran it closes: the docker
 * CLI inspects the instance the moment its stream ends, and a missing code
 * reads as success (podman#6893).
 */
import { randomHex } from "../files.ts";
import { noSuch } from "./errors.ts";
import type { ExecPlan } from "./exec_create.ts";
import type { ExecFacts } from "./inspect_system.ts";

/** How long an ended instance stays inspectable. */
export const KEEP_ENDED_MS = 10 * 60 * 1000;

/** One exec instance. */
export interface ExecInstance {
  id: string;
  /** The container's name and ID. */
  container: string;
  containerId: string;
  plan: ExecPlan;
  /** The parsed command line of the plan (the CLI's grammar). */
  command: string[];
  tty: boolean;
  user: string;
  state: "created" | "running" | "ended";
  exitCode: number | null;
  pid: number;
  /** With a terminal, while it runs: the pty master (resize). */
  master: number | null;
  endedAt?: number;
}

/** The instances, by ID. */
export class ExecRegistry {
  readonly #instances = new Map<string, ExecInstance>();

  /** Creates an instance for a running container. */
  create(
    fields: Pick<ExecInstance, "container" | "containerId" | "plan" | "command" | "tty" | "user">,
  ): ExecInstance {
    this.#prune();
    const instance: ExecInstance = {
      id: randomHex(32),
      ...fields,
      state: "created",
      exitCode: null,
      pid: 0,
      master: null,
    };
    this.#instances.set(instance.id, instance);
    return instance;
  }

  /** The instance `id` names (full ID or unique prefix); 404 otherwise. */
  get(id: string): ExecInstance {
    const exact = this.#instances.get(id);
    if (exact) return exact;
    const matches = [...this.#instances.values()].filter((i) => id !== "" && i.id.startsWith(id));
    if (matches.length === 1) return matches[0];
    throw noSuch("exec instance", id);
  }

  /** IDs of a container's instances (inspect's ExecIDs). */
  idsOf(container: string): string[] {
    return [...this.#instances.values()].filter((i) => i.container === container).map((i) => i.id);
  }

  /** Records the end of an instance's process. */
  ended(instance: ExecInstance, exitCode: number): void {
    instance.exitCode = exitCode;
    instance.state = "ended";
    instance.master = null;
    instance.endedAt = Date.now();
  }

  #prune(): void {
    const now = Date.now();
    for (const [id, instance] of this.#instances) {
      if (instance.endedAt !== undefined && now - instance.endedAt > KEEP_ENDED_MS) {
        this.#instances.delete(id);
      }
    }
  }
}

/** The facts of `GET /exec/ID/json`. */
export function execFactsOf(instance: ExecInstance): ExecFacts {
  return {
    id: instance.id,
    containerId: instance.containerId,
    command: instance.command,
    tty: instance.tty,
    user: instance.user,
    privileged: false,
    openStdin: instance.plan.attachStdin,
    openStdout: instance.plan.attachStdout,
    openStderr: instance.plan.attachStderr,
    running: instance.state === "running",
    exitCode: instance.exitCode,
    pid: instance.state === "running" ? instance.pid : 0,
  };
}

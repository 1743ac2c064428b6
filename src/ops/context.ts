/**
 * What an operation needs from the front end that calls it: the systemd
 * connection, opened once per front end (the CLI's per invocation,
 * commands/context.ts; the Docker API service's for its lifetime,
 * api/service.ts). Operations print nothing: they return results, throw
 * TsnspawnErrors and report progress through callbacks the caller gives.
 */
import type { Systemd } from "../systemd/bus.ts";

/** The front end's side of an operation. */
export interface OpsContext {
  /** The systemd connection, opened on first use. */
  systemd(): Promise<Systemd>;
}

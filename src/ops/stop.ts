/**
 * Stopping, restarting and signalling a container, for every front end
 * (`tsnspawn stop`, `restart`, `kill`; the Docker API's `/stop`, `/restart`,
 * `/kill`).
 *
 * stop without -t is systemd's own StopUnit: KillSignal= (the image's stop
 * signal) to the main process, SIGKILL to all after TimeoutStopSec=. With -t
 * the timeout is the caller's: the stop signal, a wait, then SIGKILL, then
 * StopUnit to let systemd finish (ExecStopPost= cleanup included). A PID 1
 * without a handler for the stop signal ignores it (pid_namespaces(7)), so
 * such a stop ends only at the timeout — as in docker.
 *
 * A container that an attached `run --rm` holds in a scope
 * (runtime/attached.ts) is stopped the -t way with its own stop timeout: a
 * scope's StopUnit would send the stop signal to every process, where
 * docker sends it to PID 1 only.
 */
import { TsnspawnError } from "../errors.ts";
import { containerUnit, loadContainer } from "../container/state.ts";
import type { Systemd } from "../systemd/bus.ts";
import { SystemdCallError } from "../systemd/error.ts";
import { parseSignal } from "../container/run_options.ts";
import type { OpsContext } from "./context.ts";
import { startDetached } from "./start.ts";
import { isRunning } from "../systemd/unit_state.ts";

const SIGKILL = 9;

/**
 * Stops a container; a stopped one is left as it is. Returns false when it
 * was not running (docker's 304), true once it stopped. `signal` replaces
 * the container's stop signal for this stop (docker stop -s).
 */
export async function stopContainer(
  ctx: OpsContext,
  name: string,
  timeoutSec?: number,
  signal?: string,
): Promise<boolean> {
  const config = loadContainer(name);
  const { unit, leader } = containerUnit(name);
  const systemd = await ctx.systemd();
  if (!isRunning(await systemd.unitState(unit))) return false;
  const timeout = timeoutSec ??
    (leader === undefined && signal === undefined ? undefined : config.stopTimeoutSec);
  if (timeout !== undefined) {
    await signalPidOne(systemd, unit, leader, parseSignal(signal ?? config.stopSignal));
    const state = await systemd.waitUntilInactive(unit, timeout * 1000);
    if (isRunning(state)) await systemd.killUnit(unit, "all", SIGKILL);
  }
  try {
    await systemd.stopUnit(unit);
  } catch (error) {
    // It ended and was collected meanwhile (a scope goes once empty): stopped.
    if (error instanceof SystemdCallError && error.isNoSuchUnit) return true;
    throw error;
  }
  await systemd.waitUntilInactive(unit);
  return true;
}

/** Stops (if running) and starts a container again, detached. */
export async function restartContainer(
  ctx: OpsContext,
  name: string,
  timeoutSec?: number,
): Promise<void> {
  await stopContainer(ctx, name, timeoutSec);
  await startDetached(ctx, name);
}

/** Sends a signal to the container's main process (docker kill). */
export async function killContainer(
  ctx: OpsContext,
  name: string,
  signal: string,
): Promise<void> {
  loadContainer(name);
  const { unit, leader } = containerUnit(name);
  const systemd = await ctx.systemd();
  if (!isRunning(await systemd.unitState(unit))) {
    throw new TsnspawnError("conflict", `container ${name}: not running`, {
      hint: `start it with 'tsnspawn start ${name}'`,
    });
  }
  await signalPidOne(systemd, unit, leader, parseSignal(signal));
}

/**
 * A signal to the container's PID 1: the service's main process, or the
 * recorded PID 1 of a scope (an attached --rm run), which has none.
 */
async function signalPidOne(
  systemd: Systemd,
  unit: string,
  leader: number | undefined,
  signal: number,
): Promise<void> {
  if (leader === undefined) return await systemd.killUnit(unit, "main", signal);
  const { signalScopeLeader } = await import("../runtime/attached.ts");
  signalScopeLeader(unit, leader, signal);
}

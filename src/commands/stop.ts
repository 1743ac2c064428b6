/**
 * `tsnspawn stop`, `restart` and `kill`.
 *
 * stop without -t is systemd's own StopUnit: KillSignal= (the image's stop
 * signal) to the main process, SIGKILL to all after TimeoutStopSec=. With -t
 * the timeout is the caller's: the stop signal, a wait, then SIGKILL, then
 * StopUnit to let systemd finish (ExecStopPost= cleanup included). A PID 1
 * without a handler for the stop signal ignores it (pid_namespaces(7)), so
 * such a stop ends only at the timeout — as in docker.
 */
import { TsnspawnError } from "../errors.ts";
import { unitName } from "../paths.ts";
import { loadContainer } from "../container/state.ts";
import { parseSignal } from "../container/run_options.ts";
import type { CommandContext } from "./context.ts";
import { startContainer } from "./start.ts";
import { isRunning } from "../systemd/unit_state.ts";

const SIGKILL = 9;

/** Stops a container; a stopped one is left as it is. */
export async function stopContainer(
  ctx: CommandContext,
  name: string,
  timeoutSec?: number,
): Promise<void> {
  const config = loadContainer(name);
  const unit = unitName(name);
  const systemd = await ctx.systemd();
  if (!isRunning(await systemd.unitState(unit))) return;
  if (timeoutSec !== undefined) {
    await systemd.killUnit(unit, "main", parseSignal(config.stopSignal));
    const state = await systemd.waitUntilInactive(unit, timeoutSec * 1000);
    if (isRunning(state)) await systemd.killUnit(unit, "all", SIGKILL);
  }
  await systemd.stopUnit(unit);
  await systemd.waitUntilInactive(unit);
}

/** Stops (if running) and starts a container again, detached. */
export async function restartContainer(
  ctx: CommandContext,
  name: string,
  timeoutSec?: number,
): Promise<void> {
  await stopContainer(ctx, name, timeoutSec);
  await startContainer(ctx, name, { attach: false });
}

/** Sends a signal to the container's main process (docker kill). */
export async function killContainer(
  ctx: CommandContext,
  name: string,
  signal: string,
): Promise<void> {
  loadContainer(name);
  const unit = unitName(name);
  const systemd = await ctx.systemd();
  if (!isRunning(await systemd.unitState(unit))) {
    throw new TsnspawnError("conflict", `container ${name}: not running`, {
      hint: `start it with 'tsnspawn start ${name}'`,
    });
  }
  await systemd.killUnit(unit, "main", parseSignal(signal));
}

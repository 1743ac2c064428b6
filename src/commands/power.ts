/**
 * `tsnspawn poweroff` and `tsnspawn reboot`, as machinectl's verbs: an OS
 * container's init is asked, the way systemd-compatible inits understand
 * (systemd(1) "Signals"): SIGRTMIN+4 powers off, SIGINT reboots (ctrl-alt-del).
 *
 * A container's systemd cannot reboot itself: without CAP_SYS_BOOT its
 * reboot(2) fails and systemd-shutdown just exits, so a reboot ends the
 * container like a power-off. `reboot` therefore waits for the end and
 * starts the container again; a `systemctl reboot` inside powers it off.
 * Other containers: poweroff is `stop`, reboot is `restart`.
 */
import { loadContainer } from "../container/state.ts";
import { unitName } from "../paths.ts";
import { parseSignal } from "../container/run_options.ts";
import { isRunning } from "../systemd/unit_state.ts";
import type { CommandContext } from "./context.ts";
import { restartContainer, stopContainer } from "../ops/stop.ts";
import { startContainer } from "./start.ts";

const SIGINT = 2;

/** Asks an OS container's init with `signal` and waits for the end; `stop` after the timeout. */
async function shutDown(ctx: CommandContext, name: string, signal: number): Promise<void> {
  const config = loadContainer(name);
  const unit = unitName(name);
  const systemd = await ctx.systemd();
  if (!isRunning(await systemd.unitState(unit))) return;
  // A restart policy would bring it back after a clean exit: systemd's own stop prevents that.
  if (config.restart.policy === "no") {
    await systemd.killUnit(unit, "main", signal);
    const state = await systemd.waitUntilInactive(unit, config.stopTimeoutSec * 1000);
    if (!isRunning(state)) return;
  }
  await stopContainer(ctx, name);
}

/** `poweroff NAME`. */
export async function poweroffContainer(ctx: CommandContext, name: string): Promise<void> {
  const config = loadContainer(name);
  if (!config.systemd) {
    await stopContainer(ctx, name);
    return;
  }
  await shutDown(ctx, name, parseSignal("SIGRTMIN+4"));
}

/** `reboot NAME`. */
export async function rebootContainer(ctx: CommandContext, name: string): Promise<void> {
  const config = loadContainer(name);
  if (!config.systemd) return await restartContainer(ctx, name);
  await shutDown(ctx, name, SIGINT);
  await startContainer(ctx, name, { attach: false });
}

/**
 * `tsnspawn start`: turns a created container into a running transient unit.
 *
 * The unit's properties come from `planUnitProperties` (pure); this file only
 * orders the effects: lock, refuse a running container, clear a failed unit of
 * the same name, start the unit and wait for its start job. Attached starts
 * (`run` without -d, `start -a`) then stream the container's output from the
 * journal (or relay its terminal) and return its exit status.
 *
 * A failed start leaves nothing behind: the unit is reset, its reason is read
 * from the journal and shown in the error.
 */
import { TsnspawnError } from "../errors.ts";
import { unitName } from "../paths.ts";
import { loadContainer, loadExitRecord, randomHex, withContainerLock } from "../state.ts";
import type { Systemd, UnitState } from "../systemd.ts";
import type { ContainerConfig } from "../container_config.ts";
import { planUnitProperties } from "../unit_properties.ts";
import { readMessages, RunOutputFollower } from "../journal.ts";
import { selfCommand } from "../self_exec.ts";
import { isDeclared } from "../declared_store.ts";
import { hostMachineUnit } from "../machined.ts";
import { parseSignal } from "../run_options.ts";
import type { CommandContext } from "./context.ts";
import { openTerminal, relayTerminal, type Terminal } from "./terminal.ts";

/** ExecMainCode values (siginfo si_code of the main process). */
const CLD_EXITED = 1;

/** Unit states in which the container counts as running. */
export function isRunning(state: UnitState | null): boolean {
  return state !== null && state.activeState !== "inactive" && state.activeState !== "failed";
}

/** The container's exit status in docker's convention (128+N for signal N). */
export function exitStatusOf(state: UnitState | null, name: string): number {
  if (state && state.execMainCode !== 0) {
    return state.execMainCode === CLD_EXITED ? state.execMainStatus : 128 + state.execMainStatus;
  }
  const record = loadExitRecord(name);
  if (!record) return 0;
  if (record.exitCode === "exited") return Number(record.exitStatus) || 0;
  const signal = Number(record.exitStatus);
  return 128 + (Number.isNaN(signal) ? parseSignal(record.exitStatus) : signal);
}

/** The reason a start failed and the runtime's hint, from this start's journal lines. */
async function startFailure(
  runId: string,
  name: string,
): Promise<{ reason: string; hint?: string }> {
  const lines = (await readMessages(`TSNSPAWN_RUN=${runId}`, 20)).filter((l) => l.trim());
  const reported = lines.filter((l) => l.startsWith("tsnspawn: "))
    .map((l) => l.slice("tsnspawn: ".length));
  const hint = reported.filter((l) => l.startsWith("hint: ")).at(-1)?.slice("hint: ".length);
  const reason = reported.filter((l) => !l.startsWith("hint: ")).at(-1) ?? lines.at(-1) ??
    `the unit ${unitName(name)} failed without output`;
  return { reason, hint };
}

/** Options of a start. */
export interface StartOptions {
  /** Stay attached: stream output, forward signals, return the exit status. */
  attach: boolean;
}

/** What an attached start hands to the waiting side. */
interface Attachment {
  follower: RunOutputFollower | null;
  terminal: Terminal | null;
}

/**
 * Starts the container's unit. Returns the exit status when attached, else
 * null once the container is running.
 */
export async function startContainer(
  ctx: CommandContext,
  name: string,
  options: StartOptions,
): Promise<number | null> {
  // A declared container (/etc/tsnspawn/NAME.container) runs as its generated unit.
  if (isDeclared(name)) {
    const { startDeclaredContainer } = await import("./start_declared.ts");
    return await startDeclaredContainer(ctx, name, options);
  }
  const config = loadContainer(name);
  const unit = unitName(name);
  const systemd = await ctx.systemd();
  const attachment = await withContainerLock(name, async (): Promise<Attachment> => {
    const state = await systemd.unitState(unit);
    if (isRunning(state)) {
      throw new TsnspawnError("conflict", `container ${name}: already running`, {
        hint: `stop it first with 'tsnspawn stop ${name}'`,
      });
    }
    // A failed unit of the same name would make StartTransientUnit fail.
    if (state) await systemd.resetFailedUnit(unit);
    const runId = randomHex(16);
    const terminal = config.tty && options.attach ? openTerminal() : null;
    const follower = options.attach && !terminal
      ? new RunOutputFollower(runId, (text) => ctx.print(text))
      : null;
    const abandon = async () => {
      await follower?.cancel();
      terminal?.close();
    };
    const properties = planUnitProperties(config, {
      shimCommand: selfCommand("__shim", [name]),
      stopCommand: selfCommand("__stop", [name]),
      cleanupCommand: selfCommand("__cleanup", [name]),
      registerMachine: hostMachineUnit(name),
      runId,
      tty: terminal ? { path: terminal.slavePath } : undefined,
      addRef: options.attach,
    });
    let result: string;
    try {
      result = await systemd.startTransientUnit(unit, properties);
    } catch (error) {
      await abandon();
      throw error;
    }
    if (result !== "done") {
      await abandon();
      const { reason, hint } = await startFailure(runId, name);
      await systemd.resetFailedUnit(unit);
      throw new TsnspawnError("start-failed", `container ${name} failed to start: ${reason}`, {
        hint: hint ?? `see 'tsnspawn logs ${name}' and 'journalctl -u ${unit}'`,
      });
    }
    terminal?.releaseSlave();
    return { follower, terminal };
  });
  if (!options.attach) return null;
  return await waitAttached(systemd, config, attachment);
}

/** Waits for an attached container, forwarding signals, and returns its status. */
async function waitAttached(
  systemd: Systemd,
  config: ContainerConfig,
  { follower, terminal }: Attachment,
): Promise<number> {
  const unit = unitName(config.name);
  const forward = (signal: Deno.Signal) => () => {
    systemd.killUnit(unit, "main", parseSignal(signal)).catch(() => {});
  };
  const handlers: [Deno.Signal, () => void][] = terminal
    ? [["SIGTERM", forward("SIGTERM")], ["SIGHUP", forward("SIGHUP")]]
    : [["SIGINT", forward("SIGINT")], ["SIGTERM", forward("SIGTERM")], [
      "SIGHUP",
      forward("SIGHUP"),
    ]];
  for (const [signal, handler] of handlers) Deno.addSignalListener(signal, handler);
  try {
    const relay = terminal ? relayTerminal(terminal, config.interactive) : null;
    const final = await systemd.waitUntilInactive(unit);
    await relay;
    await follower?.finish();
    return exitStatusOf(final, config.name);
  } finally {
    for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
    terminal?.close();
  }
}

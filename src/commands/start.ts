/**
 * `tsnspawn start`: turns a created container into a running transient unit.
 *
 * The unit's properties come from `planUnitProperties` (pure); this file only
 * orders the effects: lock, start the unit and wait for its start job (a
 * running container is refused and a failed unit of the same name cleared
 * only when systemd reports one: no round trip before the start). Attached
 * starts (`run` without -d, `start -a`) then stream the container's output
 * from the journal (or relay its terminal) and return its exit status, which
 * they learn from the unit's signals.
 *
 * A failed start leaves nothing behind: the unit is reset, its reason is read
 * from the journal and shown in the error.
 *
 * A -t container's unit comes with its terminal holder's
 * (systemd/unit_properties.ts planTerminalUnitProperties), created in the
 * same call as an auxiliary unit: the container's unit wants it and starts
 * after it, it stops with the container's. An attached start then attaches
 * to the terminal (commands/attach.ts), asking for the output so far.
 */
import { TsnspawnError } from "../errors.ts";
import { containerPaths, unitName } from "../paths.ts";
import {
  clearScopeLeader,
  containerUnit,
  loadContainer,
  loadExitRecord,
  withContainerLock,
} from "../container/state.ts";
import { randomHex } from "../files.ts";
import type { MainExit, Systemd, UnitWatch } from "../systemd/bus.ts";
import { SystemdCallError } from "../systemd/error.ts";
import { isRunning } from "../systemd/unit_state.ts";
import type { ContainerConfig } from "../container/config.ts";
import {
  planTerminalUnitProperties,
  planUnitProperties,
  terminalUnitName,
  type UnitProperty,
} from "../systemd/unit_properties.ts";
import { readMessages, RunOutputFollower, writeOutput } from "../systemd/journal.ts";
import { selfCommand } from "../self_exec.ts";
import { isDeclared } from "../declared/store.ts";
import {
  hostMachineUnit,
  machinedInstalled,
  machineName,
  machineUnitName,
} from "../systemd/machined.ts";
import { parseSignal } from "../container/run_options.ts";
import type { CommandContext } from "./context.ts";
import { formatTerminalSize } from "../container/terminal_protocol.ts";
import { getWindowSize } from "../../ffi/pty.ts";
import { trace } from "../trace.ts";

/** ExecMainCode values (siginfo si_code of the main process). */
const CLD_EXITED = 1;

/** The container's exit status in docker's convention (128+N for signal N). */
export function exitStatusOf(state: MainExit | null, name: string): number {
  if (state && state.execMainCode !== 0) {
    return state.execMainCode === CLD_EXITED ? state.execMainStatus : 128 + state.execMainStatus;
  }
  const record = loadExitRecord(name);
  if (!record) return 0;
  if (record.exitCode === "exited") return Number(record.exitStatus) || 0;
  const signal = Number(record.exitStatus);
  return 128 + (Number.isNaN(signal) ? parseSignal(record.exitStatus) : signal);
}

/** How many of a failed boot's last output lines its error quotes. */
const BOOT_FAILURE_LINES = 8;

/**
 * The reason a start failed and the runtime's hint, from this start's
 * journal lines (PURE). A failed boot (runtime/boot.ts) also quotes the
 * container's last output lines: its console and its init's own output.
 */
export function planStartFailure(
  lines: readonly string[],
  unit: string,
): { reason: string; hint?: string; reported: boolean } {
  const ours = (l: string) => l.startsWith("tsnspawn: ");
  const reported = lines.filter(ours).map((l) => l.slice("tsnspawn: ".length))
    .filter((l) => !l.startsWith("warning: "));
  const hint = reported.filter((l) => l.startsWith("hint: ")).at(-1)?.slice("hint: ".length);
  const ownReason = reported.filter((l) => !l.startsWith("hint: ")).at(-1);
  let reason = ownReason ?? lines.filter((l) => l.trim()).at(-1) ??
    `the unit ${unit} failed without output`;
  if (/^boot failed: /.test(reason)) {
    const output = lines.filter((l) => !ours(l) && l.trim() !== "").slice(-BOOT_FAILURE_LINES);
    if (output.length > 0) {
      reason += `; its last output:\n${output.map((l) => `  | ${l}`).join("\n")}`;
    }
  }
  return { reason, hint, reported: ownReason !== undefined };
}

async function startFailure(
  runId: string,
  config: ContainerConfig,
): Promise<{ reason: string; hint?: string }> {
  const lines = await readMessages(`TSNSPAWN_RUN=${runId}`, 60);
  return planStartFailure(lines, unitName(config.name));
}

/** Options of a start. */
export interface StartOptions {
  /** Stay attached: stream output, forward signals, return the exit status. */
  attach: boolean;
  /** The container's config when the caller holds it (`run`: just written); else it is read. */
  config?: ContainerConfig;
  /** Attached to a terminal: send our input (`-i`). Default: the container's -i. */
  interactive?: boolean;
  /** --detach-keys of an attached terminal. */
  detachKeys?: string;
}

/** What an attached start hands to the waiting side. */
interface Attachment {
  /** Settles once the registration with machined is sent (or skipped). */
  registered?: Promise<void>;
  watch: UnitWatch | null;
  follower: RunOutputFollower | null;
  runId: string;
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
  const config = options.config ?? loadContainer(name);
  // An attached `run --rm` (the config is the one `run` just wrote) runs in
  // a scope, the CLI doing the shim's work (src/runtime/attached.ts).
  if (options.attach && options.config) {
    const { runsInScope, runInScope } = await import("../runtime/attached.ts");
    if (runsInScope(config)) return await runInScope(await ctx.systemd(), config);
  }
  const unit = unitName(name);
  const systemd = await ctx.systemd();
  await refuseWhileInScope(systemd, name);
  const attachment = await withContainerLock(name, async (): Promise<Attachment> => {
    const runId = randomHex(16);
    const attachment: Attachment = {
      // Watching from before the start: the run's end is seen from its signal.
      watch: options.attach ? systemd.watchUnit(unit) : null,
      follower: null,
      runId,
    };
    const abandon = async () => {
      attachment.watch?.close();
      await attachment.follower?.cancel();
    };
    const terminalUnit = terminalUnitName(name);
    // Registration with machined: a container that systemd restarts on its
    // own wants the registering unit (each start registers); any other is
    // registered from here once it runs (registerWithMachined), so that
    // systemd forks nothing when the container becomes ready.
    const restarts = config.restart.policy !== "no";
    const properties = planUnitProperties(config, {
      shimCommand: selfCommand("__shim", [name]),
      stopCommand: selfCommand("__stop", [name]),
      cleanupCommand: selfCommand("__cleanup", [name]),
      healthRunner: selfCommand("__healthcheck", [name]),
      registerMachine: restarts ? hostMachineUnit(name) : undefined,
      runId,
      terminal: config.tty ? { unit: terminalUnit, size: attachedSize(options) } : undefined,
      addRef: options.attach,
    });
    const auxiliary: [string, UnitProperty[]][] = config.tty
      ? [[
        terminalUnit,
        planTerminalUnitProperties(config, {
          holderCommand: selfCommand("__terminal", [name]),
          runId,
        }),
      ]]
      : [];
    // The output follower's journalctl starts once systemd accepted the
    // start: it then runs while the container starts, not before the request.
    const onQueued = options.attach && !config.tty
      ? () => {
        attachment.follower = new RunOutputFollower(runId, writeOutput);
      }
      : undefined;
    let result: string;
    try {
      result = await startUnit(systemd, name, properties, onQueued, auxiliary);
    } catch (error) {
      await abandon();
      throw error;
    }
    if (result !== "done") {
      await abandon();
      const { reason, hint } = await startFailure(runId, config);
      await systemd.resetFailedUnit(unit);
      if (config.tty) await systemd.resetFailedUnit(terminalUnit);
      throw new TsnspawnError("start-failed", `container ${name} failed to start: ${reason}`, {
        hint: hint ?? `see 'tsnspawn logs ${name}' and 'journalctl -u ${unit}'`,
      });
    }
    if (!restarts) {
      attachment.registered = registerWithMachined(systemd, config, options.attach);
    }
    return attachment;
  });
  // Detached: registered before we return (the call is sent, not answered).
  await attachment.registered;
  // Attached starts have a watch; detached ones are done.
  if (!attachment.watch) return null;
  return await waitAttached(systemd, config, options, { ...attachment, watch: attachment.watch });
}

/** The window size a -t container starts with: the attaching terminal's. */
function attachedSize(options: StartOptions): string | undefined {
  if (!options.attach || !Deno.stdin.isTerminal()) return undefined;
  try {
    return formatTerminalSize(getWindowSize(0));
  } catch {
    return undefined;
  }
}

/**
 * A container that an attached `run --rm` holds in its scope is running:
 * its service must not start beside it. A scope file whose scope is gone
 * (the CLI was killed) is forgotten.
 */
async function refuseWhileInScope(systemd: Systemd, name: string): Promise<void> {
  const { unit, leader } = containerUnit(name);
  if (leader === undefined) return;
  if (isRunning(await systemd.unitState(unit))) {
    throw new TsnspawnError("conflict", `container ${name}: already running`, {
      hint: `stop it first with 'tsnspawn stop ${name}'`,
    });
  }
  clearScopeLeader(name);
}

/**
 * StartTransientUnit without asking first whether the unit exists. A unit of
 * that name still loaded makes systemd refuse (UnitExists): a running one is
 * an error, a failed or stopped one is reset and the start tried once more.
 */
async function startUnit(
  systemd: Systemd,
  name: string,
  properties: UnitProperty[],
  onQueued?: () => void,
  auxiliary: [string, UnitProperty[]][] = [],
): Promise<string> {
  const unit = unitName(name);
  try {
    return await systemd.startTransientUnit(unit, properties, onQueued, auxiliary);
  } catch (error) {
    if (!(error instanceof SystemdCallError && error.isUnitExists)) throw error;
  }
  if (isRunning(await systemd.unitState(unit))) {
    throw new TsnspawnError("conflict", `container ${name}: already running`, {
      hint: `stop it first with 'tsnspawn stop ${name}'`,
    });
  }
  await systemd.resetFailedUnit(unit);
  // A terminal holder of an earlier run still draining, or failed.
  for (const [aux] of auxiliary) {
    if (isRunning(await systemd.unitState(aux))) await systemd.stopUnit(aux);
    await systemd.resetFailedUnit(aux);
  }
  return await systemd.startTransientUnit(unit, properties, onQueued, auxiliary);
}

/**
 * Registers a started container with systemd-machined (machinectl list,
 * status, terminate), as units/tsnspawn-machine@.service does for the
 * containers systemd restarts: leader = the unit's main PID (the
 * container's PID 1), root = its root directory. Nothing when machined is
 * not installed or the container already ended. The request is sent, not
 * waited for (src/systemd/machined.ts); a failure is only lost. A detached
 * start, which disconnects at once, asks systemd to start the registering
 * unit instead: the bus would drop a call to a machined it is starting.
 */
async function registerWithMachined(
  systemd: Systemd,
  config: ContainerConfig,
  attached: boolean,
): Promise<void> {
  if (!machinedInstalled()) return;
  if (!attached) {
    systemd.startUnitNoWait(machineUnitName(config.name));
    return;
  }
  const unit = unitName(config.name);
  try {
    const leader = await systemd.mainPid(unit);
    if (leader > 0) {
      systemd.registerMachine(
        machineName(config.name),
        unit,
        leader,
        containerPaths(config.name).rootfs,
      );
    }
  } catch { /* not registered: machinectl does not list it */ }
}

/**
 * Waits for an attached container, forwarding signals, and returns its
 * status; 0 when the user detached from its terminal (it keeps running).
 */
async function waitAttached(
  systemd: Systemd,
  config: ContainerConfig,
  options: StartOptions,
  { watch, follower, runId }: Attachment & { watch: UnitWatch },
): Promise<number> {
  const unit = unitName(config.name);
  const forward = (signal: Deno.Signal) => () => {
    systemd.killUnit(unit, "main", parseSignal(signal)).catch(() => {});
  };
  // With a terminal, ^C is a key for the container, not a signal for us.
  const handlers: [Deno.Signal, () => void][] = config.tty
    ? [["SIGTERM", forward("SIGTERM")], ["SIGHUP", forward("SIGHUP")]]
    : [["SIGINT", forward("SIGINT")], ["SIGTERM", forward("SIGTERM")], [
      "SIGHUP",
      forward("SIGHUP"),
    ]];
  for (const [signal, handler] of handlers) Deno.addSignalListener(signal, handler);
  try {
    if (config.tty) {
      const { attachTerminal } = await import("./attach.ts");
      const end = await attachTerminal({
        socket: containerPaths(config.name).terminalSocket,
        replay: true,
        interactive: options.interactive ?? config.interactive,
        detachKeys: options.detachKeys,
      });
      if (end === "detached") return 0;
      if (end === "unavailable") {
        // It ended before we attached: its output is in the journal.
        await watch.untilInactive();
        await systemd.waitUntilInactive(terminalUnitName(config.name), 5000);
        await new RunOutputFollower(runId, writeOutput).finish();
      }
    }
    await watch.untilInactive();
    trace("unit-inactive");
    const [exit] = await Promise.all([systemd.mainExit(unit), follower?.finish()]);
    trace("exit-status");
    return exitStatusOf(exit, config.name);
  } finally {
    for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
    watch.close();
  }
}

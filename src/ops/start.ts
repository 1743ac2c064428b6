/**
 * Starting a created container as its transient unit, for every front end
 * (`tsnspawn start` and `run`, `build`'s RUN steps, the Docker API's
 * `/start`): lock, start the unit
 * and wait for its start job (a running container is refused and a failed
 * unit of the same name cleared only when systemd reports one: no round
 * trip before the start), register it with machined, then, when attached,
 * follow its output and learn its exit status from the unit's signals.
 * Prints nothing: output goes to the `output` callback the front end gives.
 *
 * The unit's properties come from `planUnitProperties` (pure). A failed
 * start leaves nothing behind: the unit is reset, its reason is read from
 * the journal and shown in the error. (An attached `run --rm` may instead
 * run in a scope the CLI sets up itself: src/runtime/attached.ts.)
 *
 * A -t container's unit comes with its terminal holder's
 * (systemd/unit_properties.ts planTerminalUnitProperties), created in the
 * same call as an auxiliary unit: the container's unit wants it and starts
 * after it, it stops with the container's. Front ends attach to the
 * terminal through its socket (commands/attach.ts).
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
import { type OutputStream, readMessages, RunOutputFollower } from "../systemd/journal.ts";
import { selfCommand } from "../self_exec.ts";
import {
  hostMachineUnit,
  machinedInstalled,
  machineName,
  machineUnitName,
} from "../systemd/machined.ts";
import { parseSignal } from "../container/run_options.ts";
import { trace } from "../trace.ts";
import { isDeclared } from "../declared/store.ts";
import type { OpsContext } from "./context.ts";

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
  name: string,
): Promise<{ reason: string; hint?: string }> {
  const lines = await readMessages(`TSNSPAWN_RUN=${runId}`, 60);
  return planStartFailure(lines, unitName(name));
}

/** Where an attached container's output lines go. */
export type OutputSink = (text: string, stream: OutputStream) => void;

/** Options of {@link startContainerUnit}. */
export interface StartUnitOptions {
  /** Stay attached: watch the unit, follow its output (unless it has a terminal). */
  attach: boolean;
  /** Attached without a terminal: where the output goes. */
  output?: OutputSink;
  /** A -t container's first window size ("ROWSxCOLS"): the attaching terminal's. */
  terminalSize?: string;
}

/** A started unit, for the attached side. */
export interface StartedUnit {
  /** Watches the unit from before the start; null when detached. */
  watch: UnitWatch | null;
  /** Follows this start's output; null when detached or with a terminal. */
  follower: RunOutputFollower | null;
  /** This start's TSNSPAWN_RUN journal field. */
  runId: string;
}

/**
 * Starts the unit of the container `config` (created, not running). Detached
 * it returns once systemd ran the start job (and the machined registration
 * is sent); attached the caller then waits with {@link waitForExit}.
 *
 * @throws {TsnspawnError} "start-failed" with the runtime's reason; "conflict"
 *   when it is running already.
 */
export async function startContainerUnit(
  systemd: Systemd,
  config: ContainerConfig,
  options: StartUnitOptions,
): Promise<StartedUnit> {
  const name = config.name;
  const unit = unitName(name);
  await refuseWhileInScope(systemd, name);
  let registered: Promise<void> | undefined;
  const started = await withContainerLock(name, async (): Promise<StartedUnit> => {
    const runId = randomHex(16);
    const started: StartedUnit = {
      // Watching from before the start: the run's end is seen from its signal.
      watch: options.attach ? systemd.watchUnit(unit) : null,
      follower: null,
      runId,
    };
    const abandon = async () => {
      started.watch?.close();
      await started.follower?.cancel();
    };
    // Registration with machined: a container that systemd restarts on its
    // own wants the registering unit (each start registers); any other is
    // registered from here once it runs (registerWithMachined), so that
    // systemd forks nothing when the container becomes ready.
    const restarts = config.restart.policy !== "no";
    const terminalUnit = terminalUnitName(name);
    const properties = planUnitProperties(config, {
      shimCommand: selfCommand("__shim", [name]),
      stopCommand: selfCommand("__stop", [name]),
      cleanupCommand: selfCommand("__cleanup", [name]),
      healthRunner: selfCommand("__healthcheck", [name]),
      registerMachine: restarts ? hostMachineUnit(name) : undefined,
      runId,
      terminal: config.tty ? { unit: terminalUnit, size: options.terminalSize } : undefined,
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
    const output = options.output;
    const onQueued = options.attach && !config.tty && output
      ? () => {
        started.follower = new RunOutputFollower(runId, output);
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
      const { reason, hint } = await startFailure(runId, name);
      await systemd.resetFailedUnit(unit);
      if (config.tty) await systemd.resetFailedUnit(terminalUnit);
      throw new TsnspawnError("start-failed", `container ${name} failed to start: ${reason}`, {
        hint: hint ?? `see 'tsnspawn logs ${name}' and 'journalctl -u ${unit}'`,
      });
    }
    if (!restarts) registered = registerWithMachined(systemd, config, options.attach);
    return started;
  });
  // Registered before we return (the call is sent, not answered).
  await registered;
  return started;
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
 * Waits until an attached container's unit is inactive, with its output
 * followed to the end, and returns its exit status. `alsoWait` (a terminal
 * relay) is awaited with it. Closes the watch.
 */
export async function waitForExit(
  systemd: Systemd,
  config: ContainerConfig,
  started: StartedUnit & { watch: UnitWatch },
  alsoWait?: Promise<unknown> | null,
): Promise<number> {
  const unit = unitName(config.name);
  try {
    await started.watch.untilInactive();
    trace("unit-inactive");
    const [exit] = await Promise.all([
      systemd.mainExit(unit),
      alsoWait,
      started.follower?.finish(),
    ]);
    trace("exit-status");
    // The start's AddRef kept the ended unit (and its exit status) loaded for
    // us; a long-lived client (the API service, a build) lets it go now.
    systemd.unrefUnit(unit).catch(() => {});
    return exitStatusOf(exit, config.name);
  } finally {
    started.watch.close();
  }
}

/**
 * Starts a container detached (`restart`, the Docker API's `/start` with
 * nobody attached): a declared one as its generated unit.
 */
export async function startDetached(
  ctx: OpsContext,
  name: string,
  config?: ContainerConfig,
): Promise<void> {
  if (isDeclared(name)) {
    const { startDeclaredContainer } = await import("./start_declared.ts");
    await startDeclaredContainer(ctx, name, { attach: false });
    return;
  }
  await startContainerUnit(await ctx.systemd(), config ?? loadContainer(name), { attach: false });
}

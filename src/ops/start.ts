/**
 * Starting a container, for every front end (`tsnspawn start`/`run`, the
 * Docker API's `/start`): turns a created container into a running
 * transient unit.
 *
 * The unit's properties come from `planUnitProperties` (pure); this file only
 * orders the effects: lock, start the unit and wait for its start job (a
 * running container is refused and a failed unit of the same name cleared
 * only when systemd reports one: no round trip before the start). An
 * attached start keeps a watch on the unit from before the start (the run's
 * end is seen from its signal) and the unit referenced (its exit status
 * stays readable), and either hands each line of this start's output to the
 * caller's `output` (followed from the journal, TSNSPAWN_RUN=) or gives the
 * container the caller's terminal; {@link waitForExit} then returns the exit
 * status. The front end relays (commands/attach.ts: the CLI's stdio and
 * signals; api/attach.ts: a hijacked connection).
 *
 * A failed start leaves nothing behind: the unit is reset, its reason is read
 * from the journal and shown in the error.
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
import { planUnitProperties, type UnitProperty } from "../systemd/unit_properties.ts";
import { type OutputStream, readMessages, RunOutputFollower } from "../systemd/journal.ts";
import { selfCommand } from "../self_exec.ts";
import { isDeclared } from "../declared/store.ts";
import {
  hostMachineUnit,
  machinedInstalled,
  machineName,
  machineUnitName,
} from "../systemd/machined.ts";
import { parseSignal } from "../container/run_options.ts";
import type { OpsContext } from "./context.ts";
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

/** The pty an attached start gives the container (commands/terminal.ts `Terminal` fits). */
export interface StartTerminal {
  /** The slave's path: the container's stdin, stdout and stderr (TTYPath=). */
  slavePath: string;
  /** Closes the caller's hold on the slave once the container has it open. */
  releaseSlave(): void;
}

/** Options of a start. */
export interface StartOptions {
  /**
   * Stay attached: watch the unit, keep it referenced and return an
   * {@link Attachment} for {@link waitForExit}.
   */
  attach: boolean;
  /** The container's config when the caller holds it (`run`: just written); else it is read. */
  config?: ContainerConfig;
  /** Attached without a terminal: receives each line of this start's output. */
  output?: (text: string, stream: OutputStream) => void;
  /** Attached with a terminal (a container created with -t): the pty it gets. */
  terminal?: StartTerminal;
}

/** What an attached start hands to the waiting side. */
export interface Attachment {
  config: ContainerConfig;
  /** Identifies this start in the journal (TSNSPAWN_RUN=). */
  runId: string;
  watch: UnitWatch;
  follower: RunOutputFollower | null;
}

/**
 * Starts the container's unit. Returns the attachment when attached, else
 * null once the container is running.
 */
export async function startContainer(
  ctx: OpsContext,
  name: string,
  options: StartOptions,
): Promise<Attachment | null> {
  // A declared container (/etc/tsnspawn/NAME.container) runs as its generated unit.
  if (isDeclared(name)) {
    const { startDeclaredContainer } = await import("./start_declared.ts");
    await startDeclaredContainer(ctx, name, options);
    return null;
  }
  const config = options.config ?? loadContainer(name);
  const unit = unitName(name);
  const systemd = await ctx.systemd();
  await refuseWhileInScope(systemd, name);
  let registered: Promise<void> | undefined;
  const attachment = await withContainerLock(name, async (): Promise<Attachment | null> => {
    const runId = randomHex(16);
    const terminal = options.attach ? options.terminal : undefined;
    // Watching from before the start: the run's end is seen from its signal.
    const watch = options.attach ? systemd.watchUnit(unit) : null;
    let follower: RunOutputFollower | null = null;
    const abandon = async () => {
      watch?.close();
      await follower?.cancel();
    };
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
      tty: terminal ? { path: terminal.slavePath } : undefined,
      addRef: options.attach,
    });
    // The output follower's journalctl starts once systemd accepted the
    // start: it then runs while the container starts, not before the request.
    const output = options.output;
    const onQueued = options.attach && !terminal && output
      ? () => {
        follower = new RunOutputFollower(runId, output);
      }
      : undefined;
    let result: string;
    try {
      result = await startUnit(systemd, name, properties, onQueued);
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
    if (!restarts) registered = registerWithMachined(systemd, config, options.attach);
    return watch ? { config, runId, watch, follower } : null;
  });
  // Registered before we return (the call is sent, not answered).
  await registered;
  return attachment;
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
): Promise<string> {
  const unit = unitName(name);
  try {
    return await systemd.startTransientUnit(unit, properties, onQueued);
  } catch (error) {
    if (!(error instanceof SystemdCallError && error.isUnitExists)) throw error;
  }
  if (isRunning(await systemd.unitState(unit))) {
    throw new TsnspawnError("conflict", `container ${name}: already running`, {
      hint: `stop it first with 'tsnspawn stop ${name}'`,
    });
  }
  await systemd.resetFailedUnit(unit);
  return await systemd.startTransientUnit(unit, properties, onQueued);
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
 * Waits for an attached start's container to end, its output to be passed
 * on (`relay`: the caller's terminal relay, if any) and returns its exit
 * status (docker's: 128+N for signal N). Closes the watch.
 */
export async function waitForExit(
  systemd: Systemd,
  attachment: Attachment,
  relay?: Promise<void> | null,
): Promise<number> {
  const { config, watch, follower } = attachment;
  try {
    await watch.untilInactive();
    trace("unit-inactive");
    const [exit] = await Promise.all([
      systemd.mainExit(unitName(config.name)),
      relay,
      follower?.finish(),
    ]);
    trace("exit-status");
    return exitStatusOf(exit, config.name);
  } finally {
    watch.close();
  }
}

/**
 * A container's state in Docker's terms (pure): `State` of inspect, `State`
 * and `Status` of the list, from what systemd and tsnspawn's own records
 * say.
 *
 * Where each value comes from: a container runs while its unit is loaded
 * and not inactive or failed (systemd/unit_state.ts `isRunning`); systemd's
 * `auto-restart` sub-state is docker's "restarting"; without a running unit
 * the last exit record (container/state.ts `ExitRecord`, written by the
 * cleanup) makes it "exited", no record "created". tsnspawn cannot pause, so
 * never "paused"; "removing" is for the caller to say while it removes.
 * `StartedAt` is the unit's ActiveEnterTimestamp, `FinishedAt` the exit
 * record's time, `OOMKilled` systemd's result "oom-kill".
 *
 * References: Docker Engine API v1.44 (ContainerState, Health); moby
 * v28.2.2 container/state.go (String, StateString); org.freedesktop.systemd1(5)
 * (ActiveState, SubState, Result); research notes
 * /work/shared/research/docker-api.md §6 tier 1 rows 3 and 5.
 */
import type { ContainerStatus, HealthStatus } from "./container_filters.ts";
import { formatDockerTime, formatHumanDuration, nanosOfIso } from "./docker_time.ts";

/** What systemd says about the container's unit: pass systemd/bus.ts `UnitState` (a superset). */
export interface UnitFacts {
  activeState: string;
  subState: string;
  mainPid: number;
  nRestarts: number;
  /** ActiveEnterTimestamp in microseconds since the epoch (0 = never). */
  activeEnterTimestamp: bigint;
}

/** The end of the last run, from container/state.ts `ExitRecord`. */
export interface ExitFacts {
  /**
   * Docker's exit code: `exitStatus` for exitCode "exited", 128 + the signal
   * number (run_options.ts parseSignal of `exitStatus`) for "killed"/"dumped".
   */
  exitCode: number;
  /** `finishedAt` (ISO 8601). */
  finishedAt: string;
  /** `serviceResult` ("success", "exit-code", "signal", "oom-kill", ...). */
  serviceResult: string;
  /** When that run started, if recorded (ISO 8601). */
  startedAt?: string;
  /** Why the start failed, if it did (docker's State.Error). */
  error?: string;
}

/** A health check's state (health.json of the running invocation). */
export interface HealthFacts {
  status: Exclude<HealthStatus, "none">;
  failingStreak: number;
  /** The last results, oldest first. */
  log: { startNs: bigint; endNs: bigint; exitCode: number; output: string }[];
}

/** The facts behind a container's state. */
export interface StateFacts {
  unit: UnitFacts | null;
  exit: ExitFacts | null;
  health?: HealthFacts;
  /** The caller is removing the container right now. */
  removing?: boolean;
}

/** Docker's state of a container, with the times as nanoseconds. */
export interface ContainerState {
  status: ContainerStatus;
  running: boolean;
  restarting: boolean;
  oomKilled: boolean;
  pid: number;
  exitCode: number;
  error: string;
  startedNs: bigint | null;
  finishedNs: bigint | null;
  restartCount: number;
  health?: HealthFacts;
}

function unitRunning(unit: UnitFacts | null): unit is UnitFacts {
  return unit !== null && unit.activeState !== "inactive" && unit.activeState !== "failed";
}

/** The state from the facts (see the module comment for the sources). */
export function planContainerState(facts: StateFacts): ContainerState {
  const { unit, exit } = facts;
  const running = unitRunning(unit);
  const restarting = running && unit.subState === "auto-restart";
  const started = unit !== null && unit.activeEnterTimestamp > 0n
    ? unit.activeEnterTimestamp * 1000n
    : exit?.startedAt
    ? nanosOfIso(exit.startedAt)
    : null;
  let status: ContainerStatus = running ? "running" : exit ? "exited" : "created";
  if (restarting) status = "restarting";
  if (facts.removing) status = "removing";
  const state: ContainerState = {
    status,
    running,
    restarting,
    oomKilled: exit?.serviceResult === "oom-kill",
    pid: running && !restarting ? unit.mainPid : 0,
    exitCode: running && !restarting ? 0 : exit?.exitCode ?? 0,
    error: exit?.error ?? "",
    startedNs: status === "created" ? null : started,
    finishedNs: running && !restarting ? null : exit ? nanosOfIso(exit.finishedAt) : null,
    restartCount: unit?.nRestarts ?? 0,
  };
  if (facts.health) state.health = facts.health;
  return state;
}

/** `State` of container inspect. */
export function formatInspectState(state: ContainerState): Record<string, unknown> {
  const result: Record<string, unknown> = {
    Status: state.status,
    Running: state.running,
    Paused: false,
    Restarting: state.restarting,
    OOMKilled: state.oomKilled,
    Dead: false,
    Pid: state.pid,
    ExitCode: state.exitCode,
    Error: state.error,
    StartedAt: formatDockerTime(state.startedNs),
    FinishedAt: formatDockerTime(state.finishedNs),
  };
  if (state.health) {
    result.Health = {
      Status: state.health.status,
      FailingStreak: state.health.failingStreak,
      Log: state.health.log.map((entry) => ({
        Start: formatDockerTime(entry.startNs),
        End: formatDockerTime(entry.endNs),
        ExitCode: entry.exitCode,
        Output: entry.output,
      })),
    };
  }
  return result;
}

/** The health word `docker ps` adds: "(healthy)", "(health: starting)". */
function healthWord(health: HealthFacts | undefined): string {
  if (!health) return "";
  return health.status === "starting" ? " (health: starting)" : ` (${health.status})`;
}

/**
 * `Status` of the list ("Up 3 seconds (healthy)", "Exited (0) 2 minutes
 * ago", "Created", "Restarting (1) 5 seconds ago"), as moby's State.String.
 */
export function formatStatusText(state: ContainerState, nowNs: bigint): string {
  const since = (ns: bigint | null) => formatHumanDuration(ns === null ? 0n : nowNs - ns);
  if (state.status === "removing") return "Removal In Progress";
  if (state.restarting) return `Restarting (${state.exitCode}) ${since(state.finishedNs)} ago`;
  if (state.running) return `Up ${since(state.startedNs)}${healthWord(state.health)}`;
  if (state.status === "created") return "Created";
  if (state.finishedNs === null) return "";
  return `Exited (${state.exitCode}) ${since(state.finishedNs)} ago`;
}

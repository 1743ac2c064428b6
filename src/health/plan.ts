/**
 * Health check results and state, as pure data (docker's semantics, moby
 * daemon/health.go): a container is `starting` until its first check
 * passes or its retries run out, `healthy` after a pass, and `unhealthy`
 * after `retries` consecutive failures; failures during the start period
 * do not count until a first check has passed. The state lives in
 * `<container dir>/health.json` (state.ts); a new run of the container
 * (another systemd invocation) starts over.
 */
import type { HealthCheck } from "../container/config.ts";

/** The health of a running container. */
export type HealthStatus = "starting" | "healthy" | "unhealthy";

/** One check (docker's HealthcheckResult). */
export interface HealthResult {
  /** ISO 8601. */
  start: string;
  end: string;
  /** The command's exit status; -1 when it did not finish (timeout) or could not run. */
  exitCode: number;
  /** Its stdout and stderr, cut to the check's maxLogSize. */
  output: string;
}

/** What health.json holds. */
export interface HealthState {
  status: HealthStatus;
  /** Consecutive failures that counted. */
  failingStreak: number;
  /** The last results, oldest first. */
  log: HealthResult[];
  /** The container unit's InvocationID this state is about ("" = none yet). */
  invocation: string;
  /** A check has passed in this run (failures in the start period count from then on). */
  passedOnce: boolean;
}

/** The state of a run that has had no check yet. */
export function freshState(invocation: string): HealthState {
  return { status: "starting", failingStreak: 0, log: [], invocation, passedOnce: false };
}

/** What a result changed. */
export interface HealthTransition {
  state: HealthState;
  /** Healthy for the first time in this run (`--sdnotify=healthy` tells systemd now). */
  becameHealthy: boolean;
  /** Turned unhealthy with this result (`--health-on-failure` acts now). */
  becameUnhealthy: boolean;
}

/** Cuts output to `max` characters (0 = all), as podman's max-log-size. */
export function cutOutput(output: string, max: number): string {
  return max > 0 && output.length > max ? output.slice(0, max) : output;
}

/**
 * Records one result. `inStartPeriod`: the container started less than the
 * start period ago.
 */
export function recordResult(
  previous: HealthState,
  result: HealthResult,
  check: Pick<HealthCheck, "retries" | "maxLogCount" | "maxLogSize">,
  inStartPeriod: boolean,
): HealthTransition {
  const log = [...previous.log, { ...result, output: cutOutput(result.output, check.maxLogSize) }];
  const kept = check.maxLogCount > 0 ? log.slice(-check.maxLogCount) : log;
  if (result.exitCode === 0) {
    return {
      state: { ...previous, status: "healthy", failingStreak: 0, log: kept, passedOnce: true },
      becameHealthy: !previous.passedOnce,
      becameUnhealthy: false,
    };
  }
  // docker: a failure inside the start period is not counted, unless a check passed already.
  if (inStartPeriod && !previous.passedOnce) {
    return { state: { ...previous, log: kept }, becameHealthy: false, becameUnhealthy: false };
  }
  const failingStreak = previous.failingStreak + 1;
  const unhealthy = failingStreak >= check.retries;
  return {
    state: {
      ...previous,
      failingStreak,
      log: kept,
      status: unhealthy ? "unhealthy" : previous.status,
    },
    becameHealthy: false,
    becameUnhealthy: unhealthy && previous.status !== "unhealthy",
  };
}

/** The status to show for a container: its state's, or "starting" for a new run. */
export function currentStatus(state: HealthState | null, invocation: string): HealthStatus {
  if (!state || state.invocation !== invocation) return "starting";
  return state.status;
}

/**
 * Running a container's health check once (`tsnspawn healthcheck run NAME`,
 * and the health timer's `__healthcheck NAME INVOCATION`, src/health/
 * timer.ts): the check's command through the exec stage, the same path as
 * `tsnspawn exec` (src/ops/exec.ts; killed at the check's timeout), the
 * result recorded in health.json (src/health/plan.ts), and what the result
 * asks for:
 *
 * - the first passing check of a `--sdnotify=healthy` container tells the
 *   waiting shim (its relay, src/runtime/notify_relay.ts), which makes the
 *   unit "started";
 * - turning unhealthy runs `--health-on-failure`: `kill` (SIGKILL to the
 *   unit: its Restart= decides what follows), `restart` (systemd restarts
 *   the unit: RestartUnit), `stop` (StopUnit); `none` only records it.
 *
 * Returns data, prints nothing.
 */
import { TsnspawnError } from "../errors.ts";
import { containerPaths, unitName } from "../paths.ts";
import { loadContainer } from "../container/state.ts";
import { healthArgv } from "../container/health_options.ts";
import type { Systemd } from "../systemd/bus.ts";
import { isRunning } from "../systemd/unit_state.ts";
import {
  freshState,
  type HealthResult,
  type HealthStatus,
  type HealthTransition,
  recordResult,
} from "../health/plan.ts";
import { readHealthState, writeHealthState } from "../health/state.ts";
import { healthUnitBase } from "../health/timer.ts";
import { execCaptured, planExecRequest } from "./exec.ts";

const SIGKILL = 9;

/** What one check came to. */
export interface HealthCheckOutcome {
  status: HealthStatus;
  result: HealthResult;
  /** What was done about it: "ready" (told systemd), "kill", "restart", "stop", or none. */
  action?: "ready" | "kill" | "restart" | "stop";
}

/**
 * Runs the health check of container `name` once. `invocation` (the
 * timer's): the run it was started for; a timer of an older run stops
 * itself and nothing is checked (returns null).
 */
export async function runHealthCheck(
  systemd: Systemd,
  name: string,
  invocation?: string,
): Promise<HealthCheckOutcome | null> {
  const config = loadContainer(name);
  const check = config.healthcheck;
  if (!check) {
    throw new TsnspawnError("invalid", `container ${name}: has no health check`, {
      hint: "create it with --health-cmd (or from an image with a HEALTHCHECK)",
    });
  }
  const unit = unitName(name);
  const state = await systemd.unitState(unit);
  if (invocation !== undefined && (!state || state.invocationId !== invocation)) {
    // A timer of a run that is over (a restart keeps the unit, not its run).
    await systemd.queueStopUnit(`${healthUnitBase(name, invocation)}.timer`).catch(() => {});
    return null;
  }
  if (!isRunning(state) || !state || state.mainPid <= 0) {
    throw new TsnspawnError("conflict", `container ${name}: not running`, {
      hint: `start it with 'tsnspawn start ${name}'`,
    });
  }
  const service = await systemd.serviceProperties(unit);
  const startedUsec = typeof service?.ExecMainStartTimestamp === "bigint"
    ? service.ExecMainStartTimestamp as bigint
    : 0n;
  const start = new Date();
  const run = await execCaptured(
    planExecRequest(config, state.mainPid, unit, {
      command: healthArgv(check.test),
      timeoutMs: check.timeoutMs,
    }),
  );
  const end = new Date();
  const result: HealthResult = {
    start: start.toISOString(),
    end: end.toISOString(),
    exitCode: run.timedOut ? -1 : run.code,
    output: run.timedOut ? `Health check exceeded timeout (${check.timeoutMs}ms)` : run.output,
  };
  const previous = readHealthState(name);
  const base = previous && previous.invocation === state.invocationId
    ? previous
    : freshState(state.invocationId);
  const inStartPeriod = startedUsec > 0n &&
    start.getTime() - Number(startedUsec / 1000n) < check.startPeriodMs;
  const transition: HealthTransition = recordResult(base, result, check, inStartPeriod);
  writeHealthState(name, transition.state);
  const outcome: HealthCheckOutcome = { status: transition.state.status, result };
  if (transition.becameHealthy && config.sdnotify === "healthy") {
    const { sendReady } = await import("../runtime/notify_relay.ts");
    if (sendReady(containerPaths(name).notifyDir)) outcome.action = "ready";
  }
  if (transition.becameUnhealthy && check.onFailure !== "none") {
    outcome.action = check.onFailure;
    if (check.onFailure === "kill") await systemd.killUnit(unit, "all", SIGKILL);
    if (check.onFailure === "restart") await systemd.restartUnit(unit, false);
    if (check.onFailure === "stop") await systemd.queueStopUnit(unit);
  }
  return outcome;
}

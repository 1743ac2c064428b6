/**
 * The health check options of `run`/`create` (pure): `--health-cmd`,
 * `--health-interval`, `--health-timeout`, `--health-retries`,
 * `--health-start-period`, `--health-on-failure`, `--no-healthcheck`,
 * `--health-max-log-count`, `--health-max-log-size`, and how they combine
 * with the image's Healthcheck into a container's {@link HealthCheck}.
 *
 * Semantics: docker's (docs.docker.com "docker run --health-*", Dockerfile
 * HEALTHCHECK; moby daemon/health.go) with podman's additions: a command
 * given as a JSON array is the exec form (`CMD`), any other text runs
 * through `/bin/sh -c` (`CMD-SHELL`); `none` (or `--no-healthcheck`) turns
 * the image's check off; `--health-interval=disable` runs no timer
 * (podman); `--health-on-failure` (podman: none, kill, restart, stop).
 * Durations are Go's (`1m30s`, `500ms`), as both CLIs take them.
 */
import { TsnspawnError } from "../errors.ts";
import type { HealthCheck } from "./config.ts";

/** The health options as given (validated), before the image is known. */
export interface HealthOptions {
  /** --health-cmd as a Test (`["CMD", ...]` or `["CMD-SHELL", cmd]`); `["NONE"]` = none. */
  test?: string[];
  /** --health-interval in ms; 0 = "disable" (no timer). */
  intervalMs?: number;
  timeoutMs?: number;
  retries?: number;
  startPeriodMs?: number;
  onFailure?: HealthCheck["onFailure"];
  maxLogCount?: number;
  maxLogSize?: number;
}

/** Docker's defaults (moby: defaultProbeInterval, defaultProbeTimeout, defaultProbeRetries). */
export const HEALTH_DEFAULTS = {
  intervalMs: 30_000,
  timeoutMs: 30_000,
  retries: 3,
  startPeriodMs: 0,
  onFailure: "none" as const,
  maxLogCount: 5,
  maxLogSize: 500,
};

/** The image config's Healthcheck (docker's image config; durations in nanoseconds). */
export interface ImageHealthcheck {
  Test?: string[] | null;
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  Retries?: number;
}

function invalid(thing: string, text: string, detail: string, hint?: string): TsnspawnError {
  return new TsnspawnError("invalid", `${thing} ${JSON.stringify(text.slice(0, 80))}: ${detail}`, {
    ...(hint ? { hint } : {}),
  });
}

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parses a Go duration (`90s`, `1m30s`, `500ms`, `1.5h`; a bare `0`) into
 * milliseconds. Docker also takes a bare number of seconds from some
 * front ends; so does this.
 */
export function parseDuration(text: string, thing = "duration"): number {
  const hint = "write a duration like 30s, 1m30s or 500ms";
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(text)) {
    throw invalid(thing, text, "not a duration", hint);
  }
  let total = 0;
  for (const [, number, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(number) * DURATION_UNITS[unit];
  }
  if (!Number.isFinite(total) || total > 365 * 86_400_000) {
    throw invalid(thing, text, "too long", hint);
  }
  return Math.round(total);
}

/** Formats milliseconds as a systemd/Go time span: `30s`, `1m30s`, `500ms`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0";
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [["h", 3_600_000], ["m", 60_000], ["s", 1000], ["ms", 1]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join("");
}

/**
 * `--health-cmd`: a JSON array is the exec form (`["CMD", ...]`, or a
 * whole Test starting with CMD/CMD-SHELL/NONE), `none` turns checks off,
 * anything else is a shell command.
 */
export function parseHealthCmd(text: string): string[] {
  if (text.trim() === "") throw invalid("health command", text, "empty", "give a command, or none");
  if (text.trim().toLowerCase() === "none") return ["NONE"];
  if (text.trimStart().startsWith("[")) {
    let words: unknown;
    try {
      words = JSON.parse(text);
    } catch {
      throw invalid("health command", text, "not a JSON array of strings");
    }
    if (!Array.isArray(words) || words.length === 0 || !words.every((w) => typeof w === "string")) {
      throw invalid("health command", text, "not a JSON array of strings");
    }
    if (["CMD", "CMD-SHELL", "NONE"].includes(words[0])) return checkTest(words as string[], text);
    return ["CMD", ...(words as string[])];
  }
  return ["CMD-SHELL", text];
}

function checkTest(test: string[], text: string): string[] {
  if (test[0] === "NONE") return ["NONE"];
  if (test.length < 2 || (test[0] === "CMD-SHELL" && test.length !== 2)) {
    throw invalid(
      "health command",
      text,
      `${test[0]} needs ${test[0] === "CMD" ? "a command" : "one shell command"}`,
    );
  }
  return test;
}

/** `--health-interval`: a duration of 1ms at least, or `disable` (no timer). */
export function parseHealthInterval(text: string): number {
  if (text === "disable") return 0;
  return positiveDuration(text, "health interval");
}

/** A duration of at least 1ms (docker refuses shorter ones). */
export function positiveDuration(text: string, thing: string): number {
  const ms = parseDuration(text, thing);
  if (ms < 1) throw invalid(thing, text, "shorter than 1ms");
  return ms;
}

/** `--health-start-period`: a duration (0 allowed). */
export function parseStartPeriod(text: string): number {
  return parseDuration(text, "health start period");
}

/** A whole number from `min` (for retries, log count, log size). */
export function parseCount(text: string, thing: string, min: number): number {
  if (!/^\d{1,9}$/.test(text) || Number(text) < min) {
    throw invalid(thing, text, `not a whole number from ${min}`);
  }
  return Number(text);
}

/** `--health-on-failure`. */
export function parseOnFailure(text: string): HealthCheck["onFailure"] {
  if (text === "none" || text === "kill" || text === "restart" || text === "stop") return text;
  throw invalid("health on-failure action", text, "not none, kill, restart or stop");
}

/**
 * The container's health check from the options and the image's
 * Healthcheck (docker's rule: the options win field by field; a command
 * given replaces the image's; NONE or --no-healthcheck means none).
 * Returns undefined when the container has no health check.
 */
export function planHealthCheck(
  options: HealthOptions,
  noHealthcheck: boolean,
  image: ImageHealthcheck | undefined | null,
): HealthCheck | undefined {
  if (noHealthcheck) return undefined;
  const imageTest = image?.Test && image.Test.length > 0 ? image.Test : undefined;
  const test = options.test ?? imageTest;
  if (!test || test[0] === "NONE") return undefined;
  if (test[0] !== "CMD" && test[0] !== "CMD-SHELL") {
    // An image config with an odd Test: docker runs a bare list like CMD.
    return planHealthCheck({ ...options, test: ["CMD", ...test] }, false, image);
  }
  const ns = (value: number | undefined) =>
    value !== undefined && value > 0 ? Math.round(value / 1e6) : undefined;
  return {
    test,
    intervalMs: options.intervalMs ?? ns(image?.Interval) ?? HEALTH_DEFAULTS.intervalMs,
    timeoutMs: options.timeoutMs ?? ns(image?.Timeout) ?? HEALTH_DEFAULTS.timeoutMs,
    retries: options.retries ??
      (image?.Retries && image.Retries > 0 ? image.Retries : HEALTH_DEFAULTS.retries),
    startPeriodMs: options.startPeriodMs ?? ns(image?.StartPeriod) ?? HEALTH_DEFAULTS.startPeriodMs,
    onFailure: options.onFailure ?? HEALTH_DEFAULTS.onFailure,
    maxLogCount: options.maxLogCount ?? HEALTH_DEFAULTS.maxLogCount,
    maxLogSize: options.maxLogSize ?? HEALTH_DEFAULTS.maxLogSize,
  };
}

/** The argv a Test runs (CMD: as given; CMD-SHELL: through /bin/sh -c). */
export function healthArgv(test: readonly string[]): string[] {
  return test[0] === "CMD-SHELL" ? ["/bin/sh", "-c", test[1]] : test.slice(1);
}

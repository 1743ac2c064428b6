/**
 * Times as Docker writes them (pure): RFC 3339 with nanoseconds (inspect's
 * `Created`, `StartedAt`, `FinishedAt`; Go's zero time
 * `0001-01-01T00:00:00Z` for "never"), the fixed nine-digit form of log
 * timestamps, and the human durations of `docker ps` ("Up 3 seconds",
 * "Exited (0) About a minute ago").
 *
 * Times travel as nanoseconds since the epoch in a bigint (systemd gives
 * microseconds: multiply by 1000n), so nothing is lost to floating point.
 *
 * References: Docker Engine API v1.44 (ContainerState times, `timestamps`
 * of logs); Go time.RFC3339Nano; moby v28.2.2
 * api/types/time (RFC3339NanoFixed in pkg/jsonmessage), container/state.go
 * (State.String), go-units duration.go (HumanDuration); research notes
 * /work/shared/research/docker-api.md §3.3 and §6 tier 1 rows 3 and 5.
 */

/** Go's zero time, which Docker shows for a container that never started or stopped. */
export const ZERO_TIME = "0001-01-01T00:00:00Z";

/** Nanoseconds since the epoch from a Date. */
export function nanosOf(date: Date): bigint {
  return BigInt(date.getTime()) * 1_000_000n;
}

/** Nanoseconds since the epoch from an ISO 8601 string (as config.json stores `created`). */
export function nanosOfIso(text: string): bigint {
  const match = /\.(\d+)Z$/.exec(text);
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new RangeError(`not a time: ${text}`);
  const base = BigInt(Math.floor(ms / 1000)) * 1_000_000_000n;
  return base + BigInt((match?.[1] ?? "").slice(0, 9).padEnd(9, "0"));
}

function splitNanos(ns: bigint): { seconds: bigint; fraction: string } {
  const seconds = ns >= 0n ? ns / 1_000_000_000n : (ns - 999_999_999n) / 1_000_000_000n;
  const rest = ns - seconds * 1_000_000_000n;
  return { seconds, fraction: rest.toString().padStart(9, "0") };
}

/**
 * RFC 3339 in UTC with the fraction Go's RFC3339Nano prints (trailing zeros
 * dropped, none for whole seconds); `fixed` keeps all nine digits (log
 * timestamps). null gives {@link ZERO_TIME}.
 */
export function formatDockerTime(ns: bigint | null, fixed = false): string {
  if (ns === null) return ZERO_TIME;
  const { seconds, fraction } = splitNanos(ns);
  const base = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  const digits = fixed ? fraction : fraction.replace(/0+$/, "");
  return `${base}${digits === "" ? "" : `.${digits}`}Z`;
}

/** Whole seconds since the epoch (list entries' `Created`, events' `time`). */
export function unixSeconds(ns: bigint): number {
  return Number(splitNanos(ns).seconds);
}

/** go-units HumanDuration: "Less than a second", "1 second", "About a minute", "3 hours"... */
export function formatHumanDuration(ns: bigint): string {
  const seconds = Number(ns / 1_000_000_000n);
  if (seconds < 1) return "Less than a second";
  if (seconds === 1) return "1 second";
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return "About a minute";
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.floor(Number(ns) / 3.6e12 + 0.5);
  if (hours === 1) return "About an hour";
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(Number(ns) / 3.6e12 / 24 / 365)} years`;
}

/**
 * Reading a Docker API request (pure): the request target, query values as
 * moby reads them (booleans, integers, JSON-valued parameters, log tails,
 * timestamps), JSON bodies, and the `X-Registry-Auth` header.
 *
 * Booleans follow moby's `httputils.BoolValue`: "", 0, no, false, none
 * (any case) are false and anything else true; docker-py sends `True` and
 * `False`, the CLI `1`. Unknown query parameters are ignored (docker-py sends
 * `limit=-1&size=0&trunc_cmd=0` on every list); JSON-valued ones are parsed
 * leniently (old CLIs send `cachefrom=[]`). Timestamps follow moby's
 * `timetypes.GetTimestamp`: unix seconds with an optional fraction, RFC 3339
 * dates, or a Go duration counted back from now.
 *
 * References: Docker Engine API v1.44; moby v28.2.2
 * api/server/httputils/form.go and httputils.go (CheckForJSON),
 * api/types/time/timestamp.go, api/types/registry/authconfig.go; research
 * notes /work/shared/research/docker-api.md §1.3, §2 (pull), §3.3 (logs).
 */
import { ApiError, badRequest, shownValue } from "./errors.ts";

/** A request target split into its path (still percent-encoded) and its query. */
export function parseRequestTarget(target: string): { path: string; query: URLSearchParams } {
  const mark = target.indexOf("?");
  if (mark === -1) return { path: target, query: new URLSearchParams() };
  return { path: target.slice(0, mark), query: new URLSearchParams(target.slice(mark + 1)) };
}

/** moby's `BoolValue`: false for "", 0, no, false, none (any case), else true. */
export function parseDockerBool(text: string): boolean {
  return !["", "0", "no", "false", "none"].includes(text.trim().toLowerCase());
}

/** A boolean query parameter; `fallback` when it is absent (moby's `BoolValueOrDefault`). */
export function queryBool(query: URLSearchParams, key: string, fallback = false): boolean {
  const value = query.get(key);
  return value === null ? fallback : parseDockerBool(value);
}

/** Bounds of {@link queryInt}. */
export interface IntRange {
  min?: number;
  max?: number;
}

/**
 * An integer query parameter; `fallback` when absent or empty. A value that
 * is not a decimal integer in range is a 400 naming the parameter.
 */
export function queryInt(
  query: URLSearchParams,
  key: string,
  fallback: number,
  range?: IntRange,
): number;
export function queryInt(
  query: URLSearchParams,
  key: string,
  fallback?: undefined,
  range?: IntRange,
): number | undefined;
export function queryInt(
  query: URLSearchParams,
  key: string,
  fallback?: number,
  range: IntRange = {},
): number | undefined {
  const text = query.get(key);
  if (text === null || text === "") return fallback;
  const n = /^[+-]?\d{1,15}$/.test(text) ? Number(text) : NaN;
  const min = range.min ?? Number.MIN_SAFE_INTEGER;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  if (Number.isNaN(n) || n < min || n > max) {
    const bounds = range.min !== undefined && range.max !== undefined
      ? ` from ${range.min} to ${range.max}`
      : range.min !== undefined
      ? ` of at least ${range.min}`
      : "";
    throw badRequest(`invalid value for ${key}: ${shownValue(text)} is not an integer${bounds}`);
  }
  return n;
}

/**
 * A JSON-valued query parameter (`filters`, `buildargs`, `labels`,
 * `cachefrom`): undefined when absent or empty, else the parsed value; a
 * syntax error is a 400 naming the parameter.
 */
export function queryJson(query: URLSearchParams, key: string): unknown {
  const text = query.get(key);
  if (text === null || text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw badRequest(`invalid JSON in query parameter ${key}: ${(error as Error).message}`);
  }
}

/** The largest JSON body the API reads (a create body with an inline seccomp profile fits). */
export const JSON_BODY_LIMIT = 4 * 1024 * 1024;

/**
 * moby's `CheckForJSON`: a request with a body must say it is JSON; no
 * Content-Type is fine when there is no body.
 */
export function checkJsonContentType(contentType: string | null, bodyLength: number): void {
  if ((contentType === null || contentType === "") && bodyLength === 0) return;
  const mediaType = (contentType ?? "").split(";")[0].trim().toLowerCase();
  if (mediaType !== "application/json") {
    throw badRequest(
      `unsupported Content-Type header (${contentType ?? ""}): must be 'application/json'`,
    );
  }
}

/**
 * Parses a JSON request body that must be an object (create, exec, network
 * and volume bodies). An empty body is `{}` when `emptyIsObject`, else a 400.
 */
export function parseJsonObject(
  text: string,
  options: { emptyIsObject?: boolean } = {},
): Record<string, unknown> {
  if (text.trim() === "") {
    if (options.emptyIsObject) return {};
    throw badRequest("invalid JSON: the request body is empty");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw badRequest(`invalid JSON: ${(error as Error).message}`);
  }
  if (value === null && options.emptyIsObject) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw badRequest(`invalid JSON: the request body must be an object, not ${shownValue(value)}`);
  }
  return value as Record<string, unknown>;
}

/**
 * `logs?tail=`: a number of lines, or undefined for all. moby takes "all",
 * negative numbers and anything unparsable as all.
 */
export function parseTail(text: string | null): number | undefined {
  if (text === null || !/^\d{1,9}$/.test(text.trim())) return undefined;
  return Number(text.trim());
}

/** Go duration units, in nanoseconds. */
const DURATION_UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  "µs": 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/** Parses a Go duration (`90s`, `1h30m`, `1.5h`) into nanoseconds, or undefined. */
function parseGoDuration(text: string): bigint | undefined {
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(text)) return undefined;
  let total = 0n;
  for (const [, number, , unit] of text.matchAll(/(\d+(\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
    const [whole, fraction = ""] = number.split(".");
    const scale = 10n ** BigInt(fraction.length);
    total += (BigInt(whole + fraction) * DURATION_UNITS[unit]) / scale;
  }
  return total;
}

/**
 * A timestamp of `since`/`until` (logs, events) as nanoseconds since the
 * epoch: `1700000000`, `1700000000.5`, an RFC 3339 date or time
 * (`2024-01-02`, `2024-01-02T03:04:05Z`, `...+02:00`; no zone = UTC), or a
 * duration back from `now` (`10m`). Anything else is a 400 naming `key`.
 */
export function parseTimestamp(text: string, now: Date, key = "since"): bigint {
  const trimmed = text.trim();
  const seconds = /^(\d{1,12})(?:\.(\d{1,9}))?$/.exec(trimmed);
  if (seconds) {
    return BigInt(seconds[1]) * 1_000_000_000n + BigInt((seconds[2] ?? "").padEnd(9, "0"));
  }
  const duration = parseGoDuration(trimmed);
  if (duration !== undefined) return BigInt(now.getTime()) * 1_000_000n - duration;
  const date = /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}:\d{2}(?::\d{2})?)(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})?)?$/
    .exec(trimmed);
  if (date) {
    const [, day, time = "00:00:00", fraction = "", zone = "Z"] = date;
    const ms = Date.parse(`${day}T${time.length === 5 ? `${time}:00` : time}${zone}`);
    if (!Number.isNaN(ms)) {
      return BigInt(ms) * 1_000_000n + BigInt(fraction.slice(1).padEnd(9, "0"));
    }
  }
  throw badRequest(
    `invalid value for ${key}: ${shownValue(text)} is not a timestamp`,
    "give unix seconds, an RFC 3339 time (2024-01-02T03:04:05Z) or a duration (10m)",
  );
}

/** The credentials in `X-Registry-Auth` (base64url JSON; the CLI sends `e30=`, i.e. `{}`). */
export interface RegistryAuth {
  username?: string;
  password?: string;
  serveraddress?: string;
  identitytoken?: string;
  registrytoken?: string;
}

/**
 * Decodes `X-Registry-Auth`. Like moby for pulls, an absent or undecodable
 * header means no credentials (undefined); `{}` also means none.
 */
export function parseRegistryAuth(header: string | null): RegistryAuth | undefined {
  if (header === null || header.trim() === "") return undefined;
  let value: unknown;
  try {
    const base64 = header.trim().replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "=".repeat((4 - base64.length % 4) % 4);
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const auth: RegistryAuth = {};
  for (const key of ["username", "password", "serveraddress", "identitytoken", "registrytoken"]) {
    const field = (value as Record<string, unknown>)[key];
    if (typeof field === "string" && field !== "") auth[key as keyof RegistryAuth] = field;
  }
  return Object.keys(auth).length > 0 ? auth : undefined;
}

/**
 * The reference `POST /images/create?fromImage=&tag=` asks to pull:
 * `fromImage` with `tag` appended (`@` for a digest), as moby joins them.
 * `fromSrc` (import from a tarball or URL) and `repo` are not pulls: 501.
 */
export function planPullReference(
  query: URLSearchParams,
): { reference: string; platform?: string } {
  const from = query.get("fromImage") ?? "";
  if (from === "") {
    const what = query.get("fromSrc") !== null ? "importing an image (fromSrc)" : "no fromImage";
    throw new ApiError(501, `POST /images/create: ${what}: only pulls are supported by tsnspawn`, {
      hint: "use 'tsnspawn import TARBALL NAME' to import a root file system",
    });
  }
  const tag = query.get("tag") ?? "";
  let reference = from;
  if (tag !== "") {
    // The tag replaces one already in fromImage (moby's reference.WithTag).
    const slash = from.lastIndexOf("/");
    const colon = from.indexOf(":", slash + 1);
    const repository = from.split("@")[0].slice(0, colon === -1 ? undefined : colon);
    reference = tag.includes(":") ? `${repository}@${tag}` : `${repository}:${tag}`;
  }
  const platform = query.get("platform") ?? "";
  return platform === "" ? { reference } : { reference, platform };
}

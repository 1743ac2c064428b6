/**
 * The `filters` query parameter of the list and events endpoints: parsing
 * both JSON shapes, validation against the filters an endpoint accepts, and
 * moby's generic matchers. The per-endpoint predicates build on these
 * (container_filters.ts, image_filters.ts, events.ts).
 *
 * Two shapes arrive: the docker CLI sends the map form
 * `{"label":{"a=b":true}}`, docker-py (compose 1.29) the list form
 * `{"label":["a=b"]}` (podman#18092 got it wrong); both are moby's
 * `filters.FromJSON`. An unknown key is a 400 "invalid filter 'key'" as in
 * moby; different keys AND together, values of one key OR together (except
 * `label`, whose values must all match).
 *
 * Matching follows moby's `filters.Args`: `Match` is an exact match or an
 * unanchored regular expression (Go syntax; a pattern that does not compile
 * matches nothing), `ExactMatch` and `FuzzyMatch` (exact or prefix),
 * `MatchKVList` for labels (`key` = present, `key=value` = equal), and
 * `GetBoolOrDefault` for booleans (1/true or 0/false, nothing else).
 *
 * References: Docker Engine API v1.44 (the `filters` parameters); moby
 * v28.2.2 api/types/filters/parse.go and errors.go; research notes
 * /work/shared/research/docker-api.md §0.8 and §4 "Filters".
 */
import { badRequest, shownValue } from "./errors.ts";

/** Parsed filters: each key with its set of values. */
export type Filters = ReadonlyMap<string, ReadonlySet<string>>;

/** No filters. */
export const NO_FILTERS: Filters = new Map();

function invalidFilter(key?: string, values?: readonly string[]) {
  const detail = key === undefined
    ? ""
    : ` '${key}${values === undefined ? "" : `=[${values.join(" ")}]`}'`;
  return badRequest(`invalid filter${detail}`);
}

/**
 * Parses a `filters` value in either shape; undefined, null or "" mean none.
 * Map-form entries set to false are left out (clients never send them).
 */
export function parseFilters(text: string | null | undefined): Filters {
  if (text === undefined || text === null || text.trim() === "") return NO_FILTERS;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badRequest(`invalid filter: ${shownValue(text)} is not JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalidFilter();
  const filters = new Map<string, Set<string>>();
  for (const [key, values] of Object.entries(value)) {
    const set = new Set<string>();
    if (Array.isArray(values) && values.every((v) => typeof v === "string")) {
      for (const v of values) set.add(v);
    } else if (typeof values === "object" && values !== null && !Array.isArray(values)) {
      for (const [v, on] of Object.entries(values)) {
        if (typeof on !== "boolean") throw invalidFilter(key);
        if (on) set.add(v);
      }
    } else {
      throw invalidFilter(key);
    }
    filters.set(key, set);
  }
  return filters;
}

/** Formats filters in the map form the CLI sends (for tests and logs). */
export function formatFilters(filters: Filters): string {
  const object: Record<string, Record<string, boolean>> = {};
  for (const [key, values] of filters) {
    object[key] = Object.fromEntries([...values].map((v) => [v, true]));
  }
  return JSON.stringify(object);
}

/** Refuses keys an endpoint does not accept, with moby's message. */
export function checkFilterKeys(filters: Filters, accepted: readonly string[]): void {
  for (const key of filters.keys()) {
    if (!accepted.includes(key)) throw invalidFilter(key);
  }
}

/** The values of one key (empty when absent). */
export function filterValues(filters: Filters, key: string): string[] {
  return [...(filters.get(key) ?? [])];
}

/** `Contains`: the key was given (even with no values). */
export function hasFilter(filters: Filters, key: string): boolean {
  return filters.has(key);
}

/** A compiled user pattern, or null when it does not compile (moby skips those). */
function compilePattern(pattern: string): RegExp | null {
  try {
    return new RegExp(pattern);
  } catch {
    return null;
  }
}

/** `ExactMatch`: no values for the key, or `source` is one of them. */
export function exactMatch(filters: Filters, key: string, source: string): boolean {
  const values = filters.get(key);
  return values === undefined || values.size === 0 || values.has(source);
}

/** `Match`: exact, or any value as an unanchored regular expression matches `source`. */
export function patternMatch(filters: Filters, key: string, source: string): boolean {
  if (exactMatch(filters, key, source)) return true;
  for (const value of filters.get(key) ?? []) {
    if (compilePattern(value)?.test(source)) return true;
  }
  return false;
}

/** `FuzzyMatch`: exact, or `source` starts with a value. */
export function prefixMatch(filters: Filters, key: string, source: string): boolean {
  if (exactMatch(filters, key, source)) return true;
  return [...(filters.get(key) ?? [])].some((value) => source.startsWith(value));
}

/**
 * `MatchKVList` for labels: every value must hold — `key` present, or
 * `key=value` equal. No values for the key matches everything.
 */
export function labelsMatch(
  filters: Filters,
  key: string,
  labels: Readonly<Record<string, string>> | null | undefined,
): boolean {
  const values = filters.get(key);
  if (values === undefined || values.size === 0) return true;
  const sources = labels ?? {};
  if (Object.keys(sources).length === 0) return false;
  for (const value of values) {
    const eq = value.indexOf("=");
    const name = eq === -1 ? value : value.slice(0, eq);
    if (!Object.hasOwn(sources, name)) return false;
    if (eq !== -1 && sources[name] !== value.slice(eq + 1)) return false;
  }
  return true;
}

/**
 * `GetBoolOrDefault`: `fallback` when the key is absent; true for 1/true,
 * false for 0/false; anything else (or both) is a 400.
 */
export function filterBool(filters: Filters, key: string, fallback: boolean): boolean {
  const values = filters.get(key);
  if (values === undefined) return fallback;
  const isFalse = values.has("0") || values.has("false");
  const isTrue = values.has("1") || values.has("true");
  if (isFalse === isTrue) throw invalidFilter(key, [...values]);
  return isTrue;
}

/**
 * Go's `path.Match` pattern (`*`, `?`, `[a-z]`, `[^...]`, `\` escapes) as
 * a regular expression; `*` and `?` never match `/`. A malformed pattern is a
 * 400 naming it (the `reference` filter of images).
 */
export function globToRegExp(pattern: string): RegExp {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*") source += "[^/]*";
    else if (c === "?") source += "[^/]";
    else if (c === "\\") {
      if (i + 1 >= pattern.length) throw badRequest(`invalid pattern ${shownValue(pattern)}`);
      source += escapeRegExp(pattern[++i]);
    } else if (c === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end === -1) throw badRequest(`invalid pattern ${shownValue(pattern)}`);
      let body = pattern.slice(i + 1, end);
      const negated = body.startsWith("^");
      if (negated) body = body.slice(1);
      if (body === "") throw badRequest(`invalid pattern ${shownValue(pattern)}`);
      source += `[${negated ? "^/" : ""}${body.replace(/[\]\\^]/g, "\\$&")}]`;
      i = end;
    } else source += escapeRegExp(c);
  }
  return new RegExp(`^${source}$`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

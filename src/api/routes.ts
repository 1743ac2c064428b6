/**
 * The route table of the Docker Engine API front end and the pure matcher
 * from a request's method and path to a route and its parameters.
 *
 * {@link ROUTES} lists moby's own routes (v28.2.2, api/server/router/*),
 * in moby's registration order and with its patterns: `{name:.*}` is greedy
 * and may hold slashes, so `/images/ghcr.io/a/b:1/json` names the image
 * `ghcr.io/a/b:1` (the CLI does not escape image names). Every route also
 * exists under `/v{version}` (see api_version.ts for the versions taken).
 * Each row says how far issue 13 goes with it (tier 1–3), or that tsnspawn
 * has the operation but the route is not planned yet ("later"), or that
 * tsnspawn has no such feature ("unsupported", answered with 501); the swarm
 * prefixes answer 503 as a daemon outside swarm mode does.
 *
 * An unknown path and a known path with another method are both moby's 404
 * "page not found" (moby sets mux's MethodNotAllowedHandler to its
 * not-found handler); the match result still tells them apart for logs.
 * Paths are percent-decoded before matching (Go matches the decoded path).
 *
 * References: Docker Engine API v1.44; moby v28.2.2 api/server/server.go
 * (versionMatcher, CreateMux); research notes
 * /work/shared/research/docker-api.md §6 (the ranked endpoint list).
 */
import { checkApiVersion, VERSION_PATTERN } from "./api_version.ts";
import { type ApiError, badRequest, notSwarmManager, pageNotFound } from "./errors.ts";

/** HTTP methods the API uses. */
export type Method = "GET" | "HEAD" | "POST" | "PUT" | "DELETE" | "OPTIONS";

/** How far tsnspawn goes with a route. */
export type Support = "tier1" | "tier2" | "tier3" | "later" | "unsupported";

/** One route: moby's method and pattern, a stable id, what tsnspawn does with it. */
export interface Route {
  id: string;
  method: Method;
  /** moby's pattern, e.g. `/containers/{name:.*}/json`. */
  pattern: string;
  support: Support;
  /** The answer may stream or hijack the connection (counts as activity until closed). */
  streams?: boolean;
}

const r = (
  id: string,
  method: Method,
  pattern: string,
  support: Support,
  streams?: boolean,
): Route => streams ? { id, method, pattern, support, streams } : { id, method, pattern, support };

/** Every route, in moby's registration order (the first match wins). */
export const ROUTES: readonly Route[] = [
  // container router
  r("container.archive.head", "HEAD", "/containers/{name:.*}/archive", "unsupported"),
  r("container.list", "GET", "/containers/json", "tier1"),
  r("container.export", "GET", "/containers/{name:.*}/export", "later", true),
  r("container.changes", "GET", "/containers/{name:.*}/changes", "unsupported"),
  r("container.inspect", "GET", "/containers/{name:.*}/json", "tier1"),
  r("container.top", "GET", "/containers/{name:.*}/top", "unsupported"),
  r("container.logs", "GET", "/containers/{name:.*}/logs", "tier1", true),
  r("container.stats", "GET", "/containers/{name:.*}/stats", "unsupported", true),
  r("container.attach.ws", "GET", "/containers/{name:.*}/attach/ws", "unsupported", true),
  r("exec.inspect", "GET", "/exec/{id:.*}/json", "tier1"),
  r("container.archive.get", "GET", "/containers/{name:.*}/archive", "unsupported", true),
  r("container.create", "POST", "/containers/create", "tier1"),
  r("container.kill", "POST", "/containers/{name:.*}/kill", "tier1"),
  r("container.pause", "POST", "/containers/{name:.*}/pause", "unsupported"),
  r("container.unpause", "POST", "/containers/{name:.*}/unpause", "unsupported"),
  r("container.restart", "POST", "/containers/{name:.*}/restart", "tier1"),
  r("container.start", "POST", "/containers/{name:.*}/start", "tier1"),
  r("container.stop", "POST", "/containers/{name:.*}/stop", "tier1"),
  r("container.wait", "POST", "/containers/{name:.*}/wait", "tier1", true),
  r("container.resize", "POST", "/containers/{name:.*}/resize", "tier1"),
  r("container.attach", "POST", "/containers/{name:.*}/attach", "tier1", true),
  r("exec.create", "POST", "/containers/{name:.*}/exec", "tier1"),
  r("exec.start", "POST", "/exec/{name:.*}/start", "tier1", true),
  r("exec.resize", "POST", "/exec/{name:.*}/resize", "tier1"),
  r("container.rename", "POST", "/containers/{name:.*}/rename", "tier2"),
  r("container.update", "POST", "/containers/{name:.*}/update", "unsupported"),
  r("container.prune", "POST", "/containers/prune", "later"),
  r("commit", "POST", "/commit", "later"),
  r("container.archive.put", "PUT", "/containers/{name:.*}/archive", "unsupported"),
  r("container.delete", "DELETE", "/containers/{name:.*}", "tier1"),
  // image router
  r("image.list", "GET", "/images/json", "tier1"),
  r("image.search", "GET", "/images/search", "unsupported"),
  r("image.get.all", "GET", "/images/get", "later", true),
  r("image.get", "GET", "/images/{name:.*}/get", "later", true),
  r("image.history", "GET", "/images/{name:.*}/history", "unsupported"),
  r("image.inspect", "GET", "/images/{name:.*}/json", "tier1"),
  r("image.load", "POST", "/images/load", "later", true),
  r("image.create", "POST", "/images/create", "tier1", true),
  r("image.push", "POST", "/images/{name:.*}/push", "later", true),
  r("image.tag", "POST", "/images/{name:.*}/tag", "tier1"),
  r("image.prune", "POST", "/images/prune", "later"),
  r("image.delete", "DELETE", "/images/{name:.*}", "tier1"),
  // system router
  r("options", "OPTIONS", "/{anyroute:.*}", "tier1"),
  r("system.ping", "GET", "/_ping", "tier1"),
  r("system.ping", "HEAD", "/_ping", "tier1"),
  r("system.events", "GET", "/events", "tier2", true),
  r("system.info", "GET", "/info", "tier1"),
  r("system.version", "GET", "/version", "tier1"),
  r("system.df", "GET", "/system/df", "unsupported"),
  r("system.auth", "POST", "/auth", "later"),
  // volume router
  r("volume.list", "GET", "/volumes", "tier2"),
  r("volume.inspect", "GET", "/volumes/{name:.*}", "tier2"),
  r("volume.create", "POST", "/volumes/create", "tier2"),
  r("volume.prune", "POST", "/volumes/prune", "tier2"),
  r("volume.update", "PUT", "/volumes/{name:.*}", "unsupported"),
  r("volume.delete", "DELETE", "/volumes/{name:.*}", "tier2"),
  // build router
  r("build", "POST", "/build", "tier3", true),
  r("build.prune", "POST", "/build/prune", "unsupported"),
  r("build.cancel", "POST", "/build/cancel", "unsupported"),
  // network router
  r("network.list", "GET", "/networks", "tier2"),
  r("network.list", "GET", "/networks/", "tier2"),
  r("network.inspect", "GET", "/networks/{id:.+}", "tier2"),
  r("network.create", "POST", "/networks/create", "tier2"),
  r("network.connect", "POST", "/networks/{id:.*}/connect", "tier2"),
  r("network.disconnect", "POST", "/networks/{id:.*}/disconnect", "tier2"),
  r("network.prune", "POST", "/networks/prune", "unsupported"),
  r("network.delete", "DELETE", "/networks/{id:.*}", "tier2"),
];

/** Path prefixes of swarm mode: any method, answered 503 (see errors.ts notSwarmManager). */
export const SWARM_PREFIXES = [
  "/swarm",
  "/services",
  "/nodes",
  "/tasks",
  "/secrets",
  "/configs",
] as const;

/** A pattern compiled to a regular expression and its parameter names. */
interface Compiled {
  route: Route;
  regexp: RegExp;
  names: string[];
}

/** Compiles moby's pattern: `{name:.*}` becomes a capture of `.*`; the rest is literal. */
function compile(route: Route): Compiled {
  const names: string[] = [];
  let source = "";
  let rest = route.pattern;
  for (let match; (match = /\{([a-z]+):([^}]+)\}/.exec(rest));) {
    source += escapeRegExp(rest.slice(0, match.index)) + `(${match[2]})`;
    names.push(match[1]);
    rest = rest.slice(match.index + match[0].length);
  }
  source += escapeRegExp(rest);
  return { route, regexp: new RegExp(`^${source}$`), names };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

const COMPILED: readonly Compiled[] = ROUTES.map(compile);

/** A request that found its route. */
export interface RouteFound {
  kind: "route";
  route: Route;
  /** Path parameters, decoded: `name` (container or image), `id` (exec, network). */
  params: Record<string, string>;
  /** The version the request is served at (its path's, else 1.44). */
  apiVersion: string;
  /** The version in the path, if any. */
  pathVersion?: string;
}

/** A swarm endpoint (503). */
export interface SwarmPath {
  kind: "swarm";
  pathVersion?: string;
}

/** No route: `allowed` lists the methods the path has, when it has any. */
export interface NoRoute {
  kind: "not-found";
  allowed: Method[];
  pathVersion?: string;
}

/** A request refused before routing: a bad escape, a version out of range. */
export interface Refused {
  kind: "refused";
  error: ApiError;
  pathVersion?: string;
}

export type RouteMatch = RouteFound | SwarmPath | NoRoute | Refused;

/** Splits `/v1.44/rest` into its version and the rest; other paths are returned whole. */
export function splitVersionPrefix(path: string): { version?: string; rest: string } {
  const match = /^\/v([^/]+)(\/.*)$/.exec(path);
  if (match && VERSION_PATTERN.test(match[1])) return { version: match[1], rest: match[2] };
  return { rest: path };
}

/**
 * Matches a request: `path` is the request target's path, still
 * percent-encoded, without the query. Pure; never throws.
 */
export function matchRoute(method: string, path: string): RouteMatch {
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return { kind: "refused", error: badRequest(`invalid URL escape in ${JSON.stringify(path)}`) };
  }
  const { version, rest } = splitVersionPrefix(decoded);
  const withVersion = version === undefined ? {} : { pathVersion: version };
  const allowed: Method[] = [];
  let found: { compiled: Compiled; values: string[] } | undefined;
  for (const compiled of COMPILED) {
    const values = compiled.regexp.exec(rest);
    if (!values) continue;
    if (compiled.route.method !== method) {
      if (compiled.route.method !== "OPTIONS") allowed.push(compiled.route.method);
      continue;
    }
    found = { compiled, values: values.slice(1) };
    break;
  }
  if (!found) {
    if (SWARM_PREFIXES.some((p) => rest === p || rest.startsWith(`${p}/`))) {
      return { kind: "swarm", ...withVersion };
    }
    return { kind: "not-found", allowed: [...new Set(allowed)], ...withVersion };
  }
  let apiVersion: string;
  try {
    apiVersion = checkApiVersion(version);
  } catch (error) {
    return { kind: "refused", error: error as ApiError, ...withVersion };
  }
  const params: Record<string, string> = {};
  found.compiled.names.forEach((name, i) => params[name] = found.values[i]);
  return { kind: "route", route: found.compiled.route, params, apiVersion, ...withVersion };
}

/** The error for a match that is not a route (404, 503, or the refusal). */
export function routeError(match: SwarmPath | NoRoute | Refused): ApiError {
  if (match.kind === "refused") return match.error;
  if (match.kind === "swarm") return notSwarmManager();
  return pageNotFound();
}

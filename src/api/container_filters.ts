/**
 * `GET /containers/json`: which containers a listing shows, from `all`,
 * `limit` and `filters`, over facts the effectful half gathers (pure).
 *
 * Semantics are moby's `daemon/list.go`: stopped containers only with
 * `all` or a `limit` (or a `status` filter, which implies `all`); `before`
 * and `since` cut the newest-first list at a container; `id` matches a
 * unique ID prefix, `name` a name with or without the leading slash (exact
 * or regular expression), `status` the state by `Match`, `exited` the exit
 * code of containers that ran, `label` all given labels, `health`,
 * `volume` (a mount's volume name or destination), `network` (name or ID
 * prefix), `publish`/`expose` (ports and ranges), `ancestor` (the image by
 * reference or ID), `is-task` (never: no swarm here), `isolation`
 * ("default" on Linux). compose 1.29 relies on the label filter: an
 * unlabelled container in its result breaks it.
 *
 * References: Docker Engine API v1.44 `GET /containers/json`; moby v28.2.2
 * daemon/list.go, api/types/container/state.go; research notes
 * /work/shared/research/docker-api.md §4 "Filters".
 */
import { badRequest, noSuch } from "./errors.ts";
import {
  checkFilterKeys,
  exactMatch,
  filterBool,
  type Filters,
  filterValues,
  hasFilter,
  labelsMatch,
  patternMatch,
} from "./filters.ts";

/** The filters `GET /containers/json` accepts (moby's acceptedPsFilterTags). */
export const CONTAINER_FILTERS = [
  "ancestor",
  "before",
  "exited",
  "expose",
  "health",
  "id",
  "is-task",
  "isolation",
  "label",
  "name",
  "network",
  "publish",
  "since",
  "status",
  "volume",
] as const;

/** Docker's container states (`State.Status`). */
export const CONTAINER_STATES = [
  "created",
  "running",
  "paused",
  "restarting",
  "removing",
  "exited",
  "dead",
] as const;
export type ContainerStatus = typeof CONTAINER_STATES[number];

/** Docker's health states, and "none" for a container without a health check. */
export const HEALTH_STATES = ["starting", "healthy", "unhealthy", "none"] as const;
export type HealthStatus = typeof HEALTH_STATES[number];

/** What a container listing is filtered on. */
export interface ContainerListFacts {
  /** 64 hex characters. */
  id: string;
  /** The name, without docker's leading slash. */
  name: string;
  labels: Readonly<Record<string, string>>;
  status: ContainerStatus;
  /** Last exit code (0 when it never ran). */
  exitCode: number;
  /** The container ran at least once (docker's StartedAt is set). */
  started: boolean;
  /** "sha256:..." of the image, "" with --rootfs. */
  imageId: string;
  health: HealthStatus;
  /** Networks it is on: name and ID. */
  networks: readonly { name: string; id: string }[];
  /** Mounts: volume name (named volumes), host source, destination. */
  mounts: readonly { name?: string; source: string; destination: string }[];
  /** Ports: container port, published host port (if any), protocol. */
  ports: readonly { privatePort: number; publicPort?: number; type: "tcp" | "udp" }[];
}

/** The listing request. */
export interface ContainerListQuery {
  /** `all=1`: stopped containers too. */
  all: boolean;
  /** `limit=N`: the N newest (shows stopped ones too); ≤ 0 = no limit. */
  limit: number;
  filters: Filters;
  /** Resolves an `ancestor` value (reference or ID) to an image ID, or undefined. */
  resolveImageId: (reference: string) => string | undefined;
}

function isRunning(status: ContainerStatus): boolean {
  return status === "running" || status === "paused" || status === "restarting";
}

/** `publish`/`expose` values: `80`, `80/udp`, `8000-8010/tcp` → "port/proto" keys. */
function parsePortFilter(key: string, value: string): string[] {
  if (value.includes(":")) {
    throw badRequest(`filter for '${key}' should not contain ':': ${value}`);
  }
  const [range, proto = "tcp"] = value.split("/");
  const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(range);
  const first = match ? Number(match[1]) : NaN;
  const last = match?.[2] === undefined ? first : Number(match[2]);
  if (!match || first > 65535 || last > 65535 || last < first || !/^(tcp|udp|sctp)$/.test(proto)) {
    throw badRequest(`error while looking up for ${key} ${value}: invalid port or range`);
  }
  const ports: string[] = [];
  for (let port = first; port <= last; port++) ports.push(`${port}/${proto}`);
  return ports;
}

/** The one container an `id` value names by unique prefix, or undefined. */
function uniquePrefix(
  containers: readonly ContainerListFacts[],
  prefix: string,
): ContainerListFacts | undefined {
  const found = containers.filter((c) => c.id.startsWith(prefix));
  return prefix !== "" && found.length === 1 ? found[0] : undefined;
}

/** A `before`/`since` value: a container by ID (prefix) or name; 404 when none. */
function findContainer(
  containers: readonly ContainerListFacts[],
  value: string,
): ContainerListFacts {
  const name = value.replace(/^\//, "");
  const found = containers.find((c) => c.id === value) ?? uniquePrefix(containers, value) ??
    containers.find((c) => c.name === name);
  if (!found) throw noSuch("container", value);
  return found;
}

/**
 * The containers a listing shows, in the given order (newest first, as
 * docker lists them). Throws a 400 for unknown filters or bad values, a 404
 * for a `before`/`since` container that does not exist.
 */
export function selectContainers<T extends ContainerListFacts>(
  containers: readonly T[],
  query: ContainerListQuery,
): T[] {
  const { filters } = query;
  checkFilterKeys(filters, CONTAINER_FILTERS);
  const exited = filterValues(filters, "exited").map((value) => {
    if (!/^-?\d+$/.test(value)) throw badRequest(`invalid filter 'exited=${value}'`);
    return Number(value);
  });
  for (const value of filterValues(filters, "status")) {
    if (!(CONTAINER_STATES as readonly string[]).includes(value)) {
      throw badRequest(
        `invalid filter 'status=${value}': invalid value for state (${value}): must be one of ${
          CONTAINER_STATES.join(", ")
        }`,
      );
    }
  }
  for (const value of filterValues(filters, "health")) {
    if (!(HEALTH_STATES as readonly string[]).includes(value)) {
      throw badRequest(
        `invalid filter 'health=${value}': invalid value for health (${value}): must be one of ${
          HEALTH_STATES.join(", ")
        }`,
      );
    }
  }
  const isTask = hasFilter(filters, "is-task") ? filterBool(filters, "is-task", false) : undefined;
  const all = query.all || hasFilter(filters, "status");
  const before = filterValues(filters, "before").map((v) => findContainer(containers, v).id);
  const since = filterValues(filters, "since").map((v) => findContainer(containers, v).id);
  const ids = filterValues(filters, "id");
  const idMatches = new Set(ids.flatMap((prefix) => uniquePrefix(containers, prefix)?.id ?? []));
  const ancestors = hasFilter(filters, "ancestor")
    ? new Set(filterValues(filters, "ancestor").flatMap((v) => query.resolveImageId(v) ?? []))
    : undefined;
  const publish = new Set(
    filterValues(filters, "publish").flatMap((v) => parsePortFilter("publish", v)),
  );
  const expose = new Set(
    filterValues(filters, "expose").flatMap((v) => parsePortFilter("expose", v)),
  );

  const result: T[] = [];
  // moby keeps the last `before` given.
  let waitingFor = before.length > 0 ? before[before.length - 1] : undefined;
  for (const c of containers) {
    if (waitingFor !== undefined) {
      if (c.id === waitingFor) waitingFor = undefined;
      continue;
    }
    if (since.includes(c.id)) break;
    if (!isRunning(c.status) && !all && query.limit <= 0) continue;
    if (!patternMatch(filters, "name", c.name) && !patternMatch(filters, "name", `/${c.name}`)) {
      continue;
    }
    if (ids.length > 0 && !idMatches.has(c.id)) continue;
    if (isTask === true) continue; // tsnspawn containers are never swarm tasks
    if (!labelsMatch(filters, "label", c.labels)) continue;
    if (!patternMatch(filters, "isolation", "default")) continue;
    if (query.limit > 0 && result.length === query.limit) break;
    if (exited.length > 0 && !(exited.includes(c.exitCode) && !isRunning(c.status) && c.started)) {
      continue;
    }
    if (!patternMatch(filters, "status", c.status)) continue;
    if (!exactMatch(filters, "health", c.health)) continue;
    if (hasFilter(filters, "volume")) {
      const wanted = filterValues(filters, "volume");
      const mounted = c.mounts.some((m) =>
        wanted.includes(m.destination) || wanted.includes(m.name ?? m.source)
      );
      if (!mounted) continue;
    }
    if (ancestors !== undefined && !ancestors.has(c.imageId)) continue;
    if (hasFilter(filters, "network")) {
      const wanted = filterValues(filters, "network");
      const on = c.networks.some((n) =>
        wanted.some((w) => n.name === w || (w !== "" && n.id.startsWith(w)))
      );
      if (!on) continue;
    }
    if (publish.size > 0 || expose.size > 0) {
      const shown = c.ports.some((p) =>
        (p.publicPort !== undefined && publish.has(`${p.publicPort}/${p.type}`)) ||
        expose.has(`${p.privatePort}/${p.type}`)
      );
      if (!shown) continue;
    }
    result.push(c);
  }
  return result;
}

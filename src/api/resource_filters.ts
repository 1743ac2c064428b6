/**
 * `GET /networks` and `GET /volumes` (pure): which networks and volumes a
 * listing shows, from `filters`, over facts the effectful half gathers.
 *
 * Networks (moby daemon/network/filter.go): `name` and `id` match by
 * `Match` (exact or regular expression) and prefix, `driver` exactly,
 * `label` all given labels, `scope` local|swarm|global, `type`
 * custom|builtin (bridge, host and none are builtin), `dangling` (no
 * container on it; builtin networks are never dangling). Volumes (moby
 * volume/service/convert.go): `name` by `Match`, `driver` exactly, `label`,
 * `dangling` (no container uses it).
 *
 * References: Docker Engine API v1.44 (`GET /networks`, `GET /volumes`);
 * moby v28.2.2 daemon/network/filter.go, volume/service/by.go; research
 * notes /work/shared/research/docker-api.md §6 tier 2.
 */
import { badRequest } from "./errors.ts";
import {
  checkFilterKeys,
  exactMatch,
  filterBool,
  type Filters,
  filterValues,
  hasFilter,
  labelsMatch,
  patternMatch,
  prefixMatch,
} from "./filters.ts";

/** The filters `GET /networks` accepts. */
export const NETWORK_FILTERS = [
  "dangling",
  "driver",
  "id",
  "label",
  "name",
  "scope",
  "type",
] as const;

/** The filters `GET /volumes` accepts. */
export const VOLUME_FILTERS = ["dangling", "driver", "label", "name"] as const;

/** Networks docker always has; tsnspawn's "bridge" is its default network. */
const BUILTIN_NETWORKS = new Set(["bridge", "host", "none"]);

/** What a network listing is filtered on. */
export interface NetworkListFacts {
  id: string;
  name: string;
  /** "bridge", or "host"/"null" for the two pseudo networks. */
  driver: string;
  labels: Readonly<Record<string, string>>;
  /** Containers on it. */
  containers: number;
}

/** What a volume listing is filtered on. */
export interface VolumeListFacts {
  name: string;
  driver: string;
  labels: Readonly<Record<string, string>>;
  /** Containers that use it. */
  containers: number;
}

/** The networks a listing shows; 400 for unknown filters or values. */
export function selectNetworks<T extends NetworkListFacts>(
  networks: readonly T[],
  filters: Filters,
): T[] {
  checkFilterKeys(filters, NETWORK_FILTERS);
  for (const type of filterValues(filters, "type")) {
    if (type !== "custom" && type !== "builtin") {
      throw badRequest(`invalid filter: 'type'='${type}'`);
    }
  }
  const dangling = hasFilter(filters, "dangling")
    ? filterBool(filters, "dangling", false)
    : undefined;
  return networks.filter((n) => {
    const builtin = BUILTIN_NETWORKS.has(n.name);
    if (!patternMatch(filters, "name", n.name) && !prefixMatch(filters, "name", n.name)) {
      return false;
    }
    if (!patternMatch(filters, "id", n.id) && !prefixMatch(filters, "id", n.id)) return false;
    if (!exactMatch(filters, "driver", n.driver)) return false;
    if (!labelsMatch(filters, "label", n.labels)) return false;
    if (!exactMatch(filters, "scope", "local")) return false;
    if (!exactMatch(filters, "type", builtin ? "builtin" : "custom")) return false;
    if (dangling !== undefined && dangling !== (!builtin && n.containers === 0)) return false;
    return true;
  });
}

/** The volumes a listing shows; 400 for unknown filters or values. */
export function selectVolumes<T extends VolumeListFacts>(
  volumes: readonly T[],
  filters: Filters,
): T[] {
  checkFilterKeys(filters, VOLUME_FILTERS);
  const dangling = hasFilter(filters, "dangling")
    ? filterBool(filters, "dangling", false)
    : undefined;
  return volumes.filter((v) =>
    patternMatch(filters, "name", v.name) &&
    exactMatch(filters, "driver", v.driver) &&
    labelsMatch(filters, "label", v.labels) &&
    (dangling === undefined || dangling === (v.containers === 0))
  );
}

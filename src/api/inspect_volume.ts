/**
 * Volumes in Docker's JSON, and the volume requests mapped onto tsnspawn's
 * volume operations (pure): `POST /volumes/create` → ops/volume.ts
 * VolumeRequest, the Volume object of inspect and list, the prune filters
 * and answer.
 *
 * A tsnspawn volume is docker's `local` driver: a directory, or a mount
 * from its driver options (`type`, `device`, `o`, and podman's `copy`,
 * `nocopy`, `uid`, `gid`), which the operation validates. Other drivers and
 * cluster volumes are refused with a reason. Creating a volume whose name
 * exists answers with the existing volume, as moby does (compose relies on
 * it). Prune removes anonymous volumes only unless the `all` filter is
 * true (API ≥ 1.42), and takes `label` filters.
 *
 * References: Docker Engine API v1.44 (Volume, VolumeCreateOptions,
 * VolumeListResponse, VolumePruneResponse); moby v28.2.2
 * api/server/router/volume/volume_routes.go, volume/service/service.go
 * (Prune: `all`, `label`; `label!` is refused here); research notes
 * /work/shared/research/docker-api.md §4 ("Volume inspect").
 */
import { BodyReader, isZeroValue } from "./body_fields.ts";
import { checkFilterKeys, filterBool, type Filters, filterValues } from "./filters.ts";

/** A volume as the formatter needs it (ops/volume.ts VolumeInfo has these and more). */
export interface VolumeFacts {
  Name: string;
  Driver: string;
  Mountpoint: string;
  /** ISO 8601. */
  CreatedAt: string;
  Labels: Record<string, string>;
  Options: Record<string, string>;
}

/** RFC 3339 in seconds, as moby writes a volume's CreatedAt. */
function createdAt(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toISOString().replace(/\.\d+Z$/, "Z");
}

/** A volume's Docker JSON (inspect, create's answer, and each entry of the list). */
export function formatVolume(facts: VolumeFacts): Record<string, unknown> {
  return {
    CreatedAt: createdAt(facts.CreatedAt),
    Driver: facts.Driver,
    Labels: { ...facts.Labels },
    Mountpoint: facts.Mountpoint,
    Name: facts.Name,
    Options: Object.keys(facts.Options).length > 0 ? { ...facts.Options } : null,
    Scope: "local",
  };
}

/** What a volume create asks for (ops/volume.ts VolumeRequest's fields). */
export interface VolumeCreatePlan {
  /** Absent: a random name, as docker's. */
  name?: string;
  labels: Record<string, string>;
  options: Record<string, string>;
}

/** `POST /volumes/create`'s body → the request of ops/volume.ts createVolume. */
export function planVolumeCreate(body: Record<string, unknown>): VolumeCreatePlan {
  const reader = new BodyReader(body);
  const name = reader.string("Name") ?? "";
  reader.defaultOnly(
    "Driver",
    "only the local volume driver exists",
    (v) => v === undefined || v === "" || v === "local",
  );
  const labels = reader.stringMap("Labels") ?? {};
  const options = reader.stringMap("DriverOpts") ?? {};
  reader.defaultOnly("ClusterVolumeSpec", "cluster volumes are for swarm", isZeroValue);
  reader.finish("tsnspawn does not know this field");
  return { ...(name !== "" ? { name } : {}), labels, options };
}

/** What `POST /volumes/prune?filters=` removes: ops/volume.ts pruneVolumes' options. */
export function planVolumePrune(filters: Filters): { all: boolean; label?: string[] } {
  checkFilterKeys(filters, ["all", "label"]);
  const labels = filterValues(filters, "label");
  return {
    all: filterBool(filters, "all", false),
    ...(labels.length > 0 ? { label: labels } : {}),
  };
}

/** The answer of a prune: the names removed and the bytes freed. */
export function formatVolumePrune(removed: readonly string[], bytes: number): {
  VolumesDeleted: string[];
  SpaceReclaimed: number;
} {
  return { VolumesDeleted: [...removed], SpaceReclaimed: bytes };
}

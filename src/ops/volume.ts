/**
 * Volume operations every front end shares (the CLI's `tsnspawn volume`,
 * declared `.volume` files through it, the Docker API's `/volumes`):
 * create, inspect, list, remove, prune, and the volumes a new container
 * takes. They return data and print nothing.
 *
 * A volume is in use while any container (running or not) mounts it, as
 * with docker; removal is refused then. The check and the removal happen
 * under the volumes lock, which container creation holds too while it takes
 * its volumes and writes its directory (src/ops/create.ts), so a container
 * can never end up mounting a volume removed under it.
 *
 * Reference: docs.docker.com "docker volume create|inspect|ls|rm|prune",
 * the Engine API's Volume object (Name, Driver, Mountpoint, CreatedAt,
 * Labels, Options, Scope).
 */
import { TsnspawnError } from "../errors.ts";
import { randomHex } from "../files.ts";
import { volumePaths } from "../paths.ts";
import { matchesLabels } from "../labels.ts";
import { planVolumeConfig, validateVolumeName, type VolumeConfig } from "../volume/config.ts";
import {
  createVolumeDir,
  listVolumeNames,
  loadVolume,
  readVolume,
  removeVolumeDir,
  withVolumesLock,
} from "../volume/store.ts";
import { listContainerNames, loadContainer } from "../container/state.ts";

/** A volume as inspect and ls show it (the Engine API's Volume object, plus its users). */
export interface VolumeInfo {
  Name: string;
  Driver: string;
  /** The host directory containers mount. */
  Mountpoint: string;
  CreatedAt: string;
  Labels: Record<string, string>;
  Options: Record<string, string>;
  Scope: "local";
  /** Made for one container (`-v /path`, the image's VOLUME). */
  Anonymous: boolean;
  /** Containers that mount it (running or not). */
  UsedBy: string[];
}

/** What {@link createVolume} is asked for. */
export interface VolumeRequest {
  /** Undefined: a random name (64 hex digits, as docker's). */
  name?: string;
  labels?: Record<string, string>;
  /** Driver options (volume/config.ts VOLUME_OPTIONS). */
  options?: Record<string, string>;
  /** An existing volume of that name: "error" (the CLI's default) or "reuse" (`--ignore`, docker's API). */
  ifExists?: "error" | "reuse";
  anonymous?: boolean;
}

/** Which containers mount which volumes (one pass over the container configs). */
export function volumeUsers(): Map<string, string[]> {
  const users = new Map<string, string[]>();
  for (const container of listContainerNames()) {
    let volumes;
    try {
      volumes = loadContainer(container).volumes;
    } catch {
      continue; // removed or unreadable meanwhile: `check` reports those
    }
    for (const mount of volumes) {
      if (!mount.volume) continue;
      users.set(mount.volume, [...(users.get(mount.volume) ?? []), container]);
    }
  }
  return users;
}

function describe(config: VolumeConfig, users: string[]): VolumeInfo {
  return {
    Name: config.name,
    Driver: config.driver,
    Mountpoint: volumePaths(config.name).data,
    CreatedAt: config.created,
    Labels: config.labels,
    Options: config.options,
    Scope: "local",
    Anonymous: config.anonymous,
    UsedBy: users,
  };
}

/** Creates a volume (nothing is mounted until a container starts with it). */
export function createVolume(request: VolumeRequest): VolumeInfo {
  const name = request.name === undefined ? randomHex(32) : validateVolumeName(request.name);
  const config = planVolumeConfig({ ...request, name }, new Date());
  return withVolumesLock(() => {
    const existing = readVolume(name);
    if (existing) {
      if (request.ifExists === "reuse") return describe(existing, volumeUsers().get(name) ?? []);
      throw new TsnspawnError("conflict", `volume ${name}: already exists`, {
        hint: `use it as it is, or remove it first with 'tsnspawn volume rm ${name}'`,
      });
    }
    createVolumeDir(config);
    return describe(config, []);
  });
}

/** A volume's record and users. */
export function inspectVolume(name: string): VolumeInfo {
  validateVolumeName(name);
  return describe(loadVolume(name), volumeUsers().get(name) ?? []);
}

/** Filters of {@link listVolumes} (docker's `volume ls --filter`). */
export interface VolumeFilters {
  /** `label=KEY` or `label=KEY=VALUE`: all must match. */
  label?: string[];
  /** Substrings of the name: any may match. */
  name?: string[];
  /** true: only volumes no container uses; false: only used ones. */
  dangling?: boolean;
}

/** All volumes (that match the filters), sorted by name. */
export function listVolumes(filters: VolumeFilters = {}): VolumeInfo[] {
  const users = volumeUsers();
  const out: VolumeInfo[] = [];
  for (const name of listVolumeNames()) {
    let config: VolumeConfig | null;
    try {
      config = readVolume(name);
    } catch {
      continue; // corrupt: `check` reports it
    }
    if (!config) continue;
    const info = describe(config, users.get(name) ?? []);
    if (filters.label && !matchesLabels(info.Labels, filters.label)) continue;
    if (filters.name?.length && !filters.name.some((n) => name.includes(n))) continue;
    if (filters.dangling !== undefined && filters.dangling !== (info.UsedBy.length === 0)) continue;
    out.push(info);
  }
  return out;
}

function inUseError(name: string, users: string[]): TsnspawnError {
  return new TsnspawnError(
    "conflict",
    `volume ${name}: in use by ${users.length === 1 ? "container" : "containers"} ${
      users.join(", ")
    }`,
    {
      hint: `remove ${
        users.length === 1 ? "that container" : "those containers"
      } first (tsnspawn rm)`,
    },
  );
}

/**
 * Removes a volume no container uses. `force`: a missing volume is not an
 * error (a used one still is, as with docker).
 */
export function removeVolume(name: string, options: { force?: boolean } = {}): void {
  validateVolumeName(name);
  withVolumesLock(() => {
    if (!readVolume(name)) {
      if (options.force) return;
      loadVolume(name); // throws not-found
    }
    const users = volumeUsers().get(name) ?? [];
    if (users.length > 0) throw inUseError(name, users);
    removeVolumeDir(name);
  });
}

/** What {@link pruneVolumes} removed. */
export interface PruneResult {
  removed: string[];
  /** Bytes of content freed (du of the removed `_data` directories). */
  bytes: number;
}

function treeSize(path: string): number {
  let total = 0;
  const walk = (dir: string) => {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(dir)];
    } catch {
      return;
    }
    for (const entry of entries) {
      const child = `${dir}/${entry.name}`;
      if (entry.isDirectory) walk(child);
      else {
        try {
          total += Deno.lstatSync(child).size;
        } catch { /* gone */ }
      }
    }
  };
  walk(path);
  return total;
}

/**
 * Removes volumes no container uses: anonymous ones only, or all of them
 * with `all` (docker 23's rule; podman prunes all). `label` filters as ls.
 */
export function pruneVolumes(options: { all?: boolean; label?: string[] } = {}): PruneResult {
  return withVolumesLock(() => {
    const users = volumeUsers();
    const result: PruneResult = { removed: [], bytes: 0 };
    for (const name of listVolumeNames()) {
      const config = readVolume(name);
      if (!config || (users.get(name)?.length ?? 0) > 0) continue;
      if (!options.all && !config.anonymous) continue;
      if (options.label && !matchesLabels(config.labels, options.label)) continue;
      result.bytes += treeSize(volumePaths(name).data);
      removeVolumeDir(name);
      result.removed.push(name);
    }
    return result;
  });
}

/**
 * The volumes of a container being created, under the volumes lock (the
 * caller holds it): named volumes that do not exist are created (docker's
 * `-v NAME:/path`), each anonymous one is created with a random name; every
 * mount gets its volume's `_data` as source. Returns the mounts and the
 * names of the volumes it created (to remove if the container cannot be made).
 */
export function takeVolumes<M extends { volume?: string; anonymous?: boolean; source: string }>(
  mounts: readonly M[],
): { mounts: M[]; created: string[] } {
  const created: string[] = [];
  const out = mounts.map((mount) => {
    if (mount.volume === undefined) return mount;
    let name = mount.volume;
    if (mount.anonymous || name === "") {
      name = randomHex(32);
      createVolumeDir(planVolumeConfig({ name, anonymous: true }, new Date()));
      created.push(name);
    } else if (!readVolume(name)) {
      createVolumeDir(planVolumeConfig({ name }, new Date()));
      created.push(name);
    }
    return { ...mount, volume: name, source: volumePaths(name).data };
  });
  return { mounts: out, created };
}

/** Removes volumes a failed create made (under the volumes lock). */
export function dropVolumes(names: readonly string[]): void {
  for (const name of names) {
    try {
      removeVolumeDir(name);
    } catch { /* `volume prune` or `check` finds it */ }
  }
}

/**
 * The anonymous volumes of a removed container (`rm -v`, `--rm`): each is
 * removed unless another container mounts it too. Best effort; returns the
 * names removed.
 */
export function removeAnonymousVolumes(
  mounts: readonly { volume?: string; anonymous?: boolean }[],
): string[] {
  const names = mounts.filter((m) => m.anonymous && m.volume).map((m) => m.volume!);
  if (names.length === 0) return [];
  return withVolumesLock(() => {
    const users = volumeUsers();
    const removed: string[] = [];
    for (const name of names) {
      if ((users.get(name)?.length ?? 0) > 0) continue;
      try {
        removeVolumeDir(name);
        removed.push(name);
      } catch { /* left for `volume prune` */ }
    }
    return removed;
  });
}

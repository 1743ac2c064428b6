/**
 * `tsnspawn check`, the snapshot: reads everything the analysis
 * (analysis.ts) needs — container directories, `<root>/tmp`, transient
 * units, mounts below the state root, the image store's indexes, network
 * leases, host veths and published-port elements — and which of their locks
 * a live process holds.
 *
 * Man pages: flock(2), proc(5) (mountinfo); systemd org.freedesktop.systemd1(5).
 */
import { join } from "@std/path";
import {
  containerPaths,
  containersDir,
  networkPaths,
  networksDir,
  networksLock,
  stateRoot,
  tmpDir,
  volumePaths,
  volumesDir,
  volumesLock,
} from "../paths.ts";
import { storePaths } from "../image/store.ts";
import { tryLockPath } from "../staging.ts";
import {
  type ContainerConfigSummary,
  type ContainerEntry,
  type ImageStoreSnapshot,
  isRunningState,
  type NetworkEntry,
  type StoreSnapshot,
  type TmpEntry,
  type UnitEntry,
  type VolumeEntry,
} from "./analysis.ts";
import type { Systemd } from "../systemd/bus.ts";

// ---------------------------------------------------------------------------
// Snapshot

function readDirNames(dir: string): Deno.DirEntry[] {
  try {
    return [...Deno.readDirSync(dir)];
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

export function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Whether a live process holds the flock on `path`. */
export function isLocked(path: string): boolean {
  const held = tryLockPath(path);
  if (held === "busy") return true;
  held?.close();
  return false;
}

/** Parses the parts of config.json the check needs; throws on anything else. */
function summarizeConfig(text: string): ContainerConfigSummary {
  const value = JSON.parse(text);
  if (typeof value?.id !== "string" || !Array.isArray(value?.lowerDirs)) {
    throw new Error("not a container config (no id or lowerDirs)");
  }
  const bridge = value.bridge && typeof value.bridge.network === "string"
    ? { network: String(value.bridge.network), address: String(value.bridge.address) }
    : undefined;
  const volumes = Array.isArray(value.volumes)
    ? value.volumes.filter((v: { volume?: unknown }) =>
      typeof v?.volume === "string" && v.volume !== ""
    )
      .map((v: { volume: string }) => v.volume)
    : [];
  return {
    id: value.id,
    lowerDirs: value.lowerDirs.map(String),
    ...(bridge ? { bridge } : {}),
    ...(typeof value.build === "string" ? { build: value.build } : {}),
    ...(value.autoRemove === true ? { autoRemove: true } : {}),
    ...(volumes.length ? { volumes } : {}),
  };
}

function snapshotContainers(): ContainerEntry[] {
  const out: ContainerEntry[] = [];
  for (const entry of readDirNames(containersDir())) {
    if (!entry.isDirectory) continue;
    const paths = containerPaths(entry.name);
    let config: ContainerEntry["config"];
    try {
      config = summarizeConfig(Deno.readTextFileSync(paths.config));
    } catch (error) {
      config = error instanceof Deno.errors.NotFound
        ? "missing"
        : { error: error instanceof Error ? error.message : String(error) };
    }
    const files = readDirNames(paths.dir).map((e) => e.name);
    const missingLowerDirs = typeof config === "object" && "lowerDirs" in config
      ? config.lowerDirs.filter((d) => !exists(d))
      : [];
    const build = typeof config === "object" && "id" in config ? config.build : undefined;
    out.push({
      name: entry.name,
      config,
      locked: isLocked(paths.lock),
      files,
      missingLowerDirs,
      ...(build ? { buildLive: isLocked(join(tmpDir(), `build-${build}.lock`)) } : {}),
    });
  }
  return out;
}

/** Whether a tmp entry belongs to a live operation: its own flock, or the lock guarding it. */
function tmpEntryLive(name: string, imagesLocked: boolean): boolean {
  const path = join(tmpDir(), name);
  if (isLocked(path)) return true;
  if (name.startsWith(".")) return !imagesLocked; // image store atomic writes, under the store lock
  if (name.startsWith("network-") && !name.startsWith("network-remove-")) {
    return isLocked(networksLock());
  }
  if (name.startsWith("remove-")) return isLocked(join(path, "lock")); // rm holds the container lock
  if (name.startsWith("volume-")) return isLocked(volumesLock()); // volume create/rm hold it too
  return false;
}

function snapshotVolumes(): VolumeEntry[] {
  return readDirNames(volumesDir()).filter((e) => e.isDirectory).map((e) => {
    const paths = volumePaths(e.name);
    const entry: VolumeEntry = {
      name: e.name,
      config: "ok",
      device: false,
      anonymous: false,
      locked: isLocked(paths.dir),
    };
    try {
      const config = JSON.parse(Deno.readTextFileSync(paths.config));
      if (typeof config?.name !== "string" || typeof config?.options !== "object") {
        throw new Error("not a volume record");
      }
      entry.device = typeof config.options?.device === "string";
      entry.anonymous = config.anonymous === true;
    } catch (error) {
      entry.config = error instanceof Deno.errors.NotFound
        ? "missing"
        : { error: error instanceof Error ? error.message : String(error) };
    }
    return entry;
  });
}

function snapshotTmp(imagesLocked: boolean): TmpEntry[] {
  return readDirNames(tmpDir()).map((e) => ({
    name: e.name,
    live: tmpEntryLive(e.name, imagesLocked),
  }));
}

async function snapshotUnits(systemd: Systemd): Promise<UnitEntry[]> {
  // Services, and the scopes of attached --rm runs (src/runtime/attached.ts).
  const names = await systemd.listUnitNames(["tsnspawn-*.service", "tsnspawn-*.scope"]);
  const out: UnitEntry[] = [];
  for (const unit of names) {
    // Container units only: not the companions `tsnspawn-machine@NAME.service` (src/systemd/machined.ts).
    const m = /^tsnspawn-([^@]+)\.(service|scope)$/.exec(unit);
    if (!m) continue;
    const state = await systemd.unitState(unit);
    if (!state) continue;
    const entry: UnitEntry = {
      name: m[1],
      ...(m[2] === "scope" ? { unit } : {}),
      activeState: state.activeState,
      subState: state.subState,
      result: state.result,
    };
    // One entry per container: a running unit over an ended one.
    const other = out.findIndex((e) => e.name === entry.name);
    if (other < 0) out.push(entry);
    else if (isRunningState(entry)) out[other] = entry;
  }
  return out;
}

/** Unescapes the octal escapes (\040 etc.) of a mountinfo path. */
function unescapeMountPath(field: string): string {
  return field.replace(
    /\\([0-7]{3})/g,
    (_, octal: string) => String.fromCharCode(parseInt(octal, 8)),
  );
}

function snapshotMounts(root: string): string[] {
  const prefix = root.endsWith("/") ? root : root + "/";
  const out: string[] = [];
  for (const line of Deno.readTextFileSync("/proc/self/mountinfo").split("\n")) {
    const fields = line.split(" ");
    if (fields.length < 5) continue;
    const point = unescapeMountPath(fields[4]);
    if (point.startsWith(prefix)) out.push(point);
  }
  return out;
}

function readJsonOr<T>(path: string, missing: T): T | { error: string } {
  try {
    return JSON.parse(Deno.readTextFileSync(path)) as T;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return missing;
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

function readBlobSummary<T>(
  digest: string,
  parse: (value: unknown) => T,
): T | "missing" | { error: string } {
  const m = /^sha256:([a-f0-9]{64})$/.exec(digest);
  if (!m) return { error: `invalid digest ${JSON.stringify(digest)}` };
  try {
    return parse(JSON.parse(Deno.readTextFileSync(join(storePaths().blobs, m[1]))));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "missing";
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

function snapshotImages(locked: boolean): ImageStoreSnapshot {
  const p = storePaths();
  const empty: ImageStoreSnapshot = {
    busy: !locked,
    repositories: {},
    untagged: [],
    manifests: {},
    configs: {},
    blobs: [],
    layers: [],
    buildCache: {},
  };
  if (!locked) return empty;
  const buildCache: Record<string, string | { error: string }> = {};
  for (const entry of readDirNames(p.buildCache)) {
    if (!/^[a-f0-9]{64}$/.test(entry.name)) continue;
    try {
      const digest = Deno.readTextFileSync(join(p.buildCache, entry.name)).trim();
      buildCache[entry.name] = /^sha256:[a-f0-9]{64}$/.test(digest)
        ? digest
        : { error: "not a manifest digest" };
    } catch (error) {
      buildCache[entry.name] = { error: error instanceof Error ? error.message : String(error) };
    }
  }
  const repositories = readJsonOr<Record<string, string>>(p.repositories, {});
  const untagged = readJsonOr<string[]>(p.untagged, []);
  const digests = [
    ...(typeof repositories === "object" && !("error" in repositories)
      ? Object.values(repositories)
      : []),
    ...(Array.isArray(untagged) ? untagged : []),
    ...Object.values(buildCache).filter((d) => typeof d === "string"),
  ].map(String);
  const manifests: ImageStoreSnapshot["manifests"] = {};
  const configs: ImageStoreSnapshot["configs"] = {};
  for (const digest of digests) {
    const manifest = readBlobSummary(digest, (v) => {
      const m = v as { config?: { digest?: unknown }; layers?: { digest?: unknown }[] };
      if (typeof m?.config?.digest !== "string" || !Array.isArray(m.layers)) {
        throw new Error("not an image manifest");
      }
      return { config: m.config.digest, layers: m.layers.map((l) => String(l?.digest)) };
    });
    manifests[digest] = manifest;
    if (typeof manifest === "object" && "config" in manifest) {
      configs[manifest.config] = readBlobSummary(manifest.config, (v) => {
        const c = v as { rootfs?: { diff_ids?: unknown } };
        if (!Array.isArray(c?.rootfs?.diff_ids)) throw new Error("not an image config");
        return { diffIds: (c.rootfs.diff_ids as unknown[]).map(String) };
      });
    }
  }
  return {
    busy: false,
    repositories: Array.isArray(repositories) ? { error: "not an object" } : repositories,
    untagged: Array.isArray(untagged) || "error" in untagged ? untagged : { error: "not a list" },
    manifests,
    configs,
    blobs: readDirNames(p.blobs).filter((e) => !e.name.startsWith(".")).map((e) => e.name),
    layers: readDirNames(p.layers).map((e) => ({
      hex: e.name,
      hasDiff: exists(join(p.layers, e.name, "diff")),
      hasSize: exists(join(p.layers, e.name, "size")),
    })),
    buildCache,
  };
}

function snapshotNetworks(): NetworkEntry[] {
  return readDirNames(networksDir()).filter((e) => e.isDirectory).map((e) => {
    const file = readJsonOr<{ leases?: unknown }>(networkPaths(e.name).leases, { leases: [] });
    if ("error" in file) return { name: e.name, leases: { error: String(file.error) } };
    if (!Array.isArray(file.leases)) return { name: e.name, leases: { error: "no leases list" } };
    return {
      name: e.name,
      leases: (file.leases as Record<string, unknown>[]).map((l) => ({
        address: String(l.address),
        container: String(l.container),
        id: String(l.id),
      })),
    };
  });
}

async function snapshotPublished(): Promise<string[]> {
  if (!exists("/sys/class/net") || readDirNames(networksDir()).length === 0) return [];
  const { listPublishElements } = await import("../network/host_network.ts");
  try {
    return listPublishElements().map((e) => e.address);
  } catch {
    return [];
  }
}

/** Reads everything the analysis needs. `imagesLocked`: this process holds the store lock. */
export async function takeSnapshot(
  systemd: Systemd,
  imagesLocked: boolean,
): Promise<StoreSnapshot> {
  const root = stateRoot();
  return {
    root,
    // Units first: a container seen as not running was not running before its files were read.
    units: await snapshotUnits(systemd),
    containers: snapshotContainers(),
    tmp: snapshotTmp(imagesLocked),
    mounts: snapshotMounts(root),
    images: snapshotImages(imagesLocked),
    networks: snapshotNetworks(),
    veths: readDirNames("/sys/class/net").map((e) => e.name).filter((n) => n.startsWith("tsnv")),
    publishedAddresses: await snapshotPublished(),
    declared: await declaredUnits(),
    volumes: snapshotVolumes(),
  };
}

/** The units declared files make (their names without tsnspawn- and .service): generated, not transient. */
async function declaredUnits(): Promise<string[]> {
  const { declaredUnitNames } = await import("../declared/store.ts");
  return declaredUnitNames();
}

// ---------------------------------------------------------------------------
// Repairs

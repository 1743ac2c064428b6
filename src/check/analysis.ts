/**
 * `tsnspawn check`, the analysis (pure): a snapshot of everything tsnspawn
 * keeps — container directories, `<root>/tmp`, transient units, mounts below
 * the state root, the image store's indexes, network leases, host veths and
 * published-port elements — becomes a list of findings, each with the repair
 * that is provably safe, if there is one. src/commands/check.ts takes the
 * snapshot, applies the repairs (re-checking the locks as it goes) and takes
 * a second snapshot to report what remains.
 *
 * What counts as "provably safe" is decided from locks and systemd's view,
 * both in the snapshot: an entry of `<root>/tmp` is dead when no live process
 * holds its flock (src/staging.ts) or the lock that guards it; a container
 * is left alone while a process holds its lock or its unit is not inactive;
 * the image store's garbage is only reported (`image prune` removes it).
 * Damage that needs a decision (a tag whose layers are gone, two leases of
 * one address) is reported with a hint and no repair.
 */
import { join } from "@std/path";

/** Unit states in which a container counts as running (it may own mounts, a veth, fifos). */
const RUNNING_STATES = new Set(["active", "activating", "deactivating", "reloading", "refreshing"]);

/** Top-level entries of `<root>/tmp` kept on purpose. */
const KEPT_TMP = new Set(["partial"]); // resumable layer downloads (src/registry/pull.ts)

/** The parts of a container's config.json the check needs. */
export interface ContainerConfigSummary {
  id: string;
  /** The overlay lower dirs (image layers or a --rootfs dir). */
  lowerDirs: string[];
  /** Bridge networking: the network and the leased address. */
  bridge?: { network: string; address: string };
  /** A build's RUN step container: the build's id (src/build/run_step.ts). */
  build?: string;
  /** `--rm`: removed when its run ends. */
  autoRemove?: boolean;
  /** The volumes it mounts (src/volume/). */
  volumes?: string[];
}

/** One directory under `<root>/volumes`. */
export interface VolumeEntry {
  name: string;
  /** "ok", "missing" (no volume.json) or why it could not be read. */
  config: "ok" | "missing" | { error: string };
  /** Its options mount a device on `_data` (tmpfs, bind, a block device). */
  device: boolean;
  anonymous: boolean;
  /** A live process holds its directory's flock (a removal in progress). */
  locked: boolean;
}

/** One directory under `<root>/containers`. */
export interface ContainerEntry {
  name: string;
  /** The parsed config, `"missing"`, or why it could not be read. */
  config: ContainerConfigSummary | "missing" | { error: string };
  /** A live process holds `<dir>/lock`. */
  locked: boolean;
  /** Names directly in the directory (fifos, temp files). */
  files: string[];
  /** Lower dirs of the config that do not exist. */
  missingLowerDirs: string[];
  /** For a build's container: a live build holds `<root>/tmp/build-<id>.lock`. */
  buildLive?: boolean;
}

/** One entry of `<root>/tmp`. */
export interface TmpEntry {
  name: string;
  /** A live process holds its flock or the lock guarding it (store, networks, container lock). */
  live: boolean;
}

/** A loaded `tsnspawn-*.service`. */
export interface UnitEntry {
  /** The container name from the unit name. */
  name: string;
  /** The unit, when not the container's service: the scope of an attached --rm run. */
  unit?: string;
  activeState: string;
  subState: string;
  result: string;
}

/** A manifest as read from the blob store. */
export interface ManifestSummary {
  config: string;
  layers: string[];
}

/** A config as read from the blob store. */
export interface ImageConfigSummary {
  diffIds: string[];
}

/** One layer directory under `images/layers`. */
export interface LayerEntry {
  /** Hex of its diff_id (the directory name). */
  hex: string;
  hasDiff: boolean;
  hasSize: boolean;
}

/** The image store, read while holding its lock (or `busy`). */
export interface ImageStoreSnapshot {
  /** Another process held the store lock: nothing else was read. */
  busy: boolean;
  repositories: Record<string, string> | { error: string };
  untagged: string[] | { error: string };
  /** Manifests reachable from the indexes, by digest: parsed, "missing", or an error. */
  manifests: Record<string, ManifestSummary | "missing" | { error: string }>;
  /** Configs of those manifests, by digest. */
  configs: Record<string, ImageConfigSummary | "missing" | { error: string }>;
  /** Blob file names (hex). */
  blobs: string[];
  layers: LayerEntry[];
  /** Build cache entries (`images/build-cache/<key hex>`): the manifest digest, or why not. */
  buildCache?: Record<string, string | { error: string }>;
}

/** A lease as stored in `leases.json`. */
export interface LeaseSummary {
  address: string;
  container: string;
  id: string;
}

/** One network under `<root>/networks`. */
export interface NetworkEntry {
  name: string;
  leases: LeaseSummary[] | { error: string };
}

/** Everything the analysis looks at. */
export interface StoreSnapshot {
  root: string;
  containers: ContainerEntry[];
  tmp: TmpEntry[];
  units: UnitEntry[];
  /** Mount points strictly below the root, in the host's mount namespace, in mountinfo order. */
  mounts: string[];
  images: ImageStoreSnapshot;
  networks: NetworkEntry[];
  /** Host interfaces named `tsnv*` (container veths). */
  veths: string[];
  /** Container addresses that have published-port elements in nftables. */
  publishedAddresses: string[];
  /** Units made by declared files (their names without tsnspawn- and .service): generated, not transient. */
  declared: string[];
  /** The volumes under `<root>/volumes`. */
  volumes: VolumeEntry[];
}

/** A repair, as data; src/commands/check.ts applies it. */
export type Repair =
  | { action: "remove-tmp"; path: string }
  | { action: "quarantine-container"; name: string; dir: string }
  | { action: "quarantine-volume"; name: string; dir: string }
  | { action: "remove-container-file"; name: string; path: string }
  | { action: "unmount"; path: string }
  | { action: "stop-unit"; name: string; unit: string }
  | { action: "reset-failed-unit"; name: string; unit: string }
  | { action: "release-lease"; network: string; id: string; container: string }
  | { action: "restore-lease"; network: string; id: string; container: string; address: string }
  | { action: "remove-partial-layer"; hex: string; path: string }
  | { action: "remove-build-container"; name: string; build: string }
  | { action: "remove-ended-container"; name: string }
  | { action: "remove-cache-entry"; hex: string; path: string }
  | { action: "delete-veth"; device: string }
  | { action: "sweep-published-ports" };

/** How bad a finding is: a problem makes `check` exit 1 unless repaired; a note never does. */
export type Severity = "problem" | "note";

/** One finding. */
export interface Finding {
  severity: Severity;
  /** Stable kind, e.g. "tmp-leftover". */
  kind: string;
  /** What it is about: a container, a path, an image reference. */
  subject: string;
  /** One line, sentence case. */
  message: string;
  /** The safe repair, if there is one. */
  repair?: Repair;
  /** What the user can do when there is no repair. */
  hint?: string;
}

/** The unit name of a container (as src/paths.ts spells it). */
function unitOf(name: string): string {
  return `tsnspawn-${name}.service`;
}

/** Whether a unit state counts as running. */
export function isRunningState(unit: UnitEntry | undefined): boolean {
  return unit !== undefined && RUNNING_STATES.has(unit.activeState);
}

/** The host veth name of a container id (as src/network/link_plan.ts spells it). */
function vethOf(id: string): string {
  return `tsnv${id.slice(0, 11)}`;
}

function hexOf(digest: string): string | null {
  const m = /^sha256:([a-f0-9]{64})$/.exec(digest);
  return m ? m[1] : null;
}

function isError(value: unknown): value is { error: string } {
  return typeof value === "object" && value !== null && "error" in value;
}

/** Analyses a snapshot: every finding, with a safe repair where there is one. */
export function analyzeStore(s: StoreSnapshot): Finding[] {
  const units = new Map(s.units.map((u) => [u.name, u]));
  const findings: Finding[] = [
    ...checkTmp(s),
    ...checkContainers(s, units),
    ...checkMounts(s, units),
    ...checkUnits(s, units),
    ...checkImages(s),
    ...checkNetworks(s, units),
    ...checkVolumes(s),
  ];
  return findings;
}

// ---------------------------------------------------------------------------
// tmp/

function checkTmp(s: StoreSnapshot): Finding[] {
  const out: Finding[] = [];
  for (const entry of s.tmp) {
    if (KEPT_TMP.has(entry.name) || entry.live) continue;
    const path = join(s.root, "tmp", entry.name);
    out.push({
      severity: "problem",
      kind: "tmp-leftover",
      subject: path,
      message: `leftover of an interrupted operation (${describeTmp(entry.name)})`,
      repair: { action: "remove-tmp", path },
    });
  }
  return out;
}

/** What kind of operation left a tmp entry, from its name. */
export function describeTmp(name: string): string {
  const kinds: [RegExp, string][] = [
    [/^create-/, "container create"],
    [/^remove-/, "container removal"],
    [/^pull-/, "pull"],
    [/^import-/, "import"],
    [/^commit-/, "commit"],
    [/^build-context-/, "build context"],
    [/^build-.*\.lock$/, "build"],
    [/^build-/, "build step"],
    [/^load-/, "load"],
    [/^push-/, "push"],
    [/^network-remove-/, "network removal"],
    [/^volume-create-/, "volume create"],
    [/^volume-remove-/, "volume removal"],
    [/^network-/, "network create"],
    [/^delete-layer-/, "image removal"],
    [/^lease-.*\.lock$/, "container create with an address lease"],
    [/^\./, "image store write"],
  ];
  return kinds.find(([re]) => re.test(name))?.[1] ?? "unknown";
}

// ---------------------------------------------------------------------------
// Containers

function checkContainers(s: StoreSnapshot, units: Map<string, UnitEntry>): Finding[] {
  const out: Finding[] = [];
  for (const c of s.containers) {
    const dir = join(s.root, "containers", c.name);
    const running = isRunningState(units.get(c.name));
    if (typeof c.config === "object" && "id" in c.config && c.config.build && !c.buildLive) {
      // A RUN step's container whose build died (killed CLI, power loss): nothing will remove it.
      out.push({
        severity: "problem",
        kind: "build-leftover",
        subject: c.name,
        message: `RUN step container of build ${
          c.config.build.slice(0, 12)
        }, which is no longer running`,
        repair: { action: "remove-build-container", name: c.name, build: c.config.build },
      });
      continue;
    }
    if (
      typeof c.config === "object" && "id" in c.config && c.config.autoRemove && !running &&
      !c.locked && c.files.includes("scope")
    ) {
      // An attached `run --rm` in a scope whose CLI was killed: the container
      // ended without the CLI's removal (src/runtime/attached.ts).
      out.push({
        severity: "problem",
        kind: "rm-leftover",
        subject: c.name,
        message: "--rm container whose run ended without its removal (its CLI was killed)",
        repair: { action: "remove-ended-container", name: c.name },
      });
      continue;
    }
    const untouchable = running || c.locked;
    if (c.config === "missing" || isError(c.config)) {
      const what = c.config === "missing"
        ? "has no config.json"
        : `config.json is unreadable: ${c.config.error}`;
      out.push({
        severity: "problem",
        kind: c.config === "missing" ? "container-without-config" : "container-config-corrupt",
        subject: c.name,
        message: `container directory ${what}`,
        ...(untouchable
          ? {
            hint: `its unit is ${
              running ? "running" : "locked by another tsnspawn"
            }; stop it and run check again`,
          }
          : { repair: { action: "quarantine-container" as const, name: c.name, dir } }),
      });
      continue;
    }
    if (untouchable) continue;
    for (const file of c.files) {
      const path = join(dir, file);
      if (file === "start.fifo" || file === "setup.fifo") {
        out.push({
          severity: "problem",
          kind: "stale-fifo",
          subject: c.name,
          message: `${file} left by a start that did not finish`,
          repair: { action: "remove-container-file", name: c.name, path },
        });
      } else if (/\.tmp-[0-9a-f]+$/.test(file)) {
        out.push({
          severity: "problem",
          kind: "stale-temp-file",
          subject: c.name,
          message: `${file} left by an interrupted write`,
          repair: { action: "remove-container-file", name: c.name, path },
        });
      }
    }
    if (c.missingLowerDirs.length > 0) {
      out.push({
        severity: "problem",
        kind: "container-image-missing",
        subject: c.name,
        message: `${c.missingLowerDirs.length} of its image layers are missing: ${
          c.missingLowerDirs[0]
        }`,
        hint: `remove it with 'tsnspawn rm ${c.name}' and create it again`,
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Mounts and units

/** The container a path below `<root>/containers/` belongs to, if any. */
function containerOfPath(root: string, path: string): string | null {
  const prefix = join(root, "containers") + "/";
  if (!path.startsWith(prefix)) return null;
  return path.slice(prefix.length).split("/")[0] || null;
}

/** The volume whose `_data` a path is, if any. */
function volumeDataOf(root: string, path: string): string | null {
  const m = new RegExp(
    `^${join(root, "volumes").replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/([^/]+)/_data$`,
  )
    .exec(path);
  return m ? m[1] : null;
}

function checkMounts(s: StoreSnapshot, units: Map<string, UnitEntry>): Finding[] {
  const out: Finding[] = [];
  // A device-backed volume stays mounted on its _data until it is removed.
  const deviceVolumes = new Set(s.volumes.filter((v) => v.device).map((v) => v.name));
  const leaked = s.mounts.map((path, i) => ({ path, i })).filter(({ path }) => {
    const volume = volumeDataOf(s.root, path);
    if (volume !== null && deviceVolumes.has(volume)) return false;
    const owner = containerOfPath(s.root, path);
    return !(owner !== null && isRunningState(units.get(owner)));
  });
  // Deepest first, later (stacked) mounts before earlier ones.
  leaked.sort((a, b) => b.path.split("/").length - a.path.split("/").length || b.i - a.i);
  for (const { path } of leaked) {
    out.push({
      severity: "problem",
      kind: "leaked-mount",
      subject: path,
      message: "mounted in the host's namespace, but no running container owns it",
      repair: { action: "unmount", path },
    });
  }
  return out;
}

function checkUnits(s: StoreSnapshot, units: Map<string, UnitEntry>): Finding[] {
  const out: Finding[] = [];
  const existing = new Set(s.containers.map((c) => c.name));
  const declared = new Set(s.declared);
  for (const unit of units.values()) {
    const name = unit.unit ?? unitOf(unit.name);
    if (!existing.has(unit.name) && !declared.has(unit.name)) {
      // deactivating: an --rm container's cleanup removed the directory and the unit is ending.
      if (unit.activeState === "inactive" || unit.activeState === "deactivating") continue;
      out.push({
        severity: "problem",
        kind: "orphan-unit",
        subject: name,
        message: `unit is ${unit.activeState} but container ${unit.name} does not exist`,
        repair: { action: "stop-unit", name: unit.name, unit: name },
      });
    } else if (unit.activeState === "failed") {
      out.push({
        severity: "problem",
        kind: "failed-unit",
        subject: name,
        message: `unit failed (${unit.result})`,
        repair: { action: "reset-failed-unit", name: unit.name, unit: name },
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Volumes

function checkVolumes(s: StoreSnapshot): Finding[] {
  const out: Finding[] = [];
  const users = new Map<string, string[]>();
  for (const c of s.containers) {
    if (typeof c.config !== "object" || "error" in c.config) continue;
    for (const volume of c.config.volumes ?? []) {
      users.set(volume, [...(users.get(volume) ?? []), c.name]);
    }
  }
  const present = new Set(s.volumes.map((v) => v.name));
  for (const volume of s.volumes) {
    if (volume.config === "ok" || volume.locked) continue;
    const what = volume.config === "missing"
      ? "has no volume.json"
      : `volume.json is unreadable: ${volume.config.error}`;
    const used = users.get(volume.name) ?? [];
    out.push({
      severity: "problem",
      kind: volume.config === "missing" ? "volume-without-config" : "volume-config-corrupt",
      subject: volume.name,
      message: `volume directory ${what}`,
      ...(used.length > 0
        ? {
          hint: `containers ${used.join(", ")} mount it; restore volume.json or remove them first`,
        }
        : {
          repair: {
            action: "quarantine-volume" as const,
            name: volume.name,
            dir: join(s.root, "volumes", volume.name),
          },
        }),
    });
  }
  for (const [volume, containers] of users) {
    if (present.has(volume)) continue;
    out.push({
      severity: "problem",
      kind: "container-volume-missing",
      subject: containers[0],
      message: `mounts volume ${volume}, which does not exist`,
      hint: `create it with 'tsnspawn volume create ${volume}', or remove ${
        containers.length === 1 ? "the container" : `containers ${containers.join(", ")}`
      }`,
    });
  }
  for (const volume of s.volumes) {
    if (volume.config !== "ok" || !volume.anonymous || users.has(volume.name)) continue;
    out.push({
      severity: "note",
      kind: "unused-anonymous-volume",
      subject: volume.name,
      message: "anonymous volume no container uses",
      hint: "'tsnspawn volume prune' removes it",
    });
  }
  return out;
}

// ---------------------------------------------------------------------------
// Images

function checkImages(s: StoreSnapshot): Finding[] {
  const img = s.images;
  if (img.busy) {
    return [{
      severity: "note",
      kind: "image-store-busy",
      subject: join(s.root, "images"),
      message: "another tsnspawn holds the image store lock; the image store was not checked",
    }];
  }
  const out: Finding[] = [];
  const entries: [string, string][] = [];
  if (isError(img.repositories)) {
    out.push({
      severity: "problem",
      kind: "image-index-corrupt",
      subject: "repositories.json",
      message: `the tag index is unreadable: ${img.repositories.error}`,
      hint: "restore it from a backup, or remove the image store and pull again",
    });
  } else {
    entries.push(...Object.entries(img.repositories));
  }
  if (isError(img.untagged)) {
    out.push({
      severity: "problem",
      kind: "image-index-corrupt",
      subject: "untagged.json",
      message: `the untagged index is unreadable: ${img.untagged.error}`,
      hint: "restore it from a backup, or remove it (its images become garbage for 'image prune')",
    });
  } else {
    for (const digest of img.untagged) entries.push([`<untagged ${digest.slice(0, 19)}>`, digest]);
  }
  // Build cache entries keep their images; a broken one only makes that step miss: drop it.
  for (const [hex, digest] of Object.entries(img.buildCache ?? {})) {
    const path = join(s.root, "images", "build-cache", hex);
    const manifest = typeof digest === "string" ? img.manifests[digest] : undefined;
    const config = manifest && typeof manifest === "object" && !isError(manifest)
      ? img.configs[manifest.config]
      : undefined;
    const layersMissing = config && typeof config === "object" && !isError(config)
      ? config.diffIds.some((d) => !img.layers.some((l) => `sha256:${l.hex}` === d && l.hasDiff))
      : true;
    if (typeof digest !== "string" || layersMissing) {
      out.push({
        severity: "problem",
        kind: "build-cache-broken",
        subject: `build cache sha256:${hex}`,
        message: typeof digest === "string"
          ? `its image ${digest.slice(0, 19)} is incomplete`
          : `unreadable: ${digest.error}`,
        repair: { action: "remove-cache-entry", hex, path },
      });
      continue;
    }
    entries.push([`<build cache ${hex.slice(0, 12)}>`, digest]);
  }

  const liveBlobs = new Set<string>();
  const liveLayers = new Set<string>();
  const blobs = new Set(img.blobs);
  const layers = new Map(img.layers.map((l) => [l.hex, l]));
  for (const [tag, digest] of entries) {
    const broken = (message: string): Finding => ({
      severity: "problem",
      kind: "image-broken",
      subject: tag,
      message,
      hint: `remove it with 'tsnspawn rmi ${
        tag.startsWith("<") ? digest : tag
      }' and pull or import it again`,
    });
    const mhex = hexOf(digest);
    if (mhex) liveBlobs.add(mhex);
    const manifest = img.manifests[digest];
    if (manifest === undefined || manifest === "missing") {
      out.push(broken(`manifest ${digest} is missing`));
      continue;
    }
    if (isError(manifest)) {
      out.push(broken(`manifest ${digest} is unreadable: ${manifest.error}`));
      continue;
    }
    const chex = hexOf(manifest.config);
    if (chex) liveBlobs.add(chex);
    for (const layer of manifest.layers) {
      const h = hexOf(layer);
      if (h) liveBlobs.add(h);
    }
    const config = img.configs[manifest.config];
    if (config === undefined || config === "missing") {
      out.push(broken(`config ${manifest.config} is missing`));
      continue;
    }
    if (isError(config)) {
      out.push(broken(`config ${manifest.config} is unreadable: ${config.error}`));
      continue;
    }
    const missing: string[] = [];
    for (const diffId of config.diffIds) {
      const h = hexOf(diffId);
      if (!h) {
        missing.push(diffId);
        continue;
      }
      liveLayers.add(h);
      const layer = layers.get(h);
      if (!layer || !layer.hasDiff) missing.push(diffId);
    }
    if (missing.length > 0) {
      out.push(broken(`${missing.length} layer(s) missing, first ${missing[0]}`));
    }
  }
  if (isError(img.repositories) || isError(img.untagged)) return out; // reachability unknown

  // Layers used by containers directly (lowerDirs) are live as well.
  const layersDir = join(s.root, "images", "layers") + "/";
  for (const c of s.containers) {
    if (typeof c.config !== "object" || isError(c.config)) continue;
    for (const dir of c.config.lowerDirs) {
      if (dir.startsWith(layersDir)) liveLayers.add(dir.slice(layersDir.length).split("/")[0]);
    }
  }
  for (const layer of img.layers) {
    const path = join(s.root, "images", "layers", layer.hex);
    const partial = !layer.hasDiff || !layer.hasSize;
    if (liveLayers.has(layer.hex)) {
      if (partial && layer.hasDiff) {
        out.push({
          severity: "note",
          kind: "layer-size-missing",
          subject: `layer sha256:${layer.hex}`,
          message: "its size file is missing (sizes shown as 0)",
        });
      }
      continue;
    }
    if (partial) {
      out.push({
        severity: "problem",
        kind: "partial-layer",
        subject: `layer sha256:${layer.hex}`,
        message: "incomplete layer directory that no image uses",
        repair: { action: "remove-partial-layer", hex: layer.hex, path },
      });
    } else {
      out.push({
        severity: "note",
        kind: "unreferenced-layer",
        subject: `layer sha256:${layer.hex}`,
        message: "no image or container uses it; 'tsnspawn image prune' removes it",
      });
    }
  }
  const unreferenced = [...blobs].filter((hex) => !liveBlobs.has(hex));
  for (const hex of unreferenced) {
    out.push({
      severity: "note",
      kind: "unreferenced-blob",
      subject: `blob sha256:${hex}`,
      message: "no image references it; 'tsnspawn image prune' removes it",
    });
  }
  return out;
}

// ---------------------------------------------------------------------------
// Networks

function checkNetworks(s: StoreSnapshot, units: Map<string, UnitEntry>): Finding[] {
  const out: Finding[] = [];
  const configs = new Map<string, ContainerConfigSummary>();
  for (const c of s.containers) {
    if (typeof c.config === "object" && !isError(c.config)) configs.set(c.name, c.config);
  }
  const liveOps = new Set(
    s.tmp.filter((t) => t.live && /^lease-.*\.lock$/.test(t.name)).map((t) => t.name.slice(6, -5)),
  );
  const leased = new Map<string, Set<string>>(); // network → container ids with a lease
  for (const network of s.networks) {
    if (isError(network.leases)) {
      out.push({
        severity: "problem",
        kind: "leases-corrupt",
        subject: `network ${network.name}`,
        message: `leases.json is unreadable: ${network.leases.error}`,
        hint: "restore it from a backup; addresses may be handed out twice until then",
      });
      continue;
    }
    const ids = new Set<string>();
    leased.set(network.name, ids);
    const byAddress = new Map<string, LeaseSummary[]>();
    for (const lease of network.leases) {
      ids.add(lease.id);
      byAddress.set(lease.address, [...(byAddress.get(lease.address) ?? []), lease]);
      const owner = configs.get(lease.container);
      const live = owner !== undefined && owner.id === lease.id;
      if (live || liveOps.has(lease.id)) continue;
      // A container whose directory is unreadable may still own it: leave that to the user.
      if (s.containers.some((c) => c.name === lease.container && typeof c.config !== "object")) {
        continue;
      }
      if (s.containers.some((c) => c.name === lease.container && isError(c.config))) continue;
      out.push({
        severity: "problem",
        kind: "orphan-lease",
        subject: `network ${network.name}`,
        message: `lease of ${lease.address} for ${lease.container} (${
          lease.id.slice(0, 12)
        }), which no longer exists`,
        repair: {
          action: "release-lease",
          network: network.name,
          id: lease.id,
          container: lease.container,
        },
      });
    }
    for (const [address, holders] of byAddress) {
      if (holders.length < 2) continue;
      out.push({
        severity: "problem",
        kind: "duplicate-lease",
        subject: `network ${network.name}`,
        message: `${address} is leased to ${holders.map((h) => h.container).join(" and ")}`,
        hint: `remove and recreate all but one of them ('tsnspawn rm -f NAME')`,
      });
    }
  }
  // Bridge containers must hold their lease, or the address may be handed out again.
  for (const [name, config] of configs) {
    if (!config.bridge) continue;
    const ids = leased.get(config.bridge.network);
    if (!ids || ids.has(config.id)) continue;
    const network = s.networks.find((n) => n.name === config.bridge!.network);
    const taken = network && !isError(network.leases) &&
      network.leases.some((l) => l.address === config.bridge!.address);
    out.push({
      severity: "problem",
      kind: "missing-lease",
      subject: name,
      message: `holds ${config.bridge.address} on ${config.bridge.network} without a lease`,
      ...(taken ? { hint: `the address is leased to another container; recreate ${name}` } : {
        repair: {
          action: "restore-lease" as const,
          network: config.bridge.network,
          id: config.id,
          container: name,
          address: config.bridge.address,
        },
      }),
    });
  }

  // Kernel side: veths and published ports of containers that are not running.
  const runningVeths = new Set<string>();
  const runningAddresses = new Set<string>();
  for (const [name, config] of configs) {
    if (!isRunningState(units.get(name))) continue;
    runningVeths.add(vethOf(config.id));
    if (config.bridge) runningAddresses.add(config.bridge.address);
  }
  const locked = new Set(s.containers.filter((c) => c.locked).map((c) => c.name));
  const lockedVeths = new Set(
    [...configs].filter(([n]) => locked.has(n)).map(([, c]) => vethOf(c.id)),
  );
  for (const device of s.veths) {
    if (runningVeths.has(device) || lockedVeths.has(device)) continue;
    out.push({
      severity: "problem",
      kind: "stale-veth",
      subject: device,
      message: "host end of a veth pair whose container is not running",
      repair: { action: "delete-veth", device },
    });
  }
  const stale = [...new Set(s.publishedAddresses)].filter((a) => !runningAddresses.has(a));
  if (stale.length > 0) {
    out.push({
      severity: "problem",
      kind: "stale-published-ports",
      subject: "nftables inet tsnspawn",
      message: `published-port rules point at ${stale.join(", ")}, which no running container has`,
      repair: { action: "sweep-published-ports" },
    });
  }
  return out;
}

/** True when a finding makes the store inconsistent (a problem not repaired). */
export function isProblem(finding: Finding): boolean {
  return finding.severity === "problem";
}

/** One line for a finding: `problem: SUBJECT: MESSAGE`, prefixed by what was done. */
export function formatFinding(
  finding: Finding,
  outcome?: "repaired" | "would repair" | "failed",
): string {
  const label = outcome ?? (finding.severity === "note" ? "note" : "problem");
  const hint = !outcome && finding.hint ? ` (hint: ${finding.hint})` : "";
  return `${label}: ${finding.subject}: ${finding.message}${hint}`;
}

/** Repairs in a safe order: units first (their cleanups run), then mounts, then files. */
export function sortRepairs(findings: Finding[]): Finding[] {
  const order: Repair["action"][] = [
    "stop-unit",
    "remove-build-container",
    "remove-ended-container",
    "reset-failed-unit",
    "unmount",
    "delete-veth",
    "sweep-published-ports",
    "remove-container-file",
    "quarantine-container",
    "quarantine-volume",
    "remove-tmp",
    "remove-partial-layer",
    "remove-cache-entry",
    "release-lease",
    "restore-lease",
  ];
  return [...findings].sort((a, b) =>
    order.indexOf(a.repair!.action) - order.indexOf(b.repair!.action)
  );
}

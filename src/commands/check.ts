/**
 * `tsnspawn check [-n] [--json]`: verifies the state tsnspawn keeps and
 * repairs what is provably safe to repair (the analysis is pure:
 * src/store_check.ts; this file takes the snapshot and applies repairs).
 *
 * Docker has no such command (its daemon cleans up at start); tsnspawn has no
 * daemon, so crashes of the CLI or of the host leave their traces until a
 * `check` (or the operation that trips over them). Repair is the default
 * because every repair is safe by construction: it is taken only when no
 * live process holds the lock that guards the thing (flock try-lock) and
 * systemd says the container is not running, and it is re-verified right
 * before it is applied. `-n` only reports. Garbage the image store keeps
 * until `image prune` is reported as a note.
 *
 * Passes: snapshot → analyse → repair, repeated (at most 3 times) while
 * repairs made progress (a quarantined container frees its lease, for
 * example), then a final snapshot decides the exit status: 1 when problems
 * remain, else 0. One line per finding; `--json` prints them all as JSON.
 *
 * Man pages: flock(2), umount2(2), proc(5) (mountinfo); systemd
 * org.freedesktop.systemd1(5) (StopUnit, ResetFailedUnit).
 */
import { join } from "@std/path";
import { TsnspawnError } from "../errors.ts";
import {
  containerPaths,
  containersDir,
  declaredDir,
  networkPaths,
  networksDir,
  networksLock,
  stateRoot,
  tmpDir,
  unitName,
} from "../paths.ts";
import { randomHex, writeFileAtomic } from "../container/state.ts";
import { storePaths } from "../image/store.ts";
import { tryLockPath } from "../staging.ts";
import {
  analyzeStore,
  type ContainerConfigSummary,
  type ContainerEntry,
  type Finding,
  formatFinding,
  type ImageStoreSnapshot,
  isRunningState,
  type NetworkEntry,
  type Repair,
  type StoreSnapshot,
  type TmpEntry,
  type UnitEntry,
} from "../store_check.ts";
import type { CommandContext } from "./context.ts";
import type { Systemd } from "../systemd/bus.ts";

/** Options of {@link checkCommand}. */
export interface CheckOptions {
  /** -n: report only. */
  dryRun: boolean;
}

/** What one finding came to. */
export interface CheckResult {
  finding: Finding;
  outcome: "repaired" | "would repair" | "failed" | "remains";
  error?: string;
}

const MAX_PASSES = 3;

/** Runs `check`; returns the exit status (1 when problems remain). */
export async function checkCommand(ctx: CommandContext, options: CheckOptions): Promise<number> {
  const systemd = await ctx.systemd();
  const results = await checkStore(systemd, options);
  const remaining = results.filter((r) =>
    r.finding.severity === "problem" && r.outcome !== "repaired"
  );
  if (ctx.json) {
    ctx.print(JSON.stringify(
      {
        consistent: remaining.length === 0,
        findings: results.map((r) => ({ ...r.finding, outcome: r.outcome, error: r.error })),
      },
      null,
      2,
    ));
  } else {
    for (const r of results) {
      const line = r.outcome === "remains"
        ? formatFinding(r.finding)
        : formatFinding(r.finding, r.outcome);
      ctx.print(r.error ? `${line} (${r.error})` : line);
    }
    const repaired = results.filter((r) => r.outcome === "repaired").length;
    ctx.print(
      remaining.length === 0
        ? `consistent${repaired ? ` (${repaired} repaired)` : ""}`
        : `${remaining.length} problem(s) remain${repaired ? ` (${repaired} repaired)` : ""}`,
    );
  }
  return remaining.length === 0 ? 0 : 1;
}

/**
 * Checks and (unless `dryRun`) repairs. Repaired findings are listed once
 * with outcome "repaired"; the findings of the final pass follow.
 */
export async function checkStore(systemd: Systemd, options: CheckOptions): Promise<CheckResult[]> {
  const done: CheckResult[] = [];
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const store = lockImageStore();
    try {
      const findings = analyzeStore(await takeSnapshot(systemd, store !== "busy"));
      const repairable = findings.filter((f) => f.repair);
      if (options.dryRun || repairable.length === 0) {
        return [
          ...done,
          ...findings.map((finding) => ({
            finding,
            outcome: finding.repair && options.dryRun
              ? "would repair" as const
              : "remains" as const,
          })),
        ];
      }
      let progress = false;
      for (const finding of sortRepairs(repairable)) {
        try {
          if (await applyRepair(systemd, finding.repair!)) {
            done.push({ finding, outcome: "repaired" });
            progress = true;
          }
        } catch (error) {
          done.push({
            finding,
            outcome: "failed",
            error: error instanceof Error ? error.message : String(error),
          });
        }
      }
      if (!progress) break;
    } finally {
      if (store && store !== "busy") store.close();
    }
  }
  const store = lockImageStore();
  try {
    const final = analyzeStore(await takeSnapshot(systemd, store !== "busy"));
    return [
      ...done.filter((r) => r.outcome === "repaired"),
      ...final.map((finding) => ({ finding, outcome: "remains" as const })),
    ];
  } finally {
    if (store && store !== "busy") store.close();
  }
}

/** The store lock, try-locked (null: no store yet). */
function lockImageStore(): Deno.FsFile | "busy" | null {
  return tryLockPath(storePaths().lock);
}

/** Repairs in a safe order: units first (their cleanups run), then mounts, then files. */
function sortRepairs(findings: Finding[]): Finding[] {
  const order: Repair["action"][] = [
    "stop-unit",
    "reset-failed-unit",
    "unmount",
    "delete-veth",
    "sweep-published-ports",
    "remove-container-file",
    "quarantine-container",
    "remove-tmp",
    "remove-partial-layer",
    "release-lease",
    "restore-lease",
  ];
  return [...findings].sort((a, b) =>
    order.indexOf(a.repair!.action) - order.indexOf(b.repair!.action)
  );
}

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

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Whether a live process holds the flock on `path`. */
function isLocked(path: string): boolean {
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
  return { id: value.id, lowerDirs: value.lowerDirs.map(String), ...(bridge ? { bridge } : {}) };
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
    out.push({ name: entry.name, config, locked: isLocked(paths.lock), files, missingLowerDirs });
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
  return false;
}

function snapshotTmp(imagesLocked: boolean): TmpEntry[] {
  return readDirNames(tmpDir()).map((e) => ({
    name: e.name,
    live: tmpEntryLive(e.name, imagesLocked),
  }));
}

async function snapshotUnits(systemd: Systemd): Promise<UnitEntry[]> {
  const names = await systemd.listUnitNames(["tsnspawn-*.service"]);
  const out: UnitEntry[] = [];
  for (const unit of names) {
    // Container units only: not the companions `tsnspawn-machine@NAME.service` (src/systemd/machined.ts).
    const m = /^tsnspawn-([^@]+)\.service$/.exec(unit);
    if (!m) continue;
    const state = await systemd.unitState(unit);
    if (!state) continue;
    out.push({
      name: m[1],
      activeState: state.activeState,
      subState: state.subState,
      result: state.result,
    });
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
  };
  if (!locked) return empty;
  const repositories = readJsonOr<Record<string, string>>(p.repositories, {});
  const untagged = readJsonOr<string[]>(p.untagged, []);
  const digests = [
    ...(typeof repositories === "object" && !("error" in repositories)
      ? Object.values(repositories)
      : []),
    ...(Array.isArray(untagged) ? untagged : []),
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
    declared: readDirNames(declaredDir()).filter((e) => e.name.endsWith(".container"))
      .map((e) => e.name.slice(0, -".container".length)),
  };
}

// ---------------------------------------------------------------------------
// Repairs

/** Holds a container's lock (when it has a lock file) while `action` runs; false when busy. */
async function withIdleContainer(
  systemd: Systemd,
  name: string,
  action: () => void | Promise<void>,
): Promise<boolean> {
  const lock = tryLockPath(containerPaths(name).lock);
  if (lock === "busy") return false;
  try {
    const state = await systemd.unitState(unitName(name));
    if (state && isRunningState({ name, ...state })) return false;
    await action();
    return true;
  } finally {
    lock?.close();
  }
}

/** Applies one repair after re-checking its precondition; false when it no longer applies. */
async function applyRepair(systemd: Systemd, repair: Repair): Promise<boolean> {
  switch (repair.action) {
    case "remove-tmp": {
      const name = repair.path.slice(tmpDir().length + 1);
      const held = tryLockPath(repair.path);
      if (held === "busy" || held === null) return false;
      try {
        if (tmpEntryLiveGuard(name)) return false;
        Deno.removeSync(repair.path, { recursive: true });
        return true;
      } finally {
        held.close();
      }
    }
    case "quarantine-container":
      return await withIdleContainer(systemd, repair.name, () => {
        const lostFound = join(stateRoot(), "lost+found");
        Deno.mkdirSync(lostFound, { recursive: true, mode: 0o700 });
        Deno.renameSync(repair.dir, join(lostFound, `${repair.name}-${randomHex(4)}`));
      });
    case "remove-container-file":
      return await withIdleContainer(systemd, repair.name, () => Deno.removeSync(repair.path));
    case "unmount": {
      const { umount2, MNT_DETACH } = await import("../../ffi/mount.ts");
      umount2(repair.path, MNT_DETACH);
      return true;
    }
    case "stop-unit": {
      if (exists(containerPaths(repair.name).dir)) return false;
      await systemd.stopUnit(repair.unit).catch(() => {});
      await systemd.waitUntilInactive(repair.unit, 30_000);
      await systemd.resetFailedUnit(repair.unit).catch(() => {});
      return true;
    }
    case "reset-failed-unit":
      await systemd.resetFailedUnit(repair.unit);
      return true;
    case "release-lease": {
      if (isLocked(join(tmpDir(), `lease-${repair.id}.lock`))) return false;
      const { leaseIsLive, releaseLease } = await import("../network/network_store.ts");
      const lease = {
        address: "",
        container: repair.container,
        id: repair.id,
        hostname: "",
        since: "",
      };
      if (leaseIsLive(lease)) return false;
      releaseLease(repair.network, repair.id);
      return true;
    }
    case "restore-lease":
      return await restoreLease(repair);
    case "remove-partial-layer": {
      // The caller holds the store lock for the whole pass.
      const away = join(tmpDir(), `delete-layer-${repair.hex}-${randomHex(6)}`);
      Deno.renameSync(repair.path, away);
      Deno.removeSync(away, { recursive: true });
      return true;
    }
    case "delete-veth": {
      const out = new Deno.Command("ip", {
        args: ["link", "delete", repair.device],
        stdout: "null",
        stderr: "piped",
      })
        .outputSync();
      if (!out.success && exists(`/sys/class/net/${repair.device}`)) {
        throw new TsnspawnError(
          "system",
          `ip link delete ${repair.device}: ${new TextDecoder().decode(out.stderr).trim()}`,
        );
      }
      return true;
    }
    case "sweep-published-ports": {
      const { sweepPublishElements } = await import("../network/host_network.ts");
      const { withNetworksLockSync } = await import("../network/network_store.ts");
      withNetworksLockSync(() => sweepPublishElements(null));
      return true;
    }
  }
}

/** The guard locks of a tmp entry other than its own flock. */
function tmpEntryLiveGuard(name: string): boolean {
  const path = join(tmpDir(), name);
  if (name.startsWith(".")) return false; // the caller holds the store lock for the pass
  if (name.startsWith("network-") && !name.startsWith("network-remove-")) {
    return isLocked(networksLock());
  }
  if (name.startsWith("remove-")) return isLocked(join(path, "lock"));
  return false;
}

/** Gives a bridge container its lease back (the address was free). */
async function restoreLease(
  repair: Extract<Repair, { action: "restore-lease" }>,
): Promise<boolean> {
  const store = await import("../network/network_store.ts");
  const { planHostsFile } = await import("../network/hosts_file.ts");
  return store.withNetworkLockSync(repair.network, () => {
    const file = store.readLeases(repair.network);
    if (file.leases.some((l) => l.id === repair.id || l.address === repair.address)) return false;
    let hostname = repair.container;
    try {
      hostname =
        JSON.parse(Deno.readTextFileSync(containerPaths(repair.container).config)).hostname ??
          hostname;
    } catch { /* keep the name */ }
    file.leases.push({
      address: repair.address,
      container: repair.container,
      id: repair.id,
      hostname,
      since: new Date().toISOString(),
    });
    const paths = networkPaths(repair.network);
    writeFileAtomic(paths.leases, JSON.stringify(file, null, 2) + "\n", 0o600);
    store.rewriteInPlace(paths.hosts, planHostsFile(repair.network, file.leases));
    return true;
  });
}

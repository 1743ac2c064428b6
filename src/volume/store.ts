/**
 * The volume store under `<root>/volumes/` (effects).
 *
 * Crash safety, as for containers (src/container/state.ts): a new volume is
 * built completely in `<root>/tmp/volume-create-*` (its flock held, so
 * `tsnspawn check` leaves it alone while the creator lives) and renamed
 * into place; rename(2) fails when the name exists, which is also how a
 * name conflict is found. Removal locks the volume directory, renames it to
 * `<root>/tmp/volume-remove-*` (the flock goes along: the inode is the
 * same) and deletes it there, so a half-deleted volume is never visible.
 *
 * `<root>/volumes/lock` serializes removals against containers that take
 * volumes (src/ops/volume.ts, src/ops/create.ts): a volume in use is never
 * removed. A device-backed volume (tmpfs, bind, a block device: volume/
 * config.ts) is mounted on its `_data` directory in the host's mount
 * namespace the first time a container starts with it (the shim, before it
 * unshares), under the volume's own lock, and stays mounted until the volume
 * is removed or the host reboots.
 *
 * Loads no npm package: the shim calls {@link ensureVolumeMounted}.
 *
 * Man pages: rename(2), flock(2), mount(2), umount2(2).
 */
import { TsnspawnError } from "../errors.ts";
import { join } from "../path_util.ts";
import {
  ensureStore,
  listDirectoryNames,
  randomHex,
  removeTree,
  writeFileAtomic,
  writeNewFileSynced,
} from "../files.ts";
import { tmpDir, volumePaths, volumePathsAt, volumesDir, volumesLock } from "../paths.ts";
import { createStagingDir, releaseStaging } from "../staging.ts";
import { planVolumeMount, type VolumeConfig, type VolumeDeviceMount } from "./config.ts";
import { MNT_DETACH, mount, MS_BIND, MS_REC, MS_REMOUNT, umount2 } from "../../ffi/mount.ts";

/** Reads a volume's record; null when there is no such volume. */
export function readVolume(name: string): VolumeConfig | null {
  let text: string;
  try {
    text = Deno.readTextFileSync(volumePaths(name).config);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return null;
    }
    throw error;
  }
  try {
    return JSON.parse(text) as VolumeConfig;
  } catch (error) {
    throw new TsnspawnError("invalid", `volume ${name}: volume.json is corrupt`, {
      hint: "run 'tsnspawn check'",
      cause: error,
    });
  }
}

/** A volume's record; a clear error when it does not exist. */
export function loadVolume(name: string): VolumeConfig {
  const config = readVolume(name);
  if (!config) {
    throw new TsnspawnError("not-found", `volume ${name}: no such volume`, {
      hint: "see 'tsnspawn volume ls', or create it with 'tsnspawn volume create'",
    });
  }
  return config;
}

/** Names of all volumes, sorted. */
export function listVolumeNames(): string[] {
  return listDirectoryNames(volumesDir());
}

/** Runs `action` holding the volumes lock (exclusive flock, released by the kernel if we die). */
export function withVolumesLock<T>(action: () => T): T {
  ensureStore();
  Deno.mkdirSync(volumesDir(), { recursive: true, mode: 0o700 });
  const file = Deno.openSync(volumesLock(), { write: true, create: true, mode: 0o600 });
  try {
    file.lockSync(true);
    return action();
  } finally {
    file.close();
  }
}

/** Ownership of a new volume's `_data` (podman's --uid/--gid, the `uid`/`gid` options). */
function dataOwner(config: VolumeConfig): { uid: number; gid: number } | null {
  const uid = config.options.uid;
  const gid = config.options.gid;
  if (uid === undefined && gid === undefined) return null;
  return { uid: Number(uid ?? 0), gid: Number(gid ?? 0) };
}

/**
 * Creates a volume directory atomically (staged in tmp/, renamed into
 * place). Throws a conflict when the name is taken.
 */
export function createVolumeDir(config: VolumeConfig): void {
  ensureStore();
  Deno.mkdirSync(volumesDir(), { recursive: true, mode: 0o700 });
  const staging = join(tmpDir(), `volume-create-${config.name}-${randomHex(6)}`);
  const staged = volumePathsAt(staging);
  try {
    createStagingDir(staging);
    Deno.chmodSync(staging, 0o755);
    Deno.mkdirSync(staged.data, { mode: 0o755 });
    Deno.chmodSync(staged.data, 0o755); // past the umask, as docker's
    const owner = dataOwner(config);
    if (owner) Deno.chownSync(staged.data, owner.uid, owner.gid);
    Deno.writeTextFileSync(staged.lock, "");
    writeNewFileSynced(staged.config, JSON.stringify(config, null, 2) + "\n", 0o644);
    try {
      Deno.renameSync(staging, volumePaths(config.name).dir);
    } catch (error) {
      if (
        error instanceof Deno.errors.AlreadyExists ||
        (error instanceof Error && /ENOTEMPTY|not empty|os error 39/i.test(error.message))
      ) {
        throw new TsnspawnError("conflict", `volume ${config.name}: already exists`, {
          hint: "see 'tsnspawn volume inspect " + config.name + "'",
        });
      }
      throw error;
    }
  } catch (error) {
    removeTree(staging);
    throw error;
  } finally {
    releaseStaging(staging);
  }
}

/** Rewrites a volume's record (labels after the fact: none yet; kept for repairs). */
export function writeVolumeConfig(config: VolumeConfig): void {
  writeFileAtomic(volumePaths(config.name).config, JSON.stringify(config, null, 2) + "\n");
}

/** Unescapes the octal escapes (\040 etc.) of a /proc/self/mountinfo path. */
function unescapeMountPath(field: string): string {
  return field.replace(
    /\\([0-7]{3})/g,
    (_, octal: string) => String.fromCharCode(parseInt(octal, 8)),
  );
}

/** Whether `path` is a mount point in our mount namespace (any stacked mount). */
export function isMountPoint(path: string): boolean {
  for (const line of Deno.readTextFileSync("/proc/self/mountinfo").split("\n")) {
    const fields = line.split(" ");
    if (fields.length >= 5 && unescapeMountPath(fields[4]) === path) return true;
  }
  return false;
}

/** mount(2) flag bits of the option words a volume's `o=` may hold. */
const FLAG_BITS: Record<string, number> = {
  ro: 1, // MS_RDONLY
  nosuid: 2, // MS_NOSUID
  nodev: 4, // MS_NODEV
  noexec: 8, // MS_NOEXEC
  sync: 16, // MS_SYNCHRONOUS
  noatime: 1024, // MS_NOATIME
  relatime: 1 << 21, // MS_RELATIME
  strictatime: 1 << 24, // MS_STRICTATIME
};

function mountDevice(plan: VolumeDeviceMount, target: string): void {
  const flags = plan.flags.reduce((bits, word) => bits | (FLAG_BITS[word] ?? 0), 0);
  if (plan.type === "bind") {
    try {
      if (!Deno.statSync(plan.device).isDirectory) throw new Error("not a directory");
    } catch (error) {
      throw new TsnspawnError(
        "not-found",
        `volume device ${plan.device}: not a directory on the host (${(error as Error).message})`,
      );
    }
    mount(plan.device, target, null, MS_BIND | MS_REC);
    if (flags !== 0) mount(null, target, null, MS_BIND | MS_REMOUNT | flags);
    return;
  }
  mount(plan.device, target, plan.type, flags, plan.data === "" ? null : plan.data);
}

/**
 * Mounts a device-backed volume on its `_data` unless it is mounted already
 * (the shim, in the host's mount namespace, before it unshares). Plain
 * volumes need nothing.
 */
export function ensureVolumeMounted(name: string): void {
  const config = loadVolume(name);
  const plan = planVolumeMount(config.options);
  if (!plan) return;
  const paths = volumePaths(name);
  const lock = Deno.openSync(paths.lock, { read: true, write: true, create: true, mode: 0o600 });
  try {
    lock.lockSync(true);
    if (!isMountPoint(paths.data)) mountDevice(plan, paths.data);
  } finally {
    lock.close();
  }
}

/** Detaches every mount stacked on a volume's `_data` (removal). */
function unmountData(data: string): void {
  for (let i = 0; i < 16 && isMountPoint(data); i++) umount2(data, MNT_DETACH);
}

/**
 * Removes a volume directory: locks it, detaches its device, renames it to
 * tmp/ and deletes it there. The caller holds the volumes lock and checked
 * that no container uses it. Missing is fine.
 */
export function removeVolumeDir(name: string): void {
  const paths = volumePaths(name);
  let handle: Deno.FsFile;
  try {
    handle = Deno.openSync(paths.dir, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  try {
    // The flock follows the directory into tmp/: `check` sees a live removal.
    handle.lockSync(true);
    unmountData(paths.data);
    const trash = join(tmpDir(), `volume-remove-${name}-${randomHex(6)}`);
    try {
      Deno.renameSync(paths.dir, trash);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw error;
    }
    removeTree(trash);
  } finally {
    handle.close();
  }
}

/** Whether a volume's content directory is empty (copy-up fills only an empty volume). */
export function isEmptyDir(path: string): boolean {
  for (const _ of Deno.readDirSync(path)) return false;
  return true;
}

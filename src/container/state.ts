/**
 * The container state store under `<root>/containers/`.
 *
 * Crash safety: a container directory is built completely in `<root>/tmp`
 * and renamed into place (rename(2) of a directory is atomic and fails when
 * the name exists, which is also how name conflicts are detected). Files are
 * replaced by temp file + rename. Removal renames the directory away first so
 * a half-deleted container is never visible. A lock file per container
 * (flock, released by the kernel if the holder dies) serializes changes.
 */
import {
  ensureStore,
  listDirectoryNames,
  randomHex,
  removeTree,
  writeFileAtomic,
  writeNewFileSynced,
} from "../files.ts";
import { join } from "../path_util.ts";
import { TsnspawnError } from "../errors.ts";
import {
  type ContainerPaths,
  containerPaths,
  containerPathsAt,
  containersDir,
  scopeUnitName,
  tmpDir,
  unitName,
} from "../paths.ts";
import type { ContainerConfig } from "./config.ts";
import { createStagingDir, releaseStaging } from "../staging.ts";

/** What the cleanup records when the container's process ends. */
export interface ExitRecord {
  /** systemd's $EXIT_CODE: "exited", "killed", "dumped". */
  exitCode: string;
  /** $EXIT_STATUS: the exit status or the signal name/number. */
  exitStatus: string;
  /** $SERVICE_RESULT: "success", "exit-code", "signal", "timeout", ... */
  serviceResult: string;
  /** When the cleanup ran (ISO 8601). */
  finishedAt: string;
  /** Automatic restarts before this run ended (systemd's NRestarts), when known. */
  restarts?: number;
}

/** True when a container of that name exists. */
export function containerExists(name: string): boolean {
  try {
    Deno.statSync(containerPaths(name).config);
    return true;
  } catch {
    return false;
  }
}

/** Reads a container's config; clear error when it does not exist. */
export function loadContainer(name: string): ContainerConfig {
  const paths = containerPaths(name);
  let text: string;
  try {
    text = Deno.readTextFileSync(paths.config);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new TsnspawnError("not-found", `container ${name}: no such container`, {
        hint: "see 'tsnspawn list -a' for the containers there are",
      });
    }
    throw error;
  }
  try {
    return JSON.parse(text) as ContainerConfig;
  } catch (error) {
    throw new TsnspawnError("invalid", `container ${name}: config.json is corrupt`, {
      hint: "remove it with 'tsnspawn rm -f " + name + "'",
      cause: error,
    });
  }
}

/** The exit recorded by the last cleanup, or null. */
export function loadExitRecord(name: string): ExitRecord | null {
  try {
    return JSON.parse(Deno.readTextFileSync(containerPaths(name).state)) as ExitRecord;
  } catch {
    return null;
  }
}

/** Names of all containers, sorted. */
export function listContainerNames(): string[] {
  return listDirectoryNames(containersDir());
}

/** Files of the "init layer" written beside the config. */
export interface InitLayerFiles {
  hostname: string;
  hosts: string;
  resolvConf: string;
}

/**
 * Creates the container directory atomically: everything is prepared in
 * `<root>/tmp` and renamed to `<root>/containers/<name>`. Throws a conflict
 * when the name is taken.
 */
export function createContainerDir(config: ContainerConfig, files: InitLayerFiles): ContainerPaths {
  ensureStore();
  const final = containerPaths(config.name);
  const staging = join(tmpDir(), `create-${config.name}-${randomHex(6)}`);
  const staged = containerPathsAt(staging);
  try {
    createStagingDir(staging); // flock held until renamed: `tsnspawn check` leaves it alone
    for (const dir of [staged.upper, staged.work, staged.rootfs, staged.etc]) {
      Deno.mkdirSync(dir, { mode: 0o755 });
    }
    Deno.writeTextFileSync(staged.hostname, files.hostname);
    Deno.writeTextFileSync(staged.hosts, files.hosts);
    Deno.writeTextFileSync(staged.resolvConf, files.resolvConf);
    Deno.writeTextFileSync(staged.lock, "");
    // No temp file + rename: the staging directory becomes visible only by
    // its rename. The fsync keeps a crash from leaving an empty config.json.
    writeNewFileSynced(staged.config, JSON.stringify(config, null, 2) + "\n");
    try {
      Deno.renameSync(staging, final.dir);
    } catch (error) {
      if (error instanceof Deno.errors.AlreadyExists || isNotEmpty(error)) {
        throw new TsnspawnError("conflict", `container name ${config.name}: already in use`, {
          hint: `remove it with 'tsnspawn rm -f ${config.name}' or choose another --name`,
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
  return final;
}

function isNotEmpty(error: unknown): boolean {
  return error instanceof Error && /ENOTEMPTY|not empty|os error 39/i.test(error.message);
}

/**
 * Replaces a container's config.json (temp file + rename; the caller holds
 * the container's lock): for changes made after create (rename, network
 * connect and disconnect).
 */
export function writeContainerConfig(config: ContainerConfig): void {
  writeFileAtomic(containerPaths(config.name).config, JSON.stringify(config, null, 2) + "\n");
}

/**
 * Renames a container's directory (one rename(2): the container is under
 * one name or the other, never both or neither). A taken name is a conflict.
 */
export function renameContainerDir(name: string, newName: string): void {
  if (containerExists(newName)) {
    throw new TsnspawnError("conflict", `container name ${newName}: already in use`, {
      hint: `remove it with 'tsnspawn rm -f ${newName}' or choose another name`,
    });
  }
  try {
    Deno.renameSync(containerPaths(name).dir, containerPaths(newName).dir);
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists || isNotEmpty(error)) {
      throw new TsnspawnError("conflict", `container name ${newName}: already in use`);
    }
    throw error;
  }
}

/**
 * Removes a container directory: renamed away first (atomic disappearance),
 * then deleted. Missing is fine.
 */
export function removeContainerDir(name: string): void {
  ensureStore();
  const trash = join(tmpDir(), `remove-${name}-${randomHex(6)}`);
  try {
    Deno.renameSync(containerPaths(name).dir, trash);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  removeTree(trash);
}

/**
 * The unit a container runs in: its transient scope while an attached
 * `run --rm` holds one (src/runtime/attached.ts; `leader` is then its PID 1,
 * which a scope does not report), else its service. A scope file left by a
 * CLI that was killed names a scope that is gone: the container is simply
 * not running.
 */
export function containerUnit(name: string): { unit: string; leader?: number } {
  let text: string;
  try {
    text = Deno.readTextFileSync(containerPaths(name).scope);
  } catch {
    return { unit: unitName(name) };
  }
  const leader = Number(text.trim());
  return Number.isInteger(leader) && leader > 0
    ? { unit: scopeUnitName(name), leader }
    : { unit: unitName(name) };
}

/**
 * Records the PID 1 of a container that runs in a scope (see
 * {@link containerUnit}): temp file + rename, so readers see all or nothing;
 * not synced (a scope does not outlive a crash of the host either).
 */
export function writeScopeLeader(name: string, pid: number): void {
  const path = containerPaths(name).scope;
  const temp = `${path}.tmp-${randomHex(6)}`;
  Deno.writeTextFileSync(temp, `${pid}\n`, { createNew: true });
  Deno.renameSync(temp, path);
}

/** Forgets a container's scope (it runs in its service again). */
export function clearScopeLeader(name: string): void {
  try {
    Deno.removeSync(containerPaths(name).scope);
  } catch { /* none */ }
}

/** Holds the container's flock while `action` runs. */
export async function withContainerLock<T>(name: string, action: () => Promise<T> | T): Promise<T> {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(containerPaths(name).lock, { read: true, write: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) loadContainer(name); // throws not-found
    throw error;
  }
  try {
    await file.lock(true);
    return await action();
  } finally {
    file.close();
  }
}

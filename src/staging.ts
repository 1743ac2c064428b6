/**
 * Owned scratch entries under `<root>/tmp` (effects).
 *
 * An operation that builds something in tmp/ (a container directory, a
 * pulled, imported or committed image, a lease being turned into a
 * container) holds an flock(2) on its entry for as long as it works on it:
 * on the staging directory itself, or on a `<name>.lock` file for work that
 * has no directory. The kernel drops the lock when the process dies, so
 * `tsnspawn check` can prove an entry dead with a non-blocking try-lock and
 * remove it; a live operation's entry is never touched (flock(2), "try").
 *
 * The lock is taken right after mkdir/open; `check` takes the lock itself
 * before it removes an entry, so the only window (between the two calls) can
 * make that operation fail cleanly, never damage the store.
 */
import { join } from "./path_util.ts";
import { tmpDir } from "./paths.ts";

function randomHex(bytes: number): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(bytes)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}

/** Open, locked handles of this process, by path. */
const held = new Map<string, Deno.FsFile>();

function lockPath(path: string): void {
  const file = Deno.openSync(path, { read: true });
  try {
    file.lockSync(true);
  } catch (error) {
    file.close();
    throw error;
  }
  held.set(path, file);
}

/**
 * Creates `<tmp>/<prefix><random>` (mode 0700) and holds an flock on it.
 * @returns its path; give it back with {@link releaseStaging}.
 */
export function makeStagingDir(prefix: string, dir = tmpDir()): string {
  const path = join(dir, `${prefix}${randomHex(6)}`);
  createStagingDir(path);
  return path;
}

/** Creates the directory `path` (mode 0700, must not exist) and holds an flock on it. */
export function createStagingDir(path: string): void {
  Deno.mkdirSync(path, { mode: 0o700 });
  lockPath(path);
}

/**
 * Creates and locks `<tmp>/<name>.lock`, the mark of an operation in
 * progress that has no directory of its own (e.g. `lease-<id>` while a
 * container with a fresh address lease is being created).
 * @returns its path; give it back with {@link releaseStaging} (which removes it).
 */
export function holdOperation(name: string, dir = tmpDir()): string {
  const path = join(dir, `${name}.lock`);
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = Deno.openSync(path, { write: true, create: true, mode: 0o600 });
  try {
    file.lockSync(true);
  } catch (error) {
    file.close();
    throw error;
  }
  held.set(path, file);
  return path;
}

/**
 * Drops this process's lock on `path` (after the entry was removed or
 * renamed into place); an operation mark (`*.lock`) is removed first.
 * Unknown paths are ignored.
 */
export function releaseStaging(path: string): void {
  const file = held.get(path);
  if (!file) return;
  held.delete(path);
  if (path.endsWith(".lock")) {
    try {
      Deno.removeSync(path);
    } catch { /* removed by a check after our death? then not ours any more */ }
  }
  file.close();
}

/**
 * Try-locks `path` (file or directory). `null`: missing; `"busy"`: a live
 * process holds it; else an open handle holding the lock, which the caller
 * closes when done.
 */
export function tryLockPath(path: string): Deno.FsFile | "busy" | null {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
  try {
    if (file.tryLockSync(true)) return file;
  } catch (error) {
    file.close();
    throw error;
  }
  file.close();
  return "busy";
}

/** Whether a live process holds an operation mark `<tmp>/<prefix>*.lock` (a build running). */
export function operationRunning(prefix: string, dir = tmpDir()): boolean {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
  for (const entry of entries) {
    if (!entry.name.startsWith(prefix) || !entry.name.endsWith(".lock")) continue;
    const held = tryLockPath(join(dir, entry.name));
    if (held === "busy") return true;
    held?.close();
  }
  return false;
}

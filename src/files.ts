/**
 * Crash-safe file helpers every part of the state uses (containers,
 * networks, the check): atomic writes (temp file + fsync + rename, so a
 * reader sees the old or the new file, never half of one), tree removal that
 * tolerates a missing tree, random names, and the state root's top
 * directories.
 *
 * Man pages: rename(2), fsync(2).
 */
import { containersDir, stateRoot, tmpDir } from "./paths.ts";

/** The names of the directories in `dir`, sorted; none when `dir` does not exist. */
export function listDirectoryNames(dir: string): string[] {
  const names: string[] = [];
  try {
    for (const entry of Deno.readDirSync(dir)) {
      if (entry.isDirectory) names.push(entry.name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names.sort();
}

/** Random lowercase hex of `bytes` bytes. */
export function randomHex(bytes: number): string {
  const buffer = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(buffer, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Writes a file by temp file + fsync + rename, so readers see old or new. */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): void {
  const temp = `${path}.tmp-${randomHex(6)}`;
  writeNewFileSynced(temp, data, mode);
  try {
    Deno.renameSync(temp, path);
  } catch (error) {
    try {
      Deno.removeSync(temp);
    } catch { /* best effort */ }
    throw error;
  }
}

/** Creates a file that must not exist yet, writes it and fsyncs it. */
export function writeNewFileSynced(path: string, data: string | Uint8Array, mode = 0o644): void {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const file = Deno.openSync(path, { write: true, createNew: true, mode });
  try {
    let written = 0;
    while (written < bytes.length) written += file.writeSync(bytes.subarray(written));
    file.syncSync();
  } finally {
    file.close();
  }
}

/** Makes sure the store's top directories exist. */
export function ensureStore(root = stateRoot()): void {
  for (const dir of [root, containersDir(root), tmpDir(root)]) {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
}

/** Deletes a tree, ignoring a missing one. */
export function removeTree(path: string): void {
  try {
    Deno.removeSync(path, { recursive: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

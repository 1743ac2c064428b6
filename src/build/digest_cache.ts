/**
 * Remembered digests of big build-context files (effects: one JSON file),
 * so a rebuild does not read 64 MiB again to learn it did not change.
 *
 * The cache key of a COPY is still the content's digest (cache_key.ts):
 * this only avoids recomputing a digest for a file that provably has not
 * changed since it was hashed — the same device, inode, size, modification
 * time and change time. The change time cannot be set by a user (unlike
 * mtime, `touch -d`), and every write moves it forward, so a changed file
 * never matches its old entry. As with git's index ("racy git"), a file
 * whose change time is less than two seconds older than the moment it was
 * hashed is not remembered: a write in the same clock tick could otherwise
 * go unseen.
 *
 * Stored in the image store's build-cache directory (`file-digests.json`,
 * forgotten by `image prune` with the rest of the build cache), written by
 * temp file and rename at the end of a build; the newest
 * {@link MAX_ENTRIES} are kept. Only files of {@link MIN_SIZE} bytes or
 * more are remembered: smaller ones hash faster than an entry is worth.
 */
import { dirname, join } from "../path_util.ts";
import { writeFileAtomic } from "../files.ts";
import { BUILD_DIGESTS_FILE, storePaths } from "../image/store.ts";

/** Files smaller than this are always hashed. */
export const MIN_SIZE = 256 * 1024;
/** Entries kept. */
const MAX_ENTRIES = 4096;
/** A file changed less than this long before it was hashed is not remembered (ms). */
const RACY_MS = 2000;

interface Entry {
  digest: string;
  /** When it was recorded (ms since the epoch), for keeping the newest. */
  at: number;
}

/** The identity of a file's content as the file system tells it, or null if unknown. */
export function fileIdentity(st: Deno.FileInfo): string | null {
  if (!st.isFile || st.mtime === null || st.ctime === null || st.ino === null) return null;
  return `${st.dev}:${st.ino}:${st.size}:${st.mtime.getTime()}:${st.ctime.getTime()}`;
}

/** Digests of context files by identity (see the module comment). */
export class DigestCache {
  #entries: Map<string, Entry>;
  #changed = false;
  readonly #path: string;

  private constructor(path: string, entries: Map<string, Entry>) {
    this.#path = path;
    this.#entries = entries;
  }

  /** Reads the cache (empty when missing or unreadable). */
  static load(path = join(storePaths().buildCache, BUILD_DIGESTS_FILE)): DigestCache {
    const entries = new Map<string, Entry>();
    try {
      const parsed = JSON.parse(Deno.readTextFileSync(path)) as Record<string, Entry>;
      for (const [key, entry] of Object.entries(parsed)) {
        if (typeof entry?.digest === "string" && typeof entry.at === "number") {
          entries.set(key, entry);
        }
      }
    } catch { /* none yet, or damaged: start afresh */ }
    return new DigestCache(path, entries);
  }

  /** The remembered digest of a file with this lstat, if any. */
  lookup(st: Deno.FileInfo): string | undefined {
    if (st.size < MIN_SIZE) return undefined;
    const identity = fileIdentity(st);
    return identity === null ? undefined : this.#entries.get(identity)?.digest;
  }

  /** Remembers a digest computed from a file with this lstat, hashing having begun at `hashedAt`. */
  record(st: Deno.FileInfo, digest: string, hashedAt: number): void {
    const identity = fileIdentity(st);
    if (identity === null || st.size < MIN_SIZE) return;
    if (hashedAt - st.ctime!.getTime() < RACY_MS) return;
    this.#entries.set(identity, { digest, at: Date.now() });
    this.#changed = true;
  }

  /** Writes the cache back if it learned something. */
  save(): void {
    if (!this.#changed) return;
    const newest = [...this.#entries].sort(([, a], [, b]) => b.at - a.at).slice(0, MAX_ENTRIES);
    try {
      Deno.mkdirSync(dirname(this.#path), { recursive: true });
      writeFileAtomic(this.#path, JSON.stringify(Object.fromEntries(newest)), 0o600);
      this.#changed = false;
    } catch { /* a cache: losing it costs time, not correctness */ }
  }
}

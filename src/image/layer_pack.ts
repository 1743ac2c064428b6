/**
 * Directories → tar streams, the reverse of `image/layer_unpack.ts` (effects: reads
 * the file system, writes a stream).
 *
 * Two modes:
 *  - "layer": one directory in overlay form (a container's upper dir, or a
 *    stored layer) becomes an OCI layer: a 0/0 char device NAME becomes an
 *    empty file `.wh.NAME`, a directory with `trusted.overlay.opaque=y` gets a
 *    `.wh..wh..opq` entry right after it (image-spec layer.md "Whiteouts";
 *    kernel Documentation/filesystems/overlayfs.rst).
 *  - "flatten": several directories, topmost first (overlay lower order), are
 *    merged the way overlayfs merges them: the topmost entry of a name wins, a
 *    whiteout hides the name, a non-directory or an opaque directory hides
 *    everything below it. The result is the container's root file system as
 *    one plain tar (`export`), with no whiteouts.
 *
 * Entries are written in sorted order (deterministic output); ownership,
 * modes, mtimes (seconds), symlinks, devices, fifos and xattrs are kept
 * (`trusted.overlay.*` never is); a file seen again with the same inode is
 * written as a hard link to its first path. Sockets are skipped (tar cannot
 * hold them).
 *
 * Speed: the archive is made by a synchronous generator (`packChunks`) that
 * reads with plain sync calls and hands out ~1 MiB chunks (many small
 * entries batched into one), so a layer of thousands of small files costs
 * a handful of stream writes rather than three per file; `packDirectories`
 * writes those chunks into a stream, `layer_commit.ts` straight to a file.
 *
 * FFI: llistxattr/lgetxattr (ffi/libc.ts).
 */
import { join } from "../path_util.ts";
import { encodeEnd, encodeHeader, encodePadding, type TarWriteHeader } from "./tar.ts";
import { TsnspawnError, withContext } from "../errors.ts";
import { cstring, libc } from "../../ffi/libc.ts";

/** Every xattr of `path` (not following symlinks); {} when none or unsupported. */
export function readXattrs(path: string): Record<string, Uint8Array> {
  const p = cstring(path);
  const list = new Uint8Array(4096);
  const n = Number(libc().llistxattr(p, list, BigInt(list.length)));
  if (n <= 0) return {};
  const out: Record<string, Uint8Array> = {};
  for (const name of new TextDecoder().decode(list.subarray(0, n)).split("\0")) {
    if (name === "") continue;
    const value = new Uint8Array(65536);
    const len = Number(libc().lgetxattr(p, cstring(name), value, BigInt(value.length)));
    if (len >= 0) out[name] = value.slice(0, len);
  }
  return out;
}

function isOpaque(path: string): boolean {
  const value = new Uint8Array(4);
  const n = Number(
    libc().lgetxattr(cstring(path), cstring("trusted.overlay.opaque"), value, BigInt(value.length)),
  );
  return n === 1 && value[0] === 0x79; // "y"
}

/** An overlay whiteout: a character device with device number 0/0. */
function isWhiteout(st: Deno.FileInfo): boolean {
  return st.isCharDevice === true && (st.rdev ?? 0) === 0;
}

/** Linux major()/minor() of a dev_t. */
function devNumbers(rdev: number): { devmajor: number; devminor: number } {
  const r = BigInt(rdev);
  return {
    devmajor: Number(((r >> 8n) & 0xfffn) | ((r >> 32n) & ~0xfffn)),
    devminor: Number((r & 0xffn) | ((r >> 12n) & ~0xffn)),
  };
}

/** Options of {@link packDirectories}. */
export interface PackOptions {
  /** "layer": one overlay-form dir → OCI layer; "flatten": merge dirs (topmost first). */
  mode: "layer" | "flatten";
  /**
   * Paths of the first dir (the container's writable layer) left out, relative
   * without a leading "/" (container/init_layer.ts): a file is skipped (the
   * dirs below show through, flattened), a directory too unless something
   * below it is kept.
   */
  exclude?: ReadonlySet<string>;
  /** Every entry's mtime (seconds), for reproducible archives (`build --timestamp`). */
  mtime?: number;
}

/** What {@link packDirectories} wrote. */
export interface PackResult {
  /** Bytes of regular-file content in the archive. */
  size: number;
}

/** Chunks handed out: about this big (a big file's pieces are exactly this). */
const CHUNK = 1 << 20;

/** Collects small pieces and hands them out as ~CHUNK-sized chunks. */
class Batch {
  #pieces: Uint8Array[] = [];
  #bytes = 0;

  add(piece: Uint8Array): void {
    if (piece.length === 0) return;
    this.#pieces.push(piece);
    this.#bytes += piece.length;
  }

  get full(): boolean {
    return this.#bytes >= CHUNK;
  }

  /** Everything collected as one chunk (empty when nothing is). */
  take(): Uint8Array {
    const pieces = this.#pieces;
    const out = pieces.length === 1 ? pieces[0] : new Uint8Array(this.#bytes);
    if (pieces.length > 1) {
      let at = 0;
      for (const piece of pieces) {
        out.set(piece, at);
        at += piece.length;
      }
    }
    this.#pieces = [];
    this.#bytes = 0;
    return out;
  }
}

/** Whether `abs` (a directory at `rel` of the first dir) holds anything not excluded. */
function holdsKept(abs: string, rel: string, exclude: ReadonlySet<string>): boolean {
  for (const entry of Deno.readDirSync(abs)) {
    const childRel = `${rel}/${entry.name}`;
    if (!exclude.has(childRel)) return true;
    if (entry.isDirectory && holdsKept(join(abs, entry.name), childRel, exclude)) return true;
  }
  return false;
}

/**
 * The archive of `dirs` (see the module comment) as chunks, made
 * synchronously; the generator's return value says what it held. In
 * "layer" mode exactly one dir is expected.
 */
export function* packChunks(
  dirs: string[],
  options: PackOptions,
): Generator<Uint8Array, PackResult, undefined> {
  const batch = new Batch();
  const links = new Map<string, string>();
  const flatten = options.mode === "flatten";
  let size = 0;
  const mtimeOf = (st: Deno.FileInfo) =>
    options.mtime ?? Math.floor((st.mtime?.getTime() ?? 0) / 1000);
  const marker = (path: string): TarWriteHeader => ({
    path,
    type: "file",
    mode: 0o644,
    size: 0,
    ...(options.mtime !== undefined ? { mtime: options.mtime } : {}),
  });
  const exclude = options.exclude ?? new Set<string>();
  const top = dirs[0];
  /** A name of the first dir that is left out. */
  const leftOut = (source: string, abs: string, rel: string): boolean => {
    const inTop = source === top || source.startsWith(top + "/");
    if (!inTop || !exclude.has(rel)) return false;
    let st: Deno.FileInfo;
    try {
      st = Deno.lstatSync(abs);
    } catch {
      return false;
    }
    return !(st.isDirectory && holdsKept(abs, rel, exclude));
  };

  /** The pieces of one entry; a file's content is read here. */
  function* entry(rel: string, abs: string, st: Deno.FileInfo): Generator<Uint8Array> {
    const xattrs = readXattrs(abs);
    for (const name of Object.keys(xattrs)) {
      if (name.startsWith("trusted.overlay.")) delete xattrs[name];
    }
    const header: TarWriteHeader = {
      path: rel,
      type: "file",
      mode: (st.mode ?? 0) & 0o7777,
      uid: st.uid ?? 0,
      gid: st.gid ?? 0,
      mtime: mtimeOf(st),
      xattrs,
    };
    if (st.isDirectory) {
      batch.add(encodeHeader({ ...header, type: "dir" }));
    } else if (st.isSymlink) {
      batch.add(encodeHeader({ ...header, type: "symlink", linkname: Deno.readLinkSync(abs) }));
    } else if (st.isFile) {
      const key = `${st.dev}:${st.ino}`;
      const first = (st.nlink ?? 1) > 1 ? links.get(key) : undefined;
      if (first !== undefined) {
        batch.add(encodeHeader({ ...header, type: "hardlink", linkname: first }));
        return;
      }
      if ((st.nlink ?? 1) > 1) links.set(key, rel);
      batch.add(encodeHeader({ ...header, size: st.size }));
      yield* content(abs, st.size, rel);
      batch.add(encodePadding(st.size));
      size += st.size;
    } else if (st.isCharDevice || st.isBlockDevice) {
      batch.add(encodeHeader({
        ...header,
        type: st.isCharDevice ? "char" : "block",
        ...devNumbers(st.rdev ?? 0),
      }));
    } else if (st.isFifo) {
      batch.add(encodeHeader({ ...header, type: "fifo" }));
    }
    // sockets: skipped
  }

  /** A file's `expected` bytes: small ones into the batch, big ones as chunks of their own. */
  function* content(abs: string, expected: number, rel: string): Generator<Uint8Array> {
    const file = Deno.openSync(abs, { read: true });
    try {
      let read = 0;
      while (read < expected) {
        const buffer = new Uint8Array(Math.min(CHUNK, expected - read));
        const n = file.readSync(buffer);
        if (n === null) break;
        read += n;
        const piece = n === buffer.length ? buffer : buffer.subarray(0, n);
        if (expected >= CHUNK) {
          const pending = batch.take();
          if (pending.length > 0) yield pending;
          yield piece;
        } else batch.add(piece);
      }
      const more = new Uint8Array(1);
      if (read !== expected || file.readSync(more) !== null) {
        throw new TsnspawnError(
          "system",
          `tar entry "${rel}": expected ${expected} bytes of content, the file changed`,
          { hint: "the file changed while it was being archived; retry" },
        );
      }
    } finally {
      file.close();
    }
  }

  /** The children of `rel`, merged from `sources` (the dirs holding `rel`, topmost first). */
  function* walk(rel: string, sources: string[]): Generator<Uint8Array> {
    const names = new Map<string, number>();
    for (let i = 0; i < sources.length; i++) {
      for (const entry of Deno.readDirSync(sources[i])) {
        if (names.has(entry.name)) continue;
        const childRel = rel === "" ? entry.name : `${rel}/${entry.name}`;
        if (leftOut(sources[i], join(sources[i], entry.name), childRel)) continue;
        names.set(entry.name, i);
      }
    }
    for (const name of [...names.keys()].sort()) {
      const layer = names.get(name)!;
      const abs = join(sources[layer], name);
      const childRel = rel === "" ? name : `${rel}/${name}`;
      try {
        const st = Deno.lstatSync(abs);
        if (isWhiteout(st)) {
          if (!flatten) {
            batch.add(encodeHeader(marker(`${rel === "" ? "" : `${rel}/`}.wh.${name}`)));
          }
          continue;
        }
        yield* entry(childRel, abs, st);
        if (batch.full) yield batch.take();
        if (!st.isDirectory) continue;
        const opaque = isOpaque(abs);
        if (!flatten) {
          if (opaque) batch.add(encodeHeader(marker(`${childRel}/.wh..wh..opq`)));
          yield* walk(childRel, [abs]);
          continue;
        }
        // The same directory in lower layers merges in, down to the first
        // layer where the name is not a directory or the directory is opaque.
        const childSources = [abs];
        if (!opaque) {
          for (let j = layer + 1; j < sources.length; j++) {
            let lower: Deno.FileInfo;
            try {
              lower = Deno.lstatSync(join(sources[j], name));
            } catch {
              continue;
            }
            if (!lower.isDirectory) break;
            childSources.push(join(sources[j], name));
            if (isOpaque(join(sources[j], name))) break;
          }
        }
        yield* walk(childRel, childSources);
      } catch (e) {
        if (e instanceof TsnspawnError) throw e;
        throw withContext(e, "system", `archiving ${abs}`);
      }
    }
  }

  // In flatten mode a layer whose root is opaque hides the layers below it.
  let roots = dirs;
  if (flatten) {
    const stop = dirs.findIndex((d) => isOpaque(d));
    if (stop !== -1) roots = dirs.slice(0, stop + 1);
  }
  yield* walk("", roots);
  batch.add(encodeEnd());
  yield batch.take();
  return { size };
}

/**
 * Writes `dirs` as a tar archive into `sink` (closed at the end), see the
 * module comment. In "layer" mode exactly one dir is expected.
 */
export async function packDirectories(
  dirs: string[],
  sink: WritableStream<Uint8Array>,
  options: PackOptions,
): Promise<PackResult> {
  const writer = sink.getWriter();
  try {
    const chunks = packChunks(dirs, options);
    for (;;) {
      const next = chunks.next();
      if (next.done) {
        await writer.close();
        return next.value;
      }
      await writer.write(next.value);
    }
  } catch (error) {
    await writer.abort(error).catch(() => {});
    throw error;
  }
}

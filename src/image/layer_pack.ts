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
 * FFI: llistxattr/lgetxattr (ffi/libc.ts).
 */
import { join } from "@std/path";
import { type TarWriteHeader, TarWriter } from "./tar.ts";
import { withContext } from "../errors.ts";
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
 * Writes `dirs` as a tar archive into `sink` (closed at the end), see the
 * module comment. In "layer" mode exactly one dir is expected.
 */
export async function packDirectories(
  dirs: string[],
  sink: WritableStream<Uint8Array>,
  options: PackOptions,
): Promise<void> {
  const writer = new TarWriter(sink);
  const links = new Map<string, string>();
  const flatten = options.mode === "flatten";
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

  const writeEntry = async (rel: string, abs: string, st: Deno.FileInfo): Promise<void> => {
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
      mtime: Math.floor((st.mtime?.getTime() ?? 0) / 1000),
      xattrs,
    };
    if (st.isDirectory) {
      await writer.add({ ...header, type: "dir" });
    } else if (st.isSymlink) {
      await writer.add({ ...header, type: "symlink", linkname: Deno.readLinkSync(abs) });
    } else if (st.isFile) {
      const key = `${st.dev}:${st.ino}`;
      const first = (st.nlink ?? 1) > 1 ? links.get(key) : undefined;
      if (first !== undefined) {
        await writer.add({ ...header, type: "hardlink", linkname: first });
        return;
      }
      if ((st.nlink ?? 1) > 1) links.set(key, rel);
      const file = await Deno.open(abs);
      try {
        await writer.add({ ...header, size: st.size }, file.readable);
      } catch (e) {
        try {
          file.close();
        } catch { /* the stream closed it */ }
        throw e;
      }
    } else if (st.isCharDevice || st.isBlockDevice) {
      await writer.add({
        ...header,
        type: st.isCharDevice ? "char" : "block",
        ...devNumbers(st.rdev ?? 0),
      });
    } else if (st.isFifo) {
      await writer.add({ ...header, type: "fifo" });
    }
    // sockets: skipped
  };

  /** Writes the children of `rel`, merged from `sources` (the dirs holding `rel`, topmost first). */
  const walk = async (rel: string, sources: string[]): Promise<void> => {
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
            const parent = rel === "" ? "" : `${rel}/`;
            await writer.add({ path: `${parent}.wh.${name}`, type: "file", mode: 0o644, size: 0 });
          }
          continue;
        }
        await writeEntry(childRel, abs, st);
        if (!st.isDirectory) continue;
        const opaque = isOpaque(abs);
        if (!flatten) {
          if (opaque) {
            await writer.add({
              path: `${childRel}/.wh..wh..opq`,
              type: "file",
              mode: 0o644,
              size: 0,
            });
          }
          await walk(childRel, [abs]);
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
        await walk(childRel, childSources);
      } catch (e) {
        throw withContext(e, "system", `archiving ${abs}`);
      }
    }
  };

  // In flatten mode a layer whose root is opaque hides the layers below it.
  let roots = dirs;
  if (flatten) {
    const stop = dirs.findIndex((d) => isOpaque(d));
    if (stop !== -1) roots = dirs.slice(0, stop + 1);
  }
  await walk("", roots);
  await writer.close();
}

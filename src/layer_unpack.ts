/**
 * Extracts a layer tar stream into a directory, safely, and computes the
 * layer's diff_id (sha256 of the uncompressed tar) while doing it (effects).
 *
 * Safety rules (the archive is untrusted):
 *  - every entry path is normalized ("./", "/", "a/../b" resolved) and must
 *    stay inside the target: a ".." that climbs above the root is refused;
 *  - nothing is ever written THROUGH a symlink: each parent component is
 *    checked with lstat and must be a real directory (missing ones are made
 *    0755 root:root); an existing entry at the destination is removed first
 *    and files are created with O_EXCL, which never follows a symlink;
 *    symlink *targets* are content and may point anywhere;
 *  - a hard link must name an entry written earlier by this same layer;
 *  - sizes above `maxEntrySize` / `maxTotalSize` are refused before reading.
 * The target must be a fresh directory that nothing else writes to while it
 * is being filled (the store unpacks into a private temp dir).
 *
 * Metadata: ownership (lchown for symlinks: Deno has no `Deno.lchown`), mode
 * including setuid/setgid/sticky (applied after chown, which clears them),
 * xattrs (after chown, which clears security.capability), mtimes (symlinks
 * via utimensat(AT_SYMLINK_NOFOLLOW); directories last, deepest first).
 *
 * xattrs named `trusted.overlay.*` in the archive are dropped.
 *
 * OCI whiteouts (image-spec layer.md, "Whiteouts") become overlayfs ones
 * (kernel Documentation/filesystems/overlayfs.rst): `.wh.NAME` → a 0/0 char
 * device NAME; `.wh..wh..opq` → xattr `trusted.overlay.opaque=y` on the
 * directory; other `.wh..wh.*` entries (aufs metadata) are ignored.
 *
 * FFI: mknod, lchown, lsetxattr and utimensat are declared here with a tiny
 * local dlopen of libc; they belong in `ffi/libc.ts` (owned by another
 * engineer) and should move there.
 */
import { createHash } from "node:crypto";
import { join } from "@std/path";
import { SysError, TsnspawnError, withContext } from "./errors.ts";
import { readTar, type TarHeader } from "./tar.ts";

// ------------------------------------------------------------- local FFI
// TODO(ffi): move these symbols to ffi/libc.ts.
const LIBC_SYMBOLS = {
  /** int mknod(const char *pathname, mode_t mode, dev_t dev); */
  mknod: { parameters: ["buffer", "u32", "u64"], result: "i32" },
  /** int lchown(const char *pathname, uid_t owner, gid_t group); */
  lchown: { parameters: ["buffer", "u32", "u32"], result: "i32" },
  /** int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags); */
  lsetxattr: { parameters: ["buffer", "buffer", "buffer", "usize", "i32"], result: "i32" },
  /** int utimensat(int dirfd, const char *pathname, const struct timespec times[2], int flags); */
  utimensat: { parameters: ["i32", "buffer", "buffer", "i32"], result: "i32" },
  /** int *__errno_location(void); */
  __errno_location: { parameters: [], result: "pointer" },
  /** char *strerror(int errnum); */
  strerror: { parameters: ["i32"], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

let libc: Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"] | undefined;
function lib() {
  libc ??= Deno.dlopen("libc.so.6", LIBC_SYMBOLS).symbols;
  return libc;
}

const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;
const S_IFIFO = 0o010000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  7: "E2BIG",
  13: "EACCES",
  17: "EEXIST",
  20: "ENOTDIR",
  22: "EINVAL",
  28: "ENOSPC",
  30: "EROFS",
  34: "ERANGE",
  36: "ENAMETOOLONG",
  95: "EOPNOTSUPP",
  122: "EDQUOT",
};

function cString(s: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(`${s}\0`);
}

function check(call: string, result: number, subject: string): void {
  if (result !== -1) return;
  const { __errno_location, strerror } = lib();
  const errno = new Deno.UnsafePointerView(__errno_location()!).getInt32();
  const text = Deno.UnsafePointerView.getCString(strerror(errno)!);
  throw new SysError(call, errno, ERRNO_NAMES[errno] ?? `errno ${errno}`, text, subject);
}

/** Linux makedev(3). */
function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major >>> 0);
  const mi = BigInt(minor >>> 0);
  return ((ma & 0xfffn) << 8n) | ((ma & 0xfffff000n) << 32n) | (mi & 0xffn) |
    ((mi & 0xffffff00n) << 12n);
}

function mknod(path: string, mode: number, major = 0, minor = 0): void {
  check("mknod", lib().mknod(cString(path), mode, makedev(major, minor)), path);
}

function lchown(path: string, uid: number, gid: number): void {
  check("lchown", lib().lchown(cString(path), uid, gid), path);
}

function lsetxattr(path: string, name: string, value: Uint8Array): void {
  const buffer = new Uint8Array(value.length || 1);
  buffer.set(value);
  check(
    "lsetxattr",
    lib().lsetxattr(cString(path), cString(name), buffer, BigInt(value.length), 0),
    `${path} (${name})`,
  );
}

function lutimes(path: string, mtime: number): void {
  const times = new BigInt64Array(4);
  const sec = Math.floor(mtime);
  const nsec = Math.round((mtime - sec) * 1e9);
  times.set([BigInt(sec), BigInt(nsec), BigInt(sec), BigInt(nsec)]);
  check(
    "utimensat",
    lib().utimensat(AT_FDCWD, cString(path), new Uint8Array(times.buffer), AT_SYMLINK_NOFOLLOW),
    path,
  );
}

// ------------------------------------------------------------- unpacking

/** Options of `unpackLayer`. */
export interface UnpackOptions {
  /** Largest single file accepted (default 64 GiB). */
  maxEntrySize?: number;
  /** Largest total content accepted (default 1 TiB). */
  maxTotalSize?: number;
  /** Apply the archive's uid/gid (default: when running as root). */
  sameOwner?: boolean;
  /** Sees every uncompressed byte, in order (e.g. to keep a copy of the tar). */
  onData?: (chunk: Uint8Array) => void;
}

/** What `unpackLayer` found. */
export interface UnpackResult {
  /** "sha256:<hex>" of the whole uncompressed stream: the OCI diff_id. */
  diffId: string;
  /** Bytes of file content written. */
  size: number;
  /** Number of archive entries processed. */
  entries: number;
}

function refuse(path: string, why: string): TsnspawnError {
  return new TsnspawnError("image", `layer entry "${path}": ${why}`, {
    hint: "the image layer is malformed or malicious; do not use it",
  });
}

/**
 * Normalizes an archive path to its components below the layer root:
 * leading "/" and "./" are dropped, "." and empty components skipped, ".."
 * resolved. Returns [] for the root itself.
 *
 * @throws {TsnspawnError} when ".." would climb above the root.
 */
export function normalizeEntryPath(path: string): string[] {
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length === 0) throw refuse(path, "path escapes the layer root");
      out.pop();
    } else {
      out.push(part);
    }
  }
  return out;
}

function lstatOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.lstatSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/**
 * Extracts the tar stream into `target` (an existing, empty directory) and
 * returns the diff_id and size. See the module comment for the safety rules.
 *
 * @throws {TsnspawnError} code "image" for a malformed/malicious archive,
 *   "system" for a failed system call.
 */
export async function unpackLayer(
  stream: ReadableStream<Uint8Array>,
  target: string,
  options: UnpackOptions = {},
): Promise<UnpackResult> {
  const maxEntrySize = options.maxEntrySize ?? 64 * 2 ** 30;
  const maxTotalSize = options.maxTotalSize ?? 2 ** 40;
  const sameOwner = options.sameOwner ?? Deno.uid() === 0;
  const hash = createHash("sha256");
  const tapped = stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        hash.update(chunk);
        options.onData?.(chunk);
        controller.enqueue(chunk);
      },
    }),
  );

  /** Relative paths written by this layer (hard link targets). */
  const written = new Set<string>();
  /** Relative paths known to be real directories. */
  const knownDirs = new Set<string>([""]);
  /** Directories whose mode and mtime are applied at the end, by relative path. */
  const dirFixups = new Map<string, { abs: string; header: TarHeader }>();
  let size = 0;
  let entries = 0;

  /** Makes sure every component of `parts` is a real directory; returns its absolute path. */
  const ensureDir = (parts: string[], entryPath: string): string => {
    let rel = "";
    let abs = target;
    for (const part of parts) {
      rel = rel === "" ? part : `${rel}/${part}`;
      abs = join(abs, part);
      if (knownDirs.has(rel)) continue;
      const st = lstatOrNull(abs);
      if (st === null) {
        Deno.mkdirSync(abs, { mode: 0o755 });
        Deno.chmodSync(abs, 0o755);
      } else if (st.isSymlink) {
        throw refuse(entryPath, `"${rel}" is a symlink; refusing to write through it`);
      } else if (!st.isDirectory) {
        throw refuse(entryPath, `"${rel}" is not a directory`);
      }
      knownDirs.add(rel);
    }
    return abs;
  };

  /** Removes whatever is at rel/abs (a later entry replaces an earlier one). */
  const removeExisting = (rel: string, abs: string, keepDir: boolean): Deno.FileInfo | null => {
    const st = lstatOrNull(abs);
    if (st === null || (keepDir && st.isDirectory)) return st;
    Deno.removeSync(abs, { recursive: st.isDirectory });
    for (const set of [knownDirs, dirFixups]) {
      for (const known of [...set.keys()]) {
        if (known === rel || known.startsWith(`${rel}/`)) set.delete(known);
      }
    }
    return null;
  };

  const applyMetadata = (abs: string, h: TarHeader, deferMode: boolean) => {
    if (sameOwner) {
      if (h.type === "symlink") lchown(abs, h.uid, h.gid);
      else Deno.chownSync(abs, h.uid, h.gid);
    }
    if (h.type !== "symlink" && !deferMode) Deno.chmodSync(abs, h.mode & 0o7777);
    for (const [name, value] of Object.entries(h.xattrs)) {
      // overlayfs' own xattrs (opaque, redirect, metacopy, origin) would let a
      // layer steer the overlay; only whiteout translation may set them.
      if (name.startsWith("trusted.overlay.")) continue;
      lsetxattr(abs, name, value);
    }
    if (deferMode) return;
    if (h.type === "symlink") lutimes(abs, h.mtime);
    else Deno.utimeSync(abs, h.mtime, h.mtime);
  };

  for await (const { header, body } of readTar(tapped)) {
    entries++;
    try {
      const parts = normalizeEntryPath(header.path);
      if (parts.length === 0) {
        if (header.type !== "dir") throw refuse(header.path, "the layer root must be a directory");
        applyMetadata(target, header, true);
        dirFixups.set("", { abs: target, header });
        continue;
      }
      const name = parts[parts.length - 1];
      const parentParts = parts.slice(0, -1);
      const parent = ensureDir(parentParts, header.path);
      const parentRel = parentParts.join("/");

      if (name.startsWith(".wh.")) {
        if (name === ".wh..wh..opq") {
          lsetxattr(parent, "trusted.overlay.opaque", new TextEncoder().encode("y"));
        } else if (!name.startsWith(".wh..wh.")) {
          const hidden = name.slice(4);
          if (hidden === "." || hidden === "..") throw refuse(header.path, "invalid whiteout");
          const rel = parentRel === "" ? hidden : `${parentRel}/${hidden}`;
          const abs = join(parent, hidden);
          removeExisting(rel, abs, false);
          mknod(abs, S_IFCHR, 0, 0);
          written.add(rel);
        }
        continue;
      }

      const rel = parts.join("/");
      const abs = join(parent, name);
      const existing = removeExisting(rel, abs, header.type === "dir");
      switch (header.type) {
        case "dir":
          if (existing === null) Deno.mkdirSync(abs, { mode: 0o700 });
          knownDirs.add(rel);
          applyMetadata(abs, header, true);
          dirFixups.set(rel, { abs, header });
          break;
        case "file": {
          if (header.size > maxEntrySize) {
            throw refuse(
              header.path,
              `size ${header.size} exceeds the limit of ${maxEntrySize} bytes`,
            );
          }
          if (size + header.size > maxTotalSize) {
            throw refuse(header.path, `layer content exceeds the limit of ${maxTotalSize} bytes`);
          }
          // createNew = O_CREAT|O_EXCL: never follows a symlink at abs.
          const file = Deno.openSync(abs, { write: true, createNew: true, mode: 0o600 });
          try {
            for await (const piece of body) {
              let off = 0;
              while (off < piece.length) off += file.writeSync(piece.subarray(off));
            }
          } finally {
            file.close();
          }
          size += header.size;
          applyMetadata(abs, header, false);
          break;
        }
        case "symlink":
          if (header.linkname === "") throw refuse(header.path, "symlink with an empty target");
          Deno.symlinkSync(header.linkname, abs);
          applyMetadata(abs, header, false);
          break;
        case "hardlink": {
          const targetParts = normalizeEntryPath(header.linkname);
          const targetRel = targetParts.join("/");
          if (targetParts.length === 0 || !written.has(targetRel)) {
            throw refuse(
              header.path,
              `hard link target "${header.linkname}" is not an earlier entry of this layer`,
            );
          }
          const targetAbs = join(
            ensureDir(targetParts.slice(0, -1), header.path),
            targetParts[targetParts.length - 1],
          );
          const st = lstatOrNull(targetAbs);
          if (st === null || st.isDirectory) {
            throw refuse(
              header.path,
              `hard link target "${header.linkname}" does not exist or is a directory`,
            );
          }
          Deno.linkSync(targetAbs, abs);
          break;
        }
        case "char":
        case "block":
        case "fifo": {
          const kind = header.type === "char"
            ? S_IFCHR
            : header.type === "block"
            ? S_IFBLK
            : S_IFIFO;
          mknod(abs, kind | (header.mode & 0o7777), header.devmajor, header.devminor);
          applyMetadata(abs, header, false);
          break;
        }
      }
      written.add(rel);
    } catch (e) {
      if (e instanceof TsnspawnError && e.message.startsWith("layer entry")) throw e;
      throw withContext(
        e,
        e instanceof TsnspawnError ? e.code : "image",
        `layer entry "${header.path}"`,
      );
    }
  }

  // Directory modes and mtimes last (children changed the mtimes), deepest first.
  const deepestFirst = [...dirFixups.entries()].sort((a, b) => b[0].length - a[0].length);
  for (const [, { abs, header }] of deepestFirst) {
    try {
      Deno.chmodSync(abs, header.mode & 0o7777);
      Deno.utimeSync(abs, header.mtime, header.mtime);
    } catch (e) {
      throw withContext(e, "image", `layer entry "${header.path}"`);
    }
  }
  return { diffId: `sha256:${hash.digest("hex")}`, size, entries };
}

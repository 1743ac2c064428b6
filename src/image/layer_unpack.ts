/**
 * Extracts a layer tar stream into a directory, safely, and computes the
 * layer's diff_id (sha256 of the uncompressed tar) while doing it (effects).
 *
 * Safety rules (the archive is untrusted):
 *  - every entry path is normalized ("./", "/", "a/../b" resolved) and must
 *    stay inside the target: a ".." that climbs above the root is refused;
 *  - nothing is ever written THROUGH a symlink: each parent component must
 *    be a real directory (one this layer made, or checked with lstat where
 *    this layer put something else; missing ones are made 0755 root:root);
 *    an existing entry at the destination is removed first and files are
 *    created with O_EXCL, which never follows a symlink;
 *    symlink *targets* are content and may point anywhere;
 *  - a hard link must name an entry written earlier by this same layer;
 *  - sizes above `maxEntrySize` / `maxTotalSize` are refused before reading.
 * The target must be a fresh directory that nothing else writes to while it
 * is being filled (the store unpacks into a private temp dir).
 *
 * Metadata: ownership (fchown for files, lchown for symlinks; none for a
 * new entry that has the archive's owner already), mode
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
 * Speed: the archive goes through a push parser (image/tar.ts `TarParser`) with
 * synchronous handlers, and files are written with plain system calls
 * (image/layer_syscalls.ts); paths this layer has not created are known not to
 * exist (the target starts empty), so they are not looked up first.
 */
import { createSha256 } from "../oci/digest.ts";
import { TsnspawnError, withContext } from "../errors.ts";
import {
  closeFile,
  createFile,
  effectiveIds,
  fchmod,
  fchown,
  fsetxattr,
  futimes,
  lchown,
  lsetxattr,
  lutimes,
  mknod,
  S_IFBLK,
  S_IFCHR,
  S_IFIFO,
  writeAll,
} from "./layer_syscalls.ts";
import { type TarHeader, TarParser, type TarSink } from "./tar.ts";

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

const S_ISGID = 0o2000;

/** `dir/name` for one component of a normalized entry path (no ".", ".." or "/" in it). */
function child(dir: string, name: string): string {
  return `${dir}/${name}`;
}

/** An entry's error, with the entry named once. */
function entryError(e: unknown, path: string): TsnspawnError {
  if (e instanceof TsnspawnError && e.message.startsWith("layer entry")) return e;
  return withContext(e, e instanceof TsnspawnError ? e.code : "image", `layer entry "${path}"`);
}

/** The archive's xattrs of an entry, without overlayfs' own. */
function xattrsOf(h: TarHeader): [string, Uint8Array][] {
  // overlayfs' xattrs (opaque, redirect, metacopy, origin) would let a layer
  // steer the overlay; only whiteout translation may set them.
  return Object.entries(h.xattrs).filter(([name]) => !name.startsWith("trusted.overlay."));
}

/** Writes the entries the tar parser reports into the target (see the module comment). */
class LayerWriter implements TarSink {
  readonly #target: string;
  readonly #maxEntrySize: number;
  readonly #maxTotalSize: number;
  readonly #sameOwner: boolean;
  /** Who owns an entry this layer creates, before any chown. */
  readonly #creator: { uid: number; gid: number };
  /** Relative paths of the entries this layer created (hard link targets). */
  readonly #written = new Set<string>();
  /** Relative paths known to be real directories. */
  readonly #knownDirs = new Set<string>([""]);
  /** Directories whose mode and mtime are applied at the end, by relative path. */
  readonly #dirFixups = new Map<string, { abs: string; header: TarHeader }>();
  /** The regular file whose content is arriving. */
  #file: { fd: number; abs: string; header: TarHeader } | undefined;
  /** The entry being written. */
  #path = "";
  /** Bytes of file content written. */
  size = 0;
  /** Archive entries processed. */
  entries = 0;

  constructor(target: string, options: UnpackOptions) {
    this.#target = target;
    this.#maxEntrySize = options.maxEntrySize ?? 64 * 2 ** 30;
    this.#maxTotalSize = options.maxTotalSize ?? 2 ** 40;
    this.#sameOwner = options.sameOwner ?? Deno.uid() === 0;
    // New entries belong to the effective ids; the directories made here have
    // no setgid bit until the end (modes are deferred), so only a setgid
    // target can hand its group down.
    const { uid, gid } = effectiveIds();
    const st = Deno.statSync(target);
    this.#creator = { uid, gid: st.mode! & S_ISGID ? st.gid! : gid };
  }

  entry(header: TarHeader): void {
    this.entries++;
    this.#path = header.path;
    try {
      this.#create(header);
    } catch (e) {
      throw entryError(e, header.path);
    }
  }

  data(piece: Uint8Array): void {
    // Only a regular file's content arrives here; #create opened it.
    const file = this.#file!;
    try {
      writeAll(file.fd, piece, file.abs);
    } catch (e) {
      throw entryError(e, this.#path);
    }
  }

  end(): void {
    const file = this.#file;
    if (!file) return;
    this.#file = undefined;
    try {
      const { fd, abs, header } = file;
      try {
        // chown first: it clears setuid/setgid and security.capability.
        if (this.#needsChown(header, true)) fchown(fd, header.uid, header.gid, abs);
        fchmod(fd, header.mode & 0o7777, abs);
        for (const [name, value] of xattrsOf(header)) fsetxattr(fd, name, value, abs);
        futimes(fd, header.mtime, abs);
      } finally {
        closeFile(fd, abs);
      }
      this.size += header.size;
    } catch (e) {
      throw entryError(e, this.#path);
    }
  }

  /** Closes the file being written, if an error stopped the archive in its middle. */
  abandon(): void {
    const file = this.#file;
    this.#file = undefined;
    try {
      if (file) closeFile(file.fd, file.abs);
    } catch { /* the error that stopped the unpacking is the one to report */ }
  }

  /** Directory modes and mtimes last (children changed the mtimes), deepest first. */
  finishDirectories(): void {
    const deepestFirst = [...this.#dirFixups.entries()].sort((a, b) => b[0].length - a[0].length);
    for (const [, { abs, header }] of deepestFirst) {
      try {
        Deno.chmodSync(abs, header.mode & 0o7777);
        Deno.utimeSync(abs, header.mtime, header.mtime);
      } catch (e) {
        throw withContext(e, "image", `layer entry "${header.path}"`);
      }
    }
  }

  #create(header: TarHeader): void {
    const parts = normalizeEntryPath(header.path);
    if (parts.length === 0) {
      if (header.type !== "dir") throw refuse(header.path, "the layer root must be a directory");
      this.#applyMetadata(this.#target, header, false, true);
      this.#dirFixups.set("", { abs: this.#target, header });
      return;
    }
    const name = parts[parts.length - 1];
    const parentParts = parts.slice(0, -1);
    const parent = this.#ensureDir(parentParts, header.path);
    const parentRel = parentParts.join("/");

    if (name.startsWith(".wh.")) {
      if (name === ".wh..wh..opq") {
        lsetxattr(parent, "trusted.overlay.opaque", new TextEncoder().encode("y"));
      } else if (!name.startsWith(".wh..wh.")) {
        const hidden = name.slice(4);
        if (hidden === "." || hidden === "..") throw refuse(header.path, "invalid whiteout");
        const rel = parentRel === "" ? hidden : `${parentRel}/${hidden}`;
        const abs = child(parent, hidden);
        this.#removeExisting(rel, abs, false);
        mknod(abs, S_IFCHR, 0, 0);
        this.#written.add(rel);
      }
      return;
    }

    const rel = parts.join("/");
    const abs = child(parent, name);
    const keptDir = this.#removeExisting(rel, abs, header.type === "dir");
    switch (header.type) {
      case "dir":
        if (!keptDir) Deno.mkdirSync(abs, { mode: 0o700 });
        this.#knownDirs.add(rel);
        this.#applyMetadata(abs, header, !keptDir, true);
        this.#dirFixups.set(rel, { abs, header });
        break;
      case "file":
        if (header.size > this.#maxEntrySize) {
          throw refuse(
            header.path,
            `size ${header.size} exceeds the limit of ${this.#maxEntrySize} bytes`,
          );
        }
        if (this.size + header.size > this.#maxTotalSize) {
          throw refuse(
            header.path,
            `layer content exceeds the limit of ${this.#maxTotalSize} bytes`,
          );
        }
        // O_CREAT|O_EXCL never follows a symlink at abs; content and
        // metadata follow (data, end).
        this.#file = { fd: createFile(abs), abs, header };
        break;
      case "symlink":
        if (header.linkname === "") throw refuse(header.path, "symlink with an empty target");
        Deno.symlinkSync(header.linkname, abs);
        this.#applyMetadata(abs, header, true, false);
        break;
      case "hardlink": {
        const targetParts = normalizeEntryPath(header.linkname);
        const targetRel = targetParts.join("/");
        if (targetParts.length === 0 || !this.#written.has(targetRel)) {
          throw refuse(
            header.path,
            `hard link target "${header.linkname}" is not an earlier entry of this layer`,
          );
        }
        const targetAbs = child(
          this.#ensureDir(targetParts.slice(0, -1), header.path),
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
        const kind = header.type === "char" ? S_IFCHR : header.type === "block" ? S_IFBLK : S_IFIFO;
        mknod(abs, kind | (header.mode & 0o7777), header.devmajor, header.devminor);
        this.#applyMetadata(abs, header, true, false);
        break;
      }
    }
    this.#written.add(rel);
  }

  /** Makes sure every component of `parts` is a real directory; returns its absolute path. */
  #ensureDir(parts: string[], entryPath: string): string {
    let rel = "";
    let abs = this.#target;
    for (const part of parts) {
      rel = rel === "" ? part : `${rel}/${part}`;
      abs = child(abs, part);
      if (this.#knownDirs.has(rel)) continue;
      // Not made by this layer: nothing is there. Else look at what is.
      const st = this.#written.has(rel) ? lstatOrNull(abs) : null;
      if (st === null) {
        Deno.mkdirSync(abs, { mode: 0o755 });
        Deno.chmodSync(abs, 0o755);
      } else if (st.isSymlink) {
        throw refuse(entryPath, `"${rel}" is a symlink; refusing to write through it`);
      } else if (!st.isDirectory) {
        throw refuse(entryPath, `"${rel}" is not a directory`);
      }
      this.#knownDirs.add(rel);
    }
    return abs;
  }

  /**
   * Removes whatever this layer put at rel/abs earlier (a later entry
   * replaces an earlier one), except a directory when `keepDir`.
   * @returns whether a directory was kept.
   */
  #removeExisting(rel: string, abs: string, keepDir: boolean): boolean {
    const isDir = this.#knownDirs.has(rel);
    if (!isDir && !this.#written.has(rel)) return false; // never created: nothing there
    if (isDir && keepDir) return true;
    const st = lstatOrNull(abs);
    if (st === null) return false;
    Deno.removeSync(abs, { recursive: st.isDirectory });
    for (const set of [this.#knownDirs, this.#dirFixups]) {
      for (const known of [...set.keys()]) {
        if (known === rel || known.startsWith(`${rel}/`)) set.delete(known);
      }
    }
    return false;
  }

  /** Whether an entry needs a chown: one just created belongs to `#creator` already. */
  #needsChown(h: TarHeader, created: boolean): boolean {
    return this.#sameOwner &&
      (!created || h.uid !== this.#creator.uid || h.gid !== this.#creator.gid);
  }

  /**
   * Ownership, mode, xattrs and mtime by path (directories, symlinks,
   * devices); `created`: the entry was just made (not kept from before).
   */
  #applyMetadata(abs: string, h: TarHeader, created: boolean, deferMode: boolean): void {
    if (this.#needsChown(h, created)) {
      if (h.type === "symlink") lchown(abs, h.uid, h.gid);
      else Deno.chownSync(abs, h.uid, h.gid);
    }
    if (h.type !== "symlink" && !deferMode) Deno.chmodSync(abs, h.mode & 0o7777);
    for (const [name, value] of xattrsOf(h)) lsetxattr(abs, name, value);
    if (deferMode) return;
    if (h.type === "symlink") lutimes(abs, h.mtime);
    else Deno.utimeSync(abs, h.mtime, h.mtime);
  }
}

/**
 * Extracts a tar given in chunks into `target` (an existing, empty
 * directory), synchronously, and computes the diff_id and size. See the
 * module comment for the safety rules. After a failure, `abandon` it.
 */
export class LayerUnpacker {
  readonly #hash = createSha256();
  readonly #writer: LayerWriter;
  readonly #parser: TarParser;
  readonly #onData?: (chunk: Uint8Array) => void;

  constructor(target: string, options: UnpackOptions = {}) {
    this.#writer = new LayerWriter(target, options);
    this.#parser = new TarParser(this.#writer);
    this.#onData = options.onData;
  }

  /**
   * The next bytes of the tar (read during the call only).
   * @throws {TsnspawnError} code "image" for a malformed/malicious archive,
   *   "system" for a failed system call.
   */
  push(chunk: Uint8Array): void {
    this.#hash.update(chunk);
    this.#onData?.(chunk);
    this.#parser.push(chunk);
  }

  /** The tar ended: checks it was complete, applies the directories' modes and mtimes. */
  finish(): UnpackResult {
    this.#parser.finish();
    this.#writer.finishDirectories();
    const { size, entries } = this.#writer;
    return { diffId: this.#hash.digest(), size, entries };
  }

  /** Closes what a failure left open (the file being written). */
  abandon(): void {
    this.#writer.abandon();
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
  const unpacker = new LayerUnpacker(target, options);
  try {
    for await (const chunk of stream) unpacker.push(chunk);
    return unpacker.finish();
  } finally {
    unpacker.abandon();
  }
}

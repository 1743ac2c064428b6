/**
 * Reading a stack of layer directories as the one file system overlayfs
 * would show (effects: reads the file system), without mounting it: what a
 * build needs from an image or stage that is not running (COPY --from
 * sources, a COPY destination with symlinks in it, /etc/passwd for
 * --chown), and what commit needs to compare a writable layer with the
 * layers under it.
 *
 * Layers are given topmost first (overlayfs lowerdir order). Rules
 * (kernel Documentation/filesystems/overlayfs.rst): the topmost entry of a
 * name wins; a whiteout (0/0 character device) hides the name below; a
 * non-directory hides everything below it; a directory merges with the
 * directories of the same name below it, down to the first layer where the
 * name is not a directory or where the directory is opaque
 * (`trusted.overlay.opaque=y`). Symlinks are resolved inside the stack's
 * root, never on the host (`..` stops at the root, absolute targets start
 * from it), as a container would see them.
 */
import { cstring, libc } from "../../ffi/libc.ts";
import { TsnspawnError } from "../errors.ts";

/** An entry of the merged view. */
export interface StackEntry {
  /** Host path of the entry in the layer that shows it. */
  abs: string;
  /** Its lstat. */
  st: Deno.FileInfo;
  /** For a directory: the host paths that merge into it, topmost first. */
  dirs: string[];
}

function lstatOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.lstatSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return null;
    }
    throw error;
  }
}

/** An overlay whiteout: a character device with device number 0/0. */
export function isWhiteout(st: Deno.FileInfo): boolean {
  return st.isCharDevice === true && (st.rdev ?? 0) === 0;
}

/** Whether the directory `path` carries `trusted.overlay.opaque=y`. */
export function isOpaqueDir(path: string): boolean {
  const value = new Uint8Array(4);
  const n = Number(
    libc().lgetxattr(cstring(path), cstring("trusted.overlay.opaque"), value, BigInt(value.length)),
  );
  return n === 1 && value[0] === 0x79; // "y"
}

/** The merged root of `layers` (topmost first): every layer down to an opaque root. */
export function stackRoot(layers: readonly string[]): StackEntry | null {
  const dirs: string[] = [];
  for (const [i, layer] of layers.entries()) {
    dirs.push(layer);
    // Opaque hides only what is below: the bottom layer is not asked (no xattr read).
    if (i < layers.length - 1 && isOpaqueDir(layer)) break;
  }
  if (dirs.length === 0) return null;
  return { abs: dirs[0], st: Deno.lstatSync(dirs[0]), dirs };
}

/** The child `name` of a merged directory, or null if it is absent or whited out. */
export function stackChild(parent: StackEntry, name: string): StackEntry | null {
  return childIn(parent.dirs, name, () => true);
}

/** stackChild over `dirs`, looking only where `present(i)` says the name may be. */
function childIn(
  dirs: readonly string[],
  name: string,
  present: (i: number) => boolean,
): StackEntry | null {
  let found: StackEntry | null = null;
  for (const [i, dir] of dirs.entries()) {
    if (!present(i)) continue;
    const abs = `${dir}/${name}`;
    const st = lstatOrNull(abs);
    if (st === null) continue;
    const bottom = i === dirs.length - 1;
    if (found === null) {
      if (isWhiteout(st)) return null;
      found = { abs, st, dirs: st.isDirectory ? [abs] : [] };
      if (!st.isDirectory || bottom || isOpaqueDir(abs)) return found;
      continue;
    }
    // Lower layers only add to a directory, and only until something is not one.
    if (!st.isDirectory) break;
    found.dirs.push(abs);
    if (bottom || isOpaqueDir(abs)) break;
  }
  return found;
}

/** The names in a merged directory, sorted, with what each shows. */
export function stackReadDir(dir: StackEntry): Map<string, StackEntry> {
  // Each layer is listed once, so a name is looked up only where it is.
  const listed = dir.dirs.map((layer) => new Set([...Deno.readDirSync(layer)].map((e) => e.name)));
  const names = new Set(listed.flatMap((set) => [...set]));
  const result = new Map<string, StackEntry>();
  for (const name of [...names].sort()) {
    const child = childIn(dir.dirs, name, (i) => listed[i].has(name));
    if (child) result.set(name, child);
  }
  return result;
}

/** Splits an absolute or relative container path into its components ("." and "" dropped). */
function components(path: string): string[] {
  return path.split("/").filter((c) => c !== "" && c !== ".");
}

const MAX_SYMLINKS = 40;

/** The result of resolving a path: its canonical form and what it names (null if absent). */
export interface ResolvedPath {
  /** The path without symlinks or `..`, "/"-rooted. */
  path: string;
  entry: StackEntry | null;
}

/**
 * Resolves `path` inside the stack: every symlink in a directory position is
 * followed (and the last component too with `followLast`), `..` never
 * climbs above the root. A missing component ends the walk: the rest is
 * appended as written (what a later mkdir -p would create).
 *
 * @throws {TsnspawnError} "invalid" when a component that must be a
 *   directory is a file, or on a symlink loop.
 */
export function resolveInStack(
  layers: readonly string[],
  path: string,
  followLast = true,
): ResolvedPath {
  const root = stackRoot(layers);
  /** The components so far and what each names (null: missing), aligned. */
  const names: string[] = [];
  const entries: (StackEntry | null)[] = [];
  let pending = components(path);
  let hops = 0;
  const current = () => entries.length > 0 ? entries[entries.length - 1] : root;
  while (pending.length > 0) {
    const [name, ...rest] = pending;
    pending = rest;
    if (name === "..") {
      names.pop();
      entries.pop();
      continue;
    }
    const parent = current();
    if (parent === null) {
      names.push(name);
      entries.push(null);
      continue;
    }
    if (!parent.st.isDirectory) {
      throw new TsnspawnError("invalid", `/${names.join("/")} is not a directory`, {
        hint: "a path in the image goes through a file where a directory is needed",
      });
    }
    const child = stackChild(parent, name);
    if (child && child.st.isSymlink && (pending.length > 0 || followLast)) {
      if (++hops > MAX_SYMLINKS) {
        throw new TsnspawnError("invalid", `too many levels of symbolic links in ${path}`);
      }
      const target = Deno.readLinkSync(child.abs);
      if (target.startsWith("/")) {
        names.length = 0;
        entries.length = 0;
      }
      pending = [...components(target), ...pending];
      continue;
    }
    names.push(name);
    entries.push(child);
  }
  return { path: `/${names.join("/")}`, entry: current() };
}

/** The content of a regular file of the stack (symlinks followed), or null if there is none. */
export function readStackFile(layers: readonly string[], path: string): Uint8Array | null {
  const { entry } = resolveInStack(layers, path);
  if (!entry || !entry.st.isFile) return null;
  return Deno.readFileSync(entry.abs);
}

/** A text file of the stack, "" when it is missing (/etc/passwd, /etc/group). */
export function readStackText(layers: readonly string[], path: string): string {
  const bytes = readStackFile(layers, path);
  return bytes === null ? "" : new TextDecoder().decode(bytes);
}

/**
 * Whether `path` exists in the stack (the last component not followed: a
 * dangling symlink exists); false when a directory on the way is a file.
 */
export function existsInStack(layers: readonly string[], path: string): boolean {
  try {
    return resolveInStack(layers, path, false).entry !== null;
  } catch (error) {
    if (error instanceof TsnspawnError) return false;
    throw error;
  }
}

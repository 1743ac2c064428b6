/**
 * Where COPY and ADD take files from (effects: reads the file system): the
 * build context (a directory, with .containerignore/.dockerignore applied:
 * an excluded path does not exist for COPY) or the root file system of an
 * earlier stage or an image (a stack of layer directories, read through
 * image/layer_stack.ts). Both are walked the same way: sources are expanded
 * as globs one path component at a time (Go's filepath.Match: `*` and `?`
 * never match `/`), symlinks in a source path are followed inside the tree
 * (never out of it), and a symlink named as the source itself is followed
 * too, as docker and buildah do; symlinks found inside a copied directory
 * are copied as symlinks.
 *
 * Spec: Dockerfile reference "COPY" (source paths, wildcards, "source
 * paths are interpreted as relative to the root of the context").
 */
import { TsnspawnError } from "../errors.ts";
import { cleanPath } from "./clean_path.ts";
import { compileGlob, hasGlob, type IgnoreMatcher, isIgnored, planDirectory } from "./ignore.ts";
import { stackChild, type StackEntry, stackReadDir, stackRoot } from "../image/layer_stack.ts";

/** One entry of a source tree. */
export interface TreeNode {
  /** Its path in the tree: "/"-rooted, cleaned ("/" for the root). */
  path: string;
  /** The host path its content and metadata are read from. */
  abs: string;
  st: Deno.FileInfo;
  /** What the tree itself keeps about the entry (a layer stack's merged directory). */
  data?: unknown;
}

/** A tree sources are taken from. */
export interface SourceTree {
  /** What the tree is, for messages: "the build context", "stage builder". */
  readonly name: string;
  root(): TreeNode;
  /** The entry `name` of the directory `dir`, or null if there is none (or it is excluded). */
  child(dir: TreeNode, name: string): TreeNode | null;
  /** The entries of the directory `dir`, sorted by name. */
  children(dir: TreeNode): TreeNode[];
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

function childPath(dir: TreeNode, name: string): string {
  return dir.path === "/" ? `/${name}` : `${dir.path}/${name}`;
}

/** The build context `dir` with the ignore patterns of `matcher`. */
export function contextTree(dir: string, matcher: IgnoreMatcher): SourceTree {
  const visible = (path: string, st: Deno.FileInfo) => {
    const rel = path.slice(1);
    if (st.isDirectory) return planDirectory(matcher, rel) !== "skip";
    return !isIgnored(matcher, rel);
  };
  const tree: SourceTree = {
    name: "the build context",
    root: () => ({ path: "/", abs: dir, st: Deno.statSync(dir) }),
    child(parent, name) {
      const abs = `${parent.abs}/${name}`;
      const st = lstatOrNull(abs);
      const path = childPath(parent, name);
      return st && visible(path, st) ? { path, abs, st } : null;
    },
    children(parent) {
      const names = [...Deno.readDirSync(parent.abs)].map((e) => e.name).sort();
      return names.flatMap((name) => tree.child(parent, name) ?? []);
    },
  };
  return tree;
}

/** A tree with nothing in it (`tsnspawn build -` has no context). */
export function emptyTree(name = "the build context"): SourceTree {
  return {
    name,
    root: () => ({ path: "/", abs: "/nonexistent", st: { isDirectory: true } as Deno.FileInfo }),
    child: () => null,
    children: () => [],
  };
}

/** The root file system of a stage or image: its layer dirs, topmost first. */
export function stackTree(layers: readonly string[], name: string): SourceTree {
  const node = (path: string, entry: StackEntry): TreeNode => ({
    path,
    abs: entry.abs,
    st: entry.st,
    data: entry,
  });
  const root = stackRoot(layers);
  return {
    name,
    root: () =>
      root
        ? node("/", root)
        : { path: "/", abs: "/nonexistent", st: { isDirectory: true } as Deno.FileInfo },
    child(parent, name) {
      const entry = parent.data as StackEntry | undefined;
      const found = entry ? stackChild(entry, name) : null;
      return found ? node(childPath(parent, name), found) : null;
    },
    children(parent) {
      const entry = parent.data as StackEntry | undefined;
      if (!entry) return [];
      return [...stackReadDir(entry)].map(([name, e]) => node(childPath(parent, name), e));
    },
  };
}

const MAX_SYMLINKS = 40;

function components(path: string): string[] {
  return cleanPath(`/${path}`).split("/").filter((c) => c !== "");
}

/**
 * Resolves `path` in the tree: symlinks in directory positions always
 * followed, the last one with `followLast`, all inside the tree. Null when
 * something is missing.
 */
export function resolveNode(tree: SourceTree, path: string, followLast: boolean): TreeNode | null {
  const root = tree.root();
  const stack: TreeNode[] = [];
  let pending = components(path);
  let hops = 0;
  while (pending.length > 0) {
    const [name, ...rest] = pending;
    pending = rest;
    if (name === "..") {
      stack.pop();
      continue;
    }
    const parent = stack.at(-1) ?? root;
    if (!parent.st.isDirectory) return null;
    const child = tree.child(parent, name);
    if (!child) return null;
    if (child.st.isSymlink && (pending.length > 0 || followLast)) {
      if (++hops > MAX_SYMLINKS) return null;
      const target = Deno.readLinkSync(child.abs);
      if (target.startsWith("/")) stack.length = 0;
      pending = [...target.split("/").filter((c) => c !== "" && c !== "."), ...pending];
      continue;
    }
    stack.push(child);
  }
  return stack.at(-1) ?? root;
}

/**
 * The entries a COPY/ADD source names: the path itself, or every match of a
 * glob (component by component; sorted). The named entry is resolved with
 * its symlinks followed; a missing path or a glob matching nothing is an
 * error naming the tree.
 */
export function expandSource(tree: SourceTree, source: string): TreeNode[] {
  const parts = components(source);
  if (!parts.some(hasGlob)) {
    const found = resolveNode(tree, source, true);
    if (!found) throw notFound(tree, source);
    // Named through a symlink, the entry keeps the name it was given.
    return [{ ...found, path: `/${parts.join("/")}` }];
  }
  let current: TreeNode[] = [tree.root()];
  for (const [i, part] of parts.entries()) {
    const last = i === parts.length - 1;
    const next: TreeNode[] = [];
    for (const dir of current) {
      if (!dir.st.isDirectory) continue;
      if (!hasGlob(part)) {
        const found = resolveNode(tree, childPath(dir, part), last);
        if (found) next.push(found);
        continue;
      }
      let matches: (name: string) => boolean;
      try {
        matches = compileGlob(part);
      } catch {
        throw new TsnspawnError("invalid", `bad pattern ${JSON.stringify(source)}`, {
          hint: "patterns use *, ? and [classes]; escape special characters with \\",
        });
      }
      for (const child of tree.children(dir)) {
        if (!matches(child.path.slice(child.path.lastIndexOf("/") + 1))) continue;
        const found = child.st.isSymlink ? resolveNode(tree, child.path, true) : child;
        if (found) next.push({ ...found, path: child.path });
      }
    }
    current = next;
  }
  if (current.length === 0) {
    throw new TsnspawnError("not-found", `no files in ${tree.name} match ${source}`, {
      hint: "check the pattern, and that .containerignore/.dockerignore does not exclude them",
    });
  }
  return current.sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
}

function notFound(tree: SourceTree, source: string): TsnspawnError {
  return new TsnspawnError("not-found", `${source}: not found in ${tree.name}`, {
    hint: tree.name === "the build context"
      ? "source paths are relative to the context directory; check .containerignore/.dockerignore"
      : "check the path in that stage or image",
  });
}

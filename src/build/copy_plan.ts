/**
 * What a COPY or ADD step puts where (effects: reads the sources and the
 * stage's layers, downloads nothing): sources expanded (source_tree.ts),
 * each given its target path in the image, the owner and mode rules, and
 * the content description the cache key is made of. copy_write.ts then
 * writes the plan into a new layer.
 *
 * Spec: Dockerfile reference "COPY" and "ADD", with buildah's behaviour
 * where the reference is silent (checked by tests/build_compare_test.ts):
 * - a directory source copies its contents, not itself, into the
 *   destination; a file source goes to `<dest>/<name>` when the destination
 *   ends with `/`, exists as a directory, or there are several sources;
 *   else to `<dest>` itself. Several sources need a directory destination.
 * - A relative destination is relative to WORKDIR. Symlinks in the
 *   destination's directories are followed inside the image (a COPY to
 *   /lib/x where /lib → usr/lib writes /usr/lib/x).
 * - Owner: `--chown` (names resolved with the stage's /etc/passwd and
 *   /etc/group, chown.ts) for everything copied; else 0:0 for the build
 *   context, here-documents and URLs, the archive's owners for an
 *   archive's entries, and the source's own owner for `--from` sources. Mode: the source's, `--chmod` applied to files (a
 *   here-document is 0644, a URL download 0600 before it).
 * - ADD: a URL is downloaded (its name from the URL's last path element),
 *   checked against `--checksum`; a local tar archive (plain, gzip, bzip2,
 *   xz or zstd) is unpacked into the destination directory (`--unpack=false`
 *   copies it as a file).
 * - `--link` is accepted: every COPY already makes a layer of its own.
 *   `--parents`, `--exclude` and ADD `--keep-git-dir` (git sources) are
 *   refused with an error.
 */
import { TsnspawnError } from "../errors.ts";
import type { ContentEntry } from "./cache_key.ts";
import { type ModeChange, parseChmod } from "./chmod.ts";
import { cleanPath } from "./clean_path.ts";
import { type AddInstruction, type CopyInstruction, heredocBody } from "./instructions.ts";
import { expandSource, type SourceTree, type TreeNode } from "./source_tree.ts";
import { resolveInStack, stackChild, stackRoot } from "../image/layer_stack.ts";
import { createSha256 } from "../oci/digest.ts";
import { type Yielder, yielder } from "../cooperative.ts";
import type { DigestCache } from "./digest_cache.ts";
import { resolveChown } from "./chown.ts";
import { readStackText } from "../image/layer_stack.ts";
import type { Destination } from "./stage_state.ts";

/** Owner of copied files: fixed ids, or null to keep each source's own. */
export type Owner = { uid: number; gid: number } | null;

/** One thing to put into the layer, with its target path in the image. */
export type CopyItem =
  /** A file, symlink or special file (`contents` false) or a directory's contents. */
  | { kind: "node"; tree: SourceTree; node: TreeNode; target: string }
  /** A here-document. */
  | { kind: "inline"; data: Uint8Array; target: string }
  /** ADD of a URL: downloaded later (copy_write.ts), unless the cache hits. */
  | { kind: "url"; url: string; target: string; checksum?: string }
  /** ADD of a local tar archive, unpacked into the directory `target`. */
  | { kind: "archive"; node: TreeNode; target: string };

/** A URL source fetched to a host file; `mtime` from its Last-Modified (seconds). */
export interface DownloadedFile {
  path: string;
  mtime?: number;
}

/** A planned COPY/ADD. */
export interface CopyPlan {
  items: CopyItem[];
  owner: Owner;
  /** `--chown` was given (an archive's entries keep their owners otherwise). */
  chown?: boolean;
  /** `--chmod`, applied to files. */
  chmod: ModeChange | null;
  /** The stage's layers (topmost first), for the attributes of existing directories. */
  layers: readonly string[];
  /** The summary history shows: one file, one directory, or several things. */
  summaryKind: "file" | "dir" | "multi";
}

/** What planning needs besides the instruction. */
export interface CopyContext {
  /** Where path sources come from: the context, or the `--from` stage or image. */
  tree: SourceTree;
  /** Sources are the build context's (so they are owned by root unless --chown). */
  fromContext: boolean;
  /** The stage's root file system (layers, topmost first). */
  layers: readonly string[];
  /** The destination made absolute (stage_state.ts destination). */
  destination: Destination;
}

/** Whether a source of ADD is a URL. */
export function isUrl(source: string): boolean {
  return /^https?:\/\//iu.test(source);
}

/** The file name a URL gives its download: the last path element. */
export function urlFileName(url: string): string {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    throw new TsnspawnError("invalid", `ADD ${url}: not a valid URL`);
  }
  const name = decodeURIComponent(path.split("/").filter((p) => p !== "").at(-1) ?? "");
  return name;
}

const TAR_MAGIC_OFFSET = 257;
const MAGICS: [number[], string][] = [
  [[0x1f, 0x8b], "gzip"],
  [[0x42, 0x5a, 0x68], "bzip2"],
  [[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], "xz"],
  [[0x28, 0xb5, 0x2f, 0xfd], "zstd"],
];

/** How a file is compressed, from its first bytes ("none" for anything else). */
export function compressionOf(head: Uint8Array): "gzip" | "bzip2" | "xz" | "zstd" | "none" {
  for (const [magic, name] of MAGICS) {
    if (head.length >= magic.length && magic.every((b, i) => head[i] === b)) {
      return name as "gzip" | "bzip2" | "xz" | "zstd";
    }
  }
  return "none";
}

/** Whether a block is a tar header: "ustar" magic or a valid header checksum. */
export function isTarHeader(block: Uint8Array): boolean {
  if (block.length < 512 || block[0] === 0) return false;
  const magic = new TextDecoder().decode(block.subarray(TAR_MAGIC_OFFSET, TAR_MAGIC_OFFSET + 5));
  if (magic === "ustar") return true;
  const stored = parseInt(
    new TextDecoder().decode(block.subarray(148, 156)).replace(/\0.*$/su, "").trim(),
    8,
  );
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i];
  return stored === sum;
}

function readHead(path: string, bytes: number): Uint8Array {
  const file = Deno.openSync(path);
  try {
    const buffer = new Uint8Array(bytes);
    let filled = 0;
    while (filled < bytes) {
      const n = file.readSync(buffer.subarray(filled));
      if (n === null) break;
      filled += n;
    }
    return buffer.subarray(0, filled);
  } finally {
    file.close();
  }
}

/**
 * Whether a local ADD source is a tar archive to unpack: compressed data
 * (docker unpacks gzip, bzip2 and xz; zstd as BuildKit) or a tar header.
 * A compressed file that is not a tar inside fails when it is unpacked.
 */
export function isArchive(path: string): boolean {
  const head = readHead(path, 512);
  return compressionOf(head) !== "none" || isTarHeader(head);
}

/** A path joined under a directory of the image. */
function under(dir: string, name: string): string {
  return dir === "/" ? `/${name}` : `${dir}/${name}`;
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/**
 * Plans a resolved COPY or ADD: sources expanded, targets decided, owner
 * and mode rules set. Throws the user-facing errors (missing sources,
 * several sources to a file, a URL without a file name).
 */
export function planCopy(
  instruction: CopyInstruction | AddInstruction,
  context: CopyContext,
): CopyPlan {
  const layers = context.layers;
  const dest = context.destination;
  const kind = instruction.kind;
  refuseUnsupported(instruction);
  type Source =
    | { kind: "node"; node: TreeNode; directory: boolean; archive: boolean }
    | { kind: "inline"; name: string; data: Uint8Array }
    | { kind: "url"; url: string; name: string; checksum?: string };
  const sources: Source[] = [];
  for (const source of instruction.sources) {
    if (source.kind === "heredoc") {
      const data = new TextEncoder().encode(heredocBody(source.heredoc));
      sources.push({ kind: "inline", name: source.heredoc.name, data });
      continue;
    }
    if (kind === "ADD" && isUrl(source.path)) {
      const name = urlFileName(source.path);
      sources.push({
        kind: "url",
        url: source.path,
        name,
        ...(instruction.checksum !== undefined ? { checksum: instruction.checksum } : {}),
      });
      continue;
    }
    if (kind === "ADD" && instruction.checksum !== undefined) {
      throw new TsnspawnError("invalid", "ADD --checksum needs a URL source", {
        hint: "--checksum verifies a download; a local file is in the context already",
      });
    }
    for (const node of expandSource(context.tree, source.path)) {
      const directory = node.st.isDirectory === true;
      const archive = kind === "ADD" && instruction.unpack !== false && !directory &&
        node.st.isFile === true && context.fromContext && isArchive(node.abs);
      sources.push({ kind: "node", node, directory, archive });
    }
  }
  const resolvedDest = resolveInStack(layers, dest.path, true);
  const destIsDir = resolvedDest.entry?.st.isDirectory === true;
  const intoDirectory = dest.directory || destIsDir;
  if (sources.length > 1 && !intoDirectory) {
    throw new TsnspawnError(
      "invalid",
      `${kind} with several sources needs a directory destination ending with /: ${dest.path}`,
      { hint: `write the destination as ${dest.path}/` },
    );
  }
  /** The target of a file named `name`: inside the destination, or the destination itself. */
  const fileTarget = (name: string): string => {
    if (intoDirectory) return under(resolvedDest.path, name);
    const parent = resolveInStack(layers, dest.path.slice(0, dest.path.lastIndexOf("/")) || "/");
    return under(parent.path, baseName(dest.path));
  };
  const items: CopyItem[] = sources.map((source): CopyItem => {
    switch (source.kind) {
      case "inline":
        return { kind: "inline", data: source.data, target: fileTarget(source.name) };
      case "url":
        if (source.name === "" && intoDirectory) {
          throw new TsnspawnError("invalid", `ADD ${source.url}: the URL names no file`, {
            hint: "give the destination as a file name (without a trailing /)",
          });
        }
        return {
          kind: "url",
          url: source.url,
          target: fileTarget(source.name),
          ...(source.checksum !== undefined ? { checksum: source.checksum } : {}),
        };
      case "node":
        if (source.directory) {
          return { kind: "node", tree: context.tree, node: source.node, target: resolvedDest.path };
        }
        if (source.archive) {
          return { kind: "archive", node: source.node, target: resolvedDest.path };
        }
        return {
          kind: "node",
          tree: context.tree,
          node: source.node,
          target: fileTarget(baseName(source.node.path)),
        };
    }
  });
  const owner: Owner = instruction.chown !== undefined
    ? resolveChown(
      instruction.chown,
      readStackText(layers, "/etc/passwd"),
      readStackText(layers, "/etc/group"),
    )
    : context.fromContext
    ? { uid: 0, gid: 0 }
    : null;
  const single = items.length === 1 ? items[0] : undefined;
  const summaryKind = single?.kind === "node" && single.node.st.isDirectory
    ? "dir"
    : single && single.kind !== "archive"
    ? "file"
    : "multi";
  return {
    items,
    owner,
    chown: instruction.chown !== undefined,
    chmod: instruction.chmod !== undefined ? parseChmod(instruction.chmod) : null,
    layers,
    summaryKind,
  };
}

/**
 * Flags the parser knows but the builder does not implement: a clear error
 * rather than a copy that silently differs from BuildKit's.
 */
function refuseUnsupported(instruction: CopyInstruction | AddInstruction): void {
  const unsupported = instruction.kind === "COPY"
    ? [instruction.parents && "--parents", instruction.exclude.length > 0 && "--exclude"]
    : [
      instruction.exclude.length > 0 && "--exclude",
      instruction.keepGitDir !== undefined && "--keep-git-dir",
    ];
  const flag = unsupported.find((f) => typeof f === "string");
  if (flag) {
    throw new TsnspawnError(
      "invalid",
      `${instruction.kind} ${flag} is not supported by tsnspawn build`,
      {
        hint: instruction.kind === "COPY" && flag === "--parents"
          ? "give each source's directory in the destination instead"
          : flag === "--exclude"
          ? "keep the files out with .containerignore/.dockerignore, or copy a narrower source"
          : "clone the repository into the context and COPY it",
      },
    );
  }
}

/** "sha256:<hex>" and size of a file's content, read in 1 MiB pieces. */
export async function hashFile(
  path: string,
  turns: Yielder = yielder(),
): Promise<{ digest: string; size: number }> {
  const hash = createSha256();
  const file = Deno.openSync(path);
  const buffer = new Uint8Array(1 << 20);
  let size = 0;
  try {
    for (;;) {
      await turns.tick();
      const n = file.readSync(buffer);
      if (n === null) break;
      hash.update(buffer.subarray(0, n));
      size += n;
    }
  } finally {
    file.close();
  }
  return { digest: hash.digest(), size };
}

/** The owner and mode an entry gets in the layer. */
export function entryAttributes(
  plan: CopyPlan,
  st: Deno.FileInfo,
  defaults: { uid: number; gid: number; mode: number } | null = null,
): { uid: number; gid: number; mode: number } {
  const base = defaults ?? { uid: st.uid ?? 0, gid: st.gid ?? 0, mode: (st.mode ?? 0) & 0o7777 };
  const owner = plan.owner ?? { uid: base.uid, gid: base.gid };
  const mode = plan.chmod && !st.isDirectory && !st.isSymlink
    ? plan.chmod(base.mode, false)
    : base.mode;
  return { uid: owner.uid, gid: owner.gid, mode };
}

function entryType(st: Deno.FileInfo): ContentEntry["type"] {
  if (st.isDirectory) return "dir";
  if (st.isSymlink) return "symlink";
  if (st.isFile) return "file";
  if (st.isFifo) return "fifo";
  if (st.isCharDevice) return "char";
  return "block";
}

/**
 * The content the plan copies, for the cache key (cache_key.ts
 * contentDigest): every entry with its target path, type, owner and mode
 * after --chown/--chmod, size and content digest, symlink target; never a
 * time. `digests` remembers big context files' digests (digest_cache.ts). A URL with --checksum counts by its checksum (it is not fetched to
 * decide a cache hit); one without counts by `downloads` (fetched first).
 */
export async function planContent(
  plan: CopyPlan,
  downloads: ReadonlyMap<string, DownloadedFile> = new Map(),
  digests?: DigestCache,
): Promise<ContentEntry[]> {
  const entries: ContentEntry[] = [];
  const turns = yielder();
  const visit = async (tree: SourceTree, node: TreeNode, target: string) => {
    const st = node.st;
    const { uid, gid, mode } = entryAttributes(plan, st);
    const entry: ContentEntry = { path: target, type: entryType(st), mode, uid, gid };
    if (st.isFile) {
      const remembered = digests?.lookup(st);
      if (remembered !== undefined) Object.assign(entry, { size: st.size, digest: remembered });
      else {
        const started = Date.now();
        const hashed = await hashFile(node.abs, turns);
        digests?.record(st, hashed.digest, started);
        Object.assign(entry, hashed);
      }
    } else if (st.isSymlink) entry.target = Deno.readLinkSync(node.abs);
    entries.push(entry);
    if (st.isDirectory) {
      for (const child of tree.children(node)) {
        await visit(tree, child, under(target, baseName(child.path)));
      }
    }
  };
  for (const item of plan.items) {
    switch (item.kind) {
      case "node":
        await visit(item.tree, item.node, item.target);
        break;
      case "inline": {
        const hash = createSha256();
        hash.update(item.data);
        const mode = plan.chmod ? plan.chmod(0o644, false) : 0o644;
        const owner = plan.owner ?? { uid: 0, gid: 0 };
        entries.push({
          path: item.target,
          type: "file",
          mode,
          ...owner,
          size: item.data.length,
          digest: hash.digest(),
        });
        break;
      }
      case "url": {
        const mode = plan.chmod ? plan.chmod(0o600, false) : 0o600;
        const owner = plan.owner ?? { uid: 0, gid: 0 };
        const file = downloads.get(item.url);
        const content = item.checksum !== undefined
          ? { digest: item.checksum }
          : file !== undefined
          ? await hashFile(file.path, turns)
          : { digest: `url:${item.url}` };
        entries.push({ path: item.target, type: "file", mode, ...owner, ...content });
        break;
      }
      case "archive": {
        const { digest, size } = await hashFile(item.node.abs, turns);
        entries.push({
          path: item.target,
          type: "file",
          mode: 0,
          ...(plan.chown && plan.owner ? plan.owner : { uid: -1, gid: -1 }),
          size,
          digest: `archive:${digest}`,
        });
        break;
      }
    }
  }
  return entries;
}

/** Attributes of the image's directory at canonical `path`, if it has one. */
export function imageDirectory(layers: readonly string[], path: string): Deno.FileInfo | null {
  let entry = stackRoot(layers);
  for (const name of cleanPath(path).split("/").filter((c) => c !== "")) {
    if (!entry) return null;
    entry = stackChild(entry, name);
  }
  return entry && entry.st.isDirectory ? entry.st : null;
}

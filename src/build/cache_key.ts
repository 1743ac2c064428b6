/**
 * Build cache keys (pure, sha256 through WebCrypto): a step's key chains its
 * parent's key with the step's canonical text, so a change invalidates that
 * step and every step after it, and nothing before.
 *
 * Rules (docker's classic builder and buildah's --layers cache, see
 * Dockerfile reference "Impact on build caching" and "Cache invalidation for
 * RUN instructions"):
 *
 * - The first key of a stage comes from its base: the base image's ID
 *   (config digest), the final key of the base stage, or scratch with the
 *   platform; plus build-wide settings that change every layer (e.g. the
 *   `--timestamp`).
 * - Every step counts, metadata ones too, with variables substituted: a
 *   changed ENV value or WORKDIR changes the key of that step and the ones
 *   after it.
 * - ARG steps count with their defaults (not `--build-arg` values); a RUN
 *   counts with the ARGs it sees (build_args.ts recordedRunArgs), so a changed
 *   build argument misses the cache from its first use on, as docker. Proxy
 *   args not declared with ARG never count.
 * - COPY/ADD add a digest of the copied content (contentDigest): names,
 *   types, modes, owners after --chown/--chmod, sizes, content digests,
 *   link targets — not times. RUN --mount=type=bind adds the digests of the
 *   mounted sources.
 *
 * The effectful walker produces ContentEntry lists (hashing each file with a
 * streaming sha256); this module only combines them.
 */
import { formatInstruction } from "./instruction_format.ts";
import type { Instruction } from "./instructions.ts";
import type { Platform } from "./build_args.ts";

/** Changes whenever the key text below changes meaning (old cache entries then miss). */
export const CACHE_KEY_VERSION = "tsnspawn-build-cache/1";

/** Where a stage starts, for its first cache key. */
export type CacheRoot =
  | { kind: "image"; id: string }
  | { kind: "stage"; key: string }
  | { kind: "scratch"; platform: Platform };

/** One file of copied content (what COPY/ADD puts into the layer). */
export interface ContentEntry {
  /** Slash-separated path relative to the destination (or source root). */
  path: string;
  type: "file" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo";
  /** Permission bits with setuid/setgid/sticky (07777), after --chmod. */
  mode: number;
  /** Owner after --chown. */
  uid: number;
  gid: number;
  /** Regular files: size in bytes and "sha256:<hex>" of the content. */
  size?: number;
  digest?: string;
  /** Symlink target, or the path a hard link points to. */
  target?: string;
  /** Device numbers of char and block devices. */
  major?: number;
  minor?: number;
  /** Extended attributes, if the copy keeps them. */
  xattrs?: Record<string, string>;
}

/** What a step's key is made of. */
export interface StepKeyInput {
  /** The previous step's key, or the stage's root key. */
  parent: string;
  /** The instruction with variables substituted (ARG: defaults, not --build-arg values). */
  instruction: Instruction;
  /** The SHELL in effect. */
  shell: readonly string[];
  /** RUN: the recorded `NAME=value` ARGs, sorted. */
  runArgs?: readonly string[];
  /** COPY/ADD: contentDigest of what is copied. */
  content?: string;
  /** RUN: contentDigest of each bind-mounted source, in mount order. */
  mountContents?: readonly string[];
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return `sha256:${
    Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("")
  }`;
}

/** The text a stage's root key hashes (printable for debugging). */
export function stageRootText(root: CacheRoot, settings: Record<string, string> = {}): string {
  const base = root.kind === "image"
    ? `image ${root.id}`
    : root.kind === "stage"
    ? `stage ${root.key}`
    : `scratch ${root.platform.os}/${root.platform.architecture}${
      root.platform.variant ? `/${root.platform.variant}` : ""
    }`;
  const lines = Object.keys(settings).sort().map((name) =>
    `setting ${JSON.stringify(name)}=${JSON.stringify(settings[name])}`
  );
  return [CACHE_KEY_VERSION, base, ...lines].join("\n");
}

/** The key a stage starts from. */
export function stageRootKey(
  root: CacheRoot,
  settings: Record<string, string> = {},
): Promise<string> {
  return sha256(stageRootText(root, settings));
}

/** The text a step's key hashes (printable for debugging). */
export function stepCacheText(input: StepKeyInput): string {
  const lines = [
    CACHE_KEY_VERSION,
    `parent ${input.parent}`,
    `step ${formatInstruction(input.instruction)}`,
  ];
  if (input.instruction.kind === "RUN") {
    lines.push(
      `shell ${JSON.stringify(input.shell)}`,
      `args ${JSON.stringify(input.runArgs ?? [])}`,
    );
    for (const digest of input.mountContents ?? []) lines.push(`mount ${digest}`);
  }
  if (input.content !== undefined) lines.push(`content ${input.content}`);
  return lines.join("\n");
}

/** The cache key of a step: "sha256:<hex>". */
export function stepCacheKey(input: StepKeyInput): Promise<string> {
  return sha256(stepCacheText(input));
}

/** One line per entry, sorted by path; times are not part of it. */
export function contentManifest(entries: readonly ContentEntry[]): string {
  const sorted = [...entries].sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
  return sorted.map((e) =>
    JSON.stringify([
      e.path,
      e.type,
      e.mode.toString(8),
      e.uid,
      e.gid,
      e.size ?? null,
      e.digest ?? null,
      e.target ?? null,
      e.major ?? null,
      e.minor ?? null,
      e.xattrs ? Object.entries(e.xattrs).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0) : null,
    ])
  ).join("\n");
}

/** The digest of copied content: "sha256:<hex>" of its manifest. */
export function contentDigest(entries: readonly ContentEntry[]): Promise<string> {
  return sha256(contentManifest(entries));
}

/**
 * The history form of copied content, as docker and buildah write it:
 * `file:<hex>` for one file, `dir:<hex>` for one directory, `multi:<hex>` else.
 */
export function contentSummary(kind: "file" | "dir" | "multi", digest: string): string {
  return `${kind}:${digest.replace(/^sha256:/u, "")}`;
}

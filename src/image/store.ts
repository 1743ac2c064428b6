/**
 * The content-addressed OCI image store under `imagesDir()` (effects).
 *
 * Layout:
 *   blobs/sha256/<hex>        manifests, configs and layer tarballs as received
 *                             (an imported layer is kept uncompressed, so its
 *                             blob digest equals its diff_id)
 *   layers/<diffid-hex>/diff  the unpacked layer (overlayfs lower dir), shared by
 *                             every image that uses it; whiteouts in overlay form
 *   layers/<diffid-hex>/size  bytes of file content in diff/ (decimal)
 *   repositories.json         { "docker.io/library/busybox:latest": "sha256:<manifest>" }
 *   untagged.json             [ "sha256:<manifest>" ]: images untagged with --force
 *                             while in use, or left when a pull, tag or build moved
 *                             their tag to a newer image, and builds without a tag;
 *                             kept until `pruneImages`
 *   build-cache/<key-hex>     "sha256:<manifest>": the image a build step made
 *                             (`tsnspawn build`'s cache, src/build/cache_key.ts);
 *                             these images count as reachable until `pruneStore`
 *                             drops the entries no tagged image descends from
 *   build-cache/file-digests.json  digests of big build-context files (a cache)
 *   lock                      flock held by every writer
 *
 * Rules: blobs and layer dirs are immutable once they appear; everything is
 * built under `tmpDir()` (same file system) and renamed into place while the
 * store lock is held, so a reader never sees a partial layer and a crash
 * leaves at most garbage in tmp/. Deletion (`removeImage`) is mark-and-sweep
 * under the lock: what no tag / untagged entry reaches is removed; layer dirs
 * are first renamed out of the store, then deleted after the lock is released.
 * Writers must only add blobs under the lock, together with the tag that
 * reaches them (or a sweep may collect them).
 *
 * Specs: opencontainers/image-spec manifest.md, config.md, layer.md.
 */
import { basename, join } from "../path_util.ts";
import { sha256Digest } from "../oci/digest.ts";
import { TsnspawnError, withContext } from "../errors.ts";
import {
  familiarName,
  formatReference,
  type ImageReference,
  parseReference,
  parseTagTarget,
  repositoryName,
} from "../oci/reference.ts";
import {
  MEDIA_TYPE_OCI_CONFIG,
  MEDIA_TYPE_OCI_LAYER,
  MEDIA_TYPE_OCI_MANIFEST,
  type OciDescriptor,
  type OciImageConfig,
  type OciManifest,
} from "../oci/types.ts";
import { imagesDir, tmpDir } from "../paths.ts";
import { makeStagingDir, releaseStaging } from "../staging.ts";

/** The PATH every imported image gets unless its env sets one. */
export const DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

const NOT_FOUND_HINT = "pull it or import a rootfs with 'tsnspawn import'";

/** Absolute paths of the store. */
export interface StorePaths {
  root: string;
  blobs: string;
  layers: string;
  repositories: string;
  untagged: string;
  buildCache: string;
  lock: string;
}

/** The store's paths (under `imagesDir()`). */
export function storePaths(root = imagesDir()): StorePaths {
  return {
    root,
    blobs: join(root, "blobs", "sha256"),
    layers: join(root, "layers"),
    repositories: join(root, "repositories.json"),
    untagged: join(root, "untagged.json"),
    buildCache: join(root, "build-cache"),
    lock: join(root, "lock"),
  };
}

/** Path of the blob with `digest` ("sha256:<hex>"). */
export function blobPath(digest: string): string {
  return join(storePaths().blobs, digestHex(digest));
}

/** Path of the unpacked layer (overlay lower dir) with `diffId`. */
export function layerDiffPath(diffId: string): string {
  return join(storePaths().layers, digestHex(diffId), "diff");
}

function digestHex(digest: string): string {
  const m = /^sha256:([a-f0-9]{64})$/.exec(digest);
  if (!m) {
    throw new TsnspawnError("image", `invalid digest "${digest}"`, {
      hint: "only sha256 digests are supported",
    });
  }
  return m[1];
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** Creates the store's directories (and tmp/) if missing; returns its paths. */
export function ensureStoreDirs(): StorePaths {
  return ensureDirs();
}

function ensureDirs(): StorePaths {
  const p = storePaths();
  for (const dir of [p.blobs, p.layers, tmpDir()]) Deno.mkdirSync(dir, { recursive: true });
  return p;
}

/** Writes a file atomically: temp file in tmpDir(), fsync, rename. */
function writeFileAtomic(path: string, data: Uint8Array): void {
  const tmp = join(tmpDir(), `.${basename(path)}.${crypto.randomUUID()}`);
  const file = Deno.openSync(tmp, { write: true, createNew: true, mode: 0o644 });
  try {
    let off = 0;
    while (off < data.length) off += file.writeSync(data.subarray(off));
    file.syncSync();
  } finally {
    file.close();
  }
  try {
    Deno.renameSync(tmp, path);
  } catch (e) {
    Deno.removeSync(tmp);
    throw e;
  }
}

/** Runs `fn` holding the store's exclusive lock (flock on `<images>/lock`). */
export async function withStoreLock<T>(fn: () => T | Promise<T>): Promise<T> {
  const p = ensureDirs();
  const file = await Deno.open(p.lock, { create: true, write: true, mode: 0o600 });
  try {
    await file.lock(true);
    return await fn();
  } finally {
    file.close(); // releases the flock
  }
}

// ------------------------------------------------------------ indexes

type Repositories = Record<string, string>;

function readJson<T>(path: string, fallback: T): T {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return fallback;
    throw withContext(e, "image", `reading ${path}`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new TsnspawnError(
      "image",
      `image store file ${path} is corrupt: ${(e as Error).message}`,
      {
        hint: "restore it or remove the image store",
        cause: e,
      },
    );
  }
}

function readRepositories(): Repositories {
  return readJson<Repositories>(storePaths().repositories, {});
}

function readUntagged(): string[] {
  return readJson<string[]>(storePaths().untagged, []);
}

function writeJson(path: string, value: unknown): void {
  writeFileAtomic(path, new TextEncoder().encode(JSON.stringify(value, null, 2) + "\n"));
}

/** Stores bytes as a blob (no-op if present); returns its digest. Call under the lock. */
async function putBlob(bytes: Uint8Array): Promise<string> {
  const digest = await sha256Digest(bytes);
  const path = blobPath(digest);
  if (!exists(path)) writeFileAtomic(path, bytes);
  return digest;
}

function readBlobJson<T>(digest: string, what: string): T {
  let text: string;
  try {
    text = Deno.readTextFileSync(blobPath(digest));
  } catch (e) {
    throw new TsnspawnError("image", `${what} ${digest} is missing from the image store`, {
      hint: "the store is damaged; remove the image and pull or import it again",
      cause: e,
    });
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new TsnspawnError("image", `${what} ${digest} is not valid JSON`, { cause: e });
  }
}

interface ImageRecord {
  manifestDigest: string;
  manifest: OciManifest;
  /** Config digest = image id. */
  id: string;
  config: OciImageConfig;
}

function loadImage(manifestDigest: string): ImageRecord {
  const manifest = readBlobJson<OciManifest>(manifestDigest, "manifest");
  const config = readBlobJson<OciImageConfig>(manifest.config.digest, "image config");
  return { manifestDigest, manifest, id: manifest.config.digest, config };
}

// ------------------------------------------------------------ import

/** Execution defaults and metadata for `importRootfsTarball`. */
export interface ImportOptions {
  cmd?: string[];
  entrypoint?: string[];
  /** "NAME=value"; the default PATH is added unless PATH is set. */
  env?: string[];
  workingDir?: string;
  user?: string;
  stopSignal?: string;
  labels?: Record<string, string>;
  /** Creation time recorded in the config (default: now). */
  created?: Date;
  /** Test hook: runs after the layer is unpacked, before anything is committed. */
  afterUnpack?: () => void | Promise<void>;
}

const GZIP_MAGIC = [0x1f, 0x8b];
const OTHER_MAGICS: [number[], string][] = [
  [[0x28, 0xb5, 0x2f, 0xfd], "zstd"],
  [[0xfd, 0x37, 0x7a, 0x58, 0x5a], "xz"],
  [[0x42, 0x5a, 0x68], "bzip2"],
];

function startsWith(bytes: Uint8Array, magic: number[]): boolean {
  return magic.every((b, i) => bytes[i] === b);
}

/** Opens a tarball (plain or gzip, detected by magic) as a stream of tar bytes. */
async function openTarball(path: string): Promise<ReadableStream<Uint8Array>> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new TsnspawnError("not-found", `rootfs tarball ${path}: not found`, {
        hint: "check the path",
      });
    }
    throw withContext(e, "system", `opening ${path}`);
  }
  const head = new Uint8Array(8);
  const n = (await file.read(head)) ?? 0;
  await file.seek(0, Deno.SeekMode.Start);
  for (const [magic, name] of OTHER_MAGICS) {
    if (n >= magic.length && startsWith(head, magic)) {
      file.close();
      throw new TsnspawnError(
        "invalid",
        `rootfs tarball ${path}: ${name} compression is not supported`,
        {
          hint: "decompress it first, or recompress with gzip",
        },
      );
    }
  }
  if (n >= 2 && startsWith(head, GZIP_MAGIC)) {
    return file.readable.pipeThrough(
      new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>,
    );
  }
  return file.readable;
}

function goArch(): string {
  const arch: Record<string, string> = { x86_64: "amd64", aarch64: "arm64" };
  return arch[Deno.build.arch] ?? Deno.build.arch;
}

/** Builds the OCI config of an imported single-layer image (pure). */
export function planImportConfig(
  diffId: string,
  source: string,
  options: ImportOptions,
): OciImageConfig {
  const created = (options.created ?? new Date()).toISOString();
  const env = [...(options.env ?? [])];
  if (!env.some((e) => e.startsWith("PATH="))) env.unshift(DEFAULT_PATH);
  const run: OciImageConfig["config"] = { Env: env };
  if (options.entrypoint) run.Entrypoint = options.entrypoint;
  const cmd = options.cmd ?? (options.entrypoint ? undefined : ["/bin/sh"]);
  if (cmd) run.Cmd = cmd;
  if (options.workingDir) run.WorkingDir = options.workingDir;
  if (options.user) run.User = options.user;
  if (options.stopSignal) run.StopSignal = options.stopSignal;
  if (options.labels) run.Labels = options.labels;
  return {
    created,
    architecture: goArch(),
    os: "linux",
    config: run,
    rootfs: { type: "layers", diff_ids: [diffId] },
    history: [{ created, created_by: `tsnspawn import ${source}` }],
  };
}

function importTarget(reference: string): ImageReference {
  return parseTagTarget(reference, "import under");
}

/**
 * `tsnspawn import TARBALL NAME[:TAG]`: turns a rootfs tarball (plain or
 * gzip) into a one-layer OCI image and tags it. The layer is reused when an
 * identical one (same diff_id) is already stored. The uncompressed tar is
 * kept as the layer blob (needed to push the image later).
 *
 * @returns the image id, "sha256:<hex of the config>".
 * @throws {TsnspawnError} "invalid" (reference, compression), "not-found"
 *   (tarball), "image" (corrupt or malicious archive).
 */
export async function importRootfsTarball(
  tarPath: string,
  reference: string,
  options: ImportOptions = {},
): Promise<string> {
  const ref = importTarget(reference);
  // Loaded here: the store's readers (pull's up-to-date check, images) never unpack.
  const { unpackLayer } = await import("./layer_unpack.ts");
  const stream = await openTarball(tarPath);
  ensureDirs();
  const staging = makeStagingDir("import-"); // flocked: `tsnspawn check` leaves it alone
  try {
    const layerDir = join(staging, "layer");
    const diffDir = join(layerDir, "diff");
    Deno.mkdirSync(diffDir, { recursive: true, mode: 0o755 });
    Deno.chmodSync(diffDir, 0o755);
    const blobTmp = join(staging, "layer.tar");
    const blobFile = Deno.openSync(blobTmp, { write: true, createNew: true, mode: 0o644 });
    let unpacked;
    try {
      unpacked = await unpackLayer(stream, diffDir, {
        onData(chunk) {
          let off = 0;
          while (off < chunk.length) off += blobFile.writeSync(chunk.subarray(off));
        },
      });
      blobFile.syncSync();
    } catch (e) {
      throw withContext(e, e instanceof TsnspawnError ? e.code : "image", `importing ${tarPath}`);
    } finally {
      blobFile.close();
    }
    const { diffId, size } = unpacked;
    Deno.writeTextFileSync(join(layerDir, "size"), `${size}\n`);
    await options.afterUnpack?.();

    const config = planImportConfig(diffId, basename(tarPath), options);
    const configBytes = new TextEncoder().encode(JSON.stringify(config));
    const layer: OciDescriptor = {
      mediaType: MEDIA_TYPE_OCI_LAYER,
      digest: diffId,
      size: Deno.statSync(blobTmp).size,
    };
    const manifest: OciManifest = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPE_OCI_MANIFEST,
      config: {
        mediaType: MEDIA_TYPE_OCI_CONFIG,
        digest: await sha256Digest(configBytes),
        size: configBytes.length,
      },
      layers: [layer],
    };
    const manifestBytes = new TextEncoder().encode(JSON.stringify(manifest));

    return await withStoreLock(async () => {
      const p = storePaths();
      const layerPath = join(p.layers, digestHex(diffId));
      if (!exists(layerPath)) Deno.renameSync(layerDir, layerPath);
      if (!exists(blobPath(diffId))) Deno.renameSync(blobTmp, blobPath(diffId));
      const id = await putBlob(configBytes);
      const manifestDigest = await putBlob(manifestBytes);
      const repositories = readRepositories();
      repositories[formatReference(ref)] = manifestDigest;
      writeJson(p.repositories, repositories);
      return id;
    });
  } finally {
    await removeQuietly(staging);
    releaseStaging(staging);
  }
}

async function removeQuietly(path: string): Promise<void> {
  try {
    await Deno.remove(path, { recursive: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      console.error(`warning: cannot remove ${path}: ${(e as Error).message}, ignoring`);
    }
  }
}

// ------------------------------------------------------------ commit

/** An image whose parts are ready under `tmpDir()`, to be made visible at once. */
export interface StagedImage {
  /** repositories.json keys (normalized references) to point at the manifest. */
  tags: string[];
  manifestBytes: Uint8Array;
  configBytes: Uint8Array;
  /** diff_id → staged layer dir (holding `diff/` and `size`), for layers not yet stored. */
  layers: Map<string, string>;
  /** digest → staged file, blobs to keep (e.g. uncompressed layer tars). */
  blobs?: Map<string, string>;
  /** Build cache keys ("sha256:<hex>") to point at this image (src/build/). */
  cacheKeys?: string[];
  /** With no tags: record the image in untagged.json (a build without -t), so it is kept. */
  untagged?: boolean;
}

/** Whether the unpacked layer `diffId` is in the store. */
export function hasLayer(diffId: string): boolean {
  return exists(join(storePaths().layers, digestHex(diffId)));
}

/** Whether the blob `digest` is in the store. */
export function hasBlob(digest: string): boolean {
  return exists(blobPath(digest));
}

/** The manifest digest a tag (repositories.json key) points at, if any. */
export function taggedManifest(key: string): string | undefined {
  return readRepositories()[key];
}

/**
 * Makes a staged image visible, under the store lock: moves each staged
 * layer dir into `layers/` unless another writer stored it meanwhile (then
 * the staged copy stays behind for the caller to delete), stores the extra
 * blobs, the config and the manifest, and points the tags at the manifest.
 * Every layer the config names must be stored or staged.
 *
 * @returns the image id (config digest).
 * @throws {TsnspawnError} "image" when a layer is neither stored nor staged.
 */
export async function commitStagedImage(image: StagedImage): Promise<string> {
  return await withStoreLock(() => storeStaged(image));
}

/** The body of commitStagedImage; call it under the store lock. */
async function storeStaged(image: StagedImage): Promise<string> {
  const config = JSON.parse(new TextDecoder().decode(image.configBytes)) as OciImageConfig;
  const p = storePaths();
  for (const diffId of config.rootfs.diff_ids) {
    const target = join(p.layers, digestHex(diffId));
    if (exists(target)) continue;
    const staged = image.layers.get(diffId);
    if (!staged) {
      throw new TsnspawnError("image", `layer ${diffId} is neither stored nor staged`, {
        hint: "this is a bug; retry the operation",
      });
    }
    Deno.renameSync(staged, target);
  }
  for (const [digest, path] of image.blobs ?? []) {
    if (!exists(blobPath(digest))) Deno.renameSync(path, blobPath(digest));
  }
  const id = await putBlob(image.configBytes);
  const manifestDigest = await putBlob(image.manifestBytes);
  if (image.cacheKeys && image.cacheKeys.length > 0) {
    Deno.mkdirSync(p.buildCache, { recursive: true });
    for (const key of image.cacheKeys) {
      writeFileAtomic(join(p.buildCache, digestHex(key)), new TextEncoder().encode(manifestDigest));
    }
  }
  if (image.tags.length > 0) {
    const repositories = readRepositories();
    // A rebuild that changed nothing finds its tags in place: nothing to write.
    if (image.tags.every((tag) => repositories[tag] === manifestDigest)) return id;
    const replaced = new Set<string>();
    for (const tag of image.tags) {
      const previous = repositories[tag];
      if (previous !== undefined && previous !== manifestDigest) replaced.add(previous);
      repositories[tag] = manifestDigest;
    }
    // An image a tag moved away from stays, untagged (docker's <none>), until
    // `image prune` finds no container using it: a container made from it
    // still runs on its layers, and auto-update rolls back to it.
    const reachable = new Set(Object.values(repositories));
    const untagged = readUntagged();
    const dangling = [...replaced].filter((d) => !reachable.has(d) && !untagged.includes(d));
    writeJson(p.repositories, repositories);
    if (dangling.length > 0) writeJson(p.untagged, [...untagged, ...dangling]);
  } else if (image.untagged) {
    const untagged = readUntagged();
    if (!untagged.includes(manifestDigest)) writeJson(p.untagged, [...untagged, manifestDigest]);
  }
  return id;
}

/**
 * Stores the image of a build step under its cache key `key`, unless
 * another build stored one under that key meanwhile: the first stays, and
 * is what this returns (two builds of the same step at once then go on with
 * the same image, and no image a running build uses loses its entry). With
 * `replace` (build --no-cache) the new image takes the key over.
 */
export async function commitBuildStep(
  image: StagedImage,
  key: string,
  replace = false,
): Promise<CachedImage> {
  return await withStoreLock(async () => {
    const existing = replace ? undefined : lookupBuildCache(key);
    if (existing) return existing;
    await storeStaged({ ...image, cacheKeys: [key] });
    return lookupBuildCache(key)!;
  });
}

/** An image found in the build cache. */
export interface CachedImage {
  id: string;
  manifestDigest: string;
  manifest: OciManifest;
  config: OciImageConfig;
}

/**
 * The image a build step with cache key `key` made, if the store still has
 * it whole (manifest, config and every layer); otherwise undefined (a miss).
 */
export function lookupBuildCache(key: string): CachedImage | undefined {
  let manifestDigest: string;
  try {
    manifestDigest = Deno.readTextFileSync(join(storePaths().buildCache, digestHex(key))).trim();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  let record: ImageRecord;
  try {
    record = loadImage(manifestDigest);
  } catch {
    return undefined; // pruned or damaged: build the step again
  }
  if (!record.config.rootfs.diff_ids.every(hasLayer)) return undefined;
  return { id: record.id, manifestDigest, manifest: record.manifest, config: record.config };
}

/** Build cache entries: key hex → manifest digest. */
function readBuildCache(): Map<string, string> {
  const entries = new Map<string, string>();
  let names: Deno.DirEntry[];
  try {
    names = [...Deno.readDirSync(storePaths().buildCache)];
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return entries;
    throw e;
  }
  for (const entry of names) {
    if (!/^[a-f0-9]{64}$/.test(entry.name)) continue; // a temp file of an interrupted write
    try {
      const digest = Deno.readTextFileSync(join(storePaths().buildCache, entry.name)).trim();
      if (/^sha256:[a-f0-9]{64}$/.test(digest)) entries.set(entry.name, digest);
    } catch { /* removed meanwhile */ }
  }
  return entries;
}

/** Reads a stored blob (manifests, configs). */
export function readBlob(digest: string): Uint8Array {
  return Deno.readFileSync(blobPath(digest));
}

/** The stored image `input` resolves to: its manifest and config, parsed. */
export function inspectImage(input: string): {
  reference?: string;
  tags: string[];
  manifestDigest: string;
  manifest: OciManifest;
  id: string;
  config: OciImageConfig;
  size: number;
} {
  const found = findImage(input);
  if (!found) {
    throw new TsnspawnError("not-found", `image ${input}: not found`, { hint: NOT_FOUND_HINT });
  }
  const { record } = found;
  const tags = Object.entries(readRepositories())
    .filter(([, digest]) => loadImage(digest).id === record.id)
    .map(([key]) => key);
  return {
    reference: found.reference,
    tags,
    manifestDigest: record.manifestDigest,
    manifest: record.manifest,
    id: record.id,
    config: record.config,
    size: record.config.rootfs.diff_ids.reduce((n, d) => n + layerSize(d), 0),
  };
}

// ------------------------------------------------------------ resolve

/** An image ready to be used by a container. */
export interface ResolvedImage {
  /** Normalized reference it was found by (or the first tag pointing at it); undefined if untagged. */
  reference?: string;
  /** Image id: "sha256:<hex of the config>". */
  id: string;
  manifestDigest: string;
  config: OciImageConfig;
  /** Absolute paths of the layers' diff dirs, TOPMOST FIRST (overlayfs lowerdir order). */
  lowerDirs: string[];
}

const ID_PREFIX = /^(?:sha256:)?([a-f0-9]{1,64})$/;

/** Every image reachable from the indexes: [tag or undefined, manifest digest]. */
function allEntries(): [string | undefined, string][] {
  const entries: [string | undefined, string][] = Object.entries(readRepositories());
  for (const digest of readUntagged()) entries.push([undefined, digest]);
  return entries;
}

function findImage(input: string): { reference?: string; record: ImageRecord } | undefined {
  let ref: ImageReference | undefined;
  try {
    ref = parseReference(input);
  } catch {
    ref = undefined;
  }
  const repositories = readRepositories();
  if (ref) {
    if (ref.tag !== undefined) {
      const key = formatReference({ ...ref, digest: undefined });
      const digest = repositories[key];
      if (digest !== undefined && (ref.digest === undefined || ref.digest === digest)) {
        return { reference: key, record: loadImage(digest) };
      }
    } else if (ref.digest !== undefined) {
      const repo = repositoryName(ref);
      // A pull by digest is recorded under "repo@digest" (the digest may be an
      // index's, while the value is the platform manifest's).
      const hit = Object.entries(repositories).find(([key, digest]) =>
        key === formatReference(ref!) || (digest === ref!.digest && key.startsWith(`${repo}:`))
      );
      if (hit) return { reference: formatReference(ref), record: loadImage(hit[1]) };
    }
  }
  const m = ID_PREFIX.exec(input);
  if (!m) return undefined;
  const matches = new Map<string, { reference?: string; record: ImageRecord }>();
  const cached = [...readBuildCache().values()].map((d) => [undefined, d, true] as const);
  for (const [tag, digest, fromCache] of [...allEntries(), ...cached]) {
    let record: ImageRecord;
    try {
      record = loadImage(digest);
    } catch (e) {
      if (fromCache) continue; // a cache entry whose image was pruned
      throw e;
    }
    if (!digestHex(record.id).startsWith(m[1])) continue;
    if (!matches.has(record.id) || (matches.get(record.id)!.reference === undefined && tag)) {
      matches.set(record.id, { reference: tag, record });
    }
  }
  if (matches.size > 1) {
    throw new TsnspawnError(
      "invalid",
      `image id prefix "${input}": matches ${matches.size} images`,
      {
        hint: "give more digits of the id",
      },
    );
  }
  return matches.values().next().value;
}

/**
 * Finds an image by reference ("busybox", "quay.io/o/r:1", "name@sha256:…")
 * or by (a prefix of) its id, and returns what a container needs.
 *
 * @throws {TsnspawnError} "not-found" with a hint to pull or import;
 *   "image" if the store is damaged (a layer is missing).
 */
export function resolveImage(input: string): ResolvedImage {
  const found = findImage(input);
  if (!found) {
    throw new TsnspawnError("not-found", `image ${input}: not found`, { hint: NOT_FOUND_HINT });
  }
  const { record } = found;
  const lowerDirs = [...record.config.rootfs.diff_ids].reverse().map((diffId) => {
    const dir = layerDiffPath(diffId);
    if (!exists(dir)) {
      throw new TsnspawnError(
        "image",
        `image ${input}: layer ${diffId} is missing from the store`,
        {
          hint: "remove the image and pull or import it again",
        },
      );
    }
    return dir;
  });
  return {
    reference: found.reference,
    id: record.id,
    manifestDigest: record.manifestDigest,
    config: record.config,
    lowerDirs,
  };
}

// ------------------------------------------------------------ list

/** One row of `tsnspawn images`. */
export interface ImageRow {
  /** Normalized reference, or "<none>" for an untagged image. */
  reference: string;
  /** Repository for display (familiar form, e.g. "busybox"), or "<none>". */
  repository: string;
  tag: string;
  id: string;
  /** RFC 3339 creation time from the config, or "" if unknown. */
  created: string;
  /** Bytes of unpacked content over all layers. */
  size: number;
}

function layerSize(diffId: string): number {
  try {
    return Number(
      Deno.readTextFileSync(join(storePaths().layers, digestHex(diffId), "size")).trim(),
    ) || 0;
  } catch {
    return 0;
  }
}

/** Lists every tag (and untagged image), newest first. */
export function listImages(): ImageRow[] {
  const rows: ImageRow[] = [];
  for (const [tag, digest] of allEntries()) {
    const record = loadImage(digest);
    const size = record.config.rootfs.diff_ids.reduce((n, d) => n + layerSize(d), 0);
    let repository = "<none>";
    let tagName = "<none>";
    if (tag !== undefined) {
      const ref = parseReference(tag);
      repository = familiarName({ domain: ref.domain, path: ref.path });
      tagName = ref.tag ?? "<none>";
    }
    rows.push({
      reference: tag ?? "<none>",
      repository,
      tag: tagName,
      id: record.id,
      created: record.config.created ?? "",
      size,
    });
  }
  return rows.sort((a, b) =>
    b.created.localeCompare(a.created) || a.reference.localeCompare(b.reference)
  );
}

// ------------------------------------------------------------ tag / remove

/**
 * Adds the tag `target` to the image `source` (reference or id prefix).
 * @returns the normalized target reference.
 */
export async function tagImage(source: string, target: string): Promise<string> {
  const dst = importTarget(target);
  return await withStoreLock(() => {
    const found = findImage(source);
    if (!found) {
      throw new TsnspawnError("not-found", `image ${source}: not found`, { hint: NOT_FOUND_HINT });
    }
    const repositories = readRepositories();
    const key = formatReference(dst);
    repositories[key] = found.record.manifestDigest;
    writeJson(storePaths().repositories, repositories);
    return key;
  });
}

/** Options of `removeImage`. */
export interface RemoveOptions {
  /** Remove even if several tags point at the image, or untag it while in use. */
  force?: boolean;
  /** Whether a container uses the image with this id. */
  isInUse?: (id: string) => boolean;
}

/** What `removeImage` did. */
export interface RemoveResult {
  /** References removed. */
  untagged: string[];
  /** Digests of blobs and layers deleted. */
  deleted: string[];
}

/**
 * `tsnspawn rmi`: removes a tag, or (given an id) every tag of an image, then
 * deletes the manifests, configs, blobs and layers nothing reaches any more.
 * An image in use by a container is refused, or with `force` only untagged
 * (its content is kept until `pruneImages`).
 *
 * @throws {TsnspawnError} "not-found"; "conflict" when in use or when an id
 *   names an image with several tags (without `force`).
 */
export async function removeImage(
  input: string,
  options: RemoveOptions = {},
): Promise<RemoveResult> {
  const isInUse = options.isInUse ?? (() => false);
  const doomed: string[] = [];
  const result = await withStoreLock(() => {
    const found = findImage(input);
    if (!found) {
      throw new TsnspawnError("not-found", `image ${input}: not found`, { hint: NOT_FOUND_HINT });
    }
    const { id, manifestDigest } = found.record;
    const repositories = readRepositories();
    const tagsOfImage = Object.keys(repositories).filter((k) =>
      loadImage(repositories[k]).id === id
    );
    // Named by a tag: remove that tag only. Named by id or digest: all its tags.
    const namedTag = tagKey(input);
    const removing = namedTag !== undefined && repositories[namedTag] !== undefined
      ? [namedTag]
      : tagsOfImage;
    if (removing.length > 1 && !options.force) {
      throw new TsnspawnError("conflict", `image ${input}: referenced by ${removing.length} tags`, {
        hint: "remove the tags one by one, or use --force",
      });
    }
    const remaining = tagsOfImage.filter((t) => !removing.includes(t));
    const keepContent = remaining.length === 0 && isInUse(id);
    if (keepContent && !options.force) {
      throw new TsnspawnError("conflict", `image ${input}: in use by a container`, {
        hint: "remove the container first, or use --force to untag the image anyway",
      });
    }
    for (const tag of removing) delete repositories[tag];
    let untagged = readUntagged();
    if (keepContent) untagged.push(manifestDigest);
    else if (remaining.length === 0) untagged = untagged.filter((d) => loadImage(d).id !== id);
    writeJson(storePaths().repositories, repositories);
    writeJson(storePaths().untagged, [...new Set(untagged)]);
    return { untagged: removing, deleted: sweep(doomed) };
  });
  for (const path of doomed) await removeQuietly(path);
  return result;
}

/** The repositories.json key of `input` if it is a tag reference (no digest). */
function tagKey(input: string): string | undefined {
  try {
    const ref = parseReference(input);
    return ref.digest === undefined ? formatReference(ref) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Removes untagged images no container uses, and anything unreachable.
 * @returns digests deleted.
 */
export async function pruneImages(
  isInUse: (id: string) => boolean = () => false,
): Promise<string[]> {
  return (await pruneStore(isInUse)).deleted;
}

/** Options of {@link pruneStore}. */
export interface PruneOptions {
  /** Keep every build cache entry (a build is running and may be using any of them). */
  keepBuildCache?: boolean;
}

/**
 * `tsnspawn image prune`: as {@link pruneImages}, and drops the build cache
 * entries nobody uses: those whose image is neither used by a container nor
 * an ancestor of (or equal to) an image that is kept (tagged, or untagged
 * and in use) — docker's rule for the classic builder's intermediate
 * images. Counts the bytes freed (blob files plus the content of layer dirs).
 */
export async function pruneStore(
  isInUse: (id: string) => boolean = () => false,
  options: PruneOptions = {},
): Promise<{ deleted: string[]; bytes: number }> {
  const doomed: string[] = [];
  const freed = { bytes: 0 };
  const deleted = await withStoreLock(() => {
    const keep = readUntagged().filter((d) => isInUse(loadImage(d).id));
    writeJson(storePaths().untagged, keep);
    const dropped = options.keepBuildCache ? [] : dropUnusedCache(isInUse);
    return [...dropped, ...sweep(doomed, freed)];
  });
  for (const path of doomed) await removeQuietly(path);
  return { deleted, bytes: freed.bytes };
}

/** Whether the image `config` is `descendant` or one of the images it was built on (pure). */
export function isAncestorConfig(config: OciImageConfig, descendant: OciImageConfig): boolean {
  const layers = config.rootfs.diff_ids;
  const history = config.history ?? [];
  const later = descendant.history ?? [];
  return layers.length <= descendant.rootfs.diff_ids.length &&
    layers.every((d, i) => descendant.rootfs.diff_ids[i] === d) &&
    history.length <= later.length &&
    history.every((h, i) => JSON.stringify(h) === JSON.stringify(later[i]));
}

/**
 * The file in `build-cache/` where builds remember big context files'
 * digests (src/build/digest_cache.ts); `image prune` forgets it with the cache.
 */
export const BUILD_DIGESTS_FILE = "file-digests.json";

/** Removes the build cache entries nobody uses (see pruneStore); under the lock. */
function dropUnusedCache(isInUse: (id: string) => boolean): string[] {
  try {
    Deno.removeSync(join(storePaths().buildCache, BUILD_DIGESTS_FILE));
  } catch { /* none */ }
  const live: OciImageConfig[] = [];
  for (const [, digest] of allEntries()) live.push(loadImage(digest).config);
  const dropped: string[] = [];
  for (const [hex, digest] of readBuildCache()) {
    let record: ImageRecord | undefined;
    try {
      record = loadImage(digest);
    } catch { /* its image is gone: the entry is useless */ }
    if (record && (isInUse(record.id) || live.some((l) => isAncestorConfig(record.config, l)))) {
      continue;
    }
    Deno.removeSync(join(storePaths().buildCache, hex));
    dropped.push(`build cache sha256:${hex}`);
  }
  return dropped;
}

/**
 * Mark and sweep, under the lock: deletes blobs not reachable from any
 * index and moves unreachable layer dirs to tmp (pushed on `doomed`, to be
 * deleted after the lock is released). Returns the digests deleted.
 */
function sweep(doomed: string[], freed = { bytes: 0 }): string[] {
  const p = storePaths();
  const liveBlobs = new Set<string>();
  const liveLayers = new Set<string>();
  const cached = [...readBuildCache().values()].map((d) => [undefined, d, true] as const);
  for (const [, digest, fromCache] of [...allEntries(), ...cached]) {
    let record: ImageRecord;
    try {
      record = loadImage(digest);
    } catch (e) {
      if (fromCache) continue; // its blobs are gone already; `check` reports the entry
      throw e;
    }
    liveBlobs.add(digestHex(digest));
    liveBlobs.add(digestHex(record.id));
    for (const layer of record.manifest.layers) liveBlobs.add(digestHex(layer.digest));
    for (const diffId of record.config.rootfs.diff_ids) liveLayers.add(digestHex(diffId));
  }
  const deleted: string[] = [];
  for (const entry of Deno.readDirSync(p.blobs)) {
    if (liveBlobs.has(entry.name)) continue;
    freed.bytes += Deno.lstatSync(join(p.blobs, entry.name)).size;
    Deno.removeSync(join(p.blobs, entry.name));
    deleted.push(`sha256:${entry.name}`);
  }
  for (const entry of Deno.readDirSync(p.layers)) {
    if (liveLayers.has(entry.name)) continue;
    freed.bytes += layerSize(`sha256:${entry.name}`);
    const away = join(tmpDir(), `delete-layer-${entry.name}-${crypto.randomUUID()}`);
    Deno.renameSync(join(p.layers, entry.name), away);
    doomed.push(away);
    deleted.push(`layer sha256:${entry.name}`);
  }
  return deleted;
}

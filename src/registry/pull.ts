/**
 * Pulling an image from a registry into the store (effects).
 *
 * Flow (like systemd's importctl pull-oci, but for Docker schema 2 too):
 * manifest by tag or digest → if an index, the manifest for the platform →
 * config (verified, kept as a blob) → every layer not yet in the store
 * (by diff_id), at most `parallel` at once, each on a worker thread
 * (registry/layer_worker.ts, registry/layer_download.ts): the blob streams from the registry
 * into a part file under `<store>/tmp/partial/` while it is hashed,
 * decompressed (image/decompress.ts) and unpacked into a private staging dir
 * (image/layer_unpack.ts: safe paths, whiteouts → overlay form). The layer counts
 * only if the blob's sha256 and size match the manifest and the unpacked
 * tar's sha256 matches the config's diff_id. Then, under the store lock, the
 * staged layers, config and manifest are renamed into place and the tag is
 * set (`commitStagedImage`). A pull killed at any point leaves only tmp/
 * garbage and a part file that the next pull resumes with `Range`.
 *
 * The compressed layer blobs are not kept (disk use = the layers' unpacked
 * size); `push` re-creates layer tars from the unpacked dirs.
 */
import { join } from "../path_util.ts";
import { TsnspawnError } from "../errors.ts";
import {
  formatReference,
  type ImageReference,
  parseReference,
  repositoryName,
} from "../oci/reference.ts";
import {
  commitStagedImage,
  ensureStoreDirs,
  hasBlob,
  hasLayer,
  readBlob,
  taggedManifest,
} from "../image/store.ts";
import type { OciDescriptor, OciImageConfig, OciManifest, OciPlatform } from "../oci/types.ts";
import { tmpDir } from "../paths.ts";
import { makeStagingDir, releaseStaging } from "../staging.ts";
import { RegistryClient } from "./client.ts";
import { repositoryScope } from "./protocol.ts";
import {
  hostPlatform,
  layerCompression,
  parseManifest,
  selectPlatformManifest,
} from "../oci/manifest.ts";
import type { LayerDownload } from "./layer_download.ts";
import type { LayerWorkers } from "./layer_worker.ts";

/** What a pull reports while it runs (the CLI draws bars or prints lines). */
export interface PullProgress {
  /** The manifest was resolved; `layers` are the ones the image has. */
  resolved?(manifestDigest: string, layers: OciDescriptor[]): void;
  /** A layer is already in the store. */
  layerExists?(layer: OciDescriptor): void;
  /** Bytes of a layer received so far. */
  layerBytes?(layer: OciDescriptor, bytes: number): void;
  /** A layer is downloaded, verified and unpacked. */
  layerDone?(layer: OciDescriptor): void;
}

/** Options of {@link pullImage}. */
export interface PullOptions {
  /** Default: the host's (linux/amd64 here). */
  platform?: OciPlatform;
  /** Allow plain HTTP to this registry (`--tls-verify=false`). */
  insecure?: boolean;
  /** Layers downloaded at once (default 3). */
  parallel?: number;
  progress?: PullProgress;
  /** Test hook: runs after every layer is staged, before the commit. */
  beforeCommit?: () => void | Promise<void>;
}

/** What {@link pullImage} did. */
export interface PullResult {
  /** The normalized reference the image is stored under. */
  reference: string;
  /** Image id (config digest). */
  id: string;
  manifestDigest: string;
  /** Nothing had to be downloaded. */
  upToDate: boolean;
  /** Layers downloaded. */
  downloaded: number;
}

/** The repositories.json key of a pulled reference: the tag, else "repo@digest". */
function storeKey(ref: ImageReference): string {
  return ref.tag !== undefined
    ? formatReference({ domain: ref.domain, path: ref.path, tag: ref.tag })
    : formatReference(ref);
}

/** Runs `tasks` with at most `limit` at once; the first failure rejects (the rest finish first). */
async function runBounded(tasks: (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (next < tasks.length && failure === undefined) {
      const task = tasks[next++];
      try {
        await task();
      } catch (e) {
        failure ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  if (failure !== undefined) throw failure;
}

/**
 * The digest of the manifest a pull of `input` would store now (through
 * the index, for the platform), without downloading anything else: what
 * `auto-update` compares with the image a container runs.
 */
export async function remoteManifestDigest(
  input: string,
  options: Pick<PullOptions, "platform" | "insecure"> = {},
): Promise<string> {
  const ref = parseReference(input);
  const client = RegistryClient.open(ref.domain, { insecure: options.insecure });
  const scope = repositoryScope(ref.path, ["pull"]);
  const fetched = await client.getManifest(ref.path, ref.digest ?? ref.tag!, scope);
  const parsed = parseManifest(fetched.bytes, fetched.contentType);
  if (parsed.kind !== "index") return fetched.digest;
  return selectPlatformManifest(parsed.index, options.platform ?? hostPlatform()).digest;
}

/**
 * `tsnspawn pull`: fetches `input` ("busybox", "host:5000/a/b:1",
 * "name@sha256:…") into the store and tags it.
 *
 * @throws {TsnspawnError} "invalid" reference; "not-found" image or platform;
 *   "image" for registry, auth, digest or layer problems (store unchanged).
 */
export async function pullImage(input: string, options: PullOptions = {}): Promise<PullResult> {
  const ref = parseReference(input);
  const client = RegistryClient.open(ref.domain, { insecure: options.insecure });
  const scope = repositoryScope(ref.path, ["pull"]);
  const key = storeKey(ref);
  const wanted = ref.digest ?? ref.tag!;

  // Manifest (through the index if there is one).
  let fetched = await client.getManifest(ref.path, wanted, scope);
  let parsed = parseManifest(fetched.bytes, fetched.contentType);
  if (parsed.kind === "index") {
    const entry = selectPlatformManifest(parsed.index, options.platform ?? hostPlatform());
    fetched = await client.getManifest(ref.path, entry.digest, scope);
    parsed = parseManifest(fetched.bytes, fetched.contentType);
    if (parsed.kind !== "manifest") {
      throw new TsnspawnError("image", `image ${input}: an index entry is itself an index`, {
        hint: "nested indexes are not supported",
      });
    }
  }
  const manifest: OciManifest = parsed.manifest;
  const manifestDigest = fetched.digest;
  options.progress?.resolved?.(manifestDigest, manifest.layers);

  // Warm path: the tag already points at this manifest and everything is stored.
  const configBytes = hasBlob(manifest.config.digest)
    ? readBlob(manifest.config.digest)
    : await client.getSmallBlob(ref.path, manifest.config, scope);
  const config = parseConfig(configBytes, manifest, input);
  const diffIds = config.rootfs.diff_ids;
  const missing = new Map<string, OciDescriptor>();
  manifest.layers.forEach((layer, i) => {
    if (hasLayer(diffIds[i])) options.progress?.layerExists?.(layer);
    else if (!missing.has(diffIds[i])) missing.set(diffIds[i], layer);
  });
  if (missing.size === 0 && taggedManifest(key) === manifestDigest) {
    return {
      reference: key,
      id: manifest.config.digest,
      manifestDigest,
      upToDate: true,
      downloaded: 0,
    };
  }
  for (const layer of missing.values()) layerCompression(layer.mediaType); // refuse early

  ensureStoreDirs();
  const partialDir = join(tmpDir(), "partial");
  Deno.mkdirSync(partialDir, { recursive: true, mode: 0o700 });
  const staging = makeStagingDir("pull-"); // flocked: `tsnspawn check` leaves it alone
  const parallel = options.parallel ?? 3;
  const { LayerWorkers } = await import("./layer_worker.ts"); // only pulls that download load it
  const workers = new LayerWorkers(Math.min(missing.size, parallel, navigator.hardwareConcurrency));
  try {
    const staged = new Map<string, string>();
    const session = client.session();
    // Largest first: the longest download starts first, on a worker of its own.
    const largestFirst = [...missing].sort(([, a], [, b]) => b.size - a.size);
    const tasks = largestFirst.map(([diffId, layer], i) => async () => {
      const dir = join(staging, String(i));
      const job = {
        session,
        path: ref.path,
        scope,
        layer,
        partPath: join(partialDir, layer.digest.slice(7)),
        context: `layer ${layer.digest} of ${repositoryName(ref)}`,
      };
      await stageLayer(workers, job, diffId, dir, options.progress);
      staged.set(diffId, dir);
      options.progress?.layerDone?.(layer);
    });
    await runBounded(tasks, parallel);
    await options.beforeCommit?.();
    const id = await commitStagedImage({
      tags: [key],
      manifestBytes: fetched.bytes,
      configBytes,
      layers: staged,
    });
    return { reference: key, id, manifestDigest, upToDate: false, downloaded: missing.size };
  } finally {
    workers.close();
    try {
      await Deno.remove(staging, { recursive: true });
    } catch (e) {
      console.error(`warning: cannot remove ${staging}: ${(e as Error).message}, ignoring`);
    }
    releaseStaging(staging);
  }
}

/** Downloads, verifies and unpacks one layer on a worker into `dir` (dir/diff, dir/size). */
async function stageLayer(
  workers: LayerWorkers,
  job: Omit<LayerDownload, "target">,
  diffId: string,
  dir: string,
  progress?: PullProgress,
): Promise<void> {
  const diffDir = join(dir, "diff");
  Deno.mkdirSync(diffDir, { recursive: true, mode: 0o755 });
  Deno.chmodSync(diffDir, 0o755);
  const { layer } = job;
  const onProgress = progress?.layerBytes && ((n: number) => progress.layerBytes!(layer, n));
  const result = await workers.pull({ ...job, target: diffDir }, onProgress);
  if (result.diffId !== diffId) {
    throw new TsnspawnError(
      "image",
      `${job.context}: uncompressed digest ${result.diffId} does not match the config's ${diffId}`,
      { hint: "the image is corrupt or was tampered with; nothing was stored" },
    );
  }
  Deno.writeTextFileSync(join(dir, "size"), `${result.size}\n`);
}

function parseConfig(bytes: Uint8Array, manifest: OciManifest, input: string): OciImageConfig {
  let config: OciImageConfig;
  try {
    config = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new TsnspawnError("image", `image ${input}: the config is not valid JSON`, { cause: e });
  }
  const diffIds = config?.rootfs?.diff_ids;
  if (!Array.isArray(diffIds) || diffIds.length !== manifest.layers.length) {
    throw new TsnspawnError(
      "image",
      `image ${input}: the config lists ${
        diffIds?.length ?? 0
      } layers, the manifest ${manifest.layers.length}`,
      { hint: "the image is malformed" },
    );
  }
  for (const d of diffIds) {
    if (typeof d !== "string" || !/^sha256:[a-f0-9]{64}$/.test(d)) {
      throw new TsnspawnError("image", `image ${input}: unsupported diff_id "${d}"`);
    }
  }
  return config;
}

/**
 * `tsnspawn commit`: a container's writable layer (its overlay upper dir)
 * becomes a new image layer on top of the container's image (effects).
 *
 * The image's configuration is the container's (docker's commit): its Cmd,
 * Entrypoint, Env, WorkingDir, User, ExposedPorts, Labels and StopSignal
 * (container/plan.ts planRunConfig), then `--change` instructions
 * (change_instructions.ts).
 *
 * The upper dir becomes a layer through image/layer_commit.ts (the same code
 * `build` uses for its RUN steps): an uncompressed tar under the store's
 * tmp/, kept as the layer's blob (so `push` sends it as is), unpacked back
 * into a staged layer dir, the init layer's files and mount points
 * (container/init_layer.ts) left out. The config is the base
 * image's with the new diff_id and a history entry appended; everything is
 * made visible at once by `commitStagedImage`. Commit a stopped container:
 * files changing while they are read make the commit fail.
 */
import { formatReference, parseTagTarget } from "../oci/reference.ts";
import { commitStagedImage, ensureStoreDirs, inspectImage } from "./store.ts";
import { stageWritableLayer } from "./layer_commit.ts";
import {
  MEDIA_TYPE_OCI_LAYER,
  type OciDescriptor,
  type OciImageConfig,
  type OciRunConfig,
} from "../oci/types.ts";
import { applyChanges, type ChangeInstruction } from "./change_instructions.ts";
import { makeStagingDir, releaseStaging } from "../staging.ts";
import { hostPlatform, planImageManifest } from "../oci/manifest.ts";

/** Options of {@link commitContainer}. */
export interface CommitOptions {
  message?: string;
  author?: string;
  /** Creation time (default now). */
  created?: Date;
  /** `--change` instructions, applied in order after the container's config. */
  changes?: ChangeInstruction[];
}

/** The new config: the base's plus one layer and one history entry (pure). */
export function planCommitConfig(
  base: OciImageConfig | undefined,
  diffId: string,
  container: string,
  options: CommitOptions,
  runConfig?: OciRunConfig,
): OciImageConfig {
  const created = (options.created ?? new Date()).toISOString();
  const platform = hostPlatform();
  const run = runConfig ?? base?.config;
  const changed = options.changes?.length ? applyChanges(run ?? {}, options.changes) : run;
  const config: OciImageConfig = {
    ...(base ?? { architecture: platform.architecture, os: platform.os }),
    ...(changed ? { config: changed } : {}),
    created,
    rootfs: { type: "layers", diff_ids: [...(base?.rootfs.diff_ids ?? []), diffId] },
    history: [
      ...(base?.history ?? []),
      {
        created,
        created_by: `tsnspawn commit ${container}`,
        ...(options.message ? { comment: options.message } : {}),
        ...(options.author ? { author: options.author } : {}),
      },
    ],
  };
  if (options.author) config.author = options.author;
  return config;
}

/** The container whose writable layer is committed (the caller loads it). */
export interface CommitSource {
  /** Its name, for the history entry. */
  name: string;
  /** Its overlay upper dir. */
  upperDir: string;
  /** The image it was made from, or null (--rootfs). */
  imageId: string | null;
  /** The container's configuration (docker's Config); absent: the image's is kept. */
  runConfig?: OciRunConfig;
  /** Paths of the upper dir left out (container/init_layer.ts), relative without "/". */
  exclude?: ReadonlySet<string>;
}

/**
 * Commits the writable layer of `source` as `reference`.
 * @returns the new image id.
 */
export async function commitContainer(
  source: CommitSource,
  reference: string,
  options: CommitOptions = {},
): Promise<string> {
  const target = parseTagTarget(reference, "commit to");
  const name = source.name;
  const base = source.imageId ? inspectImage(source.imageId) : undefined;
  const upper = source.upperDir;
  ensureStoreDirs();
  const staging = makeStagingDir("commit-"); // flocked: `tsnspawn check` leaves it alone
  try {
    const staged = await stageWritableLayer(upper, staging, {
      exclude: source.exclude ?? new Set(),
    });
    const config = planCommitConfig(base?.config, staged.diffId, name, options, source.runConfig);
    const configBytes = new TextEncoder().encode(JSON.stringify(config));
    const layer: OciDescriptor = {
      mediaType: MEDIA_TYPE_OCI_LAYER,
      digest: staged.diffId,
      size: staged.tarSize,
    };
    return await commitStagedImage({
      tags: [formatReference(target)],
      manifestBytes: planImageManifest(configBytes, [...(base?.manifest.layers ?? []), layer]),
      configBytes,
      layers: new Map([[staged.diffId, staged.dir]]),
      blobs: new Map([[staged.diffId, staged.tar]]),
    });
  } finally {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
    releaseStaging(staging);
  }
}

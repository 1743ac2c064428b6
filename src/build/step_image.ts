/**
 * The image after each build step (effects: the image store): every step
 * leaves an image in the store, reachable through its build cache entry
 * (image/store.ts `build-cache/`), as docker's classic builder leaves an
 * intermediate image per step. A RUN step's container is created from the
 * image before it, a rebuild finds the image of an unchanged step by its key,
 * and the build's result is the image of its last step, tagged.
 *
 * Configs and manifests are serialized the same way every time (the same
 * key order, no whitespace), so equal steps give equal digests — what makes
 * `--timestamp` builds reproducible.
 */
import { planImageManifest } from "../oci/manifest.ts";
import { MEDIA_TYPE_OCI_LAYER, type OciDescriptor, type OciImageConfig } from "../oci/types.ts";
import { type CachedImage, commitBuildStep, commitStagedImage, readBlob } from "../image/store.ts";
import type { StagedLayer } from "../image/layer_commit.ts";
import type { BuildImageConfig } from "./image_config.ts";

/** An image a stage is at: its id, its config and its manifest's layers. */
export interface StepImage {
  /** "sha256:<hex>" of the config; "" for scratch before anything was added. */
  id: string;
  manifestDigest: string;
  config: OciImageConfig;
  /** The manifest's layer descriptors, bottom first. */
  layers: OciDescriptor[];
}

/** The build state's config from a stored image config (its `created` dropped). */
export function stateConfigOf(config: OciImageConfig): BuildImageConfig {
  const { created: _created, ...rest } = structuredClone(config);
  return {
    ...rest,
    config: rest.config ?? {},
    rootfs: rest.rootfs ?? { type: "layers", diff_ids: [] },
    history: rest.history ?? [],
  } as BuildImageConfig;
}

/** The serialized config and manifest of an image (pure). */
export function serializeImage(
  config: BuildImageConfig,
  created: string,
  layers: readonly OciDescriptor[],
): { config: OciImageConfig; configBytes: Uint8Array; manifestBytes: Uint8Array } {
  const full = { ...config, created } as OciImageConfig;
  const configBytes = new TextEncoder().encode(JSON.stringify(full));
  return {
    config: full,
    configBytes,
    manifestBytes: planImageManifest(configBytes, layers),
  };
}

/**
 * Stores the image after a step: the state's config with `created`, the
 * parent's layers plus `layer` (if the step made one), under the build
 * cache key `key`. Returns it, or the image a concurrent build stored under
 * that key first (image/store.ts commitBuildStep); `replace` (--no-cache)
 * makes this one the key's image.
 */
export async function storeStepImage(
  config: BuildImageConfig,
  created: string,
  parentLayers: readonly OciDescriptor[],
  layer: StagedLayer | null,
  key: string,
  replace = false,
): Promise<StepImage> {
  const layers = layer
    ? [...parentLayers, {
      mediaType: MEDIA_TYPE_OCI_LAYER,
      digest: layer.diffId,
      size: layer.tarSize,
    }]
    : [...parentLayers];
  const serialized = serializeImage(config, created, layers);
  const stored = await commitBuildStep(
    {
      tags: [],
      manifestBytes: serialized.manifestBytes,
      configBytes: serialized.configBytes,
      layers: layer ? new Map([[layer.diffId, layer.dir]]) : new Map(),
      blobs: layer ? new Map([[layer.diffId, layer.tar]]) : new Map(),
    },
    key,
    replace,
  );
  return stepImageOf(stored);
}

/** A stored image as a StepImage. */
export function stepImageOf(image: CachedImage): StepImage {
  return {
    id: image.id,
    manifestDigest: image.manifestDigest,
    config: image.config,
    layers: image.manifest.layers,
  };
}

/**
 * Tags the build's result: `image` as it is (its stored bytes), or a new
 * config when `labels` add to it; untagged builds are recorded as untagged.
 * Returns the final image id.
 */
export async function commitFinalImage(
  image: StepImage,
  tags: string[],
  labels: Record<string, string>,
): Promise<string> {
  let configBytes: Uint8Array;
  let manifestBytes: Uint8Array;
  if (Object.keys(labels).length === 0) {
    configBytes = readBlob(image.id);
    manifestBytes = readBlob(image.manifestDigest);
  } else {
    const state = stateConfigOf(image.config);
    state.config = { ...state.config, Labels: { ...state.config.Labels, ...labels } };
    const serialized = serializeImage(
      state,
      image.config.created ?? new Date(0).toISOString(),
      image.layers,
    );
    configBytes = serialized.configBytes;
    manifestBytes = serialized.manifestBytes;
  }
  return await commitStagedImage({
    tags,
    manifestBytes,
    configBytes,
    layers: new Map(),
    untagged: tags.length === 0,
  });
}

/**
 * An image of the store as blob files, ready to send: the manifest, the
 * config and every layer blob (for `push` and `save`).
 *
 * Layer blobs: a layer whose blob is in the store (imported or committed
 * images keep their uncompressed tar) is sent as is. A pulled layer's
 * compressed blob is not kept (see registry/pull.ts), so it is re-created from
 * the unpacked dir (image/layer_pack.ts, overlay whiteouts → OCI ones) as a gzip
 * tar. That tar is not byte-identical to the original, so its diff_id
 * differs: the config then lists the new diff_ids, and the image sent has a
 * new id (as with podman without tar-split data). When nothing had to be
 * re-created the stored manifest is sent byte for byte.
 */
import { planImageManifest } from "../oci/manifest.ts";
import { join } from "@std/path";
import { createSha256, sha256DigestSync } from "../oci/digest.ts";
import { blobPath, ensureStoreDirs, hasBlob, inspectImage, layerDiffPath } from "./store.ts";
import { packDirectories } from "./layer_pack.ts";
import {
  MEDIA_TYPE_OCI_LAYER_GZIP,
  MEDIA_TYPE_OCI_MANIFEST,
  type OciDescriptor,
  type OciImageConfig,
} from "../oci/types.ts";
import { makeStagingDir, releaseStaging } from "../staging.ts";

/** One layer ready to send. */
export interface MaterializedLayer {
  descriptor: OciDescriptor;
  /** File holding the blob. */
  path: string;
}

/** Every blob of an image, as files. */
export interface MaterializedImage {
  /** The normalized reference the image was found by, if tagged. */
  reference?: string;
  manifestBytes: Uint8Array;
  manifestMediaType: string;
  manifestDigest: string;
  configBytes: Uint8Array;
  configDigest: string;
  layers: MaterializedLayer[];
  /** Removes the temporary files. */
  cleanup(): Promise<void>;
}

/** Packs a stored layer dir into a gzip tar file; returns its digests and size. */
async function packStoredLayer(
  diffId: string,
  file: string,
): Promise<{ diffId: string; digest: string; size: number }> {
  const tarHash = createSha256();
  const blobHash = createSha256();
  let size = 0;
  const out = await Deno.open(file, { write: true, createNew: true, mode: 0o600 });
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      tarHash.update(chunk);
      controller.enqueue(chunk);
    },
  });
  const done = readable
    .pipeThrough(
      new CompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>,
    )
    .pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          blobHash.update(chunk);
          size += chunk.length;
          controller.enqueue(chunk);
        },
      }),
    )
    .pipeTo(out.writable);
  await Promise.all([packDirectories([layerDiffPath(diffId)], writable, { mode: "layer" }), done]);
  return {
    diffId: tarHash.digest(),
    digest: blobHash.digest(),
    size,
  };
}

/**
 * Gathers the manifest, config and layer blobs of a stored image (see the
 * module comment); call `cleanup()` when done.
 */
export async function materializeImage(input: string): Promise<MaterializedImage> {
  const image = inspectImage(input);
  ensureStoreDirs();
  const work = makeStagingDir("push-"); // flocked: `tsnspawn check` leaves it alone
  const cleanup = () =>
    Deno.remove(work, { recursive: true }).catch(() => {}).finally(() => releaseStaging(work));
  try {
    const diffIds = [...image.config.rootfs.diff_ids];
    let changed = false;
    const layers: MaterializedLayer[] = [];
    for (const [i, descriptor] of image.manifest.layers.entries()) {
      if (hasBlob(descriptor.digest)) {
        layers.push({ descriptor, path: blobPath(descriptor.digest) });
        continue;
      }
      const file = join(work, `layer-${i}.tar.gz`);
      const packed = await packStoredLayer(diffIds[i], file);
      if (packed.diffId !== diffIds[i]) changed = true;
      diffIds[i] = packed.diffId;
      changed ||= packed.digest !== descriptor.digest;
      layers.push({
        descriptor: {
          mediaType: MEDIA_TYPE_OCI_LAYER_GZIP,
          digest: packed.digest,
          size: packed.size,
        },
        path: file,
      });
    }
    const storedManifestBytes = Deno.readFileSync(blobPath(image.manifestDigest));
    if (!changed) {
      return {
        reference: image.reference,
        manifestBytes: storedManifestBytes,
        manifestMediaType: image.manifest.mediaType ?? MEDIA_TYPE_OCI_MANIFEST,
        manifestDigest: image.manifestDigest,
        configBytes: Deno.readFileSync(blobPath(image.id)),
        configDigest: image.id,
        layers,
        cleanup,
      };
    }
    const config: OciImageConfig = {
      ...image.config,
      rootfs: { type: "layers", diff_ids: diffIds },
    };
    const configBytes = new TextEncoder().encode(JSON.stringify(config));
    const manifestBytes = planImageManifest(configBytes, layers.map((l) => l.descriptor));
    return {
      reference: image.reference,
      manifestBytes,
      manifestMediaType: MEDIA_TYPE_OCI_MANIFEST,
      manifestDigest: sha256DigestSync(manifestBytes),
      configBytes,
      configDigest: sha256DigestSync(configBytes),
      layers,
      cleanup,
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

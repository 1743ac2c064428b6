/**
 * One layer from the registry into a directory, in the calling thread
 * (effects): the registry client's blob stream (part file, `Range` resume,
 * size and digest check: registry/client.ts) through a decoder
 * (image/decompress.ts) into the unpacker (image/layer_unpack.ts), chunk by chunk,
 * without a copy or a stream in between. registry/layer_worker.ts runs it on worker
 * threads.
 *
 * Errors: the blob's own (network, size, digest) are thrown as they are, the
 * unpacking's with `context` in front. When the unpacking fails, the rest of
 * the blob is still read (not unpacked): a damaged download makes the
 * decompressor or the tar parser fail before the blob's digest can, and the
 * digest is the error to report then.
 */
import { TsnspawnError, withContext } from "../errors.ts";
import { createDecoder, type Decoder } from "../image/decompress.ts";
import { LayerUnpacker, type UnpackResult } from "../image/layer_unpack.ts";
import type { OciDescriptor } from "../oci/types.ts";
import { RegistryClient, type RegistrySession } from "./client.ts";
import { layerCompression } from "../oci/manifest.ts";

/** One layer to download and unpack (plain data: it crosses to worker threads). */
export interface LayerDownload {
  /** The registry and the auth to use (the main thread's client's). */
  session: RegistrySession;
  /** Repository path ("library/busybox") and the token scope for it. */
  path: string;
  scope: string;
  layer: OciDescriptor;
  /** The blob's part file (see `BlobStreamOptions.partPath`). */
  partPath: string;
  /** An empty directory to unpack into. */
  target: string;
  /** Put in front of the unpacking's errors, e.g. "layer sha256:… of library/busybox". */
  context: string;
}

/** Downloads `job.layer`, verifies it and unpacks it into `job.target`. */
export async function downloadLayer(
  job: LayerDownload,
  onProgress?: (bytes: number) => void,
): Promise<UnpackResult> {
  const decoder = createDecoder(layerCompression(job.layer.mediaType));
  try {
    const unpacker = new LayerUnpacker(job.target);
    try {
      return await unpackBlob(job, decoder, unpacker, onProgress);
    } finally {
      unpacker.abandon();
    }
  } finally {
    decoder.close();
  }
}

/** The download loop of {@link downloadLayer} (see the module comment for the errors). */
async function unpackBlob(
  job: LayerDownload,
  decoder: Decoder,
  unpacker: LayerUnpacker,
  onProgress?: (bytes: number) => void,
): Promise<UnpackResult> {
  const blob = RegistryClient.resume(job.session).blobStream(job.path, job.layer, job.scope, {
    partPath: job.partPath,
    onProgress,
  });
  const reader = blob.getReader();
  let failure: { error: unknown } | undefined;
  for (let next = await reader.read(); !next.done; next = await reader.read()) {
    if (failure) continue; // only reading on, to learn whether the blob is intact
    try {
      decoder.push(next.value, (tar) => unpacker.push(tar));
    } catch (error) {
      failure = { error };
      unpacker.abandon();
    }
  }
  try {
    if (failure) throw failure.error;
    decoder.finish();
    return unpacker.finish();
  } catch (e) {
    throw withContext(e, e instanceof TsnspawnError ? e.code : "image", job.context);
  }
}

/**
 * `tsnspawn push`: uploads an image of the store (gathered as blob files by
 * image/materialize.ts) to a registry (effects).
 *
 * Push order (distribution-spec "Pushing"): each blob `HEAD`ed and uploaded
 * only if missing, the config, then the manifest under the tag.
 */
import { TsnspawnError } from "../errors.ts";
import { formatReference, parseReference } from "../oci/reference.ts";
import type { OciDescriptor } from "../oci/types.ts";
import { materializeImage } from "../image/materialize.ts";
import { RegistryClient } from "./client.ts";
import { repositoryScope } from "./protocol.ts";

/** Options of {@link pushImage}. */
export interface PushOptions {
  /** Allow plain HTTP (`--tls-verify=false`). */
  insecure?: boolean;
  /** Told about each layer: "exists" (the registry has it) or "pushed". */
  onLayer?: (descriptor: OciDescriptor, status: "exists" | "pushed") => void;
  /** Upload chunk size; blobs larger than this are sent in PATCH chunks (default 32 MiB). */
  chunkSize?: number;
}

/**
 * `tsnspawn push NAME[:TAG] [DEST]`: uploads a stored image to
 * DEST (default: NAME itself).
 * @returns the destination reference and the manifest digest.
 */
export async function pushImage(
  source: string,
  destination: string | undefined,
  options: PushOptions = {},
): Promise<{ reference: string; digest: string }> {
  const image = await materializeImage(source);
  try {
    const destText = destination ?? image.reference;
    if (destText === undefined) {
      throw new TsnspawnError("usage", `image ${source} has no name to push to`, {
        hint: "give a destination: tsnspawn push IMAGE REGISTRY/NAME:TAG",
      });
    }
    const dest = parseReference(destText);
    if (dest.digest !== undefined) {
      throw new TsnspawnError("invalid", `destination ${destText}: cannot push to a digest`, {
        hint: "give NAME[:TAG]",
      });
    }
    const client = RegistryClient.open(dest.domain, { insecure: options.insecure });
    const scope = repositoryScope(dest.path, ["pull", "push"]);
    for (const layer of image.layers) {
      if (await client.hasBlob(dest.path, layer.descriptor.digest, scope)) {
        options.onLayer?.(layer.descriptor, "exists");
        continue;
      }
      await client.uploadBlob(
        dest.path,
        layer.descriptor.digest,
        layer.path,
        scope,
        options.chunkSize,
      );
      options.onLayer?.(layer.descriptor, "pushed");
    }
    await client.uploadSmallBlob(dest.path, image.configBytes, scope);
    const digest = await client.putManifest(
      dest.path,
      dest.tag!,
      image.manifestBytes,
      image.manifestMediaType,
      scope,
    );
    return { reference: formatReference(dest), digest };
  } finally {
    await image.cleanup();
  }
}

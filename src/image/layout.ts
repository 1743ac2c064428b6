/**
 * `save`/`load`: images as an OCI image layout in a tar archive (effects).
 * Spec: opencontainers/image-spec image-layout.md (`oci-layout`,
 * `index.json`, `blobs/sha256/<hex>`), annotations.md
 * (`org.opencontainers.image.ref.name`).
 *
 * save: every blob of each image (materialize.ts `materializeImage`), an
 * index.json whose entries carry the full reference in
 * `org.opencontainers.image.ref.name` (and containerd's
 * `io.containerd.image.name`). load: the archive is extracted into a private
 * dir under the store's tmp/ (only `oci-layout`, `index.json` and
 * `blobs/sha256/<hex>` are accepted, each blob's sha256 is checked), then
 * each index entry (an index entry that is itself an index: the host's
 * platform) is unpacked layer by layer (diff_ids verified) and committed
 * under its ref.name, parsed as an image reference ("busybox" →
 * docker.io/library/busybox:latest).
 */
import { join } from "@std/path";
import { createSha256 } from "../oci/digest.ts";
import { TsnspawnError, withContext } from "../errors.ts";
import { formatReference, parseReference } from "../oci/reference.ts";
import { type MaterializedImage, materializeImage } from "./materialize.ts";
import { commitStagedImage, ensureStoreDirs, hasLayer } from "./store.ts";
import { decompress } from "./decompress.ts";
import { unpackLayer } from "./layer_unpack.ts";
import { MEDIA_TYPE_OCI_INDEX, type OciIndex } from "../oci/types.ts";
import { makeStagingDir, releaseStaging } from "../staging.ts";
import {
  hostPlatform,
  layerCompression,
  parseManifest,
  selectPlatformManifest,
} from "../oci/manifest.ts";
import { readTar, TarWriter } from "./tar.ts";

const REF_NAME = "org.opencontainers.image.ref.name";
const CONTAINERD_NAME = "io.containerd.image.name";

/** Writes `references` as one OCI layout tarball into `sink`. */
export async function saveImages(
  references: string[],
  sink: WritableStream<Uint8Array>,
): Promise<void> {
  const images: MaterializedImage[] = [];
  try {
    for (const reference of references) images.push(await materializeImage(reference));
    const writer = new TarWriter(sink);
    const mtime = Math.floor(Date.now() / 1000);
    const text = (s: string) => new TextEncoder().encode(s);
    await writer.add(
      { path: "oci-layout", type: "file", mode: 0o644, mtime },
      text('{"imageLayoutVersion":"1.0.0"}'),
    );
    const index: OciIndex = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPE_OCI_INDEX,
      manifests: images.map((image, i) => {
        const name = image.reference ?? formatReference(parseReference(references[i]));
        return {
          mediaType: image.manifestMediaType,
          digest: image.manifestDigest,
          size: image.manifestBytes.length,
          annotations: { [REF_NAME]: name, [CONTAINERD_NAME]: name },
        };
      }),
    };
    await writer.add(
      { path: "index.json", type: "file", mode: 0o644, mtime },
      text(JSON.stringify(index)),
    );
    await writer.add({ path: "blobs", type: "dir", mode: 0o755, mtime });
    await writer.add({ path: "blobs/sha256", type: "dir", mode: 0o755, mtime });
    const written = new Set<string>();
    const addBytes = async (digest: string, bytes: Uint8Array) => {
      if (written.has(digest)) return;
      written.add(digest);
      await writer.add({
        path: `blobs/sha256/${digest.slice(7)}`,
        type: "file",
        mode: 0o644,
        mtime,
      }, bytes);
    };
    for (const image of images) {
      await addBytes(image.manifestDigest, image.manifestBytes);
      await addBytes(image.configDigest, image.configBytes);
      for (const layer of image.layers) {
        if (written.has(layer.descriptor.digest)) continue;
        written.add(layer.descriptor.digest);
        const file = await Deno.open(layer.path);
        await writer.add(
          {
            path: `blobs/sha256/${layer.descriptor.digest.slice(7)}`,
            type: "file",
            mode: 0o644,
            mtime,
            size: layer.descriptor.size,
          },
          file.readable,
        );
      }
    }
    await writer.close();
  } finally {
    for (const image of images) await image.cleanup();
  }
}

function refuse(why: string): TsnspawnError {
  return new TsnspawnError("image", `image archive: ${why}`, {
    hint: "give a tarball written by 'tsnspawn save' or another OCI layout tool",
  });
}

/**
 * Loads every image of an OCI layout tarball (plain or gzip stream).
 * @returns the references loaded.
 */
export async function loadImages(stream: ReadableStream<Uint8Array>): Promise<string[]> {
  ensureStoreDirs();
  const work = makeStagingDir("load-"); // flocked: `tsnspawn check` leaves it alone
  try {
    const blobs = join(work, "blobs");
    Deno.mkdirSync(blobs);
    let indexBytes: Uint8Array | undefined;
    for await (const { header, body } of readTar(stream)) {
      const path = header.path.replace(/^\.\//, "").replace(/\/$/, "");
      if (header.type === "dir" && ["", ".", "blobs", "blobs/sha256"].includes(path)) continue;
      if (header.type !== "file") throw refuse(`unexpected entry "${header.path}"`);
      if (path === "oci-layout") continue;
      if (path === "index.json") {
        const parts: Uint8Array[] = [];
        for await (const piece of body) parts.push(piece);
        indexBytes = new Uint8Array(
          await new Blob(parts as Uint8Array<ArrayBuffer>[]).arrayBuffer(),
        );
        continue;
      }
      const m = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(path);
      if (!m) throw refuse(`unexpected entry "${header.path}"`);
      const hash = createSha256();
      const file = Deno.openSync(join(blobs, m[1]), { write: true, createNew: true, mode: 0o600 });
      try {
        for await (const piece of body) {
          hash.update(piece);
          let off = 0;
          while (off < piece.length) off += file.writeSync(piece.subarray(off));
        }
      } finally {
        file.close();
      }
      if (hash.digest() !== `sha256:${m[1]}`) {
        throw refuse(`blob sha256:${m[1]} does not match its content`);
      }
    }
    if (!indexBytes) throw refuse("no index.json");
    const index = parseManifest(indexBytes, MEDIA_TYPE_OCI_INDEX);
    if (index.kind !== "index") throw refuse("index.json is not an image index");
    const readBlob = (digest: string) => {
      try {
        return Deno.readFileSync(join(blobs, digest.slice(7)));
      } catch {
        throw refuse(`blob ${digest} is missing`);
      }
    };
    const loaded: string[] = [];
    for (const entry of index.index.manifests) {
      const name = entry.annotations?.[CONTAINERD_NAME] ?? entry.annotations?.[REF_NAME];
      if (!name) throw refuse(`manifest ${entry.digest} has no ${REF_NAME} annotation`);
      const ref = parseReference(name);
      let manifestBytes = readBlob(entry.digest);
      let parsed = parseManifest(manifestBytes, entry.mediaType);
      if (parsed.kind === "index") {
        const chosen = selectPlatformManifest(parsed.index, hostPlatform());
        manifestBytes = readBlob(chosen.digest);
        parsed = parseManifest(manifestBytes, chosen.mediaType);
        if (parsed.kind !== "manifest") throw refuse("nested image indexes are not supported");
      }
      const manifest = parsed.manifest;
      const configBytes = readBlob(manifest.config.digest);
      const diffIds: string[] =
        JSON.parse(new TextDecoder().decode(configBytes))?.rootfs?.diff_ids ?? [];
      if (diffIds.length !== manifest.layers.length) {
        throw refuse(`image ${name}: config and manifest disagree on the layers`);
      }
      const staged = new Map<string, string>();
      for (const [i, layer] of manifest.layers.entries()) {
        if (hasLayer(diffIds[i]) || staged.has(diffIds[i])) continue;
        const dir = join(work, `layer-${loaded.length}-${i}`);
        Deno.mkdirSync(join(dir, "diff"), { recursive: true, mode: 0o755 });
        Deno.chmodSync(join(dir, "diff"), 0o755);
        const file = await Deno.open(join(blobs, layer.digest.slice(7))).catch(() => {
          throw refuse(`blob ${layer.digest} is missing`);
        });
        let result;
        try {
          result = await unpackLayer(
            decompress(file.readable, layerCompression(layer.mediaType)),
            join(dir, "diff"),
          );
        } catch (e) {
          throw withContext(
            e,
            e instanceof TsnspawnError ? e.code : "image",
            `image ${name}: layer ${layer.digest}`,
          );
        }
        if (result.diffId !== diffIds[i]) {
          throw refuse(`image ${name}: layer ${layer.digest} does not match its diff_id`);
        }
        Deno.writeTextFileSync(join(dir, "size"), `${result.size}\n`);
        staged.set(diffIds[i], dir);
      }
      const key = formatReference(ref);
      await commitStagedImage({ tags: [key], manifestBytes, configBytes, layers: staged });
      loaded.push(key);
    }
    return loaded;
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
    releaseStaging(work);
  }
}

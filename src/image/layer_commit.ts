/**
 * A directory becomes an image layer (effects): what `commit` does with a
 * container's writable layer and `build` with every RUN step's writable
 * layer and every COPY/ADD tree. One place, so both leave out the same
 * things and write the same archives.
 *
 * The layer is staged under a directory the caller owns (and flocks, see
 * src/staging.ts): `layer.tar`, the uncompressed OCI layer kept as its blob,
 * and `layer/` (`diff/` + `size`), the overlay lower dir, to be renamed into
 * the store by `commitStagedImage` or `storeBuildImage`.
 *
 * A writable layer (overlay upper dir) is packed in "layer" mode
 * (image/layer_pack.ts: overlay whiteouts → `.wh.` entries, opaque dirs →
 * `.wh..wh..opq`) and the tar unpacked again, so the lower dir is exactly
 * what the archive says (no stray `trusted.overlay.*` attributes). The
 * caller says which paths of the upper dir are left out: the init layer's
 * files and mount points, as docker keeps them in a separate layer that is
 * never committed (container/init_layer.ts, ops/layer_exclusions.ts).
 *
 * A tree written by a builder (COPY/ADD: plain files, no whiteouts) is packed
 * and then moved to be the lower dir itself: no second copy of its content.
 *
 * `mtime` (build --timestamp) sets every entry's time in the archive, so
 * equal content gives equal bytes and an equal diff_id.
 */
import { join } from "../path_util.ts";
import { createSha256 } from "../oci/digest.ts";
import { packChunks } from "./layer_pack.ts";
import { yielder } from "../cooperative.ts";
import { unpackLayer } from "./layer_unpack.ts";

/** A layer ready to enter the store. */
export interface StagedLayer {
  /** sha256 of the uncompressed tar (the OCI diff_id; also its blob digest). */
  diffId: string;
  /** Staged layer dir holding `diff/` and `size`. */
  dir: string;
  /** The uncompressed tar, kept as the layer's blob. */
  tar: string;
  /** Bytes of the tar. */
  tarSize: number;
  /** Bytes of file content. */
  size: number;
}

/**
 * Packs `dir`'s layer into `tarPath`, hashing it on the way: synchronous
 * calls, with the event loop given a turn now and then (src/cooperative.ts).
 */
async function packToFile(
  dir: string,
  tarPath: string,
  options: { exclude?: ReadonlySet<string>; mtime?: number },
): Promise<{ diffId: string; tarSize: number; size: number }> {
  const hash = createSha256();
  let tarSize = 0;
  const turns = yielder();
  const out = Deno.openSync(tarPath, { write: true, createNew: true, mode: 0o644 });
  try {
    const chunks = packChunks([dir], { mode: "layer", ...options });
    for (;;) {
      await turns.tick();
      const next = chunks.next();
      if (next.done) return { diffId: hash.digest(), tarSize, size: next.value.size };
      hash.update(next.value);
      tarSize += next.value.length;
      for (let written = 0; written < next.value.length;) {
        written += out.writeSync(next.value.subarray(written));
      }
    }
  } finally {
    out.close();
  }
}

function makeLayerDir(staging: string): { dir: string; diff: string } {
  const dir = join(staging, "layer");
  const diff = join(dir, "diff");
  Deno.mkdirSync(dir, { mode: 0o755 });
  return { dir, diff };
}

/**
 * Stages the writable layer `upper` (an overlay upper dir) as a layer in
 * `staging`, without the paths `exclude` names (see the module comment).
 */
export async function stageWritableLayer(
  upper: string,
  staging: string,
  options: { exclude: ReadonlySet<string>; mtime?: number },
): Promise<StagedLayer> {
  const tar = join(staging, "layer.tar");
  const packed = await packToFile(upper, tar, {
    exclude: options.exclude,
    ...(options.mtime !== undefined ? { mtime: options.mtime } : {}),
  });
  const { dir, diff } = makeLayerDir(staging);
  Deno.mkdirSync(diff, { mode: 0o755 });
  Deno.chmodSync(diff, 0o755);
  const file = await Deno.open(tar);
  const unpacked = await unpackLayer(file.readable, diff);
  Deno.writeTextFileSync(join(dir, "size"), `${unpacked.size}\n`);
  return { diffId: unpacked.diffId, dir, tar, tarSize: packed.tarSize, size: unpacked.size };
}

/**
 * Stages `tree` (a directory a builder filled: no whiteouts) as a layer in
 * `staging`; the tree itself becomes the layer's diff dir (it is moved).
 */
export async function stageTreeAsLayer(
  tree: string,
  staging: string,
  options: { mtime?: number } = {},
): Promise<StagedLayer> {
  const tar = join(staging, "layer.tar");
  const packed = await packToFile(tree, tar, options);
  const { dir, diff } = makeLayerDir(staging);
  Deno.renameSync(tree, diff);
  Deno.chmodSync(diff, 0o755);
  Deno.writeTextFileSync(join(dir, "size"), `${packed.size}\n`);
  return { diffId: packed.diffId, dir, tar, tarSize: packed.tarSize, size: packed.size };
}

/**
 * Image operations that need the containers too, for every front end
 * (`tsnspawn rmi` and `image prune`, the Docker API's `DELETE /images/NAME`
 * and `POST /images/prune`): an image a container is made from is kept
 * (refused, or with force only untagged). The store itself is image/store.ts.
 */
import { pruneStore, removeImage, type RemoveResult } from "../image/store.ts";
import { listContainerNames, loadContainer } from "../container/state.ts";
import { operationRunning } from "../staging.ts";

/** Ids of the images containers are made from. */
export function imagesInUse(): Set<string> {
  const ids = new Set<string>();
  for (const name of listContainerNames()) {
    try {
      const id = loadContainer(name).imageId;
      if (id) ids.add(id);
    } catch { /* removed meanwhile */ }
  }
  return ids;
}

/** Removes a tag, or an image by id (see image/store.ts removeImage), sparing images in use. */
export async function removeImageUnused(reference: string, force: boolean): Promise<RemoveResult> {
  const inUse = imagesInUse();
  return await removeImage(reference, { force, isInUse: (id) => inUse.has(id) });
}

/**
 * Removes what no image or container needs, the build cache nobody uses
 * included (kept whole while a build runs: `keptBuildCache`); the digests
 * deleted and the bytes freed.
 */
export async function pruneUnusedImages(): Promise<
  { deleted: string[]; bytes: number; keptBuildCache: boolean }
> {
  const inUse = imagesInUse();
  const keepBuildCache = operationRunning("build-");
  const pruned = await pruneStore((id) => inUse.has(id), { keepBuildCache });
  return { ...pruned, keptBuildCache: keepBuildCache };
}

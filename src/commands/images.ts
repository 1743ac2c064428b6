/**
 * Image commands on the local store: `import` (a rootfs tarball becomes a
 * one-layer image), `images` (REPOSITORY, TAG, IMAGE ID, CREATED, SIZE),
 * `rmi` (refused while a container uses the image, unless -f), `tag`,
 * `image inspect` and `image prune`. The store itself is src/image/store.ts.
 */
import {
  importRootfsTarball,
  inspectImage,
  listImages as storeImages,
  tagImage,
} from "../image/store.ts";
import { pruneUnusedImages, removeImageUnused } from "../ops/images.ts";
import { formatBytes, formatDuration, formatTable } from "../format.ts";
import { TsnspawnError } from "../errors.ts";
import type { CommandContext } from "./context.ts";

/** `tsnspawn import TARBALL NAME[:TAG]`: prints the new image id. */
export async function importImage(
  ctx: CommandContext,
  tarball: string,
  reference: string,
): Promise<void> {
  try {
    Deno.statSync(tarball);
  } catch {
    throw new TsnspawnError("not-found", `tarball ${tarball}: no such file`, {
      hint: "give the path of a root file system tarball (tar, tar.gz)",
    });
  }
  ctx.print(await importRootfsTarball(tarball, reference));
}

/** `tsnspawn images [-q] [--json]`. */
export function listImages(ctx: CommandContext, quiet: boolean): void {
  const rows = storeImages();
  if (quiet) {
    for (const id of new Set(rows.map((r) => r.id))) ctx.print(shortId(id));
    return;
  }
  if (ctx.json) {
    ctx.print(JSON.stringify(rows, null, 2));
    return;
  }
  const now = Date.now();
  ctx.print(formatTable(
    ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"],
    rows.map((r) => [
      r.repository,
      r.tag,
      shortId(r.id),
      r.created
        ? `${formatDuration(Math.max(0, Math.round((now - Date.parse(r.created)) / 1000)))} ago`
        : "-",
      formatBytes(r.size),
    ]),
  ));
}

/** `tsnspawn rmi [-f] IMAGE...`. */
export async function removeImages(
  ctx: CommandContext,
  references: string[],
  force: boolean,
): Promise<void> {
  for (const reference of references) {
    const result = await removeImageUnused(reference, force);
    for (const tag of result.untagged) ctx.print(`Untagged: ${tag}`);
    for (const digest of result.deleted) ctx.print(`Deleted: ${digest}`);
  }
}

/** `tsnspawn tag SOURCE TARGET`. */
export async function tagCommand(
  _ctx: CommandContext,
  source: string,
  target: string,
): Promise<void> {
  await tagImage(source, target);
}

/**
 * `tsnspawn image inspect IMAGE...`: a JSON array, one object per image with
 * its id, tags, manifest digest, size, the manifest and the config (whose
 * `config.ExposedPorts`, `Volumes`... are the image's defaults).
 */
export function inspectImages(ctx: CommandContext, references: string[]): void {
  const out = references.map((reference) => {
    const image = inspectImage(reference);
    return {
      Id: image.id,
      RepoTags: image.tags,
      ManifestDigest: image.manifestDigest,
      Size: image.size,
      Created: image.config.created,
      Architecture: image.config.architecture,
      Os: image.config.os,
      Config: image.config.config ?? {},
      RootFS: image.config.rootfs,
      History: image.config.history ?? [],
      Manifest: image.manifest,
    };
  });
  ctx.print(JSON.stringify(out, null, 2));
}

/**
 * `tsnspawn image prune`: removes what no image or container needs, build
 * cache nobody uses included (kept whole while a build runs); prints bytes freed.
 */
export async function pruneCommand(ctx: CommandContext): Promise<void> {
  const { deleted, bytes, keptBuildCache } = await pruneUnusedImages();
  if (keptBuildCache) ctx.print("A build is running: the build cache is kept");
  for (const digest of deleted) ctx.print(`Deleted: ${digest}`);
  ctx.print(`Total reclaimed space: ${formatBytes(bytes)} (${bytes} bytes)`);
}

function shortId(id: string): string {
  return id.replace(/^sha256:/, "").slice(0, 12);
}

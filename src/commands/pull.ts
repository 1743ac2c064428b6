/**
 * `tsnspawn pull`: the pull with its progress (registry/progress_display.ts:
 * bars on a terminal, lines otherwise, nothing with -q), then the digest, the
 * status and the image id, as docker prints them.
 */
import type { CommandContext } from "./context.ts";
import { type PullCommandOptions, pullWithProgress } from "../registry/progress_display.ts";

/** `tsnspawn pull [-q] [--platform P] [--policy missing] [--tls-verify=false] NAME`. */
export async function pullCommand(
  ctx: CommandContext,
  reference: string,
  options: PullCommandOptions & { missingOnly?: boolean },
): Promise<void> {
  if (options.missingOnly) {
    // A declared .image with Policy=missing: a stored image is enough.
    const { resolveImage } = await import("../image/store.ts");
    try {
      const image = resolveImage(reference);
      if (!options.quiet) ctx.print(`Status: image is present for ${image.reference ?? reference}`);
      ctx.print(image.id);
      return;
    } catch { /* not stored: pull it */ }
  }
  const result = await pullWithProgress(reference, options);
  if (options.quiet) {
    ctx.print(result.id);
    return;
  }
  ctx.print(`Digest: ${result.manifestDigest}`);
  ctx.print(
    result.upToDate
      ? `Status: image is up to date for ${result.reference}`
      : `Status: downloaded newer image for ${result.reference}`,
  );
  ctx.print(result.id);
}

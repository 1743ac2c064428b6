/**
 * `tsnspawn pull`: the pull with its progress (registry/progress_display.ts:
 * bars on a terminal, lines otherwise, nothing with -q), then the digest, the
 * status and the image id, as docker prints them.
 */
import type { CommandContext } from "./context.ts";
import { type PullCommandOptions, pullWithProgress } from "../registry/progress_display.ts";

/** `tsnspawn pull [-q] [--platform P] [--tls-verify=false] NAME`. */
export async function pullCommand(
  ctx: CommandContext,
  reference: string,
  options: PullCommandOptions,
): Promise<void> {
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

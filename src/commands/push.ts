/**
 * `tsnspawn push NAME[:TAG] [DEST]`: one line per layer ("exists"/"pushed"),
 * then the manifest digest (src/registry/push.ts does the work).
 */
import { pushImage } from "../registry/push.ts";
import type { CommandContext } from "./context.ts";

/** `tsnspawn push [-q] [--tls-verify=false] NAME[:TAG] [DEST]`. */
export async function pushCommand(
  ctx: CommandContext,
  reference: string,
  destination: string | undefined,
  options: { quiet: boolean; insecure: boolean },
): Promise<void> {
  const result = await pushImage(reference, destination, {
    insecure: options.insecure,
    onLayer: options.quiet ? undefined : (layer, status) =>
      ctx.print(
        `${layer.digest.slice(7, 19)}: ${status === "exists" ? "layer already exists" : "pushed"}`,
      ),
  });
  ctx.print(options.quiet ? result.digest : `${result.reference}: digest: ${result.digest}`);
}

/**
 * `tsnspawn commit [-m MSG] [-a AUTHOR] [-c INSTRUCTION]... CONTAINER NAME[:TAG]`:
 * prints the new image id (src/image/commit.ts). The image runs what the
 * container ran, with the container's settings (docker's commit), changed
 * by `--change` Dockerfile instructions; the init layer stays out.
 */
import { commitContainer } from "../image/commit.ts";
import { parseChange } from "../image/change_instructions.ts";
import { loadContainer } from "../container/state.ts";
import { containerPaths } from "../paths.ts";
import { parseSignal } from "../container/run_options.ts";
import type { CommandContext } from "./context.ts";
import { layerExclusions } from "../ops/layer_exclusions.ts";

/** `tsnspawn commit`. */
export async function commitCommand(
  ctx: CommandContext,
  container: string,
  reference: string,
  options: { message?: string; author?: string; changes?: string[] },
): Promise<void> {
  const config = loadContainer(container);
  const changes = (options.changes ?? []).map(parseChange);
  for (const change of changes) {
    if (change.kind === "STOPSIGNAL") parseSignal(change.value); // a clear error for a bad one
  }
  const source = {
    name: container,
    upperDir: containerPaths(container).upper,
    imageId: config.imageId,
    ...(config.runConfig ? { runConfig: config.runConfig } : {}),
    exclude: layerExclusions(config),
  };
  ctx.print(await commitContainer(source, reference, { ...options, changes }));
}

/** `tsnspawn commit CONTAINER NAME[:TAG]`: prints the new image id (src/image/commit.ts). */
import { commitContainer } from "../image/commit.ts";
import { loadContainer } from "../container/state.ts";
import { containerPaths } from "../paths.ts";
import type { CommandContext } from "./context.ts";

/** `tsnspawn commit [-m MSG] [-a AUTHOR] CONTAINER NAME[:TAG]`. */
export async function commitCommand(
  ctx: CommandContext,
  container: string,
  reference: string,
  options: { message?: string; author?: string },
): Promise<void> {
  const config = loadContainer(container);
  const source = {
    name: container,
    upperDir: containerPaths(container).upper,
    imageId: config.imageId,
    lowerDirs: config.lowerDirs,
  };
  ctx.print(await commitContainer(source, reference, options));
}

/** `tsnspawn commit CONTAINER NAME[:TAG]`: prints the new image id (src/image/commit.ts). */
import { commitContainer } from "../image/commit.ts";
import type { CommandContext } from "./context.ts";

/** `tsnspawn commit [-m MSG] [-a AUTHOR] CONTAINER NAME[:TAG]`. */
export async function commitCommand(
  ctx: CommandContext,
  container: string,
  reference: string,
  options: { message?: string; author?: string },
): Promise<void> {
  ctx.print(await commitContainer(container, reference, options));
}

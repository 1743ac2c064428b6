/**
 * `tsnspawn rm [-f]`: removes a stopped container (its writable layer, init
 * layer and config) through the remove operation (ops/remove.ts). A running
 * one is refused unless -f, which kills it first.
 */
import type { CommandContext } from "./context.ts";
import { removeContainer as removeOperation } from "../ops/remove.ts";

/** Removes a container. */
export async function removeContainer(
  ctx: CommandContext,
  name: string,
  force: boolean,
): Promise<void> {
  await removeOperation(await ctx.systemd(), name, force);
}

/**
 * `tsnspawn rm [-f] [-v]`: removes a stopped container (its writable layer,
 * init layer and config; with -v its anonymous volumes) through the remove
 * operation (ops/remove.ts). A running one is refused unless -f, which
 * kills it first. Named volumes stay (`tsnspawn volume rm`).
 */
import type { CommandContext } from "./context.ts";
import { removeContainer as removeOperation } from "../ops/remove.ts";

/** Removes a container. */
export async function removeContainer(
  ctx: CommandContext,
  name: string,
  force: boolean,
  volumes = false,
): Promise<void> {
  await removeOperation(await ctx.systemd(), name, force, volumes);
}

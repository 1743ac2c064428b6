/**
 * `tsnspawn run` = `create` + `start`. Detached (-d) it prints the container
 * id once the unit is running; attached it streams the output and exits with
 * the container's status. With --rm a container whose start failed is removed
 * too, so nothing is left behind.
 */
import { containerExists, removeContainerDir } from "../container/state.ts";
import { unitName } from "../paths.ts";
import type { CommandContext } from "./context.ts";
import { createContainer } from "../ops/create.ts";
import type { RunOptions } from "../cli/args.ts";
import { startContainer } from "./start.ts";
import { trace } from "../trace.ts";

/** Runs a new container; returns the exit status for the CLI. */
export async function runContainer(ctx: CommandContext, options: RunOptions): Promise<number> {
  // Load the D-Bus client and connect while the container is created: the
  // start needs both. A failure to connect surfaces where start awaits it.
  ctx.systemd().catch(() => {});
  const config = await createContainer(options);
  trace("created");
  let status: number | null;
  try {
    status = await startContainer(ctx, config.name, {
      attach: !options.detach,
      config,
      detachKeys: options.detachKeys,
    });
  } catch (error) {
    if (config.autoRemove && containerExists(config.name)) {
      const systemd = await ctx.systemd().catch(() => null);
      await systemd?.resetFailedUnit(unitName(config.name)).catch(() => {});
      removeContainerDir(config.name);
    }
    throw error;
  }
  if (status === null) {
    ctx.print(config.id);
    return 0;
  }
  return status;
}

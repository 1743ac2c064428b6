/** `tsnspawn diff CONTAINER`: its writable layer's changes (image/layer_diff.ts), docker's format. */
import { loadContainer } from "../container/state.ts";
import { containerPaths } from "../paths.ts";
import { planLayerExclusions } from "../container/init_layer.ts";
import { existsInStack } from "../image/layer_stack.ts";
import { listLayerChanges } from "../image/layer_diff.ts";
import type { CommandContext } from "./context.ts";

/** Prints one "K /path" line per change. */
export function diffCommand(ctx: CommandContext, name: string): void {
  const config = loadContainer(name);
  const exclude = planLayerExclusions(config, (path) => existsInStack(config.lowerDirs, path));
  const changes = listLayerChanges(containerPaths(name).upper, config.lowerDirs, exclude);
  if (ctx.json) {
    ctx.print(JSON.stringify(changes, null, 2));
    return;
  }
  for (const change of changes) ctx.print(`${change.kind} ${change.path}`);
}

/**
 * `tsnspawn export CONTAINER [-o FILE]`: the container's root file system as
 * one tar, read from the host side without mounting anything: its image
 * layers and its writable layer merged as overlayfs would (image/layer_pack.ts
 * "flatten": whiteouts and opaque dirs applied). Volumes are not included,
 * nor the init layer's files and mount points (container/init_layer.ts).
 */
import { packDirectories } from "../image/layer_pack.ts";
import { containerPaths } from "../paths.ts";
import { loadContainer } from "../container/state.ts";
import type { CommandContext } from "./context.ts";
import { withContext } from "../errors.ts";
import { layerExclusions } from "../ops/layer_exclusions.ts";

/** `tsnspawn export CONTAINER -o FILE` ('-' = stdout). */
export async function exportCommand(
  _ctx: CommandContext,
  name: string,
  output: string,
): Promise<void> {
  const container = loadContainer(name);
  const dirs = [containerPaths(name).upper, ...container.lowerDirs];
  let sink: WritableStream<Uint8Array>;
  if (output === "-") {
    sink = Deno.stdout.writable;
  } else {
    try {
      sink = (await Deno.open(output, { write: true, create: true, truncate: true, mode: 0o644 }))
        .writable;
    } catch (e) {
      throw withContext(e, "system", `export ${name}: cannot write ${output}`);
    }
  }
  await packDirectories(dirs, sink, { mode: "flatten", exclude: layerExclusions(container) });
}

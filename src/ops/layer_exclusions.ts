/**
 * The paths of a container's writable layer that `commit`, `export` and
 * `diff` leave out (container/init_layer.ts), as the layer packer wants
 * them: relative, without the leading "/", the image's layers asked which
 * mount points it has.
 */
import type { ContainerConfig } from "../container/config.ts";
import { planLayerExclusions } from "../container/init_layer.ts";
import { existsInStack } from "../image/layer_stack.ts";

/** The excluded paths of `config`'s writable layer. */
export function layerExclusions(config: ContainerConfig): Set<string> {
  const paths = planLayerExclusions(config, (path) => existsInStack(config.lowerDirs, path));
  return new Set([...paths].map((path) => path.replace(/^\/+/, "")));
}

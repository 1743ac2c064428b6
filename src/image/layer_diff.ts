/**
 * `diff`: what a container's writable layer (overlay upper dir) changed
 * against its image, as `docker diff` lists it: "A" added, "C" changed (a
 * file the image has, or a directory with changes below), "D" deleted (an
 * overlay whiteout). Paths left out (container/init_layer.ts) are not
 * listed; a left-out directory is, when something below it is not.
 *
 * Reference: docker-diff(1); overlayfs docs (whiteouts, opaque directories).
 */
import { join } from "../path_util.ts";
import { existsInStack } from "./layer_stack.ts";

/** One change: kind and absolute path in the container. */
export interface LayerChange {
  kind: "A" | "C" | "D";
  path: string;
}

function isWhiteout(info: Deno.FileInfo): boolean {
  return info.isCharDevice === true && (info.rdev ?? 0) === 0;
}

/** The changes of `upper` over `lowerDirs`, sorted by path. */
export function listLayerChanges(
  upper: string,
  lowerDirs: readonly string[],
  exclude: ReadonlySet<string> = new Set(),
): LayerChange[] {
  const changes: LayerChange[] = [];
  /** Lists `dir` (the upper dir at `rel`); true when it listed anything. */
  const walk = (dir: string, rel: string): boolean => {
    let any = false;
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    for (const name of names) {
      const childRel = `${rel}/${name}`;
      const abs = join(dir, name);
      const info = Deno.lstatSync(abs);
      if (isWhiteout(info)) {
        if (exclude.has(childRel)) continue;
        changes.push({ kind: "D", path: childRel });
        any = true;
        continue;
      }
      const index = changes.length;
      const inImage = existsInStack(lowerDirs, childRel);
      const below = info.isDirectory ? walk(abs, childRel) : false;
      if (exclude.has(childRel) && !below) continue;
      // A directory of the image is copied up when something below changes: that is listed.
      if (info.isDirectory && inImage && !below) continue;
      changes.splice(index, 0, { kind: inImage ? "C" : "A", path: childRel });
      any = true;
    }
    return any;
  };
  walk(upper, "");
  return changes;
}

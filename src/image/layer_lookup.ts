/**
 * Looking a path up in an image's layers as overlayfs would show it, without
 * mounting them: the topmost layer that has the name decides, and an
 * overlay whiteout (a 0/0 character device, the store's layer form) means
 * deleted. Parents are not followed through symlinks: enough for the fixed
 * paths asked about (an init, mount points).
 *
 * Reference: overlayfs docs (filesystems/overlayfs.rst, "whiteouts").
 */
import { join } from "../path_util.ts";

/** Whether `path` (absolute, in the image) exists in `lowerDirs` (topmost first). */
export function existsInLayers(lowerDirs: readonly string[], path: string): boolean {
  for (const dir of lowerDirs) {
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(join(dir, path));
    } catch {
      continue;
    }
    return !(info.isCharDevice && (info.rdev ?? 0) === 0);
  }
  return false;
}

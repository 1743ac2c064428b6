/**
 * Docker's volume copy-up: a volume that is empty when a container first
 * mounts it gets what the container's image has at the mount point
 * (files, directories, symlinks, device nodes and fifos, with owners,
 * modes and times; the mount point's own owner and mode go to the
 * volume's root). Runs in the shim, in the container's mount namespace
 * before the volume is bound over the path (mount_plan.ts `copyUp`): the
 * source is read through the container's merged root, where its symlinks
 * were resolved under that root (apply_mounts.ts resolveInRoot) and are
 * never followed below it; nothing of the container runs yet.
 *
 * Extended attributes and hard links are not kept (each link is copied as
 * a file), as with docker's copy (moby daemon/volumes.go copyExistingContents
 * uses a plain recursive copy too).
 *
 * Man pages: lchown(2), utimensat(2), mknod(2).
 */
import { join } from "../path_util.ts";
import { lchown, lutimes, mknod, S_IFBLK, S_IFCHR, S_IFIFO } from "../image/layer_syscalls.ts";

/** Whether a directory has no entries. */
function isEmpty(dir: string): boolean {
  for (const _ of Deno.readDirSync(dir)) return false;
  return true;
}

function mtimeOf(info: Deno.FileInfo): number {
  return (info.mtime?.getTime() ?? 0) / 1000;
}

function copyEntry(from: string, to: string): void {
  const info = Deno.lstatSync(from);
  const mode = (info.mode ?? 0o644) & 0o7777;
  if (info.isSymlink) {
    Deno.symlinkSync(Deno.readLinkSync(from), to);
  } else if (info.isDirectory) {
    Deno.mkdirSync(to, { mode: 0o700 });
    for (const entry of Deno.readDirSync(from)) {
      copyEntry(join(from, entry.name), join(to, entry.name));
    }
    Deno.chmodSync(to, mode);
  } else if (info.isFile) {
    Deno.copyFileSync(from, to);
    Deno.chmodSync(to, mode);
  } else if (info.isFifo || info.isCharDevice || info.isBlockDevice) {
    const rdev = info.rdev ?? 0;
    const major = ((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
    const minor = (rdev & 0xff) | ((rdev >>> 12) & ~0xff);
    const type = info.isFifo ? S_IFIFO : info.isCharDevice ? S_IFCHR : S_IFBLK;
    mknod(to, type | mode, major, minor);
    Deno.chmodSync(to, mode);
  } else {
    return; // a socket: nothing to copy
  }
  lchown(to, info.uid ?? 0, info.gid ?? 0);
  if (!info.isSymlink) Deno.chmodSync(to, mode); // chown cleared set-id bits
  lutimes(to, mtimeOf(info));
}

/**
 * Copies the directory `source` (a host path under the container's root)
 * into the volume directory `volume` when the volume is empty and the
 * source is a directory. Returns whether it copied.
 */
export function copyUp(source: string, volume: string): boolean {
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(source);
  } catch {
    return false; // the image has nothing there
  }
  if (!info.isDirectory || !isEmpty(volume)) return false;
  for (const entry of Deno.readDirSync(source)) {
    copyEntry(join(source, entry.name), join(volume, entry.name));
  }
  lchown(volume, info.uid ?? 0, info.gid ?? 0);
  Deno.chmodSync(volume, (info.mode ?? 0o755) & 0o7777);
  return true;
}

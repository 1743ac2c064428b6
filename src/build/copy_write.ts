/**
 * Writing a planned COPY/ADD (copy_plan.ts) into a new layer tree
 * (effects): a directory that image/layer_commit.ts then turns into the
 * step's layer. No container is involved: files are copied straight from
 * the context, the `--from` stage's layers or a download.
 *
 * - Directories on the way to a target that the image has keep the image's
 *   mode, owner and time (the layer repeats them, as a container's
 *   copy-up would); new ones are made 0755 with the copy's owner (root
 *   without --chown). Directory times are set last, deepest first.
 * - Files keep their mode (then --chmod) and modification time; owners per
 *   the plan. Symlinks are copied as symlinks; fifos and device nodes are
 *   made again; sockets are skipped.
 * - `mtime` (build --timestamp) replaces every time.
 * - An archive is unpacked by image/layer_unpack.ts (no entry may escape
 *   its directory) into a private directory and merged into the target.
 */
import { TsnspawnError, withContext } from "../errors.ts";
import { join } from "../path_util.ts";
import {
  type CopyPlan,
  type DownloadedFile,
  entryAttributes,
  imageDirectory,
} from "./copy_plan.ts";
import type { SourceTree, TreeNode } from "./source_tree.ts";
import { lchown, lutimes, mknod, S_IFBLK, S_IFCHR, S_IFIFO } from "../image/layer_syscalls.ts";
import { isWhiteout } from "../image/layer_stack.ts";
import { unpackArchive } from "./archive.ts";

/** What writing needs besides the plan. */
export interface WriteOptions {
  /** Downloaded URL sources by URL. */
  downloads: ReadonlyMap<string, DownloadedFile>;
  /** Every time in the layer, seconds (build --timestamp). */
  mtime?: number;
  /** Scratch space for unpacking archives. */
  scratch: string;
  signal?: AbortSignal;
}

function lstatOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.lstatSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

function seconds(time: Date | null | undefined): number {
  return Math.floor((time?.getTime() ?? Date.now()) / 1000);
}

/** Writes `plan` into `root`, the layer tree (an empty directory). */
export async function writeCopyLayer(
  plan: CopyPlan,
  root: string,
  options: WriteOptions,
): Promise<void> {
  const now = options.mtime ?? Math.floor(Date.now() / 1000);
  /** Directory metadata to apply at the end: host path → attributes. */
  const dirs = new Map<string, { uid: number; gid: number; mode: number; mtime: number }>();
  const host = (path: string) => path === "/" ? root : join(root, path);

  /** Makes the directories down to `path` (canonical, in the image) in the layer. */
  const ensureDir = (path: string) => {
    const parts = path.split("/").filter((c) => c !== "");
    let current = "";
    for (const part of parts) {
      current += `/${part}`;
      const abs = host(current);
      const st = lstatOrNull(abs);
      if (st?.isDirectory) continue;
      if (st) Deno.removeSync(abs, { recursive: true });
      Deno.mkdirSync(abs);
      const image = imageDirectory(plan.layers, current);
      const owner = plan.owner ?? { uid: 0, gid: 0 };
      dirs.set(
        abs,
        image
          ? {
            uid: image.uid ?? 0,
            gid: image.gid ?? 0,
            mode: (image.mode ?? 0o755) & 0o7777,
            mtime: options.mtime ?? seconds(image.mtime),
          }
          : { ...owner, mode: 0o755, mtime: now },
      );
    }
  };

  /** Clears the way for a non-directory at `abs`. */
  const clear = (abs: string) => {
    const st = lstatOrNull(abs);
    if (st) Deno.removeSync(abs, { recursive: st.isDirectory });
  };

  const copyNode = async (tree: SourceTree, node: TreeNode, abs: string, isTop: boolean) => {
    if (options.signal?.aborted) throw options.signal.reason;
    const st = node.st;
    const attrs = entryAttributes(plan, st);
    const mtime = options.mtime ?? seconds(st.mtime);
    try {
      if (st.isDirectory) {
        const existing = lstatOrNull(abs);
        if (!existing?.isDirectory) {
          if (existing) clear(abs);
          Deno.mkdirSync(abs);
          dirs.set(abs, { ...attrs, mtime });
        } else if (!isTop) {
          dirs.set(abs, { ...attrs, mtime });
        }
        for (const child of tree.children(node)) {
          await copyNode(
            tree,
            child,
            join(abs, child.path.slice(child.path.lastIndexOf("/") + 1)),
            false,
          );
        }
        return;
      }
      clear(abs);
      if (st.isSymlink) {
        Deno.symlinkSync(Deno.readLinkSync(node.abs), abs);
        lchown(abs, attrs.uid, attrs.gid);
        lutimes(abs, mtime);
        return;
      }
      if (st.isFile) {
        Deno.copyFileSync(node.abs, abs);
      } else if (st.isFifo || ((st.isCharDevice || st.isBlockDevice) && !isWhiteout(st))) {
        const type = st.isFifo ? S_IFIFO : st.isCharDevice ? S_IFCHR : S_IFBLK;
        const rdev = BigInt(st.rdev ?? 0);
        const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
        const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
        mknod(abs, type | 0o600, major, minor);
      } else {
        return; // sockets (and whiteouts) are not copied
      }
      Deno.chownSync(abs, attrs.uid, attrs.gid);
      Deno.chmodSync(abs, attrs.mode);
      Deno.utimeSync(abs, mtime, mtime);
    } catch (error) {
      if (error instanceof TsnspawnError || error === options.signal?.reason) throw error;
      throw withContext(error, "system", `copying ${node.path} from ${tree.name}`);
    }
  };

  const writeFile = (abs: string, data: Uint8Array | DownloadedFile, mode: number) => {
    clear(abs);
    if (data instanceof Uint8Array) Deno.writeFileSync(abs, data);
    else Deno.copyFileSync(data.path, abs);
    const owner = plan.owner ?? { uid: 0, gid: 0 };
    Deno.chownSync(abs, owner.uid, owner.gid);
    Deno.chmodSync(abs, plan.chmod ? plan.chmod(mode, false) : mode);
    const mtime = options.mtime ?? (data instanceof Uint8Array ? now : data.mtime ?? now);
    Deno.utimeSync(abs, mtime, mtime);
  };

  for (const item of plan.items) {
    const parent = item.target.slice(0, item.target.lastIndexOf("/")) || "/";
    switch (item.kind) {
      case "node":
        if (item.node.st.isDirectory) {
          ensureDir(item.target);
          await copyNode(item.tree, item.node, host(item.target), true);
        } else {
          ensureDir(parent);
          await copyNode(item.tree, item.node, host(item.target), false);
        }
        break;
      case "inline":
        ensureDir(parent);
        writeFile(host(item.target), item.data, 0o644);
        break;
      case "url": {
        ensureDir(parent);
        const file = options.downloads.get(item.url);
        if (file === undefined) throw new Error(`writeCopyLayer: ${item.url} was not downloaded`);
        writeFile(host(item.target), file, 0o600);
        break;
      }
      case "archive":
        ensureDir(item.target);
        await unpackArchive(item.node.abs, host(item.target), {
          scratch: options.scratch,
          owner: plan.chown ? plan.owner : null,
          ...(options.mtime !== undefined ? { mtime: options.mtime } : {}),
          record: (abs, attrs) => dirs.set(abs, attrs),
        });
        break;
    }
  }
  // Directory metadata last, deepest first: writing into a directory changes its time.
  const ordered = [...dirs].sort(([a], [b]) => b.split("/").length - a.split("/").length);
  for (const [abs, attrs] of ordered) {
    Deno.chownSync(abs, attrs.uid, attrs.gid);
    Deno.chmodSync(abs, attrs.mode);
    Deno.utimeSync(abs, attrs.mtime, attrs.mtime);
  }
}

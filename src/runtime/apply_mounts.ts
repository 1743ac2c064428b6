/**
 * Executes a mount plan (`src/container/mount_plan.ts`) in order, and switches the
 * root with pivot_root. Runs in stage two, on the main thread, in the
 * container's mount namespace: synchronous APIs only.
 *
 * Every failure names the step: `mount step "proc /proc nosuid,nodev,noexec"
 * (procfs of ...): mount proc on /... failed: ... (EPERM)`.
 *
 * Symlinks: before pivot_root, a path in the container is resolved under
 * the new root component by component ({@link resolveInRoot}), so an image
 * whose /etc/hosts is a symlink to /etc/shadow cannot make us mount over or
 * create files on the host (what runc's securejoin guards against). No
 * process of the container runs yet, so nothing races us.
 *
 * Man pages: mount(2), pivot_root(2) ("pivot_root(".", ".")"), overlayfs docs.
 */
import { basename, dirname, relative } from "../path_util.ts";
import { TsnspawnError, withContext } from "../errors.ts";
import { formatMountOp, type MountOp, overlayOptions } from "../container/mount_plan.ts";
import { type MountFlag } from "../container/config.ts";
import {
  makeReadOnlyRecursive,
  mknodBlock,
  mknodChar,
  MNT_DETACH,
  mount,
  mountOverlayLayers,
  MS_BIND,
  MS_NODEV,
  MS_NOEXEC,
  MS_NOSUID,
  MS_PRIVATE,
  MS_RDONLY,
  MS_REC,
  MS_REMOUNT,
  MS_STRICTATIME,
  pivotRoot,
  preservedMountFlags,
  umount2,
} from "../../ffi/mount.ts";
import { chdir } from "../../ffi/process.ts";
import { O_CLOEXEC, O_NOCTTY, O_RDWR, openFd } from "../../ffi/fifo.ts";
import { closePty, openPty, openPtyPeer } from "../../ffi/pty.ts";

/** Longest mount data the kernel accepts (one page, with the NUL). */
const MOUNT_DATA_MAX = 4095;
/** Symlinks followed while resolving one path (like the kernel's MAXSYMLINKS). */
const MAX_SYMLINKS = 40;

const FLAG_BITS: Record<MountFlag, number> = {
  ro: MS_RDONLY,
  nosuid: MS_NOSUID,
  nodev: MS_NODEV,
  noexec: MS_NOEXEC,
  strictatime: MS_STRICTATIME,
};

function flagBits(flags: readonly MountFlag[]): number {
  return flags.reduce((bits, f) => bits | FLAG_BITS[f], 0);
}

/**
 * Resolves `path` (a path in the container) to a host path under `root`,
 * following symlinks as if `root` were `/`: absolute links restart at
 * `root`, ".." never climbs above it. Missing components are kept as is.
 */
export function resolveInRoot(root: string, path: string): string {
  const pending = path.split("/").filter((c) => c !== "" && c !== ".");
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const component = pending.shift()!;
    if (component === "..") {
      resolved.pop();
      continue;
    }
    const candidate = `${root}/${[...resolved, component].join("/")}`;
    let info: Deno.FileInfo | null = null;
    try {
      info = Deno.lstatSync(candidate);
    } catch {
      // missing: nothing to follow
    }
    if (info?.isSymlink) {
      if (++links > MAX_SYMLINKS) {
        throw new TsnspawnError(
          "invalid",
          `path ${path} in the container: too many levels of symbolic links`,
        );
      }
      const link = Deno.readLinkSync(candidate);
      if (link.startsWith("/")) resolved.length = 0;
      pending.unshift(...link.split("/").filter((c) => c !== "" && c !== "."));
      continue;
    }
    resolved.push(component);
  }
  return resolved.length === 0 ? root : `${root}/${resolved.join("/")}`;
}

function exists(path: string): Deno.FileInfo | null {
  try {
    return Deno.lstatSync(path);
  } catch {
    return null;
  }
}

function ensureDir(path: string, mode = 0o755): void {
  Deno.mkdirSync(path, { recursive: true, mode });
}

function ensureFile(path: string): void {
  if (exists(path)) return;
  ensureDir(dirname(path));
  Deno.openSync(path, { write: true, create: true, mode: 0o644 }).close();
}

/**
 * The overlay mount data. When it does not fit in a page (many layers), the
 * directories are given relative to their common parent and the caller
 * chdir()s there first (the kernel resolves relative overlay paths from the
 * cwd). Returns the data and that directory (or null), or null when even
 * that does not fit: then the layers go one by one through the new mount API.
 */
export function overlayMountData(
  lowerDirs: readonly string[],
  upperDir: string,
  workDir: string,
): { data: string; cwd: string | null } | null {
  const data = overlayOptions(lowerDirs, upperDir, workDir);
  if (data.length <= MOUNT_DATA_MAX) return { data, cwd: null };
  const all = [...lowerDirs, upperDir, workDir];
  let common = dirname(all[0]);
  while (!all.every((p) => p.startsWith(common === "/" ? "/" : common + "/"))) {
    common = dirname(common);
  }
  const rel = (p: string) => relative(common, p);
  const short = overlayOptions(lowerDirs.map(rel), rel(upperDir), rel(workDir));
  // Still too long: the caller uses the new mount API (one lowerdir+ per layer).
  if (short.length > MOUNT_DATA_MAX) return null;
  return { data: short, cwd: common };
}

/** The directory stage two runs in before the overlay chdir trick, to restore. */
function withCwd<T>(dir: string | null, action: () => T): T {
  if (dir === null) return action();
  chdir(dir);
  try {
    return action();
  } finally {
    chdir("/");
  }
}

/** What applying a plan leaves to its caller. */
export interface AppliedMounts {
  /**
   * The console pty ("consolePty"): its master, for the caller to drain, and
   * a slave fd that keeps the master from reading EIO whenever no process of
   * the container has the console open (systemd opens it per message).
   */
  console?: { master: number; slave: number };
}

/** A volume's copy-up (runtime/copy_up.ts), given by the caller that needs it. */
type CopyUp = (source: string, volume: string) => boolean;

function applyOne(
  op: MountOp,
  root: string | null,
  applied: AppliedMounts,
  copyUp?: CopyUp,
): void { // A path in the container, as a path we can use now.
  const at = (path: string) => (root === null ? path : resolveInRoot(root, path));
  switch (op.op) {
    case "makePrivate":
      mount(null, "/", null, MS_REC | MS_PRIVATE);
      return;
    case "overlay": {
      if (root === null) throw new TsnspawnError("invalid", "overlay after pivot_root");
      for (const dir of op.lowerDirs) {
        if (!exists(dir)) {
          throw new TsnspawnError("not-found", `image layer ${dir}: no such directory`);
        }
      }
      ensureDir(op.upperDir);
      ensureDir(op.workDir);
      ensureDir(root);
      const options = overlayMountData(op.lowerDirs, op.upperDir, op.workDir);
      if (options === null) {
        // Hundreds of layers: mount(2)'s one-page data cannot name them all.
        mountOverlayLayers(op.lowerDirs, op.upperDir, op.workDir, root);
      } else {
        withCwd(options.cwd, () => mount("overlay", root, "overlay", 0, options.data));
      }
      return;
    }
    case "tmpfs":
    case "proc":
    case "sysfs":
    case "devpts":
    case "mqueue": {
      const target = at(op.target);
      if (op.op === "tmpfs" && op.ifMissing && exists(target)) return;
      ensureDir(target);
      const data = op.op === "tmpfs" || op.op === "devpts" ? op.data : null;
      mount(op.op, target, op.op, flagBits(op.flags), data);
      return;
    }
    case "bind": {
      const target = at(op.target);
      let source = op.source;
      if (source.startsWith("/proc/self/fd/")) {
        // The file was opened in the host's mount namespace: binding the
        // magic link itself fails (EINVAL, not our namespace's mount), so
        // bind the path it names, as seen in our copy of the host's mounts.
        source = Deno.readLinkSync(source);
        if (!source.startsWith("/")) {
          throw new TsnspawnError("invalid", `${op.source} is not a terminal (${source})`, {
            hint: "with --tty, stdin must be a terminal",
          });
        }
      }
      const info = Deno.statSync(source); // follows /proc/self/fd/0 etc.; missing -> NotFound
      const asFile = op.targetKind === "file" ||
        (op.targetKind === "likeSource" && !info.isDirectory);
      if (asFile) ensureFile(target);
      else ensureDir(target);
      mount(source, target, null, MS_BIND | (op.recursive ? MS_REC : 0));
      return;
    }
    case "remountReadOnly": {
      const target = at(op.target);
      mount(null, target, null, MS_BIND | MS_REMOUNT | MS_RDONLY | preservedMountFlags(target));
      // Before Linux 5.12 only the top mount is read-only, as docker's "ro" was.
      if (op.recursive) makeReadOnlyRecursive(target);
      return;
    }
    case "mknod": {
      const path = at(op.path);
      if (exists(path)) Deno.removeSync(path);
      mknodChar(path, op.mode, op.major, op.minor);
      Deno.chmodSync(path, op.mode); // mknod's mode went through the umask
      return;
    }
    case "symlink": {
      // Resolve the parent only: the link itself must not be followed.
      const path = `${at(dirname(op.path))}/${basename(op.path)}`;
      if (exists(path)) return;
      Deno.symlinkSync(op.linkTarget, path);
      return;
    }
    case "mkdir":
      ensureDir(at(op.path), op.mode);
      return;
    case "ensureFile": {
      if (exists(op.hostPath)) return;
      ensureDir(dirname(op.hostPath));
      let content = op.content ?? "";
      if (op.copyFrom) {
        try {
          content = Deno.readTextFileSync(op.copyFrom);
        } catch {
          // the host has none: an empty file
        }
      }
      Deno.writeTextFileSync(op.hostPath, content, { mode: 0o644 });
      return;
    }
    case "maskPath": {
      const path = at(op.path);
      const info = exists(path);
      if (!info) return; // nothing to hide on this kernel
      if (info.isDirectory) mount("tmpfs", path, "tmpfs", MS_RDONLY, "size=0k,mode=555");
      else mount("/dev/null", path, null, MS_BIND);
      return;
    }
    case "readOnlyPath": {
      const path = at(op.path);
      if (!exists(path)) return;
      mount(path, path, null, MS_BIND | MS_REC);
      mount(null, path, null, MS_BIND | MS_REMOUNT | MS_RDONLY | preservedMountFlags(path));
      return;
    }
    case "hostDevices":
      copyHostDevices("/dev", at(op.target));
      return;
    case "writeFile": {
      const path = at(op.path);
      ensureDir(dirname(path));
      Deno.writeTextFileSync(path, op.content, { mode: op.mode });
      Deno.chmodSync(path, op.mode);
      return;
    }
    case "consolePty": {
      // Nothing of the container runs yet: its /dev is the tmpfs just made.
      const ptmx = openFd(at("/dev/pts/ptmx"), O_RDWR | O_NOCTTY | O_CLOEXEC);
      const pty = openPty(ptmx);
      try {
        const target = at(op.target);
        ensureFile(target);
        mount(at(pty.slavePath), target, null, MS_BIND);
        applied.console = { master: pty.master, slave: openPtyPeer(pty.master) };
      } catch (error) {
        closePty(pty.master);
        throw error;
      }
      return;
    }
    case "copyUp":
      if (!copyUp) throw new TsnspawnError("invalid", "a copy-up step without the copy-up code");
      copyUp(at(op.target), op.source);
      return;
  }
}

/** Directories of the host's /dev whose nodes are the host's own instances, never copied. */
const SKIPPED_DEV_DIRS = new Set(["pts", "shm", "mqueue"]);

/**
 * `--privileged`: mknod a copy of every device node below `hostDir` under
 * `targetDir` (same type, numbers and mode; owner root), like docker's
 * privileged device list. Runs before pivot_root, where the host's /dev is
 * still visible. Nodes already there (the standard ones) are kept.
 */
function copyHostDevices(hostDir: string, targetDir: string): void {
  for (const entry of Deno.readDirSync(hostDir)) {
    const hostPath = `${hostDir}/${entry.name}`;
    const target = `${targetDir}/${entry.name}`;
    if (entry.isDirectory) {
      if (hostDir === "/dev" && SKIPPED_DEV_DIRS.has(entry.name)) continue;
      ensureDir(target);
      copyHostDevices(hostPath, target);
      continue;
    }
    if (entry.isSymlink || exists(target)) continue;
    const info = Deno.lstatSync(hostPath);
    if (!info.isCharDevice && !info.isBlockDevice) continue;
    const rdev = info.rdev ?? 0;
    // glibc's major()/minor() of a dev_t (sys/sysmacros.h).
    const major = ((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
    const minor = (rdev & 0xff) | ((rdev >>> 12) & ~0xff);
    const mode = (info.mode ?? 0o600) & 0o7777;
    if (info.isBlockDevice) mknodBlock(target, mode, major, minor);
    else mknodChar(target, mode, major, minor);
    Deno.chmodSync(target, mode);
  }
}

/**
 * Applies `ops` in order. `root` is the merged root on the host (container
 * paths are resolved under it), or null after pivot_root (paths used as is).
 */
export function applyMounts(
  ops: readonly MountOp[],
  root: string | null,
  copyUp?: CopyUp,
): AppliedMounts {
  const applied: AppliedMounts = {};
  for (const op of ops) {
    try {
      applyOne(op, root, applied, copyUp);
    } catch (error) {
      throw withContext(error, "start-failed", `mount step "${formatMountOp(op)}" (${op.why})`);
    }
  }
  return applied;
}

/**
 * Makes `newRoot` the root of this mount namespace and detaches the old
 * root: chdir(newRoot); pivot_root(".", "."); umount2(".", MNT_DETACH);
 * chdir("/"). The old root is stacked under the new one by pivot_root and
 * the detach removes it, without needing a put_old directory in the image.
 */
export function pivotInto(newRoot: string): void {
  try {
    chdir(newRoot);
    pivotRoot(".", ".");
    umount2(".", MNT_DETACH);
    chdir("/");
  } catch (error) {
    throw withContext(error, "start-failed", `pivot_root to ${newRoot}`);
  }
}

/**
 * What of a container's writable layer is not its own work (PURE): the
 * files of docker's "init layer" and the mount points made for its mounts.
 * docker keeps those in a layer of their own between the image and the
 * container's, and never commits, exports or diffs them; tsnspawn's
 * containers have one writable layer, so `commit`, `export` and `diff`
 * leave these paths of it out (image/layer_pack.ts `exclude`).
 *
 * - always: /etc/hostname, /etc/hosts, /etc/resolv.conf (bind-mounted from
 *   the container's state; what the layer has there is an empty mount
 *   point) and an OS container's /etc/machine-id (written at each start);
 * - when the image does not have them: the mount points of /proc, /dev,
 *   /sys, volumes and tmpfs mounts (also an OS container's), and the
 *   directories made above them.
 */
import type { ContainerConfig } from "./config.ts";
import { dirname } from "../path_util.ts";

/** Files the runtime puts in every container's layer. */
const INIT_FILES = ["/etc/hostname", "/etc/hosts", "/etc/resolv.conf"];

/** Mount points of every container (container/mount_plan.ts). */
const KERNEL_MOUNT_POINTS = ["/proc", "/dev", "/sys"];

/** An OS container's tmpfs mounts (container/mount_plan.ts SYSTEMD_TMPFS). */
const SYSTEMD_MOUNT_POINTS = ["/run", "/run/lock", "/tmp", "/var/log/journal"];

/**
 * The paths (absolute, in the container) of the container's writable layer
 * that `commit`, `export` and `diff` leave out. `inImage(path)` says
 * whether the image has the path.
 */
export function planLayerExclusions(
  config: ContainerConfig,
  inImage: (path: string) => boolean,
): Set<string> {
  const excluded = new Set<string>(INIT_FILES);
  if (config.systemd) excluded.add("/etc/machine-id");
  const mountPoints: string[] = [
    ...KERNEL_MOUNT_POINTS,
    ...config.volumes.map((v) => v.destination),
    ...(config.tmpfs ?? []).map((t) => t.destination),
    ...(config.systemd ? SYSTEMD_MOUNT_POINTS : []),
    ...(config.readOnlyRoot ? ["/tmp", "/run"] : []),
  ];
  // The directories made above the init files (an image without /etc).
  for (const file of excluded) mountPoints.push(dirname(file));
  for (const point of mountPoints) {
    // The mount point and the directories made above it, up to one the image has.
    for (let path = point; path !== "/" && !inImage(path); path = dirname(path)) {
      excluded.add(path);
    }
  }
  return excluded;
}

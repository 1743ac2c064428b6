/**
 * The shim's part of the container's setup: its root file system, hostname
 * and loopback, built right after stage two is spawned, while stage two's
 * Deno still boots (the two overlap on two CPUs).
 *
 * Runs on the shim's main thread, which is in the container's new mount,
 * UTS, IPC and network namespaces (the unshare applies to the main thread
 * only; Deno's other threads stay in the host's). So every mount lands in
 * the container's mount namespace, sysfs shows the container's network
 * devices, mqueue its IPC namespace, and sethostname names its UTS
 * namespace. Only /proc is left to stage two (container/mount_plan.ts `procfs`).
 *
 * Stage two is in the same mount namespace, still with the host's root: it
 * waits on the setup pipe (setup_ready.ts) before it mounts /proc and
 * pivots, so nothing it loads moves under it.
 */
import { TsnspawnError } from "../errors.ts";
import type { ContainerConfig } from "../container/config.ts";
import type { ContainerPaths } from "../paths.ts";
import {
  BOOT_NOTIFY_SOCKET,
  type CgroupView,
  HOST_TINI,
  planRootfs,
} from "../container/mount_plan.ts";
import { type AppliedMounts, applyMounts, resolveInRoot } from "./apply_mounts.ts";
import { bindDatagram } from "../../ffi/unix_socket.ts";
import { sethostname } from "../../ffi/process.ts";
import { interfaceUp } from "../../ffi/net.ts";

/** What the shim keeps of the container's set-up. */
export interface BuiltRootfs extends AppliedMounts {
  /** systemd mode: the socket at the container's /run/host/notify (runtime/boot.ts). */
  notify?: number;
}

/**
 * Builds everything under the merged root but /proc; sets hostname and
 * loopback. `copyUp` (runtime/copy_up.ts, loaded by the shim only for
 * containers with volumes) fills empty volumes; `cgroups`: an OS
 * container's view of its unit's cgroups. */
export function buildRootfs(
  config: ContainerConfig,
  paths: ContainerPaths,
  copyUp?: (source: string, volume: string) => boolean,
  cgroups?: CgroupView,
): BuiltRootfs {
  if (config.init) {
    try {
      Deno.statSync(HOST_TINI);
    } catch {
      throw new TsnspawnError("not-found", `--init: ${HOST_TINI} is missing on the host`, {
        hint: "apt-get install tini",
      });
    }
  }
  const plan = planRootfs(config, paths, cgroups);
  const built: BuiltRootfs = applyMounts(plan.beforePivot, plan.root, copyUp);
  sethostname(config.hostname);
  if (config.network === "none") interfaceUp("lo");
  if (config.systemd) {
    // In the container's /run, a tmpfs nothing of the container has seen yet.
    built.notify = bindDatagram(resolveInRoot(plan.root, BOOT_NOTIFY_SOCKET), 0o600);
  }
  return built;
}

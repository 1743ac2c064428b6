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
import { HOST_TINI, planRootfs } from "../container/mount_plan.ts";
import { applyMounts } from "./apply_mounts.ts";
import { sethostname } from "../../ffi/process.ts";
import { interfaceUp } from "../../ffi/net.ts";

/**
 * Builds everything under the merged root but /proc; sets hostname and
 * loopback. `copyUp` (runtime/copy_up.ts, loaded by the shim only for
 * containers with volumes) fills empty volumes.
 */
export function buildRootfs(
  config: ContainerConfig,
  paths: ContainerPaths,
  copyUp?: (source: string, volume: string) => boolean,
): void {
  if (config.init) {
    try {
      Deno.statSync(HOST_TINI);
    } catch {
      throw new TsnspawnError("not-found", `--init: ${HOST_TINI} is missing on the host`, {
        hint: "apt-get install tini",
      });
    }
  }
  const plan = planRootfs(config, paths);
  applyMounts(plan.beforePivot, plan.root, copyUp);
  sethostname(config.hostname);
  if (config.network === "none") interfaceUp("lo");
}

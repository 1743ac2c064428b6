/**
 * `tsnspawn check`, the repairs: each one re-checks its precondition (the
 * guarding lock is free, the unit is not running) right before it acts, and
 * says false when it no longer applies.
 *
 * Man pages: flock(2), umount2(2); systemd org.freedesktop.systemd1(5)
 * (StopUnit, ResetFailedUnit).
 */
import { join } from "@std/path";
import { TsnspawnError } from "../errors.ts";
import {
  containerPaths,
  networkPaths,
  networksLock,
  stateRoot,
  tmpDir,
  volumesLock,
} from "../paths.ts";
import { containerUnit } from "../container/state.ts";
import { randomHex, writeFileAtomic } from "../files.ts";
import { tryLockPath } from "../staging.ts";
import { isRunningState, type Repair } from "./analysis.ts";
import type { Systemd } from "../systemd/bus.ts";
import { exists, isLocked } from "./snapshot.ts";

/** Holds a container's lock (when it has a lock file) while `action` runs; false when busy. */
async function withIdleContainer(
  systemd: Systemd,
  name: string,
  action: () => void | Promise<void>,
): Promise<boolean> {
  const lock = tryLockPath(containerPaths(name).lock);
  if (lock === "busy") return false;
  try {
    const state = await systemd.unitState(containerUnit(name).unit);
    if (state && isRunningState({ name, ...state })) return false;
    await action();
    return true;
  } finally {
    lock?.close();
  }
}

/** Applies one repair after re-checking its precondition; false when it no longer applies. */
export async function applyRepair(systemd: Systemd, repair: Repair): Promise<boolean> {
  switch (repair.action) {
    case "remove-tmp": {
      const name = repair.path.slice(tmpDir().length + 1);
      const held = tryLockPath(repair.path);
      if (held === "busy" || held === null) return false;
      try {
        if (tmpEntryLiveGuard(name)) return false;
        Deno.removeSync(repair.path, { recursive: true });
        return true;
      } finally {
        held.close();
      }
    }
    case "quarantine-container":
      return await withIdleContainer(systemd, repair.name, () => {
        const lostFound = join(stateRoot(), "lost+found");
        Deno.mkdirSync(lostFound, { recursive: true, mode: 0o700 });
        Deno.renameSync(repair.dir, join(lostFound, `${repair.name}-${randomHex(4)}`));
      });
    case "quarantine-volume": {
      const { withVolumesLock } = await import("../volume/store.ts");
      return withVolumesLock(() => {
        const held = tryLockPath(repair.dir);
        if (held === "busy" || held === null) return false;
        try {
          const lostFound = join(stateRoot(), "lost+found");
          Deno.mkdirSync(lostFound, { recursive: true, mode: 0o700 });
          Deno.renameSync(repair.dir, join(lostFound, `volume-${repair.name}-${randomHex(4)}`));
          return true;
        } finally {
          held.close();
        }
      });
    }
    case "remove-container-file":
      return await withIdleContainer(systemd, repair.name, () => Deno.removeSync(repair.path));
    case "unmount": {
      const { umount2, MNT_DETACH } = await import("../../ffi/mount.ts");
      umount2(repair.path, MNT_DETACH);
      return true;
    }
    case "stop-unit": {
      if (exists(containerPaths(repair.name).dir)) return false;
      await systemd.stopUnit(repair.unit).catch(() => {});
      await systemd.waitUntilInactive(repair.unit, 30_000);
      await systemd.resetFailedUnit(repair.unit).catch(() => {});
      return true;
    }
    case "reset-failed-unit":
      await systemd.resetFailedUnit(repair.unit);
      return true;
    case "release-lease": {
      if (isLocked(join(tmpDir(), `lease-${repair.id}.lock`))) return false;
      const { leaseIsLive, releaseLease } = await import("../network/network_store.ts");
      const lease = {
        address: "",
        container: repair.container,
        id: repair.id,
        hostname: "",
        since: "",
      };
      if (leaseIsLive(lease)) return false;
      releaseLease(repair.network, repair.id);
      return true;
    }
    case "restore-lease":
      return await restoreLease(repair);
    case "remove-build-container":
      if (isLocked(join(tmpDir(), `build-${repair.build}.lock`))) return false;
      return await removeDeadContainer(systemd, repair.name);
    case "remove-ended-container": {
      // Still ended, still the scope's: not started again meanwhile.
      if (!exists(containerPaths(repair.name).scope)) return false;
      const state = await systemd.unitState(containerUnit(repair.name).unit);
      if (state && isRunningState({ name: repair.name, ...state })) return false;
      return await removeDeadContainer(systemd, repair.name);
    }
    case "remove-cache-entry":
      // The caller holds the store lock for the whole pass.
      try {
        Deno.removeSync(repair.path);
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
      return true;
    case "remove-partial-layer": {
      // The caller holds the store lock for the whole pass.
      const away = join(tmpDir(), `delete-layer-${repair.hex}-${randomHex(6)}`);
      Deno.renameSync(repair.path, away);
      Deno.removeSync(away, { recursive: true });
      return true;
    }
    case "delete-veth": {
      const out = new Deno.Command("ip", {
        args: ["link", "delete", repair.device],
        stdout: "null",
        stderr: "piped",
      })
        .outputSync();
      if (!out.success && exists(`/sys/class/net/${repair.device}`)) {
        throw new TsnspawnError(
          "system",
          `ip link delete ${repair.device}: ${new TextDecoder().decode(out.stderr).trim()}`,
        );
      }
      return true;
    }
    case "sweep-published-ports": {
      const { sweepPublishElements } = await import("../network/host_network.ts");
      const { withNetworksLockSync } = await import("../network/network_store.ts");
      withNetworksLockSync(() => sweepPublishElements(null));
      return true;
    }
  }
}

/**
 * Removes a container nothing will remove (a RUN step of a build that died,
 * an attached `--rm` run whose CLI was killed): its unit killed and
 * stopped, its directory removed under its lock, its lease given back — as
 * `rm -f`. Its anonymous volumes become unused ones for the next pass.
 */
async function removeDeadContainer(systemd: Systemd, name: string): Promise<boolean> {
  const { unit } = containerUnit(name);
  const state = await systemd.unitState(unit);
  if (state && isRunningState({ name, ...state })) {
    await systemd.killUnit(unit, "all", 9).catch(() => {});
    await systemd.stopUnit(unit).catch(() => {});
    await systemd.waitUntilInactive(unit, 30_000);
  }
  await systemd.resetFailedUnit(unit).catch(() => {});
  const lock = tryLockPath(containerPaths(name).lock);
  if (lock === "busy") return false;
  try {
    const { loadContainer, removeContainerDir } = await import("../container/state.ts");
    const config = loadContainer(name);
    removeContainerDir(name);
    if (config.bridge) {
      const { releaseLease } = await import("../network/network_store.ts");
      releaseLease(config.bridge.network, config.id);
    }
  } finally {
    lock?.close();
  }
  return true;
}

/** The guard locks of a tmp entry other than its own flock. */
function tmpEntryLiveGuard(name: string): boolean {
  const path = join(tmpDir(), name);
  if (name.startsWith(".")) return false; // the caller holds the store lock for the pass
  if (name.startsWith("network-") && !name.startsWith("network-remove-")) {
    return isLocked(networksLock());
  }
  if (name.startsWith("remove-")) return isLocked(join(path, "lock"));
  if (name.startsWith("volume-")) return isLocked(volumesLock());
  return false;
}

/** Gives a bridge container its lease back (the address was free). */
async function restoreLease(
  repair: Extract<Repair, { action: "restore-lease" }>,
): Promise<boolean> {
  const store = await import("../network/network_store.ts");
  const { planHostsFile } = await import("../network/hosts_file.ts");
  return store.withNetworkLockSync(repair.network, () => {
    const file = store.readLeases(repair.network);
    if (file.leases.some((l) => l.id === repair.id || l.address === repair.address)) return false;
    let hostname = repair.container;
    try {
      hostname =
        JSON.parse(Deno.readTextFileSync(containerPaths(repair.container).config)).hostname ??
          hostname;
    } catch { /* keep the name */ }
    file.leases.push({
      address: repair.address,
      container: repair.container,
      id: repair.id,
      hostname,
      since: new Date().toISOString(),
    });
    const paths = networkPaths(repair.network);
    writeFileAtomic(paths.leases, JSON.stringify(file, null, 2) + "\n", 0o600);
    store.rewriteInPlace(paths.hosts, planHostsFile(repair.network, file.leases));
    return true;
  });
}

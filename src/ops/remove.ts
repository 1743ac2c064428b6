/**
 * Removing a container, for every front end (`tsnspawn rm`, `build`'s RUN
 * steps, the Docker API's `DELETE /containers/NAME?force=&v=`): a running one is refused unless `force`, which kills it first;
 * the unit is reset so no failed unit remains; then its directory goes
 * (writable layer, init layer and config), its address lease is given
 * back, and with `volumes` its anonymous volumes (named ones stay, as with
 * docker: `tsnspawn volume rm`).
 */
import { TsnspawnError } from "../errors.ts";
import type { Systemd } from "../systemd/bus.ts";
import { SystemdCallError } from "../systemd/error.ts";
import {
  containerExists,
  containerUnit,
  loadContainer,
  removeContainerDir,
  withContainerLock,
} from "../container/state.ts";
import { isRunning } from "../systemd/unit_state.ts";
import { releaseLease } from "../network/network_store.ts";
import { removeAnonymousVolumes } from "./volume.ts";

const SIGKILL = 9;

/** Removes the container `name`; with `force` a running one is killed first. */
export async function removeContainer(
  systemd: Systemd,
  name: string,
  force: boolean,
  volumes = false,
): Promise<void> {
  const config = loadContainer(name);
  const { unit } = containerUnit(name);
  if (isRunning(await systemd.unitState(unit))) {
    if (!force) {
      throw new TsnspawnError("conflict", `container ${name}: is running`, {
        hint: `stop it first, or use 'tsnspawn rm -f ${name}'`,
      });
    }
    await systemd.killUnit(unit, "all", SIGKILL).catch(() => {});
    try {
      await systemd.stopUnit(unit);
    } catch (error) {
      // It may have ended (and been collected) since we looked: that is what we want.
      if (!(error instanceof SystemdCallError && error.isNoSuchUnit)) throw error;
    }
    await systemd.waitUntilInactive(unit);
  }
  await systemd.resetFailedUnit(unit);
  // An --rm container's cleanup may have removed it already (and released its lease).
  if (!containerExists(name)) return;
  await withContainerLock(name, () => removeContainerDir(name));
  // Networking: its address goes back to the pool, its name leaves the network's hosts file.
  if (config.bridge) releaseLease(config.bridge.network, config.id);
  // -v: its anonymous volumes too (named ones stay, as with docker).
  if (volumes) removeAnonymousVolumes(config.volumes);
}

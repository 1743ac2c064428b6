/**
 * Renaming a container, for every front end (`tsnspawn rename`, the Docker
 * API's `POST /containers/NAME/rename`, which docker-compose uses when it
 * recreates a service): its directory, its config, and its name in its
 * network's hosts file. A running container's unit is named after it
 * (tsnspawn-NAME.service), so only a stopped one is renamed; its journal
 * lines keep the name they were written under.
 */
import { TsnspawnError } from "../errors.ts";
import {
  containerUnit,
  loadContainer,
  renameContainerDir,
  withContainerLock,
  writeContainerConfig,
} from "../container/state.ts";
import { validateContainerName } from "../container/run_options.ts";
import { updateLease } from "../network/network_store.ts";
import { isRunning } from "../systemd/unit_state.ts";
import type { OpsContext } from "./context.ts";

/** Renames stopped container `name` to `newName`. */
export async function renameContainer(
  ctx: OpsContext,
  name: string,
  newName: string,
): Promise<void> {
  validateContainerName(newName);
  loadContainer(name); // not-found first
  if (newName === name) return;
  const systemd = await ctx.systemd();
  await withContainerLock(name, async () => {
    const { unit } = containerUnit(name);
    if (isRunning(await systemd.unitState(unit))) {
      throw new TsnspawnError("conflict", `container ${name}: is running`, {
        hint: `stop it first ('tsnspawn stop ${name}'): its unit is named after it`,
      });
    }
    const config = loadContainer(name);
    renameContainerDir(name, newName);
    config.name = newName;
    writeContainerConfig(config);
    if (config.bridge) updateLease(config.bridge.network, config.id, { container: newName });
    // A failed unit under the old name would otherwise stay behind.
    await systemd.resetFailedUnit(unit);
  });
}

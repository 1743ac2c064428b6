/**
 * Network operations, for every front end (`tsnspawn network
 * create|rm|connect|disconnect`, the Docker API's networks endpoints): a
 * network is a definition plus a lease store (network/network_store.ts);
 * its bridge and rules are made when its first container starts
 * (network/host_network.ts) and removed with it, which is refused while a
 * container holds an address on it.
 */
import { TsnspawnError } from "../errors.ts";
import type { NetworkConfig } from "../network/network_config.ts";
import {
  allocateLease,
  createNetwork as storeNetwork,
  ensureNetworkStored,
  leaseIsLive,
  loadNetwork,
  type NetworkRequest,
  readLeases,
  readNetworkConfig,
  releaseLease,
  removeNetworkDir,
  updateLease,
  withNetworksLockSync,
} from "../network/network_store.ts";
import { removeNetworkDevices } from "../network/host_network.ts";
import {
  containerUnit,
  loadContainer,
  withContainerLock,
  writeContainerConfig,
} from "../container/state.ts";
import { parseNetworkAlias } from "../container/run_options.ts";
import { isRunning } from "../systemd/unit_state.ts";
import type { Systemd } from "../systemd/bus.ts";
import type { OpsContext } from "./context.ts";

/** Creates a network (a subnet is picked when none is given). */
export function createNetwork(request: NetworkRequest): NetworkConfig {
  return storeNetwork(request);
}

/** Removes one network: refused while a container (running or not) holds a lease on it. */
export function removeNetwork(name: string): void {
  withNetworksLockSync(() => {
    const network = readNetworkConfig(name);
    if (!network) {
      if (name === "bridge") return; // the default network, never used: nothing to remove
      loadNetwork(name); // throws not-found
      return;
    }
    const users = readLeases(name).leases.filter(leaseIsLive);
    if (users.length > 0) {
      const list = users.slice(0, 5).map((l) => l.container).join(", ");
      throw new TsnspawnError(
        "conflict",
        `network ${name}: in use by ${users.length} container(s): ${list}${
          users.length > 5 ? ", ..." : ""
        }`,
        { hint: "remove those containers first ('tsnspawn rm -f NAME')" },
      );
    }
    removeNetworkDevices(network);
    removeNetworkDir(name);
  });
}

/**
 * Connects a stopped container to a bridge network (docker network
 * connect): a lease on it, its aliases in its hosts file. A container joins
 * one network here: one already on another is refused (disconnect it
 * first); one already on this network gets the new aliases added. A
 * running container's network namespace was set up at its start, so it
 * must be stopped first.
 */
export async function connectContainer(
  ctx: OpsContext,
  network: string,
  name: string,
  aliases: readonly string[] = [],
): Promise<void> {
  const target = loadNetwork(network);
  for (const alias of aliases) parseNetworkAlias(alias);
  const systemd = await ctx.systemd();
  await withContainerLock(name, async () => {
    const config = loadContainer(name);
    if (config.bridge?.network === target.name) {
      const merged = [...new Set([...config.bridge.aliases ?? [], ...aliases])];
      config.bridge = { ...config.bridge, ...(merged.length > 0 ? { aliases: merged } : {}) };
      writeContainerConfig(config);
      updateLease(target.name, config.id, { aliases: merged });
      return;
    }
    if (config.network !== "none") {
      const on = config.bridge?.network ?? config.network;
      throw new TsnspawnError(
        "conflict",
        `container ${name} is on network ${on}: a container joins one network here`,
        { hint: `disconnect it first ('tsnspawn network disconnect ${on} ${name}')` },
      );
    }
    await refuseRunning(systemd, name, "connect");
    const address = allocateLease(ensureNetworkStored(target.name), {
      container: name,
      id: config.id,
      hostname: config.hostname,
      ...(aliases.length > 0 ? { aliases: [...aliases] } : {}),
    });
    config.network = "bridge";
    config.bridge = {
      network: target.name,
      address,
      ...(aliases.length > 0 ? { aliases: [...aliases] } : {}),
    };
    try {
      writeContainerConfig(config);
    } catch (error) {
      releaseLease(target.name, config.id);
      throw error;
    }
  });
}

/**
 * Disconnects a stopped container from its bridge network (docker network
 * disconnect): it keeps loopback only (--network none) until connected again.
 */
export async function disconnectContainer(
  ctx: OpsContext,
  network: string,
  name: string,
): Promise<void> {
  const systemd = await ctx.systemd();
  await withContainerLock(name, async () => {
    const config = loadContainer(name);
    if (config.bridge?.network !== network) {
      throw new TsnspawnError(
        "not-found",
        `container ${name} is not connected to network ${network}`,
      );
    }
    if (config.publish?.length) {
      throw new TsnspawnError(
        "conflict",
        `container ${name} publishes ports on network ${network}: it cannot leave it`,
        { hint: "published ports need a bridge network; remove and create the container again" },
      );
    }
    await refuseRunning(systemd, name, "disconnect");
    const { id, bridge } = config;
    config.network = "none";
    delete config.bridge;
    writeContainerConfig(config);
    releaseLease(bridge.network, id);
  });
}

async function refuseRunning(systemd: Systemd, name: string, verb: string): Promise<void> {
  if (isRunning(await systemd.unitState(containerUnit(name).unit))) {
    throw new TsnspawnError(
      "conflict",
      `container ${name}: is running; its network is set up at its start`,
      { hint: `stop it, ${verb} it, then start it again` },
    );
  }
}

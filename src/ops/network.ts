/**
 * Network operations, for every front end (`tsnspawn network create|rm`,
 * the Docker API's `POST /networks/create` and `DELETE /networks/NAME`): a
 * network is a definition plus a lease store (network/network_store.ts);
 * its bridge and rules are made when its first container starts
 * (network/host_network.ts) and removed with it, which is refused while a
 * container holds an address on it.
 */
import { TsnspawnError } from "../errors.ts";
import type { NetworkConfig } from "../network/network_config.ts";
import {
  createNetwork as storeNetwork,
  leaseIsLive,
  loadNetwork,
  type NetworkRequest,
  readLeases,
  readNetworkConfig,
  removeNetworkDir,
  withNetworksLockSync,
} from "../network/network_store.ts";
import { removeNetworkDevices } from "../network/host_network.ts";

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

/**
 * `tsnspawn network create|ls|inspect|rm`: bridge networks (docker's
 * `docker network` verbs). A network is a definition plus a lease store
 * (src/network/network_store.ts); its bridge and rules are made when its
 * first container starts (src/network/host_network.ts) and removed by
 * `network rm`, which refuses while a container holds an address on it.
 */
import { TsnspawnError } from "../errors.ts";
import { formatTable } from "../format.ts";
import type { ContainerConfig } from "../container/config.ts";
import { containerPaths } from "../paths.ts";
import { describePool, gatewayOf, segmentBridgeName } from "../network/address_pool.ts";
import { formatIpv4, parseSubnet } from "../network/ipv4.ts";
import type { NetworkConfig } from "../network/network_config.ts";
import {
  createNetwork,
  type Lease,
  leaseIsLive,
  listNetworks,
  loadNetwork,
  readLeases,
  readNetworkConfig,
  removeNetworkDir,
  withNetworksLockSync,
} from "../network/network_store.ts";
import { interfaceExists, removeNetworkDevices } from "../network/host_network.ts";
import { hostInterfaceName } from "../network/link_plan.ts";
import { formatPublished } from "../network/published_ports.ts";
import type { CommandContext } from "./context.ts";

/** `network create`. */
export function createNetworkCommand(
  ctx: CommandContext,
  request: { name: string; subnet?: string; segmentPorts: number; ignore?: boolean },
): void {
  // --ignore (podman's): a declared .network's unit creates it once, then finds it.
  if (request.ignore && readNetworkConfig(request.name)) {
    ctx.print(request.name);
    return;
  }
  const config = createNetwork({
    name: request.name,
    subnet: request.subnet,
    segmentPorts: request.segmentPorts,
  });
  ctx.print(config.name);
}

function gateway(network: NetworkConfig): string {
  return formatIpv4(gatewayOf(parseSubnet(network.subnet)));
}

/** One row of `network ls`. */
interface NetworkSummary {
  name: string;
  subnet: string;
  gateway: string;
  bridge: string;
  containers: number;
  up: boolean;
}

function summarize(network: NetworkConfig): NetworkSummary {
  return {
    name: network.name,
    subnet: network.subnet,
    gateway: gateway(network),
    bridge: network.bridge,
    containers: readLeases(network.name).leases.length,
    up: interfaceExists(network.bridge),
  };
}

/** `network ls`. */
export function listNetworksCommand(
  ctx: CommandContext,
  options: { quiet: boolean; json: boolean },
): Promise<void> {
  const rows = listNetworks().map(summarize);
  if (options.quiet) {
    for (const row of rows) ctx.print(row.name);
  } else if (options.json) {
    ctx.print(JSON.stringify(rows, null, 2));
  } else {
    ctx.print(formatTable(
      ["NAME", "SUBNET", "GATEWAY", "BRIDGE", "CONTAINERS", "STATE"],
      rows.map((
        r,
      ) => [r.name, r.subnet, r.gateway, r.bridge, String(r.containers), r.up ? "up" : "down"]),
    ));
  }
  return Promise.resolve();
}

function containerConfigOf(lease: Lease): ContainerConfig | null {
  try {
    const config = JSON.parse(
      Deno.readTextFileSync(containerPaths(lease.container).config),
    ) as ContainerConfig;
    return config.id === lease.id ? config : null;
  } catch {
    return null;
  }
}

/** What `network inspect` prints for one network. */
export function describeNetwork(name: string) {
  const network = loadNetwork(name);
  const subnet = parseSubnet(network.subnet);
  const segments: string[] = [];
  if (interfaceExists(network.bridge)) {
    segments.push(network.bridge);
    for (let k = 1; interfaceExists(segmentBridgeName(network.bridge, k)); k++) {
      segments.push(segmentBridgeName(network.bridge, k));
    }
  }
  return {
    Name: network.name,
    Created: network.created,
    Subnet: network.subnet,
    Gateway: formatIpv4(gatewayOf(subnet)),
    Bridge: network.bridge,
    BridgePorts: network.segmentPorts,
    Pool: describePool(subnet, network.segmentPorts),
    Stored: readNetworkConfig(name) !== null,
    Up: segments.length > 0,
    Segments: segments,
    Containers: readLeases(network.name).leases.map((lease) => {
      const config = containerConfigOf(lease);
      return {
        Name: lease.container,
        Id: lease.id,
        Address: lease.address,
        Hostname: lease.hostname,
        Since: lease.since,
        Running: interfaceExists(hostInterfaceName(lease.id)),
        HostInterface: hostInterfaceName(lease.id),
        Ports: (config?.publish ?? []).map(formatPublished),
        Stale: config === null,
      };
    }),
  };
}

/** `network inspect`. */
export function inspectNetworksCommand(ctx: CommandContext, names: string[]): Promise<void> {
  const all = names.map(describeNetwork);
  ctx.print(JSON.stringify(names.length === 1 ? all[0] : all, null, 2));
  return Promise.resolve();
}

/** Removes one network: refused while a container (running or not) holds a lease on it. */
function removeNetwork(name: string): void {
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

/** `network rm`: like docker, goes on after an error and prints each removed name. */
export function removeNetworksCommand(ctx: CommandContext, names: string[]): number {
  let status = 0;
  for (const name of names) {
    try {
      removeNetwork(name);
      ctx.print(name);
    } catch (error) {
      if (names.length === 1) throw error;
      console.error(`tsnspawn: error: ${error instanceof Error ? error.message : error}`);
      status = 1;
    }
  }
  return status;
}

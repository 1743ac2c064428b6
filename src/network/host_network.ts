/**
 * The kernel side of bridge networks: devices (iproute2 `ip`), rules
 * (`nft`), sysctls, and the container's eth0 (ioctls, ffi/net.ts).
 *
 * Why the tools and not netlink through FFI: `ip` and `nft` are what an
 * administrator uses to look at and repair the same state, their syntax is
 * stable and documented, and nft applies a whole script as one atomic
 * transaction — a hand-written netlink/nf_tables encoder would be a large,
 * security-relevant piece of code to get exactly right. The price is a few
 * short processes per start (one `ip`, one `nft`; the shim runs them while
 * stage two is still booting, so they add little latency: bench/start_bridge.sh).
 * Inside the container's namespace the few settings (address, netmask, up,
 * default route) are ioctls, no process at all.
 *
 * Everything here is synchronous: the shim and the cleanup must not return
 * to Deno's event loop. Commands run in the calling thread's namespaces;
 * callers make sure that is the host's network namespace.
 */
import { TsnspawnError } from "../errors.ts";
import type { ContainerConfig } from "../container/config.ts";
import { containerPaths } from "../paths.ts";
import { addDefaultRoute, interfaceUp, setInterfaceAddress } from "../../ffi/net.ts";
import { gatewayOf, segmentBridgeName, segmentOf } from "./address_pool.ts";
import { formatIpv4, parseIpv4, parseSubnet, prefixMask } from "./ipv4.ts";
import {
  hostInterfaceName,
  localMac,
  planContainerLink,
  planNetworkRemoval,
  planSegment,
} from "./link_plan.ts";
import type { NetworkConfig } from "./network_config.ts";
import {
  LIST_MAPS_ARGS,
  parsePublishElements,
  planAddElements,
  planBaseRules,
  planDeleteElements,
  planDeleteTable,
  type PublishElement,
  publishElements,
} from "./nft_plan.ts";
import { findPortClash, portClashError, type PortOwner } from "./published_ports.ts";
import {
  type Lease,
  listStoredNetworks,
  loadNetwork,
  readLeases,
  readNetworkConfig,
  withNetworkLockSync,
  withNetworksLockSync,
} from "./network_store.ts";

/** Runs a tool synchronously; throws with its stderr on failure. */
function runTool(program: string, args: string[], what: string): string {
  let output: Deno.CommandOutput;
  try {
    output = new Deno.Command(program, { args, stdin: "null", stdout: "piped", stderr: "piped" })
      .outputSync();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new TsnspawnError("not-found", `${what}: ${program} is not installed`, {
        hint: "bridge networking needs iproute2 and nftables: apt-get install iproute2 nftables",
      });
    }
    throw error;
  }
  if (!output.success) {
    const stderr = new TextDecoder().decode(output.stderr).trim().split("\n")[0];
    throw new TsnspawnError(
      "system",
      `${what}: ${program} ${args.join(" ")}: ${stderr || `exit ${output.code}`}`,
    );
  }
  return new TextDecoder().decode(output.stdout);
}

/** Runs `ip LINE` for each line. */
function runIp(lines: readonly string[], what: string): void {
  for (const line of lines) runTool("ip", line.split(" "), what);
}

/** Applies an nft script as one transaction. */
function runNft(script: string, what: string): void {
  if (script.trim() !== "") runTool("nft", [script], what);
}

/** True when the device exists in the caller's network namespace (sysfs of the host). */
export function interfaceExists(name: string): boolean {
  try {
    Deno.statSync(`/sys/class/net/${name}`);
    return true;
  } catch {
    return false;
  }
}

function writeSysctl(path: string, value: string): void {
  try {
    Deno.writeTextFileSync(path, value);
  } catch (error) {
    throw new TsnspawnError("system", `sysctl ${path}: cannot set it to ${value}`, {
      cause: error,
    });
  }
}

/** The networks whose rules the base holds: every stored network. */
function ruleInputs(): { name: string; bridge: string; subnet: string }[] {
  return listStoredNetworks().map((n) => ({ name: n.name, bridge: n.bridge, subnet: n.subnet }));
}

/**
 * Makes sure the network's bridge (segment 0) and segment `segment` exist,
 * with forwarding on and route_localnet on the bridge (published ports on
 * 127.0.0.1 are DNATed out through it; the `guard` chain drops what a
 * container sends to 127/8). Takes the network lock only when something is
 * missing.
 */
export function ensureSegment(network: NetworkConfig, segment: number): void {
  const names = segment === 0
    ? [network.bridge]
    : [network.bridge, segmentBridgeName(network.bridge, segment)];
  if (names.every(interfaceExists)) return;
  withNetworkLockSync(network.name, () => {
    const subnet = parseSubnet(network.subnet);
    const lines = planSegment({
      bridge: network.bridge,
      gatewayCidr: `${formatIpv4(gatewayOf(subnet))}/${subnet.prefix}`,
      segment,
      exists: interfaceExists,
      mac: () => localMac(crypto.getRandomValues(new Uint8Array(5))),
    });
    runIp(lines, `network ${network.name}`);
    writeSysctl("/proc/sys/net/ipv4/ip_forward", "1");
    writeSysctl(`/proc/sys/net/ipv4/conf/${network.bridge}/route_localnet`, "1");
  });
}

/** Addresses of containers that are running: their host veth exists. */
function isAddressLive(address: string, leasesByAddress: Map<string, Lease>): boolean {
  const lease = leasesByAddress.get(address);
  return lease !== undefined && interfaceExists(hostInterfaceName(lease.id));
}

function allLeases(): Map<string, Lease> {
  const map = new Map<string, Lease>();
  for (const network of listStoredNetworks()) {
    for (const lease of readLeases(network.name).leases) map.set(lease.address, lease);
  }
  return map;
}

/** The published ports of running containers other than `exceptId`. */
export function runningPortOwners(exceptId: string): PortOwner[] {
  const owners: PortOwner[] = [];
  for (const lease of allLeases().values()) {
    if (lease.id === exceptId || !interfaceExists(hostInterfaceName(lease.id))) continue;
    try {
      const other = JSON.parse(
        Deno.readTextFileSync(containerPaths(lease.container).config),
      ) as ContainerConfig;
      if (other.id === lease.id && other.publish?.length) {
        owners.push({ container: other.name, ports: other.publish });
      }
    } catch { /* removed meanwhile */ }
  }
  return owners;
}

/** The publish elements currently in the kernel (none when the table is missing). */
export function listPublishElements(): PublishElement[] {
  const out: PublishElement[] = [];
  for (const args of LIST_MAPS_ARGS) {
    try {
      out.push(...parsePublishElements(runTool("nft", [...args], "list published ports")));
    } catch {
      // no table or map yet
    }
  }
  return out;
}

/** Deletes publish elements of `address` and of every container that is not running. */
export function sweepPublishElements(address: string | null): void {
  const leases = allLeases();
  const stale = listPublishElements().filter((e) =>
    e.address === address || !isAddressLive(e.address, leases)
  );
  if (stale.length === 0) return;
  try {
    runNft(planDeleteElements(stale), "remove published ports");
  } catch {
    // One may have gone meanwhile: delete one by one.
    for (const e of stale) {
      try {
        runNft(planDeleteElements([e]), "remove published port");
      } catch { /* gone */ }
    }
  }
}

/**
 * Host side of a container's start (the shim, in the host's network
 * namespace, stage two `pid` waiting): its segment, its veth pair with eth0
 * in `/proc/<pid>/ns/net`, the base rules and its published ports.
 */
export function attachContainerHost(config: ContainerConfig, pid: number): void {
  const attachment = config.bridge;
  if (!attachment) {
    throw new TsnspawnError("invalid", `container ${config.name}: bridge mode without an address`);
  }
  const network = loadNetwork(attachment.network);
  const subnet = parseSubnet(network.subnet);
  const segment = segmentOf(subnet, parseIpv4(attachment.address), network.segmentPorts);
  ensureSegment(network, segment);
  const hostIf = hostInterfaceName(config.id);
  // A pair of the previous run whose namespace the kernel is still tearing down.
  if (interfaceExists(hostIf)) {
    try {
      runIp([`link delete ${hostIf}`], `container ${config.name}`);
    } catch { /* gone meanwhile */ }
  }
  runIp(
    planContainerLink(hostIf, segmentBridgeName(network.bridge, segment), `/proc/${pid}/ns/net`),
    `container ${config.name}: veth pair`,
  );
  const ports = config.publish ?? [];
  const base = planBaseRules(ruleInputs());
  if (ports.length === 0) {
    runNft(base, "nftables rules");
    return;
  }
  withNetworksLockSync(() => {
    const clash = findPortClash(ports, runningPortOwners(config.id));
    if (clash) throw portClashError(clash);
    const add = planAddElements(publishElements(ports, attachment.address));
    try {
      runNft(base + add, "published ports");
    } catch {
      // An element of a container that died without its cleanup: sweep, retry once.
      sweepPublishElements(null);
      runNft(base + add, "published ports");
    }
  });
}

/**
 * Container side (the caller's thread in the container's network
 * namespace): lo and eth0 up, eth0's address, the default route.
 */
export function configureContainerInterface(config: ContainerConfig): void {
  const network = loadNetwork(config.bridge!.network);
  const subnet = parseSubnet(network.subnet);
  interfaceUp("lo");
  setInterfaceAddress("eth0", parseIpv4(config.bridge!.address), prefixMask(subnet.prefix));
  interfaceUp("eth0");
  addDefaultRoute(gatewayOf(subnet));
}

/**
 * Teardown after the container stopped (cleanup, any stop path): the host
 * veth (it would go with the namespace, but asynchronously), and the
 * published-port elements pointing at the container or at any container
 * no longer running. Best effort: problems are returned as messages.
 */
export function detachContainerHost(config: ContainerConfig): string[] {
  const problems: string[] = [];
  const hostIf = hostInterfaceName(config.id);
  if (interfaceExists(hostIf)) {
    try {
      runIp([`link delete ${hostIf}`], `container ${config.name}`);
    } catch (error) {
      if (interfaceExists(hostIf)) {
        problems.push(error instanceof Error ? error.message : String(error));
      }
    }
  }
  if ((config.publish ?? []).length > 0 && config.bridge) {
    try {
      withNetworksLockSync(() => sweepPublishElements(config.bridge!.address));
    } catch (error) {
      problems.push(error instanceof Error ? error.message : String(error));
    }
  }
  return problems;
}

/** Removes a network's devices and its rules (`network rm`; caller holds the networks lock). */
export function removeNetworkDevices(network: NetworkConfig): void {
  if (interfaceExists(network.bridge)) {
    const segments: number[] = [];
    for (let k = 1; interfaceExists(segmentBridgeName(network.bridge, k)); k++) segments.push(k);
    runIp(planNetworkRemoval(network.bridge, segments), `network ${network.name}`);
  }
  const others = ruleInputs().filter((n) => n.name !== network.name);
  try {
    // The last network gone: the table goes too (nothing of tsnspawn is left).
    runNft(others.length > 0 ? planBaseRules(others) : planDeleteTable(), "nftables rules");
  } catch { /* no table (nothing started since boot) or no nft */ }
}

/** Whether a stored network's bridge exists now. */
export function networkIsUp(name: string): boolean {
  const config = readNetworkConfig(name);
  return config !== null && interfaceExists(config.bridge);
}

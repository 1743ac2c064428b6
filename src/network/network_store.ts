/**
 * The network store under `<root>/networks/` (see src/paths.ts): network
 * definitions, the persistent lease store and the shared hosts file.
 *
 * Leases: `leases.json` of a network maps addresses to containers. A lease
 * is taken at `create` (so the address is known before the first start and
 * stays the same across restarts and reboots) and released by `rm` (also
 * an --rm container's cleanup). Every read-modify-write holds the network's
 * flock (`<net>/lock`, released by the kernel if the holder dies) and writes
 * by temp file + rename, so an address is never handed out twice, even by
 * concurrent `create`s. A lease whose container no longer exists (an `rm`
 * cut short after removing the directory) is stale: it is dropped when the
 * pool runs out and ignored by `network rm`.
 *
 * Synchronous on purpose: the shim and the cleanup use it and must not
 * return to the event loop.
 */
import { join } from "../path_util.ts";
import { TsnspawnError } from "../errors.ts";
import { containerPaths, networkPaths, networksDir, networksLock, tmpDir } from "../paths.ts";
import {
  ensureStore,
  listDirectoryNames,
  randomHex,
  removeTree,
  writeFileAtomic,
} from "../files.ts";
import { allocateAddress } from "./address_pool.ts";
import { planHostsFile } from "./hosts_file.ts";
import { formatIpv4, parseIpv4, parseSubnet, type Subnet } from "./ipv4.ts";
import {
  checkSubnetFree,
  DEFAULT_NETWORK,
  defaultNetworkConfig,
  type HostRoute,
  NETWORK_CONFIG_VERSION,
  type NetworkConfig,
  pickBridgeName,
  pickSubnet,
} from "./network_config.ts";

/** One lease: an address held by a container. */
export interface Lease {
  address: string;
  container: string;
  /** The container's id: a lease belongs to one container, not to a name. */
  id: string;
  hostname: string;
  /** When it was taken (ISO 8601). */
  since: string;
  /** The container's network aliases: more names in the hosts file. */
  aliases?: string[];
  /**
   * The container's `--add-host` lines: it gets a hosts file of its own
   * (the network's, then these), rewritten whenever the network's is.
   */
  extraHosts?: string[];
}

/** What `leases.json` holds. */
export interface LeaseFile {
  version: 1;
  /** The address handed out last (allocation continues after it). */
  last: string | null;
  leases: Lease[];
}

/** Holds an exclusive flock on `path` (created if missing) while `action` runs. */
export function withFileLockSync<T>(path: string, action: () => T): T {
  const file = Deno.openSync(path, { read: true, write: true, create: true, mode: 0o600 });
  try {
    file.lockSync(true);
    return action();
  } finally {
    file.close();
  }
}

/** Holds the global networks lock (network create/rm, published-port checks). */
export function withNetworksLockSync<T>(action: () => T): T {
  ensureStore();
  Deno.mkdirSync(networksDir(), { recursive: true, mode: 0o700 });
  return withFileLockSync(networksLock(), action);
}

/** Holds a network's lock (its leases, hosts file and devices). */
export function withNetworkLockSync<T>(name: string, action: () => T): T {
  return withFileLockSync(networkPaths(name).lock, action);
}

function readJson<T>(path: string): T | null {
  try {
    return JSON.parse(Deno.readTextFileSync(path)) as T;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw new TsnspawnError("invalid", `${path}: cannot be read`, { cause: error });
  }
}

/** The stored definition of a network, or null (the default network's until its first use). */
export function readNetworkConfig(name: string): NetworkConfig | null {
  return readJson<NetworkConfig>(networkPaths(name).config);
}

/**
 * The default network as it would be made now (before its first use): on
 * the first subnet of the pools no other network and no route takes.
 */
function plannedDefaultNetwork(): NetworkConfig {
  const others = listStoredNetworks().filter((n) => n.name !== DEFAULT_NETWORK);
  const inUse = [...others.map((n) => parseSubnet(n.subnet)), ...hostRoutes().map((r) => r.subnet)];
  return defaultNetworkConfig(new Date(), pickSubnet(inUse));
}

/** A network's definition; the default network's as it would be made, when not written yet. */
export function loadNetwork(name: string): NetworkConfig {
  const config = readNetworkConfig(name);
  if (config) return config;
  if (name === DEFAULT_NETWORK) return plannedDefaultNetwork();
  throw new TsnspawnError("not-found", `network ${name}: no such network`, {
    hint: "see 'tsnspawn network ls', or create it with 'tsnspawn network create " + name + "'",
  });
}

/** Names of the stored networks, sorted. */
function storedNetworkNames(): string[] {
  return listDirectoryNames(networksDir());
}

/** The stored networks (the default one only after its first use). */
export function listStoredNetworks(): NetworkConfig[] {
  return storedNetworkNames().flatMap((name) => readNetworkConfig(name) ?? []);
}

/** Every network, the default one included (even before its first use). */
export function listNetworks(): NetworkConfig[] {
  const networks = listStoredNetworks();
  if (!networks.some((n) => n.name === DEFAULT_NETWORK)) networks.unshift(plannedDefaultNetwork());
  return networks;
}

/** Writes a network's directory (config, empty leases, hosts) atomically by rename. Caller holds the networks lock. */
function writeNetworkDir(config: NetworkConfig): void {
  const final = networkPaths(config.name);
  const staging = join(tmpDir(), `network-${config.name}-${randomHex(6)}`);
  try {
    Deno.mkdirSync(staging, { mode: 0o700 });
    writeFileAtomic(join(staging, "config.json"), JSON.stringify(config, null, 2) + "\n");
    const leases: LeaseFile = { version: 1, last: null, leases: [] };
    writeFileAtomic(join(staging, "leases.json"), JSON.stringify(leases, null, 2) + "\n");
    Deno.writeTextFileSync(join(staging, "hosts"), planHostsFile(config.name, []), { mode: 0o644 });
    Deno.writeTextFileSync(join(staging, "lock"), "");
    Deno.renameSync(staging, final.dir);
  } catch (error) {
    removeTree(staging);
    if (
      error instanceof Deno.errors.AlreadyExists || /not empty|os error 39/i.test(String(error))
    ) {
      throw new TsnspawnError("conflict", `network ${config.name}: already exists`, {
        hint: "see 'tsnspawn network ls'",
      });
    }
    throw error;
  }
}

/** Makes sure the default network's definition is stored (first use). */
export function ensureNetworkStored(name: string): NetworkConfig {
  const stored = readNetworkConfig(name);
  if (stored) return stored;
  if (name !== DEFAULT_NETWORK) return loadNetwork(name); // throws not-found
  return withNetworksLockSync(() => {
    const again = readNetworkConfig(name);
    if (again) return again;
    // Its subnet is chosen now, free of the host's routes and other networks.
    const config = plannedDefaultNetwork();
    writeNetworkDir(config);
    return config;
  });
}

/**
 * IPv4 routes of the host (from /proc/net/route: hex little-endian
 * destination and mask), without the default route and without our own
 * bridges' routes.
 */
export function parseProcNetRoute(text: string): { device: string; subnet: Subnet }[] {
  const routes: { device: string; subnet: Subnet }[] = [];
  for (const line of text.split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 8) continue;
    const le = (hex: string) => {
      const n = parseInt(hex, 16);
      return (((n & 255) << 24) | (((n >>> 8) & 255) << 16) | (((n >>> 16) & 255) << 8) |
        (n >>> 24)) >>> 0;
    };
    const address = le(fields[1]);
    const mask = le(fields[7]);
    if (mask === 0) continue;
    const prefix = Math.clz32(~mask >>> 0); // a contiguous mask: its leading ones
    routes.push({ device: fields[0], subnet: { address: (address & mask) >>> 0, prefix } });
  }
  return routes;
}

/** The host's routes but our own bridges' (other networks are checked by their definitions). */
function hostRoutes(): HostRoute[] {
  let text = "";
  try {
    text = Deno.readTextFileSync("/proc/net/route");
  } catch { /* no IPv4 */ }
  return parseProcNetRoute(text).filter((r) => !r.device.startsWith("tsn"));
}

/** What `network create` asks for. */
export interface NetworkRequest {
  name: string;
  /** CIDR; undefined = pick a free /16. */
  subnet?: string;
  segmentPorts: number;
  labels?: Record<string, string>;
}

/** Creates a network's definition (no devices yet: they are made on first use). */
export function createNetwork(request: NetworkRequest, now = new Date()): NetworkConfig {
  return withNetworksLockSync(() => {
    if (readNetworkConfig(request.name)) {
      throw new TsnspawnError("conflict", `network ${request.name}: already exists`, {
        hint: "see 'tsnspawn network ls'",
      });
    }
    const others = listStoredNetworks().filter((n) => n.name !== request.name);
    const routes = hostRoutes();
    const subnet = request.subnet !== undefined
      ? parseSubnet(request.subnet)
      : pickSubnet([...others.map((n) => parseSubnet(n.subnet)), ...routes.map((r) => r.subnet)]);
    checkSubnetFree(subnet, others, routes);
    const config: NetworkConfig = {
      version: NETWORK_CONFIG_VERSION,
      name: request.name,
      created: now.toISOString(),
      subnet: `${formatIpv4(subnet.address)}/${subnet.prefix}`,
      bridge: request.name === DEFAULT_NETWORK
        ? "tsn0"
        : pickBridgeName(new Set(others.map((n) => n.bridge))),
      segmentPorts: request.segmentPorts,
      ...(request.labels && Object.keys(request.labels).length > 0
        ? { labels: { ...request.labels } }
        : {}),
    };
    writeNetworkDir(config);
    return config;
  });
}

/** Removes a network's directory (caller checked it is unused and holds the networks lock). */
export function removeNetworkDir(name: string): void {
  const trash = join(tmpDir(), `network-remove-${name}-${randomHex(6)}`);
  try {
    Deno.renameSync(networkPaths(name).dir, trash);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  removeTree(trash);
}

/** A network's leases (empty when it has none yet). */
export function readLeases(name: string): LeaseFile {
  return readJson<LeaseFile>(networkPaths(name).leases) ?? { version: 1, last: null, leases: [] };
}

/** True when the container a lease was taken for still exists. */
export function leaseIsLive(lease: Lease): boolean {
  try {
    const config = JSON.parse(Deno.readTextFileSync(containerPaths(lease.container).config)) as {
      id?: string;
    };
    return config.id === lease.id;
  } catch {
    return false;
  }
}

/**
 * Rewrites a file in place (same inode: it is bind-mounted into
 * containers): the new text from offset 0, then truncated to its length.
 */
export function rewriteInPlace(path: string, text: string): void {
  const bytes = new TextEncoder().encode(text);
  const file = Deno.openSync(path, { read: true, write: true, create: true, mode: 0o644 });
  try {
    let written = 0;
    while (written < bytes.length) written += file.writeSync(bytes.subarray(written));
    file.truncateSync(bytes.length);
  } finally {
    file.close();
  }
}

function writeLeases(name: string, leases: LeaseFile): void {
  const paths = networkPaths(name);
  writeFileAtomic(paths.leases, JSON.stringify(leases, null, 2) + "\n", 0o600);
  const text = planHostsFile(name, leases.leases);
  rewriteInPlace(paths.hosts, text);
  for (const lease of leases.leases) {
    if (!lease.extraHosts?.length) continue;
    const own = containerPaths(lease.container).hosts;
    try {
      Deno.statSync(own); // only an existing container's file: create writes its first one
      rewriteInPlace(own, withExtraHosts(text, lease.extraHosts));
    } catch { /* being created or removed */ }
  }
}

/** A network's hosts text followed by a container's `--add-host` lines (`NAME:ADDRESS`). */
export function withExtraHosts(text: string, extraHosts: readonly string[]): string {
  return text + extraHosts.map((entry) => {
    const colon = entry.indexOf(":");
    return `${entry.slice(colon + 1)}\t${entry.slice(0, colon)}\n`;
  }).join("");
}

/** The current text of a network's shared hosts file. */
export function readNetworkHosts(name: string): string {
  return planHostsFile(name, readLeases(name).leases);
}

/** What a lease is taken for. */
export interface LeaseRequest {
  container: string;
  id: string;
  hostname: string;
  aliases?: string[];
  extraHosts?: string[];
}

/** Leases an address on `network` for a container (idempotent per container id). */
export function allocateLease(
  network: NetworkConfig,
  request: LeaseRequest,
  now = new Date(),
): string {
  ensureNetworkStored(network.name);
  return withNetworkLockSync(network.name, () => {
    const file = readLeases(network.name);
    const mine = file.leases.find((l) => l.id === request.id);
    if (mine) return mine.address;
    const subnet = parseSubnet(network.subnet);
    const pick = () =>
      allocateAddress(
        subnet,
        network.segmentPorts,
        new Set(file.leases.map((l) => parseIpv4(l.address))),
        file.last === null ? null : parseIpv4(file.last),
      );
    let address: number;
    try {
      address = pick();
    } catch (error) {
      // Full: drop stale leases (their containers are gone) and try again.
      const live = file.leases.filter(leaseIsLive);
      if (live.length === file.leases.length) throw error;
      file.leases = live;
      address = pick();
    }
    const text = formatIpv4(address);
    file.leases.push({ address: text, ...request, since: now.toISOString() });
    file.last = text;
    writeLeases(network.name, file);
    return text;
  });
}

/**
 * Changes what the lease of container `id` on `network` says about it: its
 * name (rename) or its aliases; the hosts file follows. Missing is fine.
 */
export function updateLease(
  network: string,
  id: string,
  change: { container?: string; aliases?: string[] },
): void {
  if (!readNetworkConfig(network)) return;
  withNetworkLockSync(network, () => {
    const file = readLeases(network);
    const lease = file.leases.find((l) => l.id === id);
    if (!lease) return;
    if (change.container !== undefined) lease.container = change.container;
    if (change.aliases !== undefined) {
      if (change.aliases.length > 0) lease.aliases = change.aliases;
      else delete lease.aliases;
    }
    writeLeases(network, file);
  });
}

/** Releases the lease of container `id` on `network` (missing is fine). */
export function releaseLease(network: string, id: string): void {
  if (!readNetworkConfig(network)) return;
  withNetworkLockSync(network, () => {
    const file = readLeases(network);
    const kept = file.leases.filter((l) => l.id !== id);
    if (kept.length === file.leases.length) return;
    writeLeases(network, { ...file, leases: kept });
  });
}

/**
 * A bridge network's definition, written once by `network create` (or
 * implicitly for the default network) to `<root>/networks/<name>/config.json`
 * and read by the CLI, the shim and the cleanup. Pure: the type, the
 * defaults, name validation and the choice of a subnet and bridge name for
 * a new network.
 */
import { TsnspawnError } from "../errors.ts";
import { DEFAULT_SEGMENT_PORTS } from "./address_pool.ts";
import { formatSubnet, parseSubnet, type Subnet, subnetsOverlap } from "./ipv4.ts";

/** Version of the network config.json schema. */
export const NETWORK_CONFIG_VERSION = 1;

/** What a network's `config.json` holds. */
export interface NetworkConfig {
  version: typeof NETWORK_CONFIG_VERSION;
  /** Validated name. */
  name: string;
  /** Creation time, ISO 8601. */
  created: string;
  /** IPv4 subnet in CIDR notation; the first host address is the gateway. */
  subnet: string;
  /** Name of the network's bridge (segment 0), `tsn<N>`. */
  bridge: string;
  /** Container ports per bridge segment (see address_pool.ts). */
  segmentPorts: number;
  /** `network create --label`; absent = none. */
  labels?: Record<string, string>;
}

/** The default network: `--network bridge`, and what `run` uses without --network. */
export const DEFAULT_NETWORK = "bridge";
/** The default network's subnet unless it was created with another one first. */
export const DEFAULT_SUBNET = "10.88.0.0/16";
/** The default network's bridge. */
export const DEFAULT_BRIDGE = "tsn0";
/** Subnets handed to `network create` without --subnet: 10.89.0.0/16, 10.90.0.0/16, ... */
export const AUTO_SUBNET_FIRST = "10.89.0.0/16";
/** Last /16 tried for automatic subnets (10.254.0.0/16). */
const AUTO_SUBNET_LAST_OCTET = 254;

/** Names that are network modes, not networks. */
export const RESERVED_NETWORK_NAMES = ["none", "host", "default"];

/** Network names: like container names, at most 32 characters. */
const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,31}$/;

/** Validates a network name (before any path is built from it). */
export function validateNetworkName(name: string): string {
  if (!NETWORK_NAME.test(name)) {
    throw new TsnspawnError("invalid", `network name ${JSON.stringify(name)}: not a valid name`, {
      hint: "use 1 to 32 letters, digits, '_', '.' or '-', starting with a letter or digit",
    });
  }
  if (RESERVED_NETWORK_NAMES.includes(name)) {
    throw new TsnspawnError(
      "invalid",
      `network name ${name}: reserved for the network mode of that name`,
    );
  }
  return name;
}

/** The default network's definition (before it is written on first use). */
export function defaultNetworkConfig(created: Date): NetworkConfig {
  return {
    version: NETWORK_CONFIG_VERSION,
    name: DEFAULT_NETWORK,
    created: created.toISOString(),
    subnet: DEFAULT_SUBNET,
    bridge: DEFAULT_BRIDGE,
    segmentPorts: DEFAULT_SEGMENT_PORTS,
  };
}

/** The first free bridge name `tsn<N>` (N ≥ 1; tsn0 is the default network's). */
export function pickBridgeName(taken: ReadonlySet<string>): string {
  for (let n = 1;; n++) {
    const name = `tsn${n}`;
    if (!taken.has(name)) return name;
  }
}

/**
 * Picks a subnet for a new network: the first /16 from 10.89.0.0/16 on that
 * overlaps neither another network nor a route of the host (`inUse`).
 */
export function pickSubnet(inUse: readonly Subnet[]): Subnet {
  const first = parseSubnet(AUTO_SUBNET_FIRST);
  for (let octet = (first.address >>> 16) & 255; octet <= AUTO_SUBNET_LAST_OCTET; octet++) {
    const candidate = { address: ((10 << 24) | (octet << 16)) >>> 0, prefix: 16 };
    if (!inUse.some((s) => subnetsOverlap(s, candidate))) return candidate;
  }
  throw new TsnspawnError("conflict", "no free subnet in 10.89.0.0 to 10.254.255.255", {
    hint: "give one with --subnet",
  });
}

/** Refuses a subnet that overlaps another network's or a host route's. */
export function checkSubnetFree(
  subnet: Subnet,
  networks: readonly NetworkConfig[],
  hostRoutes: readonly Subnet[],
): void {
  for (const other of networks) {
    if (subnetsOverlap(subnet, parseSubnet(other.subnet))) {
      throw new TsnspawnError(
        "conflict",
        `subnet ${formatSubnet(subnet)}: overlaps network ${other.name} (${other.subnet})`,
        { hint: "choose another --subnet" },
      );
    }
  }
  for (const route of hostRoutes) {
    if (subnetsOverlap(subnet, route)) {
      throw new TsnspawnError(
        "conflict",
        `subnet ${formatSubnet(subnet)}: overlaps the host's route to ${formatSubnet(route)}`,
        { hint: "choose another --subnet" },
      );
    }
  }
}

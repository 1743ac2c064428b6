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
/** The default network's bridge. */
export const DEFAULT_BRIDGE = "tsn0";

/**
 * Where subnets come from when none is given (the default network at its
 * first use, `network create` without --subnet): docker's default address
 * pools, in docker's order — 172.17.0.0/16 to 172.31.0.0/16, then
 * 192.168.0.0/16 in /20s. A subnet another network or a route of the host
 * covers is skipped, so that tsnspawn never takes a range that podman
 * (10.88.0.0/16), docker or the LAN already routes.
 */
export const ADDRESS_POOLS: readonly { base: string; size: number }[] = [
  { base: "172.17.0.0/16", size: 16 },
  { base: "172.18.0.0/16", size: 16 },
  { base: "172.19.0.0/16", size: 16 },
  { base: "172.20.0.0/14", size: 16 }, // 172.20 … 172.23
  { base: "172.24.0.0/14", size: 16 }, // 172.24 … 172.27
  { base: "172.28.0.0/14", size: 16 }, // 172.28 … 172.31
  { base: "192.168.0.0/16", size: 20 },
];

/** Every subnet of {@link ADDRESS_POOLS}, in order. */
export function* poolSubnets(): Generator<Subnet> {
  for (const pool of ADDRESS_POOLS) {
    const base = parseSubnet(pool.base);
    const count = 2 ** (pool.size - base.prefix);
    const step = 2 ** (32 - pool.size);
    for (let i = 0; i < count; i++) {
      yield { address: (base.address + i * step) >>> 0, prefix: pool.size };
    }
  }
}

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

/** The default network's definition, with the subnet picked for it (written on first use). */
export function defaultNetworkConfig(created: Date, subnet: Subnet): NetworkConfig {
  return {
    version: NETWORK_CONFIG_VERSION,
    name: DEFAULT_NETWORK,
    created: created.toISOString(),
    subnet: formatSubnet(subnet),
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
 * Picks a subnet for a new network: the first of {@link ADDRESS_POOLS} that
 * overlaps neither another network nor a route of the host (`inUse`).
 */
export function pickSubnet(inUse: readonly Subnet[]): Subnet {
  for (const candidate of poolSubnets()) {
    if (!inUse.some((s) => subnetsOverlap(s, candidate))) return candidate;
  }
  throw new TsnspawnError(
    "conflict",
    "no free subnet left in 172.17.0.0–172.31.255.255 and 192.168.0.0/16",
    { hint: "give one with --subnet" },
  );
}

/** A route of the host: where it leads, and through which device. */
export interface HostRoute {
  device: string;
  subnet: Subnet;
}

/** Refuses a subnet that overlaps another network's or a host route's. */
export function checkSubnetFree(
  subnet: Subnet,
  networks: readonly NetworkConfig[],
  hostRoutes: readonly HostRoute[],
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
    if (subnetsOverlap(subnet, route.subnet)) {
      throw new TsnspawnError(
        "conflict",
        `subnet ${formatSubnet(subnet)}: overlaps the host's route to ${
          formatSubnet(route.subnet)
        } (${route.device}); containers there could not reach it, nor it them`,
        { hint: "choose another --subnet, or leave it out to get a free one" },
      );
    }
  }
}

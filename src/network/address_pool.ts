/**
 * Address pool and bridge segments of a network. Pure.
 *
 * Addresses: the first host address of the subnet is the gateway (on the
 * network's bridge); containers get the others, up to the last one before
 * the broadcast address. Allocation hands out the first free address after
 * the last one handed out (wrapping), so a released address is not reused
 * at once (stale ARP entries of its peers expire first), and never an
 * address that is leased.
 *
 * Segments: a Linux bridge holds at most 1,023 ports (BR_MAX_PORTS = 1024,
 * port 0 reserved: net/bridge/br_if.c find_portno). A network therefore
 * spreads its containers over bridge *segments* of `segmentPorts` container
 * ports each: segment 0 is the network's bridge itself (it holds the
 * gateway address); segment k ≥ 1 is a bridge `<bridge>s<k>` joined to
 * segment 0 by a veth pair (`<bridge>l<k>` on segment 0, `<bridge>l<k>p` on
 * segment k). All segments form one layer-2 domain (a star: no loops, no
 * STP needed), so every container reaches every other and the gateway
 * directly. A container's segment follows from its address
 * (offset / segmentPorts), so no extra state is kept. Segment 0 then has
 * segmentPorts container ports plus one port per other segment: at most
 * 1,024 − segmentPorts segments (24 with the default of 1,000 ports, i.e.
 * 24,000 containers; a /16 has 65,533 addresses).
 */
import { TsnspawnError } from "../errors.ts";
import { broadcastOf, formatIpv4, formatSubnet, type Subnet } from "./ipv4.ts";

/** Ports a Linux bridge can hold (BR_MAX_PORTS − the reserved port 0). */
export const BRIDGE_MAX_PORTS = 1023;

/** Container ports per bridge segment by default. */
export const DEFAULT_SEGMENT_PORTS = 1000;

/** The gateway (first host address) of a subnet. */
export function gatewayOf(subnet: Subnet): number {
  return subnet.address + 1;
}

/** First and last address containers may get. */
export function poolRange(subnet: Subnet): { first: number; last: number } {
  return { first: subnet.address + 2, last: broadcastOf(subnet) - 1 };
}

/** How many bridge segments a network may have with `segmentPorts` per segment. */
export function maxSegments(segmentPorts: number): number {
  return BRIDGE_MAX_PORTS - segmentPorts + 1;
}

/** How many containers a network can hold: pool size, capped by the segments. */
export function networkCapacity(subnet: Subnet, segmentPorts: number): number {
  const { first, last } = poolRange(subnet);
  return Math.min(last - first + 1, maxSegments(segmentPorts) * segmentPorts);
}

/** The segment (0 = the network's bridge) a container address belongs to. */
export function segmentOf(subnet: Subnet, address: number, segmentPorts: number): number {
  return Math.floor((address - poolRange(subnet).first) / segmentPorts);
}

/** Name of segment `k` of the bridge `bridge` (segment 0 is the bridge). */
export function segmentBridgeName(bridge: string, k: number): string {
  return k === 0 ? bridge : `${bridge}s${k}`;
}

/** The veth pair joining segment `k` ≥ 1 to segment 0: [end on segment 0, end on segment k]. */
export function segmentLinkNames(bridge: string, k: number): [string, string] {
  return [`${bridge}l${k}`, `${bridge}l${k}p`];
}

/**
 * Picks the address for a new lease: the first address after `cursor` (the
 * last one handed out; null = none yet) that is not in `leased`, wrapping
 * around once. Throws when the network is full.
 */
export function allocateAddress(
  subnet: Subnet,
  segmentPorts: number,
  leased: ReadonlySet<number>,
  cursor: number | null,
): number {
  const { first } = poolRange(subnet);
  const size = networkCapacity(subnet, segmentPorts);
  const start = cursor === null || cursor < first || cursor >= first + size
    ? 0
    : cursor - first + 1;
  for (let i = 0; i < size; i++) {
    const candidate = first + ((start + i) % size);
    if (!leased.has(candidate)) return candidate;
  }
  throw new TsnspawnError(
    "conflict",
    `network subnet ${formatSubnet(subnet)}: all ${size} addresses are leased`,
    {
      hint:
        "remove containers, or use a network with a larger subnet (tsnspawn network create --subnet)",
    },
  );
}

/** Describes the pool for `network inspect`. */
export function describePool(subnet: Subnet, segmentPorts: number): {
  first: string;
  last: string;
  capacity: number;
} {
  const { first } = poolRange(subnet);
  const capacity = networkCapacity(subnet, segmentPorts);
  return { first: formatIpv4(first), last: formatIpv4(first + capacity - 1), capacity };
}

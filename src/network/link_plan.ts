/**
 * Network devices of a bridge network and its containers, as `ip -batch`
 * lines (iproute2). Pure.
 *
 * Per network: the bridge `tsn<N>` (segment 0) with the gateway address and
 * a fixed MAC (a bridge otherwise takes the lowest MAC of its ports, and the
 * containers' ARP entries for the gateway would go stale as ports come and
 * go); segment bridges and their links as address_pool.ts describes.
 *
 * Per container: a veth pair created in one netlink request, the host end
 * `tsnv<11 hex of the container id>` on its segment's bridge and up, the
 * other end created directly in the container's network namespace as
 * `eth0` (`peer name eth0 netns /proc/PID/ns/net`: it is never visible on
 * the host under a temporary name). The pair dies with the namespace.
 *
 * Man pages: ip-link(8) ("veth", "bridge", "-batch"), ip-address(8).
 */
import { segmentBridgeName, segmentLinkNames } from "./address_pool.ts";

/** Host-side interface name of a container (IFNAMSIZ: at most 15 characters). */
export function hostInterfaceName(containerId: string): string {
  return `tsnv${containerId.slice(0, 11)}`;
}

/** A locally administered unicast MAC from 5 random bytes. */
export function localMac(random: Uint8Array): string {
  return ["02", ...Array.from(random.slice(0, 5), (b) => b.toString(16).padStart(2, "0"))].join(
    ":",
  );
}

/** What {@link planSegment} needs. */
export interface SegmentInput {
  bridge: string;
  /** The gateway address with its prefix length, e.g. 10.88.0.1/16. */
  gatewayCidr: string;
  /** Segment to make sure of (0 = the bridge). */
  segment: number;
  /** Whether a device exists on the host. */
  exists: (name: string) => boolean;
  /** MAC for a new bridge. */
  mac: () => string;
}

/**
 * Lines creating whatever of segment 0 and segment `segment` is missing.
 * Bridges have STP off and forward delay 0: ports forward at once.
 */
export function planSegment(input: SegmentInput): string[] {
  const { bridge, segment, exists } = input;
  const lines: string[] = [];
  const addBridge = (name: string) =>
    lines.push(
      `link add name ${name} address ${input.mac()} type bridge stp_state 0 forward_delay 0`,
    );
  if (!exists(bridge)) {
    addBridge(bridge);
    lines.push(`address add ${input.gatewayCidr} dev ${bridge}`, `link set ${bridge} up`);
  }
  if (segment > 0) {
    const name = segmentBridgeName(bridge, segment);
    if (!exists(name)) {
      addBridge(name);
      lines.push(`link set ${name} up`);
    }
    const [near, far] = segmentLinkNames(bridge, segment);
    if (!exists(near)) {
      lines.push(
        `link add name ${near} master ${bridge} up type veth peer name ${far}`,
        `link set ${far} master ${name} up`,
      );
    }
  }
  return lines;
}

/** Lines creating a container's veth pair (see module comment). */
export function planContainerLink(
  hostInterface: string,
  segmentBridge: string,
  netnsPath: string,
): string[] {
  return [
    `link add name ${hostInterface} master ${segmentBridge} up type veth peer name eth0 netns ${netnsPath}`,
  ];
}

/** Lines deleting a network's bridges and links (`segments` = existing segment numbers ≥ 1). */
export function planNetworkRemoval(bridge: string, segments: readonly number[]): string[] {
  const lines: string[] = [];
  for (const k of segments) {
    lines.push(
      `link delete ${segmentLinkNames(bridge, k)[0]}`,
      `link delete ${segmentBridgeName(bridge, k)}`,
    );
  }
  lines.push(`link delete ${bridge}`);
  return lines;
}

import { assert, assertEquals, assertThrows } from "@std/assert";
import { TsnspawnError } from "../errors.ts";
import {
  allocateAddress,
  BRIDGE_MAX_PORTS,
  DEFAULT_SEGMENT_PORTS,
  gatewayOf,
  maxSegments,
  networkCapacity,
  poolRange,
  segmentBridgeName,
  segmentLinkNames,
  segmentOf,
} from "./address_pool.ts";
import { formatIpv4, parseIpv4, parseSubnet } from "./ipv4.ts";

const subnet = parseSubnet("10.88.0.0/16");

Deno.test("address pool: gateway first, containers after it, never the broadcast", () => {
  assertEquals(formatIpv4(gatewayOf(subnet)), "10.88.0.1");
  const { first, last } = poolRange(subnet);
  assertEquals([formatIpv4(first), formatIpv4(last)], ["10.88.0.2", "10.88.255.254"]);
  assertEquals(formatIpv4(allocateAddress(subnet, 1000, new Set(), null)), "10.88.0.2");
});

Deno.test("address pool: continues after the last one, skips leased ones, wraps", () => {
  const small = parseSubnet("10.1.0.0/29"); // .2 to .6
  const leased = new Set([parseIpv4("10.1.0.3"), parseIpv4("10.1.0.4")]);
  assertEquals(formatIpv4(allocateAddress(small, 1000, leased, parseIpv4("10.1.0.2"))), "10.1.0.5");
  assertEquals(formatIpv4(allocateAddress(small, 1000, leased, parseIpv4("10.1.0.6"))), "10.1.0.2");
  const full = new Set([2, 3, 4, 5, 6].map((n) => parseIpv4(`10.1.0.${n}`)));
  assertThrows(
    () => allocateAddress(small, 1000, full, null),
    TsnspawnError,
    "all 5 addresses are leased",
  );
});

Deno.test("address pool: 1,500 containers on one network fit on two bridge segments", () => {
  const leased = new Set<number>();
  let cursor: number | null = null;
  const perSegment = new Map<number, number>();
  for (let i = 0; i < 1500; i++) {
    const address = allocateAddress(subnet, DEFAULT_SEGMENT_PORTS, leased, cursor);
    assert(!leased.has(address), "never handed out twice");
    leased.add(address);
    cursor = address;
    const segment = segmentOf(subnet, address, DEFAULT_SEGMENT_PORTS);
    perSegment.set(segment, (perSegment.get(segment) ?? 0) + 1);
  }
  assertEquals([...perSegment.entries()], [[0, 1000], [1, 500]]);
  // Bridge ports: segment 0 holds its containers plus one link per other segment.
  const links = perSegment.size - 1;
  assert(perSegment.get(0)! + links <= BRIDGE_MAX_PORTS);
  for (const [k, n] of perSegment) if (k > 0) assert(n + 1 <= BRIDGE_MAX_PORTS);
  assertEquals(segmentBridgeName("tsn0", 0), "tsn0");
  assertEquals(segmentBridgeName("tsn0", 1), "tsn0s1");
  assertEquals(segmentLinkNames("tsn0", 1), ["tsn0l1", "tsn0l1p"]);
});

Deno.test("address pool: capacity is capped by the bridge segments", () => {
  assertEquals(maxSegments(1000), 24);
  assertEquals(networkCapacity(subnet, 1000), 24_000);
  assertEquals(networkCapacity(parseSubnet("10.88.0.0/24"), 1000), 253);
  assertEquals(networkCapacity(subnet, 2), 2 * 1022);
  // No segment ever exceeds the bridge limit, whatever the size.
  for (const ports of [1, 2, 500, 1000, 1022]) {
    const segments = maxSegments(ports);
    assert(ports + (segments - 1) <= BRIDGE_MAX_PORTS, `${ports}`);
    const last = poolRange(subnet).first + networkCapacity(subnet, ports) - 1;
    assert(segmentOf(subnet, last, ports) < segments);
  }
});

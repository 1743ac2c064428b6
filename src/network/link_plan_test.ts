import { assertEquals } from "@std/assert";
import {
  hostInterfaceName,
  localMac,
  planContainerLink,
  planNetworkRemoval,
  planSegment,
} from "./link_plan.ts";

const input = (existing: string[], segment: number) => ({
  bridge: "tsn1",
  gatewayCidr: "10.89.0.1/16",
  segment,
  exists: (name: string) => existing.includes(name),
  mac: () => "02:00:00:00:00:01",
});

Deno.test("link plan: first use creates the bridge with the gateway", () => {
  assertEquals(planSegment(input([], 0)), [
    "link add name tsn1 address 02:00:00:00:00:01 type bridge stp_state 0 forward_delay 0",
    "address add 10.89.0.1/16 dev tsn1",
    "link set tsn1 up",
  ]);
  assertEquals(planSegment(input(["tsn1"], 0)), []);
});

Deno.test("link plan: a new segment is a bridge joined to segment 0 by a veth pair", () => {
  assertEquals(planSegment(input(["tsn1"], 2)), [
    "link add name tsn1s2 address 02:00:00:00:00:01 type bridge stp_state 0 forward_delay 0",
    "link set tsn1s2 up",
    "link add name tsn1l2 master tsn1 up type veth peer name tsn1l2p",
    "link set tsn1l2p master tsn1s2 up",
  ]);
  assertEquals(planSegment(input(["tsn1", "tsn1s2", "tsn1l2"], 2)), []);
  assertEquals(planNetworkRemoval("tsn1", [1, 2]), [
    "link delete tsn1l1",
    "link delete tsn1s1",
    "link delete tsn1l2",
    "link delete tsn1s2",
    "link delete tsn1",
  ]);
});

Deno.test("link plan: the container's pair, eth0 made in its namespace", () => {
  const name = hostInterfaceName("0123456789abcdef0123");
  assertEquals(name, "tsnv0123456789a");
  assertEquals(name.length <= 15, true);
  assertEquals(planContainerLink(name, "tsn0s1", "/proc/42/ns/net"), [
    "link add name tsnv0123456789a master tsn0s1 up type veth peer name eth0 netns /proc/42/ns/net",
  ]);
  assertEquals(localMac(new Uint8Array([1, 2, 3, 4, 255])), "02:01:02:03:04:ff");
});

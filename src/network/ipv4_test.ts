import { assertEquals, assertThrows } from "@std/assert";
import { TsnspawnError } from "../errors.ts";
import {
  broadcastOf,
  formatIpv4,
  formatSubnet,
  parseIpv4,
  parseSubnet,
  prefixMask,
  subnetContains,
  subnetsOverlap,
  tryParseIpv4,
} from "./ipv4.ts";

Deno.test("ipv4: dotted quads round-trip", () => {
  for (const text of ["0.0.0.0", "10.88.0.1", "255.255.255.255", "192.168.1.254"]) {
    assertEquals(formatIpv4(parseIpv4(text)), text);
  }
  for (
    const bad of [
      "",
      "1.2.3",
      "1.2.3.4.5",
      "256.1.1.1",
      "01.2.3.4",
      "a.b.c.d",
      "1..2.3",
      " 1.2.3.4",
    ]
  ) {
    assertEquals(tryParseIpv4(bad), null, bad);
  }
  assertThrows(() => parseIpv4("x", "gateway"), TsnspawnError, 'gateway "x": not an IPv4 address');
});

Deno.test("ipv4: subnets parse, format, contain and overlap", () => {
  const s = parseSubnet("10.88.0.0/16");
  assertEquals(formatSubnet(s), "10.88.0.0/16");
  assertEquals(formatIpv4(broadcastOf(s)), "10.88.255.255");
  assertEquals(formatIpv4(prefixMask(16)), "255.255.0.0");
  assertEquals(subnetContains(s, parseIpv4("10.88.3.4")), true);
  assertEquals(subnetContains(s, parseIpv4("10.89.0.1")), false);
  assertEquals(subnetsOverlap(s, parseSubnet("10.0.0.0/8")), true);
  assertEquals(subnetsOverlap(s, parseSubnet("10.89.0.0/16")), false);
  assertThrows(() => parseSubnet("10.88.0.1/16"), TsnspawnError, "host bits are set");
  assertThrows(() => parseSubnet("10.88.0.0/31"), TsnspawnError, "prefix length");
  assertThrows(() => parseSubnet("10.88.0.0"), TsnspawnError, "CIDR");
});

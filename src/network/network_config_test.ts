import { assertEquals, assertThrows } from "@std/assert";
import { TsnspawnError } from "../errors.ts";
import { formatSubnet, parseSubnet } from "./ipv4.ts";
import {
  checkSubnetFree,
  defaultNetworkConfig,
  pickBridgeName,
  pickSubnet,
  poolSubnets,
  validateNetworkName,
} from "./network_config.ts";
import { parseProcNetRoute } from "./network_store.ts";

Deno.test("network config: names", () => {
  assertEquals(validateNetworkName("app-net_1.x"), "app-net_1.x");
  for (const bad of ["", "-x", "a/b", "x".repeat(33), "none", "host", "default"]) {
    assertThrows(() => validateNetworkName(bad), TsnspawnError, undefined, bad);
  }
});

Deno.test("network config: bridge names and automatic subnets in docker's pool order", () => {
  assertEquals(pickBridgeName(new Set(["tsn0", "tsn1", "tsn3"])), "tsn2");
  assertEquals(formatSubnet(pickSubnet([])), "172.17.0.0/16");
  // A route or network anywhere in a /16 takes it out.
  assertEquals(
    formatSubnet(pickSubnet([parseSubnet("172.17.0.0/16"), parseSubnet("172.18.4.0/24")])),
    "172.19.0.0/16",
  );
  const pool = [...poolSubnets()].map(formatSubnet);
  assertEquals(pool.slice(0, 3), ["172.17.0.0/16", "172.18.0.0/16", "172.19.0.0/16"]);
  assertEquals(pool[14], "172.31.0.0/16");
  assertEquals(pool.slice(15, 17), ["192.168.0.0/20", "192.168.16.0/20"]);
  assertEquals(pool.length, 15 + 16);
  // All of 172.16.0.0/12 routed (a VPN): 192.168.x next.
  assertEquals(formatSubnet(pickSubnet([parseSubnet("172.16.0.0/12")])), "192.168.0.0/20");
  assertThrows(
    () => pickSubnet([parseSubnet("172.16.0.0/12"), parseSubnet("192.168.0.0/16")]),
    TsnspawnError,
    "no free subnet",
  );
  const networks = [defaultNetworkConfig(new Date(0), parseSubnet("172.17.0.0/16"))];
  assertThrows(
    () => checkSubnetFree(parseSubnet("172.17.1.0/24"), networks, []),
    TsnspawnError,
    "overlaps network bridge",
  );
  const lan = { device: "eth0", subnet: parseSubnet("192.168.1.0/24") };
  assertThrows(
    () => checkSubnetFree(parseSubnet("192.168.0.0/16"), [], [lan]),
    TsnspawnError,
    "overlaps the host's route to 192.168.1.0/24 (eth0)",
  );
  checkSubnetFree(parseSubnet("10.100.0.0/16"), networks, [lan]);
});

Deno.test("network config: /proc/net/route", () => {
  const text =
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n" +
    "eth0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n" +
    "eth0\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n" +
    "tsn0\t0000580A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n";
  assertEquals(
    parseProcNetRoute(text).map((r) => `${r.device} ${formatSubnet(r.subnet)}`),
    ["eth0 192.168.1.0/24", "tsn0 10.88.0.0/16"],
  );
});

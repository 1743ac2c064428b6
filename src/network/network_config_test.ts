import { assertEquals, assertThrows } from "@std/assert";
import { TsnspawnError } from "../errors.ts";
import { formatSubnet, parseSubnet } from "./ipv4.ts";
import {
  checkSubnetFree,
  defaultNetworkConfig,
  pickBridgeName,
  pickSubnet,
  validateNetworkName,
} from "./network_config.ts";
import { parseProcNetRoute } from "./network_store.ts";

Deno.test("network config: names", () => {
  assertEquals(validateNetworkName("app-net_1.x"), "app-net_1.x");
  for (const bad of ["", "-x", "a/b", "x".repeat(33), "none", "host", "default"]) {
    assertThrows(() => validateNetworkName(bad), TsnspawnError, undefined, bad);
  }
});

Deno.test("network config: bridge names and automatic subnets", () => {
  assertEquals(pickBridgeName(new Set(["tsn0", "tsn1", "tsn3"])), "tsn2");
  assertEquals(formatSubnet(pickSubnet([])), "10.89.0.0/16");
  assertEquals(
    formatSubnet(pickSubnet([parseSubnet("10.89.0.0/16"), parseSubnet("10.90.4.0/24")])),
    "10.91.0.0/16",
  );
  const networks = [defaultNetworkConfig(new Date(0))];
  assertThrows(
    () => checkSubnetFree(parseSubnet("10.88.1.0/24"), networks, []),
    TsnspawnError,
    "overlaps network bridge",
  );
  assertThrows(
    () => checkSubnetFree(parseSubnet("192.168.0.0/16"), [], [parseSubnet("192.168.1.0/24")]),
    TsnspawnError,
    "host's route",
  );
  checkSubnetFree(parseSubnet("10.100.0.0/16"), networks, [parseSubnet("192.168.1.0/24")]);
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

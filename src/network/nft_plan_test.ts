import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import {
  LIST_MAPS_ARGS,
  parsePublishElements,
  planAddElements,
  planBaseRules,
  planDeleteElements,
  publishElements,
} from "./nft_plan.ts";
import { parsePublish } from "./published_ports.ts";

Deno.test("nft: everything is in table inet tsnspawn", () => {
  const script = planBaseRules([
    { name: "bridge", bridge: "tsn0", subnet: "10.88.0.0/16" },
    { name: "app", bridge: "tsn1", subnet: "10.89.0.0/16" },
  ]);
  for (const line of script.trim().split("\n")) {
    assert(/^(add|flush) (table|chain|map|rule) inet tsnspawn\b/.test(line), line);
  }
  // Chains are flushed before rules are added: applying twice gives the same rules.
  const lines = script.trim().split("\n");
  const lastFlush = lines.findLastIndex((l) => l.startsWith("flush"));
  const firstRule = lines.findIndex((l) => l.startsWith("add rule"));
  assert(lastFlush < firstRule);
  assertStringIncludes(
    script,
    `chain inet tsnspawn output { type nat hook output priority -100; policy accept; }`,
  );
  assertStringIncludes(script, `postrouting ip saddr 10.89.0.0/16 oifname != "tsn1" masquerade`);
  assertStringIncludes(
    script,
    `postrouting oifname "tsn0" ct status dnat ip saddr { 127.0.0.0/8, 10.88.0.0/16 } masquerade`,
  );
  assertStringIncludes(script, `forward iifname "tsn1" oifname "tsn*" oifname != "tsn1" drop`);
  assertStringIncludes(script, `guard iifname "tsn*" ip daddr 127.0.0.0/8 drop`);
  assertEquals(planBaseRules([]).includes("masquerade"), false);
});

Deno.test("nft: published ports are map elements", () => {
  const elements = publishElements([
    ...parsePublish("8080:80"),
    ...parsePublish("127.0.0.1:53:5353/udp"),
  ], "10.88.0.5");
  assertEquals(
    planAddElements(elements),
    "add element inet tsnspawn publish-any { tcp . 8080 : 10.88.0.5 . 80 }\n" +
      "add element inet tsnspawn publish-addr { 127.0.0.1 . udp . 53 : 10.88.0.5 . 5353 }\n",
  );
  assertEquals(
    planDeleteElements(elements),
    "delete element inet tsnspawn publish-any { tcp . 8080 }\n" +
      "delete element inet tsnspawn publish-addr { 127.0.0.1 . udp . 53 }\n",
  );
  assertEquals(LIST_MAPS_ARGS[0], ["-j", "list", "map", "inet", "tsnspawn", "publish-addr"]);
});

Deno.test("nft: parses nft -j list map (nft 1.0.6 output)", () => {
  const any =
    `{"nftables": [{"metainfo": {"version": "1.0.6"}}, {"map": {"family": "inet", "name": "publish-any", "table": "tsnspawn", "type": ["inet_proto", "inet_service"], "handle": 6, "map": "ipv4_addr . inet_service", "elem": [[{"concat": ["tcp", 8080]}, {"concat": ["10.88.0.5", 80]}]]}}]}`;
  const addr =
    `{"nftables": [{"metainfo": {"version": "1.0.6"}}, {"map": {"family": "inet", "name": "publish-addr", "table": "tsnspawn", "type": ["ipv4_addr", "inet_proto", "inet_service"], "handle": 7, "map": "ipv4_addr . inet_service", "elem": [[{"concat": ["127.0.0.1", "udp", 53]}, {"concat": ["10.88.0.5", 53]}]]}}]}`;
  const empty = `{"nftables": [{"metainfo": {}}, {"map": {"name": "publish-any"}}]}`;
  assertEquals(parsePublishElements(any), [{
    hostIp: "",
    protocol: "tcp",
    hostPort: 8080,
    address: "10.88.0.5",
    containerPort: 80,
  }]);
  assertEquals(parsePublishElements(addr), [{
    hostIp: "127.0.0.1",
    protocol: "udp",
    hostPort: 53,
    address: "10.88.0.5",
    containerPort: 53,
  }]);
  assertEquals(parsePublishElements(empty), []);
});

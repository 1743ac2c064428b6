/**
 * The nftables rules of tsnspawn, as `nft -f` scripts. Pure.
 *
 * Everything lives in one table of our own, `table inet tsnspawn`; no other
 * table or chain is touched (nft evaluates every table's base chains at a
 * hook: an accept in ours never overrides a drop in someone else's, e.g. the
 * host firewall's). Base chains (hook, priority):
 *
 * | chain         | hook        | priority        | rules |
 * |---------------|-------------|-----------------|-------|
 * | `guard`       | prerouting  | raw (-300)      | drop packets from our bridges to 127.0.0.0/8 (route_localnet is on for them; CVE-2020-8558) |
 * | `prerouting`  | prerouting  | dstnat (-100)   | DNAT of published ports: traffic to a local address (`fib daddr type local`) |
 * | `output`      | output      | -100 (dstnat)   | the same for connections made by the host itself (127.0.0.1:8080 too) |
 * | `postrouting` | postrouting | srcnat (100)    | masquerade a network's traffic leaving through another interface; masquerade DNATed connections from 127.0.0.0/8 or from the network itself (hairpin) |
 * | `forward`     | forward     | filter (0)      | isolation: drop routed traffic from one network's bridge to another's, except published ports |
 *
 * Published ports are two maps, so adding and removing them is an element
 * operation keyed by what the packet carries (no rule handles to track):
 * `publish-addr` (host address . protocol . port → container address . port)
 * for `-p IP:H:C`, and `publish-any` (protocol . port → ...) for `-p H:C`.
 *
 * Host firewall: DNATed traffic is *forwarded* traffic: it passes the forward
 * hook (where the host firewall's forward chains still decide: with a
 * forward policy of drop, published ports stay closed until the firewall
 * allows them) and never the input hook. To filter published ports, match
 * `ct status dnat` / `ct original proto-dst` in your forward chain, or publish
 * on 127.0.0.1 only (`-p 127.0.0.1:8080:80`).
 *
 * Base chains are flushed and refilled in the same transaction (`nft -f` is
 * atomic), so applying the base again is idempotent and never leaves a
 * half-written state; the maps keep their elements.
 *
 * Man pages: nft(8) ("CHAINS", "SETS", "MAPS", "NAT STATEMENTS").
 */
import type { PublishedPort } from "../container/config.ts";

/** The table: family and name. */
export const NFT_TABLE = "inet tsnspawn";

/** The base chains: name → declaration. */
const BASE_CHAINS: readonly [name: string, declaration: string][] = [
  ["guard", "type filter hook prerouting priority raw; policy accept;"],
  ["prerouting", "type nat hook prerouting priority dstnat; policy accept;"],
  ["output", "type nat hook output priority -100; policy accept;"],
  ["postrouting", "type nat hook postrouting priority srcnat; policy accept;"],
  ["forward", "type filter hook forward priority filter; policy accept;"],
];

/** The published-port maps: name → declaration. */
const MAPS: readonly [name: string, declaration: string][] = [
  ["publish-addr", "type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service;"],
  ["publish-any", "type inet_proto . inet_service : ipv4_addr . inet_service;"],
];

/** What the base rules need to know of a network. */
export interface NetworkRuleInput {
  name: string;
  bridge: string;
  subnet: string;
}

/** nft string literal (names are validated; quotes are still escaped). */
function quote(text: string): string {
  return `"${text.replace(/["\\]/g, "")}"`;
}

/** The DNAT rules of `prerouting` and `output`. */
function dnatRules(chain: string): string[] {
  const head =
    `add rule ${NFT_TABLE} ${chain} meta nfproto ipv4 meta l4proto { tcp, udp } fib daddr type local`;
  return [
    `${head} dnat ip addr . port to ip daddr . meta l4proto . th dport map @publish-addr`,
    `${head} dnat ip addr . port to meta l4proto . th dport map @publish-any`,
  ];
}

/**
 * The whole base: table, chains, maps (created if missing), every base chain
 * flushed and refilled for `networks`. One atomic transaction.
 */
export function planBaseRules(networks: readonly NetworkRuleInput[]): string {
  const lines = [`add table ${NFT_TABLE}`];
  for (const [name, declaration] of BASE_CHAINS) {
    lines.push(`add chain ${NFT_TABLE} ${name} { ${declaration} }`);
  }
  for (const [name, declaration] of MAPS) {
    lines.push(`add map ${NFT_TABLE} ${name} { ${declaration} }`);
  }
  for (const [name] of BASE_CHAINS) lines.push(`flush chain ${NFT_TABLE} ${name}`);
  const sorted = [...networks].sort((a, b) => a.bridge.localeCompare(b.bridge));
  lines.push(
    `add rule ${NFT_TABLE} guard iifname "tsn*" ip daddr 127.0.0.0/8 drop comment "no container reaches the host's loopback"`,
    ...dnatRules("prerouting"),
    ...dnatRules("output"),
    `add rule ${NFT_TABLE} forward ct status dnat accept comment "published ports: the host firewall's forward chains decide"`,
  );
  for (const n of sorted) {
    const bridge = quote(n.bridge);
    const comment = quote(`network ${n.name}`);
    lines.push(
      `add rule ${NFT_TABLE} postrouting ip saddr ${n.subnet} oifname != ${bridge} masquerade comment ${comment}`,
      `add rule ${NFT_TABLE} postrouting oifname ${bridge} ct status dnat ip saddr { 127.0.0.0/8, ${n.subnet} } masquerade comment ${comment}`,
      `add rule ${NFT_TABLE} forward iifname ${bridge} oifname "tsn*" oifname != ${bridge} drop comment ${comment}`,
    );
  }
  return lines.join("\n") + "\n";
}

/** Deletes the whole table (when the last network is gone). */
export function planDeleteTable(): string {
  return `delete table ${NFT_TABLE}\n`;
}

/** One element of the publish maps. */
export interface PublishElement {
  /** "" for publish-any. */
  hostIp: string;
  protocol: "tcp" | "udp";
  hostPort: number;
  /** The container's address and port (the map's value). */
  address: string;
  containerPort: number;
}

/** The elements publishing `ports` of the container at `address`. */
export function publishElements(
  ports: readonly PublishedPort[],
  address: string,
): PublishElement[] {
  return ports.map((p) => ({
    hostIp: p.hostIp,
    protocol: p.protocol,
    hostPort: p.hostPort,
    address,
    containerPort: p.containerPort,
  }));
}

function elementKey(e: PublishElement): string {
  return e.hostIp ? `${e.hostIp} . ${e.protocol} . ${e.hostPort}` : `${e.protocol} . ${e.hostPort}`;
}

function mapOf(e: PublishElement): string {
  return e.hostIp ? "publish-addr" : "publish-any";
}

/**
 * Adds elements. `add` (not `create`): an identical element (ours, left by
 * a crash) is accepted, one with the same key but another value is refused
 * by the kernel (EBUSY/EEXIST), so the transaction fails on a clash.
 */
export function planAddElements(elements: readonly PublishElement[]): string {
  return elements.map((e) =>
    `add element ${NFT_TABLE} ${mapOf(e)} { ${
      elementKey(e)
    } : ${e.address} . ${e.containerPort} }\n`
  ).join("");
}

/** Deletes elements by key. */
export function planDeleteElements(elements: readonly PublishElement[]): string {
  return elements.map((e) => `delete element ${NFT_TABLE} ${mapOf(e)} { ${elementKey(e)} }\n`).join(
    "",
  );
}

/** The `nft -j list map` commands for both maps. */
export const LIST_MAPS_ARGS: readonly string[][] = MAPS.map(([name]) => [
  "-j",
  "list",
  "map",
  ...NFT_TABLE.split(" "),
  name,
]);

type JsonValue = string | number | { concat: JsonValue[] } | JsonValue[];

/** Parses the output of `nft -j list map inet tsnspawn publish-*` into elements. */
export function parsePublishElements(json: string): PublishElement[] {
  const parsed = JSON.parse(json) as {
    nftables?: { map?: { name: string; elem?: JsonValue[][] } }[];
  };
  const out: PublishElement[] = [];
  for (const entry of parsed.nftables ?? []) {
    const map = entry.map;
    if (!map || !map.elem) continue;
    for (const pair of map.elem) {
      const key = (pair[0] as { concat: (string | number)[] }).concat;
      const value = (pair[1] as { concat: (string | number)[] }).concat;
      if (!key || !value) continue;
      const withAddr = map.name === "publish-addr";
      out.push({
        hostIp: withAddr ? String(key[0]) : "",
        protocol: String(key[withAddr ? 1 : 0]) as "tcp" | "udp",
        hostPort: Number(key[withAddr ? 2 : 1]),
        address: String(value[0]),
        containerPort: Number(value[1]),
      });
    }
  }
  return out;
}

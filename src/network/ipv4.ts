/**
 * IPv4 addresses and subnets as plain numbers (unsigned 32-bit), parsed and
 * formatted in dotted-quad / CIDR notation. Pure.
 *
 * RFC 791 (addresses), RFC 4632 (CIDR), RFC 1918 (private space).
 */
import { TsnspawnError } from "../errors.ts";

/** A subnet: its network address (host bits zero) and prefix length. */
export interface Subnet {
  address: number;
  prefix: number;
}

/** Shortest and longest prefix a tsnspawn network may have. */
export const MIN_PREFIX = 8;
export const MAX_PREFIX = 29;

function invalid(thing: string, text: string, detail: string, hint?: string): TsnspawnError {
  return new TsnspawnError("invalid", `${thing} ${JSON.stringify(text)}: ${detail}`, { hint });
}

/** Parses a dotted quad (`10.88.0.1`) into a number; null when malformed. */
export function tryParseIpv4(text: string): number | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255) return null;
    value = value * 256 + Number(part);
  }
  return value;
}

/** Parses a dotted quad; throws a clean error naming `thing`. */
export function parseIpv4(text: string, thing = "address"): number {
  const value = tryParseIpv4(text);
  if (value === null) throw invalid(thing, text, "not an IPv4 address", "e.g. 10.88.0.1");
  return value;
}

/** Formats a number as a dotted quad. */
export function formatIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join(".");
}

/** The netmask of a prefix length as a number (`16` → 255.255.0.0). */
export function prefixMask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/**
 * Parses `A.B.C.D/N` (N from {@link MIN_PREFIX} to {@link MAX_PREFIX}); the
 * host bits must be zero, as `ip route` would show the subnet.
 */
export function parseSubnet(text: string): Subnet {
  const hint = "give a subnet in CIDR notation, e.g. 10.89.0.0/16";
  const match = /^([0-9.]+)\/(\d{1,2})$/.exec(text);
  if (!match) throw invalid("subnet", text, "not in CIDR notation", hint);
  const address = tryParseIpv4(match[1]);
  if (address === null) throw invalid("subnet", text, "not an IPv4 address", hint);
  const prefix = Number(match[2]);
  if (prefix < MIN_PREFIX || prefix > MAX_PREFIX) {
    throw invalid(
      "subnet",
      text,
      `the prefix length must be from ${MIN_PREFIX} to ${MAX_PREFIX}`,
      hint,
    );
  }
  if ((address & ~prefixMask(prefix)) >>> 0 !== 0) {
    const network = formatIpv4((address & prefixMask(prefix)) >>> 0);
    throw invalid("subnet", text, "host bits are set", `did you mean ${network}/${prefix}?`);
  }
  return { address, prefix };
}

/** Formats a subnet as `A.B.C.D/N`. */
export function formatSubnet(subnet: Subnet): string {
  return `${formatIpv4(subnet.address)}/${subnet.prefix}`;
}

/** The broadcast address of a subnet. */
export function broadcastOf(subnet: Subnet): number {
  return (subnet.address | ~prefixMask(subnet.prefix)) >>> 0;
}

/** True when `address` lies in `subnet`. */
export function subnetContains(subnet: Subnet, address: number): boolean {
  return ((address & prefixMask(subnet.prefix)) >>> 0) === subnet.address;
}

/** True when two subnets share an address. */
export function subnetsOverlap(a: Subnet, b: Subnet): boolean {
  const prefix = Math.min(a.prefix, b.prefix);
  const mask = prefixMask(prefix);
  return ((a.address & mask) >>> 0) === ((b.address & mask) >>> 0);
}

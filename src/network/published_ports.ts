/**
 * Published ports: `-p [IP:]HOSTPORT:CTRPORT[/tcp|udp]` with ranges
 * (`8080-8081:80-81`), formatting for `list`/`inspect`, and clash detection.
 * Pure.
 *
 * Syntax as docker's (docs.docker.com "docker run --publish") and every
 * form quadlet's PublishPort= documents: `IP:HOST:CTR`, `IP::CTR` and `CTR`
 * (a random host port, picked at create: {@link pickHostPorts}),
 * `HOST:CTR`, `:HOST:CTR`, ranges, `/tcp` or `/udp`. IPv4 only: an IPv6
 * host address (`[::1]:80:80`) is refused, as tsnspawn's networks are
 * IPv4; a host range must be as long as the container range.
 */
import { TsnspawnError } from "../errors.ts";
import type { PublishedPort } from "../container/config.ts";
import { formatIpv4, tryParseIpv4 } from "./ipv4.ts";

/** Most ports one `-p` may publish (a range). */
export const MAX_PORTS_PER_OPTION = 1024;

const USAGE =
  "use -p [IP:]HOSTPORT:CTRPORT[/tcp|udp], e.g. -p 8080:80 or -p 127.0.0.1:8080-8081:80-81/udp";

function invalid(text: string, detail: string, hint = USAGE): TsnspawnError {
  return new TsnspawnError("invalid", `published port ${JSON.stringify(text)}: ${detail}`, {
    hint,
  });
}

/** Parses `N` or `N-M` → [first, last]. */
function parseRange(text: string, whole: string, side: string): [number, number] {
  const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  if (!match) throw invalid(whole, `${side} port ${JSON.stringify(text)} is not a port or a range`);
  const first = Number(match[1]);
  const last = match[2] === undefined ? first : Number(match[2]);
  for (const port of [first, last]) {
    if (port < 1 || port > 65535) {
      throw invalid(whole, `${side} port ${port} is not from 1 to 65535`);
    }
  }
  if (last < first) throw invalid(whole, `${side} range ${text} ends before it starts`);
  return [first, last];
}

/** Parses one `-p` value into one entry per port. */
export function parsePublish(text: string): PublishedPort[] {
  let spec = text;
  let protocol: "tcp" | "udp" = "tcp";
  const slash = spec.lastIndexOf("/");
  if (slash !== -1) {
    const proto = spec.slice(slash + 1).toLowerCase();
    if (proto !== "tcp" && proto !== "udp") {
      throw invalid(text, `protocol ${JSON.stringify(spec.slice(slash + 1))} is not tcp or udp`);
    }
    protocol = proto;
    spec = spec.slice(0, slash);
  }
  if (spec.startsWith("[")) {
    throw invalid(
      text,
      "IPv6 host addresses are not supported: tsnspawn's networks are IPv4 only",
      "publish on an IPv4 address, or on all (no address)",
    );
  }
  const parts = spec.split(":");
  // `CTR` alone: a random host port.
  if (parts.length === 1) parts.unshift("");
  if (parts.length > 3) throw invalid(text, "too many ':'");
  let hostIp = "";
  if (parts.length === 3) {
    const ip = parts[0];
    if (ip !== "" && ip !== "0.0.0.0") {
      const value = tryParseIpv4(ip);
      if (value === null) {
        throw invalid(text, `host address ${JSON.stringify(ip)} is not an IPv4 address`);
      }
      hostIp = formatIpv4(value);
    }
    parts.shift();
  }
  const [ctrFirst, ctrLast] = parseRange(parts[1], text, "container");
  const count = ctrLast - ctrFirst + 1;
  if (count > MAX_PORTS_PER_OPTION) throw invalid(text, `more than ${MAX_PORTS_PER_OPTION} ports`);
  // No host port: random ones (hostPort 0 until create picks them).
  const [hostFirst, hostLast] = parts[0] === ""
    ? [0, count - 1]
    : parseRange(parts[0], text, "host");
  if (hostLast - hostFirst + 1 !== count) {
    throw invalid(text, "the host range and the container range differ in length");
  }
  const ports: PublishedPort[] = [];
  for (let i = 0; i < count; i++) {
    ports.push({
      hostIp,
      hostPort: hostFirst === 0 ? 0 : hostFirst + i,
      containerPort: ctrFirst + i,
      protocol,
    });
  }
  return ports;
}

/** The ephemeral port range random host ports come from (ip_local_port_range's default). */
export const RANDOM_PORT_RANGE: readonly [number, number] = [32768, 60999];

/**
 * Picks a host port for each published port that has none (hostPort 0):
 * a random one from `range` that `taken` does not hold (ports other
 * containers publish, with the protocol) and `isFree` accepts (nothing on
 * the host listens there). Pure but for `random` and `isFree`.
 */
export function pickHostPorts(
  ports: readonly PublishedPort[],
  taken: ReadonlySet<string>,
  isFree: (port: number, protocol: "tcp" | "udp") => boolean,
  range: readonly [number, number] = RANDOM_PORT_RANGE,
  random: () => number = Math.random,
): PublishedPort[] {
  const used = new Set(taken);
  return ports.map((port) => {
    if (port.hostPort !== 0) return port;
    const size = range[1] - range[0] + 1;
    const start = Math.floor(random() * size);
    for (let i = 0; i < size; i++) {
      const candidate = range[0] + ((start + i) % size);
      const key = `${candidate}/${port.protocol}`;
      if (used.has(key) || !isFree(candidate, port.protocol)) continue;
      used.add(key);
      return { ...port, hostPort: candidate };
    }
    throw new TsnspawnError(
      "conflict",
      `published port ${port.containerPort}/${port.protocol}: no free host port left`,
      {
        hint: "publish on a host port of your choice",
      },
    );
  });
}

/** Formats a port as `list`/`inspect` show it: `0.0.0.0:8080->80/tcp`. */
export function formatPublished(port: PublishedPort): string {
  return `${port.hostIp || "0.0.0.0"}:${port.hostPort}->${port.containerPort}/${port.protocol}`;
}

/** Formats a port back to `-p` syntax (parsePublish ∘ formatPublishOption = identity). */
export function formatPublishOption(port: PublishedPort): string {
  if (port.hostPort === 0) {
    return `${port.hostIp ? `${port.hostIp}::` : ""}${port.containerPort}/${port.protocol}`;
  }
  return `${
    port.hostIp ? `${port.hostIp}:` : ""
  }${port.hostPort}:${port.containerPort}/${port.protocol}`;
}

/** True when two published ports would take the same host traffic. */
export function portsClash(a: PublishedPort, b: PublishedPort): boolean {
  return a.protocol === b.protocol && a.hostPort === b.hostPort &&
    (a.hostIp === "" || b.hostIp === "" || a.hostIp === b.hostIp);
}

/** A container's published ports, for clash checks. */
export interface PortOwner {
  container: string;
  ports: readonly PublishedPort[];
}

/** The first clash of `wanted` with another owner's ports (or itself), or null. */
export function findPortClash(
  wanted: readonly PublishedPort[],
  owners: readonly PortOwner[],
): { port: PublishedPort; owner: string; theirs: PublishedPort } | null {
  for (let i = 0; i < wanted.length; i++) {
    for (let j = 0; j < i; j++) {
      if (portsClash(wanted[i], wanted[j])) {
        return { port: wanted[i], owner: "", theirs: wanted[j] };
      }
    }
    for (const owner of owners) {
      const theirs = owner.ports.find((p) => portsClash(wanted[i], p));
      if (theirs) return { port: wanted[i], owner: owner.container, theirs };
    }
  }
  return null;
}

/** The error for a clash found by {@link findPortClash}. */
export function portClashError(
  clash: NonNullable<ReturnType<typeof findPortClash>>,
): TsnspawnError {
  const { port, owner, theirs } = clash;
  if (owner === "") {
    return new TsnspawnError(
      "invalid",
      `published port ${formatPublished(port)}: given twice (also as ${formatPublished(theirs)})`,
      { hint: "publish each host port once" },
    );
  }
  return new TsnspawnError(
    "conflict",
    `published port ${
      formatPublished(port)
    }: host port ${port.hostPort}/${port.protocol} is already published by container ${owner} (${
      formatPublished(theirs)
    })`,
    { hint: `stop ${owner}, or publish another host port` },
  );
}

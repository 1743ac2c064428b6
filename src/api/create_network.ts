/**
 * The network part of `POST /containers/create` (pure): `HostConfig.NetworkMode`,
 * `Config.NetworkDisabled`, `NetworkingConfig.EndpointsConfig`, published
 * and exposed ports, DNS settings and extra hosts → `--network`,
 * `--network-alias`, `--publish`, `--publish-all`, `--expose`, `--dns*` and
 * `--add-host`.
 *
 * Docker's names: the CLI sends NetworkMode "default" (tsnspawn's "bridge")
 * with an endpoint named "default"; compose sends its network's name for
 * both. A container joins one network here (docker ≥ 1.44 takes several at
 * create: refused). Aliases are for user networks only (moby's 400
 * "network-scoped alias is supported only for containers in user defined
 * networks"). Port bindings become `-p [IP:]HOST:CTR/PROTO`; an empty or
 * "0" host port means "any" (`-p [IP::]CTR/PROTO`), a host port range or an
 * IPv6 address is refused.
 *
 * References: Docker Engine API v1.44 (HostConfig, NetworkingConfig,
 * EndpointSettings, PortBinding); moby v28.2.2 daemon/create.go
 * (validateNetworkingConfig); research notes
 * /work/shared/research/docker-api.md §2 (the create bodies), §4 (compose).
 */
import { type BodyReader, isZeroValue } from "./body_fields.ts";
import { badRequest, unsupportedField } from "./errors.ts";
import type { PlanBuilder } from "./create_types.ts";

/** Network modes that are not a network's name. */
const DEFAULT_MODES = new Set(["", "default", "bridge"]);

/** Parses a port key: `80/tcp`, `53/udp`, `80` (tcp). */
export function parsePortKey(
  field: string,
  key: string,
): { port: number; protocol: "tcp" | "udp" } {
  const match = /^(\d{1,5})(?:\/([a-z]+))?$/.exec(key);
  const port = match ? Number(match[1]) : NaN;
  const protocol = match?.[2] ?? "tcp";
  if (!match || port < 1 || port > 65535) {
    throw badRequest(`${field}: invalid port ${JSON.stringify(key)}`, 'ports look like "80/tcp"');
  }
  if (protocol !== "tcp" && protocol !== "udp") {
    throw unsupportedField(field, key, `protocol ${protocol}: only tcp and udp are published`);
  }
  return { port, protocol };
}

/** `HostIp` → the CLI's form ("" for every address); IPv6 is refused. */
function hostAddress(field: string, ip: string): string {
  if (ip === "" || ip === "0.0.0.0") return "";
  if (ip.includes(":")) {
    throw unsupportedField(field, ip, "published ports are IPv4 only", 'use "" or an IPv4 address');
  }
  return ip;
}

/**
 * `NetworkMode`, `NetworkDisabled` and the endpoints. Returns the network
 * the container joins ("bridge", "none", "host" or a name).
 */
export function mapNetwork(
  config: BodyReader,
  host: BodyReader,
  networking: BodyReader,
  plan: PlanBuilder,
): string {
  const mode = host.string("NetworkMode") ?? "";
  let network: string;
  if (DEFAULT_MODES.has(mode)) network = "bridge";
  else if (mode.startsWith("container:")) {
    throw unsupportedField(
      host.name("NetworkMode"),
      mode,
      "joining another container's network namespace is not supported",
      "put both on one user network instead",
    );
  } else network = mode;
  if (config.boolean("NetworkDisabled")) {
    if (network !== "bridge" && network !== "none") {
      throw badRequest(`Config.NetworkDisabled conflicts with HostConfig.NetworkMode ${mode}`);
    }
    network = "none";
  }
  if (network !== "bridge") plan.options.push(`--network=${network}`);

  const endpoints = networking.child("EndpointsConfig");
  networking.finish("tsnspawn does not know this field");
  const names = endpoints.unread().map(([name]) => name);
  if (names.length > 1) {
    throw unsupportedField(
      endpoints.path,
      names,
      "a container joins one network here",
      "use one network per container",
    );
  }
  for (const name of names) {
    const joins = network === "bridge" ? DEFAULT_MODES.has(name) : name === network;
    if (!joins) {
      throw unsupportedField(
        endpoints.name(name),
        {},
        `a container joins the network of HostConfig.NetworkMode (${mode || "default"}) only`,
      );
    }
    mapEndpoint(endpoints.child(name), network, plan);
  }
  return network;
}

/** One endpoint: aliases taken, static addresses and links refused, output fields ignored. */
function mapEndpoint(endpoint: BodyReader, network: string, plan: PlanBuilder): void {
  const aliases = readEndpointSettings(endpoint);
  if (aliases.length > 0 && (network === "bridge" || network === "none" || network === "host")) {
    throw badRequest(
      `${
        endpoint.name("Aliases")
      }: network-scoped alias is supported only for containers in user defined networks`,
    );
  }
  for (const alias of aliases) plan.options.push(`--network-alias=${alias}`);
}

/**
 * An `EndpointSettings` (a create's `NetworkingConfig`, a connect's
 * `EndpointConfig`): its aliases; static addresses, links, MAC addresses,
 * driver options and a gateway priority refused; the output-only fields
 * (the CLI sends them empty; moby ignores them) ignored.
 */
export function readEndpointSettings(endpoint: BodyReader): string[] {
  const aliases = endpoint.strings("Aliases") ?? [];
  endpoint.defaultOnly("IPAMConfig", "static addresses are not supported: addresses are leased");
  endpoint.defaultOnly("Links", "links are not supported", isZeroValue, "use a user network");
  endpoint.defaultOnly("MacAddress", "MAC addresses are not chosen by the client");
  endpoint.defaultOnly("DriverOpts", "network driver options are not supported");
  endpoint.defaultOnly("GwPriority", "a container has one network, so one gateway");
  endpoint.ignore(
    "NetworkID",
    "EndpointID",
    "Gateway",
    "IPAddress",
    "IPPrefixLen",
    "IPv6Gateway",
    "GlobalIPv6Address",
    "GlobalIPv6PrefixLen",
    "DNSNames",
  );
  endpoint.finish("tsnspawn does not know this field");
  return aliases;
}

/**
 * `ExposedPorts` → `--expose` (what `-P` publishes), `PortBindings` →
 * `--publish` (no host port: `-p [IP::]PORT`, a random one picked at
 * create), `PublishAllPorts` → `--publish-all`. Returns PublishAllPorts.
 */
export function mapPorts(config: BodyReader, host: BodyReader, plan: PlanBuilder): boolean {
  const exposed = config.child("ExposedPorts");
  for (const [key] of exposed.unread()) {
    exposed.value(key);
    const { port, protocol } = parsePortKey(exposed.name(key), key);
    plan.options.push(`--expose=${port}/${protocol}`);
  }
  const bindings = host.child("PortBindings");
  for (const [key] of bindings.unread()) {
    const field = bindings.name(key);
    const { port, protocol } = parsePortKey(field, key);
    for (const binding of bindings.objects(key)) {
      const ip = hostAddress(binding.name("HostIp"), binding.string("HostIp") ?? "");
      const hostPort = binding.string("HostPort") ?? "";
      binding.finish("tsnspawn does not know this field");
      if (hostPort === "" || hostPort === "0") {
        plan.options.push(`--publish=${ip === "" ? "" : `${ip}::`}${port}/${protocol}`);
      } else if (/^\d{1,5}$/.test(hostPort)) {
        plan.options.push(`--publish=${ip === "" ? "" : `${ip}:`}${hostPort}:${port}/${protocol}`);
      } else {
        throw unsupportedField(
          binding.name("HostPort"),
          hostPort,
          "a host port range for one container port is not supported",
          "give one host port, or none for any",
        );
      }
    }
  }
  const publishAll = host.boolean("PublishAllPorts") ?? false;
  if (publishAll) plan.options.push("--publish-all");
  return publishAll;
}

/** `Dns`, `DnsSearch`, `DnsOptions` → `--dns*`; `ExtraHosts` → `--add-host`. */
export function mapNames(host: BodyReader, plan: PlanBuilder): void {
  for (const server of host.strings("Dns") ?? []) plan.options.push(`--dns=${server}`);
  for (const domain of host.strings("DnsSearch") ?? []) plan.options.push(`--dns-search=${domain}`);
  for (const option of host.strings("DnsOptions") ?? []) {
    plan.options.push(`--dns-option=${option}`);
  }
  for (const entry of host.strings("ExtraHosts") ?? []) {
    // "host:ip" (an IPv6 address keeps its colons) or, since 1.44, "host=ip".
    const match = /^([^:=\s]+)[:=](\S+)$/.exec(entry);
    if (!match) {
      throw badRequest(
        `${host.name("ExtraHosts")}: invalid entry ${JSON.stringify(entry)}`,
        'use "host:address"',
      );
    }
    plan.options.push(`--add-host=${match[1]}=${match[2]}`);
  }
}

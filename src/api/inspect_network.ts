/**
 * Networks in Docker's JSON, and `POST /networks/create` mapped onto
 * tsnspawn's network create (pure).
 *
 * A tsnspawn network is a bridge with one IPv4 subnet (its first host
 * address the gateway), containers reaching each other by name through a
 * shared hosts file; docker's `bridge`, `host` and `none` exist as the
 * default network and the two modes. compose 1.29 compares a network's
 * `Driver`, `Options`, `IPAM` (when the file sets one), `Internal`,
 * `EnableIPv6` and non-`com.docker.*` `Labels` with its file; so the create
 * body's fields are honoured or refused, never dropped: a subnet (with its
 * first host as gateway) is taken, IP ranges, other gateways, driver
 * options, internal networks, IPv6, other drivers and IPAM drivers are
 * refused with a reason.
 *
 * References: Docker Engine API v1.44 (Network, NetworkCreateRequest);
 * moby v28.2.2 api/types/network; research notes
 * /work/shared/research/docker-api.md §4 ("Network inspect").
 */
import { BodyReader, isZeroValue } from "./body_fields.ts";
import { badRequest, unsupportedField } from "./errors.ts";
import { readEndpointSettings } from "./create_network.ts";
import { formatDockerTime, nanosOfIso } from "./docker_time.ts";

/** A network as the formatter needs it. */
export interface NetworkFacts {
  /** 64 hex. */
  id: string;
  name: string;
  /** "bridge" for tsnspawn's networks, "host" and "null" for the two modes. */
  driver: "bridge" | "host" | "null";
  /** ISO 8601. */
  created: string;
  /** CIDR and gateway; absent for host and none. */
  subnet?: string;
  gateway?: string;
  labels: Readonly<Record<string, string>>;
  /** Containers holding an address on it. */
  containers: readonly { id: string; name: string; address: string; prefixLength: number }[];
}

/** A network's Docker JSON (inspect, and each entry of the list). */
export function formatNetwork(facts: NetworkFacts): Record<string, unknown> {
  const containers: Record<string, unknown> = {};
  for (const c of facts.containers) {
    containers[c.id] = {
      Name: c.name,
      EndpointID: "",
      MacAddress: "",
      IPv4Address: c.address === "" ? "" : `${c.address}/${c.prefixLength}`,
      IPv6Address: "",
    };
  }
  return {
    Name: facts.name,
    Id: facts.id,
    Created: formatDockerTime(nanosOfIso(facts.created)),
    Scope: "local",
    Driver: facts.driver,
    EnableIPv4: facts.driver === "bridge",
    EnableIPv6: false,
    IPAM: {
      Driver: "default",
      Options: null,
      Config: facts.subnet ? [{ Subnet: facts.subnet, Gateway: facts.gateway ?? "" }] : [],
    },
    Internal: false,
    Attachable: facts.driver === "bridge",
    Ingress: false,
    ConfigFrom: { Network: "" },
    ConfigOnly: false,
    Containers: containers,
    Options: {},
    Labels: { ...facts.labels },
  };
}

/** What a network create asks for. */
export interface NetworkCreatePlan {
  name: string;
  subnet?: string;
  labels: Record<string, string>;
}

/**
 * Maps a `POST /networks/create` body. `gatewayOf(subnet)` gives the
 * gateway tsnspawn uses for a subnet (its first host address).
 */
export function planNetworkCreate(
  body: Record<string, unknown>,
  gatewayOf: (subnet: string) => string,
): NetworkCreatePlan {
  const reader = new BodyReader(body);
  const name = reader.string("Name") ?? "";
  if (name === "") throw badRequest("Name: the network needs a name");
  reader.defaultOnly(
    "Driver",
    "only bridge networks exist here",
    (v) => v === undefined || v === "" || v === "bridge",
  );
  reader.defaultOnly("Internal", "networks without outbound traffic are not supported");
  reader.defaultOnly("EnableIPv6", "networks are IPv4 only");
  reader.defaultOnly("Ingress", "there is no swarm routing mesh");
  reader.defaultOnly("ConfigOnly", "configuration-only networks are not supported");
  reader.defaultOnly("ConfigFrom", "configuration-only networks are not supported");
  reader.defaultOnly(
    "Scope",
    "networks are local",
    (v) => v === undefined || v === "" || v === "local",
  );
  reader.defaultOnly(
    "Options",
    "bridge driver options are not supported (tsnspawn names and sizes its bridges)",
  );
  // CheckDuplicate: a network name is unique here whatever the client asks;
  // Attachable: every network is.
  reader.ignore("CheckDuplicate", "Attachable", "EnableIPv4");
  const plan: NetworkCreatePlan = { name, labels: { ...reader.stringMap("Labels") } };
  const ipam = reader.child("IPAM");
  ipam.defaultOnly(
    "Driver",
    "only the default IPAM driver exists",
    (v) => v === undefined || v === "" || v === "default",
  );
  ipam.defaultOnly("Options", "IPAM driver options are not supported");
  const pools = ipam.objects("Config");
  if (pools.length > 1) {
    throw unsupportedField(ipam.name("Config"), pools.length, "a network has one IPv4 subnet");
  }
  for (const pool of pools) {
    const subnet = pool.string("Subnet") ?? "";
    if (subnet === "") throw badRequest(`${pool.name("Subnet")}: a pool needs a subnet`);
    if (subnet.includes(":")) {
      throw unsupportedField(pool.name("Subnet"), subnet, "networks are IPv4 only");
    }
    plan.subnet = subnet;
    const gateway = pool.string("Gateway") ?? "";
    if (gateway !== "" && gateway !== gatewayOf(subnet)) {
      throw unsupportedField(
        pool.name("Gateway"),
        gateway,
        `the gateway is the subnet's first address (${gatewayOf(subnet)})`,
      );
    }
    pool.defaultOnly("IPRange", "addresses are leased from the whole subnet");
    pool.defaultOnly("AuxiliaryAddresses", "auxiliary addresses are not supported", isZeroValue);
    pool.finish("tsnspawn does not know this field");
  }
  ipam.finish("tsnspawn does not know this field");
  reader.finish("tsnspawn does not know this field");
  return plan;
}

/** What a connect asks for. */
export interface NetworkConnectPlan {
  container: string;
  aliases: string[];
}

/** Maps a `POST /networks/{id}/connect` body. */
export function planNetworkConnect(body: Record<string, unknown>): NetworkConnectPlan {
  const reader = new BodyReader(body);
  const container = reader.string("Container") ?? "";
  if (container === "") throw badRequest("Container: name the container to connect");
  const aliases = readEndpointSettings(reader.child("EndpointConfig"));
  reader.finish("tsnspawn does not know this field");
  return { container, aliases };
}

/** Maps a `POST /networks/{id}/disconnect` body. */
export function planNetworkDisconnect(
  body: Record<string, unknown>,
): { container: string; force: boolean } {
  const reader = new BodyReader(body);
  const container = reader.string("Container") ?? "";
  if (container === "") throw badRequest("Container: name the container to disconnect");
  const force = reader.boolean("Force") ?? false;
  reader.finish("tsnspawn does not know this field");
  return { container, force };
}

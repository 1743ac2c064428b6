/**
 * Networks: list, inspect, create, connect, disconnect, delete, on the
 * operations of `tsnspawn network` (ops/network.ts, network/network_store.ts).
 * A network is named by its name, its Docker ID or a unique ID prefix;
 * `host` and `none` are the two network modes, listed as docker lists them
 * and never created or removed.
 *
 * References: Docker Engine API v1.44 (Network); research notes
 * /work/shared/research/docker-api.md §4 (compose: create, inspect, the
 * disconnect/connect of each container, delete on down).
 */
import { TsnspawnError } from "../errors.ts";
import { loadContainer } from "../container/state.ts";
import { listNetworks, loadNetwork, readLeases } from "../network/network_store.ts";
import type { NetworkConfig } from "../network/network_config.ts";
import { gatewayOf } from "../network/address_pool.ts";
import { formatIpv4, parseSubnet } from "../network/ipv4.ts";
import { DEFAULT_SEGMENT_PORTS } from "../network/address_pool.ts";
import {
  connectContainer,
  createNetwork,
  disconnectContainer,
  removeNetwork,
} from "../ops/network.ts";
import type { ApiCall } from "./http.ts";
import type { ApiContext } from "./context.ts";
import { ApiError, badRequest, noSuch } from "./errors.ts";
import { parseFilters } from "./filters.ts";
import { selectNetworks } from "./resource_filters.ts";
import {
  formatNetwork,
  type NetworkFacts,
  planNetworkConnect,
  planNetworkCreate,
  planNetworkDisconnect,
} from "./inspect_network.ts";
import { networkDockerId } from "./facts.ts";
import { planNetworkEvent } from "./events.ts";
import { nanosOf } from "./docker_time.ts";
import { resolveContainer } from "./names.ts";

/** The two network modes, as docker lists its `host` and `none` networks. */
const MODES: readonly NetworkFacts[] = (["host", "none"] as const).map((name) => ({
  id: networkDockerId({ name, created: "1970-01-01T00:00:00Z" }),
  name,
  driver: name === "host" ? "host" : "null",
  created: "1970-01-01T00:00:00Z",
  labels: {},
  containers: [],
}));

/** A stored (or the default) network's facts. */
function networkFacts(network: NetworkConfig): NetworkFacts {
  const subnet = parseSubnet(network.subnet);
  return {
    id: networkDockerId(network),
    name: network.name,
    driver: "bridge",
    created: network.created,
    subnet: network.subnet,
    gateway: formatIpv4(gatewayOf(subnet)),
    labels: network.labels ?? {},
    containers: readLeases(network.name).leases.map((lease) => ({
      id: lease.id,
      name: lease.container,
      address: lease.address,
      prefixLength: subnet.prefix,
    })),
  };
}

/** Every network, the two modes included. */
function allNetworks(): NetworkFacts[] {
  return [...listNetworks().map(networkFacts), ...MODES];
}

/** The network `ref` names (name, ID, unique ID prefix); 404 otherwise. */
function resolveNetwork(ref: string): NetworkFacts {
  const all = allNetworks();
  const found = all.find((n) => n.name === ref || n.id === ref) ??
    (() => {
      const matches = all.filter((n) => ref !== "" && n.id.startsWith(ref));
      return matches.length === 1 ? matches[0] : undefined;
    })();
  if (!found) throw noSuch("network", ref);
  return found;
}

/** `GET /networks?filters=`. */
export function listNetworksCall(call: ApiCall): void {
  const filters = parseFilters(call.query.get("filters"));
  const selected = selectNetworks(
    allNetworks().map((n) => ({ ...n, facts: n, containers: n.containers.length })),
    filters,
  );
  call.sendJson(200, selected.map((entry) => formatNetwork(entry.facts)));
}

/** `GET /networks/{id}`. */
export function inspectNetworkCall(call: ApiCall): void {
  call.sendJson(200, formatNetwork(resolveNetwork(call.params.id)));
}

/** `POST /networks/create`: 201 with its ID; 409 when the name is taken. */
export async function createNetworkCall(call: ApiCall, api: ApiContext): Promise<void> {
  const plan = planNetworkCreate(
    await call.json(),
    (subnet) => formatIpv4(gatewayOf(parseSubnet(subnet))),
  );
  if (["host", "none", "default"].includes(plan.name)) {
    throw new ApiError(403, `${plan.name} is a pre-defined network and cannot be created`);
  }
  let network: NetworkConfig;
  try {
    network = createNetwork({
      name: plan.name,
      ...(plan.subnet !== undefined ? { subnet: plan.subnet } : {}),
      segmentPorts: DEFAULT_SEGMENT_PORTS,
      labels: plan.labels,
    });
  } catch (error) {
    if (error instanceof TsnspawnError && error.code === "conflict") {
      throw new ApiError(409, `network with name ${plan.name} already exists`);
    }
    throw error;
  }
  const id = networkDockerId(network);
  api.events.emit(
    planNetworkEvent("create", { id, name: network.name }, nanosOf(new Date())),
  );
  call.sendJson(201, { Id: id, Warning: "" });
}

/** `DELETE /networks/{id}`: 403 for the modes, 409 while a container holds an address. */
export function deleteNetworkCall(call: ApiCall, api: ApiContext): void {
  const network = resolveNetwork(call.params.id);
  if (network.driver !== "bridge") {
    throw new ApiError(403, `${network.name} is a pre-defined network and cannot be removed`);
  }
  removeNetwork(network.name);
  api.events.emit(
    planNetworkEvent("destroy", { id: network.id, name: network.name }, nanosOf(new Date())),
  );
  call.sendEmpty(204);
}

/** `POST /networks/{id}/connect`. */
export async function connectNetworkCall(call: ApiCall, api: ApiContext): Promise<void> {
  const network = resolveNetwork(call.params.id);
  const plan = planNetworkConnect(await call.json());
  const name = resolveContainer(plan.container);
  if (network.driver !== "bridge") {
    throw badRequest(`container cannot be connected to the ${network.name} network mode`);
  }
  loadNetwork(network.name);
  await connectContainer(api, network.name, name, plan.aliases);
  api.events.emit(
    planNetworkEvent("connect", network, nanosOf(new Date()), containerId(name)),
  );
  call.sendEmpty(200);
}

/** `POST /networks/{id}/disconnect`. */
export async function disconnectNetworkCall(call: ApiCall, api: ApiContext): Promise<void> {
  const network = resolveNetwork(call.params.id);
  const plan = planNetworkDisconnect(await call.json({ emptyIsObject: true }));
  const name = resolveContainer(plan.container);
  const id = containerId(name);
  await disconnectContainer(api, network.name, name);
  api.events.emit(planNetworkEvent("disconnect", network, nanosOf(new Date()), id));
  call.sendEmpty(200);
}

function containerId(name: string): string {
  return loadContainer(name).id;
}

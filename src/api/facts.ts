/**
 * What the Docker JSON documents are made from, gathered from tsnspawn's
 * stores and systemd (the effectful side of inspect_container.ts,
 * inspect_image.ts and events.ts): a container's config, the state of its
 * unit, its last exit, the API record beside it, its network; an image's
 * store entry; a network's Docker ID.
 */
import { containerPaths } from "../paths.ts";
import {
  containerUnit,
  type ExitRecord,
  loadContainer,
  loadExitRecord,
} from "../container/state.ts";
import type { ContainerConfig } from "../container/config.ts";
import { parseSignal } from "../container/run_options.ts";
import type { UnitState } from "../systemd/bus.ts";
import { loadNetwork } from "../network/network_store.ts";
import type { NetworkConfig } from "../network/network_config.ts";
import { gatewayOf } from "../network/address_pool.ts";
import { formatIpv4, parseSubnet } from "../network/ipv4.ts";
import { familiarName, parseReference } from "../oci/reference.ts";
import { inspectImage, layerDiffPath } from "../image/store.ts";
import { sha256DigestSync } from "../oci/digest.ts";
import type { ContainerFacts, NetworkFacts } from "./inspect_container.ts";
import type { ExitFacts, UnitFacts } from "./inspect_state.ts";
import type { ImageFacts } from "./inspect_image.ts";
import type { EventContainer } from "./events.ts";
import { readApiRecord } from "./api_record.ts";
import { readHealthState } from "../health/state.ts";
import { currentStatus } from "../health/plan.ts";
import type { HealthFacts } from "./inspect_state.ts";
import { nanosOfIso } from "./docker_time.ts";
import type { OpsContext } from "../ops/context.ts";

/** A network's Docker ID: 64 hex, stable for the network's life (its name and creation time). */
export function networkDockerId(network: Pick<NetworkConfig, "name" | "created">): string {
  return sha256DigestSync(
    new TextEncoder().encode(`tsnspawn-network\0${network.name}\0${network.created}`),
  ).replace(/^sha256:/, "");
}

/** The image as docker shows it: familiar, without `:latest` (`busybox`, `127.0.0.1:5000/app:1`). */
export function familiarImage(reference: string | null, rootfs: string): string {
  if (reference === null) return rootfs;
  try {
    const ref = parseReference(reference);
    return familiarName(ref.tag === "latest" ? { ...ref, tag: undefined } : ref);
  } catch {
    return reference;
  }
}

/** The exit record in docker's terms (128+N for signal N). */
export function exitFactsOf(record: ExitRecord | null): ExitFacts | null {
  if (!record) return null;
  let exitCode = 0;
  if (record.exitCode === "exited") exitCode = Number(record.exitStatus) || 0;
  else {
    const signal = Number(record.exitStatus);
    exitCode = 128 + (Number.isNaN(signal) ? parseSignal(record.exitStatus) : signal);
  }
  return { exitCode, finishedAt: record.finishedAt, serviceResult: record.serviceResult };
}

/** The unit facts of a unit state. */
function unitFactsOf(state: UnitState | null): UnitFacts | null {
  if (!state) return null;
  return {
    activeState: state.activeState,
    subState: state.subState,
    mainPid: state.mainPid,
    nRestarts: state.nRestarts,
    activeEnterTimestamp: state.activeEnterTimestamp,
  };
}

/**
 * The health of a running container with a health check (health.json, as
 * `tsnspawn list` reads it): "starting" until a check of this run has a result.
 */
function healthFactsOf(name: string, state: UnitState | null): HealthFacts | undefined {
  if (!state || state.activeState !== "active") return undefined;
  const health = readHealthState(name);
  const current = health?.invocation === state.invocationId ? health : null;
  return {
    status: currentStatus(health, state.invocationId),
    failingStreak: current?.failingStreak ?? 0,
    log: (current?.log ?? []).map((r) => ({
      startNs: nanosOfIso(r.start),
      endNs: nanosOfIso(r.end),
      exitCode: r.exitCode,
      output: r.output,
    })),
  };
}

/** A bridge network's facts for a container on it. */
function networkFactsOf(config: ContainerConfig): NetworkFacts | undefined {
  if (!config.bridge) return undefined;
  try {
    const network = loadNetwork(config.bridge.network);
    const subnet = parseSubnet(network.subnet);
    return {
      id: networkDockerId(network),
      gateway: formatIpv4(gatewayOf(subnet)),
      prefixLength: subnet.prefix,
      macAddress: "",
    };
  } catch {
    return undefined; // the network went away
  }
}

/** Everything a container's Docker JSON is made from. */
export async function gatherContainerFacts(
  ctx: OpsContext,
  name: string,
  options: { config?: ContainerConfig; execIds?: readonly string[] } = {},
): Promise<ContainerFacts> {
  const config = options.config ?? loadContainer(name);
  const systemd = await ctx.systemd();
  const state = await systemd.unitState(containerUnit(name).unit);
  const api = readApiRecord(name);
  const paths = containerPaths(name);
  const facts: ContainerFacts = {
    config,
    unit: unitFactsOf(state),
    exit: exitFactsOf(loadExitRecord(name)),
    imageName: api?.given.image ?? familiarImage(config.image, config.lowerDirs[0] ?? ""),
    paths: { resolvConf: paths.resolvConf, hostname: paths.hostname, hosts: paths.hosts },
  };
  if (api) facts.api = api;
  const health = config.healthcheck ? healthFactsOf(name, state) : undefined;
  if (health) facts.health = health;
  const network = networkFactsOf(config);
  if (network) facts.network = network;
  if (options.execIds) facts.execIds = options.execIds;
  return facts;
}

/** What an event says about a container. */
export function eventContainerOf(name: string, config?: ContainerConfig): EventContainer {
  const c = config ?? loadContainer(name);
  const api = readApiRecord(name);
  return {
    id: c.id,
    name: c.name,
    image: api?.given.image ?? familiarImage(c.image, c.lowerDirs[0] ?? ""),
    labels: { ...c.labels },
  };
}

/** An image's facts from the store (`input`: reference or ID prefix). */
export function gatherImageFacts(input: string): ImageFacts {
  const image = inspectImage(input);
  const repoTags = image.tags.map((tag) => familiarName(tag));
  const repoDigests = [
    ...new Set(image.tags.map((tag) => {
      const ref = parseReference(tag);
      return `${familiarName({ ...ref, tag: undefined })}@${image.manifestDigest}`;
    })),
  ];
  return {
    id: image.id,
    repoTags,
    repoDigests,
    config: image.config,
    size: image.size,
    layerDirs: [...image.config.rootfs.diff_ids].reverse().map(layerDiffPath),
  };
}

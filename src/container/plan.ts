/**
 * Pure planning of a container: a `run`/`create` request plus the image's
 * configuration become the `ContainerConfig` written to config.json, and the
 * "init layer" files (/etc/hostname, /etc/hosts, /etc/resolv.conf) that are
 * bind-mounted into the container (Docker's init layer: never part of the
 * writable layer). Docker's precedence rules apply: --entrypoint replaces
 * the image's Entrypoint and then the image's Cmd is dropped; a command given
 * on the command line replaces Cmd; -e overrides the image's Env; -w and -u
 * override WorkingDir and User.
 */
import {
  CONTAINER_CONFIG_VERSION,
  type ContainerConfig,
  type PublishedPort,
  type ResourceLimits,
  type RestartPolicy,
  type VolumeMount,
} from "./config.ts";
import { TsnspawnError } from "../errors.ts";
import type { ContainerOptions } from "./options.ts";
import { STANDARD_HOSTS_ENTRIES } from "../network/hosts_file.ts";
import { mergeEnv } from "./run_options.ts";

/** The docker default PATH, used when the image sets none. */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** The parts of an OCI image config that shape a container. */
export interface ImageRuntimeConfig {
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Env?: string[] | null;
  WorkingDir?: string;
  User?: string;
  StopSignal?: string;
}

/** Everything the user asked for, already syntactically validated. */
export interface ContainerRequest {
  name: string;
  image: string | null;
  imageId: string | null;
  lowerDirs: string[];
  /** Command after the image (may be empty: the image's Cmd is used). */
  command: string[];
  /** --entrypoint: null = image's; "" = none. */
  entrypoint: string | null;
  /** -e/--env-file assignments in order (KEY=VALUE). */
  env: string[];
  workingDir?: string;
  /** Resolved --user (or the image's User) as numbers. */
  user: { uid: number; gid: number };
  hostname?: string;
  volumes: VolumeMount[];
  /** --network: "none", "host", or a bridge network's name ("bridge" = the default network). */
  network: string;
  /** -p: published ports (bridge networks only). */
  publish: PublishedPort[];
  capabilities: string[];
  noNewPrivileges: boolean;
  init: boolean;
  tty: boolean;
  interactive: boolean;
  resources: ResourceLimits;
  restart: RestartPolicy;
  stopTimeoutSec?: number;
  /** --stop-signal; else the image's StopSignal; else SIGTERM. */
  stopSignal?: string;
  autoRemove: boolean;
  /** The build this container is a RUN step of (ContainerConfig.build). */
  build?: string;
}

/** What `requestFromRunOptions` needs that the command line alone does not give. */
export interface ResolvedSource {
  name: string;
  image: string | null;
  imageId: string | null;
  lowerDirs: string[];
  /** Environment from --env-file and -e, in that order. */
  env: string[];
  user: { uid: number; gid: number };
}

/**
 * The request for `planContainer` from parsed run options and what was
 * resolved outside them (image, name, user, env files). One mapping for
 * `create` and for declared containers.
 */
export function requestFromRunOptions(
  options: ContainerOptions,
  source: ResolvedSource,
): ContainerRequest {
  return {
    ...source,
    command: options.command,
    entrypoint: options.entrypoint ?? null,
    workingDir: options.workdir,
    hostname: options.hostname,
    volumes: options.volumes,
    network: options.network,
    publish: options.publish,
    capabilities: options.capabilities,
    noNewPrivileges: options.security.noNewPrivileges ?? true,
    init: options.init,
    tty: options.tty,
    interactive: options.interactive,
    resources: options.resources,
    restart: options.restart,
    stopTimeoutSec: options.stopTimeoutSec,
    stopSignal: options.stopSignal,
    autoRemove: options.autoRemove,
    ...(options.build !== undefined ? { build: options.build } : {}),
  };
}

/** Docker's rule: command = entrypoint + (cmd given ? cmd : image cmd). */
export function planCommand(
  image: ImageRuntimeConfig,
  entrypoint: string | null,
  command: string[],
): string[] {
  const entry = entrypoint === null
    ? (image.Entrypoint ?? [])
    : (entrypoint === "" ? [] : [entrypoint]);
  // A new entrypoint resets the image's Cmd, as in docker.
  const cmd = command.length > 0 ? command : (entrypoint === null ? (image.Cmd ?? []) : []);
  const argv = [...entry, ...cmd];
  if (argv.length === 0) {
    throw new TsnspawnError("invalid", "no command to run: the image has no Cmd or Entrypoint", {
      hint: "give a command after the image, e.g. 'tsnspawn run IMAGE /bin/sh'",
    });
  }
  return argv;
}

/**
 * The network part of the config: the mode, and for a bridge network its
 * name (the address is leased by `create` and filled in then) and the
 * published ports, which only a bridge network can have.
 */
export function planNetwork(
  network: string,
  publish: readonly PublishedPort[],
): Pick<ContainerConfig, "network" | "bridge" | "publish"> {
  if (network === "none" || network === "host") {
    if (publish.length > 0) {
      throw new TsnspawnError(
        "invalid",
        `published ports need a bridge network, not --network ${network}`,
        {
          hint: "drop -p, or use --network bridge (the default)",
        },
      );
    }
    return { network };
  }
  return {
    network: "bridge",
    bridge: { network, address: "" },
    ...(publish.length > 0 ? { publish: [...publish] } : {}),
  };
}

/** Builds the ContainerConfig from a request and the image config. */
export function planContainer(
  request: ContainerRequest,
  image: ImageRuntimeConfig,
  id: string,
  created: Date,
): ContainerConfig {
  const imageEnv = image.Env ?? [];
  const hasPath = [...imageEnv, ...request.env].some((e) => e.startsWith("PATH="));
  const env = mergeEnv(
    hasPath ? [] : [`PATH=${DEFAULT_PATH}`],
    imageEnv,
    request.env,
    request.tty ? ["TERM=xterm"] : [],
    [`HOSTNAME=${request.hostname ?? id.slice(0, 12)}`],
  );
  const network = planNetwork(request.network, request.publish);
  return {
    version: CONTAINER_CONFIG_VERSION,
    name: request.name,
    id,
    created: created.toISOString(),
    image: request.image,
    imageId: request.imageId,
    lowerDirs: request.lowerDirs,
    command: planCommand(image, request.entrypoint, request.command),
    env,
    workingDir: request.workingDir || image.WorkingDir || "/",
    user: request.user,
    hostname: request.hostname ?? id.slice(0, 12),
    volumes: request.volumes,
    ...network,
    capabilities: request.capabilities,
    noNewPrivileges: request.noNewPrivileges,
    init: request.init,
    tty: request.tty,
    interactive: request.interactive,
    resources: request.resources,
    restart: request.restart,
    stopTimeoutSec: request.stopTimeoutSec ?? 10,
    stopSignal: request.stopSignal ?? image.StopSignal ?? "SIGTERM",
    autoRemove: request.autoRemove,
    ...(request.build !== undefined ? { build: request.build } : {}),
  };
}

/** The init-layer files of a container (hostname, hosts, resolv.conf). */
export function planInitLayer(
  config: ContainerConfig,
  hostResolvConf: string,
): { hostname: string; hosts: string; resolvConf: string } {
  const hosts = [
    ...STANDARD_HOSTS_ENTRIES,
    `127.0.1.1\t${config.hostname}`,
    "",
  ].join("\n");
  // With --network none a nameserver on the host's loopback is unreachable
  // (docker drops those too); keep search/options lines.
  const resolvConf = config.network === "host"
    ? hostResolvConf
    : hostResolvConf.split("\n").filter((line) => !/^\s*nameserver\s+(127\.|::1)/.test(line))
      .join("\n");
  return { hostname: config.hostname + "\n", hosts, resolvConf };
}

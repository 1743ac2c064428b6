/**
 * Pure planning of a container: a `run`/`create` request plus the image's
 * configuration become the `ContainerConfig` written to config.json, and the
 * "init layer" files (/etc/hostname, /etc/hosts, /etc/resolv.conf) that are
 * bind-mounted into the container (Docker's init layer: never part of the
 * writable layer). Docker's precedence rules apply: --entrypoint replaces
 * the image's Entrypoint and then the image's Cmd is dropped; a command given
 * on the command line replaces Cmd; -e overrides the image's Env; -w and -u
 * override WorkingDir and User.
 *
 * The environment starts from what docker and podman give every container
 * (PATH when the image sets none, HOSTNAME, HOME of the user's passwd entry
 * or /, TERM=xterm with -t, container=tsnspawn as podman's container=podman);
 * the image's Env and then -e override any of them.
 *
 * systemd mode (OS containers): as podman's --systemd=true, a command that is
 * an init (/sbin/init, /usr/sbin/init, /usr/local/sbin/init,
 * /lib/systemd/systemd, /usr/lib/systemd/systemd, or any `systemd`) runs as
 * a booting system: container_uuid= for its machine id, SIGRTMIN+3 (halt) as
 * the stop signal unless --stop-signal says otherwise, and no_new_privs off
 * unless asked for (an OS has setuid programs: su, passwd, ping, and systemd
 * sets no_new_privs per service itself). The mounts it needs are in
 * mount_plan.ts (systemd.io/CONTAINER_INTERFACE).
 */
import {
  CONTAINER_CONFIG_VERSION,
  type ContainerConfig,
  type DnsSettings,
  type PublishedPort,
  type ResourceLimits,
  type RestartPolicy,
  type Ulimit,
  type VolumeMount,
} from "./config.ts";
import { type HealthOptions, type ImageHealthcheck, planHealthCheck } from "./health_options.ts";
import { TsnspawnError } from "../errors.ts";
import type { ContainerOptions, SystemdMode } from "./options.ts";
import { STANDARD_HOSTS_ENTRIES } from "../network/hosts_file.ts";
import { mergeEnv } from "./run_options.ts";
import type { OciRunConfig } from "../oci/types.ts";
import { planResolvConf } from "./extra_options.ts";

/** $NOTIFY_SOCKET of a container with --sdnotify=container (podman's path). */
export const CONTAINER_NOTIFY_SOCKET = "/run/notify/notify.sock";

/** The docker default PATH, used when the image sets none. */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** The parts of an OCI image config that shape a container (and that `commit` carries on). */
export interface ImageRuntimeConfig {
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Env?: string[] | null;
  WorkingDir?: string;
  User?: string;
  StopSignal?: string;
  /** `EXPOSE` of a Dockerfile: "80/tcp" keys (what -P publishes). */
  ExposedPorts?: Record<string, Record<string, never>> | null;
  /** Mount points of anonymous volumes (`VOLUME` in a Dockerfile). */
  Volumes?: Record<string, unknown> | null;
  Labels?: Record<string, string> | null;
  Healthcheck?: ImageHealthcheck | null;
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
  /** --network-alias (bridge networks only). */
  networkAliases?: string[];
  /** --unsetenv: removed from the final environment. */
  unsetEnv?: string[];
  capabilities: string[];
  noNewPrivileges: boolean;
  init: boolean;
  tty: boolean;
  interactive: boolean;
  resources: ResourceLimits;
  restart: RestartPolicy;
  stopTimeoutSec?: number;
  /** --stop-signal; else SIGRTMIN+3 in systemd mode; else the image's StopSignal; else SIGTERM. */
  stopSignal?: string;
  autoRemove: boolean;
  /** The build this container is a RUN step of (ContainerConfig.build). */
  build?: string;
  /** --label and --label-file (the image's labels go under them). */
  labels: Record<string, string>;
  annotations: Record<string, string>;
  health: HealthOptions;
  noHealthcheck: boolean;
  sdnotify?: "container" | "healthy";
  dns?: DnsSettings;
  extraHosts: string[];
  expose: string[];
  shmSizeBytes?: number;
  sysctls: Record<string, string>;
  timezone?: string;
  readOnlyTmpfs?: false;
  ulimits: Ulimit[];
  /** --systemd (default "true": detect from the command). */
  systemd?: SystemdMode;
  /** --boot: the image's init (found by `create`), run with `command` as its arguments. */
  bootInit?: string;
  /** The user's home directory from the image's /etc/passwd (HOME's default; "/" without an entry). */
  home?: string;
  /** no_new_privs was asked for explicitly (--security-opt no-new-privileges[=…]). */
  noNewPrivilegesExplicit?: boolean;
  /** The user as given (-u, else the image's User), for `commit`. */
  userSpec?: string;
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
  /** The user's home directory in the image (its passwd entry), if it has one. */
  home?: string;
  /** --boot: the init found in the image. */
  bootInit?: string;
  /** The user as given (-u, else the image's User). */
  userSpec?: string;
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
    networkAliases: options.networkAliases,
    unsetEnv: options.unsetEnv,
    capabilities: options.capabilities,
    noNewPrivileges: options.security.noNewPrivileges ?? true,
    noNewPrivilegesExplicit: options.security.noNewPrivileges !== undefined,
    systemd: options.boot ? "always" : options.systemd,
    init: options.init,
    tty: options.tty,
    interactive: options.interactive,
    resources: options.resources,
    restart: options.restart,
    stopTimeoutSec: options.stopTimeoutSec,
    stopSignal: options.stopSignal,
    autoRemove: options.autoRemove,
    ...(options.build !== undefined ? { build: options.build } : {}),
    labels: options.labels,
    annotations: options.annotations,
    health: options.health,
    noHealthcheck: options.noHealthcheck,
    sdnotify: options.sdnotify,
    dns: options.dns,
    extraHosts: options.extraHosts,
    expose: options.expose,
    shmSizeBytes: options.shmSizeBytes,
    sysctls: options.sysctls,
    timezone: options.timezone,
    readOnlyTmpfs: options.readOnlyTmpfs,
    ulimits: options.ulimits,
  };
}

/**
 * Anonymous volumes for the image's VOLUME paths that no mount given
 * covers (docker: each becomes a fresh volume with the image's content).
 */
export function planImageVolumes(
  image: ImageRuntimeConfig,
  given: readonly { destination: string }[],
): VolumeMount[] {
  const taken = new Set(given.map((m) => m.destination));
  const out: VolumeMount[] = [];
  for (const raw of Object.keys(image.Volumes ?? {})) {
    const parts = raw.split("/").filter((p) => p !== "" && p !== ".");
    if (!raw.startsWith("/") || parts.includes("..") || parts.length === 0) continue;
    const destination = "/" + parts.join("/");
    if (taken.has(destination)) continue;
    taken.add(destination);
    out.push({
      source: "",
      destination,
      readOnly: false,
      volume: "",
      anonymous: true,
      copyUp: true,
    });
  }
  return out;
}

/**
 * `--entrypoint` as words: "" none, a JSON array of strings several (podman's
 * form, quadlet's `Entrypoint=["/bin/sh","-c"]`), else one program.
 */
export function entrypointWords(entrypoint: string): string[] {
  if (entrypoint === "") return [];
  if (entrypoint.trimStart().startsWith("[")) {
    let words: unknown;
    try {
      words = JSON.parse(entrypoint);
    } catch {
      words = null;
    }
    if (!Array.isArray(words) || !words.every((w) => typeof w === "string")) {
      throw new TsnspawnError(
        "invalid",
        `entrypoint ${JSON.stringify(entrypoint.slice(0, 80))}: not a JSON array of strings`,
        {
          hint: 'e.g. --entrypoint \'["/bin/sh","-c"]\', or one program',
        },
      );
    }
    return words;
  }
  return [entrypoint];
}

/** Docker's rule: the container's Entrypoint and Cmd from the image's and the request's. */
export function planEntrypointCmd(
  image: ImageRuntimeConfig,
  entrypoint: string | null,
  command: string[],
): { entrypoint: string[]; cmd: string[] } {
  const entry = entrypoint === null ? (image.Entrypoint ?? []) : entrypointWords(entrypoint);
  // A new entrypoint resets the image's Cmd, as in docker and podman (an
  // empty one too: `--entrypoint ""`, quadlet's bare `Entrypoint=`).
  const cmd = command.length > 0 ? command : (entrypoint === null ? (image.Cmd ?? []) : []);
  return { entrypoint: [...entry], cmd: [...cmd] };
}

/** Docker's rule: command = entrypoint + (cmd given ? cmd : image cmd). */
export function planCommand(
  image: ImageRuntimeConfig,
  entrypoint: string | null,
  command: string[],
): string[] {
  const parts = planEntrypointCmd(image, entrypoint, command);
  const argv = [...parts.entrypoint, ...parts.cmd];
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
  aliases: readonly string[] = [],
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
    if (aliases.length > 0) {
      throw new TsnspawnError(
        "invalid",
        `network aliases need a bridge network, not --network ${network}`,
        { hint: "drop --network-alias, or use a bridge network" },
      );
    }
    return { network };
  }
  return {
    network: "bridge",
    bridge: { network, address: "", ...(aliases.length > 0 ? { aliases: [...aliases] } : {}) },
    ...(publish.length > 0 ? { publish: [...publish] } : {}),
  };
}

/** Commands that are an init, as podman's --systemd=true detects them (plus systemd's own paths). */
export const INIT_COMMANDS: readonly string[] = [
  "/sbin/init",
  "/usr/sbin/init",
  "/usr/local/sbin/init",
  "/lib/systemd/systemd",
  "/usr/lib/systemd/systemd",
];

/** Where `--boot` looks for the image's init, first found wins (systemd-nspawn -b's order). */
export const BOOT_INITS: readonly string[] = [
  "/usr/lib/systemd/systemd",
  "/lib/systemd/systemd",
  "/sbin/init",
];

/** The value of `container=` (systemd.io/CONTAINER_INTERFACE) and /run/host/container-manager. */
export const CONTAINER_MANAGER = "tsnspawn";

/** SIGRTMIN+3: what makes systemd halt (systemd(1) "Signals"). */
export const SYSTEMD_STOP_SIGNAL = "SIGRTMIN+3";

/**
 * Whether `command` runs in systemd mode: always, never, or (podman's
 * "true") when its program is an init. A `/bin/sh -c` wrapper is looked
 * through, as podman does for images built with a shell-form CMD.
 */
export function detectSystemd(command: readonly string[], mode: SystemdMode = "true"): boolean {
  if (mode !== "true") return mode === "always";
  const argv = command.length > 2 && command[0] === "/bin/sh" && command[1] === "-c"
    ? command.slice(2)
    : command;
  const program = argv[0] ?? "";
  return INIT_COMMANDS.includes(program) || program.split("/").at(-1) === "systemd";
}

/** The machine id of a container (machine-id(5): 32 lowercase hex digits): its id's first half. */
export function machineIdOf(id: string): string {
  return id.slice(0, 32);
}

/** `container_uuid=` for systemd in the container: the machine id as a UUID. */
export function containerUuidOf(id: string): string {
  const hex = machineIdOf(id);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}

/** Builds the ContainerConfig from a request and the image config. */
export function planContainer(
  request: ContainerRequest,
  image: ImageRuntimeConfig,
  id: string,
  created: Date,
): ContainerConfig {
  const unset = new Set(request.unsetEnv ?? []);
  const command = request.bootInit
    ? [request.bootInit, ...request.command]
    : planCommand(image, request.entrypoint, request.command);
  const parts = request.bootInit
    ? { entrypoint: [], cmd: command }
    : planEntrypointCmd(image, request.entrypoint, request.command);
  const systemd = detectSystemd(command, request.systemd);
  if (systemd && request.sdnotify) {
    throw new TsnspawnError(
      "invalid",
      `--sdnotify=${request.sdnotify}: an OS container (systemd mode) is ready when its systemd says so`,
      { hint: "drop --sdnotify, or run the command without systemd mode (--systemd=false)" },
    );
  }
  const hostname = request.hostname ?? id.slice(0, 12);
  // Defaults first: the image's Env and then -e override each of them.
  const env = mergeEnv(
    [
      `PATH=${DEFAULT_PATH}`,
      `HOSTNAME=${hostname}`,
      `HOME=${request.home ?? "/"}`,
      ...(request.tty ? ["TERM=xterm"] : []),
      `container=${CONTAINER_MANAGER}`,
      ...(systemd ? [`container_uuid=${containerUuidOf(id)}`] : []),
    ],
    image.Env ?? [],
    request.env,
    // --sdnotify=container: the relay's socket (mount_plan.ts binds it there).
    request.sdnotify === "container" ? [`NOTIFY_SOCKET=${CONTAINER_NOTIFY_SOCKET}`] : [],
  ).filter((entry) => !unset.has(entry.slice(0, entry.indexOf("="))));
  const network = planNetwork(request.network, request.publish, request.networkAliases);
  const explicitStopSignal = request.stopSignal ?? (systemd ? SYSTEMD_STOP_SIGNAL : undefined) ??
    image.StopSignal;
  const stopSignal = explicitStopSignal ?? "SIGTERM";
  const workingDir = request.workingDir || (request.bootInit ? "/" : image.WorkingDir) || "/";
  const runConfig = planRunConfig(request, image, parts, {
    workingDir: request.workingDir || (request.bootInit ? undefined : image.WorkingDir),
    stopSignal: explicitStopSignal,
  });
  const labels = { ...(image.Labels ?? {}), ...request.labels };
  const healthcheck = planHealthCheck(request.health, request.noHealthcheck, image.Healthcheck);
  if (request.sdnotify === "healthy" && !healthcheck) {
    throw new TsnspawnError("invalid", "--sdnotify=healthy: the container has no health check", {
      hint: "give --health-cmd, or use an image with a HEALTHCHECK",
    });
  }
  const optional: Partial<ContainerConfig> = {
    ...(Object.keys(labels).length ? { labels } : {}),
    ...(Object.keys(request.annotations).length ? { annotations: request.annotations } : {}),
    ...(healthcheck ? { healthcheck } : {}),
    ...(request.sdnotify ? { sdnotify: request.sdnotify } : {}),
    ...(request.dns ? { dns: request.dns } : {}),
    ...(request.extraHosts.length ? { extraHosts: request.extraHosts } : {}),
    ...(request.expose.length ? { exposedPorts: request.expose } : {}),
    ...(request.shmSizeBytes !== undefined ? { shmSizeBytes: request.shmSizeBytes } : {}),
    ...(Object.keys(request.sysctls).length ? { sysctls: request.sysctls } : {}),
    ...(request.timezone ? { timezone: request.timezone } : {}),
    ...(request.readOnlyTmpfs === false ? { readOnlyTmpfs: false as const } : {}),
    ...(request.ulimits.length ? { ulimits: request.ulimits } : {}),
  };
  return {
    version: CONTAINER_CONFIG_VERSION,
    name: request.name,
    id,
    created: created.toISOString(),
    image: request.image,
    imageId: request.imageId,
    lowerDirs: request.lowerDirs,
    command,
    env,
    workingDir,
    user: request.user,
    hostname,
    volumes: request.volumes,
    ...network,
    capabilities: request.capabilities,
    // An OS runs setuid programs; systemd sets no_new_privs per service.
    noNewPrivileges: systemd && !request.noNewPrivilegesExplicit ? false : request.noNewPrivileges,
    init: request.init,
    tty: request.tty,
    interactive: request.interactive,
    resources: request.resources,
    restart: request.restart,
    stopTimeoutSec: request.stopTimeoutSec ?? 10,
    stopSignal,
    autoRemove: request.autoRemove,
    ...(request.build !== undefined ? { build: request.build } : {}),
    ...optional,
    ...(systemd ? { systemd: true } : {}),
    runConfig,
  };
}

/**
 * The container's configuration as docker keeps it (`Config` of docker
 * inspect), what `commit` records: the Entrypoint and Cmd it runs, the
 * image's Env with -e over it (PATH added when missing, as docker does; not
 * the runtime's HOSTNAME, HOME, TERM, container=), WorkingDir, User as
 * given, the image's ExposedPorts with the published ports, the image's
 * Labels with --label, Volumes and StopSignal.
 */
export function planRunConfig(
  request: ContainerRequest,
  image: ImageRuntimeConfig,
  parts: { entrypoint: string[]; cmd: string[] },
  resolved: { workingDir?: string; stopSignal?: string },
): OciRunConfig {
  const imageEnv = image.Env ?? [];
  const hasPath = [...imageEnv, ...request.env].some((e) => e.startsWith("PATH="));
  const env = mergeEnv(hasPath ? [] : [`PATH=${DEFAULT_PATH}`], imageEnv, request.env);
  const exposed: Record<string, Record<string, never>> = { ...(image.ExposedPorts ?? {}) };
  for (const port of request.publish) exposed[`${port.containerPort}/${port.protocol}`] = {};
  for (const port of request.expose ?? []) exposed[port.includes("/") ? port : `${port}/tcp`] = {};
  const labels = { ...(image.Labels ?? {}), ...(request.labels ?? {}) };
  const config: OciRunConfig = { Env: env };
  if (parts.entrypoint.length > 0) config.Entrypoint = parts.entrypoint;
  if (parts.cmd.length > 0) config.Cmd = parts.cmd;
  if (resolved.workingDir) config.WorkingDir = resolved.workingDir;
  const user = request.userSpec ?? image.User;
  if (user) config.User = user;
  if (Object.keys(exposed).length > 0) config.ExposedPorts = exposed;
  if (Object.keys(labels).length > 0) config.Labels = labels;
  const volumes = Object.keys(image.Volumes ?? {});
  if (volumes.length > 0) config.Volumes = Object.fromEntries(volumes.map((v) => [v, {}]));
  if (resolved.stopSignal) config.StopSignal = resolved.stopSignal;
  return config;
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
  // --dns* replace those parts of the host's file (docker's rule).
  const base = config.dns ? planResolvConf(hostResolvConf, config.dns) : hostResolvConf;
  // With --network none a nameserver on the host's loopback is unreachable
  // (docker drops those too); keep search/options lines.
  const resolvConf = config.network === "host" && !config.dns
    ? base
    : base.split("\n").filter((line) => !/^\s*nameserver\s+(127\.|::1)/.test(line))
      .join("\n");
  const extra = (config.extraHosts ?? []).map((entry) => {
    const colon = entry.indexOf(":");
    return `${entry.slice(colon + 1)}\t${entry.slice(0, colon)}`;
  });
  return {
    hostname: config.hostname + "\n",
    hosts: extra.length ? hosts + extra.join("\n") + "\n" : hosts,
    resolvConf,
  };
}

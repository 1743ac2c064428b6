/**
 * Containers in Docker's JSON (pure): the entries of `GET /containers/json`
 * and the document of `GET /containers/{id}/json`, from what tsnspawn knows
 * ({@link ContainerFacts}).
 *
 * Where the values come from: the container's config.json
 * (container/config.ts: id, name, created, image ID, argv, env, user,
 * volumes, network, ports, limits, restart policy...), its state
 * (inspect_state.ts: the unit, the exit record, the health state), the
 * record the API create stored beside it (create_types.ts: the attach
 * session, Cmd/Entrypoint and the image as given, PublishAllPorts — absent
 * for containers the CLI made) and the network's store (ID, gateway,
 * prefix). Labels, health checks, DNS, hosts, exposed ports and volumes
 * are config.json's, as the CLI's `create` wrote them. The fields clients
 * read are the ones filled: compose 1.29 reads `Name`, `Image` (it must
 * equal the image's `Id`), `State`, `Config.{Labels,Cmd,Entrypoint,Env,
 * StopSignal,Tty}`, `HostConfig.{LogConfig.Type,Links}`,
 * `NetworkSettings.{Ports,Networks.<n>.Aliases}` and `Mounts`; the docker
 * CLI reads `Config.Tty` to choose the stream framing. Aliases carry the
 * 12-character short ID (API ≤ 1.44), which spares compose a disconnect and
 * reconnect per container.
 *
 * References: Docker Engine API v1.44 (ContainerSummary, ContainerInspect,
 * NetworkSettings, EndpointSettings, MountPoint); moby v28.2.2
 * daemon/inspect.go, container/view.go; research notes
 * /work/shared/research/docker-api.md §4 "Fields compose reads", §6 rows 3, 5.
 */
import type { ContainerConfig } from "../container/config.ts";
import type { CreatePlan } from "./create_types.ts";
import { formatDockerTime, nanosOfIso, unixSeconds } from "./docker_time.ts";
import {
  type ContainerState,
  formatInspectState,
  formatStatusText,
  planContainerState,
  type StateFacts,
} from "./inspect_state.ts";

/** What an API create stored beside config.json. */
export type ApiCreateRecord = Pick<CreatePlan, "pending" | "session" | "given">;

/** A bridge network as its store knows it. */
export interface NetworkFacts {
  /** The network's Docker ID (64 hex), as the network endpoints name it. */
  id: string;
  /** The gateway: the subnet's first host address (network/network_config.ts). */
  gateway: string;
  /** The subnet's prefix length. */
  prefixLength: number;
  /** The container's MAC address on it; "" when unknown. */
  macAddress: string;
}

/** Everything a container's Docker JSON is made from. */
export interface ContainerFacts extends StateFacts {
  config: ContainerConfig;
  /**
   * The image as Docker shows it: the API create's `given.image`, else the
   * familiar form of `config.image` (oci/reference.ts familiarName and tag),
   * else (--rootfs) the root directory.
   */
  imageName: string;
  api?: ApiCreateRecord;
  /** For a bridge network: the network's facts. */
  network?: NetworkFacts;
  /** The init layer's files in the container directory (resolv.conf, hostname, hosts). */
  paths?: { resolvConf: string; hostname: string; hosts: string };
  /** Exec instances of this container still known. */
  execIds?: readonly string[];
}

/** The network a container is on: "none", "host", or the bridge network's name. */
function networkName(config: ContainerConfig): string {
  return config.bridge?.network ?? config.network;
}

/** `--expose` values (`80`, `53/udp`, `2000-2002/tcp`) → `"80/tcp"` keys. */
export function exposedKeys(text: string): string[] {
  const match = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/([a-z]+))?$/.exec(text);
  if (!match) return [];
  const first = Number(match[1]);
  const last = Math.min(match[2] === undefined ? first : Number(match[2]), first + 1023);
  const keys: string[] = [];
  for (let port = first; port <= last; port++) keys.push(`${port}/${match[3] ?? "tcp"}`);
  return keys;
}

/** `"80/tcp"` keys of published and exposed ports, published first. */
function portKeys(
  facts: ContainerFacts,
): { key: string; bindings: { ip: string; port: number }[] }[] {
  const ports = new Map<string, { ip: string; port: number }[]>();
  for (const p of facts.config.publish ?? []) {
    const key = `${p.containerPort}/${p.protocol}`;
    ports.set(key, [...ports.get(key) ?? [], { ip: p.hostIp, port: p.hostPort }]);
  }
  for (const key of (facts.config.exposedPorts ?? []).flatMap(exposedKeys)) {
    if (!ports.has(key)) ports.set(key, []);
  }
  return [...ports].map(([key, bindings]) => ({ key, bindings }));
}

/** Docker's Cmd and Entrypoint for inspect: as given when known, else the argv as Cmd. */
export function splitCommand(
  argv: readonly string[],
  given: ApiCreateRecord["given"] | undefined,
): { entrypoint: string[] | null; cmd: string[] | null } {
  const entry = given?.entrypoint;
  if (entry && entry.length > 0 && !(entry.length === 1 && entry[0] === "")) {
    const rest = argv.slice(entry.length);
    return { entrypoint: [...entry], cmd: rest.length > 0 ? rest : null };
  }
  const cmd = given?.cmd;
  if (entry === null && cmd && cmd.length > 0 && cmd.length <= argv.length) {
    const head = argv.slice(0, argv.length - cmd.length);
    return { entrypoint: head.length > 0 ? head : null, cmd: [...cmd] };
  }
  return { entrypoint: null, cmd: [...argv] };
}

/** `NetworkSettings.Networks`: one entry, the container's network. */
function formatNetworks(facts: ContainerFacts, state: ContainerState): Record<string, unknown> {
  const { config } = facts;
  const name = networkName(config);
  const bridge = config.bridge;
  const userNetwork = bridge !== undefined && bridge.network !== "bridge";
  const shortId = config.id.slice(0, 12);
  const given = bridge?.aliases ?? [];
  const aliases = userNetwork ? [...given, shortId] : null;
  const address = bridge?.address ?? "";
  return {
    [name]: {
      IPAMConfig: null,
      Links: null,
      Aliases: aliases,
      MacAddress: state.running ? facts.network?.macAddress ?? "" : "",
      DriverOpts: null,
      NetworkID: facts.network?.id ?? "",
      EndpointID: "",
      Gateway: facts.network?.gateway ?? "",
      IPAddress: address,
      IPPrefixLen: address === "" ? 0 : facts.network?.prefixLength ?? 0,
      IPv6Gateway: "",
      GlobalIPv6Address: "",
      GlobalIPv6PrefixLen: 0,
      DNSNames: userNetwork ? [config.name, shortId, ...given] : null,
    },
  };
}

/**
 * `Mounts`: bind mounts, then volumes (named and anonymous, docker's Type
 * "volume" with the volume's Name and its `_data` directory as Source); a
 * --tmpfs is in HostConfig.Tmpfs, as in docker.
 */
function formatMounts(facts: ContainerFacts): Record<string, unknown>[] {
  const volumes = facts.config.volumes;
  return [
    ...volumes.filter((v) => v.volume === undefined).map((v) => ({
      Type: "bind",
      Source: v.source,
      Destination: v.destination,
      Mode: v.readOnly ? "ro" : "",
      RW: !v.readOnly,
      Propagation: "rprivate",
    })),
    ...volumes.filter((v) => v.volume !== undefined).map((v) => ({
      Type: "volume",
      Name: v.volume,
      Source: v.source,
      Destination: v.destination,
      Driver: "local",
      Mode: v.readOnly ? "ro" : "",
      RW: !v.readOnly,
      Propagation: "",
    })),
  ];
}

/** An entry of `GET /containers/json`. */
export function formatContainerSummary(
  facts: ContainerFacts,
  nowNs: bigint,
): Record<string, unknown> {
  const { config } = facts;
  const state = planContainerState(facts);
  const ports = state.running
    ? portKeys(facts).flatMap(({ key, bindings }) => {
      const [port, type] = key.split("/");
      if (bindings.length === 0) return [{ PrivatePort: Number(port), Type: type }];
      return bindings.map((b) => ({
        IP: b.ip || "0.0.0.0",
        PrivatePort: Number(port),
        PublicPort: b.port,
        Type: type,
      }));
    })
    : [];
  return {
    Id: config.id,
    Names: [`/${config.name}`],
    Image: facts.imageName,
    ImageID: config.imageId ?? "",
    Command: config.command.join(" "),
    Created: unixSeconds(nanosOfIso(config.created)),
    Ports: ports,
    Labels: { ...config.labels },
    State: state.status,
    Status: formatStatusText(state, nowNs),
    HostConfig: { NetworkMode: networkName(config) },
    NetworkSettings: { Networks: formatNetworks(facts, state) },
    Mounts: formatMounts(facts),
  };
}

/** `HostConfig` of inspect: what the container was created with. */
function formatHostConfig(facts: ContainerFacts): Record<string, unknown> {
  const { config } = facts;
  const portBindings: Record<string, unknown> = {};
  for (const { key, bindings } of portKeys(facts)) {
    if (bindings.length > 0) {
      portBindings[key] = bindings.map((b) => ({ HostIp: b.ip, HostPort: String(b.port) }));
    }
  }
  const security = [
    ...(config.noNewPrivileges ? ["no-new-privileges"] : []),
    ...(config.seccomp?.kind === "unconfined" ? ["seccomp=unconfined"] : []),
  ];
  return {
    // Docker lists the binds and named volumes a client gave (anonymous ones are only in Mounts).
    Binds: config.volumes.filter((v) => !v.anonymous).map((v) =>
      `${v.volume ?? v.source}:${v.destination}${v.readOnly ? ":ro" : ""}`
    ),
    ContainerIDFile: "",
    LogConfig: { Type: "journald", Config: {} },
    NetworkMode: networkName(config),
    PortBindings: portBindings,
    RestartPolicy: {
      Name: config.restart.policy,
      MaximumRetryCount: config.restart.policy === "on-failure" ? config.restart.maxRetries : 0,
    },
    AutoRemove: config.autoRemove,
    VolumeDriver: "",
    VolumesFrom: null,
    ConsoleSize: facts.api?.session.consoleSize ?? [0, 0],
    CapAdd: null,
    CapDrop: null,
    Dns: config.dns?.servers ?? [],
    DnsOptions: config.dns?.options ?? [],
    DnsSearch: config.dns?.search ?? [],
    ExtraHosts: config.extraHosts?.length ? [...config.extraHosts] : null,
    IpcMode: "private",
    Links: null,
    PidMode: "",
    Privileged: config.privileged ?? false,
    PublishAllPorts: facts.api?.given.publishAll ?? false,
    ReadonlyRootfs: config.readOnlyRoot ?? false,
    SecurityOpt: security.length > 0 ? security : null,
    Tmpfs: Object.fromEntries((config.tmpfs ?? []).map((t) => [t.destination, t.data])),
    UTSMode: "",
    UsernsMode: "",
    Isolation: "",
    Memory: config.resources.memoryMax ?? 0,
    NanoCpus: (config.resources.cpuQuotaPerSecUSec ?? 0) * 1000,
    PidsLimit: config.resources.tasksMax ?? null,
    Init: config.init,
    MaskedPaths: null,
    ReadonlyPaths: null,
  };
}

/** `Config` of inspect: the container's configuration in docker's words. */
function formatConfig(facts: ContainerFacts): Record<string, unknown> {
  const { config, api } = facts;
  const { entrypoint, cmd } = splitCommand(config.command, api?.given);
  const exposed = Object.fromEntries(portKeys(facts).map(({ key }) => [key, {}]));
  const volumes = config.volumes.filter((v) => v.volume !== undefined).map((v) => v.destination);
  const health = config.healthcheck;
  const result: Record<string, unknown> = {
    Hostname: config.hostname,
    Domainname: "",
    User: config.user.uid === 0 && config.user.gid === 0
      ? ""
      : `${config.user.uid}:${config.user.gid}`,
    AttachStdin: api?.session.attachStdin ?? false,
    AttachStdout: api?.session.attachStdout ?? false,
    AttachStderr: api?.session.attachStderr ?? false,
    ExposedPorts: Object.keys(exposed).length > 0 ? exposed : null,
    Tty: config.tty,
    OpenStdin: config.interactive,
    StdinOnce: api?.session.stdinOnce ?? false,
    Env: config.env,
    Cmd: cmd,
    Image: facts.imageName,
    Volumes: volumes.length > 0 ? Object.fromEntries(volumes.map((d) => [d, {}])) : null,
    WorkingDir: config.workingDir,
    Entrypoint: entrypoint,
    OnBuild: null,
    Labels: { ...config.labels },
    StopSignal: config.stopSignal,
  };
  if (api?.given.stopTimeout !== null && api?.given.stopTimeout !== undefined) {
    result.StopTimeout = api.given.stopTimeout;
  }
  if (health) {
    result.Healthcheck = {
      Test: health.test,
      Interval: health.intervalMs * 1_000_000,
      Timeout: health.timeoutMs * 1_000_000,
      StartPeriod: health.startPeriodMs * 1_000_000,
      StartInterval: 0,
      Retries: health.retries,
    };
  }
  return result;
}

/** `NetworkSettings` of inspect; ports only while running, as docker. */
function formatNetworkSettings(
  facts: ContainerFacts,
  state: ContainerState,
): Record<string, unknown> {
  const ports: Record<string, unknown> = {};
  if (state.running) {
    for (const { key, bindings } of portKeys(facts)) {
      ports[key] = bindings.length === 0
        ? null
        : bindings.map((b) => ({ HostIp: b.ip || "0.0.0.0", HostPort: String(b.port) }));
    }
  }
  const networks = formatNetworks(facts, state);
  // The top-level address fields are the default bridge network's only (deprecated in docker).
  const onDefault = facts.config.bridge?.network === "bridge";
  const endpoint = Object.values(networks)[0] as Record<string, unknown>;
  return {
    Bridge: "",
    SandboxID: "",
    SandboxKey: "",
    HairpinMode: false,
    LinkLocalIPv6Address: "",
    LinkLocalIPv6PrefixLen: 0,
    Ports: ports,
    SecondaryIPAddresses: null,
    SecondaryIPv6Addresses: null,
    EndpointID: "",
    Gateway: onDefault ? endpoint.Gateway : "",
    GlobalIPv6Address: "",
    GlobalIPv6PrefixLen: 0,
    IPAddress: onDefault ? endpoint.IPAddress : "",
    IPPrefixLen: onDefault ? endpoint.IPPrefixLen : 0,
    IPv6Gateway: "",
    MacAddress: onDefault ? endpoint.MacAddress : "",
    Networks: networks,
  };
}

/** The document of `GET /containers/{id}/json`. */
export function formatContainerInspect(facts: ContainerFacts): Record<string, unknown> {
  const { config } = facts;
  const state = planContainerState(facts);
  return {
    Id: config.id,
    Created: formatDockerTime(nanosOfIso(config.created)),
    Path: config.command[0] ?? "",
    Args: config.command.slice(1),
    State: formatInspectState(state),
    Image: config.imageId ?? "",
    ResolvConfPath: facts.paths?.resolvConf ?? "",
    HostnamePath: facts.paths?.hostname ?? "",
    HostsPath: facts.paths?.hosts ?? "",
    LogPath: "",
    Name: `/${config.name}`,
    RestartCount: state.restartCount,
    Driver: "overlay",
    Platform: "linux",
    MountLabel: "",
    ProcessLabel: "",
    AppArmorProfile: "",
    ExecIDs: facts.execIds && facts.execIds.length > 0 ? [...facts.execIds] : null,
    HostConfig: formatHostConfig(facts),
    GraphDriver: { Name: "overlay", Data: { LowerDir: config.lowerDirs.join(":") } },
    Mounts: formatMounts(facts),
    Config: formatConfig(facts),
    NetworkSettings: formatNetworkSettings(facts, state),
  };
}

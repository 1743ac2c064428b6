/**
 * The options of a container request as docker-style arguments: the table
 * of `run`/`create` options (with their help lines) and the builder that
 * turns split arguments into {@link ContainerOptions}. The CLI's `run` and
 * `create` (src/cli/args.ts) and declared containers (systemd/
 * systemd/container_unit.ts translates a `.container` file into these arguments)
 * read the same grammar, so the two cannot drift.
 *
 * Values are syntactically validated with container/run_options.ts (memory in bytes,
 * volumes, signals, names...); anything that needs the file system or the
 * image (env files, user names, the rootfs path) stays a raw string.
 */
import { TsnspawnError } from "../errors.ts";
import type { ResourceLimits } from "./config.ts";
import { parsePublish } from "../network/published_ports.ts";
import {
  DEFAULT_NETWORK_MODE,
  type EnvLookup,
  parseCpus,
  parseCpuShares,
  parseCpuWeight,
  parseEnvAssignment,
  parseEnvName,
  parseMemory,
  parseNetwork,
  parseNetworkAlias,
  parsePidsLimit,
  parseRestart,
  parseSignal,
  parseStopTimeout,
  parseUser,
  parseVolume,
  parseWorkingDir,
  signalName,
  validateContainerName,
  validateHostname,
} from "./run_options.ts";
import {
  DOCKER_DEFAULT_CAPABILITIES,
  normalizeCapabilityName,
  resolveCapabilities,
} from "../security/capabilities.ts";
import { parseSecurityOptions, parseUserns } from "../security/options.ts";
import { parseTmpfs } from "./tmpfs.ts";
import { parseKeyValues } from "../labels.ts";
import { entrypointWords } from "./plan.ts";
import {
  type HealthOptions,
  parseCount,
  parseHealthCmd,
  parseHealthInterval,
  parseOnFailure,
  parseStartPeriod,
  positiveDuration,
} from "./health_options.ts";
import {
  isNetworkSysctl,
  parseAddHost,
  parseDnsOption,
  parseDnsSearch,
  parseDnsServer,
  parseExpose,
  parseMount,
  parseSdnotify,
  parseShmSize,
  parseSysctl,
  parseTimezone,
  parseUlimit,
} from "./extra_options.ts";
import type { ContainerOptions, PullPolicy, SystemdMode } from "./options.ts";
import { parseDetachKeys } from "./detach_keys.ts";
import {
  flag,
  list,
  nonEmpty,
  OptionReader,
  type OptionSpec,
  splitArgs,
  usage,
  value,
} from "../argv.ts";

/** Options shared by `run` and `create` (run adds -d). */
export const CONTAINER_OPTIONS: OptionSpec[] = [
  value("name", undefined, "NAME", "name the container (default: a generated adjective_noun)"),
  flag("rm", undefined, "remove the container when it stops"),
  flag("interactive", "i", "keep stdin open"),
  flag("tty", "t", "allocate a terminal"),
  list(
    "env",
    "e",
    "KEY[=VALUE]",
    "set an environment variable; KEY alone copies it from this environment",
  ),
  list("env-file", undefined, "FILE", "read environment variables from a file"),
  value("workdir", "w", "DIR", "working directory in the container"),
  value("user", "u", "USER[:GROUP]", "user (name or uid) and group to run as"),
  value("hostname", undefined, "NAME", "hostname of the container"),
  list("volume", "v", "HOST:CTR[:ro]", "bind-mount a host directory"),
  value("memory", "m", "SIZE", "memory limit, e.g. 512m (MemoryMax=)"),
  value("cpus", undefined, "N", "CPU limit in CPUs, e.g. 1.5 (CPUQuota=)"),
  value("pids-limit", undefined, "N", "maximum number of tasks, -1 for unlimited (TasksMax=)"),
  value("cpu-weight", undefined, "N", "relative CPU weight 1..10000 (CPUWeight=)"),
  value("cpu-shares", "c", "N", "docker CPU shares 2..262144, converted to a CPU weight"),
  value("restart", undefined, "POLICY", "no, on-failure[:N], always or unless-stopped"),
  value(
    "stop-timeout",
    undefined,
    "SECONDS",
    "seconds to wait after the stop signal before SIGKILL",
  ),
  value("stop-signal", undefined, "SIGNAL", "signal that stops the container (default SIGTERM)"),
  value(
    "network",
    undefined,
    "NETWORK",
    "bridge (default), none (loopback only), host, or a network's name",
  ),
  list("network-alias", undefined, "NAME", "another name of the container on its network"),
  flag(
    "publish-all",
    "P",
    "publish every exposed port (the image's and --expose) on a random host port",
  ),
  list("unsetenv", undefined, "NAME", "remove a variable from the environment (the image's too)"),
  list(
    "publish",
    "p",
    "[IP:]H:C",
    "publish container port C on host port H (/udp, ranges: 8080-8081:80-81)",
  ),
  list("cap-add", undefined, "CAP", "add a capability (or ALL)"),
  list("cap-drop", undefined, "CAP", "drop a capability (or ALL)"),
  flag("init", undefined, "run an init that forwards signals and reaps zombies as PID 1"),
  list("security-opt", undefined, "OPT", "seccomp=unconfined|FILE.json, no-new-privileges[=false]"),
  flag(
    "privileged",
    undefined,
    "DANGEROUS: all capabilities and devices, no seccomp or masked paths",
  ),
  flag("read-only", undefined, "read-only root file system (/tmp and /run stay writable tmpfs)"),
  list("tmpfs", undefined, "PATH[:OPTS]", "mount a tmpfs, e.g. /run:size=64m,mode=755"),
  value("userns", undefined, "MODE", "user namespace: host (the only mode so far)"),
  value("rootfs", undefined, "DIR", "run from a root file system directory instead of an image"),
  value(
    "entrypoint",
    undefined,
    "CMD",
    'override the image\'s entrypoint ("" = none; a JSON array = several words)',
  ),
  value(
    "systemd",
    undefined,
    "true|false|always",
    "systemd mode: true = when the command is an init (default), always, false",
  ),
  flag("boot", undefined, "boot the image's init (systemd); arguments after the image go to it"),
  value(
    "detach-keys",
    undefined,
    "KEYS",
    "keys that detach from the terminal (default ctrl-p,ctrl-q)",
  ),
  flag("dry-run", undefined, "print what would be done and stop"),
  value("pull", undefined, "POLICY", "pull the image: missing (default), always or never"),
  value(
    "platform",
    undefined,
    "OS/ARCH",
    "platform to pull, e.g. linux/arm64 (default: the host's)",
  ),
  list("label", "l", "KEY=VALUE", "set a label on the container"),
  list("label-file", undefined, "FILE", "read labels from a file of KEY=VALUE lines"),
  list("annotation", undefined, "KEY=VALUE", "set an annotation (stored, shown by inspect)"),
  list(
    "mount",
    undefined,
    "SPEC",
    "mount a bind, volume or tmpfs, e.g. type=volume,src=data,dst=/data",
  ),
  value(
    "health-cmd",
    undefined,
    "CMD",
    "health check command (JSON array = exec form; none = off)",
  ),
  value(
    "health-interval",
    undefined,
    "TIME",
    "time between health checks (default 30s; disable = no timer)",
  ),
  value("health-timeout", undefined, "TIME", "a health check running longer fails (default 30s)"),
  value("health-retries", undefined, "N", "consecutive failures before unhealthy (default 3)"),
  value(
    "health-start-period",
    undefined,
    "TIME",
    "failures during this time after start do not count",
  ),
  value(
    "health-on-failure",
    undefined,
    "ACTION",
    "when unhealthy: none (default), kill, restart or stop",
  ),
  value("health-max-log-count", undefined, "N", "health check results kept (default 5, 0 = all)"),
  value(
    "health-max-log-size",
    undefined,
    "N",
    "characters of output kept per result (default 500, 0 = all)",
  ),
  flag("no-healthcheck", undefined, "no health check, not even the image's"),
  value(
    "sdnotify",
    undefined,
    "MODE",
    "what makes the unit started: ready (default), container (its READY=1) or healthy",
  ),
  list("dns", undefined, "ADDRESS", "DNS server in the container's resolv.conf"),
  list("dns-search", undefined, "DOMAIN", "DNS search domain ('.' = none)"),
  list("dns-option", undefined, "OPTION", "resolv.conf option, e.g. ndots:2"),
  list("add-host", undefined, "NAME:ADDRESS", "add a line to the container's /etc/hosts"),
  list("expose", undefined, "PORT[/PROTO]", "record a port the container listens on"),
  value("shm-size", undefined, "SIZE", "size of /dev/shm (default 64m)"),
  list(
    "sysctl",
    undefined,
    "NAME=VALUE",
    "set a namespaced kernel parameter (net.*, kernel.shm*, ...)",
  ),
  value("tz", undefined, "ZONE", "time zone: local or a name like Europe/Berlin"),
  flag(
    "read-only-tmpfs",
    undefined,
    "with --read-only: writable tmpfs on /tmp and /run (default true)",
  ),
  list("ulimit", undefined, "NAME=SOFT[:HARD]", "resource limit, e.g. nofile=1024:4096"),
  flag("env-host", undefined, "start from this environment (before --env-file and -e)"),
];

/** `run --pull`. */
function parsePullPolicy(text: string): PullPolicy {
  if (text === "missing" || text === "always" || text === "never") return text;
  throw new TsnspawnError(
    "invalid",
    `pull policy ${JSON.stringify(text)}: not missing, always or never`,
    {
      hint: "e.g. --pull always",
    },
  );
}

/** `--systemd`: podman's three values. */
function parseSystemdMode(text: string): SystemdMode {
  if (text === "true" || text === "false" || text === "always") return text;
  throw new TsnspawnError(
    "invalid",
    `systemd mode ${JSON.stringify(text)}: not true, false or always`,
    { hint: "--systemd=always runs any command in systemd mode, --systemd=false never" },
  );
}

/**
 * Builds the options of `command` from its split arguments: the image (or
 * --rootfs) and the command from the positionals, every option validated.
 */
export function buildContainerOptions(
  command: "run" | "create",
  o: OptionReader,
  positionals: string[],
  lookupEnv: EnvLookup,
  hostCpus: number | undefined,
): ContainerOptions {
  const rootfs = o.parsed("rootfs", (s) => nonEmpty("--rootfs", s, command));
  let image: string | undefined;
  let cmd: string[];
  if (rootfs !== undefined) {
    cmd = positionals;
  } else {
    if (positionals.length === 0) {
      throw usage(`${command} needs an IMAGE (or --rootfs DIR)`, command);
    }
    image = nonEmpty("IMAGE", positionals[0], command);
    cmd = positionals.slice(1);
  }
  if (o.flag("boot") && o.has("entrypoint")) {
    throw usage(`conflicting options for ${command}: --boot and --entrypoint`, command);
  }
  if (o.flag("boot") && o.value("systemd") === "false") {
    throw usage(`conflicting options for ${command}: --boot and --systemd=false`, command);
  }
  if (o.has("cpu-weight") && o.has("cpu-shares")) {
    throw usage(`conflicting options for ${command}: --cpu-weight and --cpu-shares`, command);
  }
  const restart = o.parsed("restart", parseRestart) ?? { policy: "no", maxRetries: 0 };
  const autoRemove = o.flag("rm");
  if (autoRemove && restart.policy !== "no") {
    throw usage(`conflicting options for ${command}: --restart and --rm`, command);
  }
  o.parsed("userns", parseUserns); // validated only: "host" is the only mode so far
  const capAdd = o.list("cap-add").map(normalizeCapabilityOption);
  const capDrop = o.list("cap-drop").map(normalizeCapabilityOption);
  const resources: ResourceLimits = {};
  const memory = o.parsed("memory", parseMemory);
  if (memory !== undefined) resources.memoryMax = memory;
  const cpus = o.parsed("cpus", (s) => parseCpus(s, hostCpus));
  if (cpus !== undefined) resources.cpuQuotaPerSecUSec = cpus;
  const pids = o.parsed("pids-limit", parsePidsLimit);
  if (pids !== undefined) resources.tasksMax = pids;
  const weight = o.parsed("cpu-weight", parseCpuWeight) ?? o.parsed("cpu-shares", parseCpuShares);
  if (weight !== undefined) resources.cpuWeight = weight;

  // --mount adds to the mounts -v and --tmpfs make.
  const mounts = o.list("mount").map(parseMount);
  const volumes = [
    ...o.list("volume").map(parseVolume),
    ...mounts.flatMap((m) => ("volume" in m ? [m.volume] : [])),
  ];
  const tmpfs = [
    ...o.list("tmpfs").map(parseTmpfs),
    ...mounts.flatMap((m) => ("tmpfs" in m ? [m.tmpfs] : [])),
  ];
  const network = o.parsed("network", parseNetwork) ?? DEFAULT_NETWORK_MODE;
  const sysctls = Object.fromEntries(o.list("sysctl").map(parseSysctl));
  if (network === "host" && Object.keys(sysctls).some(isNetworkSysctl)) {
    throw usage(`conflicting options for ${command}: --sysctl net.* and --network host`, command);
  }
  const health = parseHealthOptions(o);
  const noHealthcheck = o.flag("no-healthcheck") || health.test?.[0] === "NONE";
  const sdnotify = o.parsed("sdnotify", parseSdnotify);
  if (sdnotify === "healthy" && noHealthcheck) {
    throw usage(
      `conflicting options for ${command}: --sdnotify=healthy and no health check`,
      command,
    );
  }
  const dns = {
    ...(o.has("dns") ? { servers: o.list("dns").map(parseDnsServer) } : {}),
    ...(o.has("dns-search") ? { search: o.list("dns-search").map(parseDnsSearch) } : {}),
    ...(o.has("dns-option") ? { options: o.list("dns-option").map(parseDnsOption) } : {}),
  };

  const options: ContainerOptions = {
    detach: o.flag("detach"),
    autoRemove,
    interactive: o.flag("interactive"),
    tty: o.flag("tty"),
    env: o.list("env").flatMap((e) => parseEnvAssignment(e, lookupEnv) ?? []),
    envFiles: o.list("env-file").map((f) => nonEmpty("--env-file", f, command)),
    volumes,
    resources,
    restart,
    network,
    publish: o.list("publish").flatMap(parsePublish),
    networkAliases: o.list("network-alias").map(parseNetworkAlias),
    publishAll: o.flag("publish-all"),
    unsetEnv: o.list("unsetenv").map(parseEnvName),
    capAdd,
    capDrop,
    // --privileged: every capability, whatever --cap-add/--cap-drop say (as docker).
    capabilities: o.flag("privileged")
      ? resolveCapabilities(DOCKER_DEFAULT_CAPABILITIES, ["ALL"], [])
      : resolveCapabilities(DOCKER_DEFAULT_CAPABILITIES, capAdd, capDrop),
    init: o.flag("init"),
    security: parseSecurityOptions(o.list("security-opt")),
    privileged: o.flag("privileged"),
    readOnly: o.flag("read-only"),
    tmpfs,
    dryRun: o.flag("dry-run"),
    boot: o.flag("boot"),
    command: cmd,
    labels: parseKeyValues(o.list("label")),
    labelFiles: o.list("label-file").map((f) => nonEmpty("--label-file", f, command)),
    annotations: parseKeyValues(o.list("annotation"), "annotation"),
    health: noHealthcheck ? {} : health,
    noHealthcheck,
    extraHosts: o.list("add-host").map(parseAddHost),
    expose: o.list("expose").map(parseExpose),
    sysctls,
    ulimits: o.list("ulimit").map(parseUlimit),
    envHost: o.flag("env-host"),
  };
  // Optional values are only set when given, so objects compare and print cleanly.
  const optional: Partial<ContainerOptions> = {
    name: o.parsed("name", validateContainerName),
    workdir: o.parsed("workdir", parseWorkingDir),
    user: o.parsed("user", parseUser),
    hostname: o.parsed("hostname", validateHostname),
    stopTimeoutSec: o.parsed("stop-timeout", parseStopTimeout),
    stopSignal: o.parsed("stop-signal", (s) => signalName(parseSignal(s))),
    rootfs,
    entrypoint: o.parsed("entrypoint", (e) => (entrypointWords(e), e)),
    image,
    pull: o.parsed("pull", parsePullPolicy),
    platform: o.parsed("platform", (s) => nonEmpty("--platform", s, command)),
    sdnotify,
    dns: Object.keys(dns).length > 0 ? dns : undefined,
    shmSizeBytes: o.parsed("shm-size", parseShmSize),
    timezone: o.parsed("tz", parseTimezone),
    readOnlyTmpfs: o.has("read-only-tmpfs") && !o.flag("read-only-tmpfs") ? false : undefined,
    systemd: o.parsed("systemd", parseSystemdMode),
    detachKeys: o.parsed("detach-keys", (s) => (parseDetachKeys(s), s)),
  };
  for (const [key, v] of Object.entries(optional)) {
    if (v !== undefined) (options as unknown as Record<string, unknown>)[key] = v;
  }
  return options;
}

/** The --health-* options, each validated. */
function parseHealthOptions(o: OptionReader): HealthOptions {
  const health: HealthOptions = {};
  const test = o.parsed("health-cmd", parseHealthCmd);
  if (test) health.test = test;
  const interval = o.parsed("health-interval", parseHealthInterval);
  if (interval !== undefined) health.intervalMs = interval;
  const timeout = o.parsed("health-timeout", (s) => positiveDuration(s, "health timeout"));
  if (timeout !== undefined) health.timeoutMs = timeout;
  const retries = o.parsed("health-retries", (s) => parseCount(s, "health retries", 1));
  if (retries !== undefined) health.retries = retries;
  const start = o.parsed("health-start-period", parseStartPeriod);
  if (start !== undefined) health.startPeriodMs = start;
  const onFailure = o.parsed("health-on-failure", parseOnFailure);
  if (onFailure) health.onFailure = onFailure;
  const count = o.parsed("health-max-log-count", (s) => parseCount(s, "health max log count", 0));
  if (count !== undefined) health.maxLogCount = count;
  const size = o.parsed("health-max-log-size", (s) => parseCount(s, "health max log size", 0));
  if (size !== undefined) health.maxLogSize = size;
  return health;
}

/** `--cap-add`/`--cap-drop` value → canonical name or "ALL". */
function normalizeCapabilityOption(name: string): string {
  const upper = name.trim().toUpperCase();
  return upper === "ALL" || upper === "CAP_ALL" ? "ALL" : normalizeCapabilityName(name);
}

/** Options of {@link parseContainerArgs}. */
export interface ContainerArgsContext {
  /** Where `-e KEY` looks KEY up (declared containers: nowhere). */
  lookupEnv: EnvLookup;
  /** The host's CPUs, the bound of --cpus. */
  hostCpus?: number;
}

/** Parses the words after `create` (options, `--`, IMAGE, COMMAND...) into its options. */
export function parseContainerArgs(
  words: string[],
  context: ContainerArgsContext,
): ContainerOptions {
  const raw = splitArgs(
    { name: "create", options: CONTAINER_OPTIONS, stopAtFirstPositional: true },
    words,
  );
  return buildContainerOptions(
    "create",
    new OptionReader(raw),
    raw.positionals,
    context.lookupEnv,
    context.hostCpus,
  );
}

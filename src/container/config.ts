/**
 * The container configuration: everything the CLI resolved at `create`/`run`
 * time, written once to `<container dir>/config.json` and read by the shim,
 * stage two, `exec` and the cleanup. It is the contract between the CLI side
 * (which validates) and the runtime side (which trusts it and applies it).
 * All paths in it are absolute host paths unless named "in the container".
 */

import type { SeccompSetting } from "../security/options.ts";
import type { OciRunConfig } from "../oci/types.ts";

/** Per-mount flags of a planned mount (container/mount_plan.ts) and of a `--tmpfs` mount. */
export type MountFlag = "ro" | "nosuid" | "nodev" | "noexec" | "strictatime";

/** A `--tmpfs` mount. */
export interface TmpfsMount {
  /** Absolute path in the container. */
  destination: string;
  /** Per-mount flags. */
  flags: MountFlag[];
  /** tmpfs data options (size=, mode=, uid=, gid=, nr_inodes=, nr_blocks=), comma-separated. */
  data: string;
}

/**
 * A bind mount into the container: of a host path (`-v HOST:CTR[:ro]`), or
 * of a volume's content (`-v NAME:CTR`, `-v CTR`, the image's VOLUME;
 * src/volume/).
 */
export interface VolumeMount {
  /**
   * Absolute host path: the bind source, or a volume's `_data` directory.
   * Empty in a request for a volume: `create` fills it in.
   */
  source: string;
  /** Absolute path in the container. */
  destination: string;
  /** Read-only bind (remounted MS_RDONLY). */
  readOnly: boolean;
  /** The volume mounted here (named or anonymous); absent = a host path. */
  volume?: string;
  /** An anonymous volume (`-v CTR`, the image's VOLUME): removed with the container by `rm -v` and `--rm`. */
  anonymous?: boolean;
  /**
   * Copy what the image has at the destination into the volume when the
   * volume is empty (docker's copy-up; `nocopy` turns it off). Volumes only.
   */
  copyUp?: boolean;
}

/**
 * A health check (`--health-*`, or the image's Healthcheck): docker's
 * semantics, run by a systemd timer (src/health/).
 */
export interface HealthCheck {
  /** `["CMD", argv...]` or `["CMD-SHELL", command]` (docker's Test). */
  test: string[];
  /** Between the end of one check and the next; 0 = no timer (only `healthcheck run`). */
  intervalMs: number;
  /** A check running longer fails. */
  timeoutMs: number;
  /** Consecutive failures that make the container unhealthy. */
  retries: number;
  /** Failures during this time after the start do not count (until a first success). */
  startPeriodMs: number;
  /** What happens when the container turns unhealthy. */
  onFailure: "none" | "kill" | "restart" | "stop";
  /** How many results the state keeps (podman's max-log-count; 0 = all). */
  maxLogCount: number;
  /** Characters of output kept per result (podman's max-log-size; 0 = all). */
  maxLogSize: number;
}

/** `--dns`, `--dns-search`, `--dns-option`: the container's resolv.conf instead of the host's. */
export interface DnsSettings {
  servers?: string[];
  search?: string[];
  options?: string[];
}

/** cgroup limits, already converted to systemd units. Absent = unlimited. */
export interface ResourceLimits {
  /** MemoryMax= in bytes. */
  memoryMax?: number;
  /** CPUQuotaPerSecUSec= in microseconds of CPU per second (0.5 CPUs = 500000). */
  cpuQuotaPerSecUSec?: number;
  /** TasksMax= (pids limit). */
  tasksMax?: number;
  /** CPUWeight= (1..10000). */
  cpuWeight?: number;
}

/** `--restart` policy as systemd understands it. */
export interface RestartPolicy {
  /** Restart= value: "no" | "on-failure" | "always". */
  policy: "no" | "on-failure" | "always";
  /** on-failure:N — restart at most N times (0 = unlimited). */
  maxRetries: number;
}

/**
 * A published port (`-p [IP:]HOSTPORT:CTRPORT[/PROTO]`), one per port: a
 * range given on the command line is expanded.
 */
export interface PublishedPort {
  /** Host address to bind ("" = every local address, docker's 0.0.0.0). IPv4 only. */
  hostIp: string;
  /** Port on the host, 1..65535. */
  hostPort: number;
  /** Port in the container, 1..65535. */
  containerPort: number;
  /** Transport protocol. */
  protocol: "tcp" | "udp";
}

/** A container's place on a bridge network (network "bridge" mode). */
export interface BridgeAttachment {
  /** The network's name ("bridge" is the default network). */
  network: string;
  /** The container's IPv4 address, leased from the network's pool at create time. */
  address: string;
  /** `--network-alias`: more names of the container on the network (its hosts file). */
  aliases?: string[];
}

/** How long an OS container (systemd mode) may take to boot before its start fails. */
export const BOOT_TIMEOUT_MS = 90_000;

/** Version of the config.json schema. */
export const CONTAINER_CONFIG_VERSION = 1;

/** What `config.json` holds. */
export interface ContainerConfig {
  version: typeof CONTAINER_CONFIG_VERSION;
  /** Validated container name ([a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}). */
  name: string;
  /** 64 lowercase hex characters, random. */
  id: string;
  /** Creation time, ISO 8601. */
  created: string;
  /** The image reference as given (normalized), or null with --rootfs. */
  image: string | null;
  /** The image ID (sha256:... of its config), or null with --rootfs. */
  imageId: string | null;
  /**
   * Read-only lower directories of the root overlay, topmost first
   * (overlayfs lowerdir order). With --rootfs it is [that directory].
   */
  lowerDirs: string[];
  /** Final argv: entrypoint + command. Never empty. */
  command: string[];
  /** Environment as KEY=VALUE, in order, without duplicates. */
  env: string[];
  /** Working directory in the container (absolute). */
  workingDir: string;
  /** User to run as in the container (numeric, already resolved). */
  user: { uid: number; gid: number };
  /** UTS hostname (defaults to the first 12 characters of the id). */
  hostname: string;
  /** Bind mounts from the host. */
  volumes: VolumeMount[];
  /**
   * Network mode: "none" (own network namespace, loopback only), "host" (the
   * host's namespace) or "bridge" (own namespace, eth0 on a bridge network).
   */
  network: "none" | "host" | "bridge";
  /** With network "bridge": which network and which address. */
  bridge?: BridgeAttachment;
  /** Published ports (bridge mode only); absent = none. */
  publish?: PublishedPort[];
  /** Capability names kept in all sets, e.g. "CAP_CHOWN". */
  capabilities: string[];
  /** Set PR_SET_NO_NEW_PRIVS before execve (default true). */
  noNewPrivileges: boolean;
  /**
   * The seccomp filter (`--security-opt seccomp=...`, `--privileged`): docker's
   * default profile, none, or a custom profile stored in full. Absent (configs
   * written before seccomp existed) = the default profile.
   */
  seccomp?: SeccompSetting;
  /**
   * `--privileged`: every capability, no seccomp, no masked or read-only
   * kernel paths, read-write /sys, the host's devices. Dangerous. Absent = false.
   */
  privileged?: boolean;
  /** `--read-only`: the root overlay is mounted read-only (tmpfs /tmp and /run stay writable). */
  readOnlyRoot?: boolean;
  /** `--tmpfs` mounts, in the order given. Absent = none. */
  tmpfs?: TmpfsMount[];
  /** Run a reaping init (tini) as PID 1 with the command as its child. */
  init: boolean;
  /** Attach a terminal (-t). */
  tty: boolean;
  /** Keep stdin open (-i). */
  interactive: boolean;
  /** cgroup limits. */
  resources: ResourceLimits;
  /** Restart policy. */
  restart: RestartPolicy;
  /** Seconds between stop signal and SIGKILL (docker default 10). */
  stopTimeoutSec: number;
  /** Signal name sent to stop, e.g. "SIGTERM" (from the image's StopSignal). */
  stopSignal: string;
  /** --rm: remove the container when it stops. */
  autoRemove: boolean;
  /**
   * The id of the build that runs this container as a RUN step (src/build/).
   * The build holds `<root>/tmp/build-<id>.lock` while it lives; once that
   * lock is free `tsnspawn check` removes the container. Absent = not a build's.
   */
  build?: string;
  /** --label (and the image's labels, overridden by --label). Absent = none. */
  labels?: Record<string, string>;
  /** --annotation: stored, shown by inspect. Absent = none. */
  annotations?: Record<string, string>;
  /** The health check (--health-*, or the image's). Absent = none. */
  healthcheck?: HealthCheck;
  /**
   * --sdnotify: what makes the unit "started". Absent = the runtime, once the
   * command runs ("ready"); "container" = the container's own READY=1 through
   * $NOTIFY_SOCKET; "healthy" = the first passing health check.
   */
  sdnotify?: "container" | "healthy";
  /** --dns, --dns-search, --dns-option, as written into resolv.conf. Absent = the host's. */
  dns?: DnsSettings;
  /** --add-host `name:address` entries, added to the container's /etc/hosts. */
  extraHosts?: string[];
  /** --expose: ports the container says it listens on (recorded; nothing is opened). */
  exposedPorts?: string[];
  /** --shm-size: bytes of /dev/shm. Absent = 64 MiB. */
  shmSizeBytes?: number;
  /** --sysctl: namespaced kernel parameters set in the container's namespaces. */
  sysctls?: Record<string, string>;
  /** --tz: "local" (the host's /etc/localtime) or a zone of the host's /usr/share/zoneinfo. */
  timezone?: string;
  /** --read-only-tmpfs=false: no writable tmpfs on /tmp and /run with --read-only. */
  readOnlyTmpfs?: false;
  /** --ulimit: resource limits of the container's processes (setrlimit names without RLIMIT_). */
  ulimits?: Ulimit[];
  /**
   * systemd mode: the command is an init that boots an OS (container/plan.ts
   * detectSystemd). It gets the container interface of systemd.io
   * (container=, /run/host/container-manager), tmpfs /run, /run/lock, /tmp,
   * its cgroup subtree writable, its own machine id and a console, and the
   * unit waits for its READY=1. Absent = false.
   */
  systemd?: boolean;
  /**
   * The container's configuration as docker keeps it (Cmd, Entrypoint, Env,
   * WorkingDir, User, ExposedPorts, Labels, Volumes, StopSignal): what
   * `commit` records (container/plan.ts planRunConfig). Absent in configs
   * written before it existed: `commit` then keeps the image's.
   */
  runConfig?: OciRunConfig;
}

/** One `--ulimit NAME=SOFT[:HARD]`. */
export interface Ulimit {
  /** The systemd property name, e.g. "NOFILE" (LimitNOFILE=). */
  name: string;
  soft: number;
  hard: number;
}

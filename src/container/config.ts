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

/** A bind mount of a host path into the container (`-v HOST:CTR[:ro]`). */
export interface VolumeMount {
  /** Absolute host path. */
  source: string;
  /** Absolute path in the container. */
  destination: string;
  /** Read-only bind (remounted MS_RDONLY). */
  readOnly: boolean;
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

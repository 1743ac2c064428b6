/**
 * What a front end asks for when it creates a container: the options of
 * `run`/`create` (the CLI's command line, a declared container's
 * `.container` file through the same grammar, the Docker API's create body),
 * validated but not yet resolved against the image or the host. The CLI's
 * grammar is src/cli/args.ts; the plan from these options is plan.ts, the
 * creation ops/create.ts.
 */
import type {
  DnsSettings,
  PublishedPort,
  ResourceLimits,
  RestartPolicy,
  TmpfsMount,
  Ulimit,
  VolumeMount,
} from "./config.ts";
import type { HealthOptions } from "./health_options.ts";
import type { UserSpec } from "./run_options.ts";
import type { SecurityOptions } from "../security/options.ts";

/** The options of `run` and `create`, validated but not resolved against the image. */
export interface ContainerOptions {
  /** --name (validated); undefined = generate one. */
  name?: string;
  /** -d: do not attach (always false for create). */
  detach: boolean;
  /** --rm: remove the container when it stops. */
  autoRemove: boolean;
  /** -i: keep stdin open. */
  interactive: boolean;
  /** -t: allocate a terminal. */
  tty: boolean;
  /** -e, resolved against the caller's environment (`-e K` with K unset is left out); applied after the env files. */
  env: string[];
  /** --env-file paths, raw; read by the command, in order, before `env`. */
  envFiles: string[];
  /** -w: absolute, normalized working directory in the container. */
  workdir?: string;
  /** -u: user and group as given (resolved with the image's /etc/passwd later). */
  user?: UserSpec;
  /** --hostname (validated). */
  hostname?: string;
  /** -v bind mounts. */
  volumes: VolumeMount[];
  /** --memory, --cpus, --pids-limit, --cpu-weight/--cpu-shares, already in systemd units. */
  resources: ResourceLimits;
  /** --restart (default no). */
  restart: RestartPolicy;
  /** --stop-timeout seconds; undefined = the default (10). */
  stopTimeoutSec?: number;
  /** --stop-signal as a canonical name (SIGTERM); undefined = the image's or SIGTERM. */
  stopSignal?: string;
  /** --network: "bridge" (the default), "none", "host" or a network's name. */
  network: string;
  /** -p/--publish, one entry per port (ranges expanded). */
  publish: PublishedPort[];
  /** -P/--publish-all: every exposed port on a random host port. */
  publishAll: boolean;
  /** --network-alias: more names on a bridge network (validated). */
  networkAliases: string[];
  /** --unsetenv: names removed from the environment, the image's included. */
  unsetEnv: string[];
  /** --cap-add names, canonical (CAP_X) or "ALL". */
  capAdd: string[];
  /** --cap-drop names, canonical (CAP_X) or "ALL". */
  capDrop: string[];
  /** The resulting capability set: docker's default with capAdd/capDrop applied. */
  capabilities: string[];
  /** --init: run a reaping init as PID 1. */
  init: boolean;
  /** --security-opt values (seccomp, no-new-privileges), folded; empty = defaults. */
  security: SecurityOptions;
  /** --privileged: all capabilities, no seccomp, no masked paths, all devices. */
  privileged: boolean;
  /** --read-only: read-only root file system. */
  readOnly: boolean;
  /** --tmpfs mounts. */
  tmpfs: TmpfsMount[];
  /** --rootfs directory, raw (not resolved); then there is no image. */
  rootfs?: string;
  /** --entrypoint, raw ("" resets the image's entrypoint). */
  entrypoint?: string;
  /**
   * --systemd: "true" (the default) runs an OS container in systemd mode when
   * the command is an init (podman's detection), "always" whatever the
   * command, "false" never (container/plan.ts detectSystemd).
   */
  systemd?: SystemdMode;
  /** --boot (`tsnspawn boot`): run the image's init, the arguments after the image go to it. */
  boot: boolean;
  /** --detach-keys: the key sequence that detaches an attached terminal (docker's syntax). */
  detachKeys?: string;
  /** --dry-run: print the plan, change nothing. */
  dryRun: boolean;
  /** The image reference, raw; undefined with --rootfs. */
  image?: string;
  /** The command and its arguments after the image (may be empty: the image's default). */
  command: string[];
  /** --pull: when to pull the image (undefined = missing). */
  pull?: PullPolicy;
  /** --platform for a pull, raw ("linux/amd64"). */
  platform?: string;
  /** Not a command-line option: the build this container is a RUN step of (config.ts `build`). */
  build?: string;
  /** --label KEY=VALUE (and --label-file contents: read by create, before these). */
  labels: Record<string, string>;
  /** --label-file paths, raw; read at create. */
  labelFiles: string[];
  /** --annotation KEY=VALUE. */
  annotations: Record<string, string>;
  /** --health-* options (the image's Healthcheck fills in the rest at create). */
  health: HealthOptions;
  /** --no-healthcheck: no health check, not even the image's. */
  noHealthcheck: boolean;
  /** --sdnotify=container|healthy (undefined = ready: the runtime's). */
  sdnotify?: "container" | "healthy";
  /** --dns, --dns-search, --dns-option (undefined = the host's resolv.conf). */
  dns?: DnsSettings;
  /** --add-host NAME:ADDRESS. */
  extraHosts: string[];
  /** --expose PORT[/PROTO] (recorded). */
  expose: string[];
  /** --shm-size in bytes. */
  shmSizeBytes?: number;
  /** --sysctl NAME=VALUE, namespaced parameters only. */
  sysctls: Record<string, string>;
  /** --tz: local or a zone name. */
  timezone?: string;
  /** --read-only-tmpfs=false. */
  readOnlyTmpfs?: false;
  /** --ulimit. */
  ulimits: Ulimit[];
  /** --env-host: the creating process's environment first (before env files and -e). */
  envHost: boolean;
}

/** `run --pull`: pull when the image is missing (default), always, or never. */
export type PullPolicy = "missing" | "always" | "never";

/** `--systemd`: when a container runs in systemd mode (podman's values). */
export type SystemdMode = "true" | "false" | "always";

/**
 * What the mapping of `POST /containers/create` produces (types only): the
 * arguments of the CLI's own `create` grammar, the options the CLI does not
 * have yet ({@link PendingCreateOptions}), the attach session, and what
 * the client wrote for inspect to echo.
 *
 * The arguments go through `parseContainerArgs` (src/container/run_args.ts,
 * the grammar of `tsnspawn create` and of declared containers) with
 * `lookupEnv: () => undefined`, giving the same `ContainerOptions`
 * (src/container/options.ts) the CLI gives and the same validation, so the
 * API and the CLI cannot drift apart (the way systemd/container_unit.ts
 * turns a `.container` file into those arguments).
 *
 * References: Docker Engine API v1.44 `POST /containers/create`; research
 * notes /work/shared/research/docker-api.md §5 ("the same struct the
 * `podman create` flags fill") and §8.
 */
import type { ContainerOptions } from "../container/options.ts";

/** A named (or anonymous) volume a container asks for: `-v NAME:/path` (issues 13 and 14). */
export interface NamedVolumeMount {
  /** The volume's name; "" for an anonymous volume (`Mounts` type volume without Source). */
  name: string;
  /** Absolute path in the container. */
  destination: string;
  readOnly: boolean;
  /** `nocopy`: do not copy the image's files at that path into a new, empty volume. */
  noCopy: boolean;
  /** `VolumeOptions.Labels` for a volume created on first use. */
  labels: Record<string, string>;
  /** `VolumeOptions.DriverConfig.Options` of the "local" driver, for a volume created on first use. */
  driverOptions: Record<string, string>;
}

/** `Config.Healthcheck` (nanoseconds as docker sends them; 0 = the image's or the default). */
export interface HealthcheckSpec {
  /** `["NONE"]` (disable), `["CMD", prog, args...]`, `["CMD-SHELL", command]`, or `[]` (the image's). */
  test: string[];
  intervalNs: number;
  timeoutNs: number;
  startPeriodNs: number;
  startIntervalNs: number;
  /** 0 = the image's or the default (3). */
  retries: number;
}

/** A published port without a host port: the host picks one. */
export interface RandomHostPort {
  /** "" = every address. */
  hostIp: string;
  containerPort: number;
  protocol: "tcp" | "udp";
}

/**
 * What a create request asks that the CLI's options cannot say yet, each
 * with the issue that adds the option. The effectful half implements a
 * member or refuses a non-empty one with a 400 naming its field; it never
 * drops one. When the CLI gains the option, the mapping moves the member into
 * the arguments and this type loses it.
 */
export interface PendingCreateOptions {
  /** `Config.Labels` → `--label` (issue 14): inspect and list show them, filters and events use them. */
  labels: Record<string, string>;
  /** Named and anonymous volumes → `-v NAME:/path` (issues 13, 14). */
  volumes: NamedVolumeMount[];
  /** `Config.Healthcheck` → `--health-*`, `--no-healthcheck` (issue 14). */
  healthcheck?: HealthcheckSpec;
  /** `HostConfig.Dns`, `DnsSearch`, `DnsOptions` → `--dns*` (issue 14, quadlet's DNS*=). */
  dns: { servers: string[]; search: string[]; options: string[] };
  /** `HostConfig.ExtraHosts` ("host:ip" or "host=ip") → `--add-host` (issue 14, AddHost=). */
  extraHosts: { host: string; address: string }[];
  /** `PortBindings` with an empty or "0" HostPort → a random host port (issue 14, PublishPort=). */
  randomPorts: RandomHostPort[];
  /** `HostConfig.PublishAllPorts`: every exposed port (the request's and the image's) on a random host port. */
  publishAll: boolean;
  /** `Config.ExposedPorts`: shown by inspect and `ps`, the ports `publishAll` publishes (no effect otherwise). */
  exposedPorts: { port: number; protocol: "tcp" | "udp" }[];
  /** `EndpointsConfig.<network>.Aliases`: more names on the network (compose's service names; issue 13). */
  networkAliases: string[];
  /** `Config.Env` entries without "=": docker unsets them, the image's value included. */
  envRemove: string[];
  /**
   * `SecurityOpt` `seccomp=<profile JSON>`: the docker CLI reads the profile
   * file itself and sends its text; the CLI grammar takes a path.
   */
  seccompProfile?: string;
}

/** The attach side of a create: what `/attach` and `/start` of this container will use. */
export interface AttachSession {
  attachStdin: boolean;
  attachStdout: boolean;
  attachStderr: boolean;
  /** Close stdin after the first attached client detaches. */
  stdinOnce: boolean;
  /** `HostConfig.ConsoleSize` [rows, columns] for the terminal before the first resize; absent = [0,0]. */
  consoleSize?: [number, number];
}

/** What the client wrote, for inspect's `Config` (the stored config keeps only the final argv). */
export interface GivenConfig {
  /** `Config.Image` as given (docker shows it as given, not normalized). */
  image: string;
  cmd: string[] | null;
  entrypoint: string[] | null;
  stopTimeout: number | null;
}

/** The result of mapping a create request. */
export interface CreatePlan {
  /**
   * The words after `create` for `parseContainerArgs`: `--opt=value` options,
   * `--pull=never` (a missing image must be a 404 so the client pulls with
   * progress), `--`, the image, the command.
   */
  args: string[];
  pending: PendingCreateOptions;
  session: AttachSession;
  given: GivenConfig;
  /** Approximations worth telling (the create response's `Warnings`). */
  warnings: string[];
}

/** What the mapping needs besides the request. */
export interface CreateContext {
  /**
   * The image's `Cmd` (null when none). Used only for `Entrypoint: []` with
   * no `Cmd`: docker then drops the image's entrypoint but keeps its Cmd,
   * which the CLI's `--entrypoint ""` cannot say.
   */
  imageCmd: readonly string[] | null;
}

/** The mapping's running state, shared by the parts of the body. */
export interface PlanBuilder {
  /** Options, each `--long=value` or `--flag`. */
  options: string[];
  pending: PendingCreateOptions;
  warnings: string[];
}

/** The options parseContainerArgs produces from {@link CreatePlan.args} (for reference). */
export type PlannedOptions = ContainerOptions;

/**
 * What the mapping of `POST /containers/create` produces (types only): the
 * arguments of the CLI's own `create` grammar, an inline seccomp profile
 * ({@link PendingCreateOptions}), the attach session, and what the client
 * wrote for inspect to echo.
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

/**
 * What a create request asks that cannot be one `--option=value` word yet:
 * an inline seccomp profile (the docker CLI reads `seccomp=FILE` itself and
 * sends the profile's text; the CLI grammar takes a path), which the caller
 * writes to a file for create_pending.ts to name. Nothing here is dropped.
 */
export interface PendingCreateOptions {
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
  /** `HostConfig.PublishAllPorts` (the CLI's `-P`; config.json keeps only the ports it published). */
  publishAll?: boolean;
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

/**
 * Applying metadata instructions to an OCI image config (pure).
 *
 * Spec: OCI image-spec config.md (Env, Entrypoint, Cmd, WorkingDir, User,
 * ExposedPorts, Volumes, Labels, StopSignal, author, history) plus the
 * Docker image-spec extensions that BuildKit also writes into OCI configs
 * (Healthcheck with nanosecond durations, OnBuild, Shell); the Dockerfile
 * reference for each instruction; docker's classic builder and buildah
 * (moby daemon/builder/dockerfile/dispatchers.go, openshift/imagebuilder
 * dispatchers.go) for the details:
 *
 * - ENV replaces a variable in place or appends it (order kept).
 * - Shell-form CMD, ENTRYPOINT and RUN are wrapped by the current SHELL
 *   (default `/bin/sh -c`). ENTRYPOINT clears a CMD inherited from the base
 *   (one set earlier in the same stage stays); `ENTRYPOINT []` clears it.
 * - WORKDIR is relative to the previous one, then cleaned.
 * - EXPOSE keys are `80/tcp`; HEALTHCHECK keeps zero for "default" (the
 *   runtime applies HEALTHCHECK_DEFAULTS); MAINTAINER sets `author`, as
 *   docker and buildah do (not a label).
 * - A new stage inherits the base config but not its OnBuild triggers: they
 *   run in this stage (plan.ts) and are not passed on to grandchildren.
 *
 * Decision: Healthcheck, OnBuild and Shell are kept in the OCI config like
 * BuildKit does; buildah drops them unless building in docker format.
 */
import type { OciHistory, OciImageConfig, OciRunConfig } from "../oci/types.ts";
import type { Platform } from "./build_args.ts";
import { cleanPath } from "./clean_path.ts";
import type { CommandLine, Instruction } from "./instructions.ts";
import { TsnspawnError } from "../errors.ts";

/** HEALTHCHECK in the config (Docker image spec HealthcheckConfig); durations in ns, 0 = default. */
export interface HealthcheckConfig {
  /** ["NONE"], ["CMD", args...] or ["CMD-SHELL", command]. */
  Test: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/** The run config with the Docker extensions a build sets. */
export interface BuildRunConfig extends OciRunConfig {
  Healthcheck?: HealthcheckConfig;
  OnBuild?: string[];
  Shell?: string[];
}

/** An image config being built: always has `config` and `history`. */
export interface BuildImageConfig extends Omit<OciImageConfig, "config" | "history"> {
  config: BuildRunConfig;
  history: OciHistory[];
}

/** The shell of shell-form commands when no SHELL was given (Linux). */
export const DEFAULT_SHELL: readonly string[] = ["/bin/sh", "-c"];

/** What docker uses for HEALTHCHECK values left at zero (Dockerfile reference). */
export const HEALTHCHECK_DEFAULTS = {
  interval: 30e9,
  timeout: 30e9,
  startPeriod: 0,
  startInterval: 5e9,
  retries: 3,
} as const;

/** The config of `FROM scratch`. */
export function scratchConfig(platform: Platform): BuildImageConfig {
  return {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant !== undefined ? { variant: platform.variant } : {}),
    config: {},
    rootfs: { type: "layers", diff_ids: [] },
    history: [],
  };
}

/**
 * The starting config of a stage from its base image's (or base stage's)
 * config: a deep copy without `created` and without OnBuild.
 */
export function stageConfig(base: OciImageConfig | BuildImageConfig): BuildImageConfig {
  const copy = structuredClone(base) as OciImageConfig & { config?: BuildRunConfig };
  const { created: _created, ...rest } = copy;
  const config: BuildRunConfig = { ...(copy.config ?? {}) };
  delete config.OnBuild;
  return {
    ...rest,
    config,
    rootfs: copy.rootfs ?? { type: "layers", diff_ids: [] },
    history: copy.history ?? [],
  };
}

/** The shell of shell-form commands in this config. */
export function shellOf(config: BuildImageConfig): string[] {
  return config.config.Shell && config.config.Shell.length > 0
    ? [...config.config.Shell]
    : [...DEFAULT_SHELL];
}

/** A command as an argv: exec form as is, shell form wrapped by the shell. */
export function commandArgv(command: CommandLine, shell: readonly string[]): string[] {
  return command.form === "exec" ? [...command.args] : [...shell, command.script];
}

/** Sets NAME=value in an Env list: replaced in place if present, else appended. */
export function setEnv(env: readonly string[], name: string, value: string): string[] {
  const entry = `${name}=${value}`;
  const index = env.findIndex((e) => e === name || e.startsWith(`${name}=`));
  return index < 0 ? [...env, entry] : env.map((e, i) => i === index ? entry : e);
}

/** WORKDIR `path` after `current` (relative paths join the previous one). */
export function normalizeWorkdir(current: string | undefined, path: string): string {
  if (path === "") {
    throw new TsnspawnError("invalid", "WORKDIR is empty", {
      hint: "give WORKDIR an absolute path",
    });
  }
  return cleanPath(path.startsWith("/") ? path : `${current || "/"}/${path}`);
}

/** Linux signal names without SIG (moby/sys/signal SignalMap); RTMIN+n/RTMAX-n apart. */
const SIGNALS = new Set([
  ..."ABRT ALRM BUS CHLD CLD CONT FPE HUP ILL INT IO IOT KILL PIPE POLL PROF PWR QUIT".split(" "),
  ..."RTMIN RTMAX SEGV STKFLT STOP SYS TERM TRAP TSTP TTIN TTOU URG USR1 USR2 VTALRM".split(" "),
  ..."WINCH XCPU XFSZ".split(" "),
]);

/** Checks a STOPSIGNAL value: a signal number 1-64 or a name with or without SIG. */
export function checkStopSignal(signal: string): void {
  if (/^\d+$/u.test(signal) && Number(signal) >= 1 && Number(signal) <= 64) return;
  const name = signal.toUpperCase().replace(/^SIG/u, "");
  const realtime = /^RTMIN\+([1-9]|1[0-5])$|^RTMAX-([1-9]|1[0-4])$/u.test(name);
  if (SIGNALS.has(name) || realtime) return;
  throw new TsnspawnError("invalid", `invalid STOPSIGNAL ${JSON.stringify(signal)}`, {
    hint: "use a signal name like SIGTERM or SIGQUIT, or a number",
  });
}

/** What applying an instruction needs besides the config: whether CMD was set in this stage. */
export interface ConfigState {
  config: BuildImageConfig;
  /** A CMD instruction ran in this stage (so ENTRYPOINT keeps it). */
  cmdSet: boolean;
}

/**
 * Applies a resolved metadata instruction to the config. RUN, COPY, ADD, ARG
 * and FROM leave the config as it is (their effects are elsewhere).
 */
export function applyToConfig(state: ConfigState, instruction: Instruction): ConfigState {
  const run: BuildRunConfig = { ...state.config.config };
  let cmdSet = state.cmdSet;
  let author = state.config.author;
  const shell = shellOf(state.config);
  switch (instruction.kind) {
    case "ENV":
      for (const pair of instruction.pairs) run.Env = setEnv(run.Env ?? [], pair.key, pair.value);
      break;
    case "LABEL":
      run.Labels = { ...run.Labels };
      for (const pair of instruction.pairs) run.Labels[pair.key] = pair.value;
      break;
    case "WORKDIR":
      run.WorkingDir = normalizeWorkdir(run.WorkingDir, instruction.path);
      break;
    case "USER":
      run.User = instruction.user;
      break;
    case "CMD":
      run.Cmd = commandArgv(instruction.command, shell);
      if (instruction.command.form === "shell" || instruction.command.args.length > 0) {
        cmdSet = true;
      }
      break;
    case "ENTRYPOINT":
      if (instruction.command.form === "exec" && instruction.command.args.length === 0) {
        delete run.Entrypoint;
      } else run.Entrypoint = commandArgv(instruction.command, shell);
      if (!cmdSet) delete run.Cmd;
      break;
    case "EXPOSE":
      run.ExposedPorts = { ...run.ExposedPorts };
      for (const port of instruction.ports) run.ExposedPorts[port] = {};
      break;
    case "VOLUME":
      run.Volumes = { ...run.Volumes };
      for (const path of instruction.paths) run.Volumes[path] = {};
      break;
    case "STOPSIGNAL":
      checkStopSignal(instruction.signal);
      run.StopSignal = instruction.signal;
      break;
    case "HEALTHCHECK":
      run.Healthcheck = healthcheckConfig(instruction.check);
      break;
    case "ONBUILD":
      run.OnBuild = [...(run.OnBuild ?? []), instruction.expression];
      break;
    case "SHELL":
      run.Shell = [...instruction.shell];
      break;
    case "MAINTAINER":
      author = instruction.maintainer;
      break;
    default:
      return state;
  }
  const config = { ...state.config, config: run };
  if (author !== undefined) config.author = author;
  return { config, cmdSet };
}

function healthcheckConfig(
  check: Extract<Instruction, { kind: "HEALTHCHECK" }>["check"],
): HealthcheckConfig {
  if (check === "NONE") return { Test: ["NONE"] };
  const test = check.command.form === "exec"
    ? ["CMD", ...check.command.args]
    : ["CMD-SHELL", check.command.script];
  const config: HealthcheckConfig = { Test: test };
  if (check.interval) config.Interval = check.interval;
  if (check.timeout) config.Timeout = check.timeout;
  if (check.startPeriod) config.StartPeriod = check.startPeriod;
  if (check.startInterval) config.StartInterval = check.startInterval;
  if (check.retries) config.Retries = check.retries;
  return config;
}

/** Appends a history entry; with `diffId` also the layer it describes. */
export function addHistory(
  config: BuildImageConfig,
  entry: OciHistory,
  diffId?: string,
): BuildImageConfig {
  return {
    ...config,
    rootfs: diffId === undefined
      ? config.rootfs
      : { ...config.rootfs, diff_ids: [...config.rootfs.diff_ids, diffId] },
    history: [...config.history, entry],
  };
}

/** The finished config: `created` set (the time of the build, or --timestamp). */
export function finishConfig(config: BuildImageConfig, created: string): BuildImageConfig {
  return { ...config, created };
}

/**
 * `POST /containers/create` → the arguments of the CLI's `create` grammar
 * (pure). {@link planContainerCreate} reads the body (`Config` fields at the
 * top, `HostConfig`, `NetworkingConfig`) and the `name` and `platform` query
 * parameters, and produces a {@link CreatePlan} (create_types.ts): options
 * such as `--memory=536870912`, then `--pull=never`, `--`, the image and
 * the command, plus what the CLI cannot say yet. The parts live beside it:
 * create_network.ts, create_mounts.ts, create_host_config.ts.
 *
 * The rule for every field: mapped to a CLI option, or taken into the
 * pending options, or accepted because it holds its default (what clients
 * send for options nobody set), or refused with a 400 naming it. Nothing is
 * dropped.
 *
 * Cmd and Entrypoint follow moby's merge with the image config: Entrypoint
 * null keeps the image's entrypoint (and its Cmd when Cmd is empty);
 * `[""]` clears it and the image's Cmd with it (the CLI's `--entrypoint ""`);
 * `[]` clears it but keeps the image's Cmd when Cmd is empty; a longer
 * Entrypoint becomes `--entrypoint=FIRST` with the rest in front of Cmd
 * (the same argv). Cmd null and `[]` both mean the image's.
 *
 * References: Docker Engine API v1.44 `POST /containers/create`
 * (ContainerConfig, HostConfig, NetworkingConfig); moby v28.2.2
 * daemon/commit.go (merge), daemon/create.go, daemon/names.go; research
 * notes /work/shared/research/docker-api.md §2 (CLI bodies), §4 (compose
 * bodies), §8.
 */
import { BodyReader, isZeroValue } from "./body_fields.ts";
import { badRequest } from "./errors.ts";
import { mapNames, mapNetwork, mapPorts } from "./create_network.ts";
import { mapMounts } from "./create_mounts.ts";
import { mapHostConfig } from "./create_host_config.ts";
import type { AttachSession, CreateContext, CreatePlan, PlanBuilder } from "./create_types.ts";

/** Docker's Entrypoint and Cmd → the CLI's `--entrypoint` (one program, "" = none) and command. */
export function planCommand(
  entrypoint: string[] | null,
  cmd: string[] | null,
  imageCmd: readonly string[] | null,
): { entrypoint?: string; command: string[] } {
  const command = cmd ?? [];
  if (entrypoint === null) return { command };
  if (entrypoint.length === 0) {
    return { entrypoint: "", command: command.length > 0 ? command : [...imageCmd ?? []] };
  }
  if (entrypoint.length === 1 && entrypoint[0] === "") return { entrypoint: "", command };
  if (entrypoint[0] === "") {
    throw badRequest(`Config.Entrypoint: the program is empty: ${JSON.stringify(entrypoint)}`);
  }
  return { entrypoint: entrypoint[0], command: [...entrypoint.slice(1), ...command] };
}

/** Nanoseconds of a health check duration: 0 or at least 1ms (moby's check). */
function healthDuration(config: BodyReader, field: string): number {
  const ns = config.integer(field) ?? 0;
  if (ns !== 0 && ns < 1_000_000) {
    throw badRequest(`${config.name(field)}: ${field} in Healthcheck cannot be less than 1ms`);
  }
  return ns;
}

/**
 * `Config.Healthcheck` → `--health-cmd` (the JSON exec form, which says
 * every Test exactly), `--no-healthcheck` for `["NONE"]`, and the timings
 * in nanoseconds (a Go duration the CLI reads); zero fields keep the
 * image's or the default. Absent or all zero: the image's check.
 */
function mapHealthcheck(config: BodyReader, plan: PlanBuilder): void {
  if (isZeroValue(config.value("Healthcheck"))) return;
  const health = config.child("Healthcheck");
  const test = health.strings("Test") ?? [];
  if (test.length > 0 && !["NONE", "CMD", "CMD-SHELL"].includes(test[0])) {
    throw badRequest(`${health.name("Test")}: must start with NONE, CMD or CMD-SHELL`);
  }
  if ((test[0] === "CMD" || test[0] === "CMD-SHELL") && test.length < 2) {
    throw badRequest(`${health.name("Test")}: ${test[0]} needs a command`);
  }
  if (test[0] === "CMD-SHELL" && test.length > 2) {
    throw badRequest(`${health.name("Test")}: CMD-SHELL takes one shell command`);
  }
  const retries = health.integer("Retries") ?? 0;
  if (retries < 0) {
    throw badRequest(`${health.name("Retries")}: Retries in Healthcheck cannot be negative`);
  }
  const interval = healthDuration(health, "Interval");
  const timeout = healthDuration(health, "Timeout");
  const startPeriod = healthDuration(health, "StartPeriod");
  health.defaultOnly(
    "StartInterval",
    "checks during the start period run at the interval",
    isZeroValue,
    "drop StartInterval (or set Interval)",
  );
  health.finish("tsnspawn does not know this field");
  if (test[0] === "NONE") {
    plan.options.push("--no-healthcheck");
    return;
  }
  if (test.length > 0) plan.options.push(`--health-cmd=${JSON.stringify(test)}`);
  if (interval > 0) plan.options.push(`--health-interval=${interval}ns`);
  if (timeout > 0) plan.options.push(`--health-timeout=${timeout}ns`);
  if (startPeriod > 0) plan.options.push(`--health-start-period=${startPeriod}ns`);
  if (retries > 0) plan.options.push(`--health-retries=${retries}`);
}

/** `Config.Labels` → `--label=KEY=VALUE` (a key cannot hold "=": the CLI splits there). */
function mapLabels(config: BodyReader, plan: PlanBuilder): void {
  for (const [key, value] of Object.entries(config.stringMap("Labels") ?? {})) {
    if (key === "" || key.includes("=")) {
      throw badRequest(`${config.name("Labels")}: invalid label key ${JSON.stringify(key)}`);
    }
    plan.options.push(`--label=${key}=${value}`);
  }
}

/** `Config.Env`: `K=V` → `--env`; a bare `K` (docker: unset K, the image's too) → `--unsetenv`. */
function mapEnv(config: BodyReader, plan: PlanBuilder): void {
  for (const entry of config.strings("Env") ?? []) {
    plan.options.push(entry.includes("=") ? `--env=${entry}` : `--unsetenv=${entry}`);
  }
}

/** The container name from `?name=`: one leading slash allowed (docker's names carry one). */
function queryName(query: URLSearchParams): string | undefined {
  const name = (query.get("name") ?? "").replace(/^\//, "");
  return name === "" ? undefined : name;
}

/**
 * Maps a create request. `body` is the parsed JSON body, `query` the
 * request's query. Throws an ApiError (400) naming the first field that
 * cannot be honoured; what remains for the CLI grammar to validate (memory
 * sizes, signals, names, paths) it validates with its own messages.
 */
export function planContainerCreate(
  body: Record<string, unknown>,
  query: URLSearchParams,
  context: CreateContext,
): CreatePlan {
  const config = new BodyReader(body);
  const host = config.child("HostConfig");
  const networking = config.child("NetworkingConfig");
  const plan: PlanBuilder = { options: [], pending: {}, warnings: [] };

  const name = queryName(query);
  if (name !== undefined) plan.options.push(`--name=${name}`);
  const platform = query.get("platform") ?? "";
  if (platform !== "") plan.options.push(`--platform=${platform}`);

  const image = config.string("Image") ?? "";
  if (image === "") throw badRequest("Config.Image: no image given", "name the image to run");
  const cmd = config.strings("Cmd") ?? null;
  const entrypoint = config.strings("Entrypoint") ?? null;
  const command = planCommand(entrypoint, cmd, context.imageCmd);
  if (command.entrypoint !== undefined) plan.options.push(`--entrypoint=${command.entrypoint}`);

  const hostname = config.string("Hostname") ?? "";
  if (hostname !== "") plan.options.push(`--hostname=${hostname}`);
  const user = config.string("User") ?? "";
  if (user !== "") plan.options.push(`--user=${user}`);
  const workdir = config.string("WorkingDir") ?? "";
  if (workdir !== "") plan.options.push(`--workdir=${workdir}`);
  mapEnv(config, plan);
  if (config.boolean("Tty")) plan.options.push("--tty");
  if (config.boolean("OpenStdin")) plan.options.push("--interactive");
  const stopSignal = config.string("StopSignal") ?? "";
  if (stopSignal !== "") plan.options.push(`--stop-signal=${stopSignal}`);
  const stopTimeout = config.integer("StopTimeout") ?? null;
  if (stopTimeout !== null) plan.options.push(`--stop-timeout=${stopTimeout}`);
  mapLabels(config, plan);
  mapHealthcheck(config, plan);

  const consoleSize = host.value("ConsoleSize");
  const session: AttachSession = {
    attachStdin: config.boolean("AttachStdin") ?? false,
    attachStdout: config.boolean("AttachStdout") ?? false,
    attachStderr: config.boolean("AttachStderr") ?? false,
    stdinOnce: config.boolean("StdinOnce") ?? false,
  };
  if (
    Array.isArray(consoleSize) && consoleSize.length === 2 &&
    consoleSize.every((n) => Number.isSafeInteger(n) && n >= 0) &&
    (consoleSize[0] > 0 || consoleSize[1] > 0)
  ) session.consoleSize = [consoleSize[0], consoleSize[1]];

  mapNetwork(config, host, networking, plan);
  const publishAll = mapPorts(config, host, plan);
  mapNames(host, plan);
  mapMounts(config, host, plan);
  mapHostConfig(host, plan);

  config.defaultOnly("Domainname", "the domain name is not configurable");
  config.defaultOnly("MacAddress", "MAC addresses are not chosen by the client");
  config.defaultOnly("OnBuild", "ONBUILD triggers are for image builds");
  config.defaultOnly("Shell", "SHELL is for image builds");
  config.defaultOnly("ArgsEscaped", "Windows only");
  config.finish("tsnspawn does not know this field");

  return {
    args: [...plan.options, "--pull=never", "--", image, ...command.command],
    pending: plan.pending,
    session,
    given: { image, cmd, entrypoint, stopTimeout, ...(publishAll ? { publishAll } : {}) },
    warnings: plan.warnings,
  };
}

/** The `Warnings` of the create response (moby sends an empty array, never null). */
export function formatCreateResponse(id: string, warnings: readonly string[]): {
  Id: string;
  Warnings: string[];
} {
  return { Id: id, Warnings: [...warnings] };
}

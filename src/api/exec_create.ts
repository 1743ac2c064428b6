/**
 * `POST /containers/{name}/exec` and `POST /exec/{id}/start` bodies (pure):
 * an exec create becomes the words after `exec` of the CLI's grammar
 * (src/cli/args.ts, command "exec": `-i`, `-t`, `--user`, `--env`,
 * `--workdir`, then the container and the command), so the API's exec and
 * `tsnspawn exec` validate alike; a start body becomes its three choices.
 *
 * The docker CLI sends `{"User","Privileged","Tty","ConsoleSize",
 * "AttachStdin","AttachStderr","AttachStdout","Detach","DetachKeys","Env",
 * "WorkingDir","Cmd"}`; `docker exec -d` then starts with `{"Detach":true}`
 * and no upgrade, expecting a plain 200. `AttachStdin` is `-i`. Privileged
 * execs and detach keys other than the default are refused; `Detach` at
 * create time means nothing (the start's counts); an empty Cmd is moby's
 * 400 "No exec command specified".
 *
 * References: Docker Engine API v1.44 (`POST /containers/{id}/exec`,
 * `POST /exec/{id}/start`); moby v28.2.2 api/server/router/container/exec.go,
 * daemon/exec.go; research notes /work/shared/research/docker-api.md §2
 * (`docker exec -it web sh`, `docker exec -d`).
 */
import { BodyReader } from "./body_fields.ts";
import { badRequest } from "./errors.ts";

/** What an exec create asks for. */
export interface ExecPlan {
  /** The words after `exec` for the CLI's grammar: options, `--`, the container, the command. */
  args: string[];
  /** Which streams the start will attach (stdout/stderr frames, stdin bytes). */
  attachStdin: boolean;
  attachStdout: boolean;
  attachStderr: boolean;
  /** [rows, columns] for the terminal before the first resize, when given. */
  consoleSize?: [number, number];
  /** `Env` entries without "=" (docker unsets them); the CLI's `-e K` would copy from its own environment. */
  envRemove: string[];
}

/** [rows, cols] when both are set (the CLI sends [0,0] without a terminal). */
function consoleSizeOf(value: unknown): [number, number] | undefined {
  if (
    Array.isArray(value) && value.length === 2 &&
    value.every((n) => Number.isSafeInteger(n) && n >= 0) && (value[0] > 0 || value[1] > 0)
  ) return [value[0], value[1]];
  return undefined;
}

/** Maps an exec create body for the container the path names. */
export function planExecCreate(body: Record<string, unknown>, container: string): ExecPlan {
  const exec = new BodyReader(body);
  const cmd = exec.strings("Cmd") ?? [];
  if (cmd.length === 0) throw badRequest("No exec command specified");
  const args: string[] = [];
  const attachStdin = exec.boolean("AttachStdin") ?? false;
  if (attachStdin) args.push("--interactive");
  if (exec.boolean("Tty")) args.push("--tty");
  const user = exec.string("User") ?? "";
  if (user !== "") args.push(`--user=${user}`);
  const envRemove: string[] = [];
  for (const entry of exec.strings("Env") ?? []) {
    if (entry.includes("=")) args.push(`--env=${entry}`);
    else envRemove.push(entry);
  }
  const workdir = exec.string("WorkingDir") ?? "";
  if (workdir !== "") args.push(`--workdir=${workdir}`);
  exec.defaultOnly(
    "Privileged",
    "an exec runs with the container's privileges",
    undefined,
    "drop --privileged",
  );
  exec.defaultOnly(
    "DetachKeys",
    "detach keys are not supported",
    undefined,
    "use the default (ctrl-p ctrl-q)",
  );
  const plan: ExecPlan = {
    args: [...args, "--", container, ...cmd],
    attachStdin,
    attachStdout: exec.boolean("AttachStdout") ?? false,
    attachStderr: exec.boolean("AttachStderr") ?? false,
    envRemove,
  };
  const size = consoleSizeOf(exec.value("ConsoleSize"));
  if (size) plan.consoleSize = size;
  exec.ignore("Detach"); // only the start's Detach counts
  exec.finish("tsnspawn does not know this field");
  return plan;
}

/** What an exec start asks for. */
export interface ExecStart {
  /** Run in the background and answer 200 at once (no hijack). */
  detach: boolean;
  tty: boolean;
  consoleSize?: [number, number];
}

/** Reads an exec start body (an empty body is `{}`). */
export function parseExecStart(body: Record<string, unknown>): ExecStart {
  const start = new BodyReader(body);
  const result: ExecStart = {
    detach: start.boolean("Detach") ?? false,
    tty: start.boolean("Tty") ?? false,
  };
  const size = consoleSizeOf(start.value("ConsoleSize"));
  if (size) result.consoleSize = size;
  start.finish("tsnspawn does not know this field");
  return result;
}

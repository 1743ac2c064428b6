/**
 * Exec: create (the body mapped onto the CLI's `exec` grammar,
 * exec_create.ts), start (hijacked, or detached with a plain 200), resize
 * and inspect. The process is started by the CLI's operation
 * (ops/exec_process.ts: the exec stage, born in the container's namespaces
 * and cgroups); the service relays it: without a terminal its stdout and
 * stderr pipes as stdcopy frames and the client's bytes to its stdin pipe
 * (closed when the client half-closes), with one the pty's master both
 * ways. The exit code is recorded before the stream ends.
 *
 * References: Docker Engine API v1.44 (Exec); moby v28.2.2
 * api/server/router/container/exec.go; research notes
 * /work/shared/research/docker-api.md §2 (`docker exec`), §7.5, §7.15.
 */
import { TsnspawnError } from "../errors.ts";
import { containerUnit, loadContainer } from "../container/state.ts";
import { type ExecOptions, parseCommandLine } from "../cli/args.ts";
import { type ExecProcess, exitStatusOfExec, startExecProcess } from "../ops/exec_process.ts";
import { isRunning } from "../systemd/unit_state.ts";
import { readAsync, setWindowSize, wakeMasterReader, writeAllAsync } from "../../ffi/pty.ts";
import type { ApiCall } from "./http.ts";
import type { ApiContext } from "./context.ts";
import type { Hijacked } from "./hijack.ts";
import { ApiError, badRequest } from "./errors.ts";
import { parseExecStart, planExecCreate } from "./exec_create.ts";
import { execFactsOf, type ExecInstance } from "./exec_registry.ts";
import { formatExecInspect } from "./inspect_system.ts";
import { resolveContainer } from "./names.ts";
import { parseJsonObject, queryInt } from "./request.ts";
import { atLeast } from "./api_version.ts";
import { EMPTY_FRAME, formatFrame, PROBE_INTERVAL_MS, STDERR, STDOUT } from "./stream.ts";
import { eventContainerOf } from "./facts.ts";

/** How long an ended terminal process's output is still relayed (as `tsnspawn exec -t`). */
const TERMINAL_DRAIN_MS = 200;

/** The exec options the CLI's grammar reads from the planned words. */
function execOptionsOf(args: string[]): ExecOptions {
  let command;
  try {
    command = parseCommandLine(["exec", ...args], { lookupEnv: () => undefined });
  } catch (error) {
    if (error instanceof TsnspawnError && error.code === "usage") {
      throw badRequest(error.message, error.hint);
    }
    throw error;
  }
  if (command.kind !== "exec") throw new Error("the exec grammar gave another command");
  return command;
}

/** `POST /containers/{name}/exec`: 409 unless the container runs. */
export async function createExecCall(call: ApiCall, api: ApiContext): Promise<void> {
  const name = resolveContainer(call.params.name);
  const plan = planExecCreate(await call.json(), name);
  const options = execOptionsOf(plan.args);
  const systemd = await api.systemd();
  if (!isRunning(await systemd.unitState(containerUnit(name).unit))) {
    throw new ApiError(409, `Container ${name} is not running`);
  }
  const config = loadContainer(name);
  const instance = api.execs.create({
    container: name,
    containerId: config.id,
    plan,
    command: options.command,
    tty: options.tty,
    user: options.user ? [options.user.user, options.user.group].filter(Boolean).join(":") : "",
  });
  api.events.emitContainer(
    `exec_create: ${options.command.join(" ")}`,
    eventContainerOf(name, config),
    { execID: instance.id },
  );
  call.sendJson(201, { Id: instance.id });
}

/** `GET /exec/{id}/json`. */
export function inspectExecCall(call: ApiCall, api: ApiContext): void {
  call.sendJson(200, formatExecInspect(execFactsOf(api.execs.get(call.params.id))));
}

/** `POST /exec/{id}/resize?h=&w=`. */
export function resizeExecCall(call: ApiCall, api: ApiContext): void {
  const instance = api.execs.get(call.params.name ?? call.params.id);
  const rows = queryInt(call.query, "h", 0, { min: 0, max: 65535 });
  const columns = queryInt(call.query, "w", 0, { min: 0, max: 65535 });
  if (instance.master === null) {
    throw instance.state === "running"
      ? badRequest(`exec ${instance.id} has no terminal`)
      : new ApiError(409, `exec ${instance.id} is not running`);
  }
  setWindowSize(instance.master, { rows, columns });
  call.sendEmpty(200);
}

/** Starts an instance's process (409 when it was started already). */
async function startProcess(
  api: ApiContext,
  instance: ExecInstance,
  tty: boolean,
): Promise<ExecProcess> {
  if (instance.state !== "created") {
    throw new ApiError(409, `exec ${instance.id} has been started already`);
  }
  const options = execOptionsOf(instance.plan.args);
  const process = await startExecProcess(api, {
    name: instance.container,
    command: options.command,
    env: options.env,
    envRemove: instance.plan.envRemove,
    ...(options.user ? { user: options.user } : {}),
    ...(options.workdir ? { workdir: options.workdir } : {}),
    tty: tty || options.tty,
    interactive: options.interactive,
    term: "xterm",
  }, "piped");
  instance.state = "running";
  instance.pid = process.child.pid;
  instance.master = process.terminal?.master ?? null;
  api.events.emitFor(`exec_start: ${options.command.join(" ")}`, instance.container, {
    execID: instance.id,
  });
  return process;
}

/** How long the pipes must be quiet, after the process ended, before the relay stops. */
const QUIET_MS = 100;

/**
 * Reads pipes, each chunk to its `onChunk`, for as long as the process
 * lives; `finish()` (once it ended) passes on what is in the pipes and stops
 * when they are drained or quiet for {@link QUIET_MS}: a background process
 * that keeps a pipe open must not keep the exec's stream open (as the
 * CLI's exec, commands/relay.ts).
 */
function pumpUntilQuiet(
  pipes: [ReadableStream<Uint8Array> | null, (chunk: Uint8Array) => void][],
): { finish(): Promise<void> } {
  let last = Date.now();
  const readers = pipes.flatMap(([stream, onChunk]) =>
    stream ? [{ reader: stream.getReader(), onChunk }] : []
  );
  const all = Promise.all(readers.map(async ({ reader, onChunk }) => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        last = Date.now();
        onChunk(value);
      }
    } catch { /* cancelled, or the process is gone */ }
  }));
  return {
    async finish() {
      let drained = false;
      void all.then(() => drained = true);
      while (!drained) {
        const idle = Date.now() - last;
        if (idle >= QUIET_MS) {
          await Promise.all(readers.map(({ reader }) => reader.cancel().catch(() => {})));
          break;
        }
        await Promise.race([all, new Promise((r) => setTimeout(r, QUIET_MS - idle))]);
      }
      await all;
    },
  };
}

/**
 * `POST /exec/{id}/start` without an upgrade: `{"Detach":true}` runs the
 * process in the background (its output read and dropped) and answers 200.
 */
export async function startExecCall(call: ApiCall, api: ApiContext): Promise<void> {
  const instance = api.execs.get(call.params.name ?? call.params.id);
  const start = parseExecStart(await call.json({ emptyIsObject: true }));
  if (!start.detach) {
    throw badRequest("exec start: attach needs an upgrade to a raw stream (Upgrade: tcp)");
  }
  const process = await startProcess(api, instance, false);
  call.sendEmpty(200);
  const drop = () => {};
  const pipes = pumpUntilQuiet([[process.child.stdout, drop], [process.child.stderr, drop]]);
  const status = exitStatusOfExec(await process.child.status);
  await pipes.finish();
  api.execs.ended(instance, status);
  process.terminal?.close();
}

/** `POST /exec/{id}/start` with an upgrade: the process relayed over the hijacked connection. */
export async function startExecHijacked(
  connection: Hijacked,
  params: Record<string, string>,
  apiVersion: string,
  api: ApiContext,
): Promise<void> {
  const instance = api.execs.get(params.name ?? params.id);
  const start = parseExecStart(
    parseJsonObject(new TextDecoder().decode(await connection.readBody()), {
      emptyIsObject: true,
    }),
  );
  const process = await startProcess(api, instance, start.tty);
  const { child, terminal } = process;
  const tty = terminal !== null;
  connection.upgrade({ tty, multiplexedAllowed: atLeast(apiVersion, "1.42") });
  let status: number;
  if (terminal) {
    const size = start.consoleSize ?? instance.plan.consoleSize;
    if (size) setWindowSize(terminal.master, { rows: size[0], columns: size[1] });
    let stopped = false;
    let writing: Promise<unknown> = Promise.resolve();
    if (instance.plan.attachStdin) {
      connection.receive((data) => {
        const bytes = new Uint8Array(data);
        writing = writing.then(() => stopped ? false : writeAllAsync(terminal.master, bytes));
      }, () => {});
    }
    // The client left: hang the terminal up (the process gets SIGHUP).
    connection.onClose(() => {
      if (stopped) return;
      stopped = true;
      wakeMasterReader(terminal.master);
    });
    const relay = (async () => {
      const buffer = new Uint8Array(16384);
      while (!stopped) {
        const n = await readAsync(terminal.master, buffer);
        if (n === 0 || stopped) break;
        connection.write(buffer.slice(0, n));
      }
      if (stopped) terminal.close();
    })();
    const stageErrors = pumpUntilQuiet([[child.stderr, (chunk) => connection.write(chunk)]]);
    status = exitStatusOfExec(await child.status);
    // The process held the slave; what it wrote last is read, then EIO.
    terminal.releaseSlave();
    await Promise.race([relay, new Promise((resolve) => setTimeout(resolve, TERMINAL_DRAIN_MS))]);
    await stageErrors.finish();
    stopped = true;
  } else {
    connection.probe(EMPTY_FRAME, PROBE_INTERVAL_MS);
    if (instance.plan.attachStdin && child.stdin) {
      const writer = child.stdin.getWriter();
      let writing: Promise<unknown> = Promise.resolve();
      connection.receive((data) => {
        const bytes = new Uint8Array(data);
        writing = writing.then(() => writer.write(bytes)).catch(() => {});
      }, () => {
        writing = writing.then(() => writer.close()).catch(() => {});
      });
    }
    const pipes = pumpUntilQuiet([
      [child.stdout, (chunk) => {
        if (instance.plan.attachStdout) connection.write(formatFrame(STDOUT, chunk));
      }],
      [child.stderr, (chunk) => {
        if (instance.plan.attachStderr) connection.write(formatFrame(STDERR, chunk));
      }],
    ]);
    status = exitStatusOfExec(await child.status);
    await pipes.finish();
  }
  // Recorded before the stream ends: the client inspects the instance at once.
  api.execs.ended(instance, status);
  api.events.emitFor("exec_die", instance.container, {
    execID: instance.id,
    exitCode: String(status),
  });
  terminal?.close();
  connection.end();
}

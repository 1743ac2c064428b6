/**
 * The container endpoints that follow a run: start, attach (hijacked),
 * wait, logs and resize (runs.ts holds who is attached and waiting).
 *
 * A start with clients attached or waiting is an attached start of
 * ops/start.ts, as the CLI's `run`: without a terminal, the run's output
 * lines (from the journal, TSNSPAWN_RUN=) go to the attached clients as
 * stdcopy frames; with one, the container's terminal holder
 * (runtime/terminal_holder.ts) holds it and the service is one of its
 * clients (terminal_client.ts): the raw output to the clients, stdin from
 * the one that asked for it. The exit status goes to the waiters, then the
 * streams end. When the last client of a terminal leaves, it detaches: the
 * container keeps running, as with docker (`docker attach` comes back).
 *
 * References: Docker Engine API v1.44 (attach, wait, logs, resize); moby
 * v28.2.2 container_routes.go; research notes
 * /work/shared/research/docker-api.md §2, §3.1–3.4, §7.1–7.5, §7.18.
 */
import { ApiError, badRequest, notModified } from "./errors.ts";
import { describeError } from "../errors.ts";
import { containerPaths, unitName } from "../paths.ts";
import {
  containerExists,
  containerUnit,
  loadContainer,
  loadExitRecord,
} from "../container/state.ts";
import {
  exitStatusOf,
  startContainerUnit,
  startDetached,
  type StartedUnit,
  waitForExit,
} from "../ops/start.ts";
import { readContainerLogs } from "../ops/logs.ts";
import { isRunning } from "../systemd/unit_state.ts";
import { HolderConnection, resizeThroughHolder } from "../runtime/terminal_client.ts";
import { formatTerminalSize } from "../container/terminal_protocol.ts";
import { RunOutputFollower } from "../systemd/journal.ts";
import { isDeclared } from "../declared/store.ts";
import type { ApiCall } from "./http.ts";
import type { ApiContext } from "./context.ts";
import type { Hijacked } from "./hijack.ts";
import { type AttachClient, type LiveRun, sendLine } from "./runs.ts";
import { resolveContainer } from "./names.ts";
import { readApiRecord } from "./api_record.ts";
import { atLeast } from "./api_version.ts";
import { parseTail, parseTimestamp, queryBool, queryInt } from "./request.ts";
import {
  EMPTY_FRAME,
  formatFrame,
  formatLogLine,
  PROBE_INTERVAL_MS,
  STDERR,
  STDOUT,
  streamMediaType,
  SYSTEMERR,
} from "./stream.ts";
import { formatWaitResponse } from "./inspect_system.ts";
import { eventContainerOf, exitFactsOf } from "./facts.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `POST /containers/{name}/start`: 304 when it runs already. */
export async function startContainerCall(call: ApiCall, api: ApiContext): Promise<void> {
  const name = resolveContainer(call.params.name);
  const systemd = await api.systemd();
  if (isRunning(await systemd.unitState(containerUnit(name).unit))) {
    throw notModified(`container ${name} is already running`);
  }
  await startForApi(api, name);
  call.sendEmpty(204);
}

/**
 * Starts a container for the API: attached when clients are attached or
 * waiting (see the module comment), detached otherwise. Returns once it runs.
 */
export async function startForApi(api: ApiContext, name: string): Promise<void> {
  const clients = api.runs.takePending(name);
  if (isDeclared(name)) {
    // A declared container runs as its generated unit: systemd's, not attached here.
    for (const client of clients) client.connection.end();
    await startDetached(api, name);
    return;
  }
  const config = loadContainer(name);
  const systemd = await api.systemd();
  const size = readApiRecord(name)?.session.consoleSize;
  const terminalSize = config.tty && size
    ? formatTerminalSize({ rows: size[0], columns: size[1] })
    : undefined;
  if (clients.length === 0 && !api.runs.hasWaiters(name)) {
    await startContainerUnit(systemd, config, { attach: false, terminalSize });
    return;
  }
  const { runsInScope } = await import("../runtime/attached.ts");
  if (clients.length > 0 && runsInScope(config)) {
    await startInScope(api, config, clients);
    return;
  }
  const run: LiveRun = {
    name,
    clients: new Set(clients),
    terminal: null,
    exit: Promise.resolve(0),
  };
  const output = config.tty ? undefined : (text: string, stream: "stdout" | "stderr") => {
    for (const client of run.clients) sendLine(client, text, stream);
  };
  let started: StartedUnit;
  try {
    started = await startContainerUnit(systemd, config, { attach: true, output, terminalSize });
  } catch (error) {
    for (const client of clients) client.connection.end();
    throw error;
  }
  const watch = started.watch!;
  if (config.tty) {
    run.terminal = await attachToHolder(name, run.clients, true);
  } else {
    // Nobody left to read: stop following (no journalctl left behind).
    for (const client of run.clients) {
      client.connection.onClose(() => {
        run.clients.delete(client);
        if (run.clients.size === 0) void started.follower?.cancel();
      });
    }
  }
  run.exit = (async () => {
    try {
      if (config.tty && !run.terminal) {
        // It ended before the holder took us: its output is in the journal.
        await watch.untilInactive();
        await new RunOutputFollower(started.runId, (text) => {
          for (const client of run.clients) client.connection.write(text);
        }).finish();
      }
      const status = await waitForExit(systemd, config, { ...started, watch });
      await run.terminal?.ended;
      return status;
    } finally {
      // The reference kept the ended unit readable; it can go now.
      systemd.unrefUnit(unitName(name)).catch(() => {});
      run.terminal?.close();
    }
  })();
  api.runs.addLive(run);
  // The status reaches the waiters before the streams end.
  run.exit.catch(() => -1).then(async () => {
    await sleep(0);
    for (const client of run.clients) client.connection.end();
  });
}

/**
 * Connects `clients` to a -t container's terminal holder: its output to
 * every client, the input of the first that attached stdin. When the last
 * client leaves, the connection closes: the container keeps running (a
 * detach, as with docker). Null when no holder listens.
 */
async function attachToHolder(
  name: string,
  clients: Set<AttachClient>,
  replay: boolean,
): Promise<HolderConnection | null> {
  const holder = await HolderConnection.open(
    containerPaths(name).terminalSocket,
    replay,
    (bytes) => {
      for (const client of clients) client.connection.write(bytes);
    },
  );
  if (!holder) return null;
  const input = [...clients].find((c) => c.stdin);
  input?.connection.receive((data) => holder.input(new Uint8Array(data)), () => {});
  for (const client of clients) {
    client.connection.onClose(() => {
      clients.delete(client);
      if (clients.size === 0) holder.close();
    });
  }
  return holder;
}

/**
 * An attached `docker run --rm` the way the CLI runs `tsnspawn run --rm`
 * (runtime/attached.ts): in a scope the service sets up, its output pipes
 * relayed to the clients as frames, its exit status from waitpid, the
 * container removed at its end. The run counts as activity until then: the
 * service holds its pipes. Resolves once the container runs.
 */
async function startInScope(
  api: ApiContext,
  config: ReturnType<typeof loadContainer>,
  clients: AttachClient[],
): Promise<void> {
  const { runInScope } = await import("../runtime/attached.ts");
  const systemd = await api.systemd();
  const run: LiveRun = {
    name: config.name,
    clients: new Set(clients),
    terminal: null,
    exit: Promise.resolve(0),
  };
  for (const client of clients) client.connection.onClose(() => run.clients.delete(client));
  const frames = (stream: "stdout" | "stderr") =>
    new WritableStream<Uint8Array>({
      write(chunk) {
        for (const client of run.clients) sendLine(client, chunk, stream);
      },
    });
  let started: () => void = () => {};
  const running = new Promise<void>((resolve) => started = resolve);
  const endActivity = api.idle.begin();
  run.exit = runInScope(systemd, config, {
    output: { stdout: frames("stdout"), stderr: frames("stderr") },
    forwardSignals: false,
    onStarted: started,
    exclusive: true,
  });
  run.exit.catch(() => {}).finally(endActivity);
  api.runs.addLive(run);
  run.exit.catch(() => -1).then(async () => {
    await sleep(0);
    for (const client of run.clients) client.connection.end();
  });
  // A start that failed before the container ran is the start's error.
  await Promise.race([running, run.exit.then(() => {})]);
}

/**
 * `POST /containers/{name}/attach` (hijacked): before the start the client
 * waits for it (runs.ts); on a running container without a terminal it gets
 * the output from now until the container stops; `logs=1` first replays
 * what was written.
 */
export async function attachContainerCall(
  connection: Hijacked,
  params: Record<string, string>,
  query: URLSearchParams,
  apiVersion: string,
  api: ApiContext,
): Promise<void> {
  const name = resolveContainer(params.name);
  const config = loadContainer(name);
  const client: AttachClient = {
    connection,
    stdin: queryBool(query, "stdin"),
    stdout: queryBool(query, "stdout"),
    stderr: queryBool(query, "stderr"),
  };
  const systemd = await api.systemd();
  const running = isRunning(await systemd.unitState(containerUnit(name).unit));
  connection.upgrade({ tty: config.tty, multiplexedAllowed: atLeast(apiVersion, "1.42") });
  if (!config.tty) connection.probe(EMPTY_FRAME, PROBE_INTERVAL_MS);
  api.events.emitContainer("attach", eventContainerOf(name, config));
  const replay = queryBool(query, "logs");
  if (replay) {
    await readContainerLogs(api, name, { follow: false }, (line) => {
      const text = `${line.text}\n`;
      if (config.tty) connection.write(text);
      else sendLine(client, text, line.stream);
    });
  }
  if (!queryBool(query, "stream")) {
    connection.end();
    return;
  }
  if (!running && !api.runs.live(name)) {
    api.runs.addPending(name, client);
    return;
  }
  if (config.tty) {
    const holder = await attachToHolder(name, new Set([client]), false);
    if (!holder) {
      connection.write(`container ${name}: its terminal is gone\r\n`);
    } else await holder.ended;
    connection.end();
    return;
  }
  const leave = new AbortController();
  connection.onClose(() => leave.abort());
  await readContainerLogs(api, name, { follow: true, tail: 0 }, (line) => {
    sendLine(client, `${line.text}\n`, line.stream);
  }, leave.signal).catch((error) => {
    connection.write(formatFrame(SYSTEMERR, `${(error as Error).message}\n`));
  });
  connection.end();
}

/** The conditions `/wait` takes. */
const WAIT_CONDITIONS = ["not-running", "next-exit", "removed"];

/**
 * `POST /containers/{name}/wait?condition=`: the waiter is counted before
 * the headers go out (the docker CLI starts the container once they
 * arrived, and the start must know someone waits), then the body once the
 * condition holds.
 */
export async function waitContainerCall(call: ApiCall, api: ApiContext): Promise<void> {
  const name = resolveContainer(call.params.name);
  const condition = call.query.get("condition") || "not-running";
  if (!WAIT_CONDITIONS.includes(condition)) {
    throw badRequest(`invalid condition: "${condition}"`);
  }
  const done = api.runs.addWaiter(name);
  try {
    const stream = call.stream(200, "application/json");
    let status: number | undefined;
    let failure: string | undefined;
    try {
      status = await waitForStatus(api, name, condition, call.closed);
    } catch (error) {
      // The run failed after its start was answered (its command not found):
      // docker's wait reports it (the CLI prints it and exits 125).
      status = 125;
      failure = describeError(error);
    }
    if (status === undefined) return;
    if (condition === "removed") {
      while (containerExists(name) && !call.closed.aborted) await sleep(100);
    }
    stream.write(JSON.stringify(formatWaitResponse(status, failure)) + "\n");
    stream.end();
  } finally {
    done();
  }
}

/** The exit status the condition waits for; undefined when the client left first. */
async function waitForStatus(
  api: ApiContext,
  name: string,
  condition: string,
  closed: AbortSignal,
): Promise<number | undefined> {
  const gone = new Promise<undefined>((resolve) => {
    closed.addEventListener("abort", () => resolve(undefined), { once: true });
  });
  const systemd = await api.systemd();
  for (;;) {
    const { unit } = containerUnit(name);
    if (closed.aborted) return undefined;
    const live = api.runs.live(name);
    if (live) return await Promise.race([live.exit, gone]);
    if (isRunning(await systemd.unitState(unit))) {
      // Started some other way: its unit tells when it ends.
      const watch = systemd.watchUnit(unit);
      try {
        const ended = await Promise.race([watch.untilInactive(), gone]);
        if (ended === undefined) return undefined;
        return exitStatusOf(await systemd.mainExit(unit), name);
      } finally {
        watch.close();
      }
    }
    if (condition === "not-running") return exitFactsOf(loadExitRecord(name))?.exitCode ?? 0;
    if (!containerExists(name)) return exitFactsOf(loadExitRecord(name))?.exitCode ?? 0;
    // Not running yet: the next start (ours, or anyone's: looked at each second).
    const poll = new AbortController();
    const next: LiveRun | undefined = await Promise.race([
      api.runs.nextRun(name, poll.signal),
      sleep(1000).then(() => undefined),
      gone,
    ]);
    poll.abort();
    if (next) return await Promise.race([next.exit, gone]);
  }
}

/**
 * `GET /containers/{name}/logs`: stdcopy frames (raw bytes with a
 * terminal), `tail`, `since`, `until`, `timestamps`, and with `follow`
 * until the container stops or the client leaves.
 */
export async function logsContainerCall(call: ApiCall, api: ApiContext): Promise<void> {
  const name = resolveContainer(call.params.name);
  const config = loadContainer(name);
  const stdout = queryBool(call.query, "stdout");
  const stderr = queryBool(call.query, "stderr");
  if (!stdout && !stderr) throw badRequest("Bad parameters: you must choose at least one stream");
  const now = new Date();
  const since = call.query.get("since") ?? "";
  const until = call.query.get("until") ?? "";
  const sinceNs = since === "" || since === "0" ? undefined : parseTimestamp(since, now, "since");
  const untilNs = until === "" || until === "0" ? undefined : parseTimestamp(until, now, "until");
  const tail = parseTail(call.query.get("tail"));
  const timestamps = queryBool(call.query, "timestamps");
  const stream = call.stream(200, streamMediaType(config.tty, atLeast(call.apiVersion, "1.42")));
  try {
    await readContainerLogs(api, name, {
      follow: queryBool(call.query, "follow"),
      ...(tail !== undefined ? { tail } : {}),
      ...(sinceNs !== undefined ? { sinceNs } : {}),
      ...(untilNs !== undefined ? { untilNs } : {}),
    }, (line) => {
      if (line.stream === "stdout" ? !stdout : !stderr) return;
      const text = formatLogLine(
        `${line.text}\n`,
        timestamps ? line.realtimeUs * 1000n : undefined,
      );
      stream.write(
        config.tty ? text : formatFrame(line.stream === "stdout" ? STDOUT : STDERR, text),
      );
    }, call.closed);
  } catch (error) {
    stream.write(formatFrame(SYSTEMERR, `Error grabbing logs: ${(error as Error).message}\n`));
  }
  stream.end();
}

/** `POST /containers/{name}/resize?h=&w=`: the window of a -t container's terminal (its holder's). */
export async function resizeContainerCall(call: ApiCall, api: ApiContext): Promise<void> {
  const name = resolveContainer(call.params.name);
  const rows = queryInt(call.query, "h", 0, { min: 0, max: 65535 });
  const columns = queryInt(call.query, "w", 0, { min: 0, max: 65535 });
  const live = api.runs.live(name);
  if (live?.terminal) {
    live.terminal.resize({ rows, columns });
    call.sendEmpty(200);
    return;
  }
  const systemd = await api.systemd();
  if (!isRunning(await systemd.unitState(containerUnit(name).unit))) {
    throw new ApiError(409, `Container ${name} is not running`);
  }
  const config = loadContainer(name);
  if (!config.tty) throw badRequest(`container ${name} has no terminal to resize`);
  if (!await resizeThroughHolder(containerPaths(name).terminalSocket, { rows, columns })) {
    throw new ApiError(409, `container ${name}: its terminal is gone`);
  }
  call.sendEmpty(200);
}

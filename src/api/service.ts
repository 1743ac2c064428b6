/**
 * `tsnspawn api`: the Docker Engine API service. It serves the socket
 * systemd passes in (units/tsnspawn-api.socket: /run/tsnspawn/docker.sock;
 * node:http adopts fd 3, which Deno.listen cannot), or, run by hand, a
 * socket it binds itself (`--socket PATH`). It tells systemd it is ready
 * (Type=notify), answers calls through dispatch.ts, and exits once idle
 * for `--idle-exit` seconds (default 5, 0 = never; idle.ts says what
 * counts): systemd starts it again on the next connection, so no process of
 * tsnspawn's stays when nobody talks to it. No TCP listener, ever: the
 * socket is root-equivalent, like docker's.
 *
 * References: systemd.socket(5), sd_listen_fds(3), sd_notify(3); Node's
 * http.Server (listen({fd}), 'upgrade'); podman's `system service`
 * (cmd/podman/system/service_abi.go); research notes
 * /work/shared/research/docker-api.md §0.11, §0.12, §5, §8.
 */
import http from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { dirname } from "../path_util.ts";
import { TsnspawnError } from "../errors.ts";
import { takeListenFds } from "../../ffi/socket_activation.ts";
import { notify } from "../../ffi/notify.ts";
import { ApiContext } from "./context.ts";
import { ApiCall } from "./http.ts";
import { Hijacked } from "./hijack.ts";
import { matchRoute, routeError } from "./routes.ts";
import { parseRequestTarget } from "./request.ts";
import { statusForError } from "./errors.ts";
import { HANDLERS, HIJACK_HANDLERS, notServed } from "./dispatch.ts";

/** The socket the units and `./setup --docker-socket` use. */
export const DEFAULT_SOCKET = "/run/tsnspawn/docker.sock";

/** Options of `tsnspawn api`. */
export interface ApiServiceOptions {
  /** Bind this path when systemd passed no socket (default {@link DEFAULT_SOCKET}). */
  socketPath?: string;
  /** Seconds without activity before the service exits; 0 = never. */
  idleExitSec: number;
  /** Log every call to stderr (the journal). */
  debug?: boolean;
}

/** Logs a line to stderr (the service's journal). */
function log(line: string): void {
  console.error(`tsnspawn api: ${line}`);
}

/** Runs the service until it is idle or told to stop; returns the exit status. */
export async function runApiService(options: ApiServiceOptions): Promise<number> {
  let stopping: ((reason: string) => void) | null = null;
  const stopped = new Promise<string>((resolve) => stopping = resolve);
  const api = new ApiContext(options.idleExitSec * 1000, () => stopping?.("idle"));
  const server = http.createServer((req, res) => void serveCall(api, req, res, options));
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Uint8Array) => {
    void serveHijack(api, req, socket, head, options);
  });
  server.on("clientError", (_error: unknown, socket: Duplex) => {
    socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
  });

  const fds = takeListenFds();
  let bound: string | null = null;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    if (fds.length > 0) {
      server.listen({ fd: fds[0] }, resolve);
    } else {
      bound = options.socketPath ?? DEFAULT_SOCKET;
      prepareSocketPath(bound);
      server.listen(bound, resolve);
    }
  });
  if (bound) Deno.chmodSync(bound, 0o660);
  notify(`READY=1\nSTATUS=serving the Docker API on ${bound ?? "the socket systemd passed"}`);
  Deno.env.delete("NOTIFY_SOCKET");
  if (options.debug) log(`listening on ${bound ?? `fd ${fds[0]}`}`);
  // Container starts and deaths are events from now on, whoever causes them.
  api.events.watch().catch((error) => log(`cannot follow the containers' units: ${error}`));

  const onSignal = () => stopping?.("signal");
  Deno.addSignalListener("SIGTERM", onSignal);
  Deno.addSignalListener("SIGINT", onSignal);
  const reason = await stopped;
  api.idle.stop();
  if (options.debug) log(`stopping (${reason})`);
  notify("STOPPING=1");
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    // Keep-alive connections with no call in progress do not hold the exit.
    (server as unknown as { closeIdleConnections?: () => void }).closeIdleConnections?.();
    if (reason === "signal") setTimeout(resolve, 2000);
  });
  await api.close();
  if (bound) {
    try {
      Deno.removeSync(bound);
    } catch { /* gone already */ }
  }
  return 0;
}

/**
 * Makes the directory of a socket to bind and removes a stale socket file
 * (one nobody listens on); a socket someone serves is refused.
 */
function prepareSocketPath(path: string): void {
  Deno.mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(path);
  } catch {
    return;
  }
  if (!info.isSocket) {
    throw new TsnspawnError("conflict", `${path}: exists and is not a socket`, {
      hint: "remove it, or give another path with --socket",
    });
  }
  Deno.removeSync(path);
}

/** Serves one ordinary call. */
async function serveCall(
  api: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  options: ApiServiceOptions,
): Promise<void> {
  const end = api.idle.begin();
  res.on("close", () => {
    end();
    if (options.debug) log(`${req.method} ${req.url}: closed (${api.idle.active} active)`);
  });
  const { path, query } = parseRequestTarget(req.url ?? "/");
  const method = req.method ?? "GET";
  const match = matchRoute(method, path);
  const route = match.kind === "route" ? match : { params: {}, apiVersion: "1.44" };
  const call = new ApiCall(req, res, route, query);
  if (options.debug) log(`${method} ${req.url}`);
  try {
    if (match.kind !== "route") throw routeError(match);
    const handler = HANDLERS[match.route.id];
    if (!handler) throw notServed(match.route, method, path);
    await handler(call, api);
  } catch (error) {
    reportFailure(method, req.url ?? "", error, options);
    call.sendError(error);
  }
}

/** Serves one upgraded (hijacked) call. */
async function serveHijack(
  api: ApiContext,
  req: IncomingMessage,
  socket: Duplex,
  head: Uint8Array,
  options: ApiServiceOptions,
): Promise<void> {
  socket.pause();
  const end = api.idle.begin();
  const connection = new Hijacked(req, socket, new Uint8Array(head), () => {
    end();
    if (options.debug) log(`${req.method} ${req.url}: closed (${api.idle.active} active)`);
  });
  const { path, query } = parseRequestTarget(req.url ?? "/");
  const method = req.method ?? "POST";
  const match = matchRoute(method, path);
  if (options.debug) log(`${method} ${req.url} (upgrade)`);
  try {
    if (match.kind !== "route") throw routeError(match);
    const handler = HIJACK_HANDLERS[match.route.id];
    if (!handler) throw notServed(match.route, method, path);
    await handler(connection, match.params, query, match.apiVersion, api);
  } catch (error) {
    reportFailure(method, req.url ?? "", error, options);
    if (connection.upgraded) {
      connection.write(`Error: ${error instanceof Error ? error.message : String(error)}\r\n`);
      connection.end();
    } else {
      connection.refuse(error, match.pathVersion);
    }
  }
}

/** Server-side failures go to the journal with their stack; the client gets the message. */
function reportFailure(
  method: string,
  url: string,
  error: unknown,
  options: ApiServiceOptions,
): void {
  if (statusForError(error) >= 500 && statusForError(error) !== 501 || options.debug) {
    const detail = error instanceof Error ? (options.debug ? error.stack : error.message) : error;
    log(`${method} ${url}: ${detail}`);
  }
}

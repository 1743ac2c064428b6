/**
 * A hijacked connection (attach, exec start): the raw socket node:http hands
 * over for an `Upgrade: tcp` request, the request body read from it, the
 * `101 UPGRADED` head, then bytes both ways.
 *
 * Rules the clients set (research notes §0.4, §7.3–7.5): the head is one
 * write of its own (docker-py loses bytes that arrive with it,
 * docker-py#2466); the client half-closes its side when its stdin ends
 * (immediately without stdin), which is not a hang-up: the server keeps
 * writing and ends the stream itself when the container or process ends;
 * an error before the head is an ordinary HTTP response in Docker's format.
 * The connection counts as activity until it closes (idle.ts).
 *
 * References: Docker Engine API v1.44 ("Hijacking"); moby v28.2.2
 * api/server/router/container/container_routes.go (postContainersAttach),
 * exec.go (postContainerExecStart); Node's http 'upgrade' event.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { formatErrorResponse } from "./errors.ts";
import { usesPlainTextErrors } from "./api_version.ts";
import { API_HEADERS } from "./http.ts";
import { formatHijackHead } from "./stream.ts";
import { JSON_BODY_LIMIT } from "./request.ts";
import { bodyTooLarge } from "./errors.ts";

/** The raw connection of an upgraded request, before and after its 101. */
export class Hijacked {
  readonly req: IncomingMessage;
  readonly #socket: Duplex;
  #head: Uint8Array;
  #ended = false;
  #closed = false;
  #upgraded = false;
  /** The client's bytes before someone receives them. */
  #input: Uint8Array[] = [];
  #clientEnded = false;
  #onInput: ((data: Uint8Array) => void) | null = null;
  #onInputEnd: (() => void) | null = null;
  readonly #closeHandlers: (() => void)[] = [];
  readonly #endActivity: () => void;

  constructor(req: IncomingMessage, socket: Duplex, head: Uint8Array, endActivity: () => void) {
    this.req = req;
    this.#socket = socket;
    this.#head = head;
    this.#endActivity = endActivity;
    socket.on("close", () => this.#onClose());
    socket.on("error", () => socket.destroy());
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#endActivity();
    for (const handler of this.#closeHandlers.splice(0)) handler();
  }

  /** The 101 was written: errors now go in-band. */
  get upgraded(): boolean {
    return this.#upgraded;
  }

  /** The connection is gone (both sides). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Runs `handler` once the connection closed (at once if it has). */
  onClose(handler: () => void): void {
    if (this.#closed) handler();
    else this.#closeHandlers.push(handler);
  }

  /**
   * Reads the request body (Content-Length bytes) before anything is written
   * back. Where its bytes arrive depends on timing: with the head (node
   * hands them over in `head`), parsed into the request (Deno's node:http
   * does so when they came with the headers), or on the socket after it.
   * The body of an upgraded request is small JSON (exec start) or empty
   * (attach). Bytes past it are the client's first stream bytes.
   */
  async readBody(): Promise<Uint8Array> {
    const length = Number(this.req.headers["content-length"] ?? 0) || 0;
    if (length > JSON_BODY_LIMIT) throw bodyTooLarge(JSON_BODY_LIMIT);
    const chunks: Uint8Array[] = [this.#head];
    let size = this.#head.length;
    this.#head = new Uint8Array(0);
    if (size < length) {
      await new Promise<void>((resolve) => {
        const onData = (data: Uint8Array) => {
          chunks.push(new Uint8Array(data));
          size += data.length;
          if (size >= length) finish();
        };
        const finish = () => {
          this.req.off("data", onData);
          this.#socket.off("data", onData);
          this.#socket.off("end", finish);
          this.#socket.off("close", finish);
          this.#socket.pause();
          resolve();
        };
        this.req.on("data", onData);
        this.#socket.on("data", onData);
        this.#socket.once("end", finish);
        this.#socket.once("close", finish);
        this.#socket.resume();
      });
    }
    const all = new Uint8Array(size);
    let offset = 0;
    for (const chunk of chunks) {
      all.set(chunk, offset);
      offset += chunk.length;
    }
    this.#head = all.slice(length);
    return all.slice(0, length);
  }

  /** Answers with an HTTP error instead of upgrading, and closes. */
  refuse(error: unknown, pathVersion?: string): void {
    const response = formatErrorResponse(error, { plainText: usesPlainTextErrors(pathVersion) });
    const reasons: Record<number, string> = {
      304: "Not Modified",
      400: "Bad Request",
      403: "Forbidden",
      404: "Not Found",
      409: "Conflict",
      413: "Request Entity Too Large",
      500: "Internal Server Error",
      501: "Not Implemented",
    };
    const headers = {
      ...API_HEADERS,
      ...response.headers,
      "Content-Length": String(new TextEncoder().encode(response.body).length),
      "Connection": "close",
    };
    const head = [
      `HTTP/1.1 ${response.status} ${reasons[response.status] ?? "Error"}`,
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    ].join("\r\n") + "\r\n\r\n";
    this.#socket.end(head + response.body);
  }

  /**
   * Writes the 101 (or moby's 200 variant for a request without Upgrade) in a
   * write of its own, then starts delivering the client's bytes.
   */
  upgrade(options: { tty: boolean; multiplexedAllowed: boolean }): void {
    const upgrade = (this.req.headers["upgrade"] ?? "") !== "";
    this.#upgraded = true;
    this.#socket.write(formatHijackHead({ upgrade, ...options, headers: API_HEADERS }));
    // Read from now on, whoever wants the bytes: a socket nobody reads never
    // learns that its client went away.
    if (this.#head.length > 0) this.#input.push(this.#head);
    this.#head = new Uint8Array(0);
    this.#socket.on("data", (data: Uint8Array) => {
      const bytes = new Uint8Array(data);
      if (this.#onInput) this.#onInput(bytes);
      else this.#input.push(bytes);
    });
    const ended = () => {
      if (this.#clientEnded) return;
      this.#clientEnded = true;
      this.#onInputEnd?.();
    };
    this.#socket.on("end", ended);
    this.onClose(ended);
    this.#socket.resume();
  }

  /**
   * Delivers what the client sends (its stdin; what it sent before is kept
   * for this) to `onData`, and `onEnd` once it half-closed or went away.
   * Call once, after {@link upgrade}.
   */
  receive(onData: (data: Uint8Array) => void, onEnd: () => void): void {
    for (const bytes of this.#input.splice(0)) onData(bytes);
    this.#onInput = onData;
    this.#onInputEnd = onEnd;
    if (this.#clientEnded) onEnd();
  }

  /**
   * Writes `bytes` every `intervalMs` while the connection is open: a client
   * that half-closed and then died is noticed only when a write fails, and
   * a quiet stream would never write (an empty stdcopy frame changes
   * nothing for the clients).
   */
  probe(bytes: Uint8Array, intervalMs: number): void {
    const timer = setInterval(() => this.write(bytes), intervalMs);
    this.onClose(() => clearInterval(timer));
  }

  /** Writes bytes to the client; false once it is gone. */
  write(data: Uint8Array | string): boolean {
    if (this.#closed || this.#ended) return false;
    this.#socket.write(data);
    return true;
  }

  /** Ends our side (the client sees EOF once what was written arrived), then closes. */
  end(): void {
    if (this.#ended || this.#closed) return;
    this.#ended = true;
    this.#socket.end();
    // A client that never closes its side must not hold the connection.
    const timer = setTimeout(() => this.#socket.destroy(), 5000);
    this.onClose(() => clearTimeout(timer));
  }

  /** Drops the connection at once. */
  destroy(): void {
    this.#socket.destroy();
  }
}

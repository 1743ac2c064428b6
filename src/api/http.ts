/**
 * One API call over node:http: the request as the handlers read it (route
 * parameters, query, a JSON body read under a size limit, a signal that
 * fires when the client goes away) and the answers they give (JSON, empty,
 * Docker's errors, and streams whose headers are flushed at once).
 *
 * Streams: logs, events, pull, build and `/wait` are chunked responses whose
 * headers must reach the client before any data (docker-py needs
 * `Transfer-Encoding: chunked`; the docker CLI sends `/start` only once the
 * `/wait` headers arrived). node:http's `writeHead` alone does not send
 * them: `flushHeaders` does. Every response carries the API headers
 * (api_version.ts formatApiHeaders); errors use Docker's format
 * (errors.ts), plain text for clients older than API 1.24.
 *
 * References: Docker Engine API v1.44; Node's http module (IncomingMessage,
 * ServerResponse); research notes /work/shared/research/docker-api.md §0.7,
 * §0.11, §7.1, §7.7.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { formatApiHeaders, usesPlainTextErrors } from "./api_version.ts";
import { bodyTooLarge, formatErrorResponse } from "./errors.ts";
import { checkJsonContentType, JSON_BODY_LIMIT, parseJsonObject } from "./request.ts";
import { VERSION } from "../version.ts";

/** The headers every response carries. */
export const API_HEADERS: Readonly<Record<string, string>> = formatApiHeaders(VERSION);

/** Reads a whole request body, refusing more than `limit` bytes (413). */
export async function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array> {
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (declared > limit) throw bodyTooLarge(limit);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Uint8Array).length;
    if (size > limit) throw bodyTooLarge(limit);
    chunks.push(chunk as Uint8Array);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.length;
  }
  return body;
}

/** An API call: what the handler reads and how it answers. */
export class ApiCall {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** Route parameters (`name`, `id`), decoded. */
  readonly params: Record<string, string>;
  readonly query: URLSearchParams;
  /** The version the call is served at. */
  readonly apiVersion: string;
  /** The version in the path, if any (errors are plain text below 1.24). */
  readonly pathVersion?: string;
  readonly #closed = new AbortController();

  constructor(
    req: IncomingMessage,
    res: ServerResponse,
    route: { params: Record<string, string>; apiVersion: string; pathVersion?: string },
    query: URLSearchParams,
  ) {
    this.req = req;
    this.res = res;
    this.params = route.params;
    this.apiVersion = route.apiVersion;
    if (route.pathVersion !== undefined) this.pathVersion = route.pathVersion;
    this.query = query;
    // The client went away before the answer was complete.
    res.on("close", () => {
      if (!res.writableFinished) this.#closed.abort();
    });
  }

  /** Fires when the client closed the connection before the answer ended. */
  get closed(): AbortSignal {
    return this.#closed.signal;
  }

  /** The body as a JSON object; `{}` for an empty one when `emptyIsObject`. */
  async json(options: { emptyIsObject?: boolean } = {}): Promise<Record<string, unknown>> {
    const body = await readBody(this.req, JSON_BODY_LIMIT);
    checkJsonContentType(this.req.headers["content-type"] ?? null, body.length);
    return parseJsonObject(new TextDecoder().decode(body), options);
  }

  /** A header's value (the first, if repeated). */
  header(name: string): string | null {
    const value = this.req.headers[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value[0] ?? null : value;
  }

  /** Answers with a JSON document. */
  sendJson(status: number, value: unknown): void {
    const body = JSON.stringify(value) + "\n";
    this.res.writeHead(status, {
      ...API_HEADERS,
      "Content-Type": "application/json",
      "Content-Length": String(new TextEncoder().encode(body).length),
    });
    this.res.end(body);
  }

  /** Answers with no body (204, 200 for resize, 201...). */
  sendEmpty(status: number): void {
    this.res.writeHead(status, { ...API_HEADERS, "Content-Length": "0" });
    this.res.end();
  }

  /** Answers with plain text (the ping's `OK`). */
  sendText(status: number, text: string, headers: Record<string, string> = {}): void {
    this.res.writeHead(status, {
      ...API_HEADERS,
      "Content-Type": "text/plain; charset=utf-8",
      "Content-Length": String(new TextEncoder().encode(text).length),
      ...headers,
    });
    this.res.end(text);
  }

  /** Answers with Docker's error for `error`, unless the answer already began. */
  sendError(error: unknown): void {
    if (this.res.headersSent) {
      this.res.destroy();
      return;
    }
    const response = formatErrorResponse(error, {
      plainText: usesPlainTextErrors(this.pathVersion),
    });
    this.res.writeHead(response.status, {
      ...API_HEADERS,
      ...response.headers,
      "Content-Length": String(new TextEncoder().encode(response.body).length),
    });
    this.res.end(response.body);
  }

  /**
   * Begins a streamed answer: status and headers sent at once, chunked
   * body. Write whole messages (an event, a frame, a progress line) per call.
   */
  stream(status: number, contentType: string): ResponseStream {
    this.res.writeHead(status, { ...API_HEADERS, "Content-Type": contentType });
    this.res.flushHeaders();
    return new ResponseStream(this.res);
  }
}

/** A streamed answer's body. */
export class ResponseStream {
  readonly #res: ServerResponse;

  constructor(res: ServerResponse) {
    this.#res = res;
  }

  /** The client is still there. */
  get open(): boolean {
    return !this.#res.destroyed && !this.#res.writableEnded;
  }

  /** Writes one chunk; false once the client is gone. */
  write(data: Uint8Array | string): boolean {
    if (!this.open) return false;
    this.#res.write(data);
    return true;
  }

  /** Ends the answer. */
  end(): void {
    if (this.open) this.#res.end();
  }
}

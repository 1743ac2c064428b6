/**
 * HTTP/1.1 over plain TCP, for the registries tsnspawn reaches without TLS
 * (loopback ones, and ones marked insecure) — effects; registry/client.ts
 * is its only user and keeps `fetch` for https.
 *
 * Why not `fetch` for these too: the first `fetch` of a Deno process costs
 * it ~12 ms (Deno loads its fetch implementation on first use and builds a
 * TLS client even for an http:// URL), which is a fifth of a `pull` that
 * finds everything present. This is the little the registry client needs:
 *  - one request per connection (`Connection: close`), body from bytes;
 *  - response bodies framed by Content-Length, by the chunked transfer
 *    coding, or by the end of the connection (RFC 9112 §6); a body that ends
 *    early is an error, so a dropped download is noticed;
 *  - no redirects, no content codings (none is asked for): the caller
 *    follows a redirect with `fetch`.
 * Responses are untrusted: the header block and chunk-size lines have
 * limits; header values we send may not contain CR or LF.
 */

/** What the registry client uses of a response (`Response` has all of it too). */
export interface HttpResponse {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: { get(name: string): string | null };
  /** The body as a stream (made on first access), or null when there is none. */
  readonly body: ReadableStream<Uint8Array> | null;
  text(): Promise<string>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** A request for {@link httpRequest}. */
export interface HttpRequest {
  method: string;
  headers?: Record<string, string>;
  body?: Uint8Array<ArrayBuffer> | null;
  /** Aborts the connection attempt and the wait for the response headers. */
  signal?: AbortSignal;
}

/** Largest response header block accepted. */
const MAX_HEADER_BYTES = 64 * 1024;
/** Bytes asked of the socket per read. */
const READ_SIZE = 64 * 1024;

const encoder = new TextEncoder();
const latin1 = new TextDecoder("latin1");

function protocolError(why: string): Error {
  return new Error(`invalid HTTP response: ${why}`);
}

/** Buffered reads from a connection. */
class Input {
  readonly #conn: Deno.Conn;
  #buffer = new Uint8Array(0);

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Reads more from the connection into the buffer; false at its end. */
  async #fill(): Promise<boolean> {
    const chunk = new Uint8Array(READ_SIZE);
    const n = await this.#conn.read(chunk);
    if (n === null) return false;
    const joined = new Uint8Array(this.#buffer.length + n);
    joined.set(this.#buffer);
    joined.set(chunk.subarray(0, n), this.#buffer.length);
    this.#buffer = joined;
    return true;
  }

  /** Bytes up to `delimiter` (removed, not returned); throws past `limit` bytes or at the end. */
  async until(delimiter: Uint8Array, limit: number, what: string): Promise<Uint8Array> {
    for (let from = 0;;) {
      const at = indexOf(this.#buffer, delimiter, from);
      if (at > limit || (at < 0 && this.#buffer.length > limit)) {
        throw protocolError(`${what} is too long`);
      }
      if (at >= 0) {
        const line = this.#buffer.subarray(0, at);
        this.#buffer = this.#buffer.subarray(at + delimiter.length);
        return line;
      }
      from = Math.max(0, this.#buffer.length - delimiter.length + 1);
      if (!(await this.#fill())) throw protocolError(`connection closed in the ${what}`);
    }
  }

  /** The next bytes, at most `max`; null at the end of the connection. */
  async some(max: number): Promise<Uint8Array | null> {
    if (this.#buffer.length === 0) {
      const chunk = new Uint8Array(Math.min(max, READ_SIZE));
      const n = await this.#conn.read(chunk);
      return n === null ? null : chunk.subarray(0, n);
    }
    const piece = this.#buffer.subarray(0, max);
    this.#buffer = this.#buffer.subarray(piece.length);
    return piece;
  }

  close(): void {
    try {
      this.#conn.close();
    } catch { /* closed already */ }
  }
}

function indexOf(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  for (let i = haystack.indexOf(needle[0], from); i >= 0; i = haystack.indexOf(needle[0], i + 1)) {
    if (i + needle.length > haystack.length) return -1;
    let j = 1;
    while (j < needle.length && haystack[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}

const CRLF = encoder.encode("\r\n");
const HEADER_END = encoder.encode("\r\n\r\n");

/** The body's pieces in order, by its framing (RFC 9112 §6.3). */
async function* bodyPieces(
  input: Input,
  framing: { length: number } | "chunked" | "close",
): AsyncGenerator<Uint8Array> {
  if (framing === "close") {
    for (let piece = await input.some(READ_SIZE); piece; piece = await input.some(READ_SIZE)) {
      yield piece;
    }
    return;
  }
  const exactly = async function* (length: number) {
    for (let left = length; left > 0;) {
      const piece = await input.some(left);
      if (!piece) throw protocolError(`connection closed ${left} bytes before the body's end`);
      left -= piece.length;
      yield piece;
    }
  };
  if (framing !== "chunked") {
    yield* exactly(framing.length);
    return;
  }
  for (;;) {
    const line = latin1.decode(await input.until(CRLF, 1024, "chunk size"));
    const size = /^([0-9a-fA-F]{1,12})[ \t]*(;.*)?$/.exec(line);
    if (!size) throw protocolError(`bad chunk size line ${JSON.stringify(line)}`);
    const length = parseInt(size[1], 16);
    if (length === 0) break;
    yield* exactly(length);
    if ((await input.until(CRLF, 2, "chunk end")).length !== 0) {
      throw protocolError("chunk longer than announced");
    }
  }
  // Trailer fields, up to the empty line.
  while ((await input.until(CRLF, MAX_HEADER_BYTES, "trailer")).length > 0) { /* ignored */ }
}

/** A response on its own connection; the body is read once, as a stream or whole. */
class Http1Response implements HttpResponse {
  readonly status: number;
  readonly headers: Http1Headers;
  readonly #pieces: AsyncGenerator<Uint8Array> | null;
  readonly #input: Input;
  #body: ReadableStream<Uint8Array> | null | undefined;

  constructor(
    status: number,
    headers: Http1Headers,
    pieces: AsyncGenerator<Uint8Array> | null,
    input: Input,
  ) {
    this.status = status;
    this.headers = headers;
    this.#pieces = pieces;
    this.#input = input;
    if (!pieces) input.close();
  }

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  get body(): ReadableStream<Uint8Array> | null {
    if (this.#body !== undefined) return this.#body;
    const pieces = this.#pieces;
    const input = this.#input;
    this.#body = pieces && new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { done, value } = await pieces.next();
          if (done) {
            input.close();
            controller.close();
          } else {
            controller.enqueue(value);
          }
        } catch (e) {
          input.close();
          controller.error(e);
        }
      },
      cancel() {
        input.close();
      },
    });
    return this.#body;
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const parts: Uint8Array[] = [];
    try {
      for await (const piece of this.#pieces ?? []) parts.push(piece);
    } finally {
      this.#input.close();
    }
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const part of parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out.buffer;
  }

  async text(): Promise<string> {
    return new TextDecoder().decode(await this.arrayBuffer());
  }
}

/** Response header fields, names case-insensitive; repeated ones joined with ", ". */
class Http1Headers {
  readonly #fields = new Map<string, string>();

  add(name: string, value: string): void {
    const key = name.toLowerCase();
    const had = this.#fields.get(key);
    this.#fields.set(key, had === undefined ? value : `${had}, ${value}`);
  }

  get(name: string): string | null {
    return this.#fields.get(name.toLowerCase()) ?? null;
  }
}

/** Parses the status line and header fields of a response. */
function parseHead(head: string): { status: number; headers: Http1Headers } {
  const [statusLine, ...lines] = head.split("\r\n");
  const status = /^HTTP\/1\.[01] ([1-9][0-9]{2})(?: .*)?$/.exec(statusLine);
  if (!status) throw protocolError(`bad status line ${JSON.stringify(statusLine.slice(0, 80))}`);
  const headers = new Http1Headers();
  for (const line of lines) {
    const field = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*(.*?)[ \t]*$/.exec(line);
    if (!field) throw protocolError(`bad header line ${JSON.stringify(line.slice(0, 80))}`);
    headers.add(field[1], field[2]);
  }
  return { status: Number(status[1]), headers };
}

/** How the body of a response is delimited, or null when it has none. */
function framingOf(
  method: string,
  status: number,
  headers: Http1Headers,
): { length: number } | "chunked" | "close" | null {
  if (method === "HEAD" || status < 200 || status === 204 || status === 304) return null;
  const coding = headers.get("transfer-encoding");
  if (coding !== null) {
    if (coding.trim().toLowerCase() !== "chunked") {
      throw protocolError(`unsupported transfer coding "${coding}"`);
    }
    return "chunked";
  }
  const length = headers.get("content-length");
  if (length === null) return "close";
  if (!/^[0-9]{1,15}$/.test(length.trim())) throw protocolError(`bad Content-Length "${length}"`);
  return { length: Number(length) };
}

/** The connection, or the signal's reason if it aborts first (a late connection is closed). */
function abortable(connecting: Promise<Deno.Conn>, signal: AbortSignal): Promise<Deno.Conn> {
  return new Promise((resolve, reject) => {
    const abort = () => {
      reject(signal.reason);
      connecting.then((conn) => conn.close(), () => {});
    };
    signal.addEventListener("abort", abort, { once: true });
    connecting.finally(() => signal.removeEventListener("abort", abort)).then(resolve, reject);
  });
}

/** Sends `request` to `url` (http: only) and returns the response once its headers are in. */
export async function httpRequest(url: URL, request: HttpRequest): Promise<HttpResponse> {
  if (url.protocol !== "http:") throw new TypeError(`httpRequest: not an http URL: ${url}`);
  const headers: Record<string, string> = { host: url.host, ...request.headers };
  const body = request.body ?? null;
  if (body !== null || ["POST", "PUT", "PATCH"].includes(request.method)) {
    headers["content-length"] = String(body?.length ?? 0);
  }
  headers.connection = "close";
  let head = `${request.method} ${url.pathname}${url.search} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) {
      throw new TypeError(`HTTP header ${name} contains a line break`);
    }
    head += `${name}: ${value}\r\n`;
  }

  const signal = request.signal;
  signal?.throwIfAborted();
  const connecting = Deno.connect({
    hostname: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: Number(url.port || 80),
  });
  const conn = signal ? await abortable(connecting, signal) : await connecting;
  const input = new Input(conn);
  const abort = () => input.close();
  signal?.addEventListener("abort", abort);
  try {
    for (const bytes of [encoder.encode(`${head}\r\n`), body]) {
      for (let off = 0; bytes && off < bytes.length;) off += await conn.write(bytes.subarray(off));
    }
    let parsed = parseHead(
      latin1.decode(await input.until(HEADER_END, MAX_HEADER_BYTES, "header")),
    );
    while (parsed.status < 200) { // 1xx: informational, the real answer follows
      parsed = parseHead(latin1.decode(await input.until(HEADER_END, MAX_HEADER_BYTES, "header")));
    }
    const framing = framingOf(request.method, parsed.status, parsed.headers);
    const pieces = framing === null ? null : bodyPieces(input, framing);
    return new Http1Response(parsed.status, parsed.headers, pieces, input);
  } catch (e) {
    input.close();
    throw signal?.aborted ? signal.reason : e;
  } finally {
    signal?.removeEventListener("abort", abort);
  }
}

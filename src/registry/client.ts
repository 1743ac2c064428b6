/**
 * The registry client: the only code in tsnspawn that talks to registries
 * (effects). Pure protocol decisions (challenges, manifests, platforms, media
 * types) are in `registry/protocol.ts`.
 *
 * Flow (opencontainers/distribution-spec spec.md):
 *  - The first request goes out without credentials; a 401 names the auth
 *    scheme (`WWW-Authenticate`) and the request is repeated with
 *    `Authorization`. Later requests carry it up front: Basic with the stored
 *    credentials (read from disk at the first 401), or a Bearer token fetched
 *    from the realm for the request's scope (anonymously, or with Basic
 *    credentials) and cached until it expires. A 401 on a request refreshes
 *    the challenge once. No separate `GET /v2/` ("ping") before a pull: it
 *    would cost a round trip; `login` pings to check that the host is a
 *    registry.
 *  - Connection errors and 5xx/429 are retried with exponential back-off
 *    (`backoffMs`); other statuses become one-line errors naming the registry.
 *  - Blob downloads stream: every byte is written to a part file and hashed as
 *    it passes; the stream errors unless size and sha256 match the descriptor,
 *    so a consumer (the layer unpacker) never finishes on unverified data. A
 *    connection that drops mid-blob is resumed with `Range`; a part file left
 *    by a killed pull is replayed first and then continued with `Range`.
 *  - Uploads: `HEAD` the blob first; `POST` an upload session, then either one
 *    `PUT ?digest=` (monolithic) or `PATCH` chunks + closing `PUT` (chunked).
 *
 * Transport: HTTPS through `fetch`, except plain HTTP for loopback registries
 * or ones marked insecure (`--tls-verify=false`, registries.json), through
 * registry/http.ts (a redirect from there is followed with `fetch`). Deno's
 * fetch cannot skip certificate checks per request, so "insecure" means
 * plain HTTP here. A client's auth state can move to another thread
 * (`session`, `resume`: the layer workers download with the main thread's
 * token).
 */
import { createSha256, sha256Digest } from "../oci/digest.ts";
import { TsnspawnError } from "../errors.ts";
import {
  type AuthChallenge,
  backoffMs,
  type BearerToken,
  isLoopbackRegistry,
  isRetryableStatus,
  MANIFEST_ACCEPT,
  MAX_MANIFEST_SIZE,
  parseContentRange,
  parseTokenResponse,
  parseWwwAuthenticate,
  registryBaseUrl,
  registryErrorText,
  tokenRequestUrl,
} from "./protocol.ts";
import { type Credentials, isMarkedInsecure, loadCredentials } from "./config.ts";
import { type HttpRequest, httpRequest, type HttpResponse } from "./http.ts";
import type { OciDescriptor } from "../oci/types.ts";

/** Options of a {@link RegistryClient}. */
export interface RegistryClientOptions {
  /** Allow plain HTTP (loopback registries always may). */
  insecure?: boolean;
  /** Credentials for Basic auth or for the token server. */
  credentials?: Credentials;
  /** Retries after a connection error or 5xx (default 3). */
  retries?: number;
  /** Time to wait for response headers, in ms (default 30 s). */
  timeoutMs?: number;
}

/**
 * What a client knows about its registry: enough for another client, e.g. on
 * a worker thread, to carry on with the same auth (plain data, cloneable).
 */
export interface RegistrySession {
  domain: string;
  insecure: boolean;
  credentials?: Credentials;
  challenge: AuthChallenge | null | undefined;
  tokens: [string, BearerToken][];
}

/** A manifest as fetched: its bytes, Content-Type and sha256 digest. */
export interface FetchedManifest {
  bytes: Uint8Array;
  contentType: string | null;
  digest: string;
}

/** Options of {@link RegistryClient.blobStream}. */
export interface BlobStreamOptions {
  /**
   * Part file to stream into (kept on failure for a later resume; removed once
   * the blob verified). Another pull holding it makes this one use a private file.
   */
  partPath: string;
  /** Called with the number of bytes received so far. */
  onProgress?: (bytes: number) => void;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A client for one registry (one domain). */
export class RegistryClient {
  /** The registry as named in references, e.g. "127.0.0.1:5000" or "docker.io". */
  readonly domain: string;
  /** e.g. "http://127.0.0.1:5000". */
  readonly baseUrl: string;
  /** Given, or read on first need (see `open`). */
  #credentials: Credentials | undefined | (() => Credentials | undefined);
  readonly #retries: number;
  readonly #timeoutMs: number;
  /** undefined: not known yet (no 401 seen); null: no auth needed. */
  #challenge: AuthChallenge | null | undefined;
  readonly #tokens = new Map<string, BearerToken>();

  constructor(domain: string, options: RegistryClientOptions = {}) {
    this.domain = domain;
    this.baseUrl = registryBaseUrl(domain, options.insecure ?? false);
    this.#credentials = options.credentials;
    this.#retries = options.retries ?? 3;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  /**
   * A client configured from disk: stored credentials (tsnspawn's, then
   * docker's) and the insecure list, unless given explicitly.
   */
  static open(domain: string, options: RegistryClientOptions = {}): RegistryClient {
    const client = new RegistryClient(domain, {
      ...options,
      insecure: options.insecure || isLoopbackRegistry(domain) || isMarkedInsecure(domain),
    });
    // Read when the registry first asks for credentials: most pulls need none.
    client.#credentials = options.credentials ?? (() => loadCredentials(domain));
    return client;
  }

  /** The credentials, read from disk the first time if `open` left that for later. */
  get #login(): Credentials | undefined {
    if (typeof this.#credentials === "function") this.#credentials = this.#credentials();
    return this.#credentials;
  }

  /** This client's registry and auth state (see {@link RegistrySession}). */
  session(): RegistrySession {
    return {
      domain: this.domain,
      insecure: this.baseUrl.startsWith("http:"),
      credentials: this.#login,
      challenge: this.#challenge,
      tokens: [...this.#tokens],
    };
  }

  /** A client that carries on with `session`'s registry and auth. */
  static resume(session: RegistrySession): RegistryClient {
    const { domain, insecure, credentials } = session;
    const client = new RegistryClient(domain, { insecure, credentials });
    client.#challenge = session.challenge;
    for (const [scope, token] of session.tokens) client.#tokens.set(scope, token);
    return client;
  }

  #error(what: string, hint?: string, cause?: unknown, code: "image" | "not-found" = "image") {
    return new TsnspawnError(code, `registry ${this.domain}: ${what}`, { hint, cause });
  }

  // ---------------------------------------------------------- auth

  /** `GET /v2/`: checks the registry speaks the v2 API and learns its auth scheme. */
  async ping(): Promise<void> {
    const response = await this.#request("GET", `${this.baseUrl}/v2/`, {});
    await response.body?.cancel();
    if (response.status === 401) {
      this.#challenge = this.#pickChallenge(response);
      return;
    }
    if (!response.ok) {
      throw this.#error(`GET /v2/ answered ${response.status}`, "is this a registry (v2 API)?");
    }
    this.#challenge = null;
  }

  #pickChallenge(response: HttpResponse): AuthChallenge {
    const challenges = parseWwwAuthenticate(response.headers.get("www-authenticate") ?? "");
    const chosen = challenges.find((c) => c.scheme === "bearer") ??
      challenges.find((c) => c.scheme === "basic");
    if (!chosen) {
      throw this.#error(
        "authentication required, but no supported WWW-Authenticate challenge",
        "tsnspawn supports Bearer and Basic authentication",
      );
    }
    return chosen;
  }

  /**
   * Logs in: pings and, when the registry asks for authentication, checks
   * the credentials (a token for Bearer, an authenticated `/v2/` for Basic).
   */
  async checkLogin(): Promise<void> {
    await this.ping();
    if (this.#challenge === null) return;
    if (this.#challenge?.scheme === "bearer") {
      await this.#token([]);
      return;
    }
    const response = await this.#send("GET", `${this.baseUrl}/v2/`, {});
    await response.body?.cancel();
  }

  async #authorization(scope: string | undefined): Promise<string | undefined> {
    const challenge = this.#challenge;
    if (!challenge) return undefined;
    if (challenge.scheme === "basic") {
      const credentials = this.#login;
      if (!credentials) return undefined;
      const { username, password } = credentials;
      return `Basic ${
        btoa(String.fromCharCode(...new TextEncoder().encode(`${username}:${password}`)))
      }`;
    }
    const token = await this.#token(scope ? [scope] : []);
    return `Bearer ${token}`;
  }

  async #token(scopes: string[]): Promise<string> {
    const key = scopes.join(" ");
    const cached = this.#tokens.get(key);
    if (cached && cached.expiresAt > Date.now()) return cached.token;
    const url = tokenRequestUrl(this.#challenge!, scopes);
    const headers: Record<string, string> = {};
    const credentials = this.#login;
    if (credentials) {
      const { username, password } = credentials;
      headers.authorization = `Basic ${
        btoa(String.fromCharCode(...new TextEncoder().encode(`${username}:${password}`)))
      }`;
    }
    const response = await this.#request("GET", url, { headers });
    const text = await response.text();
    if (response.status === 401 || response.status === 403) {
      throw this.#error(
        credentials
          ? `the token server refused the credentials of ${credentials.username}`
          : "the token server requires credentials",
        `log in with 'tsnspawn login ${this.domain}'`,
      );
    }
    if (!response.ok) {
      throw this.#error(`token server answered ${response.status}: ${registryErrorText(text)}`);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw this.#error("token server answered with something that is not JSON");
    }
    const token = parseTokenResponse(body, Date.now());
    this.#tokens.set(key, token);
    return token.token;
  }

  // ---------------------------------------------------------- transport

  /** One request with connection-error retries and a header timeout. */
  async #request(
    method: string,
    url: string,
    init: { headers?: Record<string, string>; body?: () => Uint8Array<ArrayBuffer> },
  ): Promise<HttpResponse> {
    for (let attempt = 1;; attempt++) {
      // The timeout only covers the wait for the headers, never the body's
      // streaming. AbortSignal.timeout rather than setTimeout: the first
      // setTimeout of a Deno process loads Node's timers (~7 ms).
      const controller = new AbortController();
      const timeout = AbortSignal.timeout(this.#timeoutMs);
      const abort = () => controller.abort();
      timeout.addEventListener("abort", abort);
      try {
        const request = {
          method,
          headers: init.headers ?? {},
          body: init.body?.() ?? null,
          signal: controller.signal,
        };
        const response = url.startsWith("http:")
          ? await this.#plainHttp(url, request)
          : await fetch(url, request);
        if (isRetryableStatus(response.status) && attempt <= this.#retries) {
          await response.body?.cancel();
          await sleep(backoffMs(attempt));
          continue;
        }
        return response;
      } catch (e) {
        if (e instanceof TsnspawnError) throw e;
        if (attempt <= this.#retries) {
          await sleep(backoffMs(attempt));
          continue;
        }
        const detail = controller.signal.aborted
          ? `no answer within ${this.#timeoutMs / 1000} s`
          : (e as Error).message.replace(/^error sending request[^:]*: /, "");
        throw this.#error(
          `cannot connect to ${new URL(url).host}: ${detail}`,
          "check that the registry is running and the name is right",
          e,
        );
      } finally {
        timeout.removeEventListener("abort", abort);
      }
    }
  }

  /**
   * A request over plain HTTP (registry/http.ts). A redirect is followed
   * with fetch, without the credentials when it leaves the origin.
   */
  async #plainHttp(
    url: string,
    request: Required<HttpRequest> & { headers: Record<string, string> },
  ): Promise<HttpResponse> {
    const response = await httpRequest(new URL(url), request);
    const location = response.headers.get("location");
    if (![301, 302, 303, 307, 308].includes(response.status) || location === null) {
      return response;
    }
    await response.body?.cancel();
    const target = new URL(location, url);
    const headers = { ...request.headers };
    if (target.origin !== new URL(url).origin) delete headers.authorization;
    const keep = response.status !== 303 || request.method === "HEAD";
    return await fetch(target, {
      method: keep ? request.method : "GET",
      headers,
      body: keep ? request.body : null,
      signal: request.signal,
    });
  }

  /** An authenticated request; a 401 refreshes the challenge once. */
  async #send(
    method: string,
    url: string,
    init: {
      scope?: string;
      headers?: Record<string, string>;
      body?: () => Uint8Array<ArrayBuffer>;
    },
  ): Promise<HttpResponse> {
    for (let round = 0;; round++) {
      const headers = { ...init.headers };
      const authorization = await this.#authorization(init.scope);
      if (authorization) headers.authorization = authorization;
      const response = await this.#request(method, url, { headers, body: init.body });
      if (response.status !== 401) return response;
      await response.body?.cancel();
      if (round === 0) {
        this.#challenge = this.#pickChallenge(response);
        this.#tokens.clear();
        continue;
      }
      throw this.#error(
        this.#login
          ? `authentication failed for ${this.#login.username} (401 Unauthorized)`
          : "authentication required (401 Unauthorized)",
        `log in with 'tsnspawn login ${this.domain}'`,
      );
    }
  }

  async #failure(response: HttpResponse, what: string): Promise<TsnspawnError> {
    const text = await response.text().catch(() => "");
    const detail = registryErrorText(text);
    if (response.status === 404) {
      return this.#error(
        `${what}: not found${detail ? ` (${detail})` : ""}`,
        "check the name and tag",
        undefined,
        "not-found",
      );
    }
    if (response.status === 403) {
      return this.#error(
        `${what}: access denied (403)${detail ? `: ${detail}` : ""}`,
        `log in with 'tsnspawn login ${this.domain}'`,
      );
    }
    return this.#error(`${what}: HTTP ${response.status}${detail ? `: ${detail}` : ""}`);
  }

  #url(path: string, kind: "manifests" | "blobs", reference: string): string {
    return `${this.baseUrl}/v2/${path}/${kind}/${reference}`;
  }

  // ---------------------------------------------------------- pulling

  /**
   * Fetches a manifest (or index) by tag or digest. The digest is computed
   * from the bytes, and must equal `reference` when that is a digest.
   */
  async getManifest(path: string, reference: string, scope: string): Promise<FetchedManifest> {
    const response = await this.#send("GET", this.#url(path, "manifests", reference), {
      scope,
      headers: { accept: MANIFEST_ACCEPT },
    });
    if (!response.ok) throw await this.#failure(response, `manifest ${path}:${reference}`);
    const bytes = await this.#readSmall(response, `manifest ${path}:${reference}`);
    const digest = await sha256Digest(bytes);
    if (reference.startsWith("sha256:") && digest !== reference) {
      throw this.#error(
        `manifest ${path}@${reference} has digest ${digest}: it does not match`,
        "the registry served different content than requested (corruption or tampering)",
      );
    }
    return { bytes, contentType: response.headers.get("content-type"), digest };
  }

  /** The digest a tag currently points at (`HEAD`), or undefined if the registry does not say. */
  async headManifest(path: string, reference: string, scope: string): Promise<string | undefined> {
    const response = await this.#send("HEAD", this.#url(path, "manifests", reference), {
      scope,
      headers: { accept: MANIFEST_ACCEPT },
    });
    await response.body?.cancel();
    if (!response.ok) throw await this.#failure(response, `manifest ${path}:${reference}`);
    return response.headers.get("docker-content-digest") ?? undefined;
  }

  async #readSmall(response: HttpResponse, what: string): Promise<Uint8Array> {
    const length = Number(response.headers.get("content-length") ?? "0");
    if (length > MAX_MANIFEST_SIZE) {
      await response.body?.cancel();
      throw this.#error(`${what} is ${length} bytes, more than the limit of ${MAX_MANIFEST_SIZE}`);
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes.length > MAX_MANIFEST_SIZE) {
      throw this.#error(`${what} is larger than the limit of ${MAX_MANIFEST_SIZE} bytes`);
    }
    return bytes;
  }

  /** Fetches a small blob (a config) into memory and verifies its digest and size. */
  async getSmallBlob(path: string, desc: OciDescriptor, scope: string): Promise<Uint8Array> {
    if (desc.size > MAX_MANIFEST_SIZE) {
      throw this.#error(`blob ${desc.digest} is ${desc.size} bytes, too large for a config`);
    }
    const response = await this.#send("GET", this.#url(path, "blobs", desc.digest), { scope });
    if (!response.ok) throw await this.#failure(response, `blob ${desc.digest}`);
    const bytes = await this.#readSmall(response, `blob ${desc.digest}`);
    const digest = await sha256Digest(bytes);
    if (digest !== desc.digest || bytes.length !== desc.size) {
      throw this.#digestError(desc, digest, bytes.length);
    }
    return bytes;
  }

  #digestError(desc: OciDescriptor, digest: string, size: number): TsnspawnError {
    return this.#error(
      size !== desc.size
        ? `blob ${desc.digest}: expected ${desc.size} bytes, got ${size}`
        : `blob ${desc.digest}: digest mismatch, the content has ${digest}`,
      "the registry served corrupt or tampered content; nothing was stored",
    );
  }

  /**
   * Streams a blob (see the module comment): replays the part file, continues
   * with `Range`, resumes after dropped connections, and errors the stream
   * unless the size and sha256 match `desc` at the end.
   */
  blobStream(
    path: string,
    desc: OciDescriptor,
    scope: string,
    options: BlobStreamOptions,
  ): ReadableStream<Uint8Array> {
    const hash = createSha256();
    let offset = 0;
    let file: Deno.FsFile | undefined;
    let partPath = options.partPath;
    let replayLeft = 0;
    let body: ReadableStreamDefaultReader<Uint8Array> | undefined;
    let networkFailures = 0;
    let pending: Uint8Array | undefined;
    const closeAll = async (removePart: boolean) => {
      try {
        await body?.cancel();
      } catch { /* already done */ }
      body = undefined;
      file?.close();
      file = undefined;
      if (removePart) {
        try {
          Deno.removeSync(partPath);
        } catch { /* gone */ }
      }
    };
    const openBody = async () => {
      const headers: Record<string, string> = {};
      if (offset > 0) headers.range = `bytes=${offset}-`;
      const response = await this.#send("GET", this.#url(path, "blobs", desc.digest), {
        scope,
        headers,
      });
      if (response.status === 206) {
        const range = parseContentRange(response.headers.get("content-range"));
        if (!range || range.start !== offset) {
          await response.body?.cancel();
          throw this.#error(
            `blob ${desc.digest}: the registry answered a different range than asked`,
          );
        }
        body = response.body!.getReader();
        return;
      }
      if (!response.ok) throw await this.#failure(response, `blob ${desc.digest}`);
      // 200: the whole blob. Skip what we already have.
      body = response.body!.getReader();
      let skip = offset;
      while (skip > 0) {
        const { done, value } = await body.read();
        if (done) {
          throw this.#error(`blob ${desc.digest}: the registry sent fewer bytes than before`);
        }
        if (value.length > skip) {
          pending = value.subarray(skip);
          skip = 0;
        } else {
          skip -= value.length;
        }
      }
    };
    const accept = (chunk: Uint8Array, controller: ReadableStreamDefaultController<Uint8Array>) => {
      if (offset + chunk.length > desc.size) {
        throw this.#digestError(desc, "(unknown)", offset + chunk.length);
      }
      let written = 0;
      while (written < chunk.length) written += file!.writeSync(chunk.subarray(written));
      hash.update(chunk);
      offset += chunk.length;
      options.onProgress?.(offset);
      controller.enqueue(chunk);
    };
    const finish = async (controller: ReadableStreamDefaultController<Uint8Array>) => {
      const digest = hash.digest();
      await closeAll(true);
      if (offset !== desc.size || digest !== desc.digest) {
        controller.error(this.#digestError(desc, digest, offset));
      } else {
        controller.close();
      }
    };
    return new ReadableStream<Uint8Array>({
      start: async () => {
        file = await Deno.open(partPath, { read: true, write: true, create: true, mode: 0o600 });
        if (!(await file.tryLock(true))) {
          // Another pull is downloading the same blob: use a private file.
          file.close();
          partPath = `${options.partPath}.${crypto.randomUUID()}`;
          file = await Deno.open(partPath, {
            read: true,
            write: true,
            createNew: true,
            mode: 0o600,
          });
        }
        replayLeft = Math.min((await file.stat()).size, desc.size);
        await file.seek(0, Deno.SeekMode.Start);
      },
      pull: async (controller) => {
        try {
          // Every pass ends in a chunk, the end or an error, or goes round
          // again: a pull that returned with nothing would leave the reader
          // waiting for good.
          for (;;) {
            if (replayLeft > 0) {
              const buffer = new Uint8Array(Math.min(replayLeft, 1 << 20));
              const n = await file!.read(buffer);
              if (n === null || n === 0) {
                replayLeft = 0;
                continue;
              }
              const chunk = buffer.subarray(0, n);
              replayLeft -= n;
              hash.update(chunk);
              offset += n;
              options.onProgress?.(offset);
              controller.enqueue(chunk);
              if (replayLeft === 0) await file!.truncate(offset);
              return;
            }
            if (pending) {
              const chunk = pending;
              pending = undefined;
              accept(chunk, controller);
              return;
            }
            if (offset === desc.size && !body) return await finish(controller);
            if (!body) {
              await file!.seek(offset, Deno.SeekMode.Start);
              await openBody();
              continue;
            }
            let result: ReadableStreamReadResult<Uint8Array>;
            try {
              result = await body.read();
            } catch (e) {
              // Dropped connection: resume from `offset` with Range.
              body = undefined;
              if (++networkFailures > this.#retries) {
                throw this.#error(
                  `blob ${desc.digest}: download failed: ${(e as Error).message}`,
                  "retry the pull; it resumes",
                  e,
                );
              }
              await sleep(backoffMs(networkFailures));
              continue;
            }
            if (result.done) {
              body = undefined;
              return await finish(controller);
            }
            accept(result.value, controller);
            return;
          }
        } catch (e) {
          await closeAll(e instanceof TsnspawnError && /digest|bytes/.test(e.message));
          controller.error(e);
        }
      },
      cancel: async () => {
        await closeAll(false);
      },
    }, { highWaterMark: 4 });
  }

  // ---------------------------------------------------------- pushing

  /** Whether the registry has the blob (`HEAD`). */
  async hasBlob(path: string, digest: string, scope: string): Promise<boolean> {
    const response = await this.#send("HEAD", this.#url(path, "blobs", digest), { scope });
    await response.body?.cancel();
    if (response.status === 404) return false;
    if (!response.ok) throw await this.#failure(response, `blob ${digest}`);
    return true;
  }

  #resolveLocation(response: HttpResponse): string {
    const location = response.headers.get("location");
    if (!location) throw this.#error("upload answer without a Location header");
    return new URL(location, this.baseUrl).toString();
  }

  /**
   * Uploads a blob from a file: one `PUT` when it is at most `chunkSize`
   * bytes, else `PATCH` chunks of `chunkSize` and a closing `PUT`.
   */
  async uploadBlob(
    path: string,
    digest: string,
    file: string,
    scope: string,
    chunkSize = 32 << 20,
  ): Promise<void> {
    const start = await this.#send("POST", `${this.baseUrl}/v2/${path}/blobs/uploads/`, { scope });
    await start.body?.cancel().catch(() => {});
    if (start.status !== 202) throw await this.#failure(start, `starting the upload of ${digest}`);
    let location = this.#resolveLocation(start);
    const size = (await Deno.stat(file)).size;
    const withDigest = (url: string) => {
      const u = new URL(url);
      u.searchParams.set("digest", digest);
      return u.toString();
    };
    if (size <= chunkSize) {
      const bytes = await Deno.readFile(file);
      const put = await this.#send("PUT", withDigest(location), {
        scope,
        headers: { "content-type": "application/octet-stream", "content-length": String(size) },
        body: () => bytes,
      });
      if (put.status !== 201) throw await this.#failure(put, `uploading ${digest}`);
      await put.body?.cancel().catch(() => {});
      return;
    }
    const handle = await Deno.open(file);
    try {
      for (let offset = 0; offset < size; offset += chunkSize) {
        const bytes = new Uint8Array(Math.min(chunkSize, size - offset));
        let got = 0;
        while (got < bytes.length) {
          const n = await handle.read(bytes.subarray(got));
          if (n === null) throw this.#error(`uploading ${digest}: ${file} shrank while reading`);
          got += n;
        }
        const patch = await this.#send("PATCH", location, {
          scope,
          headers: {
            "content-type": "application/octet-stream",
            "content-length": String(bytes.length),
            "content-range": `${offset}-${offset + bytes.length - 1}`,
          },
          body: () => bytes,
        });
        if (patch.status !== 202) throw await this.#failure(patch, `uploading ${digest}`);
        await patch.body?.cancel().catch(() => {});
        location = this.#resolveLocation(patch);
      }
    } finally {
      handle.close();
    }
    const put = await this.#send("PUT", withDigest(location), {
      scope,
      headers: { "content-length": "0" },
    });
    if (put.status !== 201) throw await this.#failure(put, `finishing the upload of ${digest}`);
    await put.body?.cancel().catch(() => {});
  }

  /** Uploads small bytes (a config) as a blob unless the registry has it. */
  async uploadSmallBlob(path: string, bytes: Uint8Array, scope: string): Promise<string> {
    const digest = await sha256Digest(bytes);
    if (await this.hasBlob(path, digest, scope)) return digest;
    const start = await this.#send("POST", `${this.baseUrl}/v2/${path}/blobs/uploads/`, { scope });
    await start.body?.cancel().catch(() => {});
    if (start.status !== 202) throw await this.#failure(start, `starting the upload of ${digest}`);
    const url = new URL(this.#resolveLocation(start));
    url.searchParams.set("digest", digest);
    const put = await this.#send("PUT", url.toString(), {
      scope,
      headers: {
        "content-type": "application/octet-stream",
        "content-length": String(bytes.length),
      },
      body: () => bytes as Uint8Array<ArrayBuffer>,
    });
    if (put.status !== 201) throw await this.#failure(put, `uploading ${digest}`);
    await put.body?.cancel().catch(() => {});
    return digest;
  }

  /** `PUT` a manifest under a tag (or digest); returns its digest. */
  async putManifest(
    path: string,
    reference: string,
    bytes: Uint8Array,
    mediaType: string,
    scope: string,
  ): Promise<string> {
    const response = await this.#send("PUT", this.#url(path, "manifests", reference), {
      scope,
      headers: { "content-type": mediaType },
      body: () => bytes as Uint8Array<ArrayBuffer>,
    });
    if (response.status !== 201 && response.status !== 200) {
      throw await this.#failure(response, `manifest ${path}:${reference}`);
    }
    await response.body?.cancel().catch(() => {});
    return await sha256Digest(bytes);
  }
}

/**
 * The pure half of the registry client: everything about the distribution
 * API that can be decided without the network (no fetch here, see
 * `registry_client.ts`).
 *
 *  - `WWW-Authenticate` challenges (RFC 7235 §4.1, RFC 6750 §3) and the token
 *    request/response of the docker token protocol (distribution
 *    docs/spec/auth/token.md: realm, service, scope; `token`/`access_token`,
 *    `expires_in` defaulting to 60 s);
 *  - which host a registry name talks to (docker.io → registry-1.docker.io)
 *    and whether plain HTTP is allowed (loopback, or marked insecure);
 *  - manifests: OCI index/manifest and Docker schema2 list/manifest are
 *    accepted, schema1 is refused; platform choice in an index
 *    (image-spec image-index.md "platform");
 *  - layer media types → compression;
 *  - `Content-Range` and retry back-off arithmetic.
 *
 * Specs: opencontainers/distribution-spec spec.md; opencontainers/image-spec
 * manifest.md, image-index.md, media-types.md; docker's
 * manifest-v2-2.md.
 */
import { TsnspawnError } from "../errors.ts";
import {
  MEDIA_TYPE_DOCKER_LAYER_GZIP,
  MEDIA_TYPE_DOCKER_MANIFEST,
  MEDIA_TYPE_DOCKER_MANIFEST_LIST,
  MEDIA_TYPE_OCI_INDEX,
  MEDIA_TYPE_OCI_LAYER,
  MEDIA_TYPE_OCI_LAYER_GZIP,
  MEDIA_TYPE_OCI_MANIFEST,
  type OciDescriptor,
  type OciIndex,
  type OciManifest,
  type OciPlatform,
} from "../oci/types.ts";

/** zstd-compressed OCI layer. */
export const MEDIA_TYPE_OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd";
/** Docker schema 1 manifests (refused). */
export const MEDIA_TYPES_SCHEMA1 = [
  "application/vnd.docker.distribution.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v1+prettyjws",
];

/** The `Accept` header of a manifest request: every format tsnspawn reads. */
export const MANIFEST_ACCEPT = [
  MEDIA_TYPE_OCI_INDEX,
  MEDIA_TYPE_OCI_MANIFEST,
  MEDIA_TYPE_DOCKER_MANIFEST_LIST,
  MEDIA_TYPE_DOCKER_MANIFEST,
].join(", ");

/** Largest manifest or config accepted (the distribution spec suggests 4 MiB). */
export const MAX_MANIFEST_SIZE = 4 << 20;

// ------------------------------------------------------------ challenges

/** One challenge of a `WWW-Authenticate` header. */
export interface AuthChallenge {
  /** Lower-case scheme: "bearer", "basic", ... */
  scheme: string;
  /** Parameters with lower-case names (realm, service, scope, error...). */
  params: Record<string, string>;
}

/**
 * Parses a `WWW-Authenticate` header value into its challenges, e.g.
 * `Bearer realm="https://auth.example/token",service="reg",scope="repository:a:pull"`.
 * Several challenges may share one header (`Basic realm="x", Bearer realm="y"`).
 * Never throws: unparsable rests are ignored.
 */
export function parseWwwAuthenticate(header: string): AuthChallenge[] {
  const out: AuthChallenge[] = [];
  let i = 0;
  const n = header.length;
  const skipSpace = () => {
    while (i < n && (header[i] === " " || header[i] === "\t")) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < n && /[!#$%&'*+\-.^_`|~0-9A-Za-z/:]/.test(header[i])) i++;
    return header.slice(start, i);
  };
  let current: AuthChallenge | undefined;
  while (i < n) {
    skipSpace();
    if (header[i] === ",") {
      i++;
      continue;
    }
    const start = i;
    const word = token();
    if (word === "") {
      i++; // junk character
      continue;
    }
    skipSpace();
    if (header[i] === "=" && current) {
      // name=value parameter of the current challenge
      i++;
      skipSpace();
      let value = "";
      if (header[i] === '"') {
        i++;
        while (i < n && header[i] !== '"') {
          if (header[i] === "\\" && i + 1 < n) i++;
          value += header[i++];
        }
        i++; // closing quote
      } else {
        const vs = i;
        while (i < n && header[i] !== "," && header[i] !== " ") i++;
        value = header.slice(vs, i);
      }
      current.params[word.toLowerCase()] = value;
      continue;
    }
    if (header[i] === "=" && !current) {
      i = start + word.length + 1; // parameter without a scheme: skip it
      continue;
    }
    current = { scheme: word.toLowerCase(), params: {} };
    out.push(current);
  }
  return out;
}

/** The token endpoint URL for a Bearer challenge and the scopes wanted. */
export function tokenRequestUrl(challenge: AuthChallenge, scopes: string[]): string {
  const realm = challenge.params.realm;
  if (!realm) {
    throw new TsnspawnError("image", "registry token challenge has no realm", {
      hint: "the registry's WWW-Authenticate header is malformed",
    });
  }
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    throw new TsnspawnError("image", `registry token realm is not a URL: ${realm}`);
  }
  if (challenge.params.service) url.searchParams.set("service", challenge.params.service);
  for (const scope of scopes) url.searchParams.append("scope", scope);
  return url.toString();
}

/** A bearer token and when it stops being usable (ms since the epoch). */
export interface BearerToken {
  token: string;
  expiresAt: number;
}

/**
 * Reads a token server's JSON answer. `expires_in` defaults to 60 s (token.md);
 * the token is considered expired 10 s early to absorb clock skew.
 */
export function parseTokenResponse(body: unknown, now: number): BearerToken {
  const b = (body ?? {}) as Record<string, unknown>;
  const token = typeof b.token === "string" && b.token !== ""
    ? b.token
    : typeof b.access_token === "string"
    ? b.access_token
    : "";
  if (token === "") {
    throw new TsnspawnError("image", "registry token server answered without a token", {
      hint: "the token server is misconfigured",
    });
  }
  const expiresIn = typeof b.expires_in === "number" && b.expires_in > 0 ? b.expires_in : 60;
  let issued = now;
  if (typeof b.issued_at === "string") {
    const t = Date.parse(b.issued_at);
    if (!Number.isNaN(t) && t <= now) issued = t;
  }
  return { token, expiresAt: issued + Math.max(expiresIn - 10, 1) * 1000 };
}

/** The scope string for repository access, e.g. "repository:library/busybox:pull". */
export function repositoryScope(path: string, actions: ("pull" | "push")[]): string {
  return `repository:${path}:${actions.join(",")}`;
}

// ------------------------------------------------------------ endpoints

/** The registry's API host: Docker Hub's name differs from its API host. */
export function registryHost(domain: string): string {
  return domain === "docker.io" || domain === "index.docker.io" ? "registry-1.docker.io" : domain;
}

/** The host without its port ("127.0.0.1:5000" → "127.0.0.1", "[::1]:80" → "::1"). */
export function hostWithoutPort(domain: string): string {
  if (domain.startsWith("[")) return domain.slice(1, domain.indexOf("]"));
  const colon = domain.lastIndexOf(":");
  return colon === -1 ? domain : domain.slice(0, colon);
}

/** Whether the registry is on this machine (localhost, 127.0.0.0/8, ::1). */
export function isLoopbackRegistry(domain: string): boolean {
  const host = hostWithoutPort(domain).toLowerCase();
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * Base URL of the registry API: plain HTTP only for loopback registries or
 * ones marked insecure, HTTPS otherwise.
 */
export function registryBaseUrl(domain: string, insecure: boolean): string {
  const scheme = insecure || isLoopbackRegistry(domain) ? "http" : "https";
  return `${scheme}://${registryHost(domain)}`;
}

// ------------------------------------------------------------ platforms

/** The platform to pull for this host: linux and the Go name of the CPU. */
export function hostPlatform(arch: string = Deno.build.arch): OciPlatform {
  const goArch: Record<string, string> = { x86_64: "amd64", aarch64: "arm64" };
  const architecture = goArch[arch] ?? arch;
  return architecture === "arm64"
    ? { os: "linux", architecture, variant: "v8" }
    : { os: "linux", architecture };
}

/**
 * Parses `--platform` ("linux/amd64", "linux/arm64/v8", "amd64" → linux).
 * @throws {TsnspawnError} "invalid".
 */
export function parsePlatform(text: string): OciPlatform {
  const parts = text.split("/");
  const bad = () =>
    new TsnspawnError("invalid", `platform "${text}": not OS/ARCH[/VARIANT]`, {
      hint: "e.g. --platform linux/amd64 or linux/arm64/v8",
    });
  if (parts.length > 3 || parts.some((p) => !/^[a-z0-9_.-]+$/.test(p))) throw bad();
  if (parts.length === 1) return { os: "linux", architecture: parts[0] };
  const platform: OciPlatform = { os: parts[0], architecture: parts[1] };
  if (parts[2] !== undefined) platform.variant = parts[2];
  return platform;
}

/** "linux/arm64/v8". */
export function formatPlatform(p: OciPlatform): string {
  return [p.os, p.architecture, p.variant].filter((x) => x).join("/");
}

/**
 * Picks the manifest for `want` from an index: same os and architecture;
 * a wanted variant must match (arm64 without variant counts as v8); without a
 * wanted variant, the first match wins. Attestation manifests
 * (os "unknown") are never chosen.
 *
 * @throws {TsnspawnError} "not-found" listing the platforms the index has.
 */
export function selectPlatformManifest(index: OciIndex, want: OciPlatform): OciDescriptor {
  const variantOf = (p: OciPlatform) =>
    p.variant ?? (p.architecture === "arm64" ? "v8" : undefined);
  const candidates = (index.manifests ?? []).filter((d) =>
    d.platform && d.platform.os === want.os && d.platform.architecture === want.architecture &&
    isManifestMediaType(d.mediaType)
  );
  const wantVariant = want.variant === undefined ? undefined : variantOf(want);
  const hit = candidates.find((d) =>
    wantVariant === undefined || variantOf(d.platform!) === wantVariant
  );
  if (hit) return hit;
  const available = (index.manifests ?? [])
    .filter((d) => d.platform && d.platform.os !== "unknown")
    .map((d) => formatPlatform(d.platform!));
  throw new TsnspawnError(
    "not-found",
    `no image for platform ${formatPlatform(want)}: the image has ${
      available.length ? available.join(", ") : "no platform entries"
    }`,
    { hint: "choose one with --platform" },
  );
}

function isManifestMediaType(mediaType: string | undefined): boolean {
  return mediaType === undefined || mediaType === MEDIA_TYPE_OCI_MANIFEST ||
    mediaType === MEDIA_TYPE_DOCKER_MANIFEST;
}

// ------------------------------------------------------------ manifests

/** What a manifest body turned out to be. */
export type ParsedManifest =
  | { kind: "index"; mediaType: string; index: OciIndex }
  | { kind: "manifest"; mediaType: string; manifest: OciManifest };

/**
 * Classifies and checks a manifest from the registry. The media type comes
 * from the body's `mediaType` field, else the Content-Type header.
 *
 * @throws {TsnspawnError} "image" for schema1, unknown types, or a malformed body.
 */
export function parseManifest(bytes: Uint8Array, contentType: string | null): ParsedManifest {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    // One line: JSON.parse quotes the offending text, control characters included.
    // deno-lint-ignore no-control-regex
    const detail = (e as Error).message.replace(/[\u0000-\u001f\u007f]+/g, " ");
    throw new TsnspawnError("image", `manifest is not valid JSON: ${detail}`, {
      cause: e,
    });
  }
  if (typeof body !== "object" || body === null) {
    throw new TsnspawnError("image", "manifest is not a JSON object");
  }
  const header = (contentType ?? "").split(";")[0].trim();
  const mediaType = typeof body.mediaType === "string" && body.mediaType !== ""
    ? body.mediaType
    : header;
  if (body.schemaVersion === 1 || MEDIA_TYPES_SCHEMA1.includes(mediaType)) {
    throw new TsnspawnError(
      "image",
      "image uses Docker manifest schema 1, which is deprecated and not supported",
      { hint: "push the image again with a current tool (docker, podman, skopeo)" },
    );
  }
  if (body.schemaVersion !== 2) {
    throw new TsnspawnError("image", `manifest has schemaVersion ${body.schemaVersion}`, {
      hint: "only schema version 2 (OCI and Docker v2) is supported",
    });
  }
  const isIndex = mediaType === MEDIA_TYPE_OCI_INDEX ||
    mediaType === MEDIA_TYPE_DOCKER_MANIFEST_LIST ||
    ((mediaType === "" || mediaType === "application/json") && Array.isArray(body.manifests));
  if (isIndex) {
    if (!Array.isArray(body.manifests)) {
      throw new TsnspawnError("image", "image index has no manifests list");
    }
    for (const d of body.manifests) checkDescriptor(d, "index entry");
    return {
      kind: "index",
      mediaType: mediaType || MEDIA_TYPE_OCI_INDEX,
      index: body as unknown as OciIndex,
    };
  }
  const isManifest = mediaType === MEDIA_TYPE_OCI_MANIFEST ||
    mediaType === MEDIA_TYPE_DOCKER_MANIFEST ||
    ((mediaType === "" || mediaType === "application/json") && typeof body.config === "object");
  if (!isManifest) {
    throw new TsnspawnError("image", `unsupported manifest media type "${mediaType}"`, {
      hint: "tsnspawn reads OCI and Docker schema 2 images",
    });
  }
  checkDescriptor(body.config, "config");
  if (!Array.isArray(body.layers)) throw new TsnspawnError("image", "manifest has no layers list");
  for (const d of body.layers) checkDescriptor(d, "layer");
  return {
    kind: "manifest",
    mediaType: mediaType || MEDIA_TYPE_OCI_MANIFEST,
    manifest: body as unknown as OciManifest,
  };
}

/**
 * Checks a descriptor's shape: a sha256 digest (the only algorithm the store
 * addresses by) and a non-negative integer size.
 * @throws {TsnspawnError} "image".
 */
export function checkDescriptor(d: unknown, what: string): OciDescriptor {
  const desc = d as OciDescriptor;
  if (typeof desc !== "object" || desc === null) {
    throw new TsnspawnError("image", `manifest ${what} is not an object`);
  }
  if (typeof desc.digest !== "string" || !/^sha256:[a-f0-9]{64}$/.test(desc.digest)) {
    throw new TsnspawnError(
      "image",
      `manifest ${what} has an unsupported digest "${desc.digest}"`,
      {
        hint: "only sha256 digests are supported",
      },
    );
  }
  if (!Number.isSafeInteger(desc.size) || desc.size < 0) {
    throw new TsnspawnError("image", `manifest ${what} ${desc.digest} has an invalid size`);
  }
  return desc;
}

/** How a layer blob is compressed. */
export type Compression = "gzip" | "zstd" | "none";

/**
 * The compression of a layer from its media type (media-types.md; Docker's
 * foreign layers are gzip too).
 * @throws {TsnspawnError} "image" for a media type that is not a layer.
 */
export function layerCompression(mediaType: string): Compression {
  switch (mediaType) {
    case MEDIA_TYPE_OCI_LAYER:
    case "application/vnd.oci.image.layer.nondistributable.v1.tar":
      return "none";
    case MEDIA_TYPE_OCI_LAYER_GZIP:
    case MEDIA_TYPE_DOCKER_LAYER_GZIP:
    case "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip":
    case "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip":
      return "gzip";
    case MEDIA_TYPE_OCI_LAYER_ZSTD:
    case "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd":
      return "zstd";
  }
  throw new TsnspawnError("image", `unsupported layer media type "${mediaType}"`, {
    hint: "layers must be tar archives, uncompressed, gzip or zstd",
  });
}

// ------------------------------------------------------------ transfers

/**
 * Parses `Content-Range: bytes START-END/TOTAL` (TOTAL may be "*").
 * Returns undefined when the header is missing or malformed.
 */
export function parseContentRange(
  header: string | null,
): { start: number; end: number; total?: number } | undefined {
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec((header ?? "").trim());
  if (!m) return undefined;
  const r: { start: number; end: number; total?: number } = {
    start: Number(m[1]),
    end: Number(m[2]),
  };
  if (m[3] !== "*") r.total = Number(m[3]);
  return r;
}

/** Milliseconds to wait before retry number `attempt` (1-based): 200 ms doubling, at most 5 s. */
export function backoffMs(attempt: number): number {
  return Math.min(200 * 2 ** (attempt - 1), 5000);
}

/** Whether an HTTP status is worth retrying (server trouble, throttling). */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

/**
 * The message of a registry error body (`{"errors":[{"code","message"}]}`,
 * distribution-spec "Error Codes"), or "" when there is none.
 */
export function registryErrorText(body: string): string {
  try {
    const parsed = JSON.parse(body) as { errors?: { code?: string; message?: string }[] };
    if (Array.isArray(parsed.errors) && parsed.errors.length > 0) {
      return parsed.errors.map((e) => [e.code, e.message].filter((x) => x).join(": ")).join("; ");
    }
  } catch { /* not JSON */ }
  return body.trim().split("\n")[0].slice(0, 200);
}

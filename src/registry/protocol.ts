/**
 * The pure half of the registry client: everything about the distribution
 * API that can be decided without the network (no fetch here, see
 * `client.ts`).
 *
 *  - `WWW-Authenticate` challenges (RFC 7235 §4.1, RFC 6750 §3) and the token
 *    request/response of the docker token protocol (distribution
 *    docs/spec/auth/token.md: realm, service, scope; `token`/`access_token`,
 *    `expires_in` defaulting to 60 s);
 *  - which host a registry name talks to (docker.io → registry-1.docker.io)
 *    and whether plain HTTP is allowed (loopback, or marked insecure);
 *  - `Content-Range` and retry back-off arithmetic.
 * (Manifests, platforms and layer compression are oci/manifest.ts.)
 *
 * Specs: opencontainers/distribution-spec spec.md.
 */
import { TsnspawnError } from "../errors.ts";
import {
  MEDIA_TYPE_DOCKER_MANIFEST,
  MEDIA_TYPE_DOCKER_MANIFEST_LIST,
  MEDIA_TYPE_OCI_INDEX,
  MEDIA_TYPE_OCI_MANIFEST,
} from "../oci/types.ts";

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

/**
 * API versions: what tsnspawn advertises (1.44), which client versions it
 * takes (1.24 up to 1.44), the headers every response carries, and the ping.
 *
 * Docker clients negotiate from the ping's `Api-Version` header: docker CLI
 * 28 uses min(its own 1.50, the server's) and has no floor, CLI 29.0–29.2
 * refuse servers below 1.44, docker-py (compose 1.29) takes `/version`'s
 * `ApiVersion` verbatim. 1.44 is what podman advertises too, and the last
 * version whose image inspect keeps `ContainerConfig` (compose 1.29 needs it).
 * A path version above 1.44 or below 1.24 is refused the way moby's version
 * middleware refuses it (400, its words); a version that is not `[0-9.]+` is
 * no route at all (404 "page not found", gorilla/mux's `/v{version:[0-9.]+}`).
 *
 * References: Docker Engine API v1.44 (`/_ping`, `/version`); moby v28.2.2
 * api/server/middleware/version.go, api/types/versions/compare.go,
 * api/server/router/system/system_routes.go; research notes
 * /work/shared/research/docker-api.md §0.1–0.2 and §1.1–1.2.
 */
import { ApiError } from "./errors.ts";

/** The API version tsnspawn implements and advertises. */
export const API_VERSION = "1.44";

/** The oldest client version taken (moby's and podman's minimum). */
export const MIN_API_VERSION = "1.24";

/** What a version in a path looks like (moby's route variable). */
export const VERSION_PATTERN = /^[0-9.]+$/;

/**
 * Compares two versions the way moby does: dot-separated numbers, missing
 * or unparsable parts count as 0. Negative when `a` is older.
 */
export function compareApiVersions(a: string, b: string): number {
  const left = a.split(".");
  const right = b.split(".");
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const x = Number.parseInt(left[i] ?? "0", 10) || 0;
    const y = Number.parseInt(right[i] ?? "0", 10) || 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/**
 * The version a request is served at: the one in its path, or 1.44 when it
 * has none. Throws moby's 400 for versions out of range.
 */
export function checkApiVersion(requested: string | undefined): string {
  if (requested === undefined || requested === "") return API_VERSION;
  if (compareApiVersions(requested, MIN_API_VERSION) < 0) {
    throw new ApiError(
      400,
      `client version ${requested} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`,
    );
  }
  if (compareApiVersions(requested, API_VERSION) > 0) {
    throw new ApiError(
      400,
      `client version ${requested} is too new. Maximum supported API version is ${API_VERSION}`,
      { hint: `unset DOCKER_API_VERSION, or set it to ${API_VERSION} or lower` },
    );
  }
  return requested;
}

/** moby answers errors in plain text to clients older than 1.24. */
export function usesPlainTextErrors(requested: string | undefined): boolean {
  return requested !== undefined && requested !== "" &&
    compareApiVersions(requested, MIN_API_VERSION) < 0;
}

/** True when `version` is at least `minimum` (for behaviour that changed between versions). */
export function atLeast(version: string, minimum: string): boolean {
  return compareApiVersions(version, minimum) >= 0;
}

/**
 * Headers on every response, as moby's version middleware sets them.
 * `serverVersion` is tsnspawn's own version (`Server: tsnspawn/X (linux)`).
 */
export function formatApiHeaders(serverVersion: string): Record<string, string> {
  return {
    "Server": `tsnspawn/${serverVersion} (linux)`,
    "Api-Version": API_VERSION,
    "Ostype": "linux",
    "Docker-Experimental": "false",
  };
}

/** The answer to `GET`/`HEAD /_ping` (also under `/vX.Y/`, which docker-py uses). */
export interface PingResponse {
  status: 200;
  headers: Record<string, string>;
  /** "OK" for GET, no newline (podman#8097); empty for HEAD. */
  body: string;
}

/**
 * The ping: the headers the CLI reads (`Api-Version`, `Ostype`,
 * `Docker-Experimental` false so no experimental flags show, `Builder-Version`
 * 1 because only the classic builder exists here, `Swarm: inactive`), no
 * caching, and for HEAD an empty body with `Content-Length: 0` (a body would
 * corrupt the keep-alive connection the CLI reuses).
 */
export function formatPingResponse(method: "GET" | "HEAD", serverVersion: string): PingResponse {
  const body = method === "GET" ? "OK" : "";
  return {
    status: 200,
    headers: {
      ...formatApiHeaders(serverVersion),
      "Builder-Version": "1",
      "Swarm": "inactive",
      "Cache-Control": "no-cache, no-store, must-revalidate",
      "Pragma": "no-cache",
      "Content-Type": "text/plain; charset=utf-8",
      "Content-Length": String(body.length),
    },
    body,
  };
}

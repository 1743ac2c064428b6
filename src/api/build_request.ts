/**
 * `POST /build` (the classic builder's endpoint) → the options of
 * `tsnspawn build` (build/build_image.ts BuildRequest), pure. The body is
 * the context as a tar stream (build_handlers.ts); everything else is in
 * the query: `t` (repeated), `dockerfile`, `buildargs` and `labels` (JSON
 * maps), `target`, `nocache`, `pull`, `q`, `networkmode`, `platform`.
 *
 * What tsnspawn's builder cannot honour is refused before the context is
 * read, never ignored: BuildKit (`version=2`), a remote context, keeping
 * intermediate containers (`rm=0`; they always go), `squash`, `cachefrom`,
 * `outputs`, extra hosts, resource limits, ulimits and shm size of the
 * steps, and platforms other than the host's. `forcerm` is what tsnspawn
 * does anyway. The docker CLI sends `dockerfile`, `t`, `version=1` and
 * `buildargs`; docker-py adds `q`, `nocache`, `rm`, `forcerm`, `pull` as
 * Python booleans.
 *
 * References: Docker Engine API v1.44 `POST /build`; moby v28.2.2
 * api/server/router/build/build_routes.go (newImageBuildOptions); research
 * notes /work/shared/research/docker-api.md §2 (docker build), §3.6, §4.
 */
import { ApiError, badRequest, unsupportedField } from "./errors.ts";
import { queryBool, queryJson } from "./request.ts";
import { parseTagTarget } from "../oci/reference.ts";
import { formatPlatform, parsePlatform } from "../oci/manifest.ts";
import type { OciPlatform } from "../oci/types.ts";
import { TsnspawnError } from "../errors.ts";
import type { PullPolicy } from "../container/options.ts";

/** What a `POST /build` asks, in `tsnspawn build`'s terms. */
export interface ApiBuildRequest {
  /** `-t`: as given (the familiar names "Successfully tagged" prints). */
  tags: string[];
  /** The Containerfile's path inside the context (default Containerfile, else Dockerfile). */
  dockerfile?: string;
  buildArgs: Record<string, string>;
  labels: Record<string, string>;
  target?: string;
  noCache: boolean;
  pull: PullPolicy;
  /** The network of RUN steps: bridge (docker's "default"), none, host or a network's name. */
  network: string;
  /** `q`: only the image ID is streamed. */
  quiet: boolean;
}

/** Whether `text` (docker's `os/arch[/variant]` or `arch`) names `host`. */
function isHostPlatform(text: string, host: OciPlatform): boolean {
  try {
    return formatPlatform(parsePlatform(text)) === formatPlatform(host);
  } catch (error) {
    if (error instanceof TsnspawnError) throw badRequest(`platform: ${error.message}`, error.hint);
    throw error;
  }
}

/** A JSON map of strings (`buildargs`, `labels`); null values are left out (docker: unset). */
function stringMap(query: URLSearchParams, key: string): Record<string, string> {
  const value = queryJson(query, key);
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw badRequest(`${key}: expected a JSON object of strings`);
  }
  const map: Record<string, string> = {};
  for (const [name, entry] of Object.entries(value as Record<string, unknown>)) {
    if (entry === null) continue;
    if (typeof entry !== "string") {
      throw badRequest(`${key}.${name}: expected a string, not ${JSON.stringify(entry)}`);
    }
    map[name] = entry;
  }
  return map;
}

/** A query value that must be empty, zero or absent: tsnspawn's builder has no such option. */
function refuseSet(query: URLSearchParams, key: string, reason: string, hint?: string): void {
  const text = query.get(key);
  if (text === null || text.trim() === "" || text === "0") return;
  const parsed = (() => {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  })();
  if (Array.isArray(parsed) && parsed.length === 0) return;
  if (parsed !== null && typeof parsed === "object" && Object.keys(parsed).length === 0) return;
  if (parsed === false || parsed === "False" || parsed === "false") return;
  throw unsupportedField(key, parsed, reason, hint);
}

/**
 * The build a `POST /build` query asks for; `host` is this machine's
 * platform (only it is built: a `platform` naming another is refused).
 *
 * @throws {ApiError} 400 for a malformed value or an option tsnspawn's
 *   builder does not have; 501 for BuildKit and remote contexts.
 */
export function planBuildRequest(
  query: URLSearchParams,
  host: OciPlatform,
): ApiBuildRequest {
  if (query.get("version") === "2") {
    throw new ApiError(501, "BuildKit (version=2) is not supported by tsnspawn", {
      hint: "build with the classic builder: DOCKER_BUILDKIT=0 docker build ...",
    });
  }
  const remote = query.get("remote");
  if (remote !== null && remote !== "") {
    throw new ApiError(501, `remote=${remote}: remote build contexts are not supported`, {
      hint: "send the context as a tar body (docker build DIR)",
    });
  }
  if (!queryBool(query, "rm", true)) {
    throw unsupportedField(
      "rm",
      false,
      "RUN steps' containers are always removed",
      "drop --rm=false",
    );
  }
  refuseSet(query, "squash", "layers are not squashed");
  refuseSet(query, "cachefrom", "the cache is local: there is no cache to import");
  refuseSet(query, "outputs", "the result is an image in the store");
  refuseSet(query, "extrahosts", "RUN steps get the network's hosts file", "drop --add-host");
  for (const key of ["memory", "memswap", "cpushares", "cpuquota", "cpuperiod", "shmsize"]) {
    refuseSet(query, key, "RUN steps run without resource limits");
  }
  for (const key of ["cpusetcpus", "cpusetmems", "cgroupparent", "isolation"]) {
    refuseSet(query, key, "RUN steps run in tsnspawn's own units");
  }
  refuseSet(query, "ulimits", "RUN steps keep the default limits");
  const platform = query.get("platform") ?? "";
  if (platform !== "" && !isHostPlatform(platform, host)) {
    throw unsupportedField(
      "platform",
      platform,
      "only this machine's platform is built",
      "drop --platform",
    );
  }
  const tags = query.getAll("t").filter((t) => t !== "");
  for (const tag of tags) {
    try {
      parseTagTarget(tag, "tag the build as");
    } catch (error) {
      if (error instanceof TsnspawnError) throw badRequest(error.message, error.hint);
      throw error;
    }
  }
  const dockerfile = query.get("dockerfile") ?? "";
  const networkMode = query.get("networkmode") ?? "";
  const target = query.get("target") ?? "";
  return {
    tags,
    ...(dockerfile !== "" ? { dockerfile } : {}),
    buildArgs: stringMap(query, "buildargs"),
    labels: stringMap(query, "labels"),
    ...(target !== "" ? { target } : {}),
    noCache: queryBool(query, "nocache"),
    // `pull` is a boolean to moby (pull newer base images): always, else missing.
    pull: queryBool(query, "pull") ? "always" : "missing",
    network: networkMode === "" || networkMode === "default" ? "bridge" : networkMode,
    quiet: queryBool(query, "q"),
  };
}

/**
 * `POST /build`: the classic builder's endpoint (`DOCKER_BUILDKIT=0 docker
 * build`, docker-compose's `build:`) onto `tsnspawn build` — the same build
 * operation (build/build_image.ts buildImageFromArchive: RUN steps are
 * ordinary containers, the result an image in the store, the same cache).
 * The query is mapped by build_request.ts before the body is read; the body
 * (the context as a tar, `application/x-tar` or docker-py's
 * `application/tar`) streams into the build; the build's events stream
 * back as JSON messages (progress.ts), ending with `aux.ID` and
 * "Successfully built". A client that leaves interrupts the build: nothing
 * of the step that ran is kept.
 *
 * Registry credentials in `X-Registry-Config` are not used: base images are
 * pulled with tsnspawn's own (`tsnspawn login`); a build that sends some is
 * told so in its output.
 */
import type { ApiCall } from "./http.ts";
import type { ApiContext } from "./context.ts";
import { badRequest } from "./errors.ts";
import { planBuildRequest } from "./build_request.ts";
import {
  buildOutput,
  buildResult,
  formatJsonMessage,
  type JsonMessage,
  streamError,
} from "./progress.ts";
import { planImageEvent } from "./events.ts";
import { nanosOf } from "./docker_time.ts";
import { TsnspawnError } from "../errors.ts";
import { hostPlatform } from "../oci/manifest.ts";
import { familiarName } from "../oci/reference.ts";
import { type BuildEvent, formatBuildEvent } from "../build/events.ts";

/** Whether `X-Registry-Config` carries credentials (the CLI always sends `{}`). */
function hasRegistryConfig(header: string | null): boolean {
  if (!header) return false;
  try {
    const text = atob(header.replace(/-/g, "+").replace(/_/g, "/"));
    const value = JSON.parse(text);
    return value !== null && typeof value === "object" && Object.keys(value).length > 0;
  } catch {
    return false;
  }
}

/** `POST /build`. */
export async function buildCall(call: ApiCall, api: ApiContext): Promise<void> {
  const request = planBuildRequest(call.query, hostPlatform());
  const contentType = (call.header("content-type") ?? "").split(";")[0].trim();
  if (!["", "application/x-tar", "application/tar"].includes(contentType)) {
    throw badRequest(`Content-Type ${contentType}: the build context must be a tar archive`);
  }
  const { buildImageFromArchive } = await import("../build/build_image.ts");
  const stream = call.stream(200, "application/json");
  const send = (message: JsonMessage) => stream.write(formatJsonMessage(message));
  if (hasRegistryConfig(call.header("X-Registry-Config"))) {
    send(buildOutput(
      "note: X-Registry-Config credentials are not used; base images are pulled with tsnspawn login's\n",
    ));
  }
  const interrupt = new AbortController();
  const leave = () => interrupt.abort();
  call.closed.addEventListener("abort", leave);
  const endActivity = api.idle.begin();
  try {
    const reporter = (event: BuildEvent) => {
      if (request.quiet || event.kind === "done") return;
      send(buildOutput(formatBuildEvent(event)));
    };
    const result = await buildImageFromArchive(
      ReadableStream.from(call.req) as ReadableStream<Uint8Array>,
      {
        tags: request.tags,
        ...(request.dockerfile !== undefined ? { dockerfile: request.dockerfile } : {}),
        buildArgs: request.buildArgs,
        labels: request.labels,
        ...(request.target !== undefined ? { target: request.target } : {}),
        noCache: request.noCache,
        pull: request.pull,
        network: request.network,
      },
      reporter,
      { systemd: () => api.systemd(), signal: interrupt.signal },
    );
    // The build's normalized tags, as docker shows them ("app:latest").
    const shown = result.tags.map((tag) => familiarName(tag));
    for (const message of buildResult(result.id, shown)) send(message);
    if (request.quiet) send(buildOutput(`${result.id}\n`));
    const now = nanosOf(new Date());
    for (const tag of shown) api.events.emit(planImageEvent("tag", tag, now));
  } catch (error) {
    const message = error instanceof TsnspawnError
      ? error.message + (error.hint ? ` (${error.hint})` : "")
      : String(error);
    send(streamError(message));
  } finally {
    call.closed.removeEventListener("abort", leave);
    endActivity();
  }
  stream.end();
}

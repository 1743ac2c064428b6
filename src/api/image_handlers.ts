/**
 * Images: pull (`POST /images/create`, JSON progress), list, inspect,
 * delete and tag, on the store and the registry client the CLI uses
 * (registry/pull.ts, image/store.ts, ops/images.ts).
 *
 * A pull streams docker's messages (progress.ts) as the CLI renders them:
 * "Pulling from", per layer "Pulling fs layer", "Downloading" with bytes,
 * "Download complete"/"Pull complete" or "Already exists", then the digest
 * and the status line. Its errors, once the stream began, are in-band
 * `errorDetail` messages (the docker CLI prints them and exits 1).
 *
 * References: Docker Engine API v1.44 (Image); research notes
 * /work/shared/research/docker-api.md §2 (`docker pull`, `images`,
 * `image inspect`), §3.6.
 */
import { TsnspawnError } from "../errors.ts";
import { listImages, resolveImage, tagImage } from "../image/store.ts";
import { pullImage, type PullProgress } from "../registry/pull.ts";
import { parsePlatform } from "../oci/manifest.ts";
import { familiarName, parseReference } from "../oci/reference.ts";
import type { OciDescriptor } from "../oci/types.ts";
import { removeImageUnused } from "../ops/images.ts";
import type { ApiCall } from "./http.ts";
import type { ApiContext } from "./context.ts";
import { ApiError, badRequest } from "./errors.ts";
import { parseRegistryAuth, planPullReference, queryBool } from "./request.ts";
import { parseFilters } from "./filters.ts";
import {
  formatJsonMessage,
  type JsonMessage,
  layerProgress,
  pullingFrom,
  pullSummary,
  streamError,
} from "./progress.ts";
import { formatImageDelete, formatImageInspect, formatImageSummary } from "./inspect_image.ts";
import { type ImageListFacts, selectImages } from "./image_filters.ts";
import { gatherImageFacts } from "./facts.ts";
import { orNoSuch } from "./names.ts";
import { nanosOf, nanosOfIso, unixSeconds } from "./docker_time.ts";
import { planImageEvent } from "./events.ts";

/** How often a layer's "Downloading" line is sent at most. */
const PROGRESS_INTERVAL_MS = 100;

/** Pull progress as docker's JSON messages. */
class JsonPullProgress implements PullProgress {
  readonly #send: (message: JsonMessage) => void;
  readonly #sentAt = new Map<string, number>();

  constructor(send: (message: JsonMessage) => void) {
    this.#send = send;
  }

  resolved(_manifestDigest: string, layers: OciDescriptor[]): void {
    for (const layer of layers) this.#send(layerProgress(layer.digest, "Pulling fs layer"));
  }

  layerExists(layer: OciDescriptor): void {
    this.#send(layerProgress(layer.digest, "Already exists"));
  }

  layerBytes(layer: OciDescriptor, bytes: number): void {
    const now = Date.now();
    if (now - (this.#sentAt.get(layer.digest) ?? 0) < PROGRESS_INTERVAL_MS) return;
    this.#sentAt.set(layer.digest, now);
    this.#send(layerProgress(layer.digest, "Downloading", { current: bytes, total: layer.size }));
  }

  layerDone(layer: OciDescriptor): void {
    this.#send(layerProgress(layer.digest, "Download complete"));
    this.#send(layerProgress(layer.digest, "Pull complete"));
  }
}

/** `POST /images/create?fromImage=&tag=`: a pull with docker's JSON progress. */
export async function pullImageCall(call: ApiCall, api: ApiContext): Promise<void> {
  const { reference, platform } = planPullReference(call.query);
  const auth = parseRegistryAuth(call.header("X-Registry-Auth"));
  if (auth && (auth.identitytoken || auth.registrytoken)) {
    throw new ApiError(501, "X-Registry-Auth: identity and registry tokens are not supported", {
      hint: "log in with a user name and password (docker login, or tsnspawn login)",
    });
  }
  let ref;
  try {
    ref = parseReference(reference);
  } catch (error) {
    throw badRequest((error as Error).message);
  }
  const stream = call.stream(200, "application/json");
  const send = (message: JsonMessage) => stream.write(formatJsonMessage(message));
  const familiar = familiarName(ref);
  send(pullingFrom(ref.path, ref.tag ?? "latest"));
  try {
    const result = await pullImage(reference, {
      ...(platform ? { platform: parsePlatform(platform) } : {}),
      ...(auth?.username !== undefined
        ? { credentials: { username: auth.username, password: auth.password ?? "" } }
        : {}),
      progress: new JsonPullProgress(send),
    });
    for (const message of pullSummary(result.manifestDigest, familiar, !result.upToDate)) {
      send(message);
    }
    api.events.emit(planImageEvent("pull", familiar, nanosOf(new Date())));
  } catch (error) {
    const message = error instanceof TsnspawnError
      ? error.message + (error.hint ? ` (${error.hint})` : "")
      : String(error);
    send(streamError(message));
  }
  stream.end();
}

/** `GET /images/json?filters=` (every tag and untagged image, newest first). */
export function listImagesCall(call: ApiCall): void {
  const filters = parseFilters(call.query.get("filters"));
  const ids = [...new Set(listImages().map((row) => row.id))];
  const facts = ids.map((id) => gatherImageFacts(id));
  const listed: (ImageListFacts & { facts: (typeof facts)[number] })[] = facts.map((f) => ({
    facts: f,
    id: f.id,
    repoTags: f.repoTags,
    repoDigests: f.repoDigests,
    created: f.config.created ? unixSeconds(nanosOfIso(f.config.created)) : 0,
    labels: f.config.config?.Labels ?? null,
  }));
  listed.sort((a, b) => b.created - a.created);
  const selected = selectImages(listed, {
    filters,
    now: new Date(),
    resolveCreated: (reference) => {
      try {
        const found = gatherImageFacts(resolveImage(reference).id);
        return found.config.created ? unixSeconds(nanosOfIso(found.config.created)) : 0;
      } catch {
        return undefined;
      }
    },
  });
  call.sendJson(
    200,
    selected.map((entry) =>
      formatImageSummary({
        ...entry.facts,
        repoTags: entry.repoTags,
        repoDigests: entry.repoDigests,
      })
    ),
  );
}

/** `GET /images/{name}/json`. */
export async function inspectImageCall(call: ApiCall): Promise<void> {
  const name = call.params.name;
  const facts = await orNoSuch("image", name, () => gatherImageFacts(name));
  call.sendJson(200, formatImageInspect(facts));
}

/** `DELETE /images/{name}?force=&noprune=`: refused while a container uses it, as `tsnspawn rmi`. */
export async function deleteImageCall(call: ApiCall, api: ApiContext): Promise<void> {
  const name = call.params.name;
  if (queryBool(call.query, "noprune")) {
    throw new ApiError(501, "noprune: keeping untagged parents is not supported", {
      hint: "images here have no parent images",
    });
  }
  const result = await orNoSuch(
    "image",
    name,
    () => removeImageUnused(name, queryBool(call.query, "force")),
  );
  const untagged = result.untagged.map((tag) => familiarName(tag));
  const deleted = result.deleted.filter((d) => !d.startsWith("layer "));
  const now = nanosOf(new Date());
  for (const tag of untagged) api.events.emit(planImageEvent("untag", tag, now));
  for (const id of deleted) api.events.emit(planImageEvent("delete", id, now));
  call.sendJson(200, formatImageDelete(untagged, deleted));
}

/** `POST /images/{name}/tag?repo=&tag=`. */
export async function tagImageCall(call: ApiCall, api: ApiContext): Promise<void> {
  const name = call.params.name;
  const repo = call.query.get("repo") ?? "";
  if (repo === "") throw badRequest("repository name (repo) must not be empty");
  const tag = call.query.get("tag") || "latest";
  const target = `${repo}:${tag}`;
  await orNoSuch("image", name, () => tagImage(name, target));
  api.events.emit(planImageEvent("tag", familiarName(target), nanosOf(new Date())));
  call.sendEmpty(201);
}

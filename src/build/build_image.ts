/**
 * `tsnspawn build` as one operation, for every front end (the CLI's
 * commands/build.ts, the Docker API's `POST /build`, declared containers'
 * `.build` files): a Containerfile and a context directory in, an image in
 * the store out, progress reported as events (events.ts), nothing printed.
 *
 * Order: parse (every syntax error, with FILE:LINE, before anything runs) →
 * plan (plan.ts) → the images the plan names resolved in the store, pulled
 * per `--pull` (missing, always, never), and planned again with their
 * ONBUILD triggers until nothing new appears → the stages the target needs,
 * wave by wave (plan.ts waves: the stages of a wave depend only on earlier
 * waves and build in parallel; a failing stage stops its siblings) → the
 * target stage's image tagged (with `--label`s added to its config).
 *
 * Leaving nothing behind: the build holds `<root>/tmp/build-<id>.lock` for
 * its whole life; every staging directory is flocked (src/staging.ts); RUN
 * containers are removed when their step ends, and name the build in their
 * config, so `tsnspawn check` removes what a killed build left (the lock is
 * then free). An abort (Ctrl-C) kills the running steps' units, removes
 * their containers and staging directories, and rejects with an
 * "interrupted" error. What a finished step stored stays: it is build cache.
 */
import { TsnspawnError } from "../errors.ts";
import { holdOperation, releaseStaging } from "../staging.ts";
import { randomHex } from "../files.ts";
import { normalize } from "../path_util.ts";
import { ensureStoreDirs, inspectImage, resolveImage } from "../image/store.ts";
import { formatReference, parseTagTarget } from "../oci/reference.ts";
import type { Systemd } from "../systemd/bus.ts";
import type { PullPolicy } from "../container/options.ts";
import { type Containerfile, parseContainerfile } from "./containerfile.ts";
import { type BuildPlan, planBuild } from "./plan.ts";
import { hostPlatform } from "./build_args.ts";
import type { BuildReporter } from "./events.ts";
import {
  type ContainerfileSource,
  openContext,
  readContainerfile,
  unpackContext,
} from "./context.ts";
import {
  buildStage,
  type StageEnvironment,
  type StageResult,
  type UsedImage,
} from "./stage_build.ts";
import { commitFinalImage } from "./step_image.ts";
import { DigestCache } from "./digest_cache.ts";

/** What to build. */
export interface BuildRequest {
  containerfile: ContainerfileSource;
  /** The context directory, or null for none (`build -`). */
  contextDir: string | null;
  /** `-t`: references to tag the result with. */
  tags?: string[];
  /** `--build-arg NAME=value`. */
  buildArgs?: Record<string, string>;
  /** `--target`: the stage to build (default the last). */
  target?: string;
  /** `--no-cache`: run every step (their images still enter the cache). */
  noCache?: boolean;
  /** `--pull`: when to pull base images (default missing). */
  pull?: PullPolicy;
  /** `--network`: the network of RUN steps: bridge (default), none, host or a network's name. */
  network?: string;
  /** `--label K=V`: added to the final image's config. */
  labels?: Record<string, string>;
  /** `--timestamp` / SOURCE_DATE_EPOCH: every time in the image, seconds since the epoch. */
  timestamp?: number;
}

/** The front end's services. */
export interface BuildServices {
  /** The systemd connection (opened on the first RUN). */
  systemd: () => Promise<Systemd>;
  /** Aborting it interrupts the build (Ctrl-C). */
  signal?: AbortSignal;
}

/** A finished build. */
export interface BuildResult {
  /** The image id ("sha256:<hex>"). */
  id: string;
  /** The normalized tags it got. */
  tags: string[];
}

/** The error a build rejects with when it was interrupted. */
export function interruptedError(): TsnspawnError {
  return new TsnspawnError("interrupted", "the build was interrupted", {
    hint: "nothing of the step that was running was kept; finished steps are in the build cache",
  });
}

/** Resolves (and pulls, per policy) an image the build uses. */
async function useImage(
  ref: string,
  policy: PullPolicy,
  reporter: BuildReporter,
  platform?: string,
): Promise<UsedImage> {
  const load = (name: string): UsedImage => {
    const found = inspectImage(name);
    resolveImage(found.id); // every layer present, or a clear error
    return {
      image: {
        id: found.id,
        manifestDigest: found.manifestDigest,
        config: found.config,
        layers: found.manifest.layers,
      },
    };
  };
  if (policy !== "always") {
    try {
      return load(ref);
    } catch (error) {
      if (!(error instanceof TsnspawnError && error.code === "not-found") || policy === "never") {
        throw error;
      }
    }
  }
  reporter({ kind: "note", text: `Trying to pull ${ref}...` });
  const { pullImage } = await import("../registry/pull.ts");
  const { parsePlatform } = await import("../oci/manifest.ts");
  const pulled = await pullImage(ref, platform ? { platform: parsePlatform(platform) } : {});
  return load(pulled.reference);
}

/** Plans the build, resolving images and their ONBUILD triggers until stable. */
async function planWithImages(
  file: Containerfile,
  request: BuildRequest,
  reporter: BuildReporter,
): Promise<{ plan: BuildPlan; images: Map<string, UsedImage> }> {
  const images = new Map<string, UsedImage>();
  const triggers: Record<string, string[]> = {};
  for (;;) {
    const plan = planBuild(file, {
      buildArgs: request.buildArgs ?? {},
      ...(request.target !== undefined ? { target: request.target } : {}),
      baseImageTriggers: triggers,
    });
    let added = false;
    for (const use of plan.images) {
      if (images.has(use.ref)) continue;
      let used: UsedImage;
      try {
        used = await useImage(use.ref, request.pull ?? "missing", reporter, use.platform);
      } catch (error) {
        if (!(error instanceof TsnspawnError)) throw error;
        const where = `${use.location.file}:${use.location.line}`;
        throw new TsnspawnError(error.code, `${where}: ${error.message}`, {
          hint: error.hint,
          cause: error,
        });
      }
      images.set(use.ref, used);
      const onBuild = (used.image.config.config as { OnBuild?: string[] } | undefined)?.OnBuild;
      if (use.use === "base" && onBuild && onBuild.length > 0) {
        triggers[use.ref] = onBuild;
        added = true;
      }
    }
    if (!added) return { plan, images };
  }
}

/** The text of each stage's FROM line, by stage index. */
function fromLines(file: Containerfile): Map<number, string> {
  const lines = new Map<number, string>();
  file.instructions.filter((i) => i.kind === "FROM").forEach((from, index) => {
    lines.set(index, from.text);
  });
  return lines;
}

/** Builds an image (see the module comment). */
export async function buildImage(
  request: BuildRequest,
  reporter: BuildReporter,
  services: BuildServices,
): Promise<BuildResult> {
  const file = parseContainerfile(request.containerfile.text, request.containerfile.name);
  const tags = (request.tags ?? []).map((tag) =>
    formatReference(parseTagTarget(tag, "tag a build as"))
  );
  const context = openContext(request.contextDir, request.containerfile);
  for (const note of [...file.notes, ...file.warnings]) {
    reporter({ kind: "note", text: `${file.file}:${note.line}: ${note.message}` });
  }
  ensureStoreDirs();
  const buildId = randomHex(16);
  const operation = holdOperation(`build-${buildId}`);
  const digests = request.contextDir === null ? undefined : DigestCache.load();
  const outer = services.signal;
  const controller = new AbortController();
  const abort = () => controller.abort(interruptedError());
  outer?.addEventListener("abort", abort);
  try {
    if (outer?.aborted) abort();
    const { plan, images } = await planWithImages(file, request, reporter);
    for (const name of plan.unusedBuildArgs) {
      reporter({
        kind: "note",
        text: `[Warning] one or more build args were not consumed: [${name}]`,
      });
    }
    for (const warning of plan.warnings) {
      reporter({ kind: "note", text: `${file.file}:${warning.line}: ${warning.message}` });
    }
    const stages = new Map<number, StageResult>();
    const platform = hostPlatform();
    const settings: Record<string, string> = {};
    if (request.timestamp !== undefined) settings.timestamp = String(request.timestamp);
    const order = plan.stages.map((s) => s.index);
    for (const wave of plan.waves) {
      controller.signal.throwIfAborted();
      const results = await Promise.allSettled(wave.map(async (index) => {
        const stage = plan.stages.find((s) => s.index === index)!;
        const env: StageEnvironment = {
          systemd: services.systemd,
          buildId,
          reporter,
          context: {
            args: { buildArgs: plan.buildArgs, globals: plan.globals },
            escape: file.escape,
          },
          contextTree: context.tree,
          platform,
          images,
          stages,
          fromText: fromLines(file),
          network: request.network ?? "bridge",
          noCache: request.noCache ?? false,
          ...(request.timestamp !== undefined ? { timestamp: request.timestamp } : {}),
          settings,
          ...(digests ? { digests } : {}),
          signal: controller.signal,
          position: { stage: order.indexOf(index) + 1, stages: order.length },
        };
        try {
          stages.set(index, await buildStage(stage, env));
        } catch (error) {
          // One failing stage stops the others of its wave.
          if (!controller.signal.aborted) controller.abort(error);
          throw error;
        }
      }));
      const failures = results.flatMap((r) => r.status === "rejected" ? [r.reason] : []);
      if (failures.length > 0) {
        throw failures.find((f) => !(f instanceof TsnspawnError && f.code === "interrupted")) ??
          failures[0];
      }
    }
    const target = stages.get(plan.target)!;
    reporter({ kind: "commit", tags });
    const id = await commitFinalImage(target.image, tags, request.labels ?? {});
    reporter({ kind: "done", id, tags });
    return { id, tags };
  } finally {
    digests?.save();
    outer?.removeEventListener("abort", abort);
    releaseStaging(operation);
  }
}

/**
 * buildImage over a context sent as a tar stream (the Docker API's `POST
 * /build` body): unpacked into a flocked staging directory, removed when
 * the build ends. `dockerfile` is the Containerfile's path inside the
 * context (default: `Containerfile`, else `Dockerfile`).
 */
export async function buildImageFromArchive(
  archive: ReadableStream<Uint8Array>,
  request: Omit<BuildRequest, "containerfile" | "contextDir"> & { dockerfile?: string },
  reporter: BuildReporter,
  services: BuildServices,
): Promise<BuildResult> {
  const context = await unpackContext(archive);
  try {
    const { dockerfile, ...rest } = request;
    const inside = dockerfile === undefined ? undefined : normalize(`${context.dir}/${dockerfile}`);
    if (inside !== undefined && !inside.startsWith(`${context.dir}/`)) {
      throw new TsnspawnError("invalid", `Containerfile ${dockerfile}: outside the context`, {
        hint: "give its path inside the context",
      });
    }
    const containerfile = inside === undefined
      ? readContainerfile(context.dir)
      : { ...readContainerfile(null, inside), name: dockerfile! };
    return await buildImage(
      { ...rest, containerfile, contextDir: context.dir },
      reporter,
      services,
    );
  } finally {
    context.dispose();
  }
}

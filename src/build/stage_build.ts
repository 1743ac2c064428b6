/**
 * Building one stage, step by step (effects), as stage_state.ts's loop
 * describes: each step resolved, its cache key computed (cache_key.ts: the
 * key before it and the image it left, the instruction after substitution,
 * the content a COPY/ADD copies or a RUN bind-mounts), and either found in
 * the build cache (the stored image of that key) or run: a metadata step
 * only changes the config (no layer; history `empty_layer`), a RUN runs in a
 * container (run_step.ts), a COPY/ADD writes a layer straight from its
 * sources (copy_write.ts). Every step's image is stored under its key
 * (step_image.ts), so the next build, or a concurrent one, can use it.
 *
 * A COPY --from a stage or image counts by that image's ID (which fixes its
 * content) rather than by hashing what it copies again; the build context is
 * hashed (names, modes, owners, contents; never times).
 */
import { TsnspawnError } from "../errors.ts";
import { join } from "../path_util.ts";
import { makeStagingDir, releaseStaging } from "../staging.ts";
import { layerDiffPath, lookupBuildCache } from "../image/store.ts";
import type { Systemd } from "../systemd/bus.ts";
import type { Platform } from "./build_args.ts";
import {
  type CacheRoot,
  contentDigest,
  contentSummary,
  stageRootKey,
  stepCacheKey,
} from "./cache_key.ts";
import { applyToConfig, scratchConfig } from "./image_config.ts";
import type { PlannedStage, PlannedStep, StageSource } from "./plan.ts";
import {
  applyStep,
  beginStage,
  destination,
  type ResolvedStep,
  resolveStep,
  runProcess,
  type StageContext,
  type StageState,
  stepKeyInput,
} from "./stage_state.ts";
import {
  type CopyPlan,
  type DownloadedFile,
  hashFile,
  planContent,
  planCopy,
} from "./copy_plan.ts";
import { type SourceTree, stackTree } from "./source_tree.ts";
import { mountContentDigest, type MountSource, RunStepError } from "./step_error.ts";
import { stateConfigOf, type StepImage, stepImageOf, storeStepImage } from "./step_image.ts";
import type { BuildReporter, StepPosition } from "./events.ts";
import type { Instruction } from "./instructions.ts";
import type { DigestCache } from "./digest_cache.ts";

/** A built stage: its last image, its state (ARGs for stages based on it) and its last key. */
export interface StageResult {
  image: StepImage;
  state: StageState;
  key: string;
}

/** An image a build uses (a base or a --from source), resolved in the store. */
export interface UsedImage {
  image: StepImage;
}

/** What every stage of one build shares. */
export interface StageEnvironment {
  systemd: () => Promise<Systemd>;
  buildId: string;
  reporter: BuildReporter;
  context: StageContext;
  /** The build context's files (an empty tree for `build -`). */
  contextTree: SourceTree;
  platform: Platform;
  /** Images by reference as planned. */
  images: ReadonlyMap<string, UsedImage>;
  /** Stages built so far, by file index. */
  stages: ReadonlyMap<number, StageResult>;
  /** Text of each stage's FROM line, by file index. */
  fromText: ReadonlyMap<number, string>;
  /** The network of RUN steps: bridge, none, host or a network's name. */
  network: string;
  noCache: boolean;
  /** build --timestamp, seconds. */
  timestamp?: number;
  /** Remembered digests of big context files (digest_cache.ts). */
  digests?: DigestCache;
  /** Settings every key includes (build_image.ts). */
  settings: Record<string, string>;
  signal: AbortSignal;
  /** 1-based number of this stage among those built, and their count. */
  position: { stage: number; stages: number };
}

/** The layer dirs of an image, topmost first. */
export function layersOf(image: StepImage): string[] {
  return [...image.config.rootfs.diff_ids].reverse().map(layerDiffPath);
}

const SCRATCH: StepImage = {
  id: "",
  manifestDigest: "",
  config: { architecture: "", os: "", rootfs: { type: "layers", diff_ids: [] } },
  layers: [],
};

function sourceImage(source: StageSource, env: StageEnvironment): StepImage {
  if (source.kind === "stage") return env.stages.get(source.index)!.image;
  if (source.kind === "image") return env.images.get(source.ref)!.image;
  return SCRATCH;
}

function sourceName(source: StageSource): string {
  if (source.kind === "image") return `image ${source.ref}`;
  if (source.kind === "scratch") return "scratch";
  return `stage ${source.index}`;
}

/** Re-throws a step's error with its place in the Containerfile. */
function located(instruction: Instruction, error: unknown): unknown {
  if (!(error instanceof TsnspawnError) || error.code === "interrupted") return error;
  const where = `${instruction.location.file}:${instruction.location.line}`;
  if (error.message.startsWith(where)) return error;
  const text = instruction.text.length > 60
    ? `${instruction.text.slice(0, 57)}...`
    : instruction.text;
  if (error instanceof RunStepError) {
    return new RunStepError(`${where}: ${text}: ${error.message}`, error.status, error.tail);
  }
  // A RUN container that could not start (its command not found, say) failed the step:
  // the build's error, without the step container's name.
  const failedStart = error.code === "start-failed";
  const message = failedStart
    ? error.message.replace(/^container \S+ failed to start: /u, "the command could not start: ")
    : error.message;
  return new TsnspawnError(
    failedStart ? "build-failed" : error.code,
    `${where}: ${text}: ${message}`,
    {
      hint: failedStart ? "check the command and that the image has it" : error.hint,
      cause: error,
    },
  );
}

/** Builds one planned stage. */
export async function buildStage(
  stage: PlannedStage,
  env: StageEnvironment,
): Promise<StageResult> {
  const position = (step: number): StepPosition => ({
    ...env.position,
    step,
    steps: stage.steps.length + 1,
  });
  env.reporter({
    kind: "step",
    position: position(1),
    text: env.fromText.get(stage.index) ?? "FROM",
  });
  let image: StepImage;
  let state: StageState;
  let root: CacheRoot;
  if (stage.base.kind === "stage") {
    const base = env.stages.get(stage.base.index)!;
    image = base.image;
    state = beginStage(base.image.config, { platform: env.platform, baseArgs: base.state.args });
    root = { kind: "stage", key: `${base.key}@${base.image.id}` };
  } else if (stage.base.kind === "image") {
    image = env.images.get(stage.base.ref)!.image;
    state = beginStage(image.config, { platform: env.platform });
    root = { kind: "image", id: image.id };
  } else {
    state = beginStage("scratch", { platform: env.platform });
    image = { ...SCRATCH, config: { ...scratchConfig(env.platform) } };
    root = { kind: "scratch", platform: env.platform };
  }
  let key = await stageRootKey(root, env.settings);
  for (const [i, planned] of stage.steps.entries()) {
    env.signal.throwIfAborted();
    env.reporter({ kind: "step", position: position(i + 2), text: planned.instruction.text });
    try {
      ({ image, state, key } = await buildStep(planned, { image, state, key }, env));
    } catch (error) {
      throw located(planned.instruction, error);
    }
  }
  return { image, state, key };
}

/** Builds (or finds in the cache) one step after `previous`. */
async function buildStep(
  planned: PlannedStep,
  previous: StageResult,
  env: StageEnvironment,
): Promise<StageResult> {
  const { image, state } = previous;
  const step = resolveStep(state, planned, env.context);
  const instruction = step.instruction;
  const parent = `${previous.key}@${image.id || "scratch"}`;
  let scratch: string | undefined;
  const scratchDir = () => scratch ??= makeStagingDir(`build-${env.buildId.slice(0, 8)}-`);
  try {
    // What the key needs besides the instruction: copied content, mounted content.
    let copy:
      | { plan: CopyPlan; fromImage?: StepImage; downloads: Map<string, DownloadedFile> }
      | undefined;
    let content: string | undefined;
    let mountSources: (MountSource | undefined)[] = [];
    let mountContents: string[] | undefined;
    if (instruction.kind === "COPY" || instruction.kind === "ADD") {
      const from = planned.from;
      const fromImage = from ? sourceImage(from, env) : undefined;
      const tree = from && fromImage
        ? stackTree(layersOf(fromImage), sourceName(from))
        : env.contextTree;
      const plan = planCopy(instruction, {
        tree,
        fromContext: from === undefined,
        layers: layersOf(image),
        destination: destination(state, instruction.dest),
      });
      const downloads = new Map<string, DownloadedFile>();
      for (const item of plan.items) {
        if (item.kind !== "url" || item.checksum !== undefined || downloads.has(item.url)) continue;
        downloads.set(item.url, await download(item.url, scratchDir(), env.signal));
      }
      copy = { plan, downloads, ...(fromImage ? { fromImage } : {}) };
      content = fromImage
        ? `image ${fromImage.id} ${JSON.stringify(plan.items.map((i) => i.target))}`
        : await contentDigest(await planContent(plan, downloads, env.digests));
    } else if (instruction.kind === "RUN" && instruction.mounts.length > 0) {
      mountSources = instruction.mounts.map((mount, i) => {
        if (mount.type !== "bind") return undefined;
        const source = planned.mountSources?.[i];
        if (!source) return { tree: env.contextTree };
        return { tree: stackTree(layersOf(sourceImage(source, env)), sourceName(source)) };
      });
      mountContents = [];
      for (const [i, mount] of instruction.mounts.entries()) {
        const source = mountSources[i];
        if (source) mountContents.push(await mountContentDigest(mount, source));
      }
    }
    const stepKey = await stepCacheKey(
      stepKeyInput(step, parent, {
        ...(content !== undefined ? { content } : {}),
        ...(mountContents ? { mountContents } : {}),
      }),
    );
    const hit = env.noCache ? undefined : lookupBuildCache(stepKey);
    if (hit) {
      const applied = applyToConfig(state, instruction);
      env.reporter({ kind: "cached", id: hit.id });
      return {
        image: stepImageOf(hit),
        state: { config: stateConfigOf(hit.config), cmdSet: applied.cmdSet, args: step.args },
        key: stepKey,
      };
    }
    const created = env.timestamp !== undefined
      ? new Date(env.timestamp * 1000).toISOString()
      : new Date().toISOString();
    const mtime = env.timestamp;
    let next: StageState;
    let stored: StepImage;
    if (!step.layer) {
      next = applyStep(state, step, created);
      stored = await storeStepImage(next.config, created, image.layers, null, stepKey, env.noCache);
    } else if (instruction.kind === "RUN") {
      const staged = await runInContainer(step, state, image, mountSources, scratchDir(), env);
      next = applyStep(state, step, created, { diffId: staged.diffId });
      stored = await storeStepImage(
        next.config,
        created,
        image.layers,
        staged,
        stepKey,
        env.noCache,
      );
    } else {
      const { plan, downloads, fromImage } = copy!;
      for (const item of plan.items) {
        if (item.kind === "url" && !downloads.has(item.url)) {
          downloads.set(item.url, await download(item.url, scratchDir(), env.signal));
        }
      }
      await verifyChecksums(plan, downloads);
      const tree = join(scratchDir(), "tree");
      Deno.mkdirSync(tree, { mode: 0o755 });
      // Loaded on a miss only: a rebuild that finds every step needs none of it.
      const { writeCopyLayer } = await import("./copy_write.ts");
      const { stageTreeAsLayer } = await import("../image/layer_commit.ts");
      await writeCopyLayer(plan, tree, {
        downloads,
        scratch: scratchDir(),
        signal: env.signal,
        ...(mtime !== undefined ? { mtime } : {}),
      });
      const staged = await stageTreeAsLayer(
        tree,
        scratchDir(),
        mtime !== undefined ? { mtime } : {},
      );
      // History's summary of the content: its digest (hashed for the key), or for a copy
      // from a stage or image (keyed by that image) the new layer's, which fixes it as well.
      const digest = fromImage ? staged.diffId : content!;
      next = applyStep(state, step, created, {
        diffId: staged.diffId,
        contentSummary: contentSummary(plan.summaryKind, digest),
      });
      stored = await storeStepImage(
        next.config,
        created,
        image.layers,
        staged,
        stepKey,
        env.noCache,
      );
    }
    env.reporter({ kind: "built", id: stored.id });
    // The stored image may be a concurrent build's of the same step: go on from it.
    return {
      image: stored,
      state: { ...next, config: stateConfigOf(stored.config) },
      key: stepKey,
    };
  } finally {
    if (scratch) {
      try {
        Deno.removeSync(scratch, { recursive: true });
      } catch { /* check removes it */ }
      releaseStaging(scratch);
    }
  }
}

/** Downloads an ADD URL into the step's scratch dir. */
async function download(
  url: string,
  scratch: string,
  signal: AbortSignal,
): Promise<DownloadedFile> {
  const path = join(scratch, `download-${crypto.randomUUID()}`);
  const { downloadUrl } = await import("../registry/url_download.ts");
  const got = await downloadUrl(url, path, { signal });
  return {
    path,
    ...(got.lastModified ? { mtime: Math.floor(got.lastModified.getTime() / 1000) } : {}),
  };
}

/** ADD --checksum: every URL's content must have the digest given. */
async function verifyChecksums(
  plan: CopyPlan,
  downloads: ReadonlyMap<string, DownloadedFile>,
): Promise<void> {
  for (const item of plan.items) {
    if (item.kind !== "url" || item.checksum === undefined) continue;
    const got = (await hashFile(downloads.get(item.url)!.path)).digest;
    if (got !== item.checksum) {
      throw new TsnspawnError(
        "invalid",
        `ADD ${item.url}: the content's digest is ${got}, not ${item.checksum}`,
        { hint: "the file changed on the server, or --checksum is wrong" },
      );
    }
  }
}

/** Runs a RUN step in a container of `image`. */
async function runInContainer(
  step: ResolvedStep,
  state: StageState,
  image: StepImage,
  mountSources: (MountSource | undefined)[],
  scratch: string,
  env: StageEnvironment,
) {
  const instruction = step.instruction;
  if (instruction.kind !== "RUN") throw new Error("runInContainer: not RUN");
  if (image.config.rootfs.diff_ids.length === 0) {
    throw new TsnspawnError("invalid", "RUN needs a root file system, and this stage has none", {
      hint: "FROM scratch is empty: COPY a program in first, or start FROM an image",
    });
  }
  const process = runProcess(state, step, env.context);
  const { prepareMounts, runStep } = await import("./run_step.ts");
  const mounts = await prepareMounts(instruction.mounts, mountSources, scratch);
  const network = instruction.network === "none" || instruction.network === "host"
    ? instruction.network
    : env.network;
  return await runStep(process, mounts, {
    systemd: await env.systemd(),
    buildId: env.buildId,
    name: `build-${env.buildId.slice(0, 12)}-${crypto.randomUUID().slice(0, 8)}`,
    imageId: image.id,
    network,
    scratch,
    reporter: env.reporter,
    signal: env.signal,
    ...(env.timestamp !== undefined ? { mtime: env.timestamp } : {}),
  });
}

/**
 * Build plan (pure): stages, their bases and dependencies, the stages the
 * target needs grouped into waves that can build in parallel, the images to
 * pull, ONBUILD triggers placed after FROM, and unused build arguments.
 *
 * Spec: Dockerfile reference "FROM" (multi-stage, `AS name`), "COPY --from",
 * "RUN --mount" (from=), "ARG" (global scope) and "ONBUILD"; docker's and
 * BuildKit's stage rules, buildah for `--from` with variables:
 *
 * - Stage names are compared case-insensitively; a name used twice is an
 *   error. `FROM <name>` refers to an earlier stage, else it is an image;
 *   `scratch` is the empty image.
 * - `COPY --from=` and `--mount from=` take a stage name, a stage index or an
 *   image; a stage must come before the current one. Variables in `--from`
 *   are expanded with the stage's ARGs (buildah does; BuildKit refuses them).
 * - `--target` picks a stage (default the last); stages it does not need are
 *   dropped. Each wave holds stages whose dependencies are in earlier waves.
 * - ONBUILD triggers run in the child, right after its FROM: for a base stage
 *   they are that stage's ONBUILD instructions; for a base image they come
 *   from its config (`baseImageTriggers`), so the builder plans once, pulls
 *   the images listed, and plans again with their triggers (a trigger may add
 *   a stage dependency or an image) until the image list does not change.
 */
import { TsnspawnError } from "../errors.ts";
import {
  type ArgContext,
  type ArgScope,
  declareArg,
  globalLookup,
  hostPlatform,
  NO_ARGS,
  type Platform,
  platformArgs,
  resolveGlobalArgs,
  stageLookup,
  unusedBuildArgs,
} from "./build_args.ts";
import { at, type Containerfile, parseInstruction, type Warning } from "./containerfile.ts";
import { lexContainerfile } from "./containerfile_lexer.ts";
import type {
  ArgInstruction,
  FromInstruction,
  Instruction,
  SourceLocation,
} from "./instructions.ts";
import { resolveInstruction } from "./substitute_instruction.ts";
import { expandWord } from "./substitute.ts";
import { findTarget, imageUses, neededStages, waves } from "./plan_graph.ts";
import type { ImageUse, PlannedStage, PlannedStep, StageSource } from "./plan_types.ts";
import { isValidReference } from "../oci/reference.ts";
import { closest } from "./suggest.ts";

/** Options of `tsnspawn build` that shape the plan. */
export interface PlanOptions {
  /** `--build-arg NAME=value`. */
  buildArgs?: Record<string, string>;
  /** `--target`: the stage to build (default: the last). */
  target?: string;
  /** The platform for the automatic platform ARGs (default: this machine's). */
  platform?: Platform;
  /** ONBUILD triggers of base images, by image reference as planned (`images[].ref`). */
  baseImageTriggers?: Record<string, string[]>;
}

export type { ImageUse, PlannedStage, PlannedStep, StageSource } from "./plan_types.ts";

/** The whole plan. */
export interface BuildPlan {
  file: Containerfile;
  /** The global ARG scope (FROM lines). */
  globals: Map<string, string | undefined>;
  buildArgs: Record<string, string>;
  /** The stages to build, in file order. */
  stages: PlannedStage[];
  /** File index of the target stage. */
  target: number;
  /** Stage indexes grouped so that each wave only needs earlier waves. */
  waves: number[][];
  /** Images to pull (deduplicated by reference). */
  images: ImageUse[];
  /** `--build-arg` names no ARG consumed. */
  unusedBuildArgs: string[];
  /** Suspicious things (a --from that is no stage but looks like a misspelt one). */
  warnings: Warning[];
}

/** Stage names of the whole file, by lower-case name → index (for --from checks). */
type StageNames = Map<string, number>;

interface StageDraft extends PlannedStage {
  /** The ARGs known when planning (build args and defaults; ENV is not known yet). */
  scope: ArgScope;
  onbuild: Instruction[];
}

/** Plans a parsed Containerfile. */
export function planBuild(file: Containerfile, options: PlanOptions = {}): BuildPlan {
  const buildArgs = options.buildArgs ?? {};
  const firstFrom = file.instructions.findIndex((i) => i.kind === "FROM");
  const globalArgs = file.instructions.slice(0, firstFrom) as ArgInstruction[];
  const expand = (word: string, lookup: (name: string) => string | undefined) =>
    expandWord(word, lookup, file.escape);
  let globals = new Map<string, string | undefined>(
    Object.entries(platformArgs(options.platform ?? hostPlatform())),
  );
  for (const arg of globalArgs) {
    try {
      globals = resolveGlobalArgs(arg.args, buildArgs, globals, expand);
    } catch (error) {
      if (!(error instanceof TsnspawnError)) throw error;
      throw at(arg.location, error.message, error.hint);
    }
  }
  const context: ArgContext = { buildArgs, globals };
  const declared = new Set(globalArgs.flatMap((arg) => arg.args.map((d) => d.name)));
  const warnings: Warning[] = [];

  const drafts: StageDraft[] = [];
  const names: StageNames = new Map();
  file.instructions.filter((i) => i.kind === "FROM").forEach((from, index) => {
    const name = (from as FromInstruction).stage?.toLowerCase();
    if (name !== undefined && !names.has(name)) names.set(name, index);
  });
  let current: StageDraft | undefined;
  for (const instruction of file.instructions.slice(firstFrom)) {
    if (instruction.kind === "FROM") {
      current = startStage(instruction, drafts, names, context, options, warnings);
      drafts.push(current);
      continue;
    }
    addStep(current!, { instruction }, drafts, names, context, file.escape, warnings);
  }

  const target = findTarget(drafts, options.target);
  const needed = neededStages(drafts, target);
  const stages = drafts.filter((d) => needed.has(d.index));
  for (const step of stages.flatMap((stage) => stage.steps)) {
    if (step.instruction.kind === "ARG") step.instruction.args.forEach((d) => declared.add(d.name));
  }
  return {
    file,
    globals,
    buildArgs,
    stages: stages.map(({ scope: _s, onbuild: _o, ...stage }) => stage),
    target,
    waves: waves(stages),
    images: imageUses(stages),
    unusedBuildArgs: unusedBuildArgs(buildArgs, declared),
    warnings,
  };
}

function startStage(
  from: FromInstruction,
  drafts: StageDraft[],
  names: StageNames,
  context: ArgContext,
  options: PlanOptions,
  warnings: Warning[],
): StageDraft {
  const resolved = resolveInstruction(from, globalLookup(context)) as FromInstruction;
  const name = from.stage?.toLowerCase();
  const duplicate = name === undefined ? undefined : drafts.find((d) => d.name === name);
  if (duplicate) {
    throw at(
      from.location,
      `stage name ${JSON.stringify(from.stage)} is already used`,
      `the stage at line ${duplicate.location.line} has that name; stage names are case-insensitive`,
    );
  }
  const baseStage = drafts.find((d) => d.name === resolved.image.toLowerCase());
  let base: StageSource;
  if (baseStage) base = { kind: "stage", index: baseStage.index };
  else if (resolved.image === "scratch") base = { kind: "scratch" };
  else base = imageSource(resolved.image, from.location, drafts, warnings, "FROM");
  const stage: StageDraft = {
    index: drafts.length,
    ...(name !== undefined ? { name } : {}),
    location: from.location,
    base,
    ...(resolved.platform !== undefined ? { platform: resolved.platform } : {}),
    steps: [],
    dependsOn: baseStage ? [baseStage.index] : [],
    scope: baseStage ? baseStage.scope : NO_ARGS,
    onbuild: [],
  };
  const triggers = baseStage
    ? baseStage.onbuild.map((instruction) => ({
      instruction,
      origin: `stage ${baseStage.name ?? baseStage.index}`,
    }))
    : base.kind === "image"
    ? parseTriggers(options.baseImageTriggers?.[base.ref] ?? [], base.ref, from.location)
    : [];
  for (const { instruction, origin } of triggers) {
    addStep(stage, { instruction, trigger: origin }, drafts, names, context, "\\", warnings);
  }
  return stage;
}

/** Parses the ONBUILD expressions of a base image's config. */
function parseTriggers(texts: string[], ref: string, location: SourceLocation) {
  return texts.map((text, n) => {
    const where = `ONBUILD trigger ${n + 1} of image ${ref}`;
    try {
      const lines = lexContainerfile(text, where).lines;
      if (lines.length !== 1) throw new TsnspawnError("invalid", "it is not a single instruction");
      const instruction = parseInstruction(lines[0], location.file, "\\");
      if (
        instruction.kind === "FROM" || instruction.kind === "ONBUILD" ||
        instruction.kind === "MAINTAINER"
      ) {
        throw new TsnspawnError(
          "invalid",
          `${instruction.kind} isn't allowed as an ONBUILD trigger`,
        );
      }
      const placed = { ...instruction, location };
      return { instruction: placed, origin: `image ${ref}` };
    } catch (error) {
      if (!(error instanceof TsnspawnError)) throw error;
      const detail = error.message.replace(/^[^:]*:\d+: /u, "");
      throw at(location, `${where}: ${detail}`, error.hint);
    }
  });
}

function addStep(
  stage: StageDraft,
  step: PlannedStep,
  drafts: StageDraft[],
  names: StageNames,
  context: ArgContext,
  escape: string,
  warnings: Warning[],
): void {
  const instruction = step.instruction;
  const lookup = stageLookup([], stage.scope, context);
  if (instruction.kind === "ARG") {
    for (const declaration of instruction.args) {
      stage.scope = declareArg(stage.scope, declaration, context, (word) => {
        try {
          return expandWord(word, stageLookup([], stage.scope, context), escape);
        } catch {
          return ""; // a default using ENV values: known only when the stage runs
        }
      });
    }
  } else if (instruction.kind === "ONBUILD") {
    stage.onbuild.push(instruction.trigger);
  } else if (instruction.kind === "COPY" && instruction.from !== undefined) {
    step.from = sourceOf(
      instruction.from,
      "COPY --from",
      instruction.location,
      stage,
      drafts,
      names,
      { lookup, escape, warnings },
    );
  } else if (instruction.kind === "RUN" && instruction.mounts.some((m) => m.from !== undefined)) {
    step.mountSources = instruction.mounts.map((mount) =>
      mount.from === undefined ? undefined : sourceOf(
        mount.from,
        "RUN --mount from",
        instruction.location,
        stage,
        drafts,
        names,
        { lookup, escape, warnings },
      )
    );
  }
  for (const source of [step.from, ...(step.mountSources ?? [])]) {
    if (source?.kind === "stage" && !stage.dependsOn.includes(source.index)) {
      stage.dependsOn.push(source.index);
    }
  }
  stage.steps.push(step);
}

/** Resolves a `--from` value to an earlier stage or an image. */
function sourceOf(
  raw: string,
  what: string,
  location: SourceLocation,
  stage: StageDraft,
  drafts: StageDraft[],
  names: StageNames,
  { lookup, escape, warnings }: {
    lookup: (name: string) => string | undefined;
    escape: string;
    warnings: Warning[];
  },
): StageSource {
  let value: string;
  try {
    value = expandWord(raw, lookup, escape);
  } catch (error) {
    throw at(location, error instanceof Error ? error.message : String(error));
  }
  if (value === "") {
    throw at(
      location,
      `${what}=${raw} is empty`,
      "declare the ARG it uses in this stage, with a value",
    );
  }
  if (/^\d+$/u.test(value)) {
    const index = Number(value);
    if (index >= stage.index) {
      throw at(
        location,
        `${what}=${value}: stage ${value} is not before this stage`,
        stageList(drafts),
      );
    }
    return { kind: "stage", index };
  }
  const lower = value.toLowerCase();
  if (lower === stage.name) throw at(location, `${what}=${value}: a stage cannot use itself`);
  const found = drafts.find((d) => d.name === lower);
  if (found) return { kind: "stage", index: found.index };
  const later = names.get(lower);
  if (later !== undefined) {
    throw at(
      location,
      `${what}=${value}: stage ${lower} is defined after this one`,
      "a stage can only use stages defined before it; move that stage up",
    );
  }
  return imageSource(value, location, drafts, warnings, what);
}

function imageSource(
  ref: string,
  location: SourceLocation,
  drafts: StageDraft[],
  warnings: Warning[],
  what: string,
): StageSource {
  if (!isValidReference(ref)) {
    const names = drafts.flatMap((d) => d.name ? [d.name] : []);
    const guess = closest(ref.toLowerCase(), names);
    throw at(
      location,
      `${what} ${JSON.stringify(ref)} is neither an earlier stage nor a valid image reference`,
      guess ? `did you mean the stage ${guess}?` : stageList(drafts),
    );
  }
  const names = drafts.flatMap((d) => d.name ? [d.name] : []);
  const guess = ref.includes("/") || ref.includes(":") ? undefined : closest(ref, names);
  if (guess) {
    warnings.push({
      line: location.line,
      message:
        `${what} ${ref} is no stage and will be pulled as an image; did you mean the stage ${guess}?`,
    });
  }
  return { kind: "image", ref };
}

function stageList(drafts: StageDraft[]): string {
  const names = drafts.map((d) => d.name ? `${d.index} (${d.name})` : `${d.index}`);
  return names.length > 0
    ? `stages before this one: ${names.join(", ")}`
    : "there is no earlier stage";
}

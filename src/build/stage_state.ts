/**
 * The state of a stage while it builds, step by step (pure): what the
 * effectful builder asks before and after running each planned step.
 *
 *   let state = beginStage(baseConfig | "scratch", { platform, baseArgs });
 *   for (const planned of stage.steps) {
 *     const step = resolveStep(state, planned, context);    // variables replaced
 *     key = await stepCacheKey(stepKeyInput(step, key, ...)); // cache_key.ts
 *     if (!step.layer) state = applyStep(state, step, created);
 *     else {                      // RUN: runProcess(state, step, context) in a container;
 *       ...                       // COPY/ADD: copy the resolved sources
 *       state = applyStep(state, step, created, { diffId, contentSummary });
 *     }
 *   }
 *   const config = finishConfig(state.config, created);       // image_config.ts
 *
 * Spec: Dockerfile reference (RUN, shell form, here-documents, WORKDIR,
 * COPY destination) and BuildKit's RUN here-document handling
 * (dockerfile2llb dispatchRun): a RUN that is only `<<EOF` runs the body with
 * the shell, or directly when it starts with `#!` (written to
 * /dev/pipes/EOF, mode 0755); other here-documents go to the shell with the
 * command. WORKDIR adds no layer (buildah): the next RUN or COPY creates
 * the directory in its own layer.
 */
import {
  type ArgContext,
  type ArgScope,
  declareArg,
  NO_ARGS,
  type Platform,
  recordedRunArgs,
  runEnvironment,
  stageLookup,
} from "./build_args.ts";
import type { StepKeyInput } from "./cache_key.ts";
import { cleanPath } from "./clean_path.ts";
import { at } from "./containerfile.ts";
import { parseHeredocMarker } from "./containerfile_words.ts";
import { historyEntry } from "./history.ts";
import {
  addHistory,
  applyToConfig,
  type BuildImageConfig,
  scratchConfig,
  shellOf,
  stageConfig,
} from "./image_config.ts";
import { addsLayer, type ArgDeclaration, heredocBody, type Instruction } from "./instructions.ts";
import type { PlannedStep } from "./plan.ts";
import { resolveInstruction } from "./substitute_instruction.ts";
import { expandWord } from "./substitute.ts";
import { TsnspawnError } from "../errors.ts";
import type { OciImageConfig } from "../oci/types.ts";

/** A stage between steps. */
export interface StageState {
  config: BuildImageConfig;
  /** A CMD ran in this stage (an ENTRYPOINT then keeps it). */
  cmdSet: boolean;
  /** The stage's ARGs so far. */
  args: ArgScope;
}

/** What resolving needs from the plan: build arguments, global ARGs, escape character. */
export interface StageContext {
  args: ArgContext;
  escape: string;
}

/** A step with its variables replaced, ready to run or apply. */
export interface ResolvedStep {
  planned: PlannedStep;
  /** The instruction with values (ARG: with its defaults expanded). */
  instruction: Instruction;
  /** The SHELL in effect. */
  shell: string[];
  /** RUN: the ARGs recorded in history and the cache key. */
  runArgs: string[];
  /** The stage's ARGs after this step (changed by ARG only). */
  args: ArgScope;
  /** RUN, COPY and ADD make a layer; the rest only change the config. */
  layer: boolean;
}

/** A process to run for a RUN step. */
export interface RunProcess {
  argv: string[];
  env: string[];
  /** The USER in effect ("" = the image default, root). */
  user: string;
  workdir: string;
  /** Files the process needs, e.g. a `#!` here-document run as a program. */
  files: { path: string; content: string; mode: number }[];
}

/** A COPY/ADD destination as an absolute path. */
export interface Destination {
  path: string;
  /** The destination ended with `/`: sources go inside it. */
  directory: boolean;
}

/**
 * The state at FROM: the base config (image or earlier stage) or scratch.
 * `baseArgs` are the ARGs of a base stage, which a child stage inherits.
 */
export function beginStage(
  base: OciImageConfig | BuildImageConfig | "scratch",
  options: { platform: Platform; baseArgs?: ArgScope },
): StageState {
  return {
    config: base === "scratch" ? scratchConfig(options.platform) : stageConfig(base),
    cmdSet: false,
    args: options.baseArgs ?? NO_ARGS,
  };
}

/** Replaces the variables of a planned step with what the stage sees now. */
export function resolveStep(
  state: StageState,
  planned: PlannedStep,
  context: StageContext,
): ResolvedStep {
  const env = state.config.config.Env ?? [];
  const lookup = stageLookup(env, state.args, context.args);
  const raw = planned.instruction;
  let instruction: Instruction;
  let args = state.args;
  if (raw.kind === "ARG") {
    const declarations: ArgDeclaration[] = [];
    for (const declaration of raw.args) {
      const current = stageLookup(env, args, context.args);
      const expand = (word: string) =>
        located(raw, () => expandWord(word, current, context.escape));
      const name = expand(declaration.name);
      const value = declaration.value === undefined ? undefined : expand(declaration.value);
      args = declareArg(
        args,
        { name, ...(value !== undefined ? { value: declaration.value } : {}) },
        context.args,
        () => value!,
      );
      declarations.push(value === undefined ? { name } : { name, value });
    }
    instruction = { ...raw, args: declarations, resolved: true };
  } else {
    instruction = resolveInstruction(raw, lookup, context.escape);
  }
  return {
    planned,
    instruction,
    shell: shellOf(state.config),
    runArgs: instruction.kind === "RUN" ? recordedRunArgs(env, state.args) : [],
    args,
    layer: addsLayer(instruction),
  };
}

function located<T>(instruction: Instruction, work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (error instanceof TsnspawnError) throw at(instruction.location, error.message, error.hint);
    throw error;
  }
}

/**
 * The state after a step: config and history updated. A RUN, COPY or ADD
 * step needs its layer (`diffId`, and for COPY/ADD the content summary);
 * the others must not have one.
 */
export function applyStep(
  state: StageState,
  step: ResolvedStep,
  created: string,
  layer?: { diffId: string; contentSummary?: string },
): StageState {
  if (step.layer !== (layer !== undefined)) {
    throw new Error(
      `applyStep: ${step.instruction.kind} ${step.layer ? "needs" : "takes no"} layer`,
    );
  }
  const applied = located(step.instruction, () => applyToConfig(state, step.instruction));
  const entry = historyEntry(
    {
      instruction: step.instruction,
      shell: step.shell,
      runArgs: step.runArgs,
      ...(layer?.contentSummary !== undefined ? { contentSummary: layer.contentSummary } : {}),
    },
    created,
  );
  return {
    config: addHistory(applied.config, entry, layer?.diffId),
    cmdSet: applied.cmdSet,
    args: step.args,
  };
}

/**
 * The cache key input of a step after `parent` (cache_key.ts). COPY/ADD pass
 * the content digest of what they copy, RUN the digests of bind-mounted
 * sources. An ARG step counts with its expanded defaults, not the
 * `--build-arg` values (those count where a RUN or a substitution uses them).
 */
export function stepKeyInput(
  step: ResolvedStep,
  parent: string,
  extras: { content?: string; mountContents?: string[] } = {},
): StepKeyInput {
  return {
    parent,
    instruction: step.instruction,
    shell: step.shell,
    runArgs: step.runArgs,
    ...extras,
  };
}

/** The process of a RUN step: argv (shell, here-documents), environment, user, directory. */
export function runProcess(
  state: StageState,
  step: ResolvedStep,
  context: StageContext,
): RunProcess {
  const instruction = step.instruction;
  if (instruction.kind !== "RUN") throw new Error(`runProcess: ${instruction.kind} is not RUN`);
  const run = state.config.config;
  const base = {
    env: runEnvironment(run.Env ?? [], state.args, context.args),
    user: run.User ?? "",
    workdir: run.WorkingDir || "/",
  };
  const command = instruction.command;
  if (command.form === "exec") return { ...base, argv: [...command.args], files: [] };
  const heredocs = instruction.heredocs;
  const only = heredocs.length === 1 ? parseHeredocMarker(command.script.trim()) : undefined;
  if (only && only.name === heredocs[0].name) {
    const body = heredocBody(heredocs[0]);
    if (body.startsWith("#!")) {
      const path = `/dev/pipes/${heredocs[0].name}`;
      return { ...base, argv: [path], files: [{ path, content: body, mode: 0o755 }] };
    }
    return { ...base, argv: [...step.shell, body], files: [] };
  }
  const script = command.script + heredocs.map((h) => `\n${h.content}${h.name}`).join("");
  return { ...base, argv: [...step.shell, script], files: [] };
}

/** A COPY/ADD destination made absolute against the WORKDIR (trailing `/` kept as a flag). */
export function destination(state: StageState, dest: string): Destination {
  const workdir = state.config.config.WorkingDir || "/";
  const directory = dest.endsWith("/") || dest === "." || dest.endsWith("/.") || dest === "";
  const path = cleanPath(dest.startsWith("/") ? dest : `${workdir}/${dest}`);
  return { path, directory };
}

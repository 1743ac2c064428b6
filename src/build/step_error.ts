/**
 * The error of a failed RUN step: its exit status and the last lines it
 * printed (the CLI shows them with -q, when nothing else did). Apart from
 * run_step.ts so that the build's front ends and stage_build.ts need not
 * load the container operations to know it.
 */
import { TsnspawnError } from "../errors.ts";
import type { RunMount } from "./instructions.ts";
import type { SourceTree } from "./source_tree.ts";
import { resolveNode } from "./source_tree.ts";
import { type CopyPlan, planContent } from "./copy_plan.ts";
import { contentDigest } from "./cache_key.ts";

/** A failed RUN: its exit status and the last lines it printed. */
export class RunStepError extends TsnspawnError {
  readonly status: number;
  readonly tail: string[];

  constructor(message: string, status: number, tail: string[]) {
    super("build-failed", message, {
      hint: tail.length > 0
        ? `its last output: ${tail.at(-1)!.trim()}`
        : "the step printed nothing; run the command in a container to see why",
    });
    this.status = status;
    this.tail = tail;
  }
}

/** Where a RUN --mount=type=bind takes its files from. */
export interface MountSource {
  tree: SourceTree;
}

/** The content digest of a bind mount's source, for the step's cache key. */
export async function mountContentDigest(mount: RunMount, source: MountSource): Promise<string> {
  const node = resolveNode(source.tree, mount.source ?? "/", true);
  if (!node) {
    throw new TsnspawnError(
      "not-found",
      `RUN --mount source ${mount.source ?? "/"}: not found in ${source.tree.name}`,
    );
  }
  const plan: CopyPlan = {
    items: [{ kind: "node", tree: source.tree, node, target: "/" }],
    owner: null,
    chmod: null,
    layers: [],
    summaryKind: "multi",
  };
  return await contentDigest(await planContent(plan));
}

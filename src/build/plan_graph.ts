/**
 * The stage graph of a build plan (pure): the `--target` stage, the stages it
 * needs, the waves of stages that can build in parallel, and the images to
 * pull. Part of plan.ts (see its module comment for the rules).
 */
import { TsnspawnError } from "../errors.ts";
import type { ImageUse, PlannedStage } from "./plan_types.ts";
import { closest } from "./suggest.ts";

export function findTarget(drafts: PlannedStage[], target: string | undefined): number {
  if (target === undefined) return drafts.length - 1;
  const found = drafts.find((d) => d.name === target.toLowerCase());
  if (found) return found.index;
  const names = drafts.flatMap((d) => d.name ? [d.name] : []);
  const guess = closest(target.toLowerCase(), names);
  throw new TsnspawnError("usage", `target stage ${JSON.stringify(target)} could not be found`, {
    hint: guess
      ? `did you mean ${guess}?`
      : names.length > 0
      ? `stages: ${names.join(", ")}`
      : "no stage has a name (FROM image AS name)",
  });
}

export function neededStages(drafts: PlannedStage[], target: number): Set<number> {
  const needed = new Set<number>();
  const visit = (index: number) => {
    if (needed.has(index)) return;
    needed.add(index);
    drafts[index].dependsOn.forEach(visit);
  };
  visit(target);
  return needed;
}

export function waves(stages: PlannedStage[]): number[][] {
  const depth = new Map<number, number>();
  for (const stage of stages) {
    depth.set(stage.index, Math.max(-1, ...stage.dependsOn.map((d) => depth.get(d)!)) + 1);
  }
  const result: number[][] = [];
  for (const stage of stages) (result[depth.get(stage.index)!] ??= []).push(stage.index);
  return result;
}

export function imageUses(stages: PlannedStage[]): ImageUse[] {
  const uses = new Map<string, ImageUse>();
  const add = (use: ImageUse) => uses.has(use.ref) || uses.set(use.ref, use);
  for (const stage of stages) {
    if (stage.base.kind === "image") {
      add({
        ref: stage.base.ref,
        location: stage.location,
        use: "base",
        ...(stage.platform !== undefined ? { platform: stage.platform } : {}),
      });
    }
    for (const step of stage.steps) {
      if (step.from?.kind === "image") {
        add({ ref: step.from.ref, location: step.instruction.location, use: "copy-from" });
      }
      for (const source of step.mountSources ?? []) {
        if (source?.kind === "image") {
          add({ ref: source.ref, location: step.instruction.location, use: "mount-from" });
        }
      }
    }
  }
  return [...uses.values()];
}

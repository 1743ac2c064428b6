/**
 * The shapes of a build plan (types only): a stage's source, its steps, the
 * images the build needs. plan.ts makes them, plan_graph.ts orders them.
 */
import type { Instruction, SourceLocation } from "./instructions.ts";

/** Where a stage starts or a COPY/mount takes files from. */
export type StageSource =
  | { kind: "scratch" }
  | { kind: "stage"; index: number }
  | { kind: "image"; ref: string };

/** One step of a stage: an instruction, possibly an ONBUILD trigger, with its sources. */
export interface PlannedStep {
  instruction: Instruction;
  /** Set for an ONBUILD trigger: "image busybox" or "stage base". */
  trigger?: string;
  /** COPY --from: the resolved source. */
  from?: StageSource;
  /** RUN --mount: the source of each mount with from= (undefined: the context). */
  mountSources?: (StageSource | undefined)[];
}

/** A stage to build. */
export interface PlannedStage {
  /** Position in the file, 0-based (what `--from=N` counts). */
  index: number;
  /** The stage name in lower case, if it has one. */
  name?: string;
  location: SourceLocation;
  base: StageSource;
  /** FROM --platform, expanded. */
  platform?: string;
  steps: PlannedStep[];
  /** Indexes of the stages this one needs (base stage, --from, mount from). */
  dependsOn: number[];
}

/** An image the build needs, with the first place that uses it. */
export interface ImageUse {
  ref: string;
  location: SourceLocation;
  use: "base" | "copy-from" | "mount-from";
  platform?: string;
}

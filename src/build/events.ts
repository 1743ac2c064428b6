/**
 * What a build reports while it runs (pure): the events the build operation
 * (build_image.ts) sends to its reporter, and their text in the form of
 * buildah's and docker's classic builder, which the CLI prints and the
 * Docker API (`POST /build`) streams as `stream` messages.
 *
 *   [1/2] STEP 2/4: RUN make          one stage of several: [stage/stages]
 *   STEP 3/9: COPY . /app             a one-stage build
 *   <the step's output, as it comes>
 *   --> Using cache 3f2a...           the step's image came from the cache
 *   --> 3f2a9c0d1b2e                  the step's new image (12 hex digits)
 *   COMMIT app:1                      the final image is being tagged
 *   Successfully tagged app:1
 *   3f2a9c0d1b2e...                   the image ID (all `-q` prints)
 */

/** Where a step is: its stage among the stages built and its place in the stage. */
export interface StepPosition {
  /** 1-based stage number among the stages built, and how many are built. */
  stage: number;
  stages: number;
  /** 1-based step number in the stage (FROM is step 1), and the stage's step count. */
  step: number;
  steps: number;
}

/** One event of a build. */
export type BuildEvent =
  /** A step starts: its position and its instruction as written. */
  | { kind: "step"; position: StepPosition; text: string }
  /** Output of a RUN step, a line at a time (with its newline). */
  | { kind: "output"; stream: "stdout" | "stderr"; text: string }
  /** The step's image came from the build cache. */
  | { kind: "cached"; id: string }
  /** The step made a new image. */
  | { kind: "built"; id: string }
  /** Something the user should know (a warning, a note, an image being pulled). */
  | { kind: "note"; text: string }
  /** The final image is committed under these tags. */
  | { kind: "commit"; tags: string[] }
  /** The build is done: the image ID and its tags. */
  | { kind: "done"; id: string; tags: string[] };

/** Receives the events of a build, in order per stage (stages may interleave). */
export type BuildReporter = (event: BuildEvent) => void;

/** The short form of an image ID: 12 hex digits. */
export function shortImageId(id: string): string {
  return id.replace(/^sha256:/u, "").slice(0, 12);
}

/** The text of an event as buildah and docker's classic builder print it (with newlines). */
export function formatBuildEvent(event: BuildEvent): string {
  switch (event.kind) {
    case "step": {
      const { stage, stages, step, steps } = event.position;
      const prefix = stages > 1 ? `[${stage}/${stages}] ` : "";
      return `${prefix}STEP ${step}/${steps}: ${event.text}\n`;
    }
    case "output":
      return event.text;
    case "cached":
      return `--> Using cache ${event.id.replace(/^sha256:/u, "")}\n`;
    case "built":
      return `--> ${shortImageId(event.id)}\n`;
    case "note":
      return `${event.text}\n`;
    case "commit":
      return event.tags.length > 0 ? `COMMIT ${event.tags.join(", ")}\n` : "COMMIT\n";
    case "done":
      return [
        `--> ${shortImageId(event.id)}`,
        ...event.tags.map((tag) => `Successfully tagged ${tag}`),
        event.id.replace(/^sha256:/u, ""),
        "",
      ].join("\n");
  }
}

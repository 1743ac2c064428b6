/**
 * The history entry of each build step (pure): `created_by`, `created` and
 * `empty_layer`, in the form docker's classic builder and buildah write
 * (OCI image-spec config.md "history"):
 *
 * - RUN: `|N NAME=value ... <shell> <command>` — the ARGs the step saw
 *   (build_args.ts recordedRunArgs) prefixed as docker does, then the shell
 *   and the command (exec form: the words), then here-document bodies.
 *   Decision: the current SHELL is written, as docker does; buildah always
 *   writes `/bin/sh -c`.
 * - COPY/ADD: `/bin/sh -c #(nop) COPY file:<hex> in <dest> ` — the content
 *   summary (cache_key.ts contentSummary) as docker and buildah write it,
 *   ` --link` after the keyword when given.
 * - Metadata: `/bin/sh -c #(nop) <canonical instruction>` with values
 *   substituted (instruction_format.ts); `empty_layer: true`.
 * - `created` is given by the caller: the step's time, or the fixed time of
 *   `--timestamp`/SOURCE_DATE_EPOCH for reproducible images.
 */
import type { OciHistory } from "../oci/types.ts";
import { formatInstruction } from "./instruction_format.ts";
import { addsLayer, type Instruction } from "./instructions.ts";

/** What the history of one step is made from. */
export interface HistoryInput {
  /** The step's instruction with variables substituted. */
  instruction: Instruction;
  /** The SHELL in effect (RUN in shell form). */
  shell: readonly string[];
  /** RUN: the recorded `NAME=value` ARGs, sorted. */
  runArgs?: readonly string[];
  /** COPY/ADD: `file:<hex>`, `dir:<hex>` or `multi:<hex>`. */
  contentSummary?: string;
}

const NOP = "/bin/sh -c #(nop) ";

/** The `created_by` text of a step. */
export function createdBy(input: HistoryInput): string {
  const instruction = input.instruction;
  switch (instruction.kind) {
    case "RUN": {
      const args = input.runArgs ?? [];
      const prefix = args.length > 0 ? `|${args.length} ${args.join(" ")} ` : "";
      const command = instruction.command.form === "exec"
        ? instruction.command.args.join(" ")
        : `${input.shell.join(" ")} ${instruction.command.script}`;
      const bodies = instruction.heredocs.map((h) => `\n${h.content}${h.name}`).join("");
      return prefix + command + bodies;
    }
    case "COPY":
    case "ADD": {
      const what = input.contentSummary ??
        instruction.sources.map((s) => s.kind === "path" ? s.path : `<<${s.heredoc.name}`).join(
          " ",
        );
      return `${NOP}${instruction.kind}${
        instruction.link ? " --link" : ""
      } ${what} in ${instruction.dest} `;
    }
    default:
      return NOP + formatInstruction(instruction);
  }
}

/** The history entry of a step; `empty_layer` unless it is RUN, COPY or ADD. */
export function historyEntry(input: HistoryInput, created: string): OciHistory {
  const entry: OciHistory = { created, created_by: createdBy(input) };
  if (!addsLayer(input.instruction)) entry.empty_layer = true;
  return entry;
}

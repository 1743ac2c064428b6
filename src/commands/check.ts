/**
 * `tsnspawn check [-n] [--json]`: verifies the state tsnspawn keeps and
 * repairs what is provably safe to repair (src/check/: snapshot, analysis,
 * repair, and the passes in run.ts); this prints one line per finding, or
 * them all as JSON, and exits 1 when problems remain.
 *
 * Docker has no such command (its daemon cleans up at start); tsnspawn has no
 * daemon, so crashes of the CLI or of the host leave their traces until a
 * `check` (or the operation that trips over them). Garbage the image store
 * keeps until `image prune` is reported as a note.
 */
import { type CheckOptions, checkStore } from "../check/run.ts";
import { formatFinding } from "../check/analysis.ts";
import type { CommandContext } from "./context.ts";

export type { CheckOptions };

/** Runs `check`; returns the exit status (1 when problems remain). */
export async function checkCommand(ctx: CommandContext, options: CheckOptions): Promise<number> {
  const systemd = await ctx.systemd();
  const results = await checkStore(systemd, options);
  const remaining = results.filter((r) =>
    r.finding.severity === "problem" && r.outcome !== "repaired"
  );
  if (ctx.json) {
    ctx.print(JSON.stringify(
      {
        consistent: remaining.length === 0,
        findings: results.map((r) => ({ ...r.finding, outcome: r.outcome, error: r.error })),
      },
      null,
      2,
    ));
  } else {
    for (const r of results) {
      const line = r.outcome === "remains"
        ? formatFinding(r.finding)
        : formatFinding(r.finding, r.outcome);
      ctx.print(r.error ? `${line} (${r.error})` : line);
    }
    const repaired = results.filter((r) => r.outcome === "repaired").length;
    ctx.print(
      remaining.length === 0
        ? `consistent${repaired ? ` (${repaired} repaired)` : ""}`
        : `${remaining.length} problem(s) remain${repaired ? ` (${repaired} repaired)` : ""}`,
    );
  }
  return remaining.length === 0 ? 0 : 1;
}

/**
 * `tsnspawn auto-update [--dry-run] [--rollback=false] [--json]`: prints
 * what src/ops/auto_update.ts did, as podman auto-update's table (UNIT,
 * CONTAINER, IMAGE, POLICY, UPDATED). Exit status 1 when an update failed
 * (rolled back or not).
 */
import { formatTable } from "../format.ts";
import { autoUpdate } from "../ops/auto_update.ts";
import type { CommandContext } from "./context.ts";

/** `auto-update`. */
export async function autoUpdateCommand(
  ctx: CommandContext,
  options: { dryRun: boolean; rollback: boolean; json: boolean },
): Promise<number> {
  const reports = await autoUpdate(await ctx.systemd(), options);
  if (options.json) {
    ctx.print(JSON.stringify(reports, null, 2));
  } else {
    ctx.print(formatTable(
      ["UNIT", "CONTAINER", "IMAGE", "POLICY", "UPDATED"],
      reports.map((r) => [r.unit, r.container, r.image, r.policy, r.updated]),
    ));
    for (const r of reports.filter((r) => r.error)) {
      console.error(`tsnspawn: ${r.container}: ${r.error}`);
    }
  }
  return reports.some((r) => r.updated === "failed" || r.updated === "rolled back") ? 1 : 0;
}

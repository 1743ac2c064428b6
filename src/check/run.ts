/**
 * `tsnspawn check`, the passes: snapshot (snapshot.ts) → analyse
 * (analysis.ts, pure) → repair (repair.ts), repeated (at most 3 times)
 * while repairs made progress (a quarantined container frees its lease, for
 * example), then a final snapshot decides what remains.
 *
 * Repair is the default because every repair is safe by construction: it is
 * taken only when no live process holds the lock that guards the thing
 * (flock try-lock) and systemd says the container is not running, and it is
 * re-verified right before it is applied (repair.ts). `dryRun` only reports.
 * The image store's lock is held (try-locked) for each pass.
 */
import { storePaths } from "../image/store.ts";
import { tryLockPath } from "../staging.ts";
import { analyzeStore, type Finding, sortRepairs } from "./analysis.ts";
import type { Systemd } from "../systemd/bus.ts";
import { takeSnapshot } from "./snapshot.ts";
import { applyRepair } from "./repair.ts";

/** Options of {@link checkCommand}. */
export interface CheckOptions {
  /** -n: report only. */
  dryRun: boolean;
}

/** What one finding came to. */
export interface CheckResult {
  finding: Finding;
  outcome: "repaired" | "would repair" | "failed" | "remains";
  error?: string;
}

const MAX_PASSES = 3;

/**
 * Checks and (unless `dryRun`) repairs. Repaired findings are listed once
 * with outcome "repaired"; the findings of the final pass follow.
 */
export async function checkStore(systemd: Systemd, options: CheckOptions): Promise<CheckResult[]> {
  const done: CheckResult[] = [];
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const store = lockImageStore();
    try {
      const findings = analyzeStore(await takeSnapshot(systemd, store !== "busy"));
      const repairable = findings.filter((f) => f.repair);
      if (options.dryRun || repairable.length === 0) {
        return [
          ...done,
          ...findings.map((finding) => ({
            finding,
            outcome: finding.repair && options.dryRun
              ? "would repair" as const
              : "remains" as const,
          })),
        ];
      }
      let progress = false;
      for (const finding of sortRepairs(repairable)) {
        try {
          if (await applyRepair(systemd, finding.repair!)) {
            done.push({ finding, outcome: "repaired" });
            progress = true;
          }
        } catch (error) {
          done.push({
            finding,
            outcome: "failed",
            error: error instanceof Error ? error.message : String(error),
          });
        }
      }
      if (!progress) break;
    } finally {
      if (store && store !== "busy") store.close();
    }
  }
  const store = lockImageStore();
  try {
    const final = analyzeStore(await takeSnapshot(systemd, store !== "busy"));
    return [
      ...done.filter((r) => r.outcome === "repaired"),
      ...final.map((finding) => ({ finding, outcome: "remains" as const })),
    ];
  } finally {
    if (store && store !== "busy") store.close();
  }
}

/** The store lock, try-locked (null: no store yet). */
function lockImageStore(): Deno.FsFile | "busy" | null {
  return tryLockPath(storePaths().lock);
}

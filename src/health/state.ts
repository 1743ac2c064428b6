/**
 * A container's health state on disk, `<container dir>/health.json`
 * (plan.ts says what it means): read by list/status/inspect, written by
 * the health check runner (src/ops/healthcheck.ts) with temp file + rename.
 */
import { containerPaths } from "../paths.ts";
import { writeFileAtomic } from "../files.ts";
import type { HealthState } from "./plan.ts";

/** The stored state, or null when there is none (or it is unreadable). */
export function readHealthState(name: string): HealthState | null {
  try {
    const value = JSON.parse(Deno.readTextFileSync(containerPaths(name).health));
    return typeof value?.status === "string" && Array.isArray(value?.log)
      ? value as HealthState
      : null;
  } catch {
    return null;
  }
}

/** Stores the state (atomically). */
export function writeHealthState(name: string, state: HealthState): void {
  writeFileAtomic(containerPaths(name).health, JSON.stringify(state, null, 2) + "\n");
}

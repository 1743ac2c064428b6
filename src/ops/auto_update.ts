/**
 * `tsnspawn auto-update` (podman-auto-update(1)): for every running
 * declared container with the label `io.containers.autoupdate` (AutoUpdate=
 * in its file; src/auto_update/policy.ts),
 *
 * - `registry`: asks the image's registry for the manifest its reference
 *   names now; when that is not the one stored, pulls it;
 * - `local`: looks at the image the reference names in the local store;
 *
 * and when the container does not run that image, restarts its unit: the
 * unit's ExecStartPre= (`__prepare`) re-creates the container on the new
 * image. If the restart fails (the start job fails, or the unit is not
 * running a moment later), the reference is pointed back at the previous
 * image — kept in the store, untagged, since the pull (src/image/store.ts)
 * — and the unit restarted again: a rollback. `dryRun` only reports what
 * would be updated ("pending"). Prints nothing; returns one report per
 * container.
 */
import { unitName } from "../paths.ts";
import { containerPaths } from "../paths.ts";
import { listContainerNames, loadContainer } from "../container/state.ts";
import { type AutoUpdatePolicy, autoUpdatePolicy } from "../auto_update/policy.ts";
import type { Systemd } from "../systemd/bus.ts";
import { isRunning } from "../systemd/unit_state.ts";
import { describeError } from "../errors.ts";

/** What happened to one container (podman's UPDATED column). */
export interface AutoUpdateReport {
  unit: string;
  container: string;
  image: string;
  policy: AutoUpdatePolicy;
  /** true: updated; false: up to date; pending: would update (dry run); rolled back; failed. */
  updated: "true" | "false" | "pending" | "rolled back" | "failed";
  /** Why it failed or was rolled back. */
  error?: string;
}

/** Options of {@link autoUpdate}. */
export interface AutoUpdateOptions {
  dryRun?: boolean;
  /** Restart on the previous image when the update fails (default true). */
  rollback?: boolean;
  /** How long a restarted unit must stay running to count (default 1 s). */
  settleMs?: number;
}

/** A container auto-update looks at. */
interface Candidate {
  name: string;
  image: string;
  imageId: string;
  policy: AutoUpdatePolicy;
  platform?: string;
}

function candidates(): Candidate[] {
  const out: Candidate[] = [];
  for (const name of listContainerNames()) {
    let config;
    try {
      config = loadContainer(name);
    } catch {
      continue;
    }
    const policy = autoUpdatePolicy(config.labels);
    if (!policy || !config.image || !config.imageId) continue;
    out.push({ name, image: config.image, imageId: config.imageId, policy });
  }
  return out;
}

function isDeclaredContainer(name: string): boolean {
  try {
    Deno.statSync(containerPaths(name).declared);
    return true;
  } catch {
    return false;
  }
}

/** Restarts a unit; true when it ends up running (start job done, still running after `settleMs`). */
async function restartAndCheck(
  systemd: Systemd,
  unit: string,
  settleMs: number,
): Promise<string | null> {
  const result = await systemd.restartUnit(unit, true);
  if (result !== "done") return `the restart's job ended with "${result}"`;
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  const state = await systemd.unitState(unit);
  if (!state || state.activeState !== "active") {
    return `the unit is ${
      state ? `${state.activeState} (${state.subState})` : "gone"
    } after the restart`;
  }
  return null;
}

/** Runs an auto-update pass (see the module comment). */
export async function autoUpdate(
  systemd: Systemd,
  options: AutoUpdateOptions = {},
): Promise<AutoUpdateReport[]> {
  const { resolveImage, inspectImage, tagImage, taggedManifest } = await import(
    "../image/store.ts"
  );
  const { remoteManifestDigest, pullImage } = await import("../registry/pull.ts");
  const settleMs = options.settleMs ?? 1000;
  const reports: AutoUpdateReport[] = [];
  const pulled = new Map<string, string | Error>(); // reference → manifest digest now stored
  for (const c of candidates()) {
    const unit = unitName(c.name);
    const report: AutoUpdateReport = {
      unit,
      container: c.name,
      image: c.image,
      policy: c.policy,
      updated: "false",
    };
    reports.push(report);
    try {
      const state = await systemd.unitState(unit);
      if (!isRunning(state)) {
        reports.pop(); // podman updates running containers only
        continue;
      }
      if (!isDeclaredContainer(c.name)) {
        throw new Error(
          "not a declared container (its unit re-creates it from its .container file)",
        );
      }
      if (c.policy === "registry") {
        if (!pulled.has(c.image)) {
          try {
            const remote = await remoteManifestDigest(c.image);
            if (remote !== taggedManifest(c.image)) {
              if (options.dryRun) {
                report.updated = "pending";
                continue;
              }
              await pullImage(c.image);
            }
            pulled.set(c.image, remote);
          } catch (error) {
            pulled.set(c.image, error instanceof Error ? error : new Error(String(error)));
          }
        }
        const got = pulled.get(c.image);
        if (got instanceof Error) throw got;
      }
      const current = resolveImage(c.image);
      if (current.id === c.imageId) continue; // up to date
      if (options.dryRun) {
        report.updated = "pending";
        continue;
      }
      // The image the container runs now, to come back to.
      const previous = inspectImage(c.imageId);
      const failure = await restartAndCheck(systemd, unit, settleMs);
      if (failure === null) {
        report.updated = "true";
        continue;
      }
      report.error = failure;
      if (options.rollback === false) {
        report.updated = "failed";
        continue;
      }
      await tagImage(previous.id, current.reference ?? c.image);
      const again = await restartAndCheck(systemd, unit, settleMs);
      report.updated = again === null ? "rolled back" : "failed";
      if (again !== null) report.error = `${failure}; and on the previous image: ${again}`;
    } catch (error) {
      report.updated = "failed";
      report.error = describeError(error).split("\n")[0];
    }
  }
  return reports;
}

/**
 * `tsnspawn volume create|ls|inspect|rm|prune` (docker's and podman's
 * `volume` verbs): prints what src/ops/volume.ts returns.
 */
import { formatBytes, formatTable } from "../format.ts";
import {
  createVolume,
  inspectVolume,
  listVolumes,
  pruneVolumes,
  removeVolume,
  type VolumeFilters,
} from "../ops/volume.ts";
import type { CommandContext } from "./context.ts";

/** `volume create`: prints the name (a random one when none was given). */
export function createVolumeCommand(
  ctx: CommandContext,
  request: {
    name?: string;
    labels: Record<string, string>;
    options: Record<string, string>;
    ignore: boolean;
  },
): void {
  const info = createVolume({
    ...(request.name !== undefined ? { name: request.name } : {}),
    labels: request.labels,
    options: request.options,
    ifExists: request.ignore ? "reuse" : "error",
  });
  ctx.print(info.Name);
}

/** `volume ls`. */
export function listVolumesCommand(
  ctx: CommandContext,
  options: { quiet: boolean; json: boolean; filters: VolumeFilters },
): void {
  const rows = listVolumes(options.filters);
  if (options.quiet) {
    for (const row of rows) ctx.print(row.Name);
  } else if (options.json) {
    ctx.print(JSON.stringify(rows, null, 2));
  } else {
    ctx.print(formatTable(
      ["DRIVER", "VOLUME NAME", "USED BY"],
      rows.map((r) => [r.Driver, r.Name, r.UsedBy.join(", ") || "-"]),
    ));
  }
}

/** `volume inspect`. */
export function inspectVolumesCommand(ctx: CommandContext, names: string[]): void {
  const all = names.map(inspectVolume);
  ctx.print(JSON.stringify(names.length === 1 ? all[0] : all, null, 2));
}

/** `volume rm`: goes on after an error, prints each removed name (docker's way). */
export function removeVolumesCommand(ctx: CommandContext, names: string[], force: boolean): number {
  let status = 0;
  for (const name of names) {
    try {
      removeVolume(name, { force });
      ctx.print(name);
    } catch (error) {
      if (names.length === 1) throw error;
      console.error(`tsnspawn: error: ${error instanceof Error ? error.message : error}`);
      status = 1;
    }
  }
  return status;
}

/** `volume prune`. */
export function pruneVolumesCommand(
  ctx: CommandContext,
  options: { all: boolean; label: string[] },
): void {
  const result = pruneVolumes({
    all: options.all,
    ...(options.label.length ? { label: options.label } : {}),
  });
  if (result.removed.length > 0) {
    ctx.print("Deleted Volumes:");
    for (const name of result.removed) ctx.print(name);
    ctx.print("");
  }
  ctx.print(`Total reclaimed space: ${formatBytes(result.bytes)}`);
}

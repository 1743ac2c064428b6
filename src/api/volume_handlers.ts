/**
 * Volumes: list, inspect, create, delete, prune, on the operations of
 * `tsnspawn volume` (ops/volume.ts), with Docker's JSON and errors
 * (inspect_volume.ts): 404 "get NAME: no such volume", 409 while a
 * container uses the volume, 201 with the volume on create (the existing
 * one when the name is taken, as moby answers). Each change is an event.
 *
 * References: Docker Engine API v1.44 (Volume); research notes
 * /work/shared/research/docker-api.md §4 (compose: inspect, create; `down
 * -v` deletes).
 */
import { TsnspawnError } from "../errors.ts";
import {
  createVolume,
  inspectVolume,
  listVolumes,
  pruneVolumes,
  removeVolume,
  type VolumeInfo,
} from "../ops/volume.ts";
import type { ApiCall } from "./http.ts";
import type { ApiContext } from "./context.ts";
import { ApiError, noSuch } from "./errors.ts";
import { parseFilters } from "./filters.ts";
import { queryBool } from "./request.ts";
import { selectVolumes } from "./resource_filters.ts";
import {
  formatVolume,
  formatVolumePrune,
  planVolumeCreate,
  planVolumePrune,
} from "./inspect_volume.ts";
import { planVolumeEvent } from "./events.ts";
import { nanosOf } from "./docker_time.ts";

/** The volume `name` names; 404 in moby's words otherwise (an invalid name included). */
function findVolume(name: string): VolumeInfo {
  try {
    return inspectVolume(name);
  } catch (error) {
    if (
      error instanceof TsnspawnError && (error.code === "not-found" || error.code === "invalid")
    ) {
      throw noSuch("volume", name);
    }
    throw error;
  }
}

function volumeExists(name: string): boolean {
  try {
    inspectVolume(name);
    return true;
  } catch {
    return false;
  }
}

/** `GET /volumes?filters=`: `{"Volumes": [...], "Warnings": null}`. */
export function listVolumesCall(call: ApiCall): void {
  const filters = parseFilters(call.query.get("filters"));
  const selected = selectVolumes(
    listVolumes().map((v) => ({
      facts: v,
      name: v.Name,
      driver: v.Driver,
      labels: v.Labels,
      containers: v.UsedBy.length,
    })),
    filters,
  );
  call.sendJson(200, { Volumes: selected.map((v) => formatVolume(v.facts)), Warnings: null });
}

/** `GET /volumes/{name}`. */
export function inspectVolumeCall(call: ApiCall): void {
  call.sendJson(200, formatVolume(findVolume(call.params.name)));
}

/** `POST /volumes/create`: 201 with the volume (the existing one of that name, unchanged). */
export async function createVolumeCall(call: ApiCall, api: ApiContext): Promise<void> {
  const plan = planVolumeCreate(await call.json({ emptyIsObject: true }));
  const existed = plan.name !== undefined && volumeExists(plan.name);
  const volume = createVolume({ ...plan, ifExists: "reuse" });
  if (!existed) api.events.emit(planVolumeEvent("create", volume.Name, nanosOf(new Date())));
  call.sendJson(201, formatVolume(volume));
}

/** `DELETE /volumes/{name}?force=`: 204; 409 while in use; force: a missing one is no error. */
export function deleteVolumeCall(call: ApiCall, api: ApiContext): void {
  const name = call.params.name;
  const force = queryBool(call.query, "force");
  if (!force) findVolume(name);
  try {
    removeVolume(name, { force });
  } catch (error) {
    if (error instanceof TsnspawnError && error.code === "conflict") {
      const users = volumeExists(name) ? inspectVolume(name).UsedBy : [];
      throw new ApiError(409, `remove ${name}: volume is in use - [${users.join(", ")}]`, {
        hint: error.hint,
      });
    }
    if (force && error instanceof TsnspawnError && error.code === "invalid") {
      call.sendEmpty(204);
      return;
    }
    throw error;
  }
  api.events.emit(planVolumeEvent("destroy", name, nanosOf(new Date())));
  call.sendEmpty(204);
}

/** `POST /volumes/prune?filters=`: anonymous volumes no container uses (`all=true`: every one). */
export function pruneVolumesCall(call: ApiCall, api: ApiContext): void {
  const plan = planVolumePrune(parseFilters(call.query.get("filters")));
  const result = pruneVolumes(plan);
  const now = nanosOf(new Date());
  for (const name of result.removed) api.events.emit(planVolumeEvent("destroy", name, now));
  call.sendJson(200, formatVolumePrune(result.removed, result.bytes));
}

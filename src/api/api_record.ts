/**
 * What a container made through the API keeps beside its config.json
 * (`<container dir>/api.json`): the attach session of its create (which
 * streams `docker run` attaches, the console size before the first resize)
 * and the request as the client wrote it (Cmd and Entrypoint as given, the
 * image as named, exposed ports), which inspect echoes (inspect_container.ts
 * ApiCreateRecord). Everything that changes how the container runs is in
 * config.json, made by the same `create` as the CLI's; this file only tells
 * Docker clients what they asked. A container the CLI made has none. It
 * goes with the container's directory.
 */
import { join } from "../path_util.ts";
import { containerPaths } from "../paths.ts";
import { writeFileAtomic } from "../files.ts";
import type { ApiCreateRecord } from "./inspect_container.ts";

/** The record's path for container `name`. */
function recordPath(name: string): string {
  return join(containerPaths(name).dir, "api.json");
}

/** Writes the record of a container just created. */
export function writeApiRecord(name: string, record: ApiCreateRecord): void {
  writeFileAtomic(recordPath(name), JSON.stringify(record, null, 2) + "\n", 0o600);
}

/** The record of container `name`, or undefined (made by the CLI, or unreadable). */
export function readApiRecord(name: string): ApiCreateRecord | undefined {
  try {
    return JSON.parse(Deno.readTextFileSync(recordPath(name))) as ApiCreateRecord;
  } catch {
    return undefined;
  }
}

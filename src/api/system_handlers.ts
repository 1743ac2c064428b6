/**
 * `/_ping`, `/version`, `/info` and `/events`.
 *
 * References: Docker Engine API v1.44 (System); research notes
 * /work/shared/research/docker-api.md §1.1 (the ping), §2 (`docker
 * version`), §3.5 (events), §4 (compose reads `/version`'s ApiVersion and
 * `/info`'s Swarm and ServerVersion).
 */
import { formatPingResponse } from "./api_version.ts";
import type { ApiCall } from "./http.ts";
import type { ApiContext } from "./context.ts";
import { formatInfo, formatVersion } from "./inspect_system.ts";
import { VERSION } from "../version.ts";
import { containerUnit, listContainerNames } from "../container/state.ts";
import { listImages } from "../image/store.ts";
import { stateRoot } from "../paths.ts";
import { isRunning } from "../systemd/unit_state.ts";
import { parseFilters } from "./filters.ts";
import {
  type EventRecord,
  formatEventLine,
  inEventWindow,
  parseEventWindow,
  planEventFilter,
} from "./events.ts";
import { nanosOf } from "./docker_time.ts";

/** `GET|HEAD /_ping`. */
export function ping(call: ApiCall): void {
  const method = call.req.method === "HEAD" ? "HEAD" : "GET";
  const response = formatPingResponse(method, VERSION);
  call.res.writeHead(response.status, response.headers);
  call.res.end(method === "HEAD" ? undefined : response.body);
}

/** `GET /version`. */
export function version(call: ApiCall): void {
  call.sendJson(
    200,
    formatVersion({
      version: VERSION,
      gitCommit: "",
      buildTime: "",
      denoVersion: Deno.version.deno,
      kernelVersion: Deno.osRelease(),
      arch: Deno.build.arch,
    }),
  );
}

/** One field of /etc/os-release. */
function osRelease(key: string): string {
  try {
    const text = Deno.readTextFileSync("/etc/os-release");
    const match = new RegExp(`^${key}=(.*)$`, "m").exec(text);
    return (match?.[1] ?? "").replace(/^"(.*)"$/, "$1");
  } catch {
    return "";
  }
}

function readTrimmed(path: string): string {
  try {
    return Deno.readTextFileSync(path).trim();
  } catch {
    return "";
  }
}

/** `GET /info`. */
export async function info(call: ApiCall, api: ApiContext): Promise<void> {
  const systemd = await api.systemd();
  const names = listContainerNames();
  const states = await Promise.all(
    names.map((name) => systemd.unitState(containerUnit(name).unit)),
  );
  const running = states.filter(isRunning).length;
  let cgroupVersion = "1";
  try {
    Deno.statSync("/sys/fs/cgroup/cgroup.controllers");
    cgroupVersion = "2";
  } catch { /* v1 or hybrid */ }
  call.sendJson(
    200,
    formatInfo({
      id: readTrimmed("/etc/machine-id"),
      containers: { running, stopped: names.length - running },
      images: new Set(listImages().map((row) => row.id)).size,
      serverVersion: VERSION,
      rootDir: stateRoot(),
      kernelVersion: Deno.osRelease(),
      operatingSystem: osRelease("PRETTY_NAME"),
      osVersion: osRelease("VERSION_ID"),
      arch: Deno.build.arch,
      cpus: navigator.hardwareConcurrency,
      memoryBytes: Deno.systemMemoryInfo().total,
      name: Deno.hostname(),
      cgroupVersion,
      systemTime: new Date().toISOString(),
      warnings: [],
    }),
  );
}

/**
 * `GET /events`: the kept events of the window first (only when `since` is
 * given, as moby), then live ones until `until` or the client leaves. One
 * event per chunk.
 */
export async function events(call: ApiCall, api: ApiContext): Promise<void> {
  const filters = parseFilters(call.query.get("filters"));
  const matches = planEventFilter(filters);
  const window = parseEventWindow(call.query, new Date());
  const stream = call.stream(200, "application/json");
  const send = (record: EventRecord) => {
    if (matches(record) && inEventWindow(record, window)) stream.write(formatEventLine(record));
  };
  if (window.sinceNs !== undefined) { for (const record of api.events.recent()) send(record); }
  const nowNs = nanosOf(new Date());
  if (window.untilNs !== undefined && window.untilNs <= nowNs) {
    stream.end();
    return;
  }
  const unsubscribe = await api.events.subscribe(send);
  await new Promise<void>((resolve) => {
    call.closed.addEventListener("abort", () => resolve(), { once: true });
    if (window.untilNs !== undefined) {
      setTimeout(resolve, Number((window.untilNs - nowNs) / 1_000_000n));
    }
  });
  unsubscribe();
  stream.end();
}

/**
 * The cleanup: ExecStopPost= of a container unit (`tsnspawn __cleanup NAME`).
 *
 * 1. records how the container ended — systemd's $EXIT_CODE ("exited",
 *    "killed", "dumped"), $EXIT_STATUS, $SERVICE_RESULT — with a timestamp
 *    in state.json (temp file + rename),
 * 2. detaches any mount below the container's directory still visible in our
 *    mount namespace (defensive: the container's mounts live in its own
 *    namespace, which dies with its last process),
 * 3. bridge mode: removes the host end of the veth pair (it would go with
 *    the network namespace, but asynchronously) and the published-port
 *    elements pointing at the container (and at any other container that is
 *    no longer running: src/network/host_network.ts); the address lease
 *    stays (it survives restarts) unless the container is removed,
 * 4. with --rm (config.autoRemove) removes the container directory and its
 *    anonymous volumes, and releases its address lease.
 *
 * Idempotent: a container already gone, or a mount already gone, is fine.
 * Best-effort like systemd-nspawn's teardown: problems are reported on
 * stderr with ", ignoring" and the exit status is 0 unless recording failed.
 *
 * Man pages: systemd.exec(5) ("$EXIT_CODE, $EXIT_STATUS, $SERVICE_RESULT").
 */
import type { ContainerConfig } from "../container/config.ts";
import { containerPaths } from "../paths.ts";
import { type ExitRecord, removeContainerDir } from "../container/state.ts";
import { writeFileAtomic } from "../files.ts";
import { MNT_DETACH, umount2 } from "../../ffi/mount.ts";
import { detachContainerHost } from "../network/host_network.ts";
import { releaseLease } from "../network/network_store.ts";

/** Unescapes the octal escapes (\040 etc.) of a /proc/self/mountinfo path. */
export function unescapeMountPath(field: string): string {
  return field.replace(
    /\\([0-7]{3})/g,
    (_, octal: string) => String.fromCharCode(parseInt(octal, 8)),
  );
}

/** Mount points at or below `dir` in a mountinfo text, deepest first. */
export function mountsBelow(mountinfo: string, dir: string): string[] {
  const prefix = dir.endsWith("/") ? dir : dir + "/";
  const found: string[] = [];
  for (const line of mountinfo.split("\n")) {
    const fields = line.split(" ");
    if (fields.length < 5) continue;
    const point = unescapeMountPath(fields[4]);
    if (point === dir || point.startsWith(prefix)) found.push(point);
  }
  // Deepest first, and later mounts (stacked) before earlier ones.
  return found.map((p, i) => ({ p, i }))
    .sort((a, b) => b.p.split("/").length - a.p.split("/").length || b.i - a.i)
    .map(({ p }) => p);
}

/** The exit record from systemd's environment for ExecStopPost=. */
export function exitRecordFromEnv(
  env: (key: string) => string | undefined,
  now = new Date(),
): ExitRecord {
  return {
    exitCode: env("EXIT_CODE") ?? "",
    exitStatus: env("EXIT_STATUS") ?? "",
    serviceResult: env("SERVICE_RESULT") ?? "",
    finishedAt: now.toISOString(),
  };
}

/**
 * Restarting policies: how many automatic restarts preceded the run that
 * ended (systemd's NRestarts). With `on-failure:N`, systemd gives up at its
 * start limit and the transient unit is garbage-collected, so this record
 * is what `status`/`list -a` explain the stop with (src/commands/list.ts).
 * `restarts` is asked only when it matters (it costs a `systemctl show`).
 */
export function planRestartRecord(
  config: Pick<ContainerConfig, "restart">,
  record: ExitRecord,
  restarts: () => number | null,
): Pick<ExitRecord, "restarts"> {
  const policy = config.restart?.policy ?? "no";
  if (policy === "no" || record.serviceResult === "success" || record.serviceResult === "") {
    return {};
  }
  const n = restarts();
  return n === null ? {} : { restarts: n };
}

/** systemd's NRestarts of the container's unit (null when unknown). */
function unitRestarts(name: string): number | null {
  try {
    const out = new Deno.Command("systemctl", {
      args: ["show", "-p", "NRestarts", "--value", `tsnspawn-${name}.service`],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    const n = Number(new TextDecoder().decode(out.stdout).trim());
    return out.success && Number.isInteger(n) ? n : null;
  } catch {
    return null;
  }
}

/** Entry of `__cleanup NAME`. Resolves to the exit status (0, or 1 if the exit could not be recorded). */
export async function runCleanup(name: string): Promise<number> {
  const paths = containerPaths(name);
  let config: ContainerConfig | null = null;
  try {
    config = JSON.parse(Deno.readTextFileSync(paths.config)) as ContainerConfig;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return 0; // already removed
    console.error(`cleanup ${name}: cannot read config.json: ${error}, ignoring`);
  }

  let status = 0;
  try {
    const record = exitRecordFromEnv((k) => Deno.env.get(k));
    if (config) Object.assign(record, planRestartRecord(config, record, () => unitRestarts(name)));
    writeFileAtomic(paths.state, JSON.stringify(record, null, 2) + "\n");
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      console.error(`cleanup ${name}: cannot record the exit in ${paths.state}: ${error}`);
      status = 1;
    }
  }

  try {
    for (const point of mountsBelow(Deno.readTextFileSync("/proc/self/mountinfo"), paths.dir)) {
      try {
        umount2(point, MNT_DETACH);
      } catch (error) {
        console.error(
          `cleanup ${name}: ${error instanceof Error ? error.message : error}, ignoring`,
        );
      }
    }
  } catch (error) {
    console.error(`cleanup ${name}: cannot read mountinfo: ${error}, ignoring`);
  }

  for (const pipe of [paths.startPipe, paths.setupPipe]) {
    try {
      Deno.removeSync(pipe);
    } catch {
      // gone already
    }
  }

  if (config?.network === "bridge") {
    try {
      for (const problem of detachContainerHost(config)) {
        console.error(`cleanup ${name}: ${problem}, ignoring`);
      }
    } catch (error) {
      console.error(
        `cleanup ${name}: network: ${error instanceof Error ? error.message : error}, ignoring`,
      );
    }
  }

  if (config?.autoRemove) {
    try {
      removeContainerDir(name);
      if (config.bridge) releaseLease(config.bridge.network, config.id);
      // Its anonymous volumes go with it (docker's --rm); loaded only then.
      if (config.volumes.some((v) => v.anonymous)) {
        (await import("../ops/volume.ts")).removeAnonymousVolumes(config.volumes);
      }
    } catch (error) {
      console.error(`cleanup ${name}: cannot remove the container: ${error}, ignoring`);
    }
  }
  return status;
}

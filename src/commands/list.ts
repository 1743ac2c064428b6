/**
 * `tsnspawn list`/`ps [-a] [--filter label=KEY[=VALUE]|name=TEXT]`: one row
 * per container with its systemd state (and its health: `running
 * (healthy)`, as docker shows it). NAME, IMAGE, STATE, PID, UPTIME,
 * MEMORY, ADDRESS (or the network mode), PORTS — or `--json`.
 */
import {
  containerUnit,
  type ExitRecord,
  listContainerNames,
  loadContainer,
  loadExitRecord,
} from "../container/state.ts";
import type { UnitState } from "../systemd/bus.ts";
import type { CommandContext } from "./context.ts";
import { isRunning } from "../systemd/unit_state.ts";
import { formatBytes, formatDuration, formatTable } from "../format.ts";
import { formatPublished } from "../network/published_ports.ts";
import { matchesLabels } from "../labels.ts";
import { currentStatus, type HealthStatus } from "../health/plan.ts";
import { readHealthState } from "../health/state.ts";

/** One row of the listing. */
export interface ContainerSummary {
  name: string;
  id: string;
  image: string;
  state: string;
  pid: number | null;
  startedAt: string | null;
  uptimeSec: number | null;
  memoryBytes: number | null;
  command: string[];
  /** Network: "none", "host", or the bridge network's name. */
  network: string;
  /** The container's address on its bridge network, or null. */
  address: string | null;
  /** Published ports as `0.0.0.0:8080->80/tcp`. */
  ports: string[];
  labels: Record<string, string>;
  /** A running container's health, when it has a health check. */
  health: HealthStatus | null;
}

/** `list --filter`: labels (all must match) and name parts (any). */
export interface ContainerFilters {
  label: string[];
  name: string[];
}

/** A running container's health status, or null without a health check. */
export function healthOf(
  name: string,
  hasCheck: boolean,
  state: UnitState | null,
): HealthStatus | null {
  if (!hasCheck || !state || !isRunning(state)) return null;
  return currentStatus(readHealthState(name), state.invocationId);
}

/** Describes the state of a container for humans: "running", "exited (1)". */
export function describeState(state: UnitState | null, name: string): string {
  if (state && isRunning(state)) {
    return state.subState === "running" ? "running" : `${state.activeState} (${state.subState})`;
  }
  const exit = loadExitRecord(name);
  if (!exit) return "created";
  if (gaveUpRestarting(name, exit)) {
    return `failed (start limit hit after ${
      exit.restarts ?? "?"
    } restarts, last ${exit.exitCode} ${exit.exitStatus})`;
  }
  if (exit.exitCode === "exited") return `exited (${exit.exitStatus})`;
  return `${exit.exitCode} (${exit.exitStatus})`;
}

/**
 * A stopped `on-failure:N` container whose last run failed: systemd would
 * have restarted it, so it stopped at the start limit (the transient unit,
 * failed with "start-limit-hit", was garbage-collected; see
 * src/systemd/unit_properties.ts and the cleanup's record).
 */
function gaveUpRestarting(name: string, exit: ExitRecord): boolean {
  if (exit.serviceResult === "success" || exit.serviceResult === "") return false;
  try {
    const { policy, maxRetries } = loadContainer(name).restart;
    return policy === "on-failure" && maxRetries > 0;
  } catch {
    return false;
  }
}

/** Collects the summaries of all (or only running) containers. */
export async function summarizeContainers(
  ctx: CommandContext,
  all: boolean,
  filters: ContainerFilters = { label: [], name: [] },
): Promise<ContainerSummary[]> {
  const systemd = await ctx.systemd();
  const names = listContainerNames();
  const units = names.map((name) => containerUnit(name));
  const states = await Promise.all(units.map(({ unit }) => systemd.unitState(unit)));
  const rows: ContainerSummary[] = [];
  const nowUsec = BigInt(Date.now()) * 1000n;
  names.forEach((name, i) => {
    const state = states[i];
    let config;
    try {
      config = loadContainer(name);
    } catch {
      return; // removed while listing
    }
    const running = isRunning(state);
    if (!all && !running) return;
    if (!matchesLabels(config.labels ?? {}, filters.label)) return;
    if (filters.name.length > 0 && !filters.name.some((part) => name.includes(part))) return;
    const health = healthOf(name, config.healthcheck !== undefined, state);
    const since = running && state!.activeEnterTimestamp > 0n ? state!.activeEnterTimestamp : null;
    rows.push({
      name,
      id: config.id,
      image: config.image ?? config.lowerDirs[0],
      state: describeState(state, name) + (health ? ` (${health})` : ""),
      pid: running ? (state!.mainPid || units[i].leader || null) : null,
      startedAt: since ? new Date(Number(since / 1000n)).toISOString() : null,
      uptimeSec: since ? Number((nowUsec - since) / 1000000n) : null,
      memoryBytes: running && state!.memoryCurrent !== null ? Number(state!.memoryCurrent) : null,
      command: config.command,
      network: config.bridge?.network ?? config.network,
      address: config.bridge?.address || null,
      ports: (config.publish ?? []).map(formatPublished),
      labels: config.labels ?? {},
      health,
    });
  });
  return rows;
}

/** Prints the listing. */
export async function listContainers(
  ctx: CommandContext,
  all: boolean,
  filters?: ContainerFilters,
): Promise<void> {
  const rows = await summarizeContainers(ctx, all, filters);
  if (ctx.json) {
    ctx.print(JSON.stringify(rows, null, 2));
    return;
  }
  ctx.print(formatTable(
    ["NAME", "IMAGE", "STATE", "PID", "UPTIME", "MEMORY", "ADDRESS", "PORTS"],
    rows.map((r) => [
      r.name,
      r.image,
      r.state,
      r.pid === null ? "-" : String(r.pid),
      r.uptimeSec === null ? "-" : formatDuration(r.uptimeSec),
      r.memoryBytes === null ? "-" : formatBytes(r.memoryBytes),
      r.address ?? r.network,
      r.ports.length ? r.ports.join(", ") : "-",
    ]),
  ));
}

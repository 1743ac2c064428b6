/**
 * `tsnspawn status` (like `systemctl status`: unit, state, main PID, limits
 * and usage, last log lines) and `tsnspawn inspect` (the whole configuration
 * and state as JSON).
 */
import { containerUnit, loadContainer, loadExitRecord } from "../container/state.ts";
import { readMessages } from "../systemd/journal.ts";
import { formatBytes } from "../format.ts";
import type { CommandContext } from "./context.ts";
import { describeState } from "./list.ts";
import { formatPublished } from "../network/published_ports.ts";
import { isRunning } from "../systemd/unit_state.ts";
import { healthOf } from "./list.ts";
import { readHealthState } from "../health/state.ts";

/** Everything known about a container, as `inspect` prints it. */
export async function inspectContainer(ctx: CommandContext, name: string) {
  const config = loadContainer(name);
  const { unit, leader } = containerUnit(name);
  const systemd = await ctx.systemd();
  const state = await systemd.unitState(unit);
  const running = isRunning(state);
  const health = healthOf(name, config.healthcheck !== undefined, state);
  const healthState = readHealthState(name);
  return {
    Id: config.id,
    Name: config.name,
    Created: config.created,
    Image: config.image,
    ImageId: config.imageId,
    Unit: unit,
    State: {
      Status: describeState(state, name),
      Running: running,
      Pid: running ? (state!.mainPid || leader || 0) : 0,
      StartedAt: running && state!.activeEnterTimestamp > 0n
        ? new Date(Number(state!.activeEnterTimestamp / 1000n)).toISOString()
        : null,
      Restarts: state?.nRestarts ?? 0,
      MemoryCurrent: running && state!.memoryCurrent !== null ? Number(state!.memoryCurrent) : null,
      TasksCurrent: running && state!.tasksCurrent !== null ? Number(state!.tasksCurrent) : null,
      CPUUsageNSec: running && state!.cpuUsageNSec !== null ? Number(state!.cpuUsageNSec) : null,
      ControlGroup: running ? state!.controlGroup : null,
      LastExit: loadExitRecord(name),
      // docker's State.Health: this run's status, failing streak and last results.
      Health: config.healthcheck
        ? {
          Status: health ?? "none",
          FailingStreak: health && healthState?.invocation === state?.invocationId
            ? healthState!.failingStreak
            : 0,
          Log: healthState?.log ?? [],
        }
        : null,
    },
    Labels: config.labels ?? {},
    Annotations: config.annotations ?? {},
    Network: {
      Mode: config.network,
      Name: config.bridge?.network ?? null,
      Address: config.bridge?.address || null,
      Ports: (config.publish ?? []).map(formatPublished),
    },
    Config: config,
  };
}

/** Prints `inspect`. */
export async function printInspect(ctx: CommandContext, names: string[]): Promise<void> {
  const all = [];
  for (const name of names) all.push(await inspectContainer(ctx, name));
  ctx.print(JSON.stringify(names.length === 1 ? all[0] : all, null, 2));
}

/** Prints `status` like systemctl does, with the last `lines` log lines. */
export async function printStatus(ctx: CommandContext, name: string, lines = 10): Promise<void> {
  const info = await inspectContainer(ctx, name);
  const logs = lines > 0 ? await readMessages(`TSNSPAWN_CONTAINER=${name}`, lines) : [];
  if (ctx.json) {
    ctx.print(JSON.stringify({ ...info, Logs: logs }, null, 2));
    return;
  }
  const c = info.Config;
  const s = info.State;
  const limit = (value: number | undefined, show: (n: number) => string) =>
    value === undefined ? "" : ` (max: ${show(value)})`;
  const out = [
    `${s.Running ? "●" : "○"} ${name} - tsnspawn container ${c.image ?? c.lowerDirs[0]}`,
    `     Unit: ${info.Unit}`,
    `    State: ${s.Status}${s.StartedAt ? ` since ${s.StartedAt}` : ""}`,
  ];
  if (s.Running) out.push(` Main PID: ${s.Pid} (${c.command[0]})`);
  out.push(`  Command: ${c.command.join(" ")}`);
  const n = info.Network;
  out.push(
    `  Network: ${n.Name ? `${n.Name} ${n.Address}` : n.Mode}${
      n.Ports.length ? ` (ports ${n.Ports.join(", ")})` : ""
    }`,
  );
  if (c.imageId) out.push(`    Image: ${c.imageId}`);
  if (s.Running) {
    out.push(
      `   Memory: ${s.MemoryCurrent === null ? "-" : formatBytes(s.MemoryCurrent)}${
        limit(c.resources.memoryMax, formatBytes)
      }`,
    );
    out.push(`    Tasks: ${s.TasksCurrent ?? "-"}${limit(c.resources.tasksMax, String)}`);
    const cpu = s.CPUUsageNSec === null ? "-" : `${Math.round(s.CPUUsageNSec / 1e6)}ms`;
    out.push(`      CPU: ${cpu}${limit(c.resources.cpuQuotaPerSecUSec, (q) => `${q / 1e4}%`)}`);
    out.push(`   CGroup: ${s.ControlGroup}`);
  }
  out.push(` Restarts: ${s.Restarts} (policy: ${c.restart.policy})`);
  if (s.Health) {
    const last = s.Health.Log.at(-1);
    out.push(
      `   Health: ${s.Health.Status}${
        s.Health.FailingStreak ? ` (${s.Health.FailingStreak} failing)` : ""
      }${last ? `, last check ${last.end}: exit ${last.exitCode}` : ""}`,
    );
    for (const result of s.Health.Log.slice(-3)) {
      const output = result.output.trim().split("\n").at(-1) ?? "";
      out.push(
        `           ${result.end} exit ${result.exitCode}${
          output ? `: ${output.slice(0, 100)}` : ""
        }`,
      );
    }
  }
  if (Object.keys(info.Labels).length) {
    out.push(`   Labels: ${Object.entries(info.Labels).map(([k, v]) => `${k}=${v}`).join(" ")}`);
  }
  if (logs.length) out.push("", ...logs);
  ctx.print(out.join("\n"));
}

/**
 * bench/profile_report.ts — the timeline of `tsnspawn run --rm ... /bin/true`
 * from the CLI's exec to its exit, from three sources (bench/profile_start.sh
 * collects them):
 *
 *   run-N.trace    the processes' own marks (src/trace.ts, $TSNSPAWN_TRACE):
 *                  "EPOCH_MS PID MODE EVENT", plus the shell's `cli-spawn`
 *                  and `cli-exited` around the CLI
 *   run-N.journal  systemd's messages about the unit (journalctl -o json)
 *   perf.txt       `perf script -F comm,pid,tid,time,event,trace` of
 *                  sched:sched_process_{fork,exec,exit} for the
 *                  whole session (CLOCK_MONOTONIC), with perf.offset: the
 *                  wall clock minus the monotonic clock, in ms
 *
 *   profile_report.ts DIR [--markdown FILE] [--show KEY,KEY,...]
 *
 * The kernel's events name the processes nobody else marks: systemd's fork
 * of the shim, the execve of the container's command and its exit,
 * ExecStop='s `sh`, ExecStopPost='s `rm`, machined's registration, the
 * CLI's `journalctl`s. Every mark gets its offset from `cli-spawn` in each
 * run; the table lists the marks by median offset with the median of the
 * per-run step from the mark before (so the steps add up, about, to the
 * total), then min and max of that step. Marks of processes that work in
 * parallel (the shim's root file system while stage two boots, the CLI
 * waiting) are listed where they happen; the `track` column tells them apart.
 * `--show` prints, per run, the offsets of the given marks (`track:event`
 * keys as in the table's sources, e.g. `__stage2:notify,systemd:Started`).
 *
 * @module
 */

interface Mark {
  key: string;
  at: number;
}

/** What each mark means, in the timeline's words (unknown marks print as their key). */
const MEANING: Record<string, string> = {
  "bash:cli-spawn": "the shell forks and execs the CLI",
  "kernel:cli-exec": "execve of the CLI (deno)",
  "cli:boot": "Deno runtime up (performance.timeOrigin)",
  "cli:entry": "mod.ts runs",
  "cli:loaded": "CLI modules imported (cli/main.ts)",
  "cli:parsed": "argv parsed",
  "cli:dbus-import": "D-Bus client import starts (overlaps create)",
  "cli:dbus-imported": "D-Bus client imported (dbus-next)",
  "cli:dbus-connected": "bus socket connected, handshake sent",
  "cli:created": "container created (plan, config.json written)",
  "cli:dbus-ready": "handshake, AddMatch, Subscribe answered",
  "cli:call StartTransientUnit": "StartTransientUnit sent",
  "systemd:Starting": "systemd: job runs ('Starting …')",
  "kernel:shim-fork": "systemd forks the shim",
  "kernel:shim-exec": "execve of the shim (deno)",
  "cli:reply StartTransientUnit": "StartTransientUnit answered (job queued)",
  "kernel:journalctl-exec": "CLI's journalctl follower starts",
  "__shim:boot": "shim: Deno runtime up",
  "__shim:entry": "shim: mod.ts runs",
  "__shim:loaded": "shim: runtime modules imported",
  "__shim:unshared": "shim: config, fifos, namespaces unshared",
  "kernel:stage2-fork": "shim (or the CLI) forks stage two",
  "__shim:spawned": "shim: stage two spawned (read-only runtime bind)",
  "kernel:stage2-exec": "execve of stage two (deno)",
  "__shim:rootfs": "shim: root file system, hostname, loopback",
  "__shim:setup-ready": "shim: 'ready' on the setup pipe",
  "__stage2:boot": "stage two: Deno runtime up",
  "__stage2:entry": "stage two: mod.ts runs",
  "__stage2:loaded": "stage two: runtime modules imported",
  "__stage2:prepared": "stage two: pipes, notify socket, cgroup files, mount plan",
  "__stage2:setup-ready": "stage two: setup pipe says ready",
  "__stage2:pivoted": "stage two: /proc, pivot_root, masked paths",
  "__shim:seccomp": "shim: seccomp program compiled for stage two",
  // marks of earlier versions (BENCH_PROFILE_CHECKOUT)
  "__stage2:seccomp": "stage two: seccomp program compiled",
  "__stage2:notified": "stage two: cgroups joined, MAINPID= READY=1 sent",
  "__stage2:command": "stage two: command found, working directory entered",
  "__stage2:notify": "stage two: cgroups joined; MAINPID= READY=1 and a barrier sent",
  "systemd:Started": "systemd: READY=1 handled ('Started …')",
  "__stage2:barrier": "stage two: sd_notify barrier returned",
  "cli:stage2-spawned": "CLI: namespaces unshared, stage two spawned",
  "cli:rootfs": "CLI: root file system, hostname, loopback",
  "cli:scope-started": "CLI: the scope runs (JobRemoved); 'ready' to stage two",
  "cli:exited": "CLI: stage two (the command) reaped",
  "cli:removed": "CLI: output relayed, container removed",
  "__stage2:execve": "stage two: privileges dropped, fds closed; execve",
  "kernel:command-exec": "execve of the command (/bin/true)",
  "cli:job-removed": "CLI: start job done (JobRemoved)",
  "kernel:machine-fork": "systemd forks machined's registration (sh)",
  "__shim:start-pipe": "shim: start pipe EOF (execve done)",
  "__shim:exit 0": "shim: _exit",
  "kernel:shim-exit": "shim gone",
  "kernel:command-exit": "the command exits",
  "kernel:stop-fork": "systemd forks ExecStop= (sh guard)",
  "kernel:stop-exec": "ExecStop= (sh guard) runs",
  "kernel:stop-exit": "ExecStop= done",
  "kernel:rm-fork": "systemd forks ExecStopPost= (rm -rf)",
  "kernel:rm-exec": "ExecStopPost= (rm -rf) runs",
  "kernel:rm-exit": "ExecStopPost= done",
  "kernel:cleanup-exec": "ExecStopPost= (tsnspawn __cleanup) runs",
  "systemd:Deactivated": "systemd: unit inactive ('Deactivated')",
  "cli:unit-inactive": "CLI: sees the unit inactive (PropertiesChanged)",
  "cli:exit-status": "CLI: exit status read, output drained",
  "cli:exit 0": "CLI: Deno.exit",
  "kernel:cli-exit": "CLI process gone",
  "bash:cli-exited": "the shell has the CLI's exit status",
};

/** A process seen by the kernel's tracepoints (keyed by its global PID). */
interface Proc {
  pid: number;
  parentComm?: string;
  fork?: number;
  execs: { at: number; file: string }[];
  exit?: number;
  children: number[];
}

/**
 * Parses `perf script -F comm,pid,tid,time,event,trace` into processes (times
 * in wall-clock ms). The tracepoints' own fields carry global PIDs, the
 * sample's `pid/tid` the PIDs of perf's PID namespace: exec events tie the
 * two, so that forks and exits (reported by any thread) find their process.
 */
function parsePerf(text: string, offsetMs: number): Map<number, Proc> {
  const procs = new Map<number, Proc>();
  const global = new Map<number, number>(); // perf's PID namespace -> global
  const get = (pid: number) => {
    let p = procs.get(pid);
    if (!p) procs.set(pid, p = { pid, execs: [], children: [] });
    return p;
  };
  for (const line of text.split("\n")) {
    const m = line.match(/^\s*(.+?)\s+(\d+)\/\d+\s+(\d+\.\d+):\s+sched:(\w+):\s+(.*)$/);
    if (!m) continue;
    const [, comm, tgid, time, event, fields] = m;
    // perf records the whole machine; a process outside its PID namespace (the
    // test host's: other work on the machine) has no PID there, and shows as 0.
    if (tgid === "0") continue;
    const at = Number(time) * 1000 + offsetMs;
    const f = Object.fromEntries([...fields.matchAll(/(\w+)=(\S+)/g)].map((x) => [x[1], x[2]]));
    switch (event) {
      case "sched_process_exec":
        global.set(Number(tgid), Number(f.pid));
        get(Number(f.pid)).execs.push({ at, file: f.filename });
        break;
      case "sched_process_fork": {
        const child = get(Number(f.child_pid));
        child.fork = at;
        child.parentComm = comm;
        const parent = global.get(Number(tgid));
        if (parent !== undefined) get(parent).children.push(child.pid);
        break;
      }
      case "sched_process_exit": {
        const pid = global.get(Number(tgid));
        if (f.group_dead === "true" && pid !== undefined) get(pid).exit = at;
        break;
      }
    }
  }
  return procs;
}

/** The kernel's marks of one run, within [from, to]. */
function kernelMarks(procs: Map<number, Proc>, from: number, to: number): Mark[] {
  const marks: Mark[] = [];
  const add = (key: string, at: number | undefined) => {
    if (at !== undefined && at >= from && at <= to + 50) marks.push({ key, at });
  };
  const inRun = [...procs.values()].filter((p) => p.execs.some((e) => e.at >= from && e.at <= to));
  const execOf = (p: Proc, re: RegExp) => p.execs.find((e) => re.test(e.file));
  const byExec = (re: RegExp) =>
    inRun.filter((p) => execOf(p, re)).sort((a, b) => execOf(a, re)!.at - execOf(b, re)!.at);
  const denos = byExec(/\/deno$/);
  const cli = denos[0];
  if (cli) {
    add("kernel:cli-exec", execOf(cli, /\/deno$/)!.at);
    add("kernel:cli-exit", cli.exit);
  }
  // Stage two: the Deno process that execs the container's command; its
  // parent is the shim (a service) or the CLI (an attached --rm run's scope).
  const stage2 = denos.find((p) => p.execs.some((e) => !/\/deno$/.test(e.file)));
  const shim = denos.find((p) => p !== cli && stage2 && p.children.includes(stage2.pid));
  if (shim) {
    add("kernel:shim-fork", shim.fork);
    add("kernel:shim-exec", execOf(shim, /\/deno$/)!.at);
    add("kernel:shim-exit", shim.exit);
  }
  if (stage2) {
    add("kernel:stage2-fork", stage2.fork);
    add("kernel:stage2-exec", execOf(stage2, /\/deno$/)!.at);
    const command = stage2.execs.find((e) => !/\/deno$/.test(e.file));
    add("kernel:command-exec", command?.at);
    add("kernel:command-exit", stage2.exit);
  }
  const systemdChildren = inRun.filter((p) => p.parentComm === "systemd");
  // machined's registration: systemd's sh that runs systemctl/busctl
  const machine = systemdChildren.find((p) =>
    execOf(p, /\/sh$/) && p.children.some((c) => procs.get(c)?.execs.length)
  );
  add("kernel:machine-fork", machine?.fork);
  const stop = systemdChildren.find((p) => p !== machine && execOf(p, /\/sh$/));
  add("kernel:stop-fork", stop?.fork);
  add("kernel:stop-exec", stop && execOf(stop, /\/sh$/)!.at);
  add("kernel:stop-exit", stop?.exit);
  const rm = systemdChildren.find((p) => execOf(p, /\/rm$/));
  add("kernel:rm-fork", rm?.fork);
  add("kernel:rm-exec", rm && execOf(rm, /\/rm$/)!.at);
  add("kernel:rm-exit", rm?.exit);
  const cleanup = denos.find((p) => p !== shim && p !== cli && p.parentComm === "systemd");
  if (cleanup) add("kernel:cleanup-exec", execOf(cleanup, /\/deno$/)!.at);
  const journalctl = byExec(/journalctl$/)[0];
  if (journalctl) add("kernel:journalctl-exec", execOf(journalctl, /journalctl$/)!.at);
  return marks;
}

/** The process marks of a trace file, first occurrence of each MODE:EVENT. */
function traceMarks(text: string): Mark[] {
  const marks: Mark[] = [];
  const seen = new Set<string>();
  for (const line of text.split("\n")) {
    const m = line.match(/^(\S+) (\d+) (\S+) (.*)$/);
    if (!m) continue;
    const key = `${m[3]}:${m[4]}`;
    if (seen.has(key)) continue;
    seen.add(key);
    marks.push({ key, at: Number(m[1]) });
  }
  return marks;
}

/** systemd's messages about the unit. */
function journalMarks(text: string): Mark[] {
  const marks: Mark[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const e = JSON.parse(line);
    const msg: string = typeof e.MESSAGE === "string" ? e.MESSAGE : "";
    const at = Number(e._SOURCE_REALTIME_TIMESTAMP ?? e.__REALTIME_TIMESTAMP) / 1000;
    const event = msg.startsWith("Starting ")
      ? "Starting"
      : msg.startsWith("Started ")
      ? "Started"
      : msg.includes("Deactivated successfully")
      ? "Deactivated"
      : msg.includes("Failed with result")
      ? "Failed"
      : "";
    if (event && !marks.some((m) => m.key === `systemd:${event}`)) {
      marks.push({ key: `systemd:${event}`, at });
    }
  }
  return marks;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function main(args: string[]): void {
  const dir = args[0] ?? "/bench/prof";
  const mdIndex = args.indexOf("--markdown");
  const markdownFile = mdIndex > 0 ? args[mdIndex + 1] : undefined;
  let procs = new Map<number, Proc>();
  try {
    const offset = Number(Deno.readTextFileSync(`${dir}/perf.offset`).trim());
    procs = parsePerf(Deno.readTextFileSync(`${dir}/perf.txt`), offset);
  } catch {
    console.log("(no kernel events: perf was not available)");
  }
  const runs: Map<string, number>[] = [];
  for (let i = 1;; i++) {
    let trace: string, journal: string;
    try {
      trace = Deno.readTextFileSync(`${dir}/run-${i}.trace`);
      journal = Deno.readTextFileSync(`${dir}/run-${i}.journal`);
    } catch {
      break;
    }
    const marks = [...traceMarks(trace), ...journalMarks(journal)];
    const spawn = marks.find((m) => m.key === "bash:cli-spawn")!;
    const exited = marks.find((m) => m.key === "bash:cli-exited")!;
    marks.push(...kernelMarks(procs, spawn.at, exited.at));
    runs.push(new Map(marks.map((m) => [m.key, m.at - spawn.at])));
  }
  if (runs.length === 0) throw new Error(`no runs in ${dir}`);

  // Marks seen in most runs, in order of their median offset.
  const keys = [...new Set(runs.flatMap((r) => [...r.keys()]))]
    .filter((k) => runs.filter((r) => r.has(k)).length >= runs.length / 2)
    .map((k) => ({ k, at: median(runs.filter((r) => r.has(k)).map((r) => r.get(k)!)) }))
    .sort((a, b) => a.at - b.at)
    .map(({ k }) => k);
  const rows = keys.map((key, i) => {
    const offsets = runs.filter((r) => r.has(key)).map((r) => r.get(key)!);
    const prev = keys[i - 1];
    const steps = prev === undefined
      ? offsets
      : runs.filter((r) => r.has(key) && r.has(prev)).map((r) => r.get(key)! - r.get(prev)!);
    const [track, ...rest] = key.split(":");
    return {
      track: track.replace(/^__/, ""),
      what: MEANING[key] ?? rest.join(":"),
      at: median(offsets),
      step: median(steps),
      min: Math.min(...steps),
      max: Math.max(...steps),
    };
  });
  const totals = runs.map((r) => r.get("bash:cli-exited")!);
  const f = (x: number) => x.toFixed(1);
  console.log(
    `timeline of ${runs.length} runs: CLI spawn -> CLI exited, median ${f(median(totals))} ms ` +
      `(min ${f(Math.min(...totals))}, max ${f(Math.max(...totals))})`,
  );
  const w = Math.max(...rows.map((r) => r.what.length));
  console.log(
    `  ${"at".padStart(6)}  ${"step".padStart(6)}  ${"min".padStart(6)}  ${"max".padStart(6)}  ${
      "track".padEnd(8)
    }  what`,
  );
  for (const r of rows) {
    console.log(
      `  ${f(r.at).padStart(6)}  ${f(r.step).padStart(6)}  ${f(r.min).padStart(6)}  ${
        f(r.max).padStart(6)
      }  ${r.track.padEnd(8)}  ${r.what.padEnd(w)}`.trimEnd(),
    );
  }
  const showIndex = args.indexOf("--show");
  if (showIndex > 0) {
    const show = args[showIndex + 1].split(",");
    console.log(`per run: ${show.join("  ")}`);
    runs.forEach((r, i) =>
      console.log(
        `  ${String(i + 1).padStart(2)}  ${show.map((k) => f(r.get(k) ?? NaN)).join("  ")}`,
      )
    );
  }
  if (markdownFile) {
    const lines = [
      `| ms (median) | step | track | what |`,
      `|--:|--:|---|---|`,
      ...rows.map((r) => `| ${f(r.at)} | ${f(r.step)} | ${r.track} | ${r.what} |`),
    ];
    Deno.writeTextFileSync(markdownFile, lines.join("\n") + "\n");
  }
}

main(Deno.args);

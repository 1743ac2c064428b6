/**
 * bench/profile_report.ts — turns the event logs of bench/profile_start.sh
 * into a phase breakdown of `tsnspawn run --rm busybox /bin/true`.
 *
 *   profile_report.ts DIR
 *
 * DIR holds, per profiled run i: run-i.prof (lines "EPOCH_MS PID MODE EVENT",
 * written by bench/prof_entry.ts and by the script around the CLI: MODE
 * "bash", events "cli-spawn"/"cli-exited") and run-i.journal (journalctl -o
 * json of systemd's messages about the unit). Prints every phase's median over
 * the runs (and min/max), then the full timeline of the median run.
 *
 * @module
 */

interface Ev {
  at: number;
  pid: number;
  mode: string;
  event: string;
}

type Marks = Map<string, number>;

function parseRun(prof: string, journal: string): { marks: Marks; events: Ev[] } {
  const events: Ev[] = [];
  for (const line of prof.split("\n")) {
    const m = line.match(/^(\S+) (\d+) (\S+) (.*)$/);
    if (m) events.push({ at: Number(m[1]), pid: Number(m[2]), mode: m[3], event: m[4] });
  }
  for (const line of journal.split("\n")) {
    if (!line.trim()) continue;
    const e = JSON.parse(line);
    const msg: string = typeof e.MESSAGE === "string" ? e.MESSAGE : "";
    const us = Number(e._SOURCE_REALTIME_TIMESTAMP ?? e.__REALTIME_TIMESTAMP);
    let event = "";
    if (msg.startsWith("Starting ")) event = "Starting";
    else if (msg.startsWith("Started ")) event = "Started";
    else if (msg.includes("Deactivated successfully")) event = "Deactivated";
    else if (msg.includes("Failed with result")) event = "Failed";
    else continue;
    events.push({ at: us / 1000, pid: 1, mode: "systemd", event });
  }
  events.sort((a, b) => a.at - b.at);
  const marks: Marks = new Map();
  // first occurrence of "<mode>:<event>" (the CLI's spawns are journalctl's)
  for (const e of events) {
    const key = `${e.mode}:${e.event}`;
    if (!marks.has(key)) marks.set(key, e.at);
  }
  return { marks, events };
}

/** [label, from, to] (mark keys). */
const PHASES: [string, string, string][] = [
  ["CLI: exec + Deno runtime start", "bash:cli-spawn", "cli:boot"],
  ["CLI: runtime bootstrap → entry module runs", "cli:boot", "cli:entry"],
  ["CLI: import CLI module graph (main.ts)", "cli:entry", "cli:loaded"],
  ["CLI: parse args, import the command's modules", "cli:loaded", "cli:systemd()"],
  ["CLI: create container dir/config, load dbus-next", "cli:systemd()", "cli:dbus-connect"],
  ["CLI: D-Bus connect + AddMatch + Subscribe", "cli:dbus-connect", "cli:dbus-connect done"],
  ["CLI: lock, plan properties", "cli:dbus-connect done", "cli:startTransientUnit"],
  ["systemd: StartTransientUnit → 'Starting'", "cli:startTransientUnit", "systemd:Starting"],
  ["systemd fork/exec shim + Deno runtime start", "systemd:Starting", "__shim:boot"],
  ["shim: bootstrap + import runtime modules", "__shim:boot", "__shim:loaded"],
  ["shim: config, notify socket, fifo, unshare", "__shim:loaded", "__shim:spawn"],
  ["stage two: exec + Deno runtime start", "__shim:spawn", "__stage2:boot"],
  ["stage two: bootstrap + import runtime modules", "__stage2:boot", "__stage2:loaded"],
  ["stage two: mounts, pivot, … READY=1 → 'Started'", "__stage2:loaded", "systemd:Started"],
  ["(shim: 'Started' → shim exits, in parallel)", "systemd:Started", "__shim:exit 0"],
  ["CLI: start job done (JobRemoved)", "systemd:Started", "cli:startTransientUnit done"],
  ["payload exits; systemd execs ExecStop + Deno start", "systemd:Started", "__stop:boot"],
  ["stop: bootstrap + import runtime modules", "__stop:boot", "__stop:loaded"],
  ["stop: work (stop signal, wait)", "__stop:loaded", "__stop:exit 0"],
  ["systemd: stop exit → cleanup exec + Deno start", "__stop:exit 0", "__cleanup:boot"],
  ["'Started' → cleanup Deno start (all of the above)", "systemd:Started", "__cleanup:boot"],
  ["cleanup: bootstrap + import runtime modules", "__cleanup:boot", "__cleanup:loaded"],
  ["cleanup: record exit, remove container", "__cleanup:loaded", "__cleanup:exit 0"],
  ["systemd: cleanup exit → 'Deactivated'", "__cleanup:exit 0", "systemd:Deactivated"],
  ["CLI: sees the unit inactive", "systemd:Deactivated", "cli:unit-inactive done"],
  ["CLI: journal sync + read rest of output", "cli:follower-finish", "cli:follower-finish done"],
  ["CLI: close, exit", "cli:main done", "bash:cli-exited"],
];

/** Spans that together make up the critical path (no overlaps). */
const CRITICAL: [string, string, string][] = [
  ["CLI before StartTransientUnit", "bash:cli-spawn", "cli:startTransientUnit"],
  [
    "StartTransientUnit → unit started (shim + stage two)",
    "cli:startTransientUnit",
    "systemd:Started",
  ],
  ["unit started → unit inactive (payload + cleanup)", "systemd:Started", "systemd:Deactivated"],
  ["unit inactive → CLI exited", "systemd:Deactivated", "bash:cli-exited"],
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function main(dir: string): void {
  const runs: { marks: Marks; events: Ev[] }[] = [];
  for (let i = 1;; i++) {
    let prof: string, journal: string;
    try {
      prof = Deno.readTextFileSync(`${dir}/run-${i}.prof`);
      journal = Deno.readTextFileSync(`${dir}/run-${i}.journal`);
    } catch {
      break;
    }
    runs.push(parseRun(prof, journal));
  }
  if (runs.length === 0) throw new Error(`no runs in ${dir}`);
  const span = (m: Marks, a: string, b: string) =>
    m.has(a) && m.has(b) ? m.get(b)! - m.get(a)! : NaN;
  const table = (title: string, phases: [string, string, string][]) => {
    console.log(title);
    const w = Math.max(...phases.map((p) => p[0].length));
    console.log(`  ${"phase".padEnd(w)}  median      min      max   (ms, ${runs.length} runs)`);
    for (const [label, a, b] of phases) {
      const xs = runs.map((r) => span(r.marks, a, b)).filter((x) => !Number.isNaN(x));
      if (xs.length === 0) {
        console.log(`  ${label.padEnd(w)}  (not seen)`);
        continue;
      }
      console.log(
        `  ${label.padEnd(w)}  ${median(xs).toFixed(1).padStart(6)}  ${
          Math.min(...xs).toFixed(1).padStart(7)
        }  ${Math.max(...xs).toFixed(1).padStart(7)}`,
      );
    }
  };
  const totals = runs.map((r) => span(r.marks, "bash:cli-spawn", "bash:cli-exited"));
  console.log(`total (CLI spawn → CLI exited): median ${median(totals).toFixed(1)} ms`);
  console.log("");
  table("critical path:", CRITICAL);
  console.log("");
  table("phases:", PHASES);
  // the run whose total is the median
  const mid = totals.indexOf([...totals].sort((a, b) => a - b)[Math.floor(totals.length / 2)]);
  const r = runs[mid];
  const t0 = r.marks.get("bash:cli-spawn")!;
  console.log("");
  console.log(`timeline of run ${mid + 1} (total ${totals[mid].toFixed(1)} ms):`);
  for (const e of r.events) {
    console.log(`  ${(e.at - t0).toFixed(1).padStart(7)} ms  ${e.mode.padEnd(9)} ${e.event}`);
  }
}

main(Deno.args[0] ?? "/bench/prof");

/**
 * bench/timeit.ts — wall-clock timing of commands, run round-robin.
 *
 *   deno run -A bench/timeit.ts [--runs N] [--warmup W] [--json FILE]
 *       [--ref LABEL] [--floor LABEL] [--target LABEL=RATIO]... [--markdown FILE]
 *       [--before 'LABEL=CMD ARGS']... -- 'LABEL=CMD ARGS' ...
 *
 * Each case is `LABEL=COMMAND`, the command split on spaces (no shell, no
 * quoting: the benchmark commands do not need any). One *round* runs every
 * case once, in order; W warm-up rounds are discarded, then N rounds are
 * timed. Running the cases round-robin (instead of all runs of one, then all
 * of the next) spreads any drift in machine load evenly over the peers, which
 * matters on a small shared machine. A command that exits non-zero aborts
 * the benchmark (its output is shown).
 *
 * Time = from spawn to exit status, in ms (the spawn cost is the same for
 * every case and is part of the floor). Printed: median, p10, p90, min, max,
 * median above the floor case, and the ratio `REF / case` of medians for every
 * other case (e.g. tsnspawn / podman), with the targets given by --target
 * (`LABEL=0.5` means REF/LABEL must be ≤ 0.5). --markdown writes the same as a
 * Markdown table to FILE, for the README. `--before LABEL=CMD` runs CMD,
 * untimed, right before every run of LABEL (e.g. stopping a socket-activated
 * service so that each run measures its cold start).
 *
 * @module
 */

interface Case {
  label: string;
  argv: string[];
  /** Run untimed before each timed run. */
  before?: string[];
}

interface Stats {
  label: string;
  command: string;
  runs: number;
  median: number;
  p10: number;
  p90: number;
  min: number;
  max: number;
  mean: number;
  samples: number[];
}

function usage(msg?: string): never {
  if (msg) console.error(`timeit: ${msg}`);
  console.error(
    "usage: timeit.ts [--runs N] [--warmup W] [--json FILE] [--ref LABEL] [--floor LABEL] " +
      "[--target LABEL=RATIO]... [--markdown FILE] -- 'LABEL=CMD ARGS'...",
  );
  Deno.exit(2);
}

/** Quantile with linear interpolation between closest ranks (q in [0,1]). */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function summarize(label: string, command: string, samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  return {
    label,
    command,
    runs: s.length,
    median: quantile(s, 0.5),
    p10: quantile(s, 0.1),
    p90: quantile(s, 0.9),
    min: s[0],
    max: s[s.length - 1],
    mean: s.reduce((a, b) => a + b, 0) / s.length,
    samples,
  };
}

const decoder = new TextDecoder();

async function timeOnce(c: Case): Promise<number> {
  if (c.before) {
    const out = await new Deno.Command(c.before[0], {
      args: c.before.slice(1),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      console.error(`timeit: ${c.label}: before: ${c.before.join(" ")}: exit ${out.code}`);
      console.error(decoder.decode(out.stdout) + decoder.decode(out.stderr));
      Deno.exit(1);
    }
  }
  const t0 = performance.now();
  const out = await new Deno.Command(c.argv[0], {
    args: c.argv.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const ms = performance.now() - t0;
  if (!out.success) {
    console.error(`timeit: ${c.label}: ${c.argv.join(" ")}: exit ${out.code}`);
    console.error(decoder.decode(out.stdout) + decoder.decode(out.stderr));
    Deno.exit(1);
  }
  return ms;
}

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

async function main(argv: string[]): Promise<void> {
  let runs = 30, warmup = 3;
  let json: string | undefined, ref: string | undefined, floor: string | undefined;
  let markdown: string | undefined;
  const targets = new Map<string, number>();
  const before = new Map<string, string[]>();
  const dd = argv.indexOf("--");
  if (dd < 0) usage("missing --");
  const own = argv.slice(0, dd);
  for (let i = 0; i < own.length; i++) {
    const v = own[i + 1];
    switch (own[i]) {
      case "--runs":
        runs = Number(v), i++;
        break;
      case "--warmup":
        warmup = Number(v), i++;
        break;
      case "--json":
        json = v, i++;
        break;
      case "--ref":
        ref = v, i++;
        break;
      case "--floor":
        floor = v, i++;
        break;
      case "--markdown":
        markdown = v, i++;
        break;
      case "--before": {
        const eq = (v ?? "").indexOf("=");
        if (eq <= 0) usage(`bad --before ${v}`);
        before.set(v.slice(0, eq), v.slice(eq + 1).split(" ").filter(Boolean)), i++;
        break;
      }
      case "--target": {
        const [l, r] = (v ?? "").split("=");
        if (!l || !(Number(r) > 0)) usage(`bad --target ${v}`);
        targets.set(l, Number(r)), i++;
        break;
      }
      default:
        usage(`unknown option ${own[i]}`);
    }
  }
  if (!(runs >= 1) || !(warmup >= 0)) usage("bad --runs/--warmup");
  const cases: Case[] = argv.slice(dd + 1).map((spec) => {
    const eq = spec.indexOf("=");
    if (eq <= 0) usage(`bad case ${spec}`);
    const label = spec.slice(0, eq);
    const argv = spec.slice(eq + 1).split(" ").filter(Boolean);
    return before.has(label) ? { label, argv, before: before.get(label) } : { label, argv };
  });
  if (cases.length === 0) usage("no cases");
  for (const l of [ref, floor, ...targets.keys(), ...before.keys()]) {
    if (l && !cases.some((c) => c.label === l)) usage(`unknown label ${l}`);
  }

  const samples = new Map<string, number[]>(cases.map((c) => [c.label, []]));
  for (let r = 0; r < warmup + runs; r++) {
    for (const c of cases) {
      const ms = await timeOnce(c);
      if (r >= warmup) samples.get(c.label)!.push(ms);
    }
    if ((r + 1) % 10 === 0 || r + 1 === warmup + runs) {
      console.error(`timeit: round ${r + 1}/${warmup + runs} done`);
    }
  }

  const stats = cases.map((c) => summarize(c.label, c.argv.join(" "), samples.get(c.label)!));
  const byLabel = new Map(stats.map((s) => [s.label, s]));
  const refStats = ref ? byLabel.get(ref) : undefined;
  const floorStats = floor ? byLabel.get(floor) : undefined;
  const w = Math.max(...stats.map((s) => s.label.length), 5);
  const f = (x: number) => x.toFixed(1);
  const header = [
    pad("case", w),
    pad("median", 7, true),
    pad("p10", 7, true),
    pad("p90", 7, true),
    pad("min", 7, true),
    pad("max", 7, true),
    pad("-floor", 7, true),
    refStats ? pad(`${ref}/case`, 14, true) : "",
  ].join("  ");
  console.log(`times in ms, ${runs} runs each (+${warmup} warm-up), round-robin`);
  console.log(header);
  for (const s of stats) {
    const ratio = refStats && s !== refStats ? (refStats.median / s.median).toFixed(2) + "x" : "";
    console.log(
      [
        pad(s.label, w),
        pad(f(s.median), 7, true),
        pad(f(s.p10), 7, true),
        pad(f(s.p90), 7, true),
        pad(f(s.min), 7, true),
        pad(f(s.max), 7, true),
        pad(floorStats ? f(s.median - floorStats.median) : "", 7, true),
        refStats ? pad(ratio, 14, true) : "",
      ].join("  ").trimEnd(),
    );
  }
  const verdicts: { label: string; ratio: number; target: number; met: boolean }[] = [];
  if (refStats) {
    for (const [label, target] of targets) {
      const ratio = refStats.median / byLabel.get(label)!.median;
      verdicts.push({ label, ratio, target, met: ratio <= target });
      console.log(
        `target: ${ref} / ${label} = ${ratio.toFixed(2)}x (target <= ${target}x): ${
          ratio <= target ? "met" : "NOT met"
        }`,
      );
    }
  }
  if (markdown !== undefined) {
    const md: string[] = [];
    md.push(
      `| case | median ms | p10 – p90 ms | min – max ms | above floor ms |${
        refStats ? ` ${ref} / case |` : ""
      }`,
    );
    md.push(`|---|--:|--:|--:|--:|${refStats ? "--:|" : ""}`);
    for (const s of stats) {
      const ratio = refStats && s !== refStats ? (refStats.median / s.median).toFixed(2) + "×" : "";
      md.push(
        `| ${s.label} | ${f(s.median)} | ${f(s.p10)} – ${f(s.p90)} | ${f(s.min)} – ${f(s.max)} | ${
          floorStats ? f(s.median - floorStats.median) : ""
        } |${refStats ? ` ${ratio} |` : ""}`,
      );
    }
    if (verdicts.length) {
      md.push("");
      for (const v of verdicts) {
        md.push(
          `- ${ref} / ${v.label}: ${v.ratio.toFixed(2)}× (target ≤ ${v.target}×): ${
            v.met ? "met" : "**not met**"
          }`,
        );
      }
    }
    Deno.writeTextFileSync(markdown, md.join("\n") + "\n");
  }
  if (json) {
    Deno.writeTextFileSync(
      json,
      JSON.stringify({ runs, warmup, ref, floor, stats, targets: verdicts }, null, 2) + "\n",
    );
  }
}

if (import.meta.main) await main(Deno.args);

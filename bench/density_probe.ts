/**
 * bench/density_probe.ts — measurements for bench/density.sh, run inside the
 * throwaway test host.
 *
 *   snapshot FILE
 *       record the PIDs alive now, the test host's memory use (its cgroup:
 *       memory.usage_in_bytes of the cgroup namespace root in the v1 memory
 *       hierarchy, or memory.current on v2) and the machine's used memory
 *       (/proc/meminfo MemTotal - MemAvailable) as JSON.
 *   report BEFORE.json PEER COUNT PAYLOAD_ARGS START_SECONDS OUT.json
 *       compare now with BEFORE: the processes that appeared, split into
 *       payloads (command line == PAYLOAD_ARGS) and extras (everything else:
 *       conmon, systemd-nspawn, ...), their RSS and PSS
 *       (/proc/PID/smaps_rollup), memory deltas per container; print them and
 *       append a result record to OUT.json (a JSON array).
 *   units UNIT...
 *       list the processes in each unit's cgroup (ControlGroup= of the unit, in
 *       the name=systemd v1 hierarchy or the unified one), one line per unit;
 *       exits 1 unless every unit has exactly one process (the payload).
 *   removed OUT.json PEER SECONDS
 *       record how long removing all of PEER's containers took.
 *   table OUT.json
 *       print the results as a Markdown table.
 *
 * @module
 */

interface Snapshot {
  pids: number[];
  cgroupBytes: number;
  meminfoUsedBytes: number;
  at: string;
}

interface Proc {
  pid: number;
  args: string;
  rssKb: number;
  pssKb: number;
}

interface Result {
  peer: string;
  count: number;
  startSeconds: number;
  cgroupBytesPerContainer: number;
  meminfoBytesPerContainer: number;
  payloads: number;
  extras: number;
  extraArgs: Record<string, number>;
  extraRssKbPerContainer: number;
  extraPssKbPerContainer: number;
  payloadRssKbPerContainer: number;
  removeSeconds?: number;
}

const decoder = new TextDecoder();

function read(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return null;
  }
}

function cgroupBytes(): number {
  for (
    const f of ["/sys/fs/cgroup/memory/memory.usage_in_bytes", "/sys/fs/cgroup/memory.current"]
  ) {
    const t = read(f);
    if (t !== null) return Number(t.trim());
  }
  throw new Error("no memory cgroup file found");
}

function meminfoUsedBytes(): number {
  const m = new Map<string, number>();
  for (const l of (read("/proc/meminfo") ?? "").split("\n")) {
    const [k, v] = l.split(":");
    if (v) m.set(k, Number(v.trim().split(/\s+/)[0]) * 1024);
  }
  return (m.get("MemTotal") ?? 0) - (m.get("MemAvailable") ?? 0);
}

function pids(): number[] {
  return [...Deno.readDirSync("/proc")].filter((e) => /^\d+$/.test(e.name)).map((e) =>
    Number(e.name)
  )
    .filter((p) => p !== Deno.pid);
}

function proc(pid: number): Proc | null {
  const cmd = read(`/proc/${pid}/cmdline`);
  if (cmd === null || cmd === "") return null; // gone, or a kernel thread
  const rollup = read(`/proc/${pid}/smaps_rollup`) ?? "";
  const kb = (key: string) =>
    Number(rollup.match(new RegExp(`^${key}:\\s+(\\d+) kB`, "m"))?.[1] ?? 0);
  return {
    pid,
    args: cmd.replace(/\0$/, "").replaceAll("\0", " "),
    rssKb: kb("Rss"),
    pssKb: kb("Pss"),
  };
}

function snapshot(file: string): void {
  const s: Snapshot = {
    pids: pids(),
    cgroupBytes: cgroupBytes(),
    meminfoUsedBytes: meminfoUsedBytes(),
    at: new Date().toISOString(),
  };
  Deno.writeTextFileSync(file, JSON.stringify(s));
}

const mb = (bytes: number) => (bytes / 1048576).toFixed(2);

function report(
  beforeFile: string,
  peer: string,
  count: number,
  payloadArgs: string,
  startSeconds: number,
  out: string,
): number {
  const before: Snapshot = JSON.parse(Deno.readTextFileSync(beforeFile));
  const old = new Set(before.pids);
  const fresh = pids().filter((p) => !old.has(p)).map(proc).filter((p): p is Proc => p !== null);
  const payloads = fresh.filter((p) => p.args === payloadArgs);
  const extras = fresh.filter((p) => p.args !== payloadArgs);
  const extraArgs: Record<string, number> = {};
  for (const e of extras) {
    const key = e.args.split(" ")[0].split("/").pop()!;
    extraArgs[key] = (extraArgs[key] ?? 0) + 1;
  }
  const sum = (ps: Proc[], k: "rssKb" | "pssKb") => ps.reduce((a, p) => a + p[k], 0);
  const r: Result = {
    peer,
    count,
    startSeconds,
    cgroupBytesPerContainer: (cgroupBytes() - before.cgroupBytes) / count,
    meminfoBytesPerContainer: (meminfoUsedBytes() - before.meminfoUsedBytes) / count,
    payloads: payloads.length,
    extras: extras.length,
    extraArgs,
    extraRssKbPerContainer: sum(extras, "rssKb") / count,
    extraPssKbPerContainer: sum(extras, "pssKb") / count,
    payloadRssKbPerContainer: sum(payloads, "rssKb") / count,
  };
  console.log(
    `  ${peer}: ${count} containers started in ${startSeconds.toFixed(2)} s ` +
      `(${(startSeconds * 1000 / count).toFixed(0)} ms each)`,
  );
  console.log(
    `  new processes: ${payloads.length} payloads (${payloadArgs}), ${extras.length} extra` +
      (extras.length
        ? ` (${Object.entries(extraArgs).map(([k, v]) => `${v}x ${k}`).join(", ")})`
        : ""),
  );
  console.log(
    `  extra processes per container: ${(extras.length / count).toFixed(2)}, ` +
      `RSS ${mb(sum(extras, "rssKb") * 1024 / count)} MB, PSS ${
        mb(sum(extras, "pssKb") * 1024 / count)
      } MB per container`,
  );
  console.log(
    `  memory per container: ${mb(r.cgroupBytesPerContainer)} MB (test host cgroup), ` +
      `${mb(r.meminfoBytesPerContainer)} MB (/proc/meminfo used, machine-wide, noisy)`,
  );
  const results: Result[] = JSON.parse(read(out) ?? "[]");
  results.push(r);
  Deno.writeTextFileSync(out, JSON.stringify(results, null, 2) + "\n");
  return payloads.length === count ? 0 : 1;
}

async function units(names: string[]): Promise<number> {
  const out = await new Deno.Command("systemctl", {
    args: ["show", "--property=Id,ControlGroup", "--", ...names],
    stdout: "piped",
  }).output();
  const cgroups = new Map<string, string>();
  for (const block of decoder.decode(out.stdout).split("\n\n")) {
    const id = block.match(/^Id=(.*)$/m)?.[1];
    const cg = block.match(/^ControlGroup=(.*)$/m)?.[1];
    if (id) cgroups.set(id, cg ?? "");
  }
  let bad = 0;
  for (const u of names) {
    const cg = cgroups.get(u) ?? "";
    const found: Proc[] = [];
    const base = ["/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"].find((b) =>
      cg && read(`${b}${cg}/cgroup.procs`) !== null
    );
    const walk = (dir: string) => {
      for (const p of (read(`${dir}/cgroup.procs`) ?? "").split("\n").filter(Boolean)) {
        const pr = proc(Number(p));
        if (pr) found.push(pr);
      }
      try {
        for (const e of Deno.readDirSync(dir)) if (e.isDirectory) walk(`${dir}/${e.name}`);
      } catch { /* gone */ }
    };
    if (base) walk(base + cg);
    const ok = found.length === 1;
    if (!ok) bad++;
    console.log(
      `  ${ok ? "ok " : "BAD"} ${u} (${cg || "no cgroup"}): ${found.length} process(es): ${
        found.map((p) => `${p.pid} "${p.args}"`).join(", ")
      }`,
    );
  }
  console.log(
    `  ${names.length - bad}/${names.length} units hold exactly one process (the payload)`,
  );
  return bad === 0 ? 0 : 1;
}

function table(file: string): void {
  const results: Result[] = JSON.parse(Deno.readTextFileSync(file));
  console.log(
    "| peer | containers | start all, s | per start, ms | remove all, s | memory / container (host cgroup Δ), MB | extra processes / container | RSS of extras / container, MB | PSS of extras / container, MB |",
  );
  console.log("|---|--:|--:|--:|--:|--:|--:|--:|--:|");
  for (const r of results) {
    const extras = Object.entries(r.extraArgs).map(([k, v]) => `${(v / r.count).toFixed(2)} ${k}`)
      .join(", ");
    console.log(
      `| ${r.peer} | ${r.count} | ${r.startSeconds.toFixed(2)} | ${
        (r.startSeconds * 1000 / r.count).toFixed(0)
      } | ${r.removeSeconds?.toFixed(2) ?? "?"} | ${mb(r.cgroupBytesPerContainer)} | ${
        (r.extras / r.count).toFixed(2)
      }${extras ? ` (${extras})` : ""} | ${mb(r.extraRssKbPerContainer * 1024)} | ${
        mb(r.extraPssKbPerContainer * 1024)
      } |`,
    );
  }
}

function setRemove(file: string, peer: string, seconds: number): void {
  const results: Result[] = JSON.parse(Deno.readTextFileSync(file));
  const r = results.findLast((x) => x.peer === peer);
  if (!r) throw new Error(`no result for ${peer}`);
  r.removeSeconds = seconds;
  Deno.writeTextFileSync(file, JSON.stringify(results, null, 2) + "\n");
}

if (import.meta.main) {
  const [cmd, ...a] = Deno.args;
  let code = 0;
  switch (cmd) {
    case "snapshot":
      snapshot(a[0]);
      break;
    case "report":
      code = report(a[0], a[1], Number(a[2]), a[3], Number(a[4]), a[5]);
      break;
    case "units":
      code = await units(a);
      break;
    case "removed":
      setRemove(a[0], a[1], Number(a[2]));
      break;
    case "table":
      table(a[0]);
      break;
    default:
      console.error("usage: density_probe.ts snapshot|report|units|removed|table ...");
      code = 2;
  }
  Deno.exit(code);
}

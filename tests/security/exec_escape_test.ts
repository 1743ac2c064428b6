/**
 * The runc CVE-2019-5736 family against tsnspawn: can a container reach the
 * runtime's own processes through /proc, and through them the host's
 * runtime binary or host files?
 *
 * The runtime runs from a COPY of the Deno binary in these tests (every
 * tsnspawn command, hence the shim, stage two and the exec stage, is
 * started with it), so a successful attack damages only the copy; its hash
 * is compared before and after.
 *
 * 1. The attack, automated: an attacker container polls /proc while the
 *    test runs `exec` 50 times; it must never open /proc/N/exe of a runtime
 *    process, nor read /proc/N/{fd,cwd,root,environ,mem,maps} of one, and a
 *    write through a kept handle must never succeed. A control process (a
 *    Deno process the container itself runs) must be reachable, or the
 *    attacker's method proves nothing.
 * 2. The read-only runtime binary, on its own: root on the test host (who
 *    can read /proc/N/exe of anything) keeps handles on the images of stage
 *    two (a container restarted in a loop, attached --rm runs) and of the
 *    exec stage, and once
 *    no process runs the copy any more, reopening them for writing fails
 *    with EROFS.
 * 3. Descriptors: a container's processes (run, exec, exec -t, after a
 *    restart) hold nothing above fd 2.
 */
import { assert, assertEquals } from "@std/assert";
import { type CoreHost, DENO, DENO_PROBE_VOLUMES, tsnspawnArgv } from "../helpers.ts";
import { integrationTest } from "../helpers.ts";

/** Where the test host keeps the runtime's copy of the Deno binary. */
const COPY = "/tmp/runtime-deno";

/** tsnspawn run from the copy. */
function tsnCopy(core: CoreHost, args: string[], timeoutMs = 60_000) {
  const [, ...rest] = tsnspawnArgv(args);
  return core.host.run([COPY, ...rest], { timeoutMs });
}

async function tsnCopyOk(core: CoreHost, args: string[]): Promise<string> {
  const r = await tsnCopy(core, args);
  assertEquals(r.code, 0, `tsnspawn ${args.join(" ")}: ${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Makes the copy; returns "dev:ino" of the copy and of the real binary. */
async function makeCopy(core: CoreHost): Promise<{ runtime: string; control: string }> {
  const real = Deno.realPathSync(DENO);
  const out = await core.shOk(`cp ${real} ${COPY} && stat -c %d:%i ${COPY} ${real}`);
  const [runtime, control] = out.trim().split("\n");
  return { runtime, control };
}

async function sha256(core: CoreHost): Promise<string> {
  return (await core.shOk(`sha256sum ${COPY}`)).split(" ")[0];
}

/** The JSON report line in a container's log, once it is there. */
async function attackerReport(core: CoreHost, name: string): Promise<Record<string, unknown>> {
  let report: Record<string, unknown> | null = null;
  await core.waitFor(`${name}'s report`, async () => {
    // With the real binary: while a tsnspawn runs the copy, it cannot be written.
    const logs = await core.tsn(["logs", name]);
    const line = logs.stdout.split("\n").find((l) => l.startsWith("{"));
    if (line) report = JSON.parse(line);
    return report !== null;
  }, 60_000);
  return report!;
}

integrationTest(
  "exec escape: a container never reaches the runtime's processes or its binary (50 execs)",
  async (core) => {
    const ids = await makeCopy(core);
    const before = await sha256(core);
    await tsnCopyOk(core, [
      "run",
      "-d",
      "--name",
      "attacker",
      ...DENO_PROBE_VOLUMES,
      "busybox",
      "/opt/deno",
      "run",
      "-A",
      "--no-config",
      "--quiet",
      "/probe/exe_attacker.ts",
      "watch",
      ids.runtime,
      ids.control,
      "/tmp/stop",
    ]);
    await core.waitFor("the attacker to watch", async () => {
      return (await tsnCopy(core, ["logs", "attacker"])).stdout.includes("attacker: watching");
    }, 60_000);

    // The control: an ordinary process of the container, running Deno.
    await tsnCopyOk(core, [
      "exec",
      "attacker",
      "/opt/deno",
      "eval",
      "await new Promise((r) => setTimeout(r, 1500))",
    ]);
    for (let i = 0; i < 50; i++) await tsnCopyOk(core, ["exec", "attacker", "true"]);
    // No process runs the copy now (the attack's moment to write), but the
    // stop request's own exec: the attacker sees it only after it ended.
    await tsnCopyOk(core, ["exec", "attacker", "touch", "/tmp/stop"]);
    const report = await attackerReport(core, "attacker");

    assert((report.scans as number) > 50, `the attacker barely ran: ${JSON.stringify(report)}`);
    assert(
      (report.controlExe as number) > 0,
      `the attacker could not reach even the container's own Deno process: ${
        JSON.stringify(report)
      }`,
    );
    assertEquals(report.runtimeExe, 0, `runtime binary opened: ${JSON.stringify(report)}`);
    assertEquals(
      report.runtimeAccessCount,
      0,
      `runtime process reached: ${JSON.stringify(report)}`,
    );
    assertEquals(report.writes, []);
    assertEquals(await sha256(core), before, "the runtime's binary changed");
    await tsnCopyOk(core, ["rm", "-f", "attacker"]);
  },
);

/** Runs on the test host (root, all capabilities): keeps /proc/N/exe of runtime processes. */
const HOLDER = `
const [runtime, stopFile] = Deno.args;
const libc = Deno.dlopen("libc.so.6", {
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
});
const c = (s) => new TextEncoder().encode(s + "\\0");
const errno = () => new Deno.UnsafePointerView(libc.symbols.__errno_location()).getInt32();
const id = (p) => { try { const i = Deno.statSync(p); return i.dev + ":" + i.ino; } catch { return null; } };
const kept = new Map();
const stop = () => { try { Deno.statSync(stopFile); return true; } catch { return false; } };
while (!stop()) {
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\\d+$/.test(e.name) || e.name === String(Deno.pid)) continue;
    let cmd = "";
    try { cmd = Deno.readTextFileSync("/proc/" + e.name + "/cmdline"); } catch { continue; }
    const mode = ["__stage2", "__exec"].find((m) => cmd.split("\\0").includes(m));
    if (!mode || (kept.get(mode)?.length ?? 0) >= 20) continue;
    const fd = libc.symbols.open(c("/proc/" + e.name + "/exe"), 0, 0);
    if (fd >= 0 && id("/proc/self/fd/" + fd) === runtime) {
      kept.set(mode, [...(kept.get(mode) ?? []), fd]);
    }
  }
}
// Nothing runs the copy any more: a writable handle would now write.
const outcome = {};
for (const [mode, fds] of kept) {
  outcome[mode] = fds.map((fd) => {
    const w = libc.symbols.open(c("/proc/self/fd/" + fd), 1, 0);
    return w >= 0 ? "writable" : ({ 30: "EROFS", 26: "ETXTBSY" })[errno()] ?? "errno " + errno();
  });
}
console.log(JSON.stringify(outcome));
`;

integrationTest(
  "exec escape: the runtime's binary is read-only in stage two and the exec stage",
  async (core) => {
    const ids = await makeCopy(core);
    await core.shOk(`cat > /tmp/holder.js <<'EOF'\n${HOLDER}\nEOF`);
    const holder = core.host.run(
      [
        DENO,
        "run",
        "-A",
        "--no-config",
        "--quiet",
        "/tmp/holder.js",
        ids.runtime,
        "/tmp/hold-stop",
      ],
      { timeoutMs: 120_000 },
    );
    await new Promise((resolve) => setTimeout(resolve, 1000));
    // Stage two, again and again: a container that restarts in a loop.
    await tsnCopyOk(core, [
      "run",
      "-d",
      "--name",
      "phoenix",
      "--restart",
      "always",
      "busybox",
      "sh",
      "-c",
      "sleep 0.3",
    ]);
    await tsnCopyOk(core, ["run", "-d", "--name", "target", "busybox", "sleep", "600"]);
    for (let i = 0; i < 10; i++) await tsnCopyOk(core, ["exec", "target", "sleep", "0.2"]);
    // Attached --rm runs: stage two spawned by the CLI itself (a scope, no shim).
    for (let i = 0; i < 5; i++) {
      await tsnCopyOk(core, ["run", "--rm", "--network", "none", "busybox", "sleep", "0.2"]);
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await tsnCopyOk(core, ["rm", "-f", "phoenix", "target"]);
    await core.shOk("touch /tmp/hold-stop");
    const result = await holder;
    assertEquals(result.code, 0, result.stderr);
    const outcome = JSON.parse(result.stdout.trim()) as Record<string, string[]>;
    assert((outcome.__stage2?.length ?? 0) > 0, `no stage two held: ${result.stdout}`);
    assert((outcome.__exec?.length ?? 0) > 0, `no exec stage held: ${result.stdout}`);
    for (const [mode, outcomes] of Object.entries(outcome)) {
      assertEquals(
        outcomes.filter((o) => o !== "EROFS"),
        [],
        `${mode}: the runtime's binary could be reopened: ${result.stdout}`,
      );
    }
  },
);

/** The descriptors a container process holds, but the one `ls` opens to list them. */
function fdsIn(listing: string): string[] {
  return listing.split("\n")
    .map((line) => line.match(/ (\d+) -> (.*)$/))
    .filter((m): m is RegExpMatchArray => m !== null && !/^\/proc\/\d+\/fd$/.test(m[2]))
    .map((m) => m[1]);
}

integrationTest(
  "exec escape: container processes hold no descriptor above 2 (run, exec, exec -t, restart)",
  async (core) => {
    const list = "ls -l /proc/self/fd";
    const run = await core.tsnOk(["run", "--rm", "busybox", "sh", "-c", list]);
    assertEquals(fdsIn(run), ["0", "1", "2"], run);

    await core.tsnOk(["run", "-d", "--name", "fds", "busybox", "sleep", "600"]);
    const exec = await core.tsnOk(["exec", "fds", "sh", "-c", list]);
    assertEquals(fdsIn(exec), ["0", "1", "2"], exec);
    // The caller's redirections never reach the container: pipes, not our files.
    const links = await core.shOk(
      `${
        tsnspawnArgv(["exec", "fds"]).join(" ")
      } sh -c 'readlink /proc/self/fd/1; readlink /proc/self/fd/2 >&2' 2>/tmp/err.txt >/tmp/out.txt; cat /tmp/out.txt /tmp/err.txt`,
    );
    const [stdout, stderr] = links.trim().split("\n");
    assert(/^pipe:/.test(stdout) && /^pipe:/.test(stderr), `not pipes: ${links}`);

    const tty = await core.shOk(
      // script(1) gives the CLI a terminal; its stdin stays open meanwhile.
      `sleep 3 | script -qec "${
        tsnspawnArgv(["exec", "-t", "fds"]).join(" ")
      } sh -c '${list}'" /dev/null`,
    );
    assertEquals(fdsIn(tty.replaceAll("\r", "")), ["0", "1", "2"], tty);

    await core.tsnOk([
      "run",
      "-d",
      "--name",
      "again",
      "--restart",
      "always",
      "busybox",
      "sh",
      "-c",
      `${list}; sleep 0.5`,
    ]);
    // Every run's output (`logs` shows the current run's): the first and a restarted one.
    let logs = "";
    await core.waitFor("a restarted run's listing", async () => {
      await core.shOk("journalctl --sync");
      logs = await core.shOk("journalctl -q -o cat -u tsnspawn-again.service");
      return (logs.match(/ 2 -> /g) ?? []).length >= 2;
    });
    const runs = logs.split(/total \d+\n/).slice(1);
    assert(runs.length >= 2, logs);
    for (const listing of runs) assertEquals(fdsIn(listing), ["0", "1", "2"], logs);
    await core.tsnOk(["rm", "-f", "fds", "again"]);
  },
);

/**
 * An attached `run --rm` runs in a transient scope that the CLI sets up
 * itself (src/runtime/attached.ts), in a throwaway systemd host: while it
 * runs the scope holds only the container's processes, the container is
 * listed, entered, signalled and stopped like one in a service; its output
 * reaches the caller through pipes (not the journal); when it ends nothing
 * is left; a killed CLI leaves a stopped container that `check` finds
 * consistent; and containers whose limits would bind the runtime, or with a
 * terminal, keep their service.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { type CoreHost, integrationTest, tsnspawnArgv } from "./helpers.ts";

/** The lines of `systemctl list-units` for containers' units (services and scopes). */
async function units(core: CoreHost): Promise<string> {
  return (await core.shOk(
    "systemctl list-units --all --plain --no-legend 'tsnspawn-*.service' 'tsnspawn-*.scope' | " +
      "grep -v '^tsnspawn-machine@' || true",
  )).trim();
}

/** The tsnspawn command line as one shell word list. */
function tsnShell(args: string[]): string {
  return tsnspawnArgv(args).map((w) => `'${w.replaceAll("'", `'\\''`)}'`).join(" ");
}

/** Waits until `tsnspawn list` shows container `name` running. */
async function untilRunning(core: CoreHost, name: string): Promise<{ pid: number }> {
  let row: { name: string; state: string; pid: number } | undefined;
  await core.waitFor(`${name} to run`, async () => {
    const rows = JSON.parse(await core.tsnOk(["list", "--json"])) as typeof row[];
    row = rows.find((r) => r?.name === name && r.state === "running");
    return row !== undefined;
  });
  return row!;
}

integrationTest(
  "run --rm attached: a scope with only the container, then nothing left",
  async (core) => {
    const run = core.tsn([
      "run",
      "--rm",
      "--name",
      "sc",
      "busybox",
      "sh",
      "-c",
      "echo out-line; echo err-line >&2; trap 'echo got-term; exit 3' TERM; " +
      "while true; do sleep 0.1; done",
    ]);
    const { pid } = await untilRunning(core, "sc");
    assertMatch(await units(core), /^tsnspawn-sc\.scope\s+loaded\s+active\s+running/m);
    // The scope's cgroup holds the container's processes only: no runtime
    // (its PID 1 is stage two until stage two's execve of sh: waited for).
    const scopeComms = async () =>
      (await core.shOk(
        "for p in $(systemctl show -P ControlGroup tsnspawn-sc.scope | " +
          "xargs -I{} cat /sys/fs/cgroup/unified{}/cgroup.procs); " +
          // a `sleep` of the loop may end between the listing and its read
          "do cat /proc/$p/comm 2>/dev/null; done; true",
      )).trim().split("\n").filter((comm) => comm !== "");
    await core.waitFor("the command's execve", async () => (await scopeComms()).includes("sh"));
    const procs = await scopeComms();
    assert(procs.every((comm) => comm === "sh" || comm === "sleep"), procs.join(" "));
    const status = await core.tsnOk(["status", "sc"]);
    assertStringIncludes(status, "Unit: tsnspawn-sc.scope");
    assertStringIncludes(status, `Main PID: ${pid} (sh)`);
    // Registered with machined (src/systemd/machined.ts), as a service's container is.
    await core.waitFor("machined to list it", async () => {
      const machines = await core.sh("machinectl list --no-legend");
      return machines.stdout.includes("tsnspawn-sc.scope");
    });
    // exec enters it; its PID 1 is the container's command.
    const inside = await core.tsnOk(["exec", "sc", "cat", "/proc/1/comm"]);
    assertEquals(inside.trim(), "sh");
    // A second start of the same container is refused while the scope runs.
    const again = await core.tsn(["start", "sc"]);
    assertEquals(again.code, 1, again.stderr);
    assertStringIncludes(again.stderr, "already running");
    // stop: the stop signal to PID 1 (its trap answers), the caller gets its status.
    await core.tsnOk(["stop", "sc"]);
    const result = await run;
    assertEquals(result.code, 3, result.stderr);
    // Output went to the caller, each stream to its own, and not to the journal.
    assertEquals(result.stdout, "out-line\ngot-term\n");
    assertEquals(result.stderr, "err-line\n");
    const journal = await core.shOk("journalctl --no-pager -o cat TSNSPAWN_CONTAINER=sc");
    assert(!journal.includes("out-line"), journal);
    assert((await core.sh("test -e /var/lib/tsnspawn/containers/sc")).code !== 0);
    assertEquals(await units(core), "");
    assertEquals((await core.tsnOk(["list", "-a", "-q"])).trim(), "");
  },
);

integrationTest(
  "run --rm attached: signals and kill reach PID 1, statuses as docker's",
  async (core) => {
    const killed = core.tsn(["run", "--rm", "--name", "k", "busybox", "sleep", "1000"]);
    await untilRunning(core, "k");
    await core.tsnOk(["kill", "k"]);
    assertEquals((await killed).code, 137);
    // SIGTERM to the CLI goes to the container's PID 1 (a handler of its own:
    // PID 1 of a namespace gets only signals it handles).
    const forwarded = core.host.run([
      "sh",
      "-c",
      `${
        tsnShell([
          "run",
          "--rm",
          "--name",
          "f",
          "busybox",
          "sh",
          "-c",
          "trap 'exit 5' TERM; while true; do sleep 0.1; done",
        ])
      } & echo $! >/tmp/cli.pid; wait $!`,
    ], { timeoutMs: 60_000 });
    await untilRunning(core, "f");
    await core.shOk("kill -TERM $(cat /tmp/cli.pid)");
    assertEquals((await forwarded).code, 5);
    assertEquals((await core.tsn(["run", "--rm", "busybox", "sh", "-c", "exit 7"])).code, 7);
    const missing = await core.tsn(["run", "--rm", "--name", "bad", "busybox", "/no/such"]);
    assertEquals(missing.code, 125);
    assertStringIncludes(missing.stderr, "container bad failed to start");
    assertEquals(await units(core), "");
    assertEquals((await core.tsnOk(["list", "-a", "-q"])).trim(), "");
  },
);

integrationTest(
  "run --rm attached: a killed CLI leaves a stopped container that check removes",
  async (core) => {
    const cli = core.host.run([
      "sh",
      "-c",
      `${
        tsnShell(["run", "--rm", "--name", "orphan", "busybox", "sleep", "3"])
      } & echo $! >/tmp/cli.pid; wait $!`,
    ], { timeoutMs: 60_000 });
    await untilRunning(core, "orphan");
    await core.shOk("kill -KILL $(cat /tmp/cli.pid)");
    await cli;
    // The container runs on in its scope (as docker's does when its client
    // dies), then ends; its CLI is not there to remove it.
    assertMatch(await units(core), /^tsnspawn-orphan\.scope\s+loaded\s+active\s+running/m);
    await core.waitFor("the scope to end", async () => !(await units(core)).includes("orphan"));
    const found = JSON.parse((await core.tsn(["check", "--dry-run", "--json"])).stdout);
    assertEquals(found.consistent, false);
    assertStringIncludes(JSON.stringify(found), "rm-leftover");
    // A start in between makes it an ordinary container again: check leaves it.
    await core.tsnOk(["start", "orphan"]);
    assertMatch(await units(core), /^tsnspawn-orphan\.service\s+loaded\s+active\s+running/m);
    assert(JSON.parse(await core.tsnOk(["check", "--json"])).consistent);
    await core.tsnOk(["rm", "-f", "orphan"]);
    // Killed again, and this time check removes what --rm would have.
    const again = core.host.run([
      "sh",
      "-c",
      `${
        tsnShell(["run", "--rm", "--name", "orphan", "busybox", "sleep", "2"])
      } & echo $! >/tmp/cli.pid; wait $!`,
    ], { timeoutMs: 60_000 });
    await untilRunning(core, "orphan");
    await core.shOk("kill -KILL $(cat /tmp/cli.pid)");
    await again;
    await core.waitFor("the scope to end", async () => !(await units(core)).includes("orphan"));
    await core.tsnOk(["check"]);
    assertEquals((await core.tsnOk(["list", "-a", "-q"])).trim(), "");
    assert(JSON.parse(await core.tsnOk(["check", "--json"])).consistent);
  },
);

integrationTest(
  "run --rm attached with a memory limit keeps the service (the runtime stays outside it)",
  async (core) => {
    const limited = core.tsn([
      "run",
      "--rm",
      "--name",
      "lim",
      "--memory",
      "32m",
      "busybox",
      "sleep",
      "3",
    ]);
    await untilRunning(core, "lim");
    assertMatch(await units(core), /^tsnspawn-lim\.service\s+loaded\s+active\s+running/m);
    assertEquals((await limited).code, 0);
    assertEquals(await units(core), "");
  },
);

/**
 * Faults, in throwaway systemd hosts: `tsnspawn check` against planted
 * damage; the CLI killed with SIGKILL at random moments of `run`, `pull`,
 * `commit` and `rm` (each round followed by a `check` that must end
 * consistent, and every completed operation still intact); power loss of
 * the whole host with containers running; a crash-looping container that
 * stops at systemd's start limit with a clear status; and 100 containers
 * started and stopped concurrently.
 *
 * The CLI is killed by coreutils `timeout -s KILL`, which signals only the
 * process it started. Stores live on the test host's tmpfs; the registry
 * listens on 127.0.0.1 inside the host.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import {
  type CoreHost,
  CoreHost as Core,
  importBusybox,
  integrationTest,
  tsnspawnArgv,
} from "./helpers.ts";
import { isRoot, withTestHost } from "./testhost.ts";

const ROOT_DIR = "/var/lib/tsnspawn";

/** Shell-quotes one word. */
function q(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The tsnspawn command line as a shell string. */
function tsnShell(args: string[]): string {
  return tsnspawnArgv(args).map(q).join(" ");
}

/** Runs `check --json`; fails unless it exits 0. Returns the findings. */
async function checkConsistent(
  core: CoreHost,
  what: string,
): Promise<{ kind: string; outcome: string }[]> {
  const r = await core.tsn(["check", "--json"]);
  assert(r.code === 0, `check after ${what}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  const report = JSON.parse(r.stdout);
  assert(report.consistent, `check after ${what}: ${r.stdout}`);
  return report.findings;
}

/** Asserts nothing of tsnspawn leaked: mounts below the root, units, leases without containers. */
async function assertNoLeaks(core: CoreHost, what: string): Promise<void> {
  const mounts = await core.shOk(`awk '$5 ~ "^${ROOT_DIR}/" {print $5}' /proc/self/mountinfo`);
  assertEquals(mounts.trim(), "", `mounts below the root after ${what}`);
  const units = (await core.shOk(
    "systemctl list-units --all --plain --no-legend 'tsnspawn-*.service' | awk '{print $1}'",
  ))
    .trim().split("\n").filter(Boolean);
  const containers = (await core.shOk(`ls ${ROOT_DIR}/containers 2>/dev/null || true`)).trim()
    .split("\n").filter(Boolean);
  for (const unit of units) {
    const name = unit.replace(/^tsnspawn-(machine@)?/, "").replace(/\.service$/, "");
    assert(containers.includes(name), `unit ${unit} without a container after ${what}`);
  }
  const leases = await core.sh(`cat ${ROOT_DIR}/networks/*/leases.json 2>/dev/null`);
  for (const text of leases.stdout.split(/(?<=^\})\n/m).filter((t) => t.trim())) {
    for (const lease of JSON.parse(text).leases) {
      assert(
        containers.includes(lease.container),
        `lease of ${lease.address} for missing ${lease.container} after ${what}`,
      );
    }
  }
}

integrationTest(
  "check: a clean store is consistent; planted damage is repaired or reported",
  async (core) => {
    await core.tsnOk(["run", "-d", "--name", "keep", "busybox", "sleep", "1000"]);
    await core.tsnOk(["create", "--name", "stopped", "busybox", "true"]);
    let findings = await checkConsistent(core, "a clean start");
    assertEquals(findings.filter((f) => f.outcome === "repaired"), []);

    // Damage, as crashes and bad luck leave it.
    const r = ROOT_DIR;
    await core.shOk([
      `mkdir -p ${r}/tmp/pull-dead0001/0/diff ${r}/tmp/create-x-dead02`,
      `echo '{"a":' > ${r}/tmp/.repositories.json.dead`,
      `mkdir -p ${r}/containers/noconfig/upper && echo data > ${r}/containers/noconfig/upper/f`,
      `mkdir -p ${r}/containers/corrupt && echo '{"id": "ab' > ${r}/containers/corrupt/config.json`,
      `mkfifo ${r}/containers/stopped/start.fifo ${r}/containers/stopped/setup.fifo`,
      `echo x > ${r}/containers/stopped/state.json.tmp-0123456789ab`,
      `mount -t tmpfs leak ${r}/containers/stopped/rootfs`,
      `mkdir -p ${r}/images/layers/${"f".repeat(64)}`,
      // A unit whose container is gone.
      `systemd-run --unit tsnspawn-ghost.service --collect sleep 1000`,
    ].join(" && "));
    const leases = `${r}/networks/bridge/leases.json`;
    const file = JSON.parse(await core.shOk(`cat ${leases}`));
    file.leases.push({
      address: "10.88.9.9",
      container: "gone",
      id: "f".repeat(64),
      hostname: "gone",
      since: "2020-01-01T00:00:00Z",
    });
    await core.shOk(`cat > ${leases} <<'EOF'\n${JSON.stringify(file)}\nEOF`);

    const dry = await core.tsn(["check", "-n"]);
    assertEquals(dry.code, 1, dry.stdout);
    assertStringIncludes(dry.stdout, "would repair: ");
    assertStringIncludes(dry.stdout, "problem(s) remain");

    const fixed = await core.tsn(["check", "--json"]);
    assertEquals(fixed.code, 0, `${fixed.stdout}\n${fixed.stderr}`);
    const repaired = new Set(
      JSON.parse(fixed.stdout).findings.filter((f: { outcome: string }) => f.outcome === "repaired")
        .map((f: { kind: string }) => f.kind),
    );
    for (
      const kind of [
        "tmp-leftover",
        "container-without-config",
        "container-config-corrupt",
        "stale-fifo",
        "stale-temp-file",
        "leaked-mount",
        "orphan-unit",
        "orphan-lease",
        "partial-layer",
      ]
    ) assert(repaired.has(kind), `${kind} repaired: ${fixed.stdout}`);
    findings = await checkConsistent(core, "repairs");
    assertEquals(
      findings.filter((f) => f.outcome === "repaired"),
      [],
      "a second check finds nothing to repair",
    );
    await assertNoLeaks(core, "repairs");
    // What needed a decision was kept, not deleted.
    assertStringIncludes(await core.shOk(`cat ${r}/lost+found/noconfig-*/upper/f`), "data");
    assertMatch(await core.tsnOk(["list"]), /keep\s+\S+\s+running/);
    await core.tsnOk(["start", "stopped"]);

    // A broken image is reported (exit 1) and not touched.
    const layer = (await core.shOk(`ls ${r}/images/layers`)).trim().split("\n")[0];
    await core.shOk(`mv ${r}/images/layers/${layer} /tmp/layer-away`);
    const broken = await core.tsn(["check"]);
    assertEquals(broken.code, 1);
    assertMatch(
      broken.stdout,
      /problem: docker\.io\/library\/busybox:latest: 1 layer\(s\) missing.*hint: remove it/,
    );
    await core.shOk(`mv /tmp/layer-away ${r}/images/layers/${layer}`);
    await checkConsistent(core, "the layer came back");
  },
);

/** Starts docker-registry on 127.0.0.1:5000 inside the host (config and storage on the host's tmpfs). */
async function startRegistry(core: CoreHost): Promise<Deno.ChildProcess> {
  await core.shOk(
    "mkdir -p /tmp/registry/storage && printf '%s\\n' 'version: 0.1' 'log:' '  level: error' " +
      "'  accesslog:' '    disabled: true' 'storage:' '  filesystem:' '    rootdirectory: /tmp/registry/storage' " +
      "'http:' '  addr: 127.0.0.1:5000' > /tmp/registry/config.yml",
  );
  const child = core.host.spawn(["docker-registry", "serve", "/tmp/registry/config.yml"], {
    stdout: "null",
    stderr: "null",
  });
  await core.waitFor(
    "the registry",
    async () => (await core.host.run(["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/5000"])).success,
  );
  return child;
}

/** Runs tsnspawn inside the host and SIGKILLs it after `delayMs` (only that process). */
async function tsnKilledAfter(core: CoreHost, args: string[], delayMs: number) {
  const r = await core.host.run([
    "bash",
    "-c",
    `exec timeout -s KILL ${(delayMs / 1000).toFixed(3)} ${tsnShell(args)}`,
  ], {
    timeoutMs: 120_000,
  });
  return { ...r, killed: r.code === 137 };
}

const HAVE_REGISTRY = isRoot() &&
  new Deno.Command("sh", { args: ["-c", "command -v docker-registry"], stdout: "null" })
    .outputSync().success;

Deno.test({
  name:
    "faults: SIGKILL at random moments of run, pull, commit and rm (60 rounds), check after each",
  ignore: !HAVE_REGISTRY,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withTestHost({}, async (host) => {
      await importBusybox(host);
      const core = new Core(host);
      const registry = await startRegistry(core);
      try {
        await killLoop(core);
      } finally {
        registry.kill("SIGTERM");
        await registry.status;
      }
    }),
});

async function killLoop(core: CoreHost): Promise<void> {
  const t0 = Date.now();
  // Three distinct images in the registry, each with a 4 MB layer of its own.
  const remote = ["1", "2", "3"].map((n) => `127.0.0.1:5000/faults/big${n}:1`);
  for (const [i, ref] of remote.entries()) {
    await core.tsnOk([
      "run",
      "--name",
      `seed${i}`,
      "--network",
      "none",
      "busybox",
      "sh",
      "-c",
      "head -c 4000000 /dev/urandom > /big",
    ]);
    await core.tsnOk(["commit", `seed${i}`, ref]);
    await core.tsnOk(["push", ref]);
    await core.tsnOk(["rm", `seed${i}`]);
    await core.tsnOk(["rmi", ref]);
  }
  const running = new Set<string>(); // run -d completed, not removed since
  const maybe = new Set<string>(); // a killed run or rm: may exist
  const removed = new Set<string>(); // rm completed
  const pulled = new Set<string>();
  const committed = new Set<string>();
  const counts: Record<string, { rounds: number; killed: number }> = {};
  const rand = (n: number) => Math.floor(Math.random() * n);
  const repairs: Record<string, number> = {};
  const typical: Record<string, number> = { run: 1500, pull: 1500, commit: 1500, rm: 1500 };
  for (const n of [0, 1, 2]) {
    await core.tsnOk(["run", "-d", "--name", `base${n}`, "busybox", "sleep", "3600"]);
    running.add(`base${n}`);
  }
  const ROUNDS = 60;
  for (let i = 0; i < ROUNDS; i++) {
    const ops = ["run", "run", "pull", "commit", "rm"];
    let op = ops[rand(ops.length)];
    if ((op === "commit" || op === "rm") && running.size + maybe.size === 0) op = "run";
    if (op === "commit" && running.size === 0) op = "run";
    // Mostly inside the operation: between the CLI's start-up and its typical duration.
    const delay = 30 + rand(Math.max(100, Math.round(typical[op] * 1.1) - 30));
    let args: string[];
    let name = "";
    switch (op) {
      case "run":
        name = `r${i}`;
        args = ["run", "-d", "--name", name, "busybox", "sleep", "3600"];
        break;
      case "pull": {
        let ref = remote.find((r) => !pulled.has(r));
        if (!ref) {
          // All pulled: give one back (deliberately, not killed) so the pull downloads again.
          ref = remote[rand(remote.length)];
          await core.tsnOk(["rmi", ref]);
          pulled.delete(ref);
        }
        name = ref;
        args = ["pull", "-q", ref];
        break;
      }
      case "commit":
        name = [...running][rand(running.size)];
        args = ["commit", name, `committed${i}:1`];
        break;
      default: {
        const pool = [...running, ...maybe];
        name = pool[rand(pool.length)];
        args = ["rm", "-f", name];
      }
    }
    const started = Date.now();
    const r = await tsnKilledAfter(core, args, delay);
    if (!r.killed) typical[op] = Date.now() - started;
    counts[op] ??= { rounds: 0, killed: 0 };
    counts[op].rounds++;
    if (r.killed) counts[op].killed++;
    else if (!(op === "rm" && maybe.has(name) && r.stderr.includes("no such container"))) {
      assertEquals(r.code, 0, `${args.join(" ")}: ${r.stdout}\n${r.stderr}`);
    }
    switch (op) {
      case "run":
        (r.killed ? maybe : running).add(name);
        break;
      case "pull":
        if (!r.killed) pulled.add(name);
        break;
      case "commit":
        if (!r.killed) committed.add(`committed${i}:1`);
        break;
      case "rm":
        running.delete(name);
        maybe.delete(name);
        if (r.killed) maybe.add(name);
        else removed.add(name);
    }
    const findings = await checkConsistent(
      core,
      `round ${i} (${args.join(" ")}, killed: ${r.killed} after ${delay} ms)`,
    );
    for (const f of findings) {
      if (f.outcome === "repaired") repairs[f.kind] = (repairs[f.kind] ?? 0) + 1;
    }
    if (i % 10 === 9 || i === ROUNDS - 1) {
      await assertIntact(core, i, running, removed, [...pulled, ...committed]);
    }
  }
  await assertNoLeaks(core, "the kill loop");
  // Containers of killed runs are usable: they start (or run) and can be removed.
  for (const name of maybe) {
    const exists = (await core.tsn(["inspect", name])).code === 0;
    if (exists) await core.tsnOk(["rm", "-f", name]);
  }
  await checkConsistent(core, "removing the leftovers");
  await assertNoLeaks(core, "removing the leftovers");
  console.log(
    `kill loop: ${JSON.stringify(counts)}, repairs ${JSON.stringify(repairs)} in ${
      ((Date.now() - t0) / 1000).toFixed(1)
    } s`,
  );
}

/** Every completed run is running, every completed rm gone, every pulled/committed image resolves. */
async function assertIntact(
  core: CoreHost,
  round: number,
  running: Set<string>,
  removed: Set<string>,
  images: string[],
): Promise<void> {
  const rows = JSON.parse(await core.tsnOk(["list", "-a", "--json"])) as {
    name: string;
    state: string;
  }[];
  const states = new Map(rows.map((r) => [r.name, r.state]));
  for (const name of running) {
    assertEquals(states.get(name), "running", `${name} after round ${round}`);
  }
  for (const name of removed) assert(!states.has(name) || !removed.has(name), `${name} removed`);
  if (images.length > 0) {
    const inspected = JSON.parse(await core.tsnOk(["image", "inspect", ...images]));
    assertEquals(inspected.length, images.length);
  }
}

Deno.test({
  name:
    "faults: power loss with containers running; after boot check is consistent, containers restart with their leases",
  ignore: !isRoot(),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withTestHost({}, async (host) => {
      await importBusybox(host);
      const core = new Core(host);
      await core.tsnOk(["run", "-d", "--name", "a", "busybox", "sleep", "3600"]);
      await core.tsnOk([
        "run",
        "-d",
        "--name",
        "b",
        "-p",
        "127.0.0.1:8080:80",
        "busybox",
        "httpd",
        "-f",
        "-p",
        "80",
      ]);
      await core.tsnOk([
        "run",
        "-d",
        "--name",
        "n",
        "--network",
        "none",
        "busybox",
        "sleep",
        "3600",
      ]);
      const before = JSON.parse(await core.tsnOk(["list", "--json"])) as {
        name: string;
        address: string | null;
      }[];
      const leases = await core.shOk(`cat ${ROOT_DIR}/networks/bridge/leases.json`);

      await host.powerOff(true);
      await host.boot();

      await checkConsistent(core, "power loss");
      await assertNoLeaks(core, "power loss");
      assertEquals(
        await core.shOk(`cat ${ROOT_DIR}/networks/bridge/leases.json`),
        leases,
        "leases intact",
      );
      for (const name of ["a", "b", "n"]) await core.tsnOk(["start", name]);
      const after = JSON.parse(await core.tsnOk(["list", "--json"])) as {
        name: string;
        state: string;
        address: string | null;
      }[];
      assertEquals(
        after.map((r) => [r.name, r.state, r.address]),
        before.map((r) => [r.name, "running", r.address]),
      );
      await core.waitFor(
        "httpd",
        async () =>
          (await core.sh("wget -q -O /dev/null http://127.0.0.1:8080/ 2>&1; echo $?")).stdout
            .trim() !== "4",
      );
      await checkConsistent(core, "restarting after power loss");
    }),
});

integrationTest(
  "faults: a crash-looping container stops at the start limit with a clear status",
  async (core) => {
    await core.tsnOk([
      "run",
      "-d",
      "--name",
      "loop",
      "--network",
      "none",
      "--restart",
      "on-failure:2",
      "busybox",
      "sh",
      "-c",
      "exit 1",
    ]);
    let listing = "";
    await core.waitFor("the start limit", async () => {
      listing = await core.tsnOk(["list", "-a"]);
      return listing.includes("start limit hit");
    }, 20_000);
    assertMatch(
      listing,
      /loop\s+\S+\s+failed \(start limit hit after \d+ restarts, last exited 1\)/,
    );
    assertStringIncludes(
      await core.tsnOk(["status", "loop"]),
      "State: failed (start limit hit after",
    );
    const journal = await core.shOk("journalctl --no-pager -o cat -u tsnspawn-loop.service");
    assertStringIncludes(journal, "Start request repeated too quickly");
    await checkConsistent(core, "a crash loop");

    // --restart always restarts forever, as docker does: the status says so.
    await core.tsnOk([
      "run",
      "-d",
      "--name",
      "forever",
      "--network",
      "none",
      "--restart",
      "always",
      "busybox",
      "sh",
      "-c",
      "exit 1",
    ]);
    await core.waitFor("restarts", async () => {
      const info = JSON.parse(await core.tsnOk(["inspect", "forever"]));
      return info.State.Restarts >= 3;
    }, 20_000);
    assertMatch(await core.tsnOk(["status", "forever"]), /Restarts: \d+ \(policy: always\)/);
    await core.tsnOk(["rm", "-f", "forever"]);
    await checkConsistent(core, "removing a crash loop");
  },
);

integrationTest(
  "faults: 100 containers start and stop concurrently, 10 at a time, without state damage",
  async (core) => {
    const names = Array.from({ length: 100 }, (_, i) => `c${i}`);
    const t0 = Date.now();
    const each = async (action: (name: string) => Promise<unknown>) => {
      const queue = [...names];
      await Promise.all(Array.from({ length: 10 }, async () => {
        while (queue.length > 0) await action(queue.shift()!);
      }));
    };
    // --init: tini as PID 1 ends on SIGTERM at once (a bare `sleep` as PID 1 ignores it).
    await each((n) => core.tsnOk(["run", "-d", "--init", "--name", n, "busybox", "sleep", "3600"]));
    const started = Date.now();
    const rows = JSON.parse(await core.tsnOk(["list", "--json"])) as {
      name: string;
      state: string;
      address: string;
    }[];
    assertEquals(rows.filter((r) => r.state === "running").length, 100);
    assertEquals(new Set(rows.map((r) => r.address)).size, 100, "distinct addresses");
    await checkConsistent(core, "100 starts");
    await each((n) => core.tsnOk(["stop", n]));
    const stopped = Date.now();
    await checkConsistent(core, "100 stops");
    await each((n) => core.tsnOk(["rm", n]));
    await checkConsistent(core, "100 removals");
    await assertNoLeaks(core, "100 removals");
    assertEquals((await core.tsnOk(["list", "-a", "-q"])).trim(), "");
    const s = (a: number, b: number) => ((b - a) / 1000).toFixed(1);
    console.log(
      `100 containers: run ${s(t0, started)} s, stop ${s(started, stopped)} s, total ${
        s(t0, Date.now())
      } s`,
    );
  },
);

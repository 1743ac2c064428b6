/**
 * Declared containers in a real systemd (the throwaway host), with the
 * generator installed as ./setup installs it and systemd-machined running:
 * the examples start through `systemctl start`, ordering between containers
 * holds, Restart=on-failure restarts, enabled containers come back after a
 * power-off and boot with the same /etc/tsnspawn and /var/lib/tsnspawn, a
 * broken file is reported with its line and does not stop the others, and
 * machinectl lists and terminates containers.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { join } from "@std/path";
import { CoreHost, importBusybox, REPO } from "./helpers.ts";
import { isRoot, TestHost } from "./testhost.ts";
import { declaredTest as declaredHostTest, fetchPage, isActive, show } from "./declared_host.ts";
import type { TestHostOptions } from "./testhost.ts";

/** A declared-containers test whose files are `.container` files named by their keys. */
function declaredTest(
  name: string,
  options: { files: Record<string, string>; host?: TestHostOptions },
  fn: (core: CoreHost, host: TestHost) => Promise<void>,
): void {
  const files = Object.fromEntries(
    Object.entries(options.files).map(([file, text]) => [`${file}.container`, text]),
  );
  declaredHostTest(name, { files, host: options.host }, fn);
}

function example(name: string): string {
  return Deno.readTextFileSync(join(REPO, "examples", `${name}.container`));
}

declaredTest(
  "declared: the web example starts through systemctl, as a real unit with the container's properties",
  {
    files: { web: example("web") },
  },
  async (core) => {
    await core.shOk("systemctl start tsnspawn-web.service");
    assertEquals((await fetchPage(core, 8080)).trim(), "hello from tsnspawn");
    const props = await show(
      core,
      "tsnspawn-web.service",
      "Type",
      "Slice",
      "KillMode",
      "MemoryMax",
      "TasksMax",
      "SourcePath",
      "Restart",
    );
    assertEquals(props, {
      Type: "notify",
      Slice: "machine.slice",
      KillMode: "mixed",
      MemoryMax: "67108864",
      TasksMax: "64",
      SourcePath: "/etc/tsnspawn/web.container",
      Restart: "on-failure",
    });
    assertMatch(await core.tsnOk(["list"]), /\nweb\s+\S+\s+running/);
    // The journal, through tsnspawn too.
    await fetchPage(core, 8080);
    await core.waitFor(
      "the request in the log",
      // busybox httpd logs requests on stderr.
      async () => (await core.tsn(["logs", "web"])).stderr.includes("response:200"),
    );

    // systemd stops it; tsnspawn starts it again through the same unit.
    await core.shOk("systemctl stop tsnspawn-web.service");
    assertEquals(await isActive(core, "tsnspawn-web.service"), "inactive");
    assertEquals((await core.tsnOk(["start", "web"])).trim(), "web");
    assertEquals(await isActive(core, "tsnspawn-web.service"), "active");
    await fetchPage(core, 8080);

    // The writable layer stays while the file stays the same…
    await core.tsnOk(["exec", "web", "sh", "-c", "echo kept > /marker"]);
    await core.tsnOk(["restart", "web"]);
    assertEquals((await core.tsnOk(["exec", "web", "cat", "/marker"])).trim(), "kept");
    // …and a changed file makes a new container (daemon-reload included).
    await core.shOk(
      "sed -i '/^\\[Container\\]/a Environment=CHANGED=1' /etc/tsnspawn/web.container",
    );
    await core.tsnOk(["restart", "web"]);
    assertEquals((await core.tsnOk(["exec", "web", "sh", "-c", "echo $CHANGED"])).trim(), "1");
    assert(
      (await core.tsn(["exec", "web", "cat", "/marker"])).code !== 0,
      "the old writable layer is still there",
    );

    // cat shows the file and the unit made from it.
    const cat = await core.tsnOk(["cat", "web"]);
    assertStringIncludes(cat, "# /etc/tsnspawn/web.container\n");
    assertStringIncludes(cat, "Environment=CHANGED=1");
    assertMatch(cat, /\nExecStartPre=\S+ .*__prepare web\n/);
    assertMatch(cat, /\nExecStart=\S+ .*__shim web\n/);
    await core.tsnOk(["stop", "web"]);
  },
);

declaredTest("declared: app-web requires app-db and starts after it", {
  files: { "app-db": example("app-db"), "app-web": example("app-web") },
}, async (core) => {
  await core.shOk("systemctl start tsnspawn-app-web.service");
  assertEquals(await isActive(core, "tsnspawn-app-db.service"), "active");
  const db = await show(core, "tsnspawn-app-db.service", "ActiveEnterTimestampMonotonic");
  const web = await show(core, "tsnspawn-app-web.service", "InactiveExitTimestampMonotonic");
  assert(
    Number(db.ActiveEnterTimestampMonotonic) <= Number(web.InactiveExitTimestampMonotonic),
    `app-web began starting (${web.InactiveExitTimestampMonotonic}) before app-db was up (${db.ActiveEnterTimestampMonotonic})`,
  );
  assertEquals((await fetchPage(core, 8082)).trim(), "stock: 42 widgets in stock");
  // Requires=: stopping the database stops the front end.
  await core.shOk("systemctl stop tsnspawn-app-db.service");
  await core.waitFor(
    "app-web to stop with app-db",
    async () => (await isActive(core, "tsnspawn-app-web.service")) !== "active",
  );
});

declaredTest("declared: the worker example is restarted on failure until its work is done", {
  files: { worker: example("worker") },
}, async (core) => {
  await core.shOk("systemctl start --no-block tsnspawn-worker.service");
  // Once done, the unit is inactive and unloaded: its journal tells the story.
  await core.waitFor(
    "the worker to finish",
    async () => (await core.tsn(["logs", "worker"])).stdout.includes("work done"),
    30_000,
  );
  // Each line on the stream it was written to.
  const logs = await core.tsn(["logs", "worker"]);
  const lines = (text: string) =>
    text.split("\n").filter((l) => l.startsWith("attempt") || l === "work done");
  assertEquals(lines(logs.stdout), ["attempt 1", "attempt 2", "attempt 3", "work done"]);
  assertEquals(lines(logs.stderr), ["attempt 1 failed", "attempt 2 failed"]);
  const journal = await core.shOk("journalctl --no-pager -o cat -u tsnspawn-worker.service");
  assertStringIncludes(journal, "restart counter is at 2");
  assert(!journal.includes("restart counter is at 3"), journal);
  await core.waitFor(
    "the worker unit to end",
    async () => (await isActive(core, "tsnspawn-worker.service")) === "inactive",
  );
  assertMatch(await core.tsnOk(["list", "-a"]), /\nworker\s+\S+\s+exited \(0\)/);
});

/** A small container that stops at once on SIGTERM, started at boot (default.target of the test host). */
const BOOTED = `[Container]
Image=busybox
Network=none
RunInit=yes
Exec=sleep 100000

[Install]
WantedBy=default.target
`;

declaredTest(
  "declared: enabled containers come back after power-off and power loss; disabled ones do not",
  {
    files: { keep: BOOTED, other: BOOTED },
  },
  async (core, host) => {
    await core.tsnOk(["enable", "--now", "keep"]);
    assertEquals(await isActive(core, "tsnspawn-keep.service"), "active");
    assertStringIncludes(
      (await show(core, "default.target", "Wants")).Wants,
      "tsnspawn-keep.service",
    );
    assertEquals(
      (await core.sh("readlink /etc/tsnspawn/enabled/keep.container")).stdout.trim(),
      "../keep.container",
    );
    await core.shOk("systemctl start tsnspawn-other.service"); // running, not enabled
    await core.tsnOk(["exec", "keep", "sh", "-c", "echo before > /marker"]);

    await host.powerOff();
    await host.boot();
    assertEquals(await isActive(core, "tsnspawn-keep.service"), "active");
    assertEquals(await isActive(core, "tsnspawn-other.service"), "inactive");
    assertEquals((await core.tsnOk(["exec", "keep", "cat", "/marker"])).trim(), "before");
    await core.waitFor(
      "keep in machinectl",
      async () => (await core.shOk("machinectl list --no-legend")).includes("keep"),
    );

    // Power loss: the host's PID 1 SIGKILLed with the container running. After
    // boot the enabled container is back with its writable layer, and
    // `tsnspawn check` finds (or leaves, after its safe repairs) a consistent store.
    await host.powerOff(true);
    await host.boot();
    assertEquals(await isActive(core, "tsnspawn-keep.service"), "active");
    assertEquals((await core.tsnOk(["exec", "keep", "cat", "/marker"])).trim(), "before");
    await core.tsnOk(["check"]);

    await core.tsnOk(["disable", "keep"]);
    assert(!(await show(core, "default.target", "Wants")).Wants.includes("tsnspawn-keep.service"));
    await host.powerOff();
    await host.boot();
    assertEquals(await isActive(core, "tsnspawn-keep.service"), "inactive");
  },
);

const BROKEN = `[Container]
Image=busybox
Exec=true
Memroy=64m
`;

declaredTest(
  "declared: a broken file is reported by line (journal, validate, start) and the others still start",
  {
    files: { good: BOOTED, broken: BROKEN },
  },
  async (core) => {
    await core.shOk("systemctl start tsnspawn-good.service");
    assertEquals(await isActive(core, "tsnspawn-good.service"), "active");
    assertEquals((await show(core, "tsnspawn-broken.service", "LoadState")).LoadState, "not-found");
    // At boot journald is not up yet when generators run; a reload logs to it.
    await core.shOk("systemctl daemon-reload");
    const journal = await core.shOk("journalctl --no-pager -o cat -t tsnspawn-generator");
    assertStringIncludes(
      journal,
      "/etc/tsnspawn/broken.container:4: unknown key Memroy= in [Container]",
    );
    assertStringIncludes(journal, "did you mean Memory=?");
    assert(!journal.includes("good.container"), journal);
    assertEquals(await isActive(core, "tsnspawn-good.service"), "active");

    const validate = await core.tsn(["validate"]);
    assertEquals(validate.code, 1);
    assertStringIncludes(validate.stderr, "/etc/tsnspawn/broken.container:4: unknown key Memroy=");
    assertStringIncludes(validate.stdout, "/etc/tsnspawn/good.container: ok");
    assertEquals((await core.tsn(["validate", "good"])).code, 0);
    const start = await core.tsn(["start", "broken"]);
    assertEquals(start.code, 1);
    assertStringIncludes(start.stderr, "broken.container:4: unknown key Memroy=");
  },
);

declaredTest("machined: machinectl lists declared and transient containers; terminate stops one", {
  files: { m1: BOOTED },
}, async (core) => {
  await core.shOk("systemctl start tsnspawn-m1.service");
  await core.tsnOk([
    "run",
    "-d",
    "--name",
    "m_2",
    "--network",
    "none",
    "--init",
    "busybox",
    "sleep",
    "100000",
  ]);
  const machines = async () => (await core.shOk("machinectl list --no-legend")).trim();
  await core.waitFor(
    "both machines",
    async () =>
      /^m1\s+container\s+tsnspawn-m1\.service/m.test(await machines()) &&
      /^m-2\s+container\s+tsnspawn-m_2\.service/m.test(await machines()),
  );
  const status = await core.shOk("machinectl status m1 --no-pager");
  const mainPid = (await show(core, "tsnspawn-m1.service", "MainPID")).MainPID;
  assertMatch(status, new RegExp(`Leader: ${mainPid} \\(init\\)`)); // tini, with RunInit=yes
  assertStringIncludes(status, "Root: /var/lib/tsnspawn/containers/m1/rootfs");

  await core.shOk("machinectl terminate m1");
  await core.waitFor(
    "m1 to stop",
    async () => !["active", "deactivating"].includes(await isActive(core, "tsnspawn-m1.service")),
  );
  await core.waitFor("m1 to leave machinectl", async () => !(await machines()).includes("m1"));
  await core.tsnOk(["stop", "m_2"]);
  await core.waitFor("m-2 to leave machinectl", async () => !(await machines()).includes("m-2"));
});

Deno.test({
  name: "machined: without machined containers still start",
  ignore: !isRoot(),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    // An empty unit file masks machined: registration fails and is ignored.
    const host = await TestHost.create({ units: { "systemd-machined.service": "" } });
    try {
      await host.boot();
      await importBusybox(host);
      const core = new CoreHost(host);
      const out = await core.tsnOk([
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "echo",
        "still works",
      ]);
      assertStringIncludes(out, "still works");
    } finally {
      await host.dispose();
    }
  },
});

/**
 * Container lifecycle through a real systemd, D-Bus and journald: output and
 * exit codes, --rm, the writable layer, stop/start/restart, exec, volumes,
 * concurrency, and what a failed start leaves (nothing).
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { integrationTest } from "./helpers.ts";

integrationTest("run: output reaches the CLI and the journal, stderr to stderr", async (core) => {
  const run = await core.tsn([
    "run",
    "--name",
    "hello",
    "busybox",
    "sh",
    "-c",
    // stdout and stderr are two journal streams: a pause keeps their order.
    "echo err-line >&2; sleep 0.3; echo out-line; echo '<3>kept as written'",
  ]);
  assertEquals(run.code, 0, run.stderr);
  // "<3>" stays: not a syslog level for journald to strip (SyslogLevelPrefix=no).
  assertEquals(run.stdout, "out-line\n<3>kept as written\n");
  assertEquals(run.stderr, "err-line\n");
  const journal = await core.shOk("journalctl --no-pager -o cat -u tsnspawn-hello.service");
  assertStringIncludes(journal, "out-line");
  const byField = await core.shOk("journalctl --no-pager -o cat TSNSPAWN_CONTAINER=hello");
  assertStringIncludes(byField, "err-line");
  // stderr has a stream of its own, priority "err" (stdout's lines are "info").
  const errors = await core.shOk(
    "journalctl --no-pager -o cat -p err -u tsnspawn-hello.service TSNSPAWN_CONTAINER=hello",
  );
  assertEquals(errors.trim(), "err-line");
  // Also from a container with limits, whose runtime works outside the unit's cgroups.
  await core.tsnOk([
    "run",
    "--rm",
    "--name",
    "limited",
    "--memory",
    "64m",
    "busybox",
    "sh",
    "-c",
    "echo limited-err >&2",
  ]);
  const limited = await core.shOk(
    "journalctl --no-pager -o cat -p err -u tsnspawn-limited.service TSNSPAWN_CONTAINER=limited",
  );
  assertEquals(limited.trim(), "limited-err");
  const logs = await core.tsn(["logs", "hello"]);
  assertEquals(logs.stdout, "out-line\n<3>kept as written\n");
  assertEquals(logs.stderr, "err-line\n");
  const tail = await core.tsnOk(["logs", "-n", "1", "hello"]);
  assertEquals(tail.trim(), "<3>kept as written");
});

integrationTest("run: many lines arrive complete and in order", async (core) => {
  const out = await core.tsnOk([
    "run",
    "--rm",
    "busybox",
    "sh",
    "-c",
    "i=0; while [ $i -lt 3000 ]; do echo line-$i; i=$((i+1)); done",
  ]);
  const lines = out.trim().split("\n");
  assertEquals(lines.length, 3000);
  assertEquals(lines[0], "line-0");
  assertEquals(lines[2999], "line-2999");
  // A line longer than journalctl's 4096-byte field limit arrives whole.
  const long = await core.tsnOk([
    "run",
    "--rm",
    "busybox",
    "sh",
    "-c",
    "head -c 5000 /dev/zero | tr '\\0' x; echo",
  ]);
  assertEquals(long, "x".repeat(5000) + "\n");
});

integrationTest("run: exit codes propagate, signals as 128+N", async (core) => {
  assertEquals((await core.tsn(["run", "--rm", "busybox", "sh", "-c", "exit 3"])).code, 3);
  assertEquals((await core.tsn(["run", "--rm", "busybox", "true"])).code, 0);
  // A signal from inside to the namespace's init is ignored (pid_namespaces(7)),
  // so the signal comes from outside, as `docker kill` sends it.
  const attached = core.tsn(["run", "--name", "sig", "busybox", "sleep", "1000"]);
  // Running, not still starting: a kill during the start fails the start (125).
  await core.waitFor("the container to run", async () => {
    const rows = JSON.parse(await core.tsnOk(["list", "--json"])) as {
      name: string;
      state: string;
    }[];
    return rows.some((row) => row.name === "sig" && row.state === "running");
  });
  await core.tsnOk(["kill", "sig"]);
  assertEquals((await attached).code, 137);
  assertMatch(await core.tsnOk(["list", "-a"]), /\nsig\s+\S+\s+killed \((9|KILL|SIGKILL)\)/);
});

integrationTest("run --rm leaves no state dir, no mount, no unit", async (core) => {
  await core.tsnOk(["run", "--rm", "--name", "gone", "busybox", "true"]);
  const left = await core.sh("ls /var/lib/tsnspawn/containers/gone");
  assert(left.code !== 0, "the container directory is still there");
  const mounts = await core.shOk("cat /proc/mounts");
  assert(!mounts.includes("containers/gone"), mounts);
  const units = await core.shOk("systemctl list-units --all --no-legend 'tsnspawn-*.service'");
  assertEquals(units.trim(), "");
  assertEquals((await core.tsnOk(["list", "-a", "-q"])).trim(), "");
});

integrationTest("run -d: list, status, inspect --json, stop, start, rm", async (core) => {
  const id = (await core.tsnOk([
    "run",
    "-d",
    "--name",
    "web",
    "busybox",
    "httpd",
    "-f",
    "-p",
    "8080",
    "-h",
    "/var/www",
  ])).trim();
  assertMatch(id, /^[0-9a-f]{64}$/);
  const list = await core.tsnOk(["list"]);
  assertMatch(list, /^NAME\s+IMAGE\s+STATE\s+PID\s+UPTIME\s+MEMORY/);
  assertMatch(list, /\nweb\s+docker\.io\/library\/busybox:latest\s+running\s+\d+/);
  const rows = JSON.parse(await core.tsnOk(["list", "--json"]));
  assertEquals(rows.length, 1);
  assertEquals(rows[0].name, "web");
  assertEquals(rows[0].state, "running");
  const status = await core.tsnOk(["status", "web"]);
  assertStringIncludes(status, "Unit: tsnspawn-web.service");
  assertMatch(status, /Main PID: \d+ \(httpd\)/);
  const inspect = JSON.parse(await core.tsnOk(["inspect", "web"]));
  assertEquals(inspect.Id, id);
  assertEquals(inspect.State.Running, true);
  assertEquals(inspect.Config.command, ["httpd", "-f", "-p", "8080", "-h", "/var/www"]);
  // The unit as systemd sees it.
  assertEquals(await core.unitProperty("tsnspawn-web.service", "Slice"), "machine.slice");
  assertEquals(await core.unitProperty("tsnspawn-web.service", "Type"), "notify");
  assertEquals(await core.unitProperty("tsnspawn-web.service", "KillMode"), "mixed");
  assertEquals(await core.unitProperty("tsnspawn-web.service", "DevicePolicy"), "closed");
  assertEquals(await core.unitProperty("tsnspawn-web.service", "SyslogIdentifier"), "web");
  await core.tsnOk(["stop", "web"]);
  assertMatch(await core.tsnOk(["list", "-a"]), /\nweb\s+\S+\s+(exited|killed)/);
  assertEquals((await core.tsnOk(["list"])).trim().split("\n").length, 1);
  await core.tsnOk(["start", "web"]);
  assertMatch(await core.tsnOk(["list"]), /\nweb\s+\S+\s+running/);
  const busy = await core.tsn(["rm", "web"]);
  assertEquals(busy.code, 1);
  assertStringIncludes(busy.stderr, "is running");
  await core.tsnOk(["rm", "-f", "web"]);
  assertEquals((await core.tsnOk(["list", "-a", "-q"])).trim(), "");
  assertEquals(
    (await core.shOk("systemctl list-units --all --no-legend 'tsnspawn-*.service'")).trim(),
    "",
  );
});

integrationTest("the writable layer survives stop/start and is gone after rm", async (core) => {
  await core.tsnOk([
    "run",
    "-d",
    "--name",
    "keep",
    "busybox",
    "sh",
    "-c",
    "echo data > /state; sleep 1000",
  ]);
  await core.waitFor(
    "the file in the writable layer",
    async () => (await core.sh("test -f /var/lib/tsnspawn/containers/keep/upper/state")).code === 0,
  );
  await core.tsnOk(["stop", "-t", "1", "keep"]);
  await core.tsnOk(["start", "keep"]);
  const out = await core.tsnOk(["exec", "keep", "cat", "/state"]);
  assertEquals(out.trim(), "data");
  await core.tsnOk(["rm", "-f", "keep"]);
  assert((await core.sh("test -e /var/lib/tsnspawn/containers/keep")).code !== 0);
  // A new container of the same name starts from the image again.
  const fresh = await core.tsn(["run", "--rm", "--name", "keep", "busybox", "cat", "/state"]);
  assert(fresh.code !== 0);
});

integrationTest(
  "exec sees the container's PID namespace, files, user and environment",
  async (core) => {
    await core.tsnOk([
      "run",
      "-d",
      "--name",
      "box",
      "-e",
      "FOO=bar",
      "busybox",
      "sh",
      "-c",
      "echo marker > /tmp/m; sleep 1000",
    ]);
    await core.waitFor(
      "the marker",
      async () => (await core.tsn(["exec", "box", "cat", "/tmp/m"])).code === 0,
    );
    const ps = await core.tsnOk(["exec", "box", "ps", "-o", "pid,comm"]);
    assertMatch(ps, /\n\s*1\s+sleep/);
    assert(!ps.includes("systemd"), ps);
    assertEquals((await core.tsnOk(["exec", "box", "sh", "-c", "echo $FOO"])).trim(), "bar");
    assertEquals(
      (await core.tsnOk(["exec", "-e", "FOO=baz", "box", "sh", "-c", "echo $FOO"])).trim(),
      "baz",
    );
    assertEquals((await core.tsnOk(["exec", "-u", "1000", "box", "id", "-u"])).trim(), "1000");
    assertEquals((await core.tsnOk(["exec", "-w", "/tmp", "box", "pwd"])).trim(), "/tmp");
    assertEquals((await core.tsn(["exec", "box", "sh", "-c", "exit 7"])).code, 7);
    const status = await core.tsnOk([
      "exec",
      "box",
      "grep",
      "-E",
      "^(CapEff|NoNewPrivs)",
      "/proc/self/status",
    ]);
    assertMatch(status, /CapEff:\s+00000000a80425fb/);
    assertMatch(status, /NoNewPrivs:\s+1/);
    // The exec'd process belongs to the container's unit.
    const cgroup = await core.tsnOk(["exec", "box", "cat", "/proc/self/cgroup"]);
    assert(!cgroup.includes("init.scope"), cgroup);
    const missing = await core.tsn(["exec", "box", "/no/such"]);
    assertEquals(missing.code, 127);
    await core.tsnOk(["rm", "-f", "box"]);
  },
);

integrationTest(
  "volumes: read-write and read-only binds, read-only submounts too",
  async (core) => {
    // /srv/ro/sub is a mount of its own below the read-only volume's source.
    await core.shOk(
      "mkdir -p /srv/rw /srv/ro/sub && echo host > /srv/ro/file && " +
        "mount -t tmpfs sub /srv/ro/sub && echo host > /srv/ro/sub/file",
    );
    const tryWrite = (path: string) =>
      `if echo x > ${path}; then echo WROTE ${path}; else echo REFUSED ${path}; fi`;
    const out = await core.tsnOk([
      "run",
      "--rm",
      "-v",
      "/srv/rw:/data",
      "-v",
      "/srv/ro:/config:ro",
      "busybox",
      "sh",
      "-c",
      `echo written > /data/out && cat /config/file && ${tryWrite("/config/file")} && ${
        tryWrite("/config/sub/file")
      }`,
    ]);
    assertStringIncludes(out, "host");
    assertStringIncludes(out, "REFUSED /config/file");
    assertStringIncludes(out, "REFUSED /config/sub/file");
    assert(!out.includes("WROTE"), out);
    assertEquals((await core.shOk("cat /srv/rw/out")).trim(), "written");
    assertEquals((await core.shOk("cat /srv/ro/file /srv/ro/sub/file")).trim(), "host\nhost");
    // The host's own submount stays writable: the read-only flag is the container's.
    await core.shOk("echo ok > /srv/ro/sub/file && umount /srv/ro/sub");
  },
);

integrationTest("20 containers started concurrently all run and list correctly", async (core) => {
  const names = Array.from({ length: 20 }, (_, i) => `c${i}`);
  const results = await Promise.all(
    names.map((name) => core.tsn(["run", "-d", "--name", name, "busybox", "sleep", "1000"])),
  );
  for (const [i, result] of results.entries()) {
    assertEquals(result.code, 0, `${names[i]}: ${result.stderr}`);
  }
  const rows = JSON.parse(await core.tsnOk(["list", "--json"])) as {
    name: string;
    state: string;
    pid: number;
  }[];
  assertEquals(rows.map((r) => r.name).sort(), [...names].sort());
  assert(rows.every((r) => r.state === "running" && r.pid > 0));
  assertEquals(new Set(rows.map((r) => r.pid)).size, 20);
  const removed = await Promise.all(names.map((name) => core.tsn(["rm", "-f", name])));
  assert(removed.every((r) => r.code === 0), removed.map((r) => r.stderr).join("\n"));
  assertEquals((await core.tsnOk(["list", "-a", "-q"])).trim(), "");
});

integrationTest(
  "a failed start shows the reason and leaves no unit, mount or --rm state",
  async (core) => {
    const bad = await core.tsn(["run", "--rm", "--name", "bad", "busybox", "/no/such/command"]);
    assertEquals(bad.code, 125);
    assertStringIncludes(bad.stderr, "container bad failed to start");
    assertStringIncludes(bad.stderr, "/no/such/command");
    assertEquals(bad.stderr.trim().split("\n").length, 2, bad.stderr); // error + hint
    assert((await core.sh("test -e /var/lib/tsnspawn/containers/bad")).code !== 0);
    assertEquals(
      (await core.shOk("systemctl list-units --all --no-legend 'tsnspawn-*.service'")).trim(),
      "",
    );
    assert(!(await core.shOk("cat /proc/mounts")).includes("tsnspawn/containers"));
    // Without --rm the container stays (as docker keeps it) and can be removed.
    const kept = await core.tsn(["run", "--name", "kept", "busybox", "/no/such/command"]);
    assertEquals(kept.code, 125);
    assertMatch(await core.tsnOk(["list", "-a"]), /\nkept\s/);
    assertEquals(
      (await core.shOk("systemctl list-units --all --no-legend 'tsnspawn-*.service'")).trim(),
      "",
    );
    await core.tsnOk(["rm", "kept"]);
  },
);

integrationTest(
  "stop of a PID 1 that ignores SIGTERM ends after the stop timeout",
  async (core) => {
    await core.tsnOk([
      "run",
      "-d",
      "--name",
      "stubborn",
      "--stop-timeout",
      "2",
      "busybox",
      "sleep",
      "1000",
    ]);
    const started = Date.now();
    await core.tsnOk(["stop", "stubborn"]);
    const took = Date.now() - started;
    assert(took >= 1500, `stop took ${took} ms: the timeout was not waited for`);
    assertMatch(await core.tsnOk(["list", "-a"]), /\nstubborn\s+\S+\s+(killed|exited)/);
    // -t overrides the timeout.
    await core.tsnOk(["start", "stubborn"]);
    const again = Date.now();
    await core.tsnOk(["stop", "-t", "0", "stubborn"]);
    assert(Date.now() - again < 1500);
    await core.tsnOk(["rm", "stubborn"]);
  },
);

integrationTest("restart and kill", async (core) => {
  await core.tsnOk([
    "run",
    "-d",
    "--name",
    "r",
    "busybox",
    "sh",
    "-c",
    "trap 'exit 0' TERM; while :; do sleep 1; done",
  ]);
  const pid1 = JSON.parse(await core.tsnOk(["inspect", "r"])).State.Pid;
  await core.tsnOk(["restart", "r"]);
  const pid2 = JSON.parse(await core.tsnOk(["inspect", "r"])).State.Pid;
  assert(pid2 > 0 && pid1 !== pid2);
  await core.tsnOk(["kill", "-s", "KILL", "r"]);
  await core.waitFor(
    "the container to stop",
    async () => JSON.parse(await core.tsnOk(["inspect", "r"])).State.Running === false,
  );
  await core.tsnOk(["rm", "r"]);
});

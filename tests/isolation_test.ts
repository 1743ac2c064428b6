/**
 * What a container sees and may do: its own PID namespace, hostname and
 * network, masked and read-only kernel paths, Docker's default capability
 * set, no_new_privs, users — and the headline property: after start, the
 * unit's cgroup holds only the container's own processes.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { integrationTest } from "./helpers.ts";

/** Docker's 14 default capabilities as a mask. */
const DOCKER_DEFAULT_MASK = "00000000a80425fb";

integrationTest("the container sees only its own processes and its hostname", async (core) => {
  const out = await core.tsnOk([
    "run",
    "--rm",
    "--hostname",
    "inside",
    "busybox",
    "sh",
    "-c",
    "echo pid=$$; hostname; cat /etc/hostname; ls /proc | grep -c '^[0-9]'; grep inside /etc/hosts",
  ]);
  const [pid, hostname, etcHostname, processes, hosts] = out.trim().split("\n");
  assertEquals(pid, "pid=1");
  assertEquals(hostname, "inside");
  assertEquals(etcHostname, "inside");
  // sh itself, and the ls/grep of the pipeline.
  assert(Number(processes) <= 3, `saw ${processes} processes`);
  assertStringIncludes(hosts, "inside");
  // The host's hostname is untouched.
  assertEquals((await core.shOk("hostname")).trim(), "testhost");
});

integrationTest("masked and read-only kernel paths", async (core) => {
  const out = await core.tsnOk([
    "run",
    "--rm",
    "busybox",
    "sh",
    "-c",
    [
      // /proc/kcore does not exist on every kernel (this one has none): empty either way.
      "cat /proc/kcore 2>/dev/null | wc -c",
      "cat /proc/keys | wc -c",
      "cat /proc/timer_list | wc -c",
      "ls /sys/firmware | wc -l",
      "if echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null; then echo SYS-WRITABLE; else echo SYS-RO; fi",
      "if touch /sys/kernel/x 2>/dev/null; then echo SYSFS-WRITABLE; else echo SYSFS-RO; fi",
      "grep -E ' /proc/sys ' /proc/mounts",
    ].join("; "),
  ]);
  const lines = out.trim().split("\n");
  assertEquals(lines.slice(0, 4), ["0", "0", "0", "0"]);
  assertStringIncludes(out, "SYS-RO");
  assertStringIncludes(out, "SYSFS-RO");
  assertMatch(out, / \/proc\/sys \S+ ro[,\s]/);
});

integrationTest(
  "Docker's default capabilities, no_new_privs, and --cap-add/--cap-drop",
  async (core) => {
    const status = await core.tsnOk([
      "run",
      "--rm",
      "busybox",
      "grep",
      "-E",
      "^(Cap|NoNewPrivs)",
      "/proc/1/status",
    ]);
    // Inheritable stays empty, as docker has done since CVE-2022-24769.
    assertMatch(status, /CapInh:\s+0000000000000000/);
    assertMatch(status, new RegExp(`CapPrm:\\s+${DOCKER_DEFAULT_MASK}`));
    assertMatch(status, new RegExp(`CapEff:\\s+${DOCKER_DEFAULT_MASK}`));
    assertMatch(status, new RegExp(`CapBnd:\\s+${DOCKER_DEFAULT_MASK}`));
    assertMatch(status, /CapAmb:\s+0000000000000000/);
    assertMatch(status, /NoNewPrivs:\s+1/);
    const added = await core.tsnOk([
      "run",
      "--rm",
      "--cap-add",
      "SYS_ADMIN",
      "--cap-drop",
      "CHOWN",
      "busybox",
      "grep",
      "CapEff",
      "/proc/1/status",
    ]);
    // + CAP_SYS_ADMIN (bit 21), - CAP_CHOWN (bit 0)
    assertMatch(added, /CapEff:\s+00000000a82425fa/);
    const none = await core.tsnOk([
      "run",
      "--rm",
      "--cap-drop",
      "ALL",
      "busybox",
      "grep",
      "CapBnd",
      "/proc/1/status",
    ]);
    assertMatch(none, /CapBnd:\s+0000000000000000/);
    // Without CAP_SYS_ADMIN, mount is refused; with it (and the same checks) it works.
    const refused = await core.tsn([
      "run",
      "--rm",
      "busybox",
      "sh",
      "-c",
      "mkdir -p /mnt && mount -t tmpfs t /mnt",
    ]);
    assert(refused.code !== 0);
    await core.tsnOk([
      "run",
      "--rm",
      "--cap-add",
      "SYS_ADMIN",
      "--security-opt",
      "seccomp=unconfined",
      "busybox",
      "sh",
      "-c",
      "mkdir -p /mnt && mount -t tmpfs t /mnt",
    ]);
  },
);

integrationTest("--user switches uid/gid, clears groups and capabilities", async (core) => {
  const out = await core.tsnOk([
    "run",
    "--rm",
    "-u",
    "1000:1000",
    "busybox",
    "sh",
    "-c",
    "id; grep -E '^(CapEff|Groups)' /proc/self/status",
  ]);
  assertStringIncludes(out, "uid=1000(app) gid=1000(app)");
  assertMatch(out, /CapEff:\s+0000000000000000/);
  assertMatch(out, /Groups:\s*\n/);
  const byName = await core.tsnOk(["run", "--rm", "-u", "app", "busybox", "id", "-u"]);
  assertEquals(byName.trim(), "1000");
  const unknown = await core.tsn(["run", "--rm", "-u", "nosuchuser", "busybox", "id"]);
  assertEquals(unknown.code, 1);
  assertStringIncludes(unknown.stderr, "nosuchuser");
});

integrationTest("network none has loopback only, up; host shares the host's", async (core) => {
  const none = await core.tsnOk([
    "run",
    "--rm",
    "--network",
    "none",
    "busybox",
    "ip",
    "-o",
    "link",
  ]);
  const links = none.trim().split("\n");
  assertEquals(links.length, 1, none);
  assertMatch(links[0], /^1: lo: <LOOPBACK,UP/);
  await core.shOk("ip link add tsntest0 type bridge");
  const host = await core.tsnOk([
    "run",
    "--rm",
    "--network",
    "host",
    "busybox",
    "ip",
    "-o",
    "link",
  ]);
  assertStringIncludes(host, "tsntest0");
});

integrationTest(
  "after start the unit's cgroup holds only the container's processes",
  async (core) => {
    await core.tsnOk([
      "run",
      "-d",
      "--name",
      "solo",
      "busybox",
      "sh",
      "-c",
      "sleep 1000 & sleep 1000",
    ]);
    const cgroup = await core.unitProperty("tsnspawn-solo.service", "ControlGroup");
    const mainPid = await core.unitProperty("tsnspawn-solo.service", "MainPID");
    const procs = (await core.shOk(`cat /sys/fs/cgroup/systemd${cgroup}/cgroup.procs`)).trim()
      .split("\n");
    const commands = await Promise.all(
      procs.map(async (pid) => (await core.shOk(`cat /proc/${pid}/comm`)).trim()),
    );
    // busybox sh execs its last command: PID 1 is the second sleep.
    assertEquals(commands.sort(), ["sleep", "sleep"], commands.join(","));
    assert(!commands.some((c) => c.includes("deno") || c.includes("tsnspawn")), commands.join(","));
    assert(procs.includes(mainPid), `MainPID ${mainPid} not in ${procs}`);
    assertEquals((await core.shOk(`cat /proc/${mainPid}/comm`)).trim(), "sleep");
    await core.tsnOk(["rm", "-f", "solo"]);
  },
);

integrationTest("--init: tini is PID 1, reaps zombies and passes SIGTERM on", async (core) => {
  await core.tsnOk([
    "run",
    "-d",
    "--init",
    "--name",
    "inited",
    "busybox",
    "sh",
    "-c",
    "trap 'echo got-term; exit 0' TERM; sleep 1000 & wait",
  ]);
  const ps = await core.tsnOk(["exec", "inited", "ps", "-o", "pid,comm"]);
  assertMatch(ps, /\n\s*1\s+(tini|init)/);
  const started = Date.now();
  await core.tsnOk(["stop", "inited"]);
  assert(Date.now() - started < 5000, "SIGTERM did not reach the command through tini");
  assertStringIncludes(await core.tsnOk(["logs", "inited"]), "got-term");
  await core.tsnOk(["rm", "inited"]);
});

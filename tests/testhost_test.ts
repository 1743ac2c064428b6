/**
 * Tests for the throwaway systemd host (tests/testhost.ts).
 * Needs root; skipped (with a message) otherwise.
 *
 *   cd /work/main && node_modules/.bin/deno test -A tests/testhost_test.ts
 */

import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import { dirname, fromFileUrl, join } from "@std/path";
import {
  findTestHostLeftovers,
  isRoot,
  startTestHost,
  TestHost,
  withTestHost,
} from "./testhost.ts";

const ROOT = isRoot();
if (!ROOT) {
  console.warn(
    "testhost_test.ts: SKIPPING all tests: they need root (mounts, namespaces, cgroups)",
  );
}

const REPO = dirname(dirname(fromFileUrl(import.meta.url)));
const DENO = join(REPO, "node_modules/.bin/deno");

function hostTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, ignore: !ROOT, fn });
}

/** Everything the host owned is gone: processes, mounts, cgroups, base dir. */
function assertNoLeftovers(host: TestHost, pids: number[]): void {
  assertEquals(findTestHostLeftovers(host.name), [], `leftovers of ${host.name}`);
  for (const pid of pids) assert(!exists(`/proc/${pid}`), `process ${pid} still alive`);
  for (const dir of host.cgroupDirs) assert(!exists(dir), `cgroup ${dir} still there`);
  assert(!exists(host.baseDir), `${host.baseDir} still there`);
  assert(!Deno.readTextFileSync("/proc/self/mountinfo").includes(host.name), "mount left");
}

function exists(p: string): boolean {
  try {
    Deno.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** A real, tmpfs-backed scratch dir for state that must survive reboots. */
async function withScratch(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = Deno.makeTempDirSync({ dir: "/dev/shm", prefix: "tsnspawn-testhost-test-" });
  try {
    await fn(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

hostTest(
  "testhost: boots a real systemd; journald, dbus, deno, overlay isolation, teardown",
  async () => {
    const host = await startTestHost();
    const pids = [host.pid, host.supervisorPid];
    try {
      console.log(`boot: ${host.lastBootMs.toFixed(0)} ms`);
      assert(host.running);
      const st = await host.run(["systemctl", "is-system-running"]);
      assertEquals(st.stdout.trim(), "running", st.stderr);

      // PID 1 inside is systemd, in a container
      const virt = await host.run(["systemd-detect-virt", "--container"]);
      assertEquals(virt.stdout.trim(), "container-other");
      assertEquals((await host.run(["cat", "/proc/1/comm"])).stdout.trim(), "systemd");

      // journald
      const unit = "testhost-hello";
      await host.run(["systemd-run", "--wait", "-q", "--unit", unit, "sh", "-c", "echo hello"], {
        check: true,
      });
      const j = await host.run(["journalctl", "-u", unit, "-o", "cat", "--no-pager"], {
        check: true,
      });
      assertStringIncludes(j.stdout, "hello");

      // D-Bus system bus
      const bus = await host.run([
        "busctl",
        "call",
        "org.freedesktop.DBus",
        "/org/freedesktop/DBus",
        "org.freedesktop.DBus",
        "GetId",
      ], { check: true });
      assertMatch(bus.stdout, /^s "[0-9a-f]{32}"/);

      // deno from the repo works inside, with the repo as cwd
      const d = await host.run([DENO, "eval", "console.log(Deno.cwd())"], {
        cwd: REPO,
        check: true,
      });
      assertEquals(d.stdout.trim(), REPO);

      // writes land on the tmpfs upper dir, except the bound dirs
      const probe = `/etc/tsnspawn-testhost-probe-${host.id}`;
      await host.run([
        "sh",
        "-c",
        `echo x > ${probe} && echo s > /var/lib/tsnspawn/f && echo e > /etc/tsnspawn/f`,
      ], { check: true });
      assert(!exists(probe), "write to /etc leaked to the real root");
      assertEquals(Deno.readTextFileSync(join(host.stateDir, "f")), "s\n");
      assertEquals(Deno.readTextFileSync(join(host.etcDir, "f")), "e\n");
      assertEquals((await host.run(["findmnt", "-no", "FSTYPE", "/"])).stdout.trim(), "overlay");
      assertEquals((await host.run(["findmnt", "-no", "FSTYPE", "/tmp"])).stdout.trim(), "tmpfs");

      // own cgroups: the ns root is our group
      for (const dir of host.cgroupDirs) assert(exists(dir), dir);
      assertStringIncludes(
        (await host.run(["cat", "/proc/1/cgroup"])).stdout,
        "name=systemd:/init.scope",
      );

      // run(): exit codes, stdin, env
      assertEquals((await host.run(["sh", "-c", "exit 7"])).code, 7);
      assertEquals((await host.run(["cat"], { stdin: "in" })).stdout, "in");
      assertEquals(
        (await host.run(["sh", "-c", "echo $FOO"], { env: { FOO: "bar" } })).stdout,
        "bar\n",
      );
      await assertRejects(() => host.run(["false"], { check: true }), Error, "test host: run");
      // systemd-run --scope needs the caller inside the cgroup namespace
      await host.run(["systemd-run", "--scope", "-q", "true"], { check: true });
    } finally {
      await host.dispose();
    }
    assert(!host.running);
    assertNoLeftovers(host, pids);
  },
);

hostTest("testhost: transient units with TasksMax/MemoryMax/CPUQuota on cgroup v1", async () => {
  await withTestHost({}, async (host) => {
    await host.run([
      "systemd-run",
      "--wait",
      "-q",
      "-p",
      "TasksMax=5",
      "-p",
      "MemoryMax=64M",
      "-p",
      "CPUQuota=50%",
      "/bin/true",
    ], { check: true });
    await host.run([
      "systemd-run",
      "-q",
      "--unit",
      "x",
      "-p",
      "MemoryMax=64M",
      "-p",
      "TasksMax=5",
      "-p",
      "CPUQuota=20%",
      "sleep",
      "100",
    ], { check: true });
    const cg = "/sys/fs/cgroup";
    const r = await host.run([
      "cat",
      `${cg}/memory/system.slice/x.service/memory.limit_in_bytes`,
      `${cg}/pids/system.slice/x.service/pids.max`,
      `${cg}/cpu/system.slice/x.service/cpu.cfs_quota_us`,
    ], { check: true });
    assertEquals(r.stdout.split("\n").slice(0, 3), [String(64 * 1024 * 1024), "5", "20000"]);
    // and the limits are real: visible (and enforced) in the runner's hierarchy
    const mem = host.cgroupDirs.find((d) => d.includes("/memory/"))!;
    assertEquals(
      Deno.readTextFileSync(join(mem, "system.slice/x.service/memory.limit_in_bytes")).trim(),
      String(64 * 1024 * 1024),
    );
    const fork = await host.run([
      "systemd-run",
      "--wait",
      "-q",
      "-p",
      "TasksMax=2",
      "sh",
      "-c",
      "sleep 1 & sleep 1 & sleep 1 & wait",
    ]);
    assert(!fork.success, "TasksMax=2 should make forks fail");
  });
});

hostTest("testhost: extra unit files + wants; host.path()", async () => {
  await withTestHost({
    units: {
      "tsnspawn-testhost-demo.service":
        "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/sh -c 'echo demo > /run/demo'\n",
    },
    wants: ["tsnspawn-testhost-demo.service"],
  }, async (host) => {
    assertEquals(
      (await host.run(["systemctl", "is-active", "tsnspawn-testhost-demo.service"])).stdout.trim(),
      "active",
    );
    assertEquals(Deno.readTextFileSync(host.path("/run/demo")), "demo\n");
    assert(Deno.lstatSync(host.path("/run/dbus/system_bus_socket")).isSocket);
  });
});

hostTest("testhost: two hosts coexist", async () => {
  const [a, b] = await Promise.all([
    startTestHost({ hostname: "alpha" }),
    startTestHost({ hostname: "beta" }),
  ]);
  const pids = [a.pid, a.supervisorPid, b.pid, b.supervisorPid];
  try {
    console.log(`boot: ${a.lastBootMs.toFixed(0)} ms, ${b.lastBootMs.toFixed(0)} ms (in parallel)`);
    assert(a.id !== b.id && a.pid !== b.pid);
    assertEquals((await a.run(["hostname"])).stdout.trim(), "alpha");
    assertEquals((await b.run(["hostname"])).stdout.trim(), "beta");
    for (const h of [a, b]) {
      assertEquals((await h.run(["systemctl", "is-system-running"])).stdout.trim(), "running");
    }
    await a.run(["systemd-run", "-q", "--unit", "only-in-a", "sleep", "100"], { check: true });
    assertEquals((await b.run(["systemctl", "is-active", "only-in-a"])).stdout.trim(), "inactive");
    await a.dispose();
    assertNoLeftovers(a, pids.slice(0, 2));
    assert(b.running, "b died with a");
    assertEquals((await b.run(["systemctl", "is-system-running"])).stdout.trim(), "running");
  } finally {
    await a.dispose();
    await b.dispose();
  }
  assertNoLeftovers(b, pids.slice(2));
});

hostTest(
  "testhost: powerOff + boot again keeps /var/lib/tsnspawn and /etc/tsnspawn, not the overlay",
  async () => {
    await withScratch(async (scratch) => {
      const stateDir = join(scratch, "state"), etcDir = join(scratch, "etc");
      const host = await TestHost.create({ stateDir, etcDir });
      const pids: number[] = [];
      try {
        for (const kill of [false, true]) {
          await host.boot();
          pids.push(host.pid, host.supervisorPid);
          console.log(`boot: ${host.lastBootMs.toFixed(0)} ms`);
          const r = await host.run([
            "sh",
            "-c",
            "cat /var/lib/tsnspawn/n /etc/tsnspawn/n /etc/volatile 2>/dev/null; " +
            "echo b >> /var/lib/tsnspawn/n; echo b >> /etc/tsnspawn/n; echo v > /etc/volatile",
          ]);
          assertEquals(r.stdout, kill ? "b\nb\n" : "", "state after reboot");
          const t0 = performance.now();
          await host.powerOff(kill);
          console.log(`powerOff(${kill}): ${(performance.now() - t0).toFixed(0)} ms`);
          assert(!host.running);
          for (const dir of host.cgroupDirs) {
            assert(!exists(dir), `cgroup ${dir} left after powerOff`);
          }
        }
        assertEquals(Deno.readTextFileSync(join(stateDir, "n")), "b\nb\n");
        assertEquals(Deno.readTextFileSync(join(etcDir, "n")), "b\nb\n");
      } finally {
        await host.dispose();
      }
      assertNoLeftovers(host, pids);
      assert(exists(join(stateDir, "n")), "caller's state dir must survive dispose");
    });
  },
);

hostTest("testhost: withTestHost tears down when the body throws", async () => {
  let seen: TestHost | undefined;
  let pids: number[] = [];
  await assertRejects(
    () =>
      withTestHost({}, async (host) => {
        seen = host;
        pids = [host.pid, host.supervisorPid];
        await host.run(["systemd-run", "-q", "--unit", "busy", "sleep", "1000"], { check: true });
        throw new Error("boom");
      }),
    Error,
    "boom",
  );
  assert(seen);
  assertNoLeftovers(seen!, pids);
});

hostTest("testhost: unknown opt-in unit fails the boot clearly and leaves nothing", async () => {
  await assertRejects(
    () => startTestHost({ wants: ["no-such-unit-tsnspawn.service"] }),
    Error,
    "wanted unit no-such-unit-tsnspawn.service is not-found",
  );
  // tests run one at a time in this process: all hosts of this runner must be gone
  assertEquals(findTestHostLeftovers(`tsnspawn-testhost-${Deno.pid}-`), []);
});

hostTest("testhost: CLI run exits with the command's code and tears down", async () => {
  const child = new Deno.Command(DENO, {
    args: [
      "run",
      "-A",
      join(REPO, "tests/testhost.ts"),
      "run",
      "--quiet",
      "--",
      "sh",
      "-c",
      "systemctl is-system-running; pwd; exit 3",
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = await child.output();
  assertEquals(out.code, 3, new TextDecoder().decode(out.stderr));
  assertEquals(new TextDecoder().decode(out.stdout), `running\n${REPO}\n`);
  assertEquals(findTestHostLeftovers(`tsnspawn-testhost-${child.pid}-`), []);
});

hostTest("testhost: SIGTERM to the runner tears the host down", async () => {
  const child = new Deno.Command(DENO, {
    args: ["run", "-A", join(REPO, "tests/testhost.ts"), "boot"],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.getReader();
  const { value } = await reader.read(); // the nsenter line: printed once booted
  const line = new TextDecoder().decode(value);
  assertMatch(line, /^nsenter -t \d+ /);
  const pid1 = Number(line.split(" ")[2]);
  assert(exists(`/proc/${pid1}`));
  child.kill("SIGTERM");
  const st = await child.status;
  reader.releaseLock();
  await child.stdout.cancel();
  await child.stderr.cancel();
  assertEquals(st.code, 143);
  assert(!exists(`/proc/${pid1}`), "PID 1 survived SIGTERM of the runner");
  assertEquals(findTestHostLeftovers(`tsnspawn-testhost-${child.pid}-`), []);
});

/**
 * Resource limits and restarts, enforced by systemd through the unit's
 * cgroup (v1 hierarchies on this host): MemoryMax, TasksMax, CPU quota, and
 * Restart=on-failure counting NRestarts.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { integrationTest } from "./helpers.ts";

integrationTest(
  "the memory limit is set in the cgroup and a memory hog is OOM-killed",
  async (core) => {
    await core.tsnOk(["run", "-d", "--name", "mem", "--memory", "32m", "busybox", "sleep", "1000"]);
    const cgroup = await core.unitProperty("tsnspawn-mem.service", "ControlGroup");
    assertEquals(
      await core.unitProperty("tsnspawn-mem.service", "MemoryMax"),
      String(32 * 1024 * 1024),
    );
    const limit = await core.shOk(`cat /sys/fs/cgroup/memory${cgroup}/memory.limit_in_bytes`);
    assertEquals(limit.trim(), String(32 * 1024 * 1024));
    await core.tsnOk(["rm", "-f", "mem"]);
    // dd with a 64 MiB block allocates 64 MiB of anonymous memory at once.
    await core.tsnOk([
      "run",
      "-d",
      "--name",
      "hog",
      "--memory",
      "32m",
      "busybox",
      "sh",
      "-c",
      "dd if=/dev/zero of=/dev/null bs=64M count=2; echo status=$?; sleep 1000",
    ]);
    await core.waitFor(
      "the hog to be killed",
      async () => (await core.tsnOk(["logs", "hog"])).includes("status="),
    );
    assertMatch(await core.tsnOk(["logs", "hog"]), /status=137/);
    const hogGroup = await core.unitProperty("tsnspawn-hog.service", "ControlGroup");
    const oom = await core.shOk(`cat /sys/fs/cgroup/memory${hogGroup}/memory.oom_control`);
    assertMatch(oom, /oom_kill [1-9]/);
    await core.tsnOk(["rm", "-f", "hog"]);
  },
);

integrationTest("the pids limit stops a fork bomb", async (core) => {
  await core.tsnOk([
    "run",
    "-d",
    "--name",
    "bomb",
    "--pids-limit",
    "20",
    "busybox",
    "sleep",
    "1000",
  ]);
  // busybox ash gives up ("can't fork", exit 2) at the first refused fork.
  const bomb = await core.tsn([
    "exec",
    "bomb",
    "sh",
    "-c",
    "while :; do sleep 300 </dev/null >/dev/null 2>&1 & done",
  ]);
  assertEquals(bomb.code, 2, bomb.stderr);
  assertStringIncludes(bomb.stderr, "can't fork");
  const cgroup = await core.unitProperty("tsnspawn-bomb.service", "ControlGroup");
  const current = Number(await core.shOk(`cat /sys/fs/cgroup/pids${cgroup}/pids.current`));
  assert(current > 10 && current <= 20, `pids.current ${current}`);
  assertMatch(await core.shOk(`cat /sys/fs/cgroup/pids${cgroup}/pids.events`), /max [1-9]/);
  await core.tsnOk(["rm", "-f", "bomb"]);
});

integrationTest("CPU quota, weight and TasksMax reach systemd", async (core) => {
  await core.tsnOk([
    "run",
    "-d",
    "--name",
    "cpu",
    "--cpus",
    "0.5",
    "--cpu-weight",
    "200",
    "--pids-limit",
    "50",
    "busybox",
    "sleep",
    "1000",
  ]);
  assertEquals(await core.unitProperty("tsnspawn-cpu.service", "CPUQuotaPerSecUSec"), "500ms");
  assertEquals(await core.unitProperty("tsnspawn-cpu.service", "CPUWeight"), "200");
  assertEquals(await core.unitProperty("tsnspawn-cpu.service", "TasksMax"), "50");
  const cgroup = await core.unitProperty("tsnspawn-cpu.service", "ControlGroup");
  const quota = Number(await core.shOk(`cat /sys/fs/cgroup/cpu${cgroup}/cpu.cfs_quota_us`));
  const period = Number(await core.shOk(`cat /sys/fs/cgroup/cpu${cgroup}/cpu.cfs_period_us`));
  assertEquals(quota / period, 0.5);
  assertEquals((await core.shOk(`cat /sys/fs/cgroup/pids${cgroup}/pids.max`)).trim(), "50");
  await core.tsnOk(["rm", "-f", "cpu"]);
});

integrationTest(
  "--restart on-failure restarts (NRestarts grows) and stops at the limit",
  async (core) => {
    await core.tsnOk([
      "run",
      "-d",
      "--name",
      "flaky",
      "--restart",
      "on-failure:3",
      "busybox",
      "sh",
      "-c",
      "sleep 0.2; exit 1",
    ]);
    await core.waitFor("3 restarts", async () =>
      Number(
          await core.unitProperty("tsnspawn-flaky.service", "NRestarts").catch(() => "0"),
        ) >= 3 ||
      (await core.tsnOk(["list", "-a"])).includes("exited (1)"), 20_000);
    await core.waitFor(
      "the start limit",
      async () => !(await core.tsnOk(["list"])).includes("flaky"),
      20_000,
    );
    const logs = await core.shOk("journalctl --no-pager -o cat -u tsnspawn-flaky.service");
    // The first run and 3 restarts; the 4th scheduled restart hits the start limit.
    const runs = logs.split("\n").filter((l) => /Main process exited/.test(l)).length;
    assertEquals(runs, 4, logs);
    assertStringIncludes(logs, "Start request repeated too quickly");
    assertMatch(
      await core.tsnOk(["list", "-a"]),
      /\nflaky\s+\S+\s+failed \(start limit hit after 3 restarts, last exited 1\)/,
    );
    await core.tsnOk(["rm", "flaky"]);
  },
);

integrationTest("--restart always brings a crashed container back", async (core) => {
  await core.tsnOk([
    "run",
    "-d",
    "--name",
    "phoenix",
    "--restart",
    "always",
    "busybox",
    "sleep",
    "1000",
  ]);
  const first = await core.unitProperty("tsnspawn-phoenix.service", "MainPID");
  await core.shOk(`kill -9 ${first}`);
  await core.waitFor("a new main process", async () => {
    const pid = await core.unitProperty("tsnspawn-phoenix.service", "MainPID");
    return pid !== "0" && pid !== first;
  });
  assert(Number(await core.unitProperty("tsnspawn-phoenix.service", "NRestarts")) >= 1);
  await core.tsnOk(["rm", "-f", "phoenix"]);
});

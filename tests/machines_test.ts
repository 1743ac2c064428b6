/**
 * OS containers (systemd mode) with a real Debian 12 built by debootstrap
 * (tests/os_image.ts), in a throwaway host with systemd-machined and the
 * unit that registers containers with it:
 * - the container boots with Docker's default capabilities (no
 *   CAP_SYS_ADMIN) to `running`/`degraded`, `run -d` returning once it has;
 *   the container interface (container=, /run/host/container-manager), its
 *   tmpfs mounts, its own cgroup subtree, its own machine id, its console
 *   in `logs` and the journal; no tsnspawn process stays;
 * - `stop` in under 2 s, exit status 0; `poweroff` and `reboot`;
 * - machined: `machinectl shell` runs a command inside, `journalctl -M`
 *   reads its journal; `tsnspawn shell` through its own systemd;
 * - a broken init fails `run -d` with its console lines in the error and is
 *   never listed as running.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { join } from "@std/path";
import { CoreHost, importBusybox, REPO, tsnspawnArgv } from "./helpers.ts";
import { isRoot, TestHost } from "./testhost.ts";
import { importBrokenOs, importDebianOs } from "./os_image.ts";
import { MACHINE_UNIT_TEMPLATE } from "../src/systemd/machined.ts";
import { capabilityMask } from "../src/security/capabilities.ts";
import { DOCKER_DEFAULT_CAPABILITIES } from "../src/security/capabilities.ts";

const TSNSPAWN = tsnspawnArgv([]).join(" ");

/** A test with a host running machined, with busybox and the Debian OS image imported. */
function machineTest(name: string, fn: (core: CoreHost) => Promise<void>): void {
  Deno.test({
    name,
    ignore: !isRoot(),
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      const host = await TestHost.create({
        wants: ["systemd-machined.service"],
        units: {
          [MACHINE_UNIT_TEMPLATE]: Deno.readTextFileSync(
            join(REPO, "units", MACHINE_UNIT_TEMPLATE),
          ),
        },
      });
      try {
        await host.boot();
        await importBusybox(host);
        await importDebianOs(host);
        await fn(new CoreHost(host));
      } finally {
        await host.dispose();
      }
    },
  });
}

/** The container's PID 1's effective capabilities, as a bit mask. */
async function pid1Capabilities(core: CoreHost, name: string): Promise<bigint> {
  const status = await core.tsnOk(["exec", name, "cat", "/proc/1/status"]);
  return BigInt("0x" + /CapEff:\s*([0-9a-f]+)/.exec(status)![1]);
}

/** Processes of tsnspawn's runtime (shim, stage two, terminal holder...) in the host. */
async function runtimeProcesses(core: CoreHost): Promise<string> {
  const ps = await core.shOk("ps -eo pid,args");
  return ps.split("\n").filter((l) => / __(shim|stage2|terminal|exec|stop|cleanup)\b/.test(l))
    .join("\n");
}

const CAP_SYS_ADMIN = 21n;

machineTest(
  "systemd mode: Debian boots with Docker's capabilities, stops in under 2 s",
  async (core) => {
    const started = performance.now();
    await core.tsnOk(["run", "-d", "--name", "os", "debian:12", "/sbin/init"]);
    const bootMs = performance.now() - started;
    // `run -d` returned when the container's systemd said READY=1.
    const state = (await core.tsn(["exec", "os", "systemctl", "is-system-running"])).stdout.trim();
    assert(["running", "degraded"].includes(state), `is-system-running: ${state}`);
    if (state === "degraded") {
      console.error(await core.tsnOk(["exec", "os", "systemctl", "--failed", "--no-pager"]));
    }
    assertEquals(await core.unitProperty("tsnspawn-os.service", "ActiveState"), "active");

    // Docker's 14 capabilities, not CAP_SYS_ADMIN.
    const caps = await pid1Capabilities(core, "os");
    assertEquals((caps >> CAP_SYS_ADMIN) & 1n, 0n);
    assertEquals(caps, capabilityMask(DOCKER_DEFAULT_CAPABILITIES));

    // systemd.io/CONTAINER_INTERFACE.
    assertEquals(
      (await core.tsnOk(["exec", "os", "cat", "/run/host/container-manager"])).trim(),
      "tsnspawn",
    );
    assertStringIncludes(
      await core.tsnOk(["exec", "os", "sh", "-c", "tr '\\0' '\\n' < /proc/1/environ"]),
      "container=tsnspawn",
    );
    assertEquals(
      (await core.tsnOk(["exec", "os", "systemd-detect-virt", "-c"])).trim(),
      "container-other",
    );
    const mounts = await core.tsnOk(["exec", "os", "cat", "/proc/self/mounts"]);
    for (const path of ["/run", "/run/lock", "/tmp"]) {
      assertMatch(mounts, new RegExp(`^tmpfs ${path} tmpfs `, "m"), path);
    }
    assert(!/^tmpfs \/tmp tmpfs \S*noexec/m.test(mounts), "/tmp allows exec");
    // Its own cgroup subtree, managed by its systemd (hybrid: name=systemd and unified).
    assertMatch(
      await core.tsnOk(["exec", "os", "cat", "/proc/1/cgroup"]),
      /name=systemd:\/init\.scope/,
    );
    const hostCgroup = await core.unitProperty("tsnspawn-os.service", "ControlGroup");
    assertStringIncludes(
      await core.shOk(`ls /sys/fs/cgroup/systemd${hostCgroup}`),
      "system.slice",
    );
    assertEquals(await core.unitProperty("tsnspawn-os.service", "Delegate"), "yes");
    // Its own machine id, not the image's.
    const id = JSON.parse(await core.tsnOk(["inspect", "os"])).Config.id as string;
    assertEquals(
      (await core.tsnOk(["exec", "os", "cat", "/etc/machine-id"])).trim(),
      id.slice(0, 32),
    );
    // The console: in `logs` and the journal.
    assertStringIncludes(await core.tsnOk(["logs", "os"]), "Welcome to Debian GNU/Linux 12");
    assertStringIncludes(
      await core.shOk("journalctl -u tsnspawn-os.service --no-pager -o cat"),
      "Welcome to Debian GNU/Linux 12",
    );
    // No process of the runtime stays (no terminal, so no holder either).
    assertEquals(await runtimeProcesses(core), "");
    const holders = await core.shOk("systemctl list-units --no-legend 'tsnspawn-terminal@*'");
    assertEquals(holders.trim(), "");

    // A second container from the same image has a machine id of its own.
    await core.tsnOk([
      "run",
      "-d",
      "--name",
      "os2",
      "--network",
      "none",
      "debian:12",
      "/sbin/init",
    ]);
    const id2 = (await core.tsnOk(["exec", "os2", "cat", "/etc/machine-id"])).trim();
    assert(id2 !== id.slice(0, 32));

    const t0 = performance.now();
    await core.tsnOk(["stop", "os"]);
    const stopMs = performance.now() - t0;
    assert(stopMs < 2000, `stop took ${stopMs.toFixed(0)} ms`);
    assertMatch(await core.tsnOk(["list", "-a"]), /^os\s.*exited \(0\)/m);
    console.error(`boot ${bootMs.toFixed(0)} ms, stop ${stopMs.toFixed(0)} ms`);
    await core.tsnOk(["rm", "-f", "os", "os2"]);
  },
);

machineTest(
  "machined: machinectl shell and journalctl -M; tsnspawn shell, reboot, poweroff",
  async (core) => {
    await core.tsnOk(["boot", "-d", "--name", "vm", "debian:12"]);
    await core.waitFor(
      "the machine",
      async () =>
        /^vm\s+container\s+tsnspawn-vm\.service/m.test(
          await core.shOk("machinectl list --no-legend"),
        ),
    );
    const leader = (await core.shOk("machinectl show vm -p Leader --value")).trim();
    assertEquals(leader, await core.unitProperty("tsnspawn-vm.service", "MainPID"));

    const hostname = (await core.tsnOk(["exec", "vm", "hostname"])).trim();
    const shell = await core.shOk(
      "machinectl -q shell vm /bin/sh -c 'echo in-$(hostname) as $(id -un); sleep 0.3' </dev/null",
    );
    assertStringIncludes(shell, `in-${hostname} as root`);
    const journal = await core.shOk("journalctl -M vm --no-pager -o cat -n 200");
    assertStringIncludes(journal, "Startup finished");

    // tsnspawn shell: a login shell the container's systemd started (its own service).
    const out = await core.shOk(
      `(sleep 2; printf 'echo user=$(id -un); grep name=systemd /proc/self/cgroup; exit 5\\n') | ` +
        `script -qec "${TSNSPAWN} shell vm; echo shell-status=\\$?" /dev/null`,
    );
    assertStringIncludes(out, "user=root");
    assertMatch(out, /name=systemd:\/system\.slice\/.*tsnspawn-shell@\d+\.service/);
    assertStringIncludes(out, "shell-status=5");

    // reboot: a new boot (its systemd cannot reboot itself without CAP_SYS_BOOT).
    const before = await core.unitProperty("tsnspawn-vm.service", "MainPID");
    await core.tsnOk(["reboot", "vm"]);
    const after = await core.unitProperty("tsnspawn-vm.service", "MainPID");
    assert(after !== before && after !== "0", `${before} -> ${after}`);
    const state = (await core.tsn(["exec", "vm", "systemctl", "is-system-running"])).stdout.trim();
    assert(["running", "degraded"].includes(state), state);

    await core.tsnOk(["poweroff", "vm"]);
    assertMatch(await core.tsnOk(["list", "-a"]), /^vm\s.*exited \(0\)/m);
    await core.waitFor(
      "vm to leave machinectl",
      async () => !(await core.shOk("machinectl list --no-legend")).includes("vm"),
    );
  },
);

machineTest(
  "systemd mode: a broken init fails run -d with its console in the error",
  async (core) => {
    await importBrokenOs(core.host);
    const result = await core.tsn(["run", "-d", "--name", "broken", "broken-os:1", "/sbin/init"]);
    assertEquals(result.code, 125, result.stderr);
    assertStringIncludes(result.stderr, "boot failed: its init exited with status 1");
    assertStringIncludes(result.stderr, "init: cannot find the root file system");
    assertStringIncludes(result.stderr, "init: giving up");
    const list = await core.tsnOk(["list", "-a"]);
    assertMatch(list, /^broken\s.*exited \(1\)/m);
    assert(!/^broken\s.*running/m.test(list), list);
    assertEquals(await runtimeProcesses(core), "");
  },
);

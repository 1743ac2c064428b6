/**
 * Issue 14's container features on both start paths, in a throwaway systemd
 * host: an attached `run --rm` in a scope (src/runtime/attached.ts) writes
 * --sysctl values in the container's namespaces as the shim does (bridged
 * and without a network), and a container with a health check, --sdnotify
 * or --ulimit keeps its service (their timer, relay and rlimits are the
 * service's).
 */
import { assertEquals, assertMatch } from "@std/assert";
import { type CoreHost, integrationTest } from "./helpers.ts";

const SYSCTLS = ["--sysctl", "net.ipv4.ip_forward=1", "--sysctl", "kernel.msgmax=12345"];
const READ = ["cat", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/msgmax"];

/** The containers' units (services and scopes) systemd has loaded. */
async function units(core: CoreHost): Promise<string> {
  return (await core.shOk(
    "systemctl list-units --all --plain --no-legend 'tsnspawn-*.service' 'tsnspawn-*.scope' | " +
      "grep -v '^tsnspawn-machine@' || true",
  )).trim();
}

integrationTest("--sysctl: written in the scope path and the service path", async (core) => {
  for (const network of [[], ["--network", "none"]]) {
    const out = await core.tsnOk(["run", "--rm", ...network, ...SYSCTLS, "busybox", ...READ]);
    assertEquals(out.trim().split("\n"), ["1", "12345"], `attached, ${network.join(" ")}`);
  }
  await core.tsnOk(["run", "-d", "--name", "svc", ...SYSCTLS, "busybox", "sleep", "60"]);
  assertEquals((await core.tsnOk(["exec", "svc", ...READ])).trim().split("\n"), ["1", "12345"]);
  // The host's values are untouched (both are namespaced).
  assertEquals((await core.shOk("cat /proc/sys/kernel/msgmax")).trim() === "12345", false);
  await core.tsnOk(["rm", "-f", "svc"]);
});

integrationTest(
  "run --rm attached with a health check, --sdnotify or --ulimit keeps the service",
  async (core) => {
    const cases: [string, string[]][] = [
      ["hc", ["--health-cmd", "true", "--health-interval", "1s"]],
      // Never READY=1 here: it stays "activating" until sleep ends, then fails.
      ["nt", ["--sdnotify", "container"]],
      ["ul", ["--ulimit", "nofile=512:1024"]],
    ];
    for (const [name, options] of cases) {
      const run = core.tsn(["run", "--rm", "--name", name, ...options, "busybox", "sleep", "3"]);
      await core.waitFor(`${name} to run`, async () => {
        const rows = JSON.parse(await core.tsnOk(["list", "--json"])) as { name: string }[];
        return rows.some((row) => row.name === name);
      });
      assertMatch(
        await units(core),
        new RegExp(`^tsnspawn-${name}\\.service\\s+loaded\\s`, "m"),
      );
      const { code } = await run;
      if (name !== "nt") assertEquals(code, 0, name);
    }
    assertEquals((await core.tsnOk(["list", "-a", "-q"])).trim(), "");
  },
);

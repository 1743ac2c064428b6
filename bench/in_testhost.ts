/**
 * bench/in_testhost.ts — boot one throwaway systemd host (tests/testhost.ts),
 * run a command inside it with inherited stdio, tear everything down, and exit
 * with the command's code.
 *
 *   deno run -A bench/in_testhost.ts [--want UNIT]... -- CMD...
 *
 * Everything the benchmarks write lands on the host's *base tmpfs* (one tmpfs,
 * so all peers use the same file system):
 *   <base>/state          bound at /var/lib/tsnspawn (tsnspawn's images and containers)
 *   <base>/etc            bound at /etc/tsnspawn
 *   <base>/bench/work     bound at /bench (rootfs, OCI bundle, results)
 *   <base>/bench/podman   bound at /var/lib/containers (podman's graph root: the
 *                         host's own /var/lib/containers would be on its overlay
 *                         root, and overlayfs refuses an overlay as upper dir)
 * Tearing the host down unmounts the base tmpfs, so nothing is left behind,
 * also when the run is interrupted (the test host's SIGINT/SIGTERM handlers
 * dispose it).
 *
 * Environment variables named BENCH_* are passed through, and
 * BENCH_IN_TESTHOST=1 and BENCH_HOST_NAME=<host name> are set inside.
 *
 * @module
 */

import { join } from "@std/path";
import { TestHost, type TestHostBind } from "../tests/testhost.ts";

function usage(): never {
  console.error("usage: in_testhost.ts [--want UNIT]... -- CMD...");
  Deno.exit(2);
}

async function main(argv: string[]): Promise<number> {
  const dd = argv.indexOf("--");
  if (dd < 0) usage();
  const own = argv.slice(0, dd);
  const cmd = argv.slice(dd + 1);
  if (cmd.length === 0) usage();
  const wants: string[] = [];
  for (let i = 0; i < own.length; i++) {
    if (own[i] === "--want" && own[i + 1]) wants.push(own[++i]);
    else usage();
  }

  // The bind sources live on the base tmpfs, which exists only once the host
  // is created; binds are read at boot, so they are filled in between.
  const binds: TestHostBind[] = [];
  const host = await TestHost.create({ wants, binds });
  try {
    const work = join(host.baseDir, "bench", "work");
    const podman = join(host.baseDir, "bench", "podman");
    Deno.mkdirSync(work, { recursive: true });
    Deno.mkdirSync(podman, { recursive: true, mode: 0o700 });
    binds.push({ source: work, target: "/bench" }, {
      source: podman,
      target: "/var/lib/containers",
    });
    await host.boot();
    console.error(
      `in_testhost: host ${host.name} booted in ${
        host.lastBootMs.toFixed(0)
      } ms (PID 1 = ${host.pid})`,
    );
    const env: Record<string, string> = { BENCH_IN_TESTHOST: "1", BENCH_HOST_NAME: host.name };
    for (const [k, v] of Object.entries(Deno.env.toObject())) {
      if (k.startsWith("BENCH_") && !(k in env)) env[k] = v;
    }
    const term = Deno.env.get("TERM");
    if (term) env.TERM = term;
    return await host.runInherit(cmd, { cwd: host.repoDir, env });
  } finally {
    await host.dispose();
    console.error(`in_testhost: host ${host.name} torn down`);
  }
}

if (import.meta.main) {
  let code: number;
  try {
    code = await main(Deno.args);
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    code = 1;
  }
  Deno.exit(code);
}

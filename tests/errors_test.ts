/**
 * Bad input and missing prerequisites: one clear line naming the thing and
 * what to do, a non-zero exit, and nothing written.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { integrationTest, tsnspawnArgv } from "./helpers.ts";

/** Runs the CLI on this machine (outside any test host). */
async function tsnspawnHere(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(tsnspawnArgv(args)[0], {
    args: tsnspawnArgv(args).slice(1),
    env: { TSNSPAWN_ROOT: "/nonexistent/tsnspawn-test-root", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("no systemd reachable: a clear error saying how to get one", async () => {
  const result = await tsnspawnHere(["list"], {
    DBUS_SYSTEM_BUS_ADDRESS: "unix:path=/nonexistent/bus",
  });
  assertEquals(result.code, 1);
  assertStringIncludes(result.stderr, "cannot reach systemd");
  assertStringIncludes(result.stderr, "throwaway host");
});

Deno.test("usage errors exit 2 with one line and a hint", async () => {
  for (const args of [["run"], ["frobnicate"], ["run", "--memory", "lots", "busybox"], ["stop"]]) {
    const result = await tsnspawnHere(args);
    assert(result.code === 2 || result.code === 1, `${args}: exit ${result.code}`);
    const lines = result.stderr.trim().split("\n");
    assertMatch(lines[0], /^tsnspawn: error: /);
    assert(lines.length <= 2, result.stderr);
  }
  assertEquals((await tsnspawnHere(["frobnicate"])).code, 2);
});

Deno.test({
  name: "not root: refused with a clear error before anything is done",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    // An unprivileged user needs a Deno cache it can read: a copy on a tmpfs.
    const dir = Deno.makeTempDirSync({ prefix: "tsnspawn-nonroot-" });
    try {
      await run("mount", ["-t", "tmpfs", "tmpfs", dir]);
      Deno.chmodSync(dir, 0o755);
      const denoDir = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME") ?? "/root"}/.cache/deno`;
      await run("cp", ["-a", `${denoDir}/.`, `${dir}/deno`]);
      await run("chmod", ["-R", "a+rX", `${dir}/deno`]);
      const out = await new Deno.Command("setpriv", {
        args: [
          "--reuid",
          "65534",
          "--regid",
          "65534",
          "--clear-groups",
          ...tsnspawnArgv(["list"]),
        ],
        env: { DENO_DIR: `${dir}/deno`, HOME: dir },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assertEquals(out.code, 1, stderr);
      assertStringIncludes(stderr, "must run as root");
    } finally {
      await run("umount", ["-l", dir]).catch(() => {});
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

async function run(command: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(command, { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${command} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

integrationTest("invalid values are refused and nothing is written", async (core) => {
  const cases: [string[], string][] = [
    [["run", "--name", "bad name", "busybox", "true"], "name"],
    [["run", "--memory", "12x", "busybox", "true"], "memory"],
    [["run", "--cpus", "-1", "busybox", "true"], "cpus"],
    [["run", "-v", "./relative:/x", "busybox", "true"], "volume"],
    [["run", "-v", "data:/x:shared", "busybox", "true"], "volume"],
    [["run", "-v", "/nonexistent/dir:/x", "busybox", "true"], "volume"],
    [["run", "-u", "nosuchuser", "busybox", "true"], "nosuchuser"],
    // Never reach out to a registry from a test: --pull never.
    [["run", "--pull", "never", "nosuchimage", "true"], "nosuchimage"],
    [["run", "--rootfs", "/nonexistent/root", "true"], "rootfs"],
    [["run", "--rm", "--restart", "always", "busybox", "true"], "--restart"],
    [["start", "ghost"], "ghost"],
    [["stop", "ghost"], "ghost"],
    [["rm", "ghost"], "ghost"],
    [["logs", "ghost"], "ghost"],
    [["exec", "ghost", "true"], "ghost"],
  ];
  for (const [args, thing] of cases) {
    const result = await core.tsn(args);
    assert(result.code !== 0, `${args.join(" ")} succeeded`);
    assertStringIncludes(result.stderr, thing, `${args.join(" ")}: ${result.stderr}`);
    assertMatch(result.stderr, /^tsnspawn: error: /);
  }
  assertEquals((await core.shOk("ls /var/lib/tsnspawn/containers | wc -l")).trim(), "0");
  assertEquals(
    (await core.shOk("systemctl list-units --all --no-legend 'tsnspawn-*.service'")).trim(),
    "",
  );
});

integrationTest(
  "a name already used is refused; the first container is untouched",
  async (core) => {
    await core.tsnOk(["run", "-d", "--name", "dup", "busybox", "sleep", "1000"]);
    const again = await core.tsn(["run", "-d", "--name", "dup", "busybox", "true"]);
    assertEquals(again.code, 1);
    assertStringIncludes(again.stderr, "already in use");
    assertMatch(await core.tsnOk(["list"]), /\ndup\s+\S+\s+running/);
    const twice = await core.tsn(["start", "dup"]);
    assertStringIncludes(twice.stderr, "already running");
    await core.tsnOk(["rm", "-f", "dup"]);
  },
);

integrationTest("an image without a command needs one", async (core) => {
  // import gives the image a default Cmd; --entrypoint "" clears it.
  const result = await core.tsn(["run", "--rm", "--entrypoint", "", "busybox"]);
  assertEquals(result.code, 1);
  assertStringIncludes(result.stderr, "no command to run");
});

/**
 * The security options end to end: the default seccomp filter and
 * no_new_privs, `--security-opt seccomp=unconfined|PROFILE.json`,
 * `--security-opt no-new-privileges=false`, `--read-only`, `--tmpfs`,
 * `--privileged`, and that `exec` gets the container's filter too.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { integrationTest, REPO } from "../helpers.ts";

const STATUS = ["grep", "-E", "^(NoNewPrivs|Seccomp):", "/proc/self/status"];

integrationTest(
  "seccomp: docker's profile by default, unconfined on request, same for exec",
  async (core) => {
    assertMatch(
      await core.tsnOk(["run", "--rm", "busybox", ...STATUS]),
      /NoNewPrivs:\s+1\nSeccomp:\s+2/,
    );
    assertMatch(
      await core.tsnOk([
        "run",
        "--rm",
        "--security-opt",
        "seccomp=unconfined",
        "busybox",
        ...STATUS,
      ]),
      /NoNewPrivs:\s+1\nSeccomp:\s+0/,
    );
    // Without no_new_privs the filter is installed while still privileged.
    assertMatch(
      await core.tsnOk([
        "run",
        "--rm",
        "--security-opt",
        "no-new-privileges=false",
        "busybox",
        ...STATUS,
      ]),
      /NoNewPrivs:\s+0\nSeccomp:\s+2/,
    );
    // unshare is refused by the filter without CAP_SYS_ADMIN, allowed with it.
    const refused = await core.tsn(["run", "--rm", "busybox", "unshare", "-u", "true"]);
    assertEquals(refused.code, 1);
    await core.tsnOk(["run", "--rm", "--cap-add", "SYS_ADMIN", "busybox", "unshare", "-u", "true"]);
    await core.tsnOk(["run", "-d", "--name", "filtered", "busybox", "sleep", "1000"]);
    assertMatch(await core.tsnOk(["exec", "filtered", ...STATUS]), /NoNewPrivs:\s+1\nSeccomp:\s+2/);
    await core.tsnOk(["rm", "-f", "filtered"]);
  },
);

integrationTest(
  "seccomp: a custom profile is stored at create and enforced; bad ones fail create",
  async (core) => {
    // docker's own profile without uname: it falls to the default action, EPERM.
    await core.shOk(
      `cd ${REPO} && ${REPO}/node_modules/.bin/deno eval --quiet 'import {DOCKER_DEFAULT_PROFILE as p, formatSeccompProfile as f} from "./src/security/seccomp_profile.ts"; ` +
        `const q = {...p, syscalls: p.syscalls.map((r) => ({...r, names: r.names.filter((n) => n !== "uname")})).filter((r) => r.names.length > 0)}; console.log(f(q))' > /tmp/profile.json`,
    );
    await core.tsnOk([
      "create",
      "--name",
      "custom",
      "--security-opt",
      "seccomp=/tmp/profile.json",
      "busybox",
      "sh",
      "-c",
      "uname; echo done",
    ]);
    await core.shOk("rm /tmp/profile.json"); // the container keeps the profile it was created with
    await core.tsnOk(["start", "custom"]);
    await core.waitFor(
      "custom to finish",
      async () => (await core.tsnOk(["logs", "custom"])).includes("done"),
    );
    assert(
      !(await core.tsnOk(["logs", "custom"])).includes("Linux"),
      "uname ran under the custom profile",
    );
    await core.tsnOk(["rm", "custom"]);
    await core.shOk(`echo '{"defaultAction": "SCMP_ACT_NOPE"}' > /tmp/bad.json`);
    const bad = await core.tsn([
      "run",
      "--rm",
      "--security-opt",
      "seccomp=/tmp/bad.json",
      "busybox",
      "true",
    ]);
    assertEquals(bad.code, 1);
    assertStringIncludes(bad.stderr, "seccomp profile /tmp/bad.json");
    const missing = await core.tsn([
      "run",
      "--rm",
      "--security-opt",
      "seccomp=/nonexistent.json",
      "busybox",
      "true",
    ]);
    assertStringIncludes(missing.stderr, "cannot be read");
    assertEquals((await core.tsnOk(["list", "-a", "-q"])).trim(), "");
  },
);

integrationTest(
  "--read-only: the root refuses writes, /tmp and /run are writable tmpfs; --tmpfs",
  async (core) => {
    const out = await core.tsnOk([
      "run",
      "--rm",
      "--read-only",
      "--tmpfs",
      "/data:size=1m,mode=700",
      "busybox",
      "sh",
      "-c",
      "touch /x 2>/dev/null && echo ROOT-WRITABLE; touch /tmp/a /run/a /data/a && echo tmpfs-ok; " +
      "grep -E ' / | /data ' /proc/mounts; stat -c %a /data",
    ]);
    assert(!out.includes("ROOT-WRITABLE"), out);
    assertStringIncludes(out, "tmpfs-ok");
    assertMatch(out, /overlay \/ overlay ro[,\s]/);
    assertMatch(out, /tmpfs \/data tmpfs rw,nosuid,nodev,noexec,.*size=1024k,mode=700/);
    assertMatch(out, /\n700\n?$/);
    const bad = await core.tsn(["run", "--rm", "--tmpfs", "/x:size=lots", "busybox", "true"]);
    assertEquals(bad.code, 1);
  },
);

integrationTest(
  "--privileged: every capability we hold, no seccomp, /sys and /proc/sys writable",
  async (core) => {
    const out = await core.tsnOk([
      "run",
      "--rm",
      "--privileged",
      "busybox",
      "sh",
      "-c",
      "grep -E '^(CapBnd|Seccomp):' /proc/self/status; grep ' /sys ' /proc/mounts; " +
      "echo priv > /proc/sys/kernel/hostname && hostname",
    ]);
    const host = (await core.shOk("grep CapBnd /proc/self/status")).trim().split(/\s+/)[1];
    assertMatch(out, new RegExp(`CapBnd:\\s+${host}`));
    assertMatch(out, /Seccomp:\s+0/);
    assertMatch(out, /sysfs \/sys sysfs rw/);
    assertStringIncludes(out, "priv");
  },
);

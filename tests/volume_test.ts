/**
 * Volumes in the throwaway host: named volumes outlive their containers
 * and are refused removal while a container uses them, anonymous ones go
 * with `rm -v` and `--rm`, an empty volume gets the image's content
 * (copy-up), a tmpfs volume is shared by its containers, and `tsnspawn
 * check` finds the store consistent afterwards.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { integrationTest } from "./helpers.ts";

const NONE = ["--network", "none"];

integrationTest(
  "volumes: a named volume outlives its container and is refused removal while used",
  async (core) => {
    await core.tsnOk(["volume", "create", "--label", "team=db", "vol1"]);
    await core.tsnOk([
      "run",
      "--name",
      "user1",
      ...NONE,
      "-v",
      "vol1:/data",
      "busybox",
      "sh",
      "-c",
      "echo kept > /data/f",
    ]);
    const refused = await core.tsn(["volume", "rm", "vol1"]);
    assertEquals(refused.code, 1);
    assertStringIncludes(refused.stderr, "volume vol1: in use by container user1");
    assertStringIncludes(await core.tsnOk(["volume", "ls"]), "user1");

    await core.tsnOk(["rm", "user1"]);
    assertEquals(
      (await core.tsnOk([
        "run",
        "--rm",
        ...NONE,
        "-v",
        "vol1:/data:ro",
        "busybox",
        "cat",
        "/data/f",
      ])).trim(),
      "kept",
    );
    const info = JSON.parse(await core.tsnOk(["volume", "inspect", "vol1"]));
    assertEquals([info.Labels, info.UsedBy, info.Anonymous], [{ team: "db" }, [], false]);
    // -v NAME creates a volume that does not exist yet (docker's way).
    await core.tsnOk(["run", "--rm", ...NONE, "-v", "auto1:/a", "busybox", "true"]);
    assertEquals((await core.tsnOk(["volume", "ls", "-q"])).trim().split("\n"), ["auto1", "vol1"]);
    await core.tsnOk(["volume", "rm", "vol1", "auto1"]);
    assertEquals((await core.tsnOk(["volume", "ls", "-q"])).trim(), "");
    await core.tsnOk(["check"]);
  },
);

integrationTest(
  "volumes: anonymous ones go with rm -v and --rm; an empty volume gets the image's content",
  async (core) => {
    await core.tsnOk([
      "run",
      "--name",
      "anon",
      ...NONE,
      "-v",
      "/scratch",
      "busybox",
      "touch",
      "/scratch/x",
    ]);
    const [volume] = JSON.parse(await core.tsnOk(["volume", "ls", "--json"]));
    assertEquals([volume.Anonymous, volume.UsedBy], [true, ["anon"]]);
    assert(/^[0-9a-f]{64}$/.test(volume.Name), volume.Name);
    await core.tsnOk(["rm", "-v", "anon"]);
    assertEquals((await core.tsnOk(["volume", "ls", "-q"])).trim(), "");
    await core.tsnOk(["run", "--rm", ...NONE, "-v", "/scratch", "busybox", "true"]);
    assertEquals((await core.tsnOk(["volume", "ls", "-q"])).trim(), "");

    // Copy-up: /etc of the image lands in the empty volume, once.
    const listing = await core.tsnOk([
      "run",
      "--rm",
      ...NONE,
      "-v",
      "etc1:/etc",
      "busybox",
      "ls",
      "/etc",
    ]);
    assertStringIncludes(listing, "passwd");
    assertStringIncludes(await core.shOk("ls /var/lib/tsnspawn/volumes/etc1/_data"), "passwd");
    await core.tsnOk(["run", "--rm", ...NONE, "-v", "etc1:/etc", "busybox", "rm", "/etc/passwd"]);
    const again = await core.tsnOk([
      "run",
      "--rm",
      ...NONE,
      "-v",
      "etc1:/etc",
      "busybox",
      "ls",
      "/etc",
    ]);
    assert(!again.includes("passwd"), "a volume with content was filled again");
    // nocopy: none.
    assertEquals(
      (await core.tsnOk([
        "run",
        "--rm",
        ...NONE,
        "-v",
        "etc2:/etc:nocopy",
        "busybox",
        "ls",
        "/etc",
      ])).trim(),
      "",
    );
    await core.tsnOk(["volume", "prune", "-a"]);
    assertEquals((await core.tsnOk(["volume", "ls", "-q"])).trim(), "");
  },
);

integrationTest(
  "volumes: a tmpfs volume is mounted once and shared; check keeps its mount",
  async (core) => {
    await core.tsnOk([
      "volume",
      "create",
      "--opt",
      "type=tmpfs",
      "--opt",
      "device=tmpfs",
      "--opt",
      "o=size=2m",
      "fast",
    ]);
    await core.tsnOk([
      "run",
      "-d",
      "--name",
      "w",
      ...NONE,
      "--init",
      "-v",
      "fast:/t",
      "busybox",
      "sh",
      "-c",
      "echo shared > /t/f; exec sleep 100000",
    ]);
    await core.waitFor(
      "the file",
      async () => (await core.tsn(["exec", "w", "cat", "/t/f"])).code === 0,
    );
    const df = await core.tsnOk([
      "run",
      "--rm",
      ...NONE,
      "-v",
      "fast:/t",
      "busybox",
      "sh",
      "-c",
      "cat /t/f; df -k /t | tail -1",
    ]);
    assertStringIncludes(df, "shared");
    assertStringIncludes(df, "2048");
    await core.tsnOk(["rm", "-f", "w"]);
    // The tmpfs stays mounted for its volume: check leaves it; volume rm takes it down.
    assertEquals((await core.tsnOk(["check", "-n"])).trim(), "consistent");
    await core.tsnOk(["volume", "rm", "fast"]);
    assertEquals((await core.sh("grep -c /volumes/fast /proc/self/mountinfo")).stdout.trim(), "0");
  },
);

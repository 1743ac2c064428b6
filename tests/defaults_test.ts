/**
 * The defaults real images expect, and what `commit` keeps:
 * - HOME from the user's passwd entry (root, a named user, a uid without
 *   one), HOSTNAME, container=tsnspawn, TERM with -t; -e overrides each;
 *   `exec -u` gets that user's HOME;
 * - `commit` records the container's command and settings, applies
 *   `--change`, and leaves the init layer's files (/etc/hosts...) and mount
 *   points out of the image, as `export` and `diff` do;
 * - the default network takes a subnet no route of the host covers, and
 *   `network create --subnet` over a route is refused.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { integrationTest, tsnspawnArgv } from "./helpers.ts";

const TSNSPAWN = tsnspawnArgv([]).join(" ");

const ENV = "echo HOME=$HOME HOSTNAME=$HOSTNAME container=$container TERM=${TERM:-none}";

integrationTest("defaults: HOME, HOSTNAME, container=, TERM; -e overrides them", async (core) => {
  const run = (args: string[]) =>
    core.tsnOk(["run", "--rm", "--network", "none", ...args, "busybox", "sh", "-c", ENV]);
  assertMatch(await run([]), /^HOME=\/root HOSTNAME=[0-9a-f]{12} container=tsnspawn TERM=none$/m);
  assertMatch(await run(["--hostname", "box", "-u", "app"]), /^HOME=\/home\/app HOSTNAME=box /m);
  // A uid the image has no entry for: HOME=/.
  assertMatch(await run(["-u", "4242"]), /^HOME=\/ /m);
  assertMatch(
    await run(["-e", "HOME=/h", "-e", "HOSTNAME=x", "-e", "container=docker"]),
    /^HOME=\/h HOSTNAME=x container=docker TERM=none$/m,
  );
  // exec: the container's environment; with -u, that user's HOME.
  await core.tsnOk(["run", "-d", "--name", "e", "--network", "none", "busybox", "sleep", "100"]);
  assertMatch(await core.tsnOk(["exec", "e", "sh", "-c", ENV]), /^HOME=\/root /m);
  assertMatch(await core.tsnOk(["exec", "-u", "app", "e", "sh", "-c", ENV]), /^HOME=\/home\/app /m);
  assertMatch(await core.tsnOk(["exec", "-u", "4242", "e", "sh", "-c", ENV]), /^HOME=\/ /m);
  assertMatch(
    await core.tsnOk(["exec", "-u", "app", "-e", "HOME=/mine", "e", "sh", "-c", ENV]),
    /^HOME=\/mine /m,
  );
  await core.tsnOk(["rm", "-f", "e"]);
});

integrationTest(
  "commit keeps the container's command and settings, never its init layer",
  async (core) => {
    await core.shOk("mkdir -p /tmp/vol");
    await core.tsnOk([
      "run",
      "--name",
      "c",
      "--network",
      "none",
      "-v",
      "/tmp/vol:/data/vol",
      "-e",
      "GREETING=hello",
      "-w",
      "/srv",
      "-l",
      "tier=web",
      "--stop-signal",
      "SIGQUIT",
      "busybox",
      "sh",
      "-c",
      'echo "$GREETING from $(pwd)"; date > /stamp',
    ]);
    const diff = await core.tsnOk(["diff", "c"]);
    assertMatch(diff, /^A \/stamp$/m);
    for (const path of ["/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/data"]) {
      assert(!diff.includes(` ${path}\n`), `${path} in diff:\n${diff}`);
    }
    const listing = await core.shOk(`${TSNSPAWN} export c | tar -t`);
    assertStringIncludes(listing, "stamp");
    for (const path of ["etc/hosts", "etc/hostname", "etc/resolv.conf", "data/"]) {
      assert(!listing.split("\n").includes(path), `${path} in export`);
    }

    await core.tsnOk([
      "commit",
      "-m",
      "snapshot",
      "-c",
      "EXPOSE 8080",
      "-c",
      "ENV MORE=1",
      "c",
      "c-image:1",
    ]);
    const image = JSON.parse(await core.tsnOk(["image", "inspect", "c-image:1"]))[0];
    assertEquals(image.Config.Cmd, ["sh", "-c", 'echo "$GREETING from $(pwd)"; date > /stamp']);
    assertEquals(image.Config.WorkingDir, "/srv");
    assertEquals(image.Config.Labels, { tier: "web" });
    assertEquals(image.Config.StopSignal, "SIGQUIT");
    assertEquals(image.Config.ExposedPorts, { "8080/tcp": {} });
    assert(image.Config.Env.includes("GREETING=hello") && image.Config.Env.includes("MORE=1"));
    assert(!image.Config.Env.some((e: string) => /^(HOSTNAME|HOME|container)=/.test(e)));
    // The committed image runs the container's command, with its settings.
    assertStringIncludes(
      await core.tsnOk(["run", "--rm", "--network", "none", "c-image:1"]),
      "hello from /srv",
    );
    // Its layers have no init-layer file: a container made from it, never started, shows none.
    await core.tsnOk(["create", "--name", "fresh", "--network", "none", "c-image:1"]);
    const files = await core.shOk(`${TSNSPAWN} export fresh | tar -t`);
    assertStringIncludes(files, "stamp");
    for (const path of ["etc/hosts", "etc/hostname", "etc/resolv.conf", "data/", "data/vol/"]) {
      assert(!files.split("\n").includes(path), `${path} in the committed image`);
    }
  },
);

integrationTest(
  "the default subnet skips a route; --subnet over a route is refused",
  async (core) => {
    await core.shOk(
      "ip link add d0 type veth peer name d0p && ip addr add 172.17.3.1/24 dev d0 && " +
        "ip link set d0p up && ip link set d0 up && ip route show | grep -q 172.17.3.0/24",
    );
    await core.tsnOk(["run", "-d", "--name", "n", "busybox", "sleep", "100"]);
    const network = JSON.parse(await core.tsnOk(["network", "inspect", "bridge"]));
    assertEquals(network.Subnet, "172.18.0.0/16");
    const address = JSON.parse(await core.tsnOk(["inspect", "n"])).Config.bridge.address as string;
    assert(address.startsWith("172.18."), address);

    const refused = await core.tsn(["network", "create", "--subnet", "172.17.0.0/16", "clash"]);
    assertEquals(refused.code, 1);
    assertStringIncludes(refused.stderr, "overlaps the host's route to 172.17.3.0/24 (d0)");
    assertEquals((await core.tsn(["network", "inspect", "clash"])).code, 1);
    // Without --subnet: the next free one.
    await core.tsnOk(["network", "create", "auto"]);
    assertEquals(
      JSON.parse(await core.tsnOk(["network", "inspect", "auto"])).Subnet,
      "172.19.0.0/16",
    );
    await core.tsnOk(["rm", "-f", "n"]);
  },
);

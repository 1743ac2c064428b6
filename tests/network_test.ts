/**
 * Bridge networking inside the throwaway host's own network namespace (the
 * test host is `unshare --net`: nothing here touches the machine's network):
 * name resolution on a user network, published ports from the host's
 * 127.0.0.1 and the bridge address, unique addresses under concurrency,
 * teardown on stop/rm/kill -9 (devices, nft elements, leases), and bridge
 * segments beyond one bridge's ports.
 *
 * busybox-static's wget crashes on this machine (in the host too), so HTTP
 * requests are made with busybox nc.
 */
import {
  assert,
  assertEquals,
  assertMatch,
  assertNotEquals,
  assertStringIncludes,
} from "@std/assert";
import { type CoreHost, integrationTest } from "./helpers.ts";

/** A shell line fetching http://HOST:PORT/PATH with nc (in a container or on the host). */
function httpGet(host: string, port: number, path: string, nc = "nc"): string {
  return `printf 'GET ${path} HTTP/1.0\\r\\n\\r\\n' | ${nc} -w 3 ${host} ${port}`;
}

/** Host veths of containers (`tsnv...`) now present. */
async function containerLinks(core: CoreHost): Promise<string[]> {
  const out = await core.shOk("ip -o link show");
  return out.split("\n").map((l) => l.split(": ")[1]?.split("@")[0] ?? "").filter((n) =>
    n.startsWith("tsnv")
  );
}

/** The publish map elements now in the kernel (text of both maps). */
async function publishElements(core: CoreHost): Promise<string> {
  const r = await core.sh(
    "nft list map inet tsnspawn publish-any; nft list map inet tsnspawn publish-addr",
  );
  return r.stdout.split("\n").filter((l) => l.includes("elements")).join("\n");
}

function leases(
  core: CoreHost,
  network: string,
): Promise<{ address: string; container: string }[]> {
  return core.shOk(`cat /var/lib/tsnspawn/networks/${network}/leases.json`).then((t) =>
    JSON.parse(t).leases
  );
}

integrationTest("network: containers on a user network reach each other by name", async (core) => {
  assertEquals(
    (await core.tsnOk(["network", "create", "--subnet", "10.77.0.0/24", "app"])).trim(),
    "app",
  );
  await core.tsnOk([
    "run",
    "-d",
    "--name",
    "srv",
    "--hostname",
    "srvhost",
    "--network",
    "app",
    "busybox",
    "httpd",
    "-f",
    "-p",
    "80",
    "-h",
    "/etc",
  ]);
  const out = await core.tsnOk([
    "run",
    "--rm",
    "--name",
    "client",
    "--network",
    "app",
    "busybox",
    "sh",
    "-c",
    `cat /etc/hosts; ping -c 1 -W 2 srv >/dev/null && echo ping-ok; ${
      httpGet("srv", 80, "/hostname")
    }`,
  ]);
  assertMatch(out, /10\.77\.0\.\d+\tsrv\tsrvhost/);
  assertStringIncludes(out, "ping-ok");
  assertStringIncludes(out, "200 OK");
  assertStringIncludes(out, "srvhost");
  // The default network is another network: not reachable from there.
  const other = await core.tsn(["run", "--rm", "busybox", "sh", "-c", "ping -c 1 -W 1 srv"]);
  assertNotEquals(other.code, 0);
  // In use: refused; after rm: gone with its bridge.
  const refused = await core.tsn(["network", "rm", "app"]);
  assertEquals(refused.code, 1);
  assertStringIncludes(refused.stderr, "network app: in use by 1 container(s): srv");
  const inspect = JSON.parse(await core.tsnOk(["network", "inspect", "app"]));
  assertEquals(inspect.Subnet, "10.77.0.0/24");
  assertEquals(inspect.Containers.map((c: { Name: string }) => c.Name), ["srv"]);
  await core.tsnOk(["rm", "-f", "srv"]);
  await core.tsnOk(["network", "rm", "app"]);
  const links = await core.shOk("ip -o link show");
  assert(!/tsn1[:@]/.test(links), links);
  assertStringIncludes(await core.tsnOk(["network", "ls"]), "bridge");
});

integrationTest(
  "network: -p 8080:80 answers on the host's 127.0.0.1 and the bridge address",
  async (core) => {
    await core.tsnOk([
      "run",
      "-d",
      "--name",
      "web",
      "-p",
      "8080:80",
      "-p",
      "127.0.0.1:8090:80",
      "busybox",
      "httpd",
      "-f",
      "-p",
      "80",
      "-h",
      "/etc",
    ]);
    const hostname = JSON.parse(await core.tsnOk(["inspect", "web"])).Config.hostname;
    // The default network's gateway (its subnet is picked free at its first use).
    const gateway = JSON.parse(await core.tsnOk(["network", "inspect", "bridge"])).Gateway;
    // `run -d` returns once httpd runs, which may be before it listens (as with docker).
    await core.waitFor(
      "httpd to listen",
      async () =>
        (await core.sh(httpGet("127.0.0.1", 8080, "/hostname", "busybox nc"))).stdout.includes(
          "200 OK",
        ),
    );
    for (
      const [host, port] of [["127.0.0.1", 8080], [gateway, 8080], ["127.0.0.1", 8090]] as const
    ) {
      const out = await core.shOk(httpGet(host, port, "/hostname", "busybox nc"));
      assertStringIncludes(out, "200 OK", `${host}:${port}`);
      assertStringIncludes(out, hostname);
    }
    // 127.0.0.1:8090 only: not on the bridge address.
    const bridgeOnly = await core.sh(httpGet(gateway, 8090, "/hostname", "busybox nc"));
    assert(!bridgeOnly.stdout.includes("200 OK"), bridgeOnly.stdout);
    // Another container reaches it through the host (hairpin) and directly.
    const fromPeer = await core.tsnOk([
      "run",
      "--rm",
      "busybox",
      "sh",
      "-c",
      `${httpGet(gateway, 8080, "/hostname")}; ${httpGet("web", 80, "/hostname")}`,
    ]);
    assertEquals(fromPeer.split("200 OK").length, 3, fromPeer);
    // Shown in list and inspect.
    assertMatch(
      await core.tsnOk(["list"]),
      /web .*\d+\.\d+\.\d+\.\d+\s+0\.0\.0\.0:8080->80\/tcp, 127\.0\.0\.1:8090->80\/tcp/,
    );
    const inspect = JSON.parse(await core.tsnOk(["inspect", "web"]));
    assertEquals(inspect.Network.Ports, ["0.0.0.0:8080->80/tcp", "127.0.0.1:8090->80/tcp"]);
    // A clash is a clear error before anything starts.
    const clash = await core.tsn([
      "run",
      "-d",
      "--name",
      "web2",
      "-p",
      "127.0.0.1:8080:81",
      "busybox",
      "true",
    ]);
    assertEquals(clash.code, 1);
    assertStringIncludes(clash.stderr, "host port 8080/tcp is already published by container web");
    assertEquals((await core.sh("ls /var/lib/tsnspawn/containers/web2")).code === 0, false);
    // --network none/host cannot publish.
    const none = await core.tsn([
      "run",
      "--rm",
      "--network",
      "none",
      "-p",
      "9000:80",
      "busybox",
      "true",
    ]);
    assertStringIncludes(none.stderr, "published ports need a bridge network");
  },
);

integrationTest("network: 50 concurrent starts get 50 unique, working addresses", async (core) => {
  const starts = [];
  for (let i = 0; i < 50; i++) {
    starts.push(
      core.tsn(["run", "-d", "--name", `c${i}`, "busybox", "sleep", "600"], { timeoutMs: 180_000 }),
    );
  }
  const results = await Promise.all(starts);
  for (const r of results) assertEquals(r.code, 0, r.stderr);
  const leased = await leases(core, "bridge");
  assertEquals(leased.length, 50);
  assertEquals(new Set(leased.map((l) => l.address)).size, 50);
  assertEquals((await containerLinks(core)).length, 50);
  // Every one answers on its address.
  const pings = leased.map((l) =>
    `busybox ping -c 1 -W 2 ${l.address} >/dev/null || echo down ${l.address}`
  ).join("; ");
  assertEquals((await core.shOk(pings)).trim(), "");
  await core.tsnOk(["rm", "-f", ...leased.map((l) => l.container)], { timeoutMs: 180_000 });
  assertEquals(await leases(core, "bridge"), []);
  await core.waitFor("the veths to go", async () => (await containerLinks(core)).length === 0);
});

integrationTest("network: stop, kill -9 and rm leave no veth, no rule, no lease", async (core) => {
  await core.tsnOk([
    "run",
    "-d",
    "--name",
    "k",
    "-p",
    "8081:80",
    "busybox",
    "httpd",
    "-f",
    "-p",
    "80",
    "-h",
    "/etc",
  ]);
  const address = (await leases(core, "bridge"))[0].address;
  assertStringIncludes(await publishElements(core), `tcp . 8081 : ${address} . 80`);
  // kill -9 of the container's PID 1 from the host.
  const pid = await core.unitProperty("tsnspawn-k.service", "MainPID");
  await core.shOk(`kill -9 ${pid}`);
  await core.waitFor(
    "the unit to stop",
    async () =>
      (await core.sh("systemctl is-active tsnspawn-k.service")).stdout.trim() !== "active",
  );
  await core.waitFor(
    "the cleanup",
    async () => (await containerLinks(core)).length === 0 && (await publishElements(core)) === "",
  );
  // The lease survives: a restart gets the same address, and the port works again.
  await core.tsnOk(["start", "k"]);
  assertEquals((await leases(core, "bridge"))[0].address, address);
  // `start` returns once httpd runs, which may be before it listens (as with docker).
  await core.waitFor(
    "httpd to answer on the published port again",
    async () =>
      (await core.sh(httpGet("127.0.0.1", 8081, "/hostname", "busybox nc"))).stdout.includes(
        "200 OK",
      ),
  );
  await core.tsnOk(["stop", "k"]);
  assertEquals(await containerLinks(core), []);
  assertEquals(await publishElements(core), "");
  await core.tsnOk(["start", "k"]);
  await core.tsnOk(["rm", "-f", "k"]);
  assertEquals(await containerLinks(core), []);
  assertEquals(await publishElements(core), "");
  assertEquals(await leases(core, "bridge"), []);
  assert(!(await core.shOk("cat /var/lib/tsnspawn/networks/bridge/hosts")).includes("\tk"));
  // --rm: its cleanup releases the lease.
  await core.tsnOk(["run", "--rm", "-p", "8082:80", "busybox", "true"]);
  assertEquals(await leases(core, "bridge"), []);
  assertEquals(await publishElements(core), "");
  // Removing the last network removes the bridge and the table: nothing is left.
  await core.tsnOk(["network", "rm", "bridge"]);
  assertEquals((await core.shOk("ip -o link show | grep -c tsn || true")).trim(), "0");
  assertEquals((await core.shOk("nft list ruleset")).trim(), "");
});

integrationTest(
  "network: more containers than a bridge segment holds spread over joined bridges",
  async (core) => {
    await core.tsnOk([
      "network",
      "create",
      "--subnet",
      "10.66.0.0/24",
      "--bridge-ports",
      "2",
      "seg",
    ]);
    for (let i = 0; i < 5; i++) {
      await core.tsnOk([
        "run",
        "-d",
        "--name",
        `s${i}`,
        "--network",
        "seg",
        "busybox",
        "sleep",
        "600",
      ]);
    }
    const links = await core.shOk("ip -o link show");
    for (const name of ["tsn1", "tsn1s1", "tsn1s2", "tsn1l1", "tsn1l2"]) {
      assertMatch(
        links,
        new RegExp(`: ${name}[:@]`),
      );
    }
    const ports = async (bridge: string) =>
      Number((await core.shOk(`ls /sys/class/net/${bridge}/brif | wc -l`)).trim());
    assertEquals(await ports("tsn1"), 2 + 2); // two containers, two links
    assertEquals(await ports("tsn1s1"), 2 + 1);
    assertEquals(await ports("tsn1s2"), 1 + 1);
    // Segment 0 to segment 2 by name, and everyone to the gateway.
    const out = await core.tsnOk([
      "exec",
      "s0",
      "sh",
      "-c",
      "ping -c 1 -W 2 s4 >/dev/null && echo s4-ok",
    ]);
    assertStringIncludes(out, "s4-ok");
    const gw = await core.tsnOk([
      "exec",
      "s4",
      "sh",
      "-c",
      "ping -c 1 -W 2 10.66.0.1 >/dev/null && echo gw-ok",
    ]);
    assertStringIncludes(gw, "gw-ok");
    await core.tsnOk(["rm", "-f", "s0", "s1", "s2", "s3", "s4"]);
    await core.tsnOk(["network", "rm", "seg"]);
    assert(!/tsn1/.test(await core.shOk("ip -o link show")));
  },
);

/**
 * The Docker API with the real docker CLI (tier 1 of issue 13): every
 * command against tsnspawn's socket, started by systemd from
 * units/tsnspawn-api.socket, checking output and exit codes, and that what
 * the API made are ordinary tsnspawn containers (`tsnspawn list`, the
 * journal, no process of ours per container).
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { apiTest, HAVE_COMPOSE } from "./api_helpers.ts";

apiTest("docker CLI: version, info, images, ps against tsnspawn", async (api) => {
  const version = await api.dockerOk(["version"]);
  assertStringIncludes(version, "Server: tsnspawn");
  assertMatch(version, /API version:\s+1\.44 \(minimum version 1\.24\)/);
  const info = await api.dockerOk(["info"]);
  assertStringIncludes(info, "Server Version: 0.1.0");
  assertStringIncludes(info, "Logging Driver: journald");
  assertMatch(await api.dockerOk(["images"]), /busybox\s+latest\s+[0-9a-f]{12}/);
  const image = JSON.parse(await api.dockerOk(["image", "inspect", "busybox"]));
  assertEquals(image[0].RepoTags, ["busybox:latest"]);
  assertMatch(image[0].Id, /^sha256:[0-9a-f]{64}$/);
  assertEquals((await api.dockerOk(["ps", "-a", "-q"])).trim(), "");
  assertEquals(await api.serviceState(), "active");
});

apiTest("docker run: output, streams, exit codes, -e, -v, --rm cleanup", async (api) => {
  const hello = await api.docker(["run", "--rm", "busybox", "echo", "hello from tsnspawn"]);
  assertEquals([hello.code, hello.stdout], [0, "hello from tsnspawn\n"]);
  const three = await api.docker(["run", "--rm", "busybox", "sh", "-c", "exit 3"]);
  assertEquals(three.code, 3);
  const streams = await api.docker([
    "run",
    "--rm",
    "busybox",
    "sh",
    "-c",
    "echo to-out; echo to-err >&2; exit 7",
  ]);
  assertEquals([streams.code, streams.stdout, streams.stderr], [7, "to-out\n", "to-err\n"]);
  // A PID 1 cannot be killed from inside; under --init (tini) the shell is not PID 1.
  const killed = await api.docker(["run", "--rm", "--init", "busybox", "sh", "-c", "kill -9 $$"]);
  assertEquals(killed.code, 137);
  await api.shOk("mkdir -p /tmp/vol && echo from-the-host > /tmp/vol/f");
  const env = await api.dockerOk([
    "run",
    "--rm",
    "-e",
    "GREETING=bonjour",
    "-v",
    "/tmp/vol:/data:ro",
    "busybox",
    "sh",
    "-c",
    'echo "$GREETING"; cat /data/f; touch /data/g 2>&1 || echo read-only',
  ]);
  assertEquals(env, "bonjour\nfrom-the-host\ntouch: /data/g: Read-only file system\nread-only\n");
  // --rm: nothing is left, for docker nor for tsnspawn nor for systemd.
  assertEquals((await api.dockerOk(["ps", "-a", "-q"])).trim(), "");
  assertEquals((await api.tsnOk(["list", "-a", "-q"])).trim(), "");
  assertEquals(
    (await api.sh("systemctl list-units --all --no-legend 'tsnspawn-*.service' | grep -v api"))
      .stdout.trim(),
    "",
  );
});

apiTest("docker run -d with -p and --name: a tsnspawn container, port reachable", async (api) => {
  const id = (await api.dockerOk([
    "run",
    "-d",
    "--name",
    "web",
    "-p",
    "8080:80",
    "busybox",
    "httpd",
    "-f",
    "-p",
    "80",
    "-h",
    "/var/www",
  ])).trim();
  assertMatch(id, /^[0-9a-f]{64}$/);
  await api.waitFor(
    "httpd to answer on the published port",
    async () =>
      (await api.sh("curl -sf http://127.0.0.1:8080/")).stdout.includes("hello from tsnspawn"),
  );
  const ps = await api.dockerOk(["ps"]);
  assertMatch(ps, /busybox\s+"httpd -f -p 80 -h \/…"\s+.*Up .*0\.0\.0\.0:8080->80\/tcp\s+web/);
  // An ordinary tsnspawn container: the CLI lists it, systemd runs it, and
  // its unit holds the container's process alone.
  assertMatch(await api.tsnOk(["list"]), /web\s+docker\.io\/library\/busybox:latest\s+running/);
  assertEquals(await api.unitProperty("tsnspawn-web.service", "ActiveState"), "active");
  const cgroup = await api.unitProperty("tsnspawn-web.service", "ControlGroup");
  const procs = (await api.shOk(`cat /sys/fs/cgroup/systemd${cgroup}/cgroup.procs`)).trim();
  assertEquals(procs.split("\n").length, 1, `the unit's processes: ${procs}`);
  const inspect = JSON.parse(await api.dockerOk(["inspect", "web"]))[0];
  assertEquals(inspect.Id, id);
  assertEquals(inspect.Name, "/web");
  assertEquals(inspect.State.Running, true);
  assertEquals(inspect.Config.Image, "busybox");
  assertEquals(inspect.HostConfig.PortBindings, { "80/tcp": [{ HostIp: "", HostPort: "8080" }] });
  assertEquals(inspect.NetworkSettings.Ports["80/tcp"], [{
    HostIp: "0.0.0.0",
    HostPort: "8080",
  }]);
  // by ID prefix too
  assertEquals(JSON.parse(await api.dockerOk(["inspect", id.slice(0, 8)]))[0].Name, "/web");

  const stopped = await api.docker(["stop", "-t", "1", "web"]);
  assertEquals([stopped.code, stopped.stdout], [0, "web\n"]);
  assertMatch(await api.dockerOk(["ps", "-a"]), /Exited \(137\) .* ago\s+web/);
  assertEquals((await api.docker(["stop", "web"])).code, 0); // 304: already stopped
  assertEquals((await api.dockerOk(["start", "web"])).trim(), "web");
  assertEquals((await api.dockerOk(["rm", "-f", "web"])).trim(), "web");
  assertEquals((await api.tsnOk(["list", "-a", "-q"])).trim(), "");
});

apiTest("docker logs, logs -f (ends with the container), exec, kill, rm", async (api) => {
  await api.dockerOk([
    "run",
    "-d",
    "--name",
    "talker",
    "busybox",
    "sh",
    "-c",
    "echo line-1; echo oops >&2; trap 'echo bye; exit 0' TERM; while true; do sleep 0.1; done",
  ]);
  await api.waitFor(
    "the first lines",
    async () => (await api.docker(["logs", "talker"])).stdout.includes("line-1"),
  );
  const logs = await api.docker(["logs", "talker"]);
  assertEquals([logs.code, logs.stdout, logs.stderr], [0, "line-1\n", "oops\n"]);
  assertEquals(await api.dockerOk(["logs", "--tail", "1", "talker"]), "");
  assertMatch(
    await api.dockerOk(["logs", "-t", "talker"]),
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z line-1\n$/,
  );
  // The journal has the same lines (the container's unit, tsnspawn's logs).
  assertStringIncludes(
    await api.shOk("journalctl --no-pager -q -u tsnspawn-talker.service -o cat"),
    "line-1",
  );
  assertStringIncludes(await api.tsnOk(["logs", "talker"]), "line-1");

  const exec = await api.docker(["exec", "talker", "sh", "-c", "echo in-exec; echo e >&2; exit 5"]);
  assertEquals([exec.code, exec.stdout, exec.stderr], [5, "in-exec\n", "e\n"]);
  const piped = await api.docker(["exec", "-i", "talker", "sh", "-c", "tr a-z A-Z"], {
    stdin: "piped through exec\n",
  });
  assertEquals([piped.code, piped.stdout], [0, "PIPED THROUGH EXEC\n"]);
  const missing = await api.docker(["exec", "talker", "no-such-program"]);
  assertEquals(missing.code, 127);
  const env = await api.dockerOk([
    "exec",
    "-e",
    "X=1",
    "-w",
    "/tmp",
    "talker",
    "sh",
    "-c",
    "echo $X; pwd",
  ]);
  assertEquals(env, "1\n/tmp\n");

  // logs -f follows until the container stops, then ends by itself.
  const follow = api.host.spawn(["docker", "logs", "-f", "talker"], {
    stdout: "piped",
    stderr: "null",
    env: { DOCKER_HOST: "unix:///run/tsnspawn/docker.sock", DOCKER_CONFIG: "/tmp/docker-config" },
  });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  assertEquals((await api.docker(["stop", "talker"])).code, 0);
  const followed = await follow.output();
  assertEquals(followed.code, 0);
  assertEquals(new TextDecoder().decode(followed.stdout), "line-1\nbye\n");

  assertEquals((await api.dockerOk(["start", "talker"])).trim(), "talker");
  const kill = await api.docker(["kill", "--signal", "KILL", "talker"]);
  assertEquals(kill.code, 0);
  const wait = await api.dockerOk(["wait", "talker"]);
  assertEquals(wait.trim(), "137");
  const notRunning = await api.docker(["kill", "talker"]);
  assertEquals(notRunning.code, 1);
  assertStringIncludes(notRunning.stderr, "not running");
  assertEquals((await api.dockerOk(["rm", "talker"])).trim(), "talker");
  const gone = await api.docker(["rm", "talker"]);
  assertEquals(gone.code, 1);
  assertStringIncludes(gone.stderr, "Error response from daemon: No such container: talker");
});

apiTest("docker run -it and exec -it: a real terminal through the socket", async (api) => {
  /** Types `lines` into a terminal running `command`, a pause before each. */
  const typed = (lines: string[], command: string) => {
    const input = lines.map((line) => `sleep 2; printf '${line}\\r'`).join("; ");
    return `(sleep 2; ${input}) | script -qec "stty rows 40 cols 100; ${command}" /dev/null; echo "status=$?"`;
  };
  const run = await api.client(
    typed(["tty; stty size; echo hi-from-tty", "exit 4"], "docker run -it --rm busybox sh"),
    { timeoutMs: 60_000 },
  );
  assertStringIncludes(run.stdout, "/dev/console");
  assertStringIncludes(run.stdout, "40 100");
  assertStringIncludes(run.stdout, "hi-from-tty");
  assertStringIncludes(run.stdout, "status=4");
  assertEquals((await api.tsnOk(["list", "-a", "-q"])).trim(), "");

  await api.dockerOk(["run", "-d", "--name", "box", "busybox", "sleep", "1000"]);
  const exec = await api.client(
    typed(["echo in-exec; tty; stty size", "exit 6"], "docker exec -it box sh"),
    { timeoutMs: 60_000 },
  );
  assertStringIncludes(exec.stdout, "in-exec");
  assertStringIncludes(exec.stdout, "/dev/pts/0");
  assertStringIncludes(exec.stdout, "40 100");
  assertStringIncludes(exec.stdout, "status=6");
  await api.dockerOk(["rm", "-f", "box"]);

  // run -dit: a detached terminal (its holder keeps it); attach reaches it, resized to ours.
  await api.dockerOk(["run", "-dit", "--name", "tty", "busybox", "sh"]);
  assertEquals(
    (await api.dockerOk(["inspect", "-f", "{{.State.Running}} {{.Config.Tty}}", "tty"])).trim(),
    "true true",
  );
  const attached = await api.client(
    typed(["echo attached-here; stty size", "exit 5"], "docker attach tty"),
    { timeoutMs: 60_000 },
  );
  assertStringIncludes(attached.stdout, "attached-here");
  assertStringIncludes(attached.stdout, "40 100");
  assertStringIncludes(attached.stdout, "status=5");
  assertEquals((await api.dockerOk(["inspect", "-f", "{{.State.ExitCode}}", "tty"])).trim(), "5");
  await api.dockerOk(["rm", "tty"]);
});

apiTest("what tsnspawn cannot do: Docker-format errors, never a silent ignore", async (api) => {
  const curl = async (args: string) => {
    const r = await api.shOk(
      `curl -s -o /tmp/body -w '%{http_code}' --unix-socket /run/tsnspawn/docker.sock ${args}; echo; cat /tmp/body`,
    );
    const [status, ...body] = r.split("\n");
    return { status: Number(status), body: JSON.parse(body.join("\n")) };
  };
  const malformed = await curl(
    `-X POST -H 'Content-Type: application/json' -d '{"Image": "busybox",' http://d/v1.44/containers/create`,
  );
  assertEquals(malformed.status, 400);
  assertStringIncludes(malformed.body.message, "invalid JSON");
  const unknown = await curl("http://d/v1.44/no/such/endpoint");
  assertEquals([unknown.status, unknown.body], [404, { message: "page not found" }]);
  await api.shOk("head -c 5000000 /dev/zero | tr '\\0' ' ' > /tmp/big.json");
  const big = await curl(
    `-X POST -H 'Content-Type: application/json' --data-binary @/tmp/big.json http://d/v1.44/containers/create`,
  );
  assertEquals(big.status, 413);
  assertStringIncludes(big.body.message, "request body too large");
  const unsupported = await curl("http://d/v1.44/containers/x/stats");
  assertEquals(unsupported.status, 501);
  assertStringIncludes(unsupported.body.message, "not supported by tsnspawn");
  const swarm = await curl("http://d/v1.44/services");
  assertEquals(swarm.status, 503);

  const device = await api.docker(["run", "--rm", "--device", "/dev/null", "busybox", "true"]);
  assertEquals(device.code, 125);
  assertStringIncludes(device.stderr, "HostConfig.Devices");
  assertStringIncludes(device.stderr, "not supported by tsnspawn");
  const noImage = await api.docker(["run", "--rm", "127.0.0.1:1/nothing:here", "true"]);
  assertEquals(noImage.code, 125);
  assertStringIncludes(noImage.stderr, "Unable to find image '127.0.0.1:1/nothing:here' locally");
  await api.shOk("mkdir -p /tmp/ctx && printf 'FROM busybox\\nRUN true\\n' > /tmp/ctx/Dockerfile");
  const build = await api.docker(["build", "--cache-from", "other", "-t", "built", "/tmp/ctx"], {
    env: { DOCKER_BUILDKIT: "0" },
  });
  assertEquals(build.code, 1);
  assertStringIncludes(build.stderr, "cachefrom");
  assertStringIncludes(build.stderr, "not supported by tsnspawn");
  const noCommand = await api.docker(["run", "--rm", "busybox", "no-such-command"]);
  assertEquals(noCommand.code, 125, noCommand.stderr);
  assertStringIncludes(noCommand.stderr, "no-such-command");
  const noCommandKept = await api.docker(["run", "busybox", "no-such-command"]);
  assertEquals(
    noCommandKept.code === 125 || noCommandKept.code === 127,
    true,
    noCommandKept.stderr,
  );
  assertStringIncludes(noCommandKept.stderr, "no-such-command");
  await api.sh("docker ps -aq | xargs -r docker rm -f", {
    env: { DOCKER_HOST: "unix:///run/tsnspawn/docker.sock" },
  });
  // Nothing was left half-made.
  assertEquals((await api.tsnOk(["list", "-a", "-q"])).trim(), "");
  assert((await api.docker(["ps"])).code === 0);
});

/** Starts Debian's docker-registry on 127.0.0.1:5000 inside the host (its data under `dir`). */
async function startRegistry(api: import("./api_helpers.ts").ApiHost): Promise<void> {
  await api.shOk(
    "mkdir -p /tmp/registry && printf 'version: 0.1\\nlog:\\n  level: error\\n  accesslog:\\n    disabled: true\\nstorage:\\n  filesystem:\\n    rootdirectory: /tmp/registry\\nhttp:\\n  addr: 127.0.0.1:5000\\n' > /tmp/registry.yml",
  );
  api.host.spawn(["docker-registry", "serve", "/tmp/registry.yml"], {
    stdout: "null",
    stderr: "null",
  });
  await api.waitFor(
    "the registry",
    async () => (await api.sh("curl -sf http://127.0.0.1:5000/v2/")).code === 0,
  );
}

apiTest("docker pull from a registry, images, tag, rmi; run pulls a missing image", async (api) => {
  await startRegistry(api);
  await api.tsnOk(["tag", "busybox", "127.0.0.1:5000/lib/bb:1"]);
  await api.tsnOk(["push", "127.0.0.1:5000/lib/bb:1"]);
  await api.tsnOk(["rmi", "127.0.0.1:5000/lib/bb:1"]);
  const pull = await api.docker(["pull", "127.0.0.1:5000/lib/bb:1"]);
  assertEquals(pull.code, 0, pull.stderr);
  assertStringIncludes(pull.stdout, "1: Pulling from lib/bb");
  assertMatch(pull.stdout, /Digest: sha256:[0-9a-f]{64}/);
  assertStringIncludes(pull.stdout, "Status: Downloaded newer image for 127.0.0.1:5000/lib/bb:1");
  const again = await api.dockerOk(["pull", "127.0.0.1:5000/lib/bb:1"]);
  assertStringIncludes(again, "Status: Image is up to date for 127.0.0.1:5000/lib/bb:1");
  assertStringIncludes(pull.stdout, "127.0.0.1:5000/lib/bb:1\n");
  assertMatch(await api.dockerOk(["images"]), /127\.0\.0\.1:5000\/lib\/bb\s+1\s+[0-9a-f]{12}/);

  // A fresh store: the layers download (tsnspawn pull shares the store, so rmi both first).
  await api.dockerOk(["rmi", "127.0.0.1:5000/lib/bb:1"]);
  await api.dockerOk(["rmi", "busybox"]);
  assertEquals((await api.dockerOk(["images", "-q"])).trim(), "");
  const run = await api.docker([
    "run",
    "--rm",
    "127.0.0.1:5000/lib/bb:1",
    "echo",
    "pulled-and-ran",
  ]);
  assertEquals(run.code, 0, run.stderr);
  assertStringIncludes(run.stderr, "Unable to find image '127.0.0.1:5000/lib/bb:1' locally");
  assertStringIncludes(run.stderr, "Pull complete");
  assertStringIncludes(run.stderr, "Status: Downloaded newer image for 127.0.0.1:5000/lib/bb:1");
  assertEquals(run.stdout, "pulled-and-ran\n");

  assertEquals((await api.docker(["tag", "127.0.0.1:5000/lib/bb:1", "mine:2"])).code, 0);
  assertMatch(await api.dockerOk(["images", "mine"]), /mine\s+2\s+[0-9a-f]{12}/);
  await api.dockerOk(["run", "-d", "--name", "user", "mine:2", "sleep", "100"]);
  const inUse = await api.docker(["rmi", "127.0.0.1:5000/lib/bb:1", "mine:2"]);
  assertStringIncludes(inUse.stdout, "Untagged: 127.0.0.1:5000/lib/bb:1");
  assertEquals(inUse.code, 1);
  assertStringIncludes(inUse.stderr, "in use by a container");
  await api.dockerOk(["rm", "-f", "user"]);
  const rmi = await api.dockerOk(["rmi", "mine:2"]);
  assertStringIncludes(rmi, "Untagged: mine:2");
  assertMatch(rmi, /Deleted: sha256:[0-9a-f]{64}/);
  const missing = await api.docker(["pull", "127.0.0.1:5000/lib/none:1"]);
  assertEquals(missing.code, 1);
  assertStringIncludes(missing.stderr, "127.0.0.1:5000");
});

apiTest(
  "socket activation: the service exits when idle and comes back on the next call",
  async (api) => {
    assertEquals(await api.serviceState(), "inactive"); // nothing asked yet: socket only
    assertEquals(await api.unitProperty("tsnspawn-api.socket", "ActiveState"), "active");
    await api.dockerOk(["version"]);
    assertEquals(await api.serviceState(), "active");
    await api.waitFor("the idle exit", async () => await api.serviceState() === "inactive", 10_000);
    assertEquals(await api.unitProperty("tsnspawn-api.service", "Result"), "success");
    // A stream in progress is activity: the service stays while `docker logs -f` follows.
    await api.dockerOk([
      "run",
      "-d",
      "--name",
      "ticker",
      "busybox",
      "sh",
      "-c",
      "while true; do echo tick; sleep 1; done",
    ]);
    const follow = api.host.spawn(["docker", "logs", "-f", "ticker"], {
      stdout: "piped",
      stderr: "null",
      env: { DOCKER_HOST: "unix:///run/tsnspawn/docker.sock", DOCKER_CONFIG: "/tmp/docker-config" },
    });
    await new Promise((resolve) => setTimeout(resolve, 3500));
    assertEquals(await api.serviceState(), "active");
    await api.dockerOk(["rm", "-f", "ticker"]);
    const followed = await follow.output();
    assertEquals(followed.code, 0);
    assertStringIncludes(new TextDecoder().decode(followed.stdout), "tick\n");
    await api.waitFor("the idle exit", async () => await api.serviceState() === "inactive", 10_000);
    // Back on the next call, with what the last one left.
    assertEquals((await api.dockerOk(["ps", "-a", "-q"])).trim(), "");
    assertEquals(await api.serviceState(), "active");
  },
  { idleExitSec: 1 },
);

apiTest("clients killed mid-stream leave no stuck process or container", async (api) => {
  await api.dockerOk([
    "run",
    "-d",
    "--name",
    "long",
    "busybox",
    "sh",
    "-c",
    "while true; do echo tick; sleep 0.2; done",
  ]);
  // Started and SIGKILLed by one shell inside the host (killing a process
  // spawned from outside would kill its nsenter only).
  const killed = await api.client(`
    docker logs -f long >/dev/null 2>&1 & p1=$!
    docker run --name fg busybox sh -c 'while true; do echo fg; sleep 0.2; done' >/dev/null 2>&1 & p2=$!
    docker exec long sleep 1000 >/dev/null 2>&1 & p3=$!
    docker events >/dev/null 2>&1 & p4=$!
    docker wait long >/dev/null 2>&1 & p5=$!
    for i in $(seq 50); do [ -n "$(docker ps -q --filter name=fg)" ] && break; sleep 0.2; done
    sleep 1
    kill -9 $p1 $p2 $p3 $p4 $p5
    wait
    pgrep -x docker || echo no-client-left
  `);
  assertStringIncludes(killed.stdout, "no-client-left");
  // The service ends (no follower, exec stage or wait left holding it) ...
  await api.waitFor("the idle exit", async () => await api.serviceState() === "inactive", 15_000);
  assertEquals(
    (await api.sh("pgrep -ax journalctl || true")).stdout.trim(),
    "",
  );
  // ... the containers run on, as docker's do after their client went away, and go cleanly.
  assertMatch(await api.dockerOk(["ps"]), /long[\s\S]*fg|fg[\s\S]*long/);
  assertEquals((await api.dockerOk(["rm", "-f", "long", "fg"])).trim(), "long\nfg");
  assertEquals((await api.tsnOk(["list", "-a", "-q"])).trim(), "");
  assertEquals((await api.sh("tsnspawn check -n >/dev/null 2>&1; echo $?")).code, 0);
}, { idleExitSec: 1 });

apiTest("networks, aliases, connect, disconnect, rename, events with labels", async (api) => {
  // Events stream while the rest happens: the CLI's map-form filter.
  const events = api.client(
    `timeout 25 docker events --filter label=team=a --filter type=container --format '{{.Action}} {{.Actor.Attributes.name}} {{index .Actor.Attributes "team"}}' > /tmp/events.txt 2>&1; true`,
    { timeoutMs: 40_000 },
  );
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assertMatch(
    await api.dockerOk([
      "network",
      "create",
      "--label",
      "tier=2",
      "--subnet",
      "10.97.0.0/24",
      "backend",
    ]),
    /^[0-9a-f]{64}\n$/,
  );
  const listed = await api.dockerOk([
    "network",
    "ls",
    "--filter",
    "label=tier=2",
    "--format",
    "{{.Name}} {{.Driver}}",
  ]);
  assertEquals(listed, "backend bridge\n");
  assertMatch(await api.dockerOk(["network", "ls"]), /bridge[\s\S]*host\s+host[\s\S]*none\s+null/);
  await api.dockerOk([
    "run",
    "-d",
    "--name",
    "db",
    "--label",
    "team=a",
    "--network",
    "backend",
    "--network-alias",
    "database",
    "busybox",
    "httpd",
    "-f",
    "-p",
    "80",
    "-h",
    "/var/www",
  ]);
  const byAlias = await api.docker([
    "run",
    "--rm",
    "--network",
    "backend",
    "busybox",
    "sh",
    "-c",
    "for i in $(seq 30); do wget -qO- http://database/ && exit 0; sleep 0.2; done; exit 1",
  ]);
  assertEquals(byAlias.code, 0, byAlias.stderr);
  assertStringIncludes(byAlias.stdout, "hello from tsnspawn");
  const inspect = JSON.parse(await api.dockerOk(["network", "inspect", "backend"]))[0];
  assertEquals(inspect.IPAM.Config, [{ Subnet: "10.97.0.0/24", Gateway: "10.97.0.1" }]);
  assertEquals(Object.values(inspect.Containers).map((c) => (c as { Name: string }).Name), ["db"]);
  const inUse = await api.docker(["network", "rm", "backend"]);
  assertEquals(inUse.code, 1);
  assertStringIncludes(inUse.stderr, "in use by 1 container(s): db");

  // A stopped container moves between networks, keeps its aliases, is renamed.
  await api.dockerOk(["stop", "-t", "1", "db"]);
  const running = await api.docker(["rename", "db", "x"]);
  assertEquals(running.code, 0, running.stderr);
  await api.dockerOk(["network", "disconnect", "backend", "x"]);
  assertEquals(
    Object.keys(JSON.parse(await api.dockerOk(["inspect", "x"]))[0].NetworkSettings.Networks),
    ["none"],
  );
  await api.dockerOk(["network", "connect", "--alias", "store", "backend", "x"]);
  await api.dockerOk(["start", "x"]);
  const byNewAlias = await api.docker([
    "run",
    "--rm",
    "--network",
    "backend",
    "busybox",
    "sh",
    "-c",
    "for i in $(seq 30); do wget -qO- http://store/ >/dev/null && exit 0; sleep 0.2; done; exit 1",
  ]);
  assertEquals(byNewAlias.code, 0, byNewAlias.stderr);
  const onRunning = await api.docker(["network", "disconnect", "backend", "x"]);
  assertEquals(onRunning.code, 1);
  assertStringIncludes(onRunning.stderr, "is running");
  await api.dockerOk(["rm", "-f", "x"]);
  await api.dockerOk(["network", "rm", "backend"]);
  assertEquals((await api.tsnOk(["network", "ls", "-q"])).includes("backend"), false);

  // The tsnspawn CLI has the same options.
  const unset = await api.tsnOk([
    "run",
    "--rm",
    "--network",
    "none",
    "--unsetenv",
    "PATH",
    "busybox",
    "/bin/env",
  ]);
  assertEquals(unset.includes("PATH="), false);

  await events;
  const seen = (await api.shOk("cat /tmp/events.txt")).trim().split("\n");
  for (
    const line of [
      "create db a",
      "start db a",
      "die db a",
      "rename x a",
      "start x a",
      "destroy x a",
    ]
  ) {
    assertEquals(seen.includes(line), true, `event "${line}" in:\n${seen.join("\n")}`);
  }
  assertEquals(seen.every((line) => line.endsWith(" a")), true, seen.join("\n"));
});

apiTest("events: past ones with since/until, filters in docker-py's list form", async (api) => {
  const since = Math.floor(Date.now() / 1000) - 1;
  await api.dockerOk(["run", "--rm", "--label", "app=one", "busybox", "true"]);
  await api.dockerOk(["run", "--rm", "--label", "app=two", "busybox", "true"]);
  const until = Math.floor(Date.now() / 1000) + 1;
  const filters = encodeURIComponent(JSON.stringify({ label: ["app=two"], event: ["start"] }));
  const out = await api.shOk(
    `curl -sf --unix-socket /run/tsnspawn/docker.sock 'http://d/v1.44/events?since=${since}&until=${until}&filters=${filters}'`,
  );
  const lines = out.trim().split("\n").map((line) => JSON.parse(line));
  assertEquals(lines.length, 1, out);
  assertEquals([lines[0].status, lines[0].Type, lines[0].Action], ["start", "container", "start"]);
  assertEquals(lines[0].Actor.Attributes.app, "two");
  assertEquals(lines[0].from, "busybox");
  assertMatch(String(lines[0].timeNano), /^\d{19}$/);
});

apiTest(
  "docker build (classic) and compose build: tsnspawn build behind POST /build",
  async (api) => {
    await api.shOk(
      "mkdir -p /tmp/app && printf 'from the context\\n' > /tmp/app/msg.txt && " +
        `printf '%s\\n' 'FROM busybox' 'ARG GREETING=hello' 'COPY msg.txt /msg.txt' ` +
        `'RUN echo "$GREETING from RUN" > /run.txt' 'LABEL org.example.built=yes' ` +
        `'CMD ["cat", "/msg.txt", "/run.txt"]' > /tmp/app/Dockerfile`,
    );
    const env = { DOCKER_BUILDKIT: "0" };
    const build = await api.dockerOk(
      [
        "build",
        "--build-arg",
        "GREETING=hi",
        "-t",
        "apibuilt:1",
        "--iidfile",
        "/tmp/iid",
        "/tmp/app",
      ],
      { env },
    );
    assertStringIncludes(build, "RUN echo");
    assertMatch(build, /Successfully built [0-9a-f]{12}\n/);
    assertStringIncludes(build, "Successfully tagged apibuilt:1");
    const iid = (await api.shOk("cat /tmp/iid")).trim();
    assertMatch(iid, /^sha256:[0-9a-f]{64}$/);
    // An ordinary image of the store: the CLI and the API see the same one.
    const inspected = JSON.parse(await api.tsnOk(["image", "inspect", "apibuilt:1"]));
    assertEquals(JSON.stringify(inspected).includes(iid.slice(7)), true);
    assertEquals(
      await api.dockerOk(["run", "--rm", "apibuilt:1"]),
      "from the context\nhi from RUN\n",
    );
    assertEquals(
      (await api.dockerOk(["image", "inspect", "-f", "{{.Config.Labels}}", "apibuilt:1"])).trim(),
      "map[org.example.built:yes]",
    );
    // The same build again: every step from the cache.
    const again = await api.dockerOk([
      "build",
      "--build-arg",
      "GREETING=hi",
      "-t",
      "apibuilt:1",
      "/tmp/app",
    ], {
      env,
    });
    assertStringIncludes(again, "Using cache");
    assertStringIncludes(again, `Successfully built ${iid.slice(7, 19)}`);
    // A failing step: the CLI's exit status 1 and the step's message, nothing left behind.
    await api.shOk(
      "mkdir -p /tmp/bad && printf 'FROM busybox\\nRUN exit 3\\n' > /tmp/bad/Dockerfile",
    );
    const failed = await api.docker(["build", "-t", "bad", "/tmp/bad"], { env });
    assertEquals(failed.code, 1, failed.stderr);
    assertStringIncludes(failed.stderr + failed.stdout, "non-zero code: 3");

    // docker-compose's build: through the CLI (its default) and through docker-py.
    if (HAVE_COMPOSE) {
      await api.shOk(
        "mkdir -p /tmp/proj && printf 'version: \"3\"\\nservices:\\n  app:\\n    build: /tmp/app\\n    image: composebuilt\\n' > /tmp/proj/docker-compose.yml",
      );
      for (const viaCli of ["1", "0"]) {
        const composed = await api.client("cd /tmp/proj && docker-compose build 2>&1", {
          env: { COMPOSE_DOCKER_CLI_BUILD: viaCli, DOCKER_BUILDKIT: "0" },
          timeoutMs: 120_000,
        });
        assertEquals(composed.code, 0, composed.stdout + composed.stderr);
        assertEquals(
          await api.dockerOk(["run", "--rm", "composebuilt"]),
          "from the context\nhello from RUN\n",
        );
        await api.dockerOk(["rmi", "composebuilt"]);
      }
    }
    // Every RUN step's container is gone, and no unit of a build is left.
    assertEquals((await api.tsnOk(["list", "-a", "-q"])).trim(), "");
    assertEquals(
      (await api.sh("systemctl list-units --all --plain --no-legend 'tsnspawn-build-*'")).stdout
        .trim(),
      "",
    );
  },
);

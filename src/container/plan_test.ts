import { assert, assertEquals, assertThrows } from "@std/assert";
import {
  type ContainerRequest,
  containerUuidOf,
  DEFAULT_PATH,
  detectSystemd,
  INIT_COMMANDS,
  machineIdOf,
  planCommand,
  planContainer,
  planInitLayer,
} from "./plan.ts";
import { homeOf } from "./run_options.ts";
import { TsnspawnError } from "../errors.ts";

function request(overrides: Partial<ContainerRequest> = {}): ContainerRequest {
  return {
    name: "web",
    image: "docker.io/library/busybox:latest",
    imageId: "sha256:" + "a".repeat(64),
    lowerDirs: ["/layers/2", "/layers/1"],
    command: [],
    entrypoint: null,
    env: [],
    user: { uid: 0, gid: 0 },
    volumes: [],
    network: "none",
    publish: [],
    capabilities: ["CAP_CHOWN"],
    noNewPrivileges: true,
    init: false,
    tty: false,
    interactive: false,
    resources: {},
    restart: { policy: "no", maxRetries: 0 },
    autoRemove: false,
    labels: {},
    annotations: {},
    health: {},
    noHealthcheck: false,
    extraHosts: [],
    expose: [],
    sysctls: {},
    ulimits: [],
    ...overrides,
  };
}

const ID = "0123456789ab" + "c".repeat(52);

Deno.test("planCommand follows docker's entrypoint/cmd rules", () => {
  const image = { Entrypoint: ["/entry"], Cmd: ["default"] };
  assertEquals(planCommand(image, null, []), ["/entry", "default"]);
  assertEquals(planCommand(image, null, ["x", "y"]), ["/entry", "x", "y"]);
  // A new entrypoint drops the image's Cmd.
  assertEquals(planCommand(image, "/other", []), ["/other"]);
  assertEquals(planCommand(image, "", ["sh"]), ["sh"]);
  assertEquals(planCommand({ Cmd: ["/bin/sh"] }, null, []), ["/bin/sh"]);
  assertThrows(() => planCommand({}, null, []), TsnspawnError, "no command to run");
  // An empty one too (docker and podman alike).
  assertThrows(() => planCommand(image, "", []), TsnspawnError, "no command to run");
  // A JSON entrypoint is several words (podman's form).
  assertEquals(planCommand(image, '["/bin/sh","-c"]', ["echo"]), ["/bin/sh", "-c", "echo"]);
  assertThrows(() => planCommand(image, "[1]", []), TsnspawnError, "not a JSON array of strings");
});

Deno.test("planContainer merges environment: image, then -e; PATH default only when missing", () => {
  const config = planContainer(
    request({ env: ["A=run", "B=2"] }),
    { Env: ["A=image", "C=3"], Cmd: ["sh"] },
    ID,
    new Date(0),
  );
  assertEquals(config.env, [
    `PATH=${DEFAULT_PATH}`,
    "HOSTNAME=0123456789ab",
    "HOME=/",
    "container=tsnspawn",
    "A=run",
    "C=3",
    "B=2",
  ]);
  const withPath = planContainer(request(), { Env: ["PATH=/x"], Cmd: ["sh"] }, ID, new Date(0));
  assertEquals(withPath.env[0], "PATH=/x");
});

Deno.test("planContainer: HOME from the user's passwd entry, else /; -e overrides every default", () => {
  const home = planContainer(
    request({ home: "/root", tty: true }),
    { Cmd: ["sh"] },
    ID,
    new Date(0),
  );
  assertEquals(home.env.filter((e) => /^(HOME|TERM|HOSTNAME|container)=/.test(e)), [
    "HOSTNAME=0123456789ab",
    "HOME=/root",
    "TERM=xterm",
    "container=tsnspawn",
  ]);
  const overridden = planContainer(
    request({
      tty: true,
      env: ["HOME=/h", "TERM=vt100", "HOSTNAME=x", "container=docker"],
    }),
    { Cmd: ["sh"], Env: ["HOME=/image"] },
    ID,
    new Date(0),
  );
  assertEquals(overridden.env.filter((e) => /^(HOME|TERM|HOSTNAME|container)=/.test(e)), [
    "HOSTNAME=x",
    "HOME=/h",
    "TERM=vt100",
    "container=docker",
  ]);
  assertEquals(
    homeOf(1000, "root:x:0:0::/root:/bin/sh\nbob:x:1000:1000::/home/bob:/bin/sh\n"),
    "/home/bob",
  );
  assertEquals(homeOf(4242, "root:x:0:0::/root:/bin/sh\n"), undefined);
});

Deno.test("planContainer systemd mode: detection, SIGRTMIN+3, no_new_privs off, machine id", () => {
  for (const init of INIT_COMMANDS) assertEquals(detectSystemd([init]), true, init);
  assertEquals(detectSystemd(["/opt/bin/systemd", "--log-level=debug"]), true);
  assertEquals(detectSystemd(["/bin/sh", "-c", "/sbin/init"]), true);
  assertEquals(detectSystemd(["/bin/sh"]), false);
  assertEquals(detectSystemd(["/bin/sh"], "always"), true);
  assertEquals(detectSystemd(["/sbin/init"], "false"), false);
  const os = planContainer(request({ command: ["/sbin/init"] }), { Cmd: ["sh"] }, ID, new Date(0));
  assertEquals([os.systemd, os.stopSignal, os.noNewPrivileges], [true, "SIGRTMIN+3", false]);
  assert(os.env.includes(`container_uuid=${containerUuidOf(ID)}`));
  assertEquals(
    containerUuidOf(ID),
    "0123456789abcccc".replace(/^(.{8})(.{4})(.{4})$/, "$1-$2-$3") + "-cccc-cccccccccccc",
  );
  assertEquals(machineIdOf(ID), ID.slice(0, 32));
  const explicit = planContainer(
    request({
      command: ["/sbin/init"],
      stopSignal: "SIGTERM",
      noNewPrivileges: true,
      noNewPrivilegesExplicit: true,
    }),
    { Cmd: ["sh"] },
    ID,
    new Date(0),
  );
  assertEquals([explicit.stopSignal, explicit.noNewPrivileges], ["SIGTERM", true]);
  const app = planContainer(request(), { Cmd: ["sh"] }, ID, new Date(0));
  assertEquals([app.systemd, app.noNewPrivileges], [undefined, true]);
  const booted = planContainer(
    request({ bootInit: "/usr/lib/systemd/systemd", command: ["systemd.unit=rescue.target"] }),
    { Cmd: ["nginx"], Entrypoint: ["/entry"], WorkingDir: "/app" },
    ID,
    new Date(0),
  );
  assertEquals(booted.command, ["/usr/lib/systemd/systemd", "systemd.unit=rescue.target"]);
  assertEquals([booted.systemd, booted.workingDir], [true, "/"]);
});

Deno.test("planContainer keeps docker's container Config for commit", () => {
  const config = planContainer(
    request({
      command: ["serve", "--port", "80"],
      env: ["A=run"],
      userSpec: "app:staff",
      labels: { tier: "web" },
      publish: [{ hostIp: "", hostPort: 8080, containerPort: 80, protocol: "tcp" }],
      network: "bridge",
      workingDir: "/srv",
    }),
    {
      Entrypoint: ["/entry"],
      Cmd: ["default"],
      Env: ["A=image", "B=2"],
      ExposedPorts: { "53/udp": {} },
      Labels: { vendor: "x" },
      Volumes: { "/data": {} },
    },
    ID,
    new Date(0),
  );
  assertEquals(config.runConfig, {
    Entrypoint: ["/entry"],
    Cmd: ["serve", "--port", "80"],
    Env: [`PATH=${DEFAULT_PATH}`, "A=run", "B=2"],
    WorkingDir: "/srv",
    User: "app:staff",
    ExposedPorts: { "53/udp": {}, "80/tcp": {} },
    Labels: { vendor: "x", tier: "web" },
    Volumes: { "/data": {} },
  });
  const plain = planContainer(request(), { Cmd: ["sh"] }, ID, new Date(0));
  assertEquals(plain.runConfig, { Env: [`PATH=${DEFAULT_PATH}`], Cmd: ["sh"] });
});

Deno.test("planContainer defaults: hostname from id, workdir, stop signal and timeout", () => {
  const config = planContainer(request(), { Cmd: ["sh"], StopSignal: "SIGQUIT" }, ID, new Date(0));
  assertEquals(config.hostname, "0123456789ab");
  assertEquals(config.workingDir, "/");
  assertEquals(config.stopSignal, "SIGQUIT");
  assertEquals(config.stopTimeoutSec, 10);
  assertEquals(config.created, "1970-01-01T00:00:00.000Z");
  const explicit = planContainer(
    request({ hostname: "h", workingDir: "/srv", stopSignal: "SIGINT", stopTimeoutSec: 3 }),
    { Cmd: ["sh"], WorkingDir: "/app", StopSignal: "SIGQUIT" },
    ID,
    new Date(0),
  );
  assertEquals([
    explicit.hostname,
    explicit.workingDir,
    explicit.stopSignal,
    explicit.stopTimeoutSec,
  ], [
    "h",
    "/srv",
    "SIGINT",
    3,
  ]);
  assertEquals(
    planContainer(request(), { Cmd: ["sh"], WorkingDir: "/app" }, ID, new Date(0)).workingDir,
    "/app",
  );
});

Deno.test("planContainer sets TERM only with a terminal", () => {
  const tty = planContainer(request({ tty: true }), { Cmd: ["sh"] }, ID, new Date(0));
  assertEquals(tty.env.includes("TERM=xterm"), true);
  const plain = planContainer(request(), { Cmd: ["sh"] }, ID, new Date(0));
  assertEquals(plain.env.some((e) => e.startsWith("TERM=")), false);
});

Deno.test("planInitLayer writes hosts with the hostname and drops loopback resolvers without host network", () => {
  const config = planContainer(request({ hostname: "box" }), { Cmd: ["sh"] }, ID, new Date(0));
  const host = "nameserver 127.0.0.53\nnameserver 10.0.0.1\nsearch example\n";
  const files = planInitLayer(config, host);
  assertEquals(files.hostname, "box\n");
  assertEquals(files.hosts.includes("127.0.1.1\tbox\n"), true);
  assertEquals(files.hosts.startsWith("127.0.0.1\tlocalhost\n"), true);
  assertEquals(files.resolvConf, "nameserver 10.0.0.1\nsearch example\n");
  const hostNet = planContainer(request({ network: "host" }), { Cmd: ["sh"] }, ID, new Date(0));
  assertEquals(planInitLayer(hostNet, host).resolvConf, host);
});

Deno.test("planContainer: --unsetenv removes a variable, the image's too", () => {
  const config = planContainer(
    request({ env: ["A=1", "B=2"], unsetEnv: ["B", "FROM_IMAGE"] }),
    { Env: ["FROM_IMAGE=x", "KEEP=y"], Cmd: ["sh"] },
    ID,
    new Date(0),
  );
  assertEquals(config.env.filter((e) => !e.startsWith("PATH=") && !e.startsWith("HOSTNAME=")), [
    "HOME=/",
    "container=tsnspawn",
    "KEEP=y",
    "A=1",
  ]);
});

Deno.test("planContainer: --network-alias on a bridge network only", () => {
  const config = planContainer(
    request({ network: "backend", networkAliases: ["web", "www"] }),
    { Cmd: ["sh"] },
    ID,
    new Date(0),
  );
  assertEquals(config.bridge, { network: "backend", address: "", aliases: ["web", "www"] });
  assertThrows(
    () =>
      planContainer(
        request({ network: "none", networkAliases: ["web"] }),
        { Cmd: ["sh"] },
        ID,
        new Date(0),
      ),
    TsnspawnError,
    "network aliases need a bridge network",
  );
});

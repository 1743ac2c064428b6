import { assertEquals, assertThrows } from "@std/assert";
import {
  type ContainerRequest,
  DEFAULT_PATH,
  planCommand,
  planContainer,
  planInitLayer,
} from "./plan.ts";
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
    "A=run",
    "C=3",
    "B=2",
    "HOSTNAME=0123456789ab",
  ]);
  const withPath = planContainer(request(), { Env: ["PATH=/x"], Cmd: ["sh"] }, ID, new Date(0));
  assertEquals(withPath.env[0], "PATH=/x");
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

import { assert, assertEquals, assertThrows } from "@std/assert";
import { TsnspawnError } from "../errors.ts";
import { DOCKER_DEFAULT_CAPABILITIES, resolveCapabilities } from "../security/capabilities.ts";
import {
  type Command,
  COMMANDS,
  findCommand,
  helpText,
  parseCommandLine,
  type ParseContext,
} from "./args.ts";

const CONTEXT: ParseContext = {
  lookupEnv: (k) => ({ HOME: "/home/me", TERM: "xterm" } as Record<string, string>)[k],
  hostCpus: 4,
};

function parse(line: string | string[]): Command {
  return parseCommandLine(
    typeof line === "string" ? line.split(" ").filter((w) => w !== "") : line,
    CONTEXT,
  );
}

function parseRun(line: string | string[]): Extract<Command, { kind: "run" | "create" }> {
  const command = parse(line);
  if (command.kind !== "run" && command.kind !== "create") {
    throw new Error(`parsed as ${command.kind}`);
  }
  return command;
}

function assertUsage(line: string | string[], includes: string): TsnspawnError {
  const error = assertThrows(() => parse(line), TsnspawnError);
  assertEquals(error.code, "usage", error.message);
  assert(
    error.message.includes(includes),
    `${JSON.stringify(error.message)} lacks ${JSON.stringify(includes)}`,
  );
  assert(error.hint?.includes("help"), "usage errors point to help");
  return error;
}

function assertInvalid(line: string | string[], includes: string): void {
  const error = assertThrows(() => parse(line), TsnspawnError);
  assertEquals(error.code, "invalid", error.message);
  assert(
    error.message.includes(includes),
    `${JSON.stringify(error.message)} lacks ${JSON.stringify(includes)}`,
  );
}

Deno.test("run: defaults", () => {
  assertEquals(parse("run busybox"), {
    kind: "run",
    debug: false,
    detach: false,
    autoRemove: false,
    interactive: false,
    tty: false,
    env: [],
    envFiles: [],
    volumes: [],
    resources: {},
    restart: { policy: "no", maxRetries: 0 },
    network: "bridge",
    publish: [],
    networkAliases: [],
    publishAll: false,
    unsetEnv: [],
    capAdd: [],
    capDrop: [],
    capabilities: resolveCapabilities(DOCKER_DEFAULT_CAPABILITIES, [], []),
    init: false,
    security: {},
    privileged: false,
    readOnly: false,
    tmpfs: [],
    dryRun: false,
    boot: false,
    image: "busybox",
    command: [],
    labels: {},
    labelFiles: [],
    annotations: {},
    health: {},
    noHealthcheck: false,
    extraHosts: [],
    expose: [],
    sysctls: {},
    ulimits: [],
    envHost: false,
  } as Command);
});

Deno.test("boot, --systemd, --label, attach, start -i, poweroff and reboot", () => {
  const boot = parse("boot -dit --name os debian:12 systemd.unit=rescue.target");
  if (boot.kind !== "boot") throw new Error(boot.kind);
  assertEquals([boot.boot, boot.detach, boot.tty, boot.image], [true, true, true, "debian:12"]);
  assertEquals(boot.command, ["systemd.unit=rescue.target"]);
  const run = parseRun("run --systemd=always -l a=1 -l b --detach-keys ctrl-a,d busybox");
  assertEquals([run.systemd, run.labels, run.detachKeys], [
    "always",
    { a: "1", b: "" },
    "ctrl-a,d",
  ]);
  assertInvalid("run --systemd=maybe busybox", "not true, false or always");
  assertInvalid("run --detach-keys ctrl-1 busybox", "bad key");
  assertEquals(parse("attach --detach-keys ctrl-x --no-stdin web"), {
    kind: "attach",
    debug: false,
    name: "web",
    noStdin: true,
    detachKeys: "ctrl-x",
  });
  const start = parse("start -i web");
  if (start.kind !== "start") throw new Error(start.kind);
  assertEquals([start.attach, start.interactive], [true, true]);
  assertEquals(parse("poweroff a b"), { kind: "poweroff", debug: false, names: ["a", "b"] });
  assertEquals(parse("reboot a"), { kind: "reboot", debug: false, names: ["a"] });
  assertEquals(parse("diff web"), { kind: "diff", debug: false, container: "web" });
  const commit = parse(["commit", "-c", 'CMD ["x"]', "--change", "EXPOSE 80", "web", "img"]);
  if (commit.kind !== "commit") throw new Error(commit.kind);
  assertEquals(commit.changes, ['CMD ["x"]', "EXPOSE 80"]);
});

Deno.test("run: options stop at the image", () => {
  const c = parseRun("run -it --rm busybox ls -l --name x -- y");
  assertEquals(c.image, "busybox");
  assertEquals(c.command, ["ls", "-l", "--name", "x", "--", "y"]);
  assertEquals(c.name, undefined);
  assert(c.interactive && c.tty && c.autoRemove);
  assertEquals(parseRun("run busybox -h").command, ["-h"]);
  assertEquals(parseRun("run -- busybox").image, "busybox");
  assertEquals(parseRun("run -d -- -weird-image x").image, "-weird-image");
});

Deno.test("run: every option", () => {
  const c = parseRun(
    "run --name web -d -e A=1 --env B -e HOME -e UNSET --env-file /e1 --env-file=/e2 -w /app -u 1000:1000 " +
      "--hostname h1 -v /srv:/data:ro --volume=/a:/b -m 256m --cpus 0.5 --pids-limit 100 --cpu-weight 50 " +
      "--restart on-failure:3 --stop-timeout 5 --stop-signal QUIT --network host --cap-add net_admin " +
      "--cap-drop CAP_MKNOD --init --entrypoint /bin/sh --dry-run --debug nginx:1.25 -g daemon",
  );
  assertEquals(c.kind, "run");
  assertEquals(c.name, "web");
  assert(c.detach && c.init && c.dryRun && c.debug);
  assertEquals(c.env, ["A=1", "HOME=/home/me"]);
  assertEquals(c.envFiles, ["/e1", "/e2"]);
  assertEquals(c.workdir, "/app");
  assertEquals(c.user, { user: "1000", group: "1000" });
  assertEquals(c.hostname, "h1");
  assertEquals(c.volumes, [
    { source: "/srv", destination: "/data", readOnly: true },
    { source: "/a", destination: "/b", readOnly: false },
  ]);
  assertEquals(c.resources, {
    memoryMax: 256 * 1024 * 1024,
    cpuQuotaPerSecUSec: 500000,
    tasksMax: 100,
    cpuWeight: 50,
  });
  assertEquals(c.restart, { policy: "on-failure", maxRetries: 3 });
  assertEquals(c.stopTimeoutSec, 5);
  assertEquals(c.stopSignal, "SIGQUIT");
  assertEquals(c.network, "host");
  assertEquals(c.capAdd, ["CAP_NET_ADMIN"]);
  assertEquals(c.capDrop, ["CAP_MKNOD"]);
  assert(c.capabilities.includes("CAP_NET_ADMIN"));
  assert(!c.capabilities.includes("CAP_MKNOD"));
  assertEquals(c.capabilities.length, 14);
  assertEquals(c.entrypoint, "/bin/sh");
  assertEquals(c.image, "nginx:1.25");
  assertEquals(c.command, ["-g", "daemon"]);
});

Deno.test("run: short option forms", () => {
  assertEquals(parseRun("run -eA=1 -e=B=2 -e C=3 img").env, ["A=1", "B=2", "C=3"]);
  const c = parseRun("run -itd -m1g -v/foo:/x img");
  assert(c.interactive && c.tty && c.detach);
  assertEquals(c.resources.memoryMax, 1024 ** 3);
  assertEquals(parseRun("run -vfoo:/x img").volumes[0].volume, "foo");
  assertInvalid("run -vfoo/bar:/x img", "not an absolute path");
  assertEquals(parseRun("run -ie A=1 img").env, ["A=1"]);
  assertEquals(parseRun("run --rm=true img").autoRemove, true);
  assertEquals(parseRun("run --rm=false img").autoRemove, false);
  assertEquals(parseRun("run --name=a --name b img").name, "b");
  assertEquals(parseRun("run --cpu-shares 1024 img").resources.cpuWeight, 39);
  assertEquals(parseRun("run --pids-limit -1 img").resources, {});
  assertEquals(parseRun(["run", "--entrypoint", "", "img"]).entrypoint, "");
  assertEquals(parseRun("run --cap-drop all --cap-add chown img").capabilities, ["CAP_CHOWN"]);
  assertEquals(parseRun("run --cap-drop all --cap-add chown img").capDrop, ["ALL"]);
  assertEquals(parseRun("run --restart unless-stopped img").restart, {
    policy: "always",
    maxRetries: 0,
  });
});

Deno.test("run --rootfs: no image, everything is the command", () => {
  const c = parseRun("run --rootfs /srv/root ls -l");
  assertEquals(c.rootfs, "/srv/root");
  assertEquals(c.image, undefined);
  assertEquals(c.command, ["ls", "-l"]);
  assertEquals(parseRun("run --rootfs ./rel").rootfs, "./rel");
  assertEquals(parseRun("run --rootfs ./rel").command, []);
});

Deno.test("create: like run without -d", () => {
  const c = parseRun("create --rm --name x -t img cmd");
  assertEquals(c.kind, "create");
  assert(c.autoRemove && c.tty && !c.detach);
  assertUsage("create -d img", "unknown option -d for create");
});

Deno.test("run: usage errors name the option", () => {
  const error = assertUsage("run --foo img", "unknown option --foo for run");
  assertEquals(error.hint, "see 'tsnspawn run --help'");
  assertUsage("run -x img", "unknown option -x for run");
  assertUsage("run -iz img", "unknown option -z for run");
  assertUsage("run --name", "option --name for run needs a value");
  assertEquals(parseRun("run img --name").command, ["--name"]);
  assertUsage("run -e", "option -e for run needs a value");
  assertUsage("run", "run needs an IMAGE");
  assertUsage("run -d", "run needs an IMAGE");
  assertUsage("run --rm=maybe img", "expected true or false");
  assertUsage(["run", ""], "IMAGE for run must not be empty");
  assertUsage("run --rm --restart always img", "conflicting options for run: --restart and --rm");
  assertUsage("run --cpu-weight 5 --cpu-shares 5 img", "--cpu-weight and --cpu-shares");
});

Deno.test("run: malformed values are invalid errors", () => {
  assertInvalid("run -m 1k img", "memory 1k: below the minimum of 6MiB");
  assertInvalid("run --cpus 8 img", "more than the 4 CPUs");
  assertInvalid("run --network=@x img", "network @x: not a network mode or a network name");
  assertInvalid("run -p [::]:80:80 img", "IPv6 host addresses are not supported");
  assertInvalid("run --name -bad img", "container name -bad");
  assertInvalid("run --cap-add FLY img", "unknown capability");
  assertInvalid("run -w rel img", "working directory rel");
  assertInvalid("run --restart never img", "restart policy never");
  assertInvalid("run --stop-signal NOPE img", "signal NOPE");
  assertInvalid("run --hostname a_b img", "hostname a_b");
  assertInvalid("run -u a:b:c img", "user a:b:c");
  assertInvalid(["run", "-e", "=x", "img"], "no variable name");
});

Deno.test("help: --help, -h, help CMD, no command", () => {
  assertEquals(parse("run --help"), { kind: "help", debug: false, topic: "run" });
  assertEquals(parse("run -h img"), { kind: "help", debug: false, topic: "run" });
  assertEquals(parse("ps -h"), { kind: "help", debug: false, topic: "list" });
  assertEquals(parse("help exec"), { kind: "help", debug: false, topic: "exec" });
  assertEquals(parse("help"), { kind: "help", debug: false, topic: undefined });
  assertEquals(parse(""), { kind: "help", debug: false });
  assertEquals(parse("--debug"), { kind: "help", debug: true });
  assertEquals(parse("--help"), { kind: "help", debug: false });
  assertEquals(parse("--version"), { kind: "version", debug: false, json: false });
  assertUsage("help nope", 'unknown command "nope"');
  assertUsage("nope", 'unknown command "nope"');
  assertUsage("--nope run", "unknown option --nope");
});

Deno.test("global --debug before or after the command", () => {
  assertEquals(parse("--debug ps"), {
    kind: "list",
    debug: true,
    all: false,
    quiet: false,
    json: false,
    filters: { label: [], name: [] },
  });
  assertEquals(parse("ps --debug -a"), {
    kind: "list",
    debug: true,
    all: true,
    quiet: false,
    json: false,
    filters: { label: [], name: [] },
  });
});

Deno.test("container verbs", () => {
  assertEquals(parse("start -a web db"), {
    kind: "start",
    debug: false,
    names: ["web", "db"],
    attach: true,
    interactive: false,
  });
  assertEquals(parse("start -ai web"), {
    kind: "start",
    debug: false,
    names: ["web"],
    attach: true,
    interactive: true,
  });
  assertEquals(parse("stop web"), {
    kind: "stop",
    debug: false,
    names: ["web"],
    timeoutSec: undefined,
  });
  assertEquals(parse("stop -t 3 web"), {
    kind: "stop",
    debug: false,
    names: ["web"],
    timeoutSec: 3,
  });
  assertEquals(parse("stop web --time=0"), {
    kind: "stop",
    debug: false,
    names: ["web"],
    timeoutSec: 0,
  });
  assertEquals(parse("restart -t 1 a b"), {
    kind: "restart",
    debug: false,
    names: ["a", "b"],
    timeoutSec: 1,
  });
  assertEquals(parse("kill web"), {
    kind: "kill",
    debug: false,
    names: ["web"],
    signal: "SIGKILL",
  });
  assertEquals(parse("kill -s HUP web"), {
    kind: "kill",
    debug: false,
    names: ["web"],
    signal: "SIGHUP",
  });
  assertEquals(parse("kill --signal=15 web"), {
    kind: "kill",
    debug: false,
    names: ["web"],
    signal: "SIGTERM",
  });
  assertEquals(parse("rm -f a b"), {
    kind: "rm",
    debug: false,
    names: ["a", "b"],
    force: true,
    volumes: false,
  });
  assertEquals(parse("rm a -fv"), {
    kind: "rm",
    debug: false,
    names: ["a"],
    force: true,
    volumes: true,
  });
  assertEquals(parse("list"), {
    kind: "list",
    debug: false,
    all: false,
    quiet: false,
    json: false,
    filters: { label: [], name: [] },
  });
  assertEquals(parse("ps -aq --json"), {
    kind: "list",
    debug: false,
    all: true,
    quiet: true,
    json: true,
    filters: { label: [], name: [] },
  });
  assertEquals(parse("ps --filter label=app=web -f name=db"), {
    kind: "list",
    debug: false,
    all: false,
    quiet: false,
    json: false,
    filters: { label: ["app=web"], name: ["db"] },
  });
  assertThrows(() => parse("ps --filter status=running"), TsnspawnError, "the filters are");
  assertEquals(parse("volume create --label a=b -o type=tmpfs -o device=tmpfs data"), {
    kind: "volume create",
    debug: false,
    name: "data",
    labels: { a: "b" },
    options: { type: "tmpfs", device: "tmpfs" },
    ignore: false,
  });
  assertThrows(() => parse("volume create -o type=tmpfs data"), TsnspawnError, "go together");
  assertThrows(() => parse("volume create -d nfs data"), TsnspawnError, "not supported");
  assertEquals(parse("volume ls -f dangling=true -q"), {
    kind: "volume ls",
    debug: false,
    quiet: true,
    json: false,
    filters: { dangling: true },
  });
  assertEquals(parse("volume rm -f a1 b2"), {
    kind: "volume rm",
    debug: false,
    names: ["a1", "b2"],
    force: true,
  });
  assertEquals(parse("volume prune -a --filter label=x"), {
    kind: "volume prune",
    debug: false,
    all: true,
    label: ["x"],
  });
  assertEquals(parse("healthcheck run web"), {
    kind: "healthcheck run",
    debug: false,
    name: "web",
  });
  assertEquals(parse("auto-update --dry-run"), {
    kind: "auto-update",
    debug: false,
    dryRun: true,
    rollback: true,
    json: false,
  });
  assertEquals(parse("status web --json"), {
    kind: "status",
    debug: false,
    name: "web",
    json: true,
  });
  assertEquals(parse("inspect a b --json"), { kind: "inspect", debug: false, names: ["a", "b"] });
  assertEquals(parse("shell web"), { kind: "shell", debug: false, name: "web" });
  assertUsage("stop", "missing arguments for stop");
  assertUsage("status a b", 'too many arguments for status: "b"');
  assertUsage("ps web", "too many arguments for list");
  assertUsage("stop -t", "option -t for stop needs a value");
  assertUsage("rm -x a", "unknown option -x for rm");
  assertInvalid("stop -t -1 web", "stop timeout -1");
  assertInvalid("kill -s FOO web", "signal FOO");
  assertInvalid("rm ../etc", "container name ../etc");
  assertInvalid("rm -- -f", "container name -f");
});

Deno.test("logs", () => {
  assertEquals(parse("logs web"), {
    kind: "logs",
    debug: false,
    name: "web",
    follow: false,
    tail: undefined,
    since: undefined,
  });
  assertEquals(parse("logs -f -n 20 --since 10min web"), {
    kind: "logs",
    debug: false,
    name: "web",
    follow: true,
    tail: 20,
    since: "10min",
  });
  assertEquals(parse("logs --tail=all web").kind, "logs");
  assertInvalid("logs -n x web", "tail");
  assertUsage("logs", "missing arguments for logs");
});

Deno.test("exec: options stop at the container name", () => {
  assertEquals(parse("exec -it -u 0 -e A=1 -e TERM -w /tmp web sh -c ls -l"), {
    kind: "exec",
    debug: false,
    name: "web",
    command: ["sh", "-c", "ls", "-l"],
    interactive: true,
    tty: true,
    user: { user: "0" },
    env: ["A=1", "TERM=xterm"],
    workdir: "/tmp",
  });
  assertUsage(
    "exec web",
    "missing arguments for exec: the usage is 'tsnspawn exec [OPTIONS] CONTAINER COMMAND [ARG...]'",
  );
  assertUsage("exec", "missing arguments for exec");
  assertUsage("exec --privileged web sh", "unknown option --privileged for exec");
});

Deno.test("images", () => {
  assertEquals(parse("import rootfs.tar alpine:3"), {
    kind: "import",
    debug: false,
    tarball: "rootfs.tar",
    reference: "alpine:3",
  });
  assertEquals(parse("import - alpine"), {
    kind: "import",
    debug: false,
    tarball: "-",
    reference: "alpine",
  });
  assertUsage(
    "import a.tar",
    "missing arguments for import: the usage is 'tsnspawn import TARBALL NAME[:TAG]'",
  );
  assertUsage("import a b c", "too many arguments");
  assertEquals(parse("images --json"), { kind: "images", debug: false, quiet: false, json: true });
  assertEquals(parse("rmi -f a b"), {
    kind: "rmi",
    debug: false,
    references: ["a", "b"],
    force: true,
  });
  assertEquals(parse("version --json"), { kind: "version", debug: false, json: true });
});

Deno.test("helpText comes from the one table", () => {
  const top = helpText();
  for (const c of COMMANDS) assert(top.includes(`  ${c.name} `), c.name);
  assert(top.includes("--debug"));
  const run = helpText("run");
  assert(run.startsWith("Usage: tsnspawn run [OPTIONS] IMAGE [COMMAND] [ARG...]\n"));
  for (const o of findCommand("run")!.options) {
    assert(run.includes(`--${o.long}`), o.long);
    assert(run.includes(o.description), o.description);
  }
  assert(run.includes("-e, --env KEY[=VALUE]"));
  assert(helpText("ps").startsWith("Usage: tsnspawn list"));
  for (const c of COMMANDS) {
    const text = helpText(c.name);
    assert(text.endsWith("\n"));
    for (const line of text.split("\n")) assert(line.length <= 120, line);
    // Short option letters are unique within a command.
    const shorts = c.options.map((o) => o.short).filter((s) => s !== undefined);
    assertEquals(shorts.length, new Set([...shorts, "h"]).size - 1, c.name);
    const longs = c.options.map((o) => o.long);
    assertEquals(longs.length, new Set(longs).size, c.name);
  }
  assertThrows(() => helpText("nope"), TsnspawnError, "unknown command");
});

Deno.test("without a lookup function, -e KEY reads Deno.env", () => {
  Deno.env.set("TSNSPAWN_ARGS_TEST", "yes");
  const c = parseCommandLine(["run", "-e", "TSNSPAWN_ARGS_TEST", "img"]);
  if (c.kind !== "run") throw new Error(c.kind);
  assertEquals(c.env, ["TSNSPAWN_ARGS_TEST=yes"]);
  Deno.env.delete("TSNSPAWN_ARGS_TEST");
});

Deno.test("fuzz parseCommandLine: only TsnspawnError", () => {
  let seed = 12345;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const words = [
    "run",
    "create",
    "exec",
    "ps",
    "rm",
    "stop",
    "kill",
    "logs",
    "import",
    "help",
    "--",
    "-",
    "-it",
    "-e",
    "A=1",
    "-v",
    "/a:/b",
    "--name",
    "x",
    "--name=",
    "-m",
    "1g",
    "--cpus",
    "0.5",
    "--rootfs",
    "/r",
    "--restart",
    "always",
    "--rm",
    "--cap-add",
    "ALL",
    "-t",
    "-s",
    "-n",
    "--json",
    "--debug",
    "-h",
    "img",
    "web",
    "",
    "=",
    "-=",
    "--=",
    "-u",
    "a:b",
    "--network",
    "host",
    "--stop-signal",
    "RTMIN+1",
    "\0",
    "é",
    "--cpu-shares",
  ];
  for (let i = 0; i < 5000; i++) {
    const length = Math.floor(random() * 8);
    const argv: string[] = [];
    for (let j = 0; j < length; j++) argv.push(words[Math.floor(random() * words.length)]);
    try {
      parseCommandLine(argv, CONTEXT);
    } catch (error) {
      if (!(error instanceof TsnspawnError)) {
        throw new Error(`${JSON.stringify(argv)} threw ${error}`);
      }
    }
  }
});

Deno.test("build: options, --pull with and without a value, build args from the environment", () => {
  const build = (line: string, env: Record<string, string> = {}) => {
    const command = parseCommandLine(line.split(" "), { lookupEnv: (k) => env[k] });
    if (command.kind !== "build") throw new Error(`parsed as ${command.kind}`);
    return command;
  };
  assertEquals(build("build ."), {
    kind: "build",
    debug: false,
    context: ".",
    tags: [],
    buildArgs: {},
    noCache: false,
    pull: "missing",
    network: "bridge",
    labels: {},
    quiet: false,
  });
  const full = build(
    "build -t a:1 -t b -f ctx/Dockerfile --build-arg X=1 --build-arg HOME --target t --no-cache " +
      "--pull --network none --label k=v=w -q --iidfile /tmp/id --timestamp 0 ctx",
    { HOME: "/root" },
  );
  assertEquals(full.tags, ["a:1", "b"]);
  assertEquals(full.file, "ctx/Dockerfile");
  assertEquals(full.buildArgs, { X: "1", HOME: "/root" });
  assertEquals([full.target, full.noCache, full.pull, full.network], ["t", true, "always", "none"]);
  assertEquals([full.labels, full.quiet, full.iidfile, full.timestamp], [
    { k: "v=w" },
    true,
    "/tmp/id",
    0,
  ]);
  // --pull takes a value only with "="; alone it is "always" (docker's and buildah's).
  assertEquals(build("build --pull=never .").pull, "never");
  assertEquals(build("build --pull .").context, ".");
  assertEquals(build("build -", { SOURCE_DATE_EPOCH: "1700000000" }).timestamp, 1700000000);
  assertEquals(build("build --timestamp 5 -", { SOURCE_DATE_EPOCH: "1" }).timestamp, 5);
  assertEquals(build("build --build-arg UNSET .").buildArgs, {});
  assertEquals(parseCommandLine(["image", "build", "."], CONTEXT).kind, "build");
  assertThrows(() => build("build --pull=sometimes ."), TsnspawnError, "pull policy");
  assertEquals(build("build --network backend .").network, "backend");
  assertThrows(() => build("build --network bad/name ."), TsnspawnError, "not a network mode");
  assertThrows(
    () => build("build --timestamp yesterday ."),
    TsnspawnError,
    "not a number of seconds",
  );
  assertThrows(() => build("build --label novalue ."), TsnspawnError, "KEY=VALUE");
  assertUsage("build", "missing arguments for build");
  assertEquals(helpText("build").includes("--pull[=POLICY]"), true);
});

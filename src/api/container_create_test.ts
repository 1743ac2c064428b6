/**
 * The create mapping against the bodies the docker CLI 28.2.2 and
 * docker-compose 1.29.2 sent (testdata/), and through the CLI's own grammar:
 * the arguments are parsed by `parseContainerArgs` (src/container/run_args.ts)
 * as the effectful half will parse them, so a mapping the CLI would refuse
 * or read differently fails here.
 */
import { assertEquals } from "@std/assert";
import { parseContainerArgs } from "../container/run_args.ts";
import type { ContainerOptions } from "../container/options.ts";
import { planContainerCreate } from "./container_create.ts";
import type { CreatePlan } from "./create_types.ts";
import { parseRequestTarget } from "./request.ts";

interface Request {
  method: string;
  path: string;
  body: Record<string, unknown> | null;
}
const CLI: { captures: { command: string; requests: Request[] }[] } = JSON.parse(
  Deno.readTextFileSync(new URL("./testdata/docker_cli_28.2.2.json", import.meta.url)),
);
const COMPOSE: { requests: Request[] } = JSON.parse(
  Deno.readTextFileSync(new URL("./testdata/compose_1.29.2.json", import.meta.url)),
);

/** The create request a captured docker command line sent. */
function cliCreate(command: string): Request {
  const capture = CLI.captures.find((c) => c.command.endsWith(command));
  if (!capture) throw new Error(`no capture for ${command}`);
  return capture.requests[0];
}

function plan(request: Request, imageCmd: string[] | null = ["sh"]): CreatePlan {
  return planContainerCreate(request.body!, parseRequestTarget(request.path).query, { imageCmd });
}

/** The options the CLI grammar reads from a plan's arguments. */
function options(created: CreatePlan): ContainerOptions {
  return parseContainerArgs(created.args, { lookupEnv: () => undefined, hostCpus: 8 });
}

const CLI_DEFAULTS = ["--pull=never", "--", "busybox"];

Deno.test("create: docker run --rm busybox echo hi", () => {
  const created = plan(cliCreate("docker create --rm busybox echo hi"));
  assertEquals(created.args, ["--rm", ...CLI_DEFAULTS, "echo", "hi"]);
  assertEquals(created.session, {
    attachStdin: false,
    attachStdout: true,
    attachStderr: true,
    stdinOnce: false,
  });
  assertEquals(created.given, {
    image: "busybox",
    cmd: ["echo", "hi"],
    entrypoint: null,
    stopTimeout: null,
  });
  const parsed = options(created);
  assertEquals([parsed.autoRemove, parsed.image, parsed.command], [true, "busybox", [
    "echo",
    "hi",
  ]]);
  assertEquals([parsed.network, parsed.pull, parsed.tty, parsed.interactive], [
    "bridge",
    "never",
    false,
    false,
  ]);
  assertEquals(created.warnings, []);
});

Deno.test("create: -i and -it (console size, stdin once)", () => {
  const i = plan(cliCreate("docker create -i busybox cat"));
  assertEquals(i.args, ["--interactive", ...CLI_DEFAULTS, "cat"]);
  assertEquals(i.session.stdinOnce, true);
  const it = plan(cliCreate("docker create -it --name box busybox sh"));
  assertEquals(it.args, ["--name=box", "--tty", "--interactive", ...CLI_DEFAULTS, "sh"]);
  assertEquals(it.session, {
    attachStdin: true,
    attachStdout: true,
    attachStderr: true,
    stdinOnce: true,
    consoleSize: [30, 100],
  });
  const parsed = options(it);
  assertEquals([parsed.name, parsed.tty, parsed.interactive], ["box", true, true]);
});

Deno.test("create: published ports, random ports, -P, exposed ports", () => {
  const created = plan(cliCreate("--expose 7000 --name web2 busybox"));
  assertEquals(created.args, [
    "--name=web2",
    "--expose=53/udp",
    "--expose=7000/tcp",
    "--expose=80/tcp",
    "--expose=90/tcp",
    "--expose=91/tcp",
    "--publish=127.0.0.1::53/udp",
    "--publish=8080:80/tcp",
    "--publish=9000:90/tcp",
    "--publish=9001:91/tcp",
    "--publish-all",
    ...CLI_DEFAULTS,
  ]);
  assertEquals(created.given.publishAll, true);
  const parsed = options(created);
  assertEquals(parsed.publish, [
    { hostIp: "127.0.0.1", hostPort: 0, containerPort: 53, protocol: "udp" },
    { hostIp: "", hostPort: 8080, containerPort: 80, protocol: "tcp" },
    { hostIp: "", hostPort: 9000, containerPort: 90, protocol: "tcp" },
    { hostIp: "", hostPort: 9001, containerPort: 91, protocol: "tcp" },
  ]);
  assertEquals(parsed.publishAll, true);
  assertEquals(parsed.expose, ["53/udp", "7000/tcp", "80/tcp", "90/tcp", "91/tcp"]);
});

Deno.test("create: env, user, workdir, hostname, labels; bare env names unset", () => {
  const created = plan(cliCreate("--hostname h1 --label a=b --label c busybox"));
  assertEquals(created.args, [
    "--hostname=h1",
    "--user=1000:1000",
    "--workdir=/app",
    "--env=A=1",
    "--env=B=",
    "--unsetenv=UNSET_X_Y",
    "--label=a=b",
    "--label=c=",
    ...CLI_DEFAULTS,
  ]);
  const parsed = options(created);
  assertEquals(parsed.env, ["A=1", "B="]);
  assertEquals(parsed.unsetEnv, ["UNSET_X_Y"]);
  assertEquals(parsed.labels, { a: "b", c: "" });
  assertEquals(parsed.user, { user: "1000", group: "1000" });
  assertEquals([parsed.workdir, parsed.hostname], ["/app", "h1"]);
});

Deno.test("create: binds, named and anonymous volumes, Mounts, Tmpfs", () => {
  const created = plan(cliCreate("tmpfs-size=1048576,tmpfs-mode=1777 busybox"));
  assertEquals(created.args, [
    "--volume=/srv:/data:ro",
    "--volume=named:/vol",
    "--volume=v2:/v2:ro",
    "--volume=/a:/b",
    "--tmpfs=/t:size=1048576,mode=1777",
    "--tmpfs=/run:size=64m",
    "--volume=/anon",
    ...CLI_DEFAULTS,
  ]);
  const parsed = options(created);
  assertEquals(parsed.volumes, [
    { source: "/srv", destination: "/data", readOnly: true },
    { source: "", destination: "/vol", readOnly: false, volume: "named", copyUp: true },
    { source: "", destination: "/v2", readOnly: true, volume: "v2", copyUp: true },
    { source: "/a", destination: "/b", readOnly: false },
    {
      source: "",
      destination: "/anon",
      readOnly: false,
      volume: "",
      anonymous: true,
      copyUp: true,
    },
  ]);
  assertEquals(parsed.tmpfs.map((t) => [t.destination, t.data]), [
    ["/t", "size=1048576,mode=1777"],
    ["/run", "size=64m"],
  ]);
});

Deno.test("create: volumes with nocopy and read-only, named and anonymous", () => {
  const body = {
    Image: "busybox",
    HostConfig: {
      Binds: ["data:/data:ro,nocopy", "/cache"],
      Mounts: [
        { Type: "volume", Source: "logs", Target: "/logs", VolumeOptions: { NoCopy: true } },
        { Type: "volume", Target: "/scratch", ReadOnly: true },
      ],
    },
  };
  const created = plan({ method: "POST", path: "/containers/create", body });
  assertEquals(created.args, [
    "--volume=data:/data:ro,nocopy",
    "--volume=/cache",
    "--volume=logs:/logs:nocopy",
    "--mount=type=volume,destination=/scratch,ro",
    ...CLI_DEFAULTS,
  ]);
  assertEquals(
    options(created).volumes.map((v) => [v.volume, v.destination, v.readOnly, v.copyUp]),
    [
      ["data", "/data", true, false],
      ["", "/cache", false, true],
      ["logs", "/logs", false, false],
      ["", "/scratch", true, true],
    ],
  );
});

Deno.test("create: resources and the restart policy in the CLI's units", () => {
  const created = plan(cliCreate("--stop-signal SIGINT --stop-timeout 5 busybox"));
  assertEquals(created.args, [
    "--stop-signal=SIGINT",
    "--stop-timeout=5",
    "--restart=on-failure:3",
    "--memory=536870912",
    "--cpus=1.5",
    "--cpu-shares=512",
    "--pids-limit=100",
    ...CLI_DEFAULTS,
  ]);
  const parsed = options(created);
  assertEquals(parsed.resources, {
    memoryMax: 536870912,
    cpuQuotaPerSecUSec: 1_500_000,
    tasksMax: 100,
    cpuWeight: 1 + Math.floor(((512 - 2) * 9999) / 262142),
  });
  assertEquals(parsed.restart, { policy: "on-failure", maxRetries: 3 });
  assertEquals([parsed.stopSignal, parsed.stopTimeoutSec], ["SIGINT", 5]);
  const quota = plan(
    cliCreate("--cpu-quota 50000 --cpu-period 100000 --restart unless-stopped busybox"),
  );
  assertEquals(quota.args, ["--restart=unless-stopped", "--cpus=0.5", ...CLI_DEFAULTS]);
  assertEquals(options(quota).resources, { cpuQuotaPerSecUSec: 500_000 });
  assertEquals(quota.warnings, []);
});

Deno.test("create: capabilities, privileged, read-only, init, security options", () => {
  const created = plan(cliCreate("--read-only --init --privileged busybox"));
  assertEquals(created.args, [
    "--cap-add=CAP_NET_ADMIN",
    "--cap-drop=ALL",
    "--privileged",
    "--read-only",
    "--init",
    "--security-opt=seccomp=unconfined",
    "--security-opt=no-new-privileges",
    ...CLI_DEFAULTS,
  ]);
  const parsed = options(created);
  assertEquals([parsed.privileged, parsed.readOnly, parsed.init], [true, true, true]);
  assertEquals(parsed.security, { seccomp: { kind: "unconfined" }, noNewPrivileges: true });
  const unprivileged = plan({
    ...cliCreate("--read-only --init --privileged busybox"),
    body: { Image: "busybox", HostConfig: { CapAdd: ["NET_ADMIN"], CapDrop: ["ALL"] } },
  });
  assertEquals(options(unprivileged).capabilities, ["CAP_NET_ADMIN"]);
});

Deno.test("create: networks: user network with alias, dns, hosts; none; host", () => {
  const created = plan(cliCreate("--add-host h:1.2.3.4 busybox"));
  assertEquals(created.args, [
    "--network=mynet",
    "--network-alias=web",
    "--dns=1.1.1.1",
    "--dns-search=example.com",
    "--dns-option=ndots:2",
    "--add-host=h=1.2.3.4",
    ...CLI_DEFAULTS,
  ]);
  const parsed = options(created);
  assertEquals(parsed.network, "mynet");
  assertEquals(parsed.networkAliases, ["web"]);
  assertEquals(parsed.dns, { servers: ["1.1.1.1"], search: ["example.com"], options: ["ndots:2"] });
  assertEquals(parsed.extraHosts, ["h:1.2.3.4"]);
  assertEquals(plan(cliCreate("--network none busybox")).args, ["--network=none", ...CLI_DEFAULTS]);
  assertEquals(options(plan(cliCreate("--network host busybox"))).network, "host");
});

Deno.test("create: entrypoint as the CLI sends it; health checks", () => {
  const sh = plan(cliCreate("--entrypoint /bin/sh busybox -c 'echo hi'"));
  assertEquals(sh.args, ["--entrypoint=/bin/sh", ...CLI_DEFAULTS, "-c", "echo hi"]);
  assertEquals(sh.given.entrypoint, ["/bin/sh"]);
  const cleared = plan(cliCreate("--entrypoint '' busybox echo"));
  assertEquals(cleared.args, ["--entrypoint=", ...CLI_DEFAULTS, "echo"]);
  assertEquals(options(cleared).entrypoint, "");
  const health = plan(cliCreate("--health-start-period 1s busybox"));
  assertEquals(health.args, [
    '--health-cmd=["CMD-SHELL","wget -q localhost"]',
    "--health-interval=5000000000ns",
    "--health-timeout=3000000000ns",
    "--health-start-period=1000000000ns",
    "--health-retries=2",
    ...CLI_DEFAULTS,
  ]);
  assertEquals(options(health).health, {
    test: ["CMD-SHELL", "wget -q localhost"],
    intervalMs: 5000,
    timeoutMs: 3000,
    startPeriodMs: 1000,
    retries: 2,
  });
  const none = plan(cliCreate("--no-healthcheck busybox"));
  assertEquals(none.args, ["--no-healthcheck", ...CLI_DEFAULTS]);
  assertEquals(options(none).health, {});
  const exec = plan({
    method: "POST",
    path: "/containers/create",
    body: { Image: "busybox", Healthcheck: { Test: ["CMD", "cat", "/tmp/a b"], Retries: 4 } },
  });
  assertEquals(options(exec).health, { test: ["CMD", "cat", "/tmp/a b"], retries: 4 });
  assertEquals(plan(cliCreate("--rm busybox echo hi")).args, [
    "--rm",
    ...CLI_DEFAULTS,
    "echo",
    "hi",
  ]);
  assertEquals(plan(cliCreate("--platform linux/amd64 busybox")).args, [
    "--platform=linux/amd64",
    ...CLI_DEFAULTS,
  ]);
});

Deno.test("create: docker-compose 1.29.2's bodies (db and web of the captured project)", () => {
  const creates = COMPOSE.requests.filter((r) => r.path.includes("/containers/create"));
  assertEquals(creates.length, 2);
  const db = plan(creates[0], ["sh"]);
  const labels = (words: string[]) => words.filter((w) => w.startsWith("--label="));
  assertEquals(db.args.filter((w) => !w.startsWith("--label=")), [
    "--name=proj_db_1",
    "--env=A=1",
    "--unsetenv=UNSET_IN_SHELL",
    "--network=proj_backend",
    "--network-alias=db",
    "--volume=proj_dbdata:/data",
    "--pull=never",
    "--",
    "busybox",
    "httpd",
    "-f",
    "-p",
    "80",
  ]);
  assertEquals(labels(db.args).length, 9);
  const dbOptions = options(db);
  assertEquals(dbOptions.labels["com.docker.compose.service"], "db");
  assertEquals(dbOptions.labels["tier"], "db");
  assertEquals(dbOptions.network, "proj_backend");
  assertEquals(dbOptions.networkAliases, ["db"]);
  assertEquals(dbOptions.unsetEnv, ["UNSET_IN_SHELL"]);
  assertEquals(dbOptions.volumes, [
    { source: "", destination: "/data", readOnly: false, volume: "proj_dbdata", copyUp: true },
  ]);

  const web = plan(creates[1], ["sh"]);
  assertEquals(labels(web.args).length, 8);
  assertEquals(web.args.filter((w) => !w.startsWith("--label=")), [
    "--name=proj_web_2",
    "--entrypoint=/bin/sh",
    "--user=1000",
    "--workdir=/app",
    "--stop-signal=SIGINT",
    "--stop-timeout=5",
    '--health-cmd=["CMD","true"]',
    "--health-interval=10000000000ns",
    "--network=proj_backend",
    "--network-alias=web",
    "--expose=80/tcp",
    "--expose=90/udp",
    "--publish=8080:80/tcp",
    "--publish=127.0.0.1:9090:90/udp",
    "--dns=1.1.1.1",
    "--add-host=h=1.2.3.4",
    "--volume=/srv:/srv:ro",
    "--tmpfs=/t",
    "--tmpfs=/run",
    "--restart=unless-stopped",
    "--memory=67108864",
    "--cpus=0.5",
    "--cap-add=NET_ADMIN",
    "--cap-drop=ALL",
    "--read-only",
    "--init",
    "--pull=never",
    "--",
    "busybox",
    "-c",
    "sh",
    "-c",
    "wget -qO- http://db/",
  ]);
  const parsed = options(web);
  assertEquals(parsed.entrypoint, "/bin/sh");
  assertEquals(parsed.command, ["-c", "sh", "-c", "wget -qO- http://db/"]);
  assertEquals(parsed.user, { user: "1000" });
  assertEquals(parsed.workdir, "/app");
  assertEquals(parsed.restart, { policy: "always", maxRetries: 0 });
  assertEquals([parsed.stopSignal, parsed.stopTimeoutSec], ["SIGINT", 5]);
  assertEquals(parsed.resources, { memoryMax: 67108864, cpuQuotaPerSecUSec: 500_000 });
  assertEquals([parsed.readOnly, parsed.init], [true, true]);
  assertEquals(parsed.capabilities, ["CAP_NET_ADMIN"]);
  assertEquals(parsed.volumes, [{ source: "/srv", destination: "/srv", readOnly: true }]);
  assertEquals(parsed.tmpfs.map((t) => t.destination), ["/t", "/run"]);
  assertEquals(parsed.publish, [
    { hostIp: "", hostPort: 8080, containerPort: 80, protocol: "tcp" },
    { hostIp: "127.0.0.1", hostPort: 9090, containerPort: 90, protocol: "udp" },
  ]);
  assertEquals(parsed.health, { test: ["CMD", "true"], intervalMs: 10_000 });
  assertEquals(parsed.dns, { servers: ["1.1.1.1"] });
  assertEquals(parsed.extraHosts, ["h:1.2.3.4"]);
  assertEquals(parsed.networkAliases, ["web"]);
  assertEquals(web.given.entrypoint, ["/bin/sh", "-c"]);
});

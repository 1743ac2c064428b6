/**
 * Container JSON from facts, including a round trip: compose 1.29.2's
 * create body for `web` → the create plan → the config ops/create would
 * write → inspect, checked against what compose reads back.
 */
import { assertEquals } from "@std/assert";
import { testContainerConfig } from "../testing/container_config.ts";
import {
  type ContainerFacts,
  formatContainerInspect,
  formatContainerSummary,
  splitCommand,
} from "./inspect_container.ts";
import { planContainerCreate } from "./container_create.ts";
import { parseRequestTarget } from "./request.ts";
import { parseContainerArgs } from "../container/run_args.ts";
import { HEALTH_DEFAULTS } from "../container/health_options.ts";

/** A JSON document under test, read by path without declaring its whole shape. */
// deno-lint-ignore no-explicit-any
type Json = any;

const S = 1_000_000_000n;
const NOW = 1_704_067_210n * S; // 2024-01-01T00:00:10Z
const COMPOSE: { requests: { path: string; body: Record<string, unknown> | null }[] } = JSON.parse(
  Deno.readTextFileSync(new URL("./testdata/compose_1.29.2.json", import.meta.url)),
);

/** compose's `web`, as create and the API would have stored it, running. */
function composeWeb(): ContainerFacts {
  const request = COMPOSE.requests.find((r) => r.path.includes("create?name=proj_web"))!;
  const plan = planContainerCreate(request.body!, parseRequestTarget(request.path).query, {
    imageCmd: ["sh"],
  });
  const id = "12d76beba7b3" + "0".repeat(52);
  // What the CLI's grammar reads from the plan, as ops/create.ts would store it.
  const parsed = parseContainerArgs(plan.args, { lookupEnv: () => undefined, hostCpus: 8 });
  return {
    config: testContainerConfig({
      name: "proj_web_2",
      id,
      created: "2024-01-01T00:00:00.000Z",
      command: ["/bin/sh", "-c", "sh", "-c", "wget -qO- http://db/"],
      env: [
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOSTNAME=12d76beba7b3",
      ],
      workingDir: "/app",
      user: { uid: 1000, gid: 0 },
      hostname: "12d76beba7b3",
      volumes: [{ source: "/srv", destination: "/srv", readOnly: true }],
      network: "bridge",
      bridge: { network: "proj_backend", address: "10.89.0.3", aliases: parsed.networkAliases },
      labels: parsed.labels,
      exposedPorts: parsed.expose,
      dns: parsed.dns,
      extraHosts: parsed.extraHosts,
      healthcheck: { ...HEALTH_DEFAULTS, test: parsed.health.test!, intervalMs: 10_000 },
      publish: [
        { hostIp: "", hostPort: 8080, containerPort: 80, protocol: "tcp" },
        { hostIp: "127.0.0.1", hostPort: 9090, containerPort: 90, protocol: "udp" },
      ],
      restart: { policy: "always", maxRetries: 0 },
      stopTimeoutSec: 5,
      stopSignal: "SIGINT",
      resources: { memoryMax: 67108864, cpuQuotaPerSecUSec: 500_000 },
      readOnlyRoot: true,
      init: true,
      tmpfs: [{ destination: "/run", flags: ["nosuid", "nodev", "noexec"], data: "" }],
    }),
    imageName: "busybox",
    api: { pending: plan.pending, session: plan.session, given: plan.given },
    network: {
      id: "9".repeat(64),
      gateway: "10.89.0.1",
      prefixLength: 16,
      macAddress: "02:42:0a:59:00:03",
    },
    unit: {
      activeState: "active",
      subState: "running",
      mainPid: 777,
      nRestarts: 0,
      activeEnterTimestamp: 1_704_067_205n * 1_000_000n,
    },
    exit: null,
  };
}

Deno.test("inspect: what compose 1.29 reads back from a container it created", () => {
  const facts = composeWeb();
  const inspect = formatContainerInspect(facts) as Json;
  assertEquals(inspect.Id, facts.config.id);
  assertEquals(inspect.Name, "/proj_web_2");
  assertEquals(inspect.Image, "sha256:" + "b".repeat(64)); // = the image's Id, for convergence
  assertEquals(inspect.Created, "2024-01-01T00:00:00Z");
  assertEquals(inspect.State.Status, "running");
  assertEquals(inspect.State.StartedAt, "2024-01-01T00:00:05Z");
  assertEquals(inspect.Config.Labels["com.docker.compose.service"], "web");
  assertEquals(inspect.Config.Labels["com.docker.compose.config-hash"].length, 64);
  assertEquals(inspect.Config.Entrypoint, ["/bin/sh", "-c"]);
  assertEquals(inspect.Config.Cmd, ["sh", "-c", "wget -qO- http://db/"]);
  assertEquals(inspect.Config.Tty, false);
  assertEquals(inspect.Config.StopSignal, "SIGINT");
  assertEquals(inspect.Config.StopTimeout, 5);
  assertEquals(inspect.Config.ExposedPorts, { "80/tcp": {}, "90/udp": {} });
  assertEquals(inspect.Config.Healthcheck, {
    Test: ["CMD", "true"],
    Interval: 10e9,
    Timeout: 30e9,
    StartPeriod: 0,
    StartInterval: 0,
    Retries: 3,
  });
  assertEquals(inspect.HostConfig.LogConfig.Type, "journald"); // compose: logs supported
  assertEquals(inspect.HostConfig.Links, null);
  assertEquals(inspect.HostConfig.NetworkMode, "proj_backend");
  assertEquals(inspect.HostConfig.PortBindings, {
    "80/tcp": [{ HostIp: "", HostPort: "8080" }],
    "90/udp": [{ HostIp: "127.0.0.1", HostPort: "9090" }],
  });
  assertEquals(inspect.HostConfig.RestartPolicy, { Name: "always", MaximumRetryCount: 0 });
  assertEquals([inspect.HostConfig.Memory, inspect.HostConfig.NanoCpus], [67108864, 500_000_000]);
  assertEquals(inspect.HostConfig.Dns, ["1.1.1.1"]);
  assertEquals(inspect.HostConfig.ExtraHosts, ["h:1.2.3.4"]);
  assertEquals(inspect.HostConfig.Tmpfs, { "/run": "" });
  assertEquals(inspect.NetworkSettings.Ports, {
    "80/tcp": [{ HostIp: "0.0.0.0", HostPort: "8080" }],
    "90/udp": [{ HostIp: "127.0.0.1", HostPort: "9090" }],
  });
  const endpoint = inspect.NetworkSettings.Networks.proj_backend;
  // compose's short_id_alias_exists: the 12-character ID among the aliases.
  assertEquals(endpoint.Aliases, ["web", "12d76beba7b3"]);
  assertEquals(endpoint.DNSNames, ["proj_web_2", "12d76beba7b3", "web"]);
  assertEquals([endpoint.IPAddress, endpoint.IPPrefixLen, endpoint.Gateway], [
    "10.89.0.3",
    16,
    "10.89.0.1",
  ]);
  assertEquals(endpoint.NetworkID, "9".repeat(64));
  // The deprecated top-level fields belong to the default bridge network only.
  assertEquals(inspect.NetworkSettings.IPAddress, "");
  assertEquals(inspect.Mounts, [
    {
      Type: "bind",
      Source: "/srv",
      Destination: "/srv",
      Mode: "ro",
      RW: false,
      Propagation: "rprivate",
    },
  ]);
  assertEquals([inspect.Path, inspect.Args.length], ["/bin/sh", 4]);
  assertEquals(JSON.parse(JSON.stringify(inspect)), inspect); // plain JSON: no bigint, no undefined
});

Deno.test("list: the entry compose and docker ps read", () => {
  const entry = formatContainerSummary(composeWeb(), NOW) as Json;
  assertEquals(entry.Names, ["/proj_web_2"]);
  assertEquals(entry.Image, "busybox");
  assertEquals(entry.ImageID, "sha256:" + "b".repeat(64));
  assertEquals(entry.Command, "/bin/sh -c sh -c wget -qO- http://db/");
  assertEquals(entry.Created, 1_704_067_200);
  assertEquals(entry.State, "running");
  assertEquals(entry.Status, "Up 5 seconds");
  assertEquals(entry.Ports, [
    { IP: "0.0.0.0", PrivatePort: 80, PublicPort: 8080, Type: "tcp" },
    { IP: "127.0.0.1", PrivatePort: 90, PublicPort: 9090, Type: "udp" },
  ]);
  assertEquals(entry.Labels["com.docker.compose.project"], "proj");
  assertEquals(entry.HostConfig, { NetworkMode: "proj_backend" });
  assertEquals(Object.keys(entry.NetworkSettings.Networks), ["proj_backend"]);
});

Deno.test("a stopped CLI-made container: no API record, no ports, exited", () => {
  const facts: ContainerFacts = {
    config: testContainerConfig({
      network: "bridge",
      bridge: { network: "bridge", address: "10.88.0.5" },
      publish: [{ hostIp: "", hostPort: 8080, containerPort: 80, protocol: "tcp" }],
      command: ["httpd", "-f"],
      volumes: [{
        volume: "data",
        source: "/var/lib/tsnspawn/volumes/data/_data",
        destination: "/data",
        readOnly: false,
      }, {
        volume: "ab".repeat(32),
        anonymous: true,
        source: `/var/lib/tsnspawn/volumes/${"ab".repeat(32)}/_data`,
        destination: "/cache",
        readOnly: true,
      }],
    }),
    imageName: "busybox:latest",
    network: { id: "8".repeat(64), gateway: "10.88.0.1", prefixLength: 16, macAddress: "" },
    unit: null,
    exit: { exitCode: 137, finishedAt: "2024-01-01T00:00:08.000Z", serviceResult: "signal" },
  };
  const entry = formatContainerSummary(facts, NOW) as Json;
  assertEquals([entry.State, entry.Status, entry.Ports], [
    "exited",
    "Exited (137) 2 seconds ago",
    [],
  ]);
  assertEquals(entry.Labels, {});
  const inspect = formatContainerInspect(facts) as Json;
  assertEquals(inspect.Config.Cmd, ["httpd", "-f"]);
  assertEquals(inspect.Config.Entrypoint, null);
  assertEquals(inspect.NetworkSettings.Ports, {});
  assertEquals(inspect.NetworkSettings.IPAddress, "10.88.0.5"); // default bridge: top-level fields
  assertEquals(inspect.NetworkSettings.Networks.bridge.Aliases, null);
  assertEquals(inspect.Mounts[0], {
    Type: "volume",
    Name: "data",
    Source: "/var/lib/tsnspawn/volumes/data/_data",
    Destination: "/data",
    Driver: "local",
    Mode: "",
    RW: true,
    Propagation: "",
  });
  assertEquals(inspect.Mounts[1].Name, "ab".repeat(32));
  assertEquals([inspect.Mounts[1].Type, inspect.Mounts[1].RW], ["volume", false]);
  assertEquals(inspect.HostConfig.Binds, ["data:/data"]); // anonymous volumes: Mounts only
  assertEquals(inspect.Config.Volumes, { "/data": {}, "/cache": {} });
  assertEquals(inspect.State.ExitCode, 137);
});

Deno.test("splitCommand: Cmd and Entrypoint back from the argv", () => {
  const given = (entrypoint: string[] | null, cmd: string[] | null) => ({
    image: "x",
    entrypoint,
    cmd,
    stopTimeout: null,
  });
  const argv = ["/bin/sh", "-c", "echo hi"];
  assertEquals(splitCommand(argv, undefined), { entrypoint: null, cmd: argv });
  assertEquals(splitCommand(argv, given(["/bin/sh"], ["-c", "echo hi"])), {
    entrypoint: ["/bin/sh"],
    cmd: ["-c", "echo hi"],
  });
  // Entrypoint from the image, Cmd given: the image's part is what precedes Cmd.
  assertEquals(splitCommand(argv, given(null, ["echo hi"])), {
    entrypoint: ["/bin/sh", "-c"],
    cmd: ["echo hi"],
  });
  assertEquals(splitCommand(["sh"], given(null, null)), { entrypoint: null, cmd: ["sh"] });
  assertEquals(splitCommand(["echo"], given([""], ["echo"])), { entrypoint: null, cmd: ["echo"] });
});

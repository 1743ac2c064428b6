import { assertEquals } from "@std/assert";
import {
  dockerArch,
  formatExecInspect,
  formatInfo,
  formatVersion,
  formatWaitResponse,
} from "./inspect_system.ts";

Deno.test("version: ApiVersion for docker-py, the Engine component for the CLI's template", () => {
  const version = formatVersion({
    version: "0.9.0",
    gitCommit: "abc1234",
    buildTime: "2026-12-03T00:00:00Z",
    denoVersion: "2.9.5",
    kernelVersion: "6.18.0",
    arch: "x86_64",
  }) as Record<string, unknown> & {
    Components: { Name: string; Details: Record<string, unknown> }[];
  };
  assertEquals(version.ApiVersion, "1.44");
  assertEquals(version.MinAPIVersion, "1.24");
  assertEquals(version.Version, "0.9.0");
  assertEquals(version.Platform, { Name: "tsnspawn" });
  const engine = version.Components.find((c) => c.Name === "Engine")!;
  assertEquals(engine.Details, {
    ApiVersion: "1.44",
    MinAPIVersion: "1.24",
    GitCommit: "abc1234",
    GoVersion: "deno2.9.5",
    Os: "linux",
    Arch: "amd64",
    KernelVersion: "6.18.0",
    BuildTime: "2026-12-03T00:00:00Z",
    Experimental: "false",
  });
  assertEquals([dockerArch("aarch64"), dockerArch("mips")], ["arm64", "mips"]);
});

Deno.test("info: what compose reads (Swarm, ServerVersion) and the counts", () => {
  const info = formatInfo({
    id: "f".repeat(32),
    containers: { running: 2, stopped: 3 },
    images: 4,
    serverVersion: "0.9.0",
    rootDir: "/var/lib/tsnspawn",
    kernelVersion: "6.18.0",
    operatingSystem: "Debian GNU/Linux 12 (bookworm)",
    osVersion: "12",
    arch: "x86_64",
    cpus: 2,
    memoryBytes: 8 * 1024 ** 3,
    name: "host",
    cgroupVersion: "1",
    systemTime: "2026-12-03T10:00:00Z",
    warnings: [],
  }) as Record<string, unknown> & { Swarm: Record<string, unknown> };
  assertEquals(info.Swarm.LocalNodeState, "inactive");
  assertEquals(info.ServerVersion, "0.9.0");
  assertEquals([info.Containers, info.ContainersRunning, info.ContainersStopped, info.Images], [
    5,
    2,
    3,
    4,
  ]);
  assertEquals([info.OSType, info.LoggingDriver, info.CgroupDriver], [
    "linux",
    "journald",
    "systemd",
  ]);
});

Deno.test("exec inspect: ExitCode null while running; wait bodies", () => {
  const facts = {
    id: "e".repeat(64),
    containerId: "a".repeat(64),
    command: ["sh", "-c", "exit 3"],
    tty: true,
    user: "",
    privileged: false,
    openStdin: true,
    openStdout: true,
    openStderr: true,
    running: true,
    exitCode: null,
    pid: 99,
  };
  assertEquals(formatExecInspect(facts), {
    CanRemove: false,
    ContainerID: "a".repeat(64),
    DetachKeys: "",
    ExitCode: null,
    ID: "e".repeat(64),
    OpenStderr: true,
    OpenStdin: true,
    OpenStdout: true,
    ProcessConfig: {
      arguments: ["-c", "exit 3"],
      entrypoint: "sh",
      privileged: false,
      tty: true,
      user: "",
    },
    Running: true,
    Pid: 99,
  });
  assertEquals(formatExecInspect({ ...facts, running: false, exitCode: 3, pid: 0 }).ExitCode, 3);
  assertEquals(JSON.stringify(formatWaitResponse(3)), '{"StatusCode":3,"Error":null}');
  assertEquals(formatWaitResponse(125, "container removed"), {
    StatusCode: 125,
    Error: { Message: "container removed" },
  });
});

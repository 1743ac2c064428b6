/**
 * The small documents (pure): `GET /version`, `GET /info`, exec inspect and
 * the body of `/wait`, from facts the caller gathers.
 *
 * `/version`: docker-py (compose 1.29) takes `ApiVersion` verbatim and
 * refuses a document without it; the docker CLI's template reads
 * `Platform.Name`, `Version` and `Components[Name=="Engine"].Details`
 * (ApiVersion, MinAPIVersion, GoVersion, GitCommit, BuildTime, Os, Arch,
 * Experimental); GoVersion carries Deno's version here. `/info`: compose
 * reads `Swarm.LocalNodeState` and `ServerVersion`; `docker info` prints the
 * rest. Exec inspect: the CLI exits with `ExitCode` (null while running),
 * which must be recorded before the exec stream closes (podman#6893). Wait:
 * `{"StatusCode":N,"Error":null}`, or an `Error.Message` (the CLI then exits
 * 125).
 *
 * References: Docker Engine API v1.44 (SystemVersion, SystemInfo,
 * `GET /exec/{id}/json`, ContainerWaitResponse); research notes
 * /work/shared/research/docker-api.md §2, §3.4, §4, §6 rows 2, 15.
 */
import { API_VERSION, MIN_API_VERSION } from "./api_version.ts";

/** Docker's name for an architecture from Deno's (`Deno.build.arch`) or uname's. */
export function dockerArch(arch: string): string {
  const names: Record<string, string> = {
    x86_64: "amd64",
    aarch64: "arm64",
    armv7l: "arm",
    i686: "386",
    ppc64le: "ppc64le",
    s390x: "s390x",
    riscv64: "riscv64",
  };
  return names[arch] ?? arch;
}

/** What `/version` tells. */
export interface VersionFacts {
  /** tsnspawn's version. */
  version: string;
  gitCommit: string;
  /** RFC 3339, or "" when unknown. */
  buildTime: string;
  /** `Deno.version.deno`. */
  denoVersion: string;
  /** uname -r (`Deno.osRelease()`). */
  kernelVersion: string;
  /** `Deno.build.arch`. */
  arch: string;
}

/** The document of `GET /version`. */
export function formatVersion(facts: VersionFacts): Record<string, unknown> {
  const common = {
    ApiVersion: API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    GitCommit: facts.gitCommit,
    GoVersion: `deno${facts.denoVersion}`,
    Os: "linux",
    Arch: dockerArch(facts.arch),
    KernelVersion: facts.kernelVersion,
    BuildTime: facts.buildTime,
  };
  return {
    Platform: { Name: "tsnspawn" },
    Components: [{
      Name: "Engine",
      Version: facts.version,
      Details: { ...common, Experimental: "false" },
    }],
    Version: facts.version,
    ...common,
    Experimental: false,
  };
}

/** What `/info` tells. */
export interface InfoFacts {
  /** A stable ID for this host (e.g. /etc/machine-id). */
  id: string;
  containers: { running: number; stopped: number };
  images: number;
  serverVersion: string;
  /** The state root (paths.ts), docker's DockerRootDir. */
  rootDir: string;
  kernelVersion: string;
  /** PRETTY_NAME of os-release. */
  operatingSystem: string;
  /** VERSION_ID of os-release. */
  osVersion: string;
  /** `Deno.build.arch`. */
  arch: string;
  cpus: number;
  memoryBytes: number;
  /** The host name. */
  name: string;
  /** "1" or "2". */
  cgroupVersion: string;
  /** Now, ISO 8601. */
  systemTime: string;
  /** What `docker info` lists under WARNING. */
  warnings: string[];
}

/** The document of `GET /info`. */
export function formatInfo(facts: InfoFacts): Record<string, unknown> {
  const total = facts.containers.running + facts.containers.stopped;
  return {
    ID: facts.id,
    Containers: total,
    ContainersRunning: facts.containers.running,
    ContainersPaused: 0,
    ContainersStopped: facts.containers.stopped,
    Images: facts.images,
    Driver: "overlay",
    DriverStatus: [["Backing Filesystem", "overlayfs layers"]],
    DockerRootDir: facts.rootDir,
    Plugins: {
      Volume: ["local"],
      Network: ["bridge", "host", "none"],
      Authorization: null,
      Log: ["journald"],
    },
    MemoryLimit: true,
    SwapLimit: false,
    CpuCfsPeriod: true,
    CpuCfsQuota: true,
    CPUShares: true,
    CPUSet: false,
    PidsLimit: true,
    OomKillDisable: false,
    IPv4Forwarding: true,
    Debug: false,
    NFd: 0,
    NGoroutines: 0,
    SystemTime: facts.systemTime,
    LoggingDriver: "journald",
    CgroupDriver: "systemd",
    CgroupVersion: facts.cgroupVersion,
    NEventsListener: 0,
    KernelVersion: facts.kernelVersion,
    OperatingSystem: facts.operatingSystem,
    OSVersion: facts.osVersion,
    OSType: "linux",
    Architecture: facts.arch,
    NCPU: facts.cpus,
    MemTotal: facts.memoryBytes,
    IndexServerAddress: "https://index.docker.io/v1/",
    RegistryConfig: { IndexConfigs: {}, InsecureRegistryCIDRs: ["127.0.0.0/8"], Mirrors: [] },
    GenericResources: null,
    HttpProxy: "",
    HttpsProxy: "",
    NoProxy: "",
    Name: facts.name,
    Labels: [],
    ExperimentalBuild: false,
    ServerVersion: facts.serverVersion,
    Runtimes: { tsnspawn: { path: "tsnspawn" } },
    DefaultRuntime: "tsnspawn",
    Swarm: {
      NodeID: "",
      NodeAddr: "",
      LocalNodeState: "inactive",
      ControlAvailable: false,
      Error: "",
      RemoteManagers: null,
    },
    LiveRestoreEnabled: true,
    Isolation: "",
    InitBinary: "tini",
    SecurityOptions: ["name=seccomp,profile=builtin", "name=cgroupns"],
    Warnings: facts.warnings,
  };
}

/** What tsnspawn knows of an exec instance. */
export interface ExecFacts {
  /** 64 hex. */
  id: string;
  containerId: string;
  command: readonly string[];
  tty: boolean;
  /** As given ("" = the container's user). */
  user: string;
  privileged: boolean;
  openStdin: boolean;
  openStdout: boolean;
  openStderr: boolean;
  running: boolean;
  /** null until the process ended. */
  exitCode: number | null;
  /** 0 when not running. */
  pid: number;
}

/** The document of `GET /exec/{id}/json`. */
export function formatExecInspect(facts: ExecFacts): Record<string, unknown> {
  return {
    CanRemove: false,
    ContainerID: facts.containerId,
    DetachKeys: "",
    ExitCode: facts.exitCode,
    ID: facts.id,
    OpenStderr: facts.openStderr,
    OpenStdin: facts.openStdin,
    OpenStdout: facts.openStdout,
    ProcessConfig: {
      arguments: facts.command.slice(1),
      entrypoint: facts.command[0] ?? "",
      privileged: facts.privileged,
      tty: facts.tty,
      user: facts.user,
    },
    Running: facts.running,
    Pid: facts.pid,
  };
}

/** The body `/wait` ends with. */
export function formatWaitResponse(statusCode: number, error?: string): {
  StatusCode: number;
  Error: { Message: string } | null;
} {
  return { StatusCode: statusCode, Error: error === undefined ? null : { Message: error } };
}

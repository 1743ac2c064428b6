/**
 * `HostConfig` of `POST /containers/create` besides networks and mounts
 * (pure): restart policy and auto-removal, resources, capabilities and
 * security, /dev/shm, sysctls, ulimits, annotations, logging, and the namespace modes → the CLI's options; every
 * other field accepted at its default only ({@link DEFAULT_ONLY_FIELDS}).
 *
 * Resources arrive in docker's units and leave in the CLI's: `Memory`
 * bytes → `--memory`, `NanoCpus` or `CpuQuota`/`CpuPeriod` → `--cpus`
 * (moby refuses both together), `CpuShares` → `--cpu-shares`, `PidsLimit`
 * → `--pids-limit` (0 and -1 = unlimited). Logging: the journal keeps every
 * container's output and `docker logs` reads it, so the drivers that keep
 * `docker logs` working (json-file, local, journald) are taken without
 * options. Docker's default for `MemorySwappiness` is -1, `MemorySwap` 0 or
 * -1 (unlimited), `IpcMode` private or shareable.
 *
 * References: Docker Engine API v1.44 (HostConfig, Resources,
 * RestartPolicy); moby v28.2.2 daemon/container.go (verifyContainerSettings,
 * validateRestartPolicy), runconfig/hostconfig_unix.go; research notes
 * /work/shared/research/docker-api.md §2 and §6 tier 1 row 4.
 */
import { type BodyReader, isZeroValue } from "./body_fields.ts";
import { badRequest, unsupportedField } from "./errors.ts";
import type { PlanBuilder } from "./create_types.ts";

const is = (...values: unknown[]) => (value: unknown) =>
  value === undefined || values.includes(value);

/**
 * Fields accepted at their default only: the predicate for the default (zero
 * when absent), and why another value cannot be honoured. One line each.
 */
export const DEFAULT_ONLY_FIELDS: readonly [string, string, ((v: unknown) => boolean)?][] = [
  ["BlkioWeight", "block I/O weights are not supported"],
  ["BlkioWeightDevice", "block I/O weights are not supported"],
  ["BlkioDeviceReadBps", "block I/O limits are not supported"],
  ["BlkioDeviceWriteBps", "block I/O limits are not supported"],
  ["BlkioDeviceReadIOps", "block I/O limits are not supported"],
  ["BlkioDeviceWriteIOps", "block I/O limits are not supported"],
  ["Cgroup", "joining another cgroup is not supported"],
  ["CgroupParent", "systemd places the container's unit itself"],
  ["CgroupnsMode", "containers get a private cgroup namespace", is("", "private")],
  ["CpuCount", "Windows only"],
  ["CpuPercent", "Windows only"],
  ["CpuRealtimePeriod", "real-time CPU scheduling is not supported"],
  ["CpuRealtimeRuntime", "real-time CPU scheduling is not supported"],
  ["CpusetCpus", "CPU pinning is not supported"],
  ["CpusetMems", "memory node pinning is not supported"],
  ["DeviceCgroupRules", "device cgroup rules are not supported"],
  ["DeviceRequests", "device requests (GPUs) are not supported"],
  ["Devices", "host devices are not passed into containers"],
  ["GroupAdd", "supplementary groups are not supported"],
  ["IOMaximumBandwidth", "Windows only"],
  ["IOMaximumIOps", "Windows only"],
  ["IpcMode", "containers get a private IPC namespace", is("", "private", "shareable")],
  ["Isolation", "Linux containers have the default isolation", is("", "default")],
  ["KernelMemory", "kernel memory limits were removed from docker"],
  ["KernelMemoryTCP", "kernel TCP memory limits are not supported"],
  ["Links", "links are not supported: put the containers on one user network"],
  ["MaskedPaths", "the masked paths are tsnspawn's, not the client's", is(undefined)],
  ["MemoryReservation", "soft memory limits are not supported"],
  ["MemorySwap", "swap limits are not supported", is(0, -1)],
  ["MemorySwappiness", "swappiness is not supported", is(-1)],
  ["OomKillDisable", "the OOM killer cannot be disabled here"],
  ["OomScoreAdj", "OOM score adjustments are not supported"],
  ["PidMode", "containers get a private PID namespace", is("", "private")],
  ["ReadonlyPaths", "the read-only paths are tsnspawn's, not the client's", is(undefined)],
  ["Runtime", "the only runtime is tsnspawn's", is("", "runc")],
  ["StorageOpt", "storage driver options are not supported"],
  ["UTSMode", "containers get a private UTS namespace", is("")],
];

/** `RestartPolicy` and `AutoRemove` → `--restart`, `--rm`, with moby's checks. */
function mapRestart(host: BodyReader, plan: PlanBuilder): void {
  const policy = host.child("RestartPolicy");
  const name = policy.string("Name") ?? "";
  const retries = policy.integer("MaximumRetryCount") ?? 0;
  policy.finish("tsnspawn does not know this field");
  const autoRemove = host.boolean("AutoRemove") ?? false;
  if (retries < 0) {
    throw badRequest("invalid restart policy: maximum retry count cannot be negative");
  }
  if (!["", "no", "always", "unless-stopped", "on-failure"].includes(name)) {
    throw badRequest(
      `invalid restart policy: unknown policy '${name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`,
    );
  }
  if (retries > 0 && name !== "on-failure") {
    throw badRequest(
      `invalid restart policy: maximum retry count can only be used with 'on-failure'`,
    );
  }
  if (autoRemove && name !== "" && name !== "no") {
    throw badRequest("can't create 'AutoRemove' container with restart policy");
  }
  if (name === "on-failure") {
    plan.options.push(`--restart=on-failure${retries > 0 ? `:${retries}` : ""}`);
  } else if (name === "always" || name === "unless-stopped") {
    plan.options.push(`--restart=${name}`);
  }
  if (autoRemove) plan.options.push("--rm");
}

/** A positive decimal from an integer ratio, as `--cpus` takes it. */
function decimal(numerator: number, denominator: number): string {
  return String(Number((numerator / denominator).toPrecision(12)));
}

/** `Memory`, `NanoCpus`, `CpuQuota`/`CpuPeriod`, `CpuShares`, `PidsLimit`. */
function mapResources(host: BodyReader, plan: PlanBuilder): void {
  const memory = host.integer("Memory") ?? 0;
  if (memory < 0) throw badRequest(`${host.name("Memory")}: invalid memory limit ${memory}`);
  if (memory > 0) plan.options.push(`--memory=${memory}`);
  const nanoCpus = host.integer("NanoCpus") ?? 0;
  const quota = host.integer("CpuQuota") ?? 0;
  const period = host.integer("CpuPeriod") ?? 0;
  if (nanoCpus !== 0 && period !== 0) {
    throw badRequest("Conflicting options: Nano CPUs and CPU Period cannot both be set");
  }
  if (nanoCpus !== 0 && quota !== 0) {
    throw badRequest("Conflicting options: Nano CPUs and CPU Quota cannot both be set");
  }
  if (quota < -1) throw badRequest(`${host.name("CpuQuota")}: invalid value ${quota}`);
  if (nanoCpus < 0) throw badRequest(`${host.name("NanoCpus")}: invalid value ${nanoCpus}`);
  if (nanoCpus > 0) plan.options.push(`--cpus=${decimal(nanoCpus, 1e9)}`);
  if (quota > 0) {
    const cfsPeriod = period > 0 ? period : 100_000;
    plan.options.push(`--cpus=${decimal(quota, cfsPeriod)}`);
    if (cfsPeriod !== 100_000) {
      plan.warnings.push(
        `CpuQuota/CpuPeriod ${quota}/${period}: applied as ${
          decimal(quota, cfsPeriod)
        } CPUs per systemd's 100ms period`,
      );
    }
  } else if (period !== 0 && quota !== -1) {
    throw unsupportedField(
      host.name("CpuPeriod"),
      period,
      "a CFS period without a quota is not supported",
      "set CpuQuota too, or NanoCpus",
    );
  }
  const shares = host.integer("CpuShares") ?? 0;
  if (shares !== 0) plan.options.push(`--cpu-shares=${shares}`);
  const pids = host.integer("PidsLimit") ?? 0;
  if (pids > 0) plan.options.push(`--pids-limit=${pids}`);
  else if (pids < -1) throw badRequest(`${host.name("PidsLimit")}: invalid value ${pids}`);
}

/** `CapAdd`, `CapDrop`, `Privileged`, `ReadonlyRootfs`, `Init`, `SecurityOpt`, `UsernsMode`. */
function mapSecurity(host: BodyReader, plan: PlanBuilder): void {
  for (const name of host.strings("CapAdd") ?? []) plan.options.push(`--cap-add=${name}`);
  for (const name of host.strings("CapDrop") ?? []) plan.options.push(`--cap-drop=${name}`);
  if (host.boolean("Privileged")) plan.options.push("--privileged");
  if (host.boolean("ReadonlyRootfs")) plan.options.push("--read-only");
  if (host.boolean("Init")) plan.options.push("--init");
  for (const option of host.strings("SecurityOpt") ?? []) {
    // The docker CLI reads `seccomp=FILE` itself and sends the profile's text.
    const profile = /^seccomp[=:](\s*\{.*)$/s.exec(option);
    if (profile) plan.pending.seccompProfile = profile[1];
    else plan.options.push(`--security-opt=${option}`);
  }
  const userns = host.string("UsernsMode") ?? "";
  if (userns === "host") plan.options.push("--userns=host");
  else if (userns !== "") {
    throw unsupportedField(
      host.name("UsernsMode"),
      userns,
      "containers share the host's user namespace",
    );
  }
}

/**
 * `ShmSize` (bytes) → `--shm-size`, `Sysctls` → `--sysctl`, `Ulimits` →
 * `--ulimit NAME=SOFT:HARD`, `Annotations` → `--annotation` (stored, shown
 * by inspect); the CLI's grammar checks each (namespaced sysctls only,
 * known limit names).
 */
function mapKernel(host: BodyReader, plan: PlanBuilder): void {
  const shm = host.integer("ShmSize") ?? 0;
  if (shm < 0) throw badRequest(`${host.name("ShmSize")}: invalid value ${shm}`);
  if (shm > 0) plan.options.push(`--shm-size=${shm}`);
  for (const [name, value] of Object.entries(host.stringMap("Sysctls") ?? {})) {
    plan.options.push(`--sysctl=${name}=${value}`);
  }
  for (const limit of host.objects("Ulimits")) {
    const name = limit.string("Name") ?? "";
    const soft = limit.integer("Soft") ?? 0;
    const hard = limit.integer("Hard") ?? 0;
    limit.finish("tsnspawn does not know this field");
    if (name === "") throw badRequest(`${limit.name("Name")}: the limit has no name`);
    plan.options.push(`--ulimit=${name.toLowerCase()}=${soft}:${hard}`);
  }
  for (const [key, value] of Object.entries(host.stringMap("Annotations") ?? {})) {
    if (key === "" || key.includes("=")) {
      throw badRequest(`${host.name("Annotations")}: invalid key ${JSON.stringify(key)}`);
    }
    plan.options.push(`--annotation=${key}=${value}`);
  }
}

/** `LogConfig`: the journal keeps the output; drivers that keep `docker logs` working are taken. */
function mapLogging(host: BodyReader): void {
  const log = host.child("LogConfig");
  log.defaultOnly(
    "Type",
    "container output goes to the journal, which docker logs reads",
    is("", "json-file", "local", "journald"),
    "use the default driver (json-file or journald)",
  );
  log.defaultOnly(
    "Config",
    "log options do not apply: the journal's own limits do (journald.conf)",
  );
  log.finish("tsnspawn does not know this field");
}

/**
 * Every `HostConfig` field except networks, ports, names and mounts
 * (create_network.ts, create_mounts.ts read those first). Ends the reading:
 * a field left unread must be zero.
 */
export function mapHostConfig(host: BodyReader, plan: PlanBuilder): void {
  mapRestart(host, plan);
  mapResources(host, plan);
  mapSecurity(host, plan);
  mapKernel(host, plan);
  mapLogging(host);
  for (const [field, reason, isDefault] of DEFAULT_ONLY_FIELDS) {
    host.defaultOnly(field, reason, isDefault ?? isZeroValue);
  }
  // Client-side: the CLI writes the ID file itself; ConsoleSize is read by the caller.
  host.ignore("ContainerIDFile", "ConsoleSize");
  host.finish("tsnspawn does not know this field");
}

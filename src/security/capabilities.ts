/**
 * Linux capability names and numbers, docker's default capability set, and
 * docker's `--cap-add`/`--cap-drop` semantics.
 *
 * Owns the one table of capabilities (numbers from `<linux/capability.h>`,
 * descriptions after capabilities(7)). Pure: no system access. The runtime
 * (`ffi/capabilities.ts`) turns the resolved names into masks with
 * {@link capabilityMask}.
 */
import { TsnspawnError } from "../errors.ts";

/** Every Linux capability, indexed by its number (`CAP_LAST_CAP` = 40). */
export const CAPABILITIES: readonly { name: string; description: string }[] = [
  { name: "CAP_CHOWN", description: "change file owners and groups" }, // 0
  {
    name: "CAP_DAC_OVERRIDE",
    description: "bypass file read, write and execute permission checks",
  }, // 1
  {
    name: "CAP_DAC_READ_SEARCH",
    description: "bypass file read and directory search permission checks",
  }, // 2
  { name: "CAP_FOWNER", description: "bypass checks that the file owner is the caller" }, // 3
  { name: "CAP_FSETID", description: "keep set-user-ID/set-group-ID bits when a file is modified" }, // 4
  { name: "CAP_KILL", description: "send signals to any process" }, // 5
  { name: "CAP_SETGID", description: "change group IDs and supplementary groups" }, // 6
  { name: "CAP_SETUID", description: "change user IDs" }, // 7
  {
    name: "CAP_SETPCAP",
    description: "change the capability bounding set and grant inheritable capabilities",
  }, // 8
  { name: "CAP_LINUX_IMMUTABLE", description: "set the immutable and append-only file attributes" }, // 9
  { name: "CAP_NET_BIND_SERVICE", description: "bind to ports below 1024" }, // 10
  { name: "CAP_NET_BROADCAST", description: "broadcast and listen to multicast (unused)" }, // 11
  { name: "CAP_NET_ADMIN", description: "configure network interfaces, routes and firewalls" }, // 12
  { name: "CAP_NET_RAW", description: "use raw and packet sockets" }, // 13
  { name: "CAP_IPC_LOCK", description: "lock memory (mlock, mlockall, SHM_LOCK)" }, // 14
  { name: "CAP_IPC_OWNER", description: "bypass permission checks on System V IPC objects" }, // 15
  { name: "CAP_SYS_MODULE", description: "load and unload kernel modules" }, // 16
  { name: "CAP_SYS_RAWIO", description: "perform I/O port operations and access /dev/mem" }, // 17
  { name: "CAP_SYS_CHROOT", description: "use chroot(2)" }, // 18
  { name: "CAP_SYS_PTRACE", description: "trace arbitrary processes with ptrace(2)" }, // 19
  { name: "CAP_SYS_PACCT", description: "use acct(2)" }, // 20
  {
    name: "CAP_SYS_ADMIN",
    description: "mount, sethostname and many other administration operations",
  }, // 21
  { name: "CAP_SYS_BOOT", description: "use reboot(2) and kexec_load(2)" }, // 22
  { name: "CAP_SYS_NICE", description: "raise process priorities and set scheduling policies" }, // 23
  { name: "CAP_SYS_RESOURCE", description: "override resource limits and quotas" }, // 24
  { name: "CAP_SYS_TIME", description: "set the system clock" }, // 25
  { name: "CAP_SYS_TTY_CONFIG", description: "use vhangup(2) and privileged terminal ioctls" }, // 26
  { name: "CAP_MKNOD", description: "create special files with mknod(2)" }, // 27
  { name: "CAP_LEASE", description: "establish leases on arbitrary files" }, // 28
  { name: "CAP_AUDIT_WRITE", description: "write records to the kernel audit log" }, // 29
  { name: "CAP_AUDIT_CONTROL", description: "configure kernel auditing" }, // 30
  { name: "CAP_SETFCAP", description: "set file capabilities" }, // 31
  { name: "CAP_MAC_OVERRIDE", description: "override mandatory access control" }, // 32
  { name: "CAP_MAC_ADMIN", description: "configure mandatory access control" }, // 33
  { name: "CAP_SYSLOG", description: "use privileged syslog(2) operations" }, // 34
  { name: "CAP_WAKE_ALARM", description: "trigger something that will wake up the system" }, // 35
  { name: "CAP_BLOCK_SUSPEND", description: "prevent system suspend (epoll EPOLLWAKEUP)" }, // 36
  { name: "CAP_AUDIT_READ", description: "read the audit log through a multicast netlink socket" }, // 37
  { name: "CAP_PERFMON", description: "use perf_event_open(2) and other performance monitoring" }, // 38
  { name: "CAP_BPF", description: "use privileged BPF operations" }, // 39
  {
    name: "CAP_CHECKPOINT_RESTORE",
    description: "checkpoint/restore operations (set_tid, ns_last_pid)",
  }, // 40
];

/** The highest capability number this table knows (`CAP_LAST_CAP`). */
export const CAP_LAST_CAP = CAPABILITIES.length - 1;

/** The capabilities docker grants a container by default (moby's `DefaultCapabilities`). */
export const DOCKER_DEFAULT_CAPABILITIES: readonly string[] = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
];

const NUMBER_BY_NAME = new Map(CAPABILITIES.map((c, i) => [c.name, i]));

/**
 * The canonical name (`CAP_X`) of a capability given with or without the
 * `CAP_` prefix, in any case. Throws an "invalid" error for unknown names.
 */
export function normalizeCapabilityName(name: string): string {
  const upper = name.trim().toUpperCase();
  const canonical = upper.startsWith("CAP_") ? upper : `CAP_${upper}`;
  if (!NUMBER_BY_NAME.has(canonical)) {
    throw new TsnspawnError("invalid", `capability ${JSON.stringify(name)}: unknown capability`, {
      hint: "use a name from capabilities(7), e.g. NET_ADMIN or CAP_SYS_PTRACE, or ALL",
    });
  }
  return canonical;
}

/** The number of a capability (name with or without `CAP_`, any case). */
export function capabilityNumber(name: string): number {
  return NUMBER_BY_NAME.get(normalizeCapabilityName(name))!;
}

/** The name `CAP_X` of a capability number; throws for numbers outside 0..CAP_LAST_CAP. */
export function capabilityName(num: number): string {
  const entry = Number.isInteger(num) ? CAPABILITIES[num] : undefined;
  if (!entry) {
    throw new TsnspawnError(
      "invalid",
      `capability ${num}: no such capability number (0..${CAP_LAST_CAP})`,
    );
  }
  return entry.name;
}

/** The 64-bit capability mask (bit n = capability n) of a list of names. */
export function capabilityMask(names: Iterable<string>): bigint {
  let mask = 0n;
  for (const name of names) mask |= 1n << BigInt(capabilityNumber(name));
  return mask;
}

function isAll(name: string): boolean {
  const upper = name.trim().toUpperCase();
  return upper === "ALL" || upper === "CAP_ALL";
}

/**
 * Applies docker's `--cap-add`/`--cap-drop` to a default set and returns the
 * resulting canonical names in capability-number order.
 *
 * Docker semantics (moby `caps.TweakCapabilities`): `--cap-add ALL` starts from
 * every capability, `--cap-drop ALL` from none; then the named drops are
 * removed and the named adds are added, so `--cap-drop ALL --cap-add X` keeps
 * only X and an add wins over a drop of the same name. Unknown names throw.
 */
export function resolveCapabilities(
  defaults: Iterable<string>,
  add: readonly string[],
  drop: readonly string[],
): string[] {
  const addAll = add.some(isAll);
  const dropAll = drop.some(isAll);
  const adds = add.filter((n) => !isAll(n)).map(normalizeCapabilityName);
  const drops = drop.filter((n) => !isAll(n)).map(normalizeCapabilityName);
  let kept: Set<string>;
  if (addAll) kept = new Set(CAPABILITIES.map((c) => c.name));
  else if (dropAll) kept = new Set();
  else kept = new Set([...defaults].map(normalizeCapabilityName));
  for (const name of drops) kept.delete(name);
  if (!addAll) { for (const name of adds) kept.add(name); }
  return [...kept].sort((a, b) => NUMBER_BY_NAME.get(a)! - NUMBER_BY_NAME.get(b)!);
}

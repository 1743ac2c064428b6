/**
 * Docker's seccomp profile format: its types, a strict parser, docker's
 * default profile as data, and the `--security-opt seccomp=...` value.
 *
 * The format is the one `docker run --security-opt seccomp=FILE` reads
 * (moby `profiles/seccomp`, `types.go`): a default action, architectures
 * (`architectures` or `archMap`), and rules naming syscalls with an action,
 * optional argument comparisons and `includes`/`excludes` conditions on the
 * container's capabilities, the architecture and the kernel version. Actions
 * and comparison operators keep libseccomp's names (`SCMP_ACT_*`,
 * `SCMP_CMP_*`, seccomp_rule_add(3)).
 *
 * Unlike docker, the parser rejects what it does not understand (unknown
 * keys, unknown capability names in conditions, values beyond 64 bits) with a
 * one-line `TsnspawnError("invalid", "seccomp profile FILE: ...")`: a typo in
 * a security profile must not silently widen it. Features tsnspawn cannot
 * apply (`SCMP_ACT_NOTIFY` with `listenerPath`, filter `flags`) are refused.
 *
 * Pure: no system access. `src/security/seccomp_bpf.ts` compiles a profile into a BPF
 * program; `src/runtime/seccomp_apply.ts` installs it.
 *
 * Man pages: seccomp(2), seccomp_rule_add(3), capabilities(7).
 */
import { CAPABILITIES } from "./capabilities.ts";
import { TsnspawnError } from "../errors.ts";

// ---------------------------------------------------------------------------
// Vocabulary

/** Rule and default actions (libseccomp names) and what the kernel does for each. */
export const SECCOMP_ACTIONS = {
  SCMP_ACT_KILL: "kill the thread (SECCOMP_RET_KILL_THREAD)",
  SCMP_ACT_KILL_THREAD: "kill the thread (SECCOMP_RET_KILL_THREAD)",
  SCMP_ACT_KILL_PROCESS: "kill the whole process (SECCOMP_RET_KILL_PROCESS)",
  SCMP_ACT_TRAP: "send SIGSYS (SECCOMP_RET_TRAP)",
  SCMP_ACT_ERRNO: "fail with errnoRet, EPERM by default (SECCOMP_RET_ERRNO)",
  SCMP_ACT_TRACE: "notify a ptrace tracer; ENOSYS when there is none (SECCOMP_RET_TRACE)",
  SCMP_ACT_LOG: "allow and log (SECCOMP_RET_LOG)",
  SCMP_ACT_ALLOW: "allow (SECCOMP_RET_ALLOW)",
} as const;

/** A seccomp action name. */
export type SeccompAction = keyof typeof SECCOMP_ACTIONS;

/** Argument comparison operators (libseccomp names): `arg OP value`. */
export const SECCOMP_OPERATORS = {
  SCMP_CMP_NE: "arg != value",
  SCMP_CMP_LT: "arg < value (unsigned)",
  SCMP_CMP_LE: "arg <= value (unsigned)",
  SCMP_CMP_EQ: "arg == value",
  SCMP_CMP_GE: "arg >= value (unsigned)",
  SCMP_CMP_GT: "arg > value (unsigned)",
  SCMP_CMP_MASKED_EQ: "(arg & value) == valueTwo",
} as const;

/** An argument comparison operator name. */
export type SeccompOperator = keyof typeof SECCOMP_OPERATORS;

/** libseccomp architecture names a profile may list (only SCMP_ARCH_X86_64 is enforced). */
export const SECCOMP_ARCHITECTURES: readonly string[] = [
  "SCMP_ARCH_X86", // i386
  "SCMP_ARCH_X86_64", // x86_64: the one tsnspawn runs on
  "SCMP_ARCH_X32", // x86_64 with 32-bit pointers
  "SCMP_ARCH_ARM",
  "SCMP_ARCH_AARCH64",
  "SCMP_ARCH_LOONGARCH64",
  "SCMP_ARCH_M68K",
  "SCMP_ARCH_MIPS",
  "SCMP_ARCH_MIPS64",
  "SCMP_ARCH_MIPS64N32",
  "SCMP_ARCH_MIPSEL",
  "SCMP_ARCH_MIPSEL64",
  "SCMP_ARCH_MIPSEL64N32",
  "SCMP_ARCH_PPC",
  "SCMP_ARCH_PPC64",
  "SCMP_ARCH_PPC64LE",
  "SCMP_ARCH_S390",
  "SCMP_ARCH_S390X",
  "SCMP_ARCH_PARISC",
  "SCMP_ARCH_PARISC64",
  "SCMP_ARCH_RISCV64",
  "SCMP_ARCH_SH",
];

/** errno values profiles commonly use (asm-generic/errno-base.h). */
export const EPERM = 1;
export const ENOSYS = 38;

/** The largest errno a seccomp filter can return (the kernel's MAX_ERRNO). */
export const MAX_ERRNO = 4095;

// ---------------------------------------------------------------------------
// Types

/** One argument comparison of a rule: `args[index] op value` (64-bit, unsigned). */
export interface SeccompArgument {
  /** Which syscall argument, 0-5. */
  index: number;
  /** The operand; the mask for SCMP_CMP_MASKED_EQ. */
  value: bigint;
  /** The expected masked value for SCMP_CMP_MASKED_EQ; unused otherwise. */
  valueTwo: bigint;
  op: SeccompOperator;
}

/** Conditions of `includes`/`excludes` (docker's `Filter`). */
export interface SeccompCondition {
  /** Capability names such as "CAP_SYS_ADMIN". */
  caps?: string[];
  /** Go architecture names such as "amd64", "arm64", "s390x". */
  arches?: string[];
  /** Kernel version "MAJOR.MINOR". */
  minKernel?: string;
}

/** One rule: these syscalls, when all `args` comparisons hold, get `action`. */
export interface SeccompRule {
  names: string[];
  action: SeccompAction;
  /** errno for SCMP_ACT_ERRNO (default EPERM) or the tracer's data for SCMP_ACT_TRACE. */
  errnoRet?: number;
  /** All must hold (a conjunction); none means the rule always applies. */
  args: SeccompArgument[];
  comment?: string;
  /** The rule applies only if every listed capability is held, the arch is listed and the kernel is at least minKernel. */
  includes?: SeccompCondition;
  /** The rule is dropped if any listed capability is held, the arch is listed or the kernel is at least minKernel. */
  excludes?: SeccompCondition;
}

/** An architecture and the ones that run on it (`archMap` entry). */
export interface SeccompArchMapEntry {
  architecture: string;
  subArchitectures: string[];
}

/** A docker seccomp profile. */
export interface SeccompProfile {
  defaultAction: SeccompAction;
  /** errno of the default action when it is SCMP_ACT_ERRNO (default EPERM). */
  defaultErrnoRet?: number;
  architectures: string[];
  archMap: SeccompArchMapEntry[];
  syscalls: SeccompRule[];
}

/** What `--security-opt seccomp=VALUE` asks for. */
export type SeccompOption =
  | { kind: "unconfined" }
  | { kind: "default" }
  | { kind: "profile"; path: string };

// ---------------------------------------------------------------------------
// Parsing

/** A JSON number together with its source text (JSON.parse source text access), so 64-bit values stay exact. */
class JsonNumber {
  constructor(readonly text: string) {}
}

type Json = null | boolean | string | JsonNumber | Json[] | { [key: string]: Json };

/** A parse failure at a JSON path; turned into the user-facing error by parseSeccompProfile. */
class ProfileError extends Error {
  constructor(readonly path: string, readonly detail: string, readonly hint?: string) {
    super(`${path}: ${detail}`);
  }
}

function describe(value: Json): string {
  if (value instanceof JsonNumber) return value.text;
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function object(value: Json, path: string, keys: readonly string[]): { [key: string]: Json } {
  if (
    value === null || typeof value !== "object" || Array.isArray(value) ||
    value instanceof JsonNumber
  ) {
    throw new ProfileError(path, `expected an object, got ${describe(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) {
      throw new ProfileError(path, `unknown key "${key}"`, `known keys: ${keys.join(", ")}`);
    }
  }
  return value;
}

/** An array, or [] for a missing key or null (Go's nil slice). */
function list(value: Json | undefined, path: string): Json[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    throw new ProfileError(path, `expected a list, got ${describe(value)}`);
  }
  return value;
}

function text(value: Json | undefined, path: string): string {
  if (typeof value !== "string") {
    throw new ProfileError(
      path,
      value === undefined ? "missing" : `expected a string, got ${describe(value)}`,
    );
  }
  return value;
}

function texts(value: Json | undefined, path: string): string[] {
  return list(value, path).map((item, i) => {
    const s = text(item, `${path}[${i}]`);
    if (s === "") throw new ProfileError(`${path}[${i}]`, "empty string");
    return s;
  });
}

/** A non-negative integer up to `max` from a JSON number's exact text. */
function unsigned(value: Json | undefined, path: string, max: bigint): bigint {
  if (!(value instanceof JsonNumber) || !/^(0|[1-9][0-9]*)$/.test(value.text)) {
    throw new ProfileError(
      path,
      `expected a non-negative integer, got ${value === undefined ? "nothing" : describe(value)}`,
    );
  }
  const n = BigInt(value.text);
  if (n > max) throw new ProfileError(path, `${value.text} is larger than ${max}`);
  return n;
}

function errnoValue(value: Json | undefined, path: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  return Number(unsigned(value, path, BigInt(MAX_ERRNO)));
}

function action(value: Json | undefined, path: string): SeccompAction {
  const name = text(value, path);
  if (name === "SCMP_ACT_NOTIFY") {
    throw new ProfileError(
      path,
      "SCMP_ACT_NOTIFY is not supported (tsnspawn has no seccomp agent)",
    );
  }
  if (!Object.hasOwn(SECCOMP_ACTIONS, name)) {
    throw new ProfileError(
      path,
      `unknown action "${name}"`,
      `actions: ${Object.keys(SECCOMP_ACTIONS).join(", ")}`,
    );
  }
  return name as SeccompAction;
}

function architecture(value: Json | undefined, path: string): string {
  const name = text(value, path);
  if (!SECCOMP_ARCHITECTURES.includes(name)) {
    throw new ProfileError(
      path,
      `unknown architecture "${name}"`,
      "architectures look like SCMP_ARCH_X86_64",
    );
  }
  return name;
}

const KNOWN_CAPABILITIES = new Set(CAPABILITIES.map((c) => c.name));

function condition(value: Json | undefined, path: string): SeccompCondition | undefined {
  if (value === undefined || value === null) return undefined;
  const o = object(value, path, ["caps", "arches", "minKernel"]);
  const result: SeccompCondition = {};
  if (o.caps !== undefined && o.caps !== null) {
    result.caps = texts(o.caps, `${path}.caps`);
    result.caps.forEach((cap, i) => {
      if (!KNOWN_CAPABILITIES.has(cap)) {
        throw new ProfileError(
          `${path}.caps[${i}]`,
          `unknown capability "${cap}"`,
          "capabilities look like CAP_SYS_ADMIN",
        );
      }
    });
  }
  if (o.arches !== undefined && o.arches !== null) {
    result.arches = texts(o.arches, `${path}.arches`);
  }
  if (o.minKernel !== undefined && o.minKernel !== null) {
    const version = text(o.minKernel, `${path}.minKernel`);
    if (!/^\d+\.\d+$/.test(version)) {
      throw new ProfileError(
        `${path}.minKernel`,
        `"${version}" is not a kernel version`,
        'write it as MAJOR.MINOR, e.g. "4.8"',
      );
    }
    result.minKernel = version;
  }
  return result;
}

const UINT64_MAX = (1n << 64n) - 1n;

function argument(value: Json, path: string): SeccompArgument {
  const o = object(value, path, ["index", "value", "valueTwo", "op"]);
  const op = text(o.op, `${path}.op`);
  if (!Object.hasOwn(SECCOMP_OPERATORS, op)) {
    throw new ProfileError(
      `${path}.op`,
      `unknown operator "${op}"`,
      `operators: ${Object.keys(SECCOMP_OPERATORS).join(", ")}`,
    );
  }
  return {
    index: Number(unsigned(o.index, `${path}.index`, 5n)),
    value: o.value === undefined ? 0n : unsigned(o.value, `${path}.value`, UINT64_MAX),
    valueTwo: o.valueTwo === undefined ? 0n : unsigned(o.valueTwo, `${path}.valueTwo`, UINT64_MAX),
    op: op as SeccompOperator,
  };
}

function rule(value: Json, path: string): SeccompRule {
  const o = object(value, path, [
    "name",
    "names",
    "action",
    "errnoRet",
    "args",
    "comment",
    "includes",
    "excludes",
  ]);
  const names = texts(o.names, `${path}.names`);
  if (o.name !== undefined && o.name !== null) {
    if (names.length > 0) throw new ProfileError(path, 'give either "name" or "names", not both');
    names.push(text(o.name, `${path}.name`));
  }
  if (names.length === 0) throw new ProfileError(path, "no syscall names");
  const result: SeccompRule = {
    names,
    action: action(o.action, `${path}.action`),
    args: list(o.args, `${path}.args`).map((a, i) => argument(a, `${path}.args[${i}]`)),
  };
  const errnoRet = errnoValue(o.errnoRet, `${path}.errnoRet`);
  if (errnoRet !== undefined) {
    if (result.action !== "SCMP_ACT_ERRNO" && result.action !== "SCMP_ACT_TRACE") {
      throw new ProfileError(
        `${path}.errnoRet`,
        `only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errnoRet, not ${result.action}`,
      );
    }
    result.errnoRet = errnoRet;
  }
  if (o.comment !== undefined && o.comment !== null) {
    result.comment = text(o.comment, `${path}.comment`);
  }
  const includes = condition(o.includes, `${path}.includes`);
  if (includes) result.includes = includes;
  const excludes = condition(o.excludes, `${path}.excludes`);
  if (excludes) result.excludes = excludes;
  return result;
}

const PROFILE_KEYS = [
  "defaultAction",
  "defaultErrnoRet",
  "architectures",
  "archMap",
  "syscalls",
  "flags",
  "listenerPath",
  "listenerMetadata",
] as const;

function profile(value: Json): SeccompProfile {
  const o = object(value, "profile", PROFILE_KEYS);
  if (list(o.flags, "flags").length > 0) {
    throw new ProfileError(
      "flags",
      "seccomp filter flags are not supported",
      "remove the flags key",
    );
  }
  if (o.listenerPath !== undefined && o.listenerPath !== null && o.listenerPath !== "") {
    throw new ProfileError("listenerPath", "seccomp agents (SCMP_ACT_NOTIFY) are not supported");
  }
  const defaultAction = action(o.defaultAction, "defaultAction");
  const result: SeccompProfile = {
    defaultAction,
    architectures: list(o.architectures, "architectures").map((a, i) =>
      architecture(a, `architectures[${i}]`)
    ),
    archMap: list(o.archMap, "archMap").map((entry, i) => {
      const e = object(entry, `archMap[${i}]`, ["architecture", "subArchitectures"]);
      return {
        architecture: architecture(e.architecture, `archMap[${i}].architecture`),
        subArchitectures: list(e.subArchitectures, `archMap[${i}].subArchitectures`).map((a, j) =>
          architecture(a, `archMap[${i}].subArchitectures[${j}]`)
        ),
      };
    }),
    syscalls: list(o.syscalls, "syscalls").map((r, i) => rule(r, `syscalls[${i}]`)),
  };
  if (result.architectures.length > 0 && result.archMap.length > 0) {
    throw new ProfileError("profile", 'give either "architectures" or "archMap", not both');
  }
  const defaultErrnoRet = errnoValue(o.defaultErrnoRet, "defaultErrnoRet");
  if (defaultErrnoRet !== undefined) {
    if (defaultAction !== "SCMP_ACT_ERRNO" && defaultAction !== "SCMP_ACT_TRACE") {
      throw new ProfileError(
        "defaultErrnoRet",
        `only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno, not ${defaultAction}`,
      );
    }
    result.defaultErrnoRet = defaultErrnoRet;
  }
  return result;
}

/**
 * Parses a docker seccomp profile (JSON text). `file` names the profile in
 * errors. Throws `TsnspawnError("invalid", "seccomp profile FILE: PATH:
 * detail")` for malformed JSON, unknown keys, actions, operators,
 * architectures or capability names, argument indexes beyond 5, values beyond
 * 64 bits, errno values beyond 4095, and the unsupported `flags`,
 * `listenerPath` and SCMP_ACT_NOTIFY.
 */
export function parseSeccompProfile(text: string, file: string): SeccompProfile {
  let json: Json;
  try {
    json = JSON.parse(
      text,
      (_key, value, context?: { source?: string }) =>
        typeof value === "number" ? new JsonNumber(context?.source ?? String(value)) : value,
    ) as Json;
  } catch (error) {
    const detail = (error as Error).message.replace(/\s+/g, " "); // V8 quotes the text around the error
    throw new TsnspawnError("invalid", `seccomp profile ${file}: not valid JSON: ${detail}`, {
      cause: error,
    });
  }
  try {
    return profile(json);
  } catch (error) {
    if (!(error instanceof ProfileError)) throw error;
    return invalidProfile(file, error);
  }
}

function invalidProfile(file: string, error: ProfileError): never {
  throw new TsnspawnError("invalid", `seccomp profile ${file}: ${error.message}`, {
    hint: error.hint,
    cause: error,
  });
}

/** `JSON.rawJSON` (JSON.parse source text access): emits a bigint as an exact JSON number. */
const rawJSON = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;

function formatCondition(condition: SeccompCondition | undefined): object | undefined {
  if (!condition) return undefined;
  return { caps: condition.caps, arches: condition.arches, minKernel: condition.minKernel };
}

/**
 * Formats a profile as docker's JSON (tab-indented like moby's default.json,
 * 64-bit values exact). `parseSeccompProfile(formatSeccompProfile(p))` gives
 * back `p`.
 */
export function formatSeccompProfile(profile: SeccompProfile): string {
  const document = {
    defaultAction: profile.defaultAction,
    defaultErrnoRet: profile.defaultErrnoRet,
    architectures: profile.architectures.length > 0 ? profile.architectures : undefined,
    archMap: profile.archMap.length > 0 ? profile.archMap : undefined,
    syscalls: profile.syscalls.map((rule) => ({
      names: rule.names,
      action: rule.action,
      errnoRet: rule.errnoRet,
      args: rule.args.length > 0 ? rule.args : undefined,
      comment: rule.comment,
      includes: formatCondition(rule.includes),
      excludes: formatCondition(rule.excludes),
    })),
  };
  return JSON.stringify(
    document,
    (_key, value) => typeof value === "bigint" ? rawJSON(value.toString()) : value,
    "\t",
  ) + "\n";
}

/**
 * Parses the value of `--security-opt seccomp=VALUE` (also `seccomp:VALUE`):
 * "unconfined" disables the filter, "builtin" or "default" selects
 * {@link DOCKER_DEFAULT_PROFILE} (what tsnspawn uses when the option is
 * absent), anything else is the path of a profile file to read.
 */
export function parseSeccompOption(value: string): SeccompOption {
  if (value === "unconfined") return { kind: "unconfined" };
  if (value === "builtin" || value === "default") return { kind: "default" };
  if (value.trim() === "" || value.includes("\0")) {
    throw new TsnspawnError("invalid", `seccomp ${JSON.stringify(value)}: not a profile`, {
      hint: "give seccomp=unconfined or seccomp=PATH of a JSON profile",
    });
  }
  return { kind: "profile", path: value };
}

// ---------------------------------------------------------------------------
// Docker's default profile

/** CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP (sched.h). */
export const CLONE_NAMESPACE_FLAGS = 0x7e020000n;

/** AF_VSOCK (linux/socket.h): host/guest sockets, not namespaced. */
const AF_VSOCK = 40n;

/** One `personality(2)` persona docker allows: the call must ask exactly for this value. */
function allowPersonality(persona: bigint, comment: string): SeccompRule {
  return {
    names: ["personality"],
    action: "SCMP_ACT_ALLOW",
    args: [{ index: 0, value: persona, valueTwo: 0n, op: "SCMP_CMP_EQ" }],
    comment,
  };
}

/** The rule that allows `names` when the container holds `cap`. */
function allowWithCapability(cap: string, names: string[], comment: string): SeccompRule {
  return { names, action: "SCMP_ACT_ALLOW", args: [], comment, includes: { caps: [cap] } };
}

/**
 * Docker's default seccomp profile (moby `profiles/seccomp/default.json`, as
 * shipped through Docker 28), written out as data for x86_64.
 *
 * Default: EPERM. Allowed: the everyday syscalls below; `personality` only
 * for the personas docker lists; `socket` for every family but AF_VSOCK;
 * `clone` without namespace flags; and the syscalls each capability governs
 * once the container holds it (CAP_SYS_ADMIN: mount, setns, unshare, clone
 * with any flags, the new mount API, bpf, ...). `clone3` fails with ENOSYS
 * without CAP_SYS_ADMIN (its flags sit in memory a filter cannot read; glibc
 * then falls back to `clone`, whose flags it can). `ptrace`,
 * `process_vm_readv`/`writev` are allowed on kernels >= 4.8, where seccomp
 * can no longer be bypassed through ptrace.
 *
 * Left out: names that do not exist on x86_64 (the i386/arm `*32` and
 * `*_time64` variants, `socketcall`, `ipc`, `mmap2`, `_llseek`, ...) and the
 * rules that only apply to other architectures (ppc64le, arm, s390, riscv64).
 * Never allowed (no rule): kexec_load, kexec_file_load, init_module without
 * CAP_SYS_MODULE, swapon/swapoff, add_key/keyctl/request_key (the keyring),
 * userfaultfd, io_uring_*, pivot_root, uselib, ustat, sysfs, _sysctl, ...
 *
 * Newer upstream profiles (moby/profiles, 2025) moved the keyring calls and
 * `unshare` out of their gates; tsnspawn keeps them denied without
 * CAP_SYS_ADMIN, as Docker 28 does.
 */
export const DOCKER_DEFAULT_PROFILE: SeccompProfile = {
  defaultAction: "SCMP_ACT_ERRNO",
  defaultErrnoRet: EPERM,
  architectures: [],
  archMap: [{
    architecture: "SCMP_ARCH_X86_64",
    subArchitectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X32"],
  }],
  syscalls: [
    {
      names: [
        "accept",
        "accept4",
        "access",
        "adjtimex",
        "alarm",
        "bind",
        "brk",
        "cachestat",
        "capget",
        "capset",
        "chdir",
        "chmod",
        "chown",
        "clock_adjtime",
        "clock_getres",
        "clock_gettime",
        "clock_nanosleep",
        "close",
        "close_range",
        "connect",
        "copy_file_range",
        "creat",
        "dup",
        "dup2",
        "dup3",
        "epoll_create",
        "epoll_create1",
        "epoll_ctl",
        "epoll_ctl_old",
        "epoll_pwait",
        "epoll_pwait2",
        "epoll_wait",
        "epoll_wait_old",
        "eventfd",
        "eventfd2",
        "execve",
        "execveat",
        "exit",
        "exit_group",
        "faccessat",
        "faccessat2",
        "fadvise64",
        "fallocate",
        "fanotify_mark",
        "fchdir",
        "fchmod",
        "fchmodat",
        "fchmodat2",
        "fchown",
        "fchownat",
        "fcntl",
        "fdatasync",
        "fgetxattr",
        "flistxattr",
        "flock",
        "fork",
        "fremovexattr",
        "fsetxattr",
        "fstat",
        "fstatfs",
        "fsync",
        "ftruncate",
        "futex",
        "futex_requeue",
        "futex_wait",
        "futex_waitv",
        "futex_wake",
        "futimesat",
        "getcpu",
        "getcwd",
        "getdents",
        "getdents64",
        "getegid",
        "geteuid",
        "getgid",
        "getgroups",
        "getitimer",
        "getpeername",
        "getpgid",
        "getpgrp",
        "getpid",
        "getppid",
        "getpriority",
        "getrandom",
        "getresgid",
        "getresuid",
        "getrlimit",
        "get_robust_list",
        "getrusage",
        "getsid",
        "getsockname",
        "getsockopt",
        "get_thread_area",
        "gettid",
        "gettimeofday",
        "getuid",
        "getxattr",
        "getxattrat",
        "inotify_add_watch",
        "inotify_init",
        "inotify_init1",
        "inotify_rm_watch",
        "io_cancel",
        "ioctl",
        "io_destroy",
        "io_getevents",
        "io_pgetevents",
        "ioprio_get",
        "ioprio_set",
        "io_setup",
        "io_submit",
        "kill",
        "landlock_add_rule",
        "landlock_create_ruleset",
        "landlock_restrict_self",
        "lchown",
        "lgetxattr",
        "link",
        "linkat",
        "listen",
        "listmount",
        "listxattr",
        "listxattrat",
        "llistxattr",
        "lremovexattr",
        "lseek",
        "lsetxattr",
        "lstat",
        "madvise",
        "map_shadow_stack",
        "membarrier",
        "memfd_create",
        "memfd_secret",
        "mincore",
        "mkdir",
        "mkdirat",
        "mknod",
        "mknodat",
        "mlock",
        "mlock2",
        "mlockall",
        "mmap",
        "mprotect",
        "mq_getsetattr",
        "mq_notify",
        "mq_open",
        "mq_timedreceive",
        "mq_timedsend",
        "mq_unlink",
        "mremap",
        "mseal",
        "msgctl",
        "msgget",
        "msgrcv",
        "msgsnd",
        "msync",
        "munlock",
        "munlockall",
        "munmap",
        "name_to_handle_at",
        "nanosleep",
        "newfstatat",
        "open",
        "openat",
        "openat2",
        "pause",
        "pidfd_open",
        "pidfd_send_signal",
        "pipe",
        "pipe2",
        "pkey_alloc",
        "pkey_free",
        "pkey_mprotect",
        "poll",
        "ppoll",
        "prctl",
        "pread64",
        "preadv",
        "preadv2",
        "prlimit64",
        "process_mrelease",
        "pselect6",
        "pwrite64",
        "pwritev",
        "pwritev2",
        "read",
        "readahead",
        "readlink",
        "readlinkat",
        "readv",
        "recvfrom",
        "recvmmsg",
        "recvmsg",
        "remap_file_pages",
        "removexattr",
        "removexattrat",
        "rename",
        "renameat",
        "renameat2",
        "restart_syscall",
        "rmdir",
        "rseq",
        "rt_sigaction",
        "rt_sigpending",
        "rt_sigprocmask",
        "rt_sigqueueinfo",
        "rt_sigreturn",
        "rt_sigsuspend",
        "rt_sigtimedwait",
        "rt_tgsigqueueinfo",
        "sched_getaffinity",
        "sched_getattr",
        "sched_getparam",
        "sched_get_priority_max",
        "sched_get_priority_min",
        "sched_getscheduler",
        "sched_rr_get_interval",
        "sched_setaffinity",
        "sched_setattr",
        "sched_setparam",
        "sched_setscheduler",
        "sched_yield",
        "seccomp",
        "select",
        "semctl",
        "semget",
        "semop",
        "semtimedop",
        "sendfile",
        "sendmmsg",
        "sendmsg",
        "sendto",
        "setfsgid",
        "setfsuid",
        "setgid",
        "setgroups",
        "setitimer",
        "setpgid",
        "setpriority",
        "setregid",
        "setresgid",
        "setresuid",
        "setreuid",
        "setrlimit",
        "set_robust_list",
        "setsid",
        "setsockopt",
        "set_thread_area",
        "set_tid_address",
        "setuid",
        "setxattr",
        "setxattrat",
        "shmat",
        "shmctl",
        "shmdt",
        "shmget",
        "shutdown",
        "sigaltstack",
        "signalfd",
        "signalfd4",
        "socketpair",
        "splice",
        "stat",
        "statfs",
        "statmount",
        "statx",
        "symlink",
        "symlinkat",
        "sync",
        "sync_file_range",
        "syncfs",
        "sysinfo",
        "tee",
        "tgkill",
        "time",
        "timer_create",
        "timer_delete",
        "timer_getoverrun",
        "timer_gettime",
        "timer_settime",
        "timerfd_create",
        "timerfd_gettime",
        "timerfd_settime",
        "times",
        "tkill",
        "truncate",
        "umask",
        "uname",
        "unlink",
        "unlinkat",
        "uretprobe",
        "utime",
        "utimensat",
        "utimes",
        "vfork",
        "vmsplice",
        "wait4",
        "waitid",
        "write",
        "writev",
      ],
      action: "SCMP_ACT_ALLOW",
      args: [],
      comment: "everyday syscalls, safe for every container",
    },
    {
      names: ["process_vm_readv", "process_vm_writev", "ptrace"],
      action: "SCMP_ACT_ALLOW",
      args: [],
      comment: "since Linux 4.8 ptrace cannot bypass seccomp",
      includes: { minKernel: "4.8" },
    },
    {
      names: ["socket"],
      action: "SCMP_ACT_ALLOW",
      args: [{ index: 0, value: AF_VSOCK, valueTwo: 0n, op: "SCMP_CMP_NE" }],
      comment: "every address family but AF_VSOCK",
    },
    allowPersonality(0x0n, "PER_LINUX"),
    allowPersonality(0x0008n, "PER_LINUX | UNAME26"),
    allowPersonality(0x20000n, "PER_LINUX32"),
    allowPersonality(0x20008n, "PER_LINUX32 | UNAME26"),
    allowPersonality(0xffffffffn, "query the current persona"),
    {
      names: ["arch_prctl"],
      action: "SCMP_ACT_ALLOW",
      args: [],
      comment: "thread-local storage setup",
      includes: { arches: ["amd64", "x32"] },
    },
    {
      names: ["modify_ldt"],
      action: "SCMP_ACT_ALLOW",
      args: [],
      comment: "16-bit segments for wine and old runtimes",
      includes: { arches: ["amd64", "x32", "x86"] },
    },
    allowWithCapability("CAP_DAC_READ_SEARCH", ["open_by_handle_at"], "bypasses path lookup"),
    allowWithCapability(
      "CAP_SYS_ADMIN",
      [
        "bpf",
        "clone",
        "clone3",
        "fanotify_init",
        "fsconfig",
        "fsmount",
        "fsopen",
        "fspick",
        "lookup_dcookie",
        "lsm_get_self_attr",
        "lsm_list_modules",
        "lsm_set_self_attr",
        "mount",
        "mount_setattr",
        "move_mount",
        "open_tree",
        "perf_event_open",
        "quotactl",
        "quotactl_fd",
        "setdomainname",
        "sethostname",
        "setns",
        "syslog",
        "umount2",
        "unshare",
      ],
      "mounts, namespaces and other administration",
    ),
    {
      names: ["clone"],
      action: "SCMP_ACT_ALLOW",
      args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0n, op: "SCMP_CMP_MASKED_EQ" }],
      comment: "fork and threads, but no new namespaces",
      excludes: { caps: ["CAP_SYS_ADMIN"], arches: ["s390", "s390x"] },
    },
    {
      names: ["clone3"],
      action: "SCMP_ACT_ERRNO",
      errnoRet: ENOSYS,
      args: [],
      comment: "flags are in memory a filter cannot read: make glibc fall back to clone",
      excludes: { caps: ["CAP_SYS_ADMIN"] },
    },
    allowWithCapability(
      "CAP_SYS_BOOT",
      ["reboot"],
      "signals the container's init in a PID namespace",
    ),
    allowWithCapability("CAP_SYS_CHROOT", ["chroot"], "change the root directory"),
    allowWithCapability(
      "CAP_SYS_MODULE",
      ["delete_module", "init_module", "finit_module"],
      "kernel modules",
    ),
    allowWithCapability("CAP_SYS_PACCT", ["acct"], "process accounting"),
    allowWithCapability(
      "CAP_SYS_PTRACE",
      ["kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"],
      "inspect other processes",
    ),
    allowWithCapability("CAP_SYS_RAWIO", ["iopl", "ioperm"], "I/O ports"),
    allowWithCapability(
      "CAP_SYS_TIME",
      ["settimeofday", "clock_settime"],
      "the clock is not namespaced",
    ),
    allowWithCapability("CAP_SYS_TTY_CONFIG", ["vhangup"], "hang up the terminal"),
    allowWithCapability(
      "CAP_SYS_NICE",
      ["get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"],
      "NUMA memory policy",
    ),
    allowWithCapability("CAP_SYSLOG", ["syslog"], "the kernel log"),
    allowWithCapability("CAP_BPF", ["bpf"], "BPF programs and maps"),
    allowWithCapability("CAP_PERFMON", ["perf_event_open"], "performance monitoring"),
  ],
};

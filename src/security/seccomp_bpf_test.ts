/**
 * Tests for the seccomp compiler: a small classic-BPF interpreter runs the
 * generated programs over synthetic `struct seccomp_data` and checks the
 * decisions docker's default profile must make, then random profiles are
 * compiled and every decision is compared with a direct evaluation of the
 * resolved rules.
 */
import { assert, assertEquals, assertMatch, assertThrows } from "@std/assert";
import { DOCKER_DEFAULT_CAPABILITIES } from "./capabilities.ts";
import { TsnspawnError } from "../errors.ts";
import {
  AUDIT_ARCH_I386,
  AUDIT_ARCH_X86_64,
  BPF,
  BPF_MAXINSNS,
  describeSeccompReturn,
  disassemble,
  planSeccompProgram,
  type ResolvedSeccompProfile,
  SECCOMP_DATA_SIZE,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  type SeccompPlanOptions,
  type SeccompProgram,
  SOCK_FILTER_SIZE,
  X32_SYSCALL_BIT,
} from "./seccomp_bpf.ts";
import {
  CLONE_NAMESPACE_FLAGS,
  DOCKER_DEFAULT_PROFILE,
  SECCOMP_ACTIONS,
  type SeccompAction,
  type SeccompOperator,
  type SeccompProfile,
  type SeccompRule,
} from "./seccomp_profile.ts";
import { X86_64_SYSCALLS } from "./seccomp_syscalls.ts";

// ---------------------------------------------------------------------------
// A classic BPF interpreter for seccomp programs

interface SeccompData {
  nr: number;
  arch?: number;
  args?: bigint[];
}

/** Checks what the kernel's seccomp_check_filter/bpf_check_classic check: opcodes, loads, jump ranges, final ret. */
function validate(program: Uint8Array): void {
  const count = program.byteLength / SOCK_FILTER_SIZE;
  assert(Number.isInteger(count) && count > 0, "whole instructions");
  assert(count <= BPF_MAXINSNS, `${count} instructions exceed BPF_MAXINSNS`);
  const view = new DataView(program.buffer, program.byteOffset, program.byteLength);
  for (let pc = 0; pc < count; pc++) {
    const code = view.getUint16(pc * 8, true);
    const jt = view.getUint8(pc * 8 + 2);
    const jf = view.getUint8(pc * 8 + 3);
    const k = view.getUint32(pc * 8 + 4, true);
    switch (code) {
      case BPF.LD_W_ABS:
        assert(k % 4 === 0 && k + 4 <= SECCOMP_DATA_SIZE, `pc ${pc}: load offset ${k}`);
        break;
      case BPF.ALU_AND_K:
      case BPF.RET_K:
        break;
      case BPF.JMP_JA:
        assert(pc + 1 + k < count, `pc ${pc}: ja out of range`);
        break;
      case BPF.JMP_JEQ_K:
      case BPF.JMP_JGT_K:
      case BPF.JMP_JGE_K:
      case BPF.JMP_JSET_K:
        assert(pc + 1 + jt < count && pc + 1 + jf < count, `pc ${pc}: jump out of range`);
        break;
      default:
        throw new Error(`pc ${pc}: unexpected opcode 0x${code.toString(16)}`);
    }
  }
  assertEquals(view.getUint16((count - 1) * 8, true), BPF.RET_K, "the last instruction returns");
}

/** Runs a seccomp program on one syscall and returns the SECCOMP_RET_* value. */
function run(program: Uint8Array, data: SeccompData): number {
  const memory = new DataView(new ArrayBuffer(SECCOMP_DATA_SIZE));
  memory.setInt32(0, data.nr | 0, true);
  memory.setUint32(4, data.arch ?? AUDIT_ARCH_X86_64, true);
  (data.args ?? []).forEach((arg, i) =>
    memory.setBigUint64(16 + 8 * i, BigInt.asUintN(64, arg), true)
  );
  const view = new DataView(program.buffer, program.byteOffset, program.byteLength);
  const count = program.byteLength / SOCK_FILTER_SIZE;
  let a = 0;
  for (let pc = 0, steps = 0; steps <= count; pc++, steps++) {
    assert(pc < count, "ran off the end of the program");
    const code = view.getUint16(pc * 8, true);
    const jt = view.getUint8(pc * 8 + 2);
    const jf = view.getUint8(pc * 8 + 3);
    const k = view.getUint32(pc * 8 + 4, true);
    switch (code) {
      case BPF.LD_W_ABS:
        a = memory.getUint32(k, true);
        break;
      case BPF.ALU_AND_K:
        a = (a & k) >>> 0;
        break;
      case BPF.JMP_JA:
        pc += k;
        break;
      case BPF.JMP_JEQ_K:
        pc += a === k ? jt : jf;
        break;
      case BPF.JMP_JGT_K:
        pc += a > k ? jt : jf;
        break;
      case BPF.JMP_JGE_K:
        pc += a >= k ? jt : jf;
        break;
      case BPF.JMP_JSET_K:
        pc += (a & k) !== 0 ? jt : jf;
        break;
      case BPF.RET_K:
        return k;
      default:
        throw new Error(`unexpected opcode 0x${code.toString(16)}`);
    }
  }
  throw new Error("a forward-only program cannot loop");
}

const ALLOW = SECCOMP_RET_ALLOW;
const EPERM = SECCOMP_RET_ERRNO | 1;
const ENOSYS = SECCOMP_RET_ERRNO | 38;
const KILL = SECCOMP_RET_KILL_PROCESS;

const nr = (name: string): number => {
  const number = X86_64_SYSCALLS.get(name);
  if (number === undefined) throw new Error(`no syscall ${name}`);
  return number;
};

/** Docker's default profile compiled for `capabilities` on `kernelVersion` (null: unknown kernel). */
function plan(
  capabilities: readonly string[],
  kernelVersion: string | null = "6.18.4",
): SeccompProgram {
  const program = planSeccompProgram(DOCKER_DEFAULT_PROFILE, {
    capabilities,
    arch: "x86_64",
    kernelVersion: kernelVersion ?? undefined,
  });
  validate(program.instructions);
  return program;
}

/** What `program` answers for a syscall by name, as text ("ALLOW", "ERRNO(1)", ...). */
function decide(program: SeccompProgram, name: string, ...args: bigint[]): string {
  return describeSeccompReturn(run(program.instructions, { nr: nr(name), args }));
}

const dockerDefault = plan(DOCKER_DEFAULT_CAPABILITIES);
const withSysAdmin = plan([...DOCKER_DEFAULT_CAPABILITIES, "CAP_SYS_ADMIN"]);

// ---------------------------------------------------------------------------
// Docker's default profile

Deno.test("docker default: everyday syscalls are allowed", () => {
  for (
    const name of [
      "read",
      "write",
      "exit",
      "exit_group",
      "openat",
      "mmap",
      "futex",
      "execve",
      "rseq",
      "getpid",
    ]
  ) {
    assertEquals(decide(dockerDefault, name), "ALLOW", name);
  }
  assertEquals(decide(dockerDefault, "arch_prctl"), "ALLOW");
  assertEquals(decide(dockerDefault, "modify_ldt"), "ALLOW");
  assertEquals(decide(dockerDefault, "chroot"), "ALLOW", "CAP_SYS_CHROOT is a docker default");
});

Deno.test("docker default: mount and namespaces need CAP_SYS_ADMIN", () => {
  for (
    const name of [
      "mount",
      "umount2",
      "unshare",
      "setns",
      "fsopen",
      "move_mount",
      "open_tree",
      "sethostname",
    ]
  ) {
    assertEquals(decide(dockerDefault, name), "ERRNO(1)", name);
    assertEquals(decide(withSysAdmin, name), "ALLOW", `${name} with CAP_SYS_ADMIN`);
  }
});

Deno.test("docker default: clone without namespace flags only", () => {
  const SIGCHLD = 17n;
  const forkFlags = 0x01200000n | SIGCHLD; // CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD
  const threadFlags = 0x3d0f00n; // what glibc's pthread_create passes
  assertEquals(decide(dockerDefault, "clone", forkFlags), "ALLOW");
  assertEquals(decide(dockerDefault, "clone", threadFlags), "ALLOW");
  assertEquals(decide(dockerDefault, "clone", 0x00020000n | SIGCHLD), "ERRNO(1)", "CLONE_NEWNS");
  assertEquals(decide(dockerDefault, "clone", 0x10000000n), "ERRNO(1)", "CLONE_NEWUSER");
  assertEquals(decide(dockerDefault, "clone", CLONE_NAMESPACE_FLAGS), "ERRNO(1)");
  assertEquals(
    decide(dockerDefault, "clone", (1n << 32n) | forkFlags),
    "ALLOW",
    "high bits are not namespace flags",
  );
  assertEquals(decide(withSysAdmin, "clone", 0x00020000n | SIGCHLD), "ALLOW");
});

Deno.test("docker default: clone3 fails with ENOSYS unless CAP_SYS_ADMIN", () => {
  assertEquals(decide(dockerDefault, "clone3"), "ERRNO(38)");
  assertEquals(decide(withSysAdmin, "clone3"), "ALLOW");
});

Deno.test("docker default: personality only for docker's personas", () => {
  for (const persona of [0x0n, 0x8n, 0x20000n, 0x20008n, 0xffffffffn]) {
    assertEquals(decide(dockerDefault, "personality", persona), "ALLOW", persona.toString(16));
  }
  assertEquals(decide(dockerDefault, "personality", 0x0040000n), "ERRNO(1)", "ADDR_NO_RANDOMIZE");
  assertEquals(decide(dockerDefault, "personality", 0x1n), "ERRNO(1)");
  // The kernel reads an unsigned int: the high half of the register does not matter.
  assertEquals(decide(dockerDefault, "personality", 0xdead_0000_0000n), "ALLOW");
});

Deno.test("docker default: socket for every family but AF_VSOCK", () => {
  assertEquals(decide(dockerDefault, "socket", 2n, 1n, 0n), "ALLOW", "AF_INET");
  assertEquals(decide(dockerDefault, "socket", 1n, 1n, 0n), "ALLOW", "AF_UNIX");
  assertEquals(decide(dockerDefault, "socket", 40n, 1n, 0n), "ERRNO(1)", "AF_VSOCK");
  // The kernel reads an int: high bits must not smuggle AF_VSOCK past the filter.
  assertEquals(decide(dockerDefault, "socket", (1n << 32n) | 40n, 1n, 0n), "ERRNO(1)");
});

Deno.test("docker default: dangerous syscalls are refused", () => {
  for (
    const name of [
      "keyctl",
      "add_key",
      "request_key",
      "kexec_load",
      "kexec_file_load",
      "init_module",
      "finit_module",
      "delete_module",
      "reboot",
      "swapon",
      "swapoff",
      "clock_settime",
      "settimeofday",
      "acct",
      "bpf",
      "perf_event_open",
      "userfaultfd",
      "io_uring_setup",
      "pivot_root",
      "open_by_handle_at",
      "iopl",
      "ioperm",
      "kcmp",
      "pidfd_getfd",
      "lookup_dcookie",
      "quotactl",
      "syslog",
      "vhangup",
      "mbind",
      "uselib",
      "_sysctl",
      "nfsservctl",
    ]
  ) {
    assertEquals(decide(dockerDefault, name), "ERRNO(1)", name);
  }
});

Deno.test("docker default: capabilities open their syscalls", () => {
  const cases: [string, string][] = [
    ["CAP_SYS_BOOT", "reboot"],
    ["CAP_SYS_MODULE", "finit_module"],
    ["CAP_SYS_TIME", "clock_settime"],
    ["CAP_SYS_PTRACE", "kcmp"],
    ["CAP_SYS_RAWIO", "iopl"],
    ["CAP_SYS_PACCT", "acct"],
    ["CAP_SYSLOG", "syslog"],
    ["CAP_SYS_NICE", "set_mempolicy"],
    ["CAP_SYS_TTY_CONFIG", "vhangup"],
    ["CAP_DAC_READ_SEARCH", "open_by_handle_at"],
    ["CAP_BPF", "bpf"],
    ["CAP_PERFMON", "perf_event_open"],
  ];
  for (const [cap, name] of cases) {
    assertEquals(
      decide(plan([...DOCKER_DEFAULT_CAPABILITIES, cap]), name),
      "ALLOW",
      `${name} with ${cap}`,
    );
  }
  assertEquals(
    decide(plan(["CAP_SYS_TIME"]), "keyctl"),
    "ERRNO(1)",
    "no capability opens the keyring",
  );
});

Deno.test("docker default: ptrace depends on the kernel (>= 4.8) or CAP_SYS_PTRACE", () => {
  assertEquals(decide(dockerDefault, "ptrace"), "ALLOW");
  assertEquals(decide(plan(DOCKER_DEFAULT_CAPABILITIES, "4.4.0"), "ptrace"), "ERRNO(1)");
  assertEquals(decide(plan(DOCKER_DEFAULT_CAPABILITIES, null), "ptrace"), "ERRNO(1)");
  assertEquals(decide(plan(["CAP_SYS_PTRACE"], null), "ptrace"), "ALLOW");
});

Deno.test("docker default: syscalls newer than the profile fail with ENOSYS, gaps with EPERM", () => {
  assertEquals(dockerDefault.highestKnownSyscall, nr("removexattrat"));
  for (const name of ["open_tree_attr", "file_getattr", "file_setattr", "listns"]) {
    assertEquals(decide(dockerDefault, name), "ERRNO(38)", name);
  }
  assertEquals(run(dockerDefault.instructions, { nr: 500 }), ENOSYS);
  assertEquals(run(dockerDefault.instructions, { nr: 0x3fffffff }), ENOSYS);
  assertEquals(run(dockerDefault.instructions, { nr: 400 }), EPERM, "unused numbers 337-423");
  assertEquals(run(dockerDefault.instructions, { nr: -1 }), ENOSYS, "-1 is no syscall");
});

Deno.test("docker default: other architectures and the x32 ABI are killed", () => {
  assertEquals(run(dockerDefault.instructions, { nr: 0, arch: AUDIT_ARCH_I386 }), KILL);
  assertEquals(run(dockerDefault.instructions, { nr: 3, arch: 0xc00000b7 }), KILL, "aarch64");
  assertEquals(run(dockerDefault.instructions, { nr: X32_SYSCALL_BIT | nr("read") }), KILL);
  assertEquals(run(dockerDefault.instructions, { nr: X32_SYSCALL_BIT | 512 }), KILL);
});

Deno.test("docker default: compact program and a readable summary", () => {
  assert(dockerDefault.length < 400, `${dockerDefault.length} instructions`);
  assertEquals(dockerDefault.unknownNames, []);
  const clone = dockerDefault.syscalls.find((s) => s.name === "clone")!;
  assertEquals(clone.rules.length, 1);
  assertEquals(describeSeccompReturn(clone.fallback), "ERRNO(1)");
  const listing = disassemble(dockerDefault.instructions);
  assertMatch(listing, /^ *0: ld arch$/m);
  assertMatch(listing, /: jeq 0xc000003e \? \d+ : \d+$/m);
  assertMatch(listing, /: ret ERRNO\(38\)$/m);
  assertMatch(listing, /: ld args\[0\]\.low$/m);
  assertEquals(listing.split("\n").length, dockerDefault.length);
});

// ---------------------------------------------------------------------------
// Semantics beyond docker's profile

function profileOf(
  rules: SeccompRule[],
  defaultAction: SeccompAction = "SCMP_ACT_ERRNO",
): SeccompProfile {
  return { defaultAction, architectures: [], archMap: [], syscalls: rules };
}

const options: SeccompPlanOptions = { capabilities: [], arch: "x86_64", kernelVersion: "6.18" };

Deno.test("argument operators compare 64-bit values on both halves", () => {
  const ops: SeccompOperator[] = [
    "SCMP_CMP_EQ",
    "SCMP_CMP_NE",
    "SCMP_CMP_LT",
    "SCMP_CMP_LE",
    "SCMP_CMP_GT",
    "SCMP_CMP_GE",
  ];
  const value = 0x1_0000_0005n;
  const probes = [
    0n,
    5n,
    6n,
    0xffffffffn,
    0x1_0000_0004n,
    value,
    0x1_0000_0006n,
    0x2_0000_0000n,
    (1n << 64n) - 1n,
  ];
  for (const op of ops) {
    const program = planSeccompProgram(
      profileOf([{
        names: ["mprotect"],
        action: "SCMP_ACT_ALLOW",
        args: [{ index: 2, value, valueTwo: 0n, op }],
      }]),
      options,
    );
    validate(program.instructions);
    for (const arg of probes) {
      const expected = {
        SCMP_CMP_EQ: arg === value,
        SCMP_CMP_NE: arg !== value,
        SCMP_CMP_LT: arg < value,
        SCMP_CMP_LE: arg <= value,
        SCMP_CMP_GT: arg > value,
        SCMP_CMP_GE: arg >= value,
        SCMP_CMP_MASKED_EQ: false,
      }[op];
      const got = run(program.instructions, { nr: nr("mprotect"), args: [0n, 0n, arg] });
      assertEquals(got, expected ? ALLOW : EPERM, `${op} arg=${arg.toString(16)}`);
    }
  }
});

Deno.test("rules for one syscall: first matching argument rule wins, then the rule without args", () => {
  const program = planSeccompProgram(
    profileOf([
      { names: ["ioctl"], action: "SCMP_ACT_ALLOW", args: [] },
      {
        names: ["ioctl"],
        action: "SCMP_ACT_ERRNO",
        errnoRet: 25,
        args: [{ index: 1, value: 0x5412n, valueTwo: 0n, op: "SCMP_CMP_EQ" }], // TIOCSTI
      },
    ]),
    options,
  );
  validate(program.instructions);
  assertEquals(run(program.instructions, { nr: nr("ioctl"), args: [1n, 0x5401n] }), ALLOW);
  assertEquals(
    run(program.instructions, { nr: nr("ioctl"), args: [1n, 0x5412n] }),
    SECCOMP_RET_ERRNO | 25,
  );
  // CVE-2019-10063: the kernel truncates cmd to 32 bits, so must the filter.
  assertEquals(
    run(program.instructions, { nr: nr("ioctl"), args: [1n, (1n << 32n) | 0x5412n] }),
    SECCOMP_RET_ERRNO | 25,
  );
});

Deno.test("a default-allow profile keeps new syscalls allowed", () => {
  const program = planSeccompProgram(
    profileOf([{ names: ["reboot"], action: "SCMP_ACT_KILL_PROCESS", args: [] }], "SCMP_ACT_ALLOW"),
    options,
  );
  assertEquals(run(program.instructions, { nr: nr("reboot") }), KILL);
  assertEquals(run(program.instructions, { nr: nr("listns") }), ALLOW);
  assertEquals(run(program.instructions, { nr: nr("read") }), ALLOW);
});

Deno.test("conflicting rules without args are refused", () => {
  const error = assertThrows(
    () =>
      planSeccompProgram(
        profileOf([
          { names: ["read"], action: "SCMP_ACT_ALLOW", args: [] },
          { names: ["read"], action: "SCMP_ACT_KILL", args: [] },
        ]),
        options,
      ),
    TsnspawnError,
  );
  assertEquals(
    error.message,
    "seccomp profile: syscall read has two actions: SCMP_ACT_ALLOW and SCMP_ACT_KILL",
  );
});

Deno.test("names other architectures have are skipped and reported", () => {
  const program = planSeccompProgram(
    profileOf([{
      names: ["chown32", "read", "riscv_flush_icache"],
      action: "SCMP_ACT_ALLOW",
      args: [],
    }]),
    options,
  );
  assertEquals(program.unknownNames, ["chown32", "riscv_flush_icache"]);
  assertEquals(run(program.instructions, { nr: nr("read") }), ALLOW);
});

Deno.test("long programs use trampolines and stay correct", () => {
  // 40 syscalls with 6 argument rules each: blocks far beyond a 255-instruction jump.
  const names = [...X86_64_SYSCALLS.keys()].slice(0, 40);
  const rules: SeccompRule[] = names.flatMap((name) =>
    [1n, 2n, 3n, 4n, 5n, 6n].map((value) => ({
      names: [name],
      action: "SCMP_ACT_ALLOW" as const,
      args: [
        { index: 0, value, valueTwo: 0n, op: "SCMP_CMP_EQ" as const },
        { index: 1, value: 0xffn, valueTwo: value, op: "SCMP_CMP_MASKED_EQ" as const },
        { index: 5, value: value << 33n, valueTwo: 0n, op: "SCMP_CMP_LE" as const },
      ],
    }))
  );
  const program = planSeccompProgram(profileOf(rules), options);
  validate(program.instructions);
  assert(program.length > 1000, `${program.length}`);
  assertMatch(disassemble(program.instructions), /: ja \d+$/m);
  for (const name of names) {
    assertEquals(
      run(program.instructions, { nr: nr(name), args: [3n, 0x103n, 0n, 0n, 0n, 3n << 33n] }),
      ALLOW,
    );
    assertEquals(run(program.instructions, { nr: nr(name), args: [3n, 0x104n] }), EPERM);
    assertEquals(
      run(program.instructions, { nr: nr(name), args: [3n, 3n, 0n, 0n, 0n, (3n << 33n) + 1n] }),
      EPERM,
    );
  }
});

Deno.test("a rule longer than a conditional jump reaches its failure through a trampoline", () => {
  // 80 64-bit comparisons: the "does not hold" target lies ~320 instructions ahead.
  const checks = Array.from({ length: 80 }, (_, i) => ({
    index: i % 6,
    value: BigInt(i % 6) << 32n,
    valueTwo: 0n,
    op: "SCMP_CMP_EQ" as const,
  }));
  const program = planSeccompProgram(
    profileOf([{ names: ["prctl"], action: "SCMP_ACT_ALLOW", args: checks }]),
    options,
  );
  validate(program.instructions);
  const args = [0n, 1n << 32n, 2n << 32n, 3n << 32n, 4n << 32n, 5n << 32n];
  assertEquals(run(program.instructions, { nr: nr("prctl"), args }), ALLOW);
  for (let i = 0; i < 6; i++) {
    const wrong = args.map((a, j) => (j === i ? a + 1n : a));
    assertEquals(
      run(program.instructions, { nr: nr("prctl"), args: wrong }),
      EPERM,
      `args[${i}] differs`,
    );
  }
});

Deno.test("programs beyond BPF_MAXINSNS are refused", () => {
  const rules: SeccompRule[] = [...X86_64_SYSCALLS.keys()].flatMap((name) =>
    [1n, 2n, 3n, 4n].map((value) => ({
      names: [name],
      action: "SCMP_ACT_ALLOW" as const,
      args: [{ index: 0, value, valueTwo: 0n, op: "SCMP_CMP_EQ" as const }],
    }))
  );
  const error = assertThrows(() => planSeccompProgram(profileOf(rules), options), TsnspawnError);
  assertMatch(
    error.message,
    /^seccomp profile: the filter needs \d+ BPF instructions, more than the kernel's limit of 4096$/,
  );
});

// ---------------------------------------------------------------------------
// Fuzz: random profiles compile to valid programs that decide like the rules say

/** xorshift32: deterministic randomness so failures reproduce. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 0x1_0000_0000;
  };
}

/** The decision the resolved rules call for, evaluated directly (no BPF). */
function expected(resolved: ResolvedSeccompProfile, data: SeccompData): number {
  if ((data.arch ?? AUDIT_ARCH_X86_64) !== AUDIT_ARCH_X86_64) return KILL;
  const number = data.nr >>> 0;
  if ((number & X32_SYSCALL_BIT) !== 0 && number !== 0xffffffff) return KILL;
  const decision = resolved.syscalls.find((s) => s.nr === number);
  if (!decision) {
    return number > resolved.highestKnownSyscall
      ? resolved.newerSyscallAction
      : resolved.defaultAction;
  }
  const args = data.args ?? [];
  for (const rule of decision.rules) {
    const holds = rule.checks.every((check) => {
      const width = check.bits === 32 ? 0xffffffffn : (1n << 64n) - 1n;
      const arg = BigInt.asUintN(64, args[check.index] ?? 0n) & width;
      const value = check.value & width;
      switch (check.op) {
        case "SCMP_CMP_EQ":
          return arg === value;
        case "SCMP_CMP_NE":
          return arg !== value;
        case "SCMP_CMP_LT":
          return arg < value;
        case "SCMP_CMP_LE":
          return arg <= value;
        case "SCMP_CMP_GT":
          return arg > value;
        case "SCMP_CMP_GE":
          return arg >= value;
        case "SCMP_CMP_MASKED_EQ":
          return (arg & value) === (check.valueTwo & width);
      }
    });
    if (holds) return rule.action;
  }
  return decision.fallback;
}

Deno.test("fuzz: random profiles compile to valid programs that match the rules", () => {
  const next = random(0x5ecc0);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
  const names = [...X86_64_SYSCALLS.keys()];
  const actions = Object.keys(SECCOMP_ACTIONS) as SeccompAction[];
  const ops: SeccompOperator[] = [
    "SCMP_CMP_EQ",
    "SCMP_CMP_NE",
    "SCMP_CMP_LT",
    "SCMP_CMP_LE",
    "SCMP_CMP_GT",
    "SCMP_CMP_GE",
    "SCMP_CMP_MASKED_EQ",
  ];
  const caps = ["CAP_SYS_ADMIN", "CAP_NET_ADMIN", "CAP_SYS_PTRACE", "CAP_CHOWN"];
  const interesting = [
    0n,
    1n,
    40n,
    0x7fffffffn,
    0xffffffffn,
    1n << 32n,
    (1n << 32n) + 40n,
    (1n << 64n) - 1n,
  ];
  const value = (): bigint =>
    next() < 0.7
      ? pick(interesting)
      : BigInt(Math.floor(next() * 2 ** 32)) << BigInt(pick([0, 0, 16, 32]));
  let compiled = 0;
  for (let round = 0; round < 150; round++) {
    const rules: SeccompRule[] = Array.from({ length: Math.floor(next() * 25) }, () => {
      const action = pick(actions);
      const rule: SeccompRule = {
        names: Array.from(
          { length: 1 + Math.floor(next() * 4) },
          () => next() < 0.1 ? "no_such_call" : pick(names),
        ),
        action,
        args: Array.from({ length: next() < 0.5 ? 0 : Math.floor(next() * 4) }, () => ({
          index: Math.floor(next() * 6),
          value: value(),
          valueTwo: value(),
          op: pick(ops),
        })),
      };
      if (action === "SCMP_ACT_ERRNO" && next() < 0.5) rule.errnoRet = Math.floor(next() * 4096);
      if (next() < 0.3) rule.includes = { caps: [pick(caps)] };
      if (next() < 0.2) {
        rule.excludes = { caps: [pick(caps)], arches: next() < 0.5 ? ["s390x"] : ["amd64"] };
      }
      if (next() < 0.1) {
        rule.includes = { ...rule.includes, minKernel: pick(["4.8", "6.19", "7.0"]) };
      }
      return rule;
    });
    const profile = profileOf(rules, pick(actions));
    const planOptions: SeccompPlanOptions = {
      capabilities: caps.filter(() => next() < 0.5),
      arch: "x86_64",
      kernelVersion: pick([undefined, "6.18.0", "4.4.1"]),
    };
    let program: SeccompProgram;
    try {
      program = planSeccompProgram(profile, planOptions);
    } catch (error) {
      if (!(error instanceof TsnspawnError)) throw error;
      assert(!error.message.includes("\n"));
      continue;
    }
    compiled++;
    validate(program.instructions);
    const numbers = program.syscalls.map((s) => s.nr);
    for (let probe = 0; probe < 300; probe++) {
      const data: SeccompData = {
        nr: next() < 0.7 && numbers.length > 0
          ? pick(numbers)
          : pick([0, 1, 335, 400, 466, 470, 471, 1000, -1, X32_SYSCALL_BIT]),
        arch: next() < 0.03 ? AUDIT_ARCH_I386 : AUDIT_ARCH_X86_64,
        args: Array.from({ length: 6 }, () => {
          const base = value();
          return next() < 0.3 ? base + BigInt(pick([-1, 1])) : base;
        }),
      };
      assertEquals(
        describeSeccompReturn(run(program.instructions, data)),
        describeSeccompReturn(expected(program, data)),
        `round ${round}: ${
          JSON.stringify(data, (_k, v) => typeof v === "bigint" ? v.toString(16) : v)
        }`,
      );
    }
  }
  assert(compiled > 100, `${compiled} of 150 profiles compiled`);
});

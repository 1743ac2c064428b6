/**
 * Compiles a docker seccomp profile into a classic BPF program for
 * `prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)`, and disassembles one.
 *
 * Two steps, both pure:
 *  1. {@link resolveSeccompProfile}: applies each rule's `includes`/`excludes`
 *     to the container (capabilities, architecture "amd64", kernel version),
 *     maps names to x86_64 numbers (`src/security/seccomp_syscalls.ts`; unknown names
 *     are skipped like libseccomp does), and gives each syscall an ordered
 *     list of argument rules plus a fallback action.
 *  2. {@link planSeccompProgram}: emits the program:
 *       load arch; not AUDIT_ARCH_X86_64 → KILL_PROCESS
 *       load nr; x32 ABI bit set (and not -1) → KILL_PROCESS
 *       binary search over syscall-number ranges, each leaf a `ret` or an
 *       argument block (first matching rule wins, else the fallback)
 *     Ranges: numbers the profile does not mention get the default action;
 *     numbers above the highest one it mentions get ERRNO(ENOSYS) when the
 *     default blocks, as runc does, so that a newer libc falls back to older
 *     syscalls instead of failing with EPERM.
 *
 * Architectures: docker's amd64 profile also admits i386 (`int 0x80`) and
 * x32 syscalls. tsnspawn only admits native x86_64: anything else kills the
 * process. That is the simplest safe choice: one syscall table to get right,
 * no 32-bit entry points whose argument layout differs, and x32 (`nr |
 * 0x40000000`, disabled in most distribution kernels) cannot be used to
 * reach a syscall through a number the filter does not check. -1 is let
 * through to the table (it is how a tracer skips a syscall; it yields ENOSYS).
 *
 * Arguments: each 64-bit comparison is done on the two 32-bit halves
 * (seccomp_data.args[i] at offset 16 + 8i, low word first on little-endian).
 * For parameters the kernel declares as `int` ({@link INT_PARAMETERS}) only
 * the low half is compared, because the kernel ignores the high half: a
 * 64-bit comparison there can be bypassed by setting high bits (flatpak's
 * CVE-2019-10063 was such a bypass of an ioctl filter).
 *
 * Jumps: conditional BPF jumps reach at most 255 instructions ahead; the
 * assembler below lays the program out and, for any target further away,
 * inserts an unconditional `ja` trampoline (32-bit offset) after the jump,
 * repeating until the layout is stable. Programs longer than the kernel's
 * BPF_MAXINSNS (4096) are refused.
 *
 * Man pages and specs: seccomp(2) (struct seccomp_data, SECCOMP_RET_*),
 * linux/filter.h and linux/bpf_common.h (instruction encoding),
 * linux/audit.h (AUDIT_ARCH_X86_64), syscall(2) (x32).
 */
import { TsnspawnError } from "../errors.ts";
import {
  ENOSYS,
  EPERM,
  type SeccompAction,
  type SeccompArgument,
  type SeccompCondition,
  type SeccompOperator,
  type SeccompProfile,
  type SeccompRule,
} from "./seccomp_profile.ts";
import { X86_64_SYSCALL_NAMES, X86_64_SYSCALLS } from "./seccomp_syscalls.ts";

// ---------------------------------------------------------------------------
// Kernel constants

/** seccomp filter return values (linux/seccomp.h); the low 16 bits carry data (errno). */
export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_KILL_THREAD = 0x00000000;
export const SECCOMP_RET_TRAP = 0x00030000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_TRACE = 0x7ff00000;
export const SECCOMP_RET_LOG = 0x7ffc0000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;
const SECCOMP_RET_ACTION_FULL = 0xffff0000;
const SECCOMP_RET_DATA = 0x0000ffff;

/** AUDIT_ARCH_X86_64 (linux/audit.h): EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE. */
export const AUDIT_ARCH_X86_64 = 0xc000003e;
/** AUDIT_ARCH_I386: what `int 0x80` from a 64-bit process reports. */
export const AUDIT_ARCH_I386 = 0x40000003;
/** __X32_SYSCALL_BIT: set in the syscall number by x32 programs. */
export const X32_SYSCALL_BIT = 0x40000000;
export { BPF_MAXINSNS, SOCK_FILTER_SIZE } from "./bpf_program.ts";
import { BPF_MAXINSNS, SOCK_FILTER_SIZE } from "./bpf_program.ts";

/** struct seccomp_data offsets: int nr; u32 arch; u64 instruction_pointer; u64 args[6]. */
export const SECCOMP_DATA_NR = 0;
export const SECCOMP_DATA_ARCH = 4;
export const SECCOMP_DATA_ARGS = 16;
export const SECCOMP_DATA_SIZE = 64;

/** Classic BPF opcodes used here (linux/bpf_common.h): class | size | mode | op | source. */
export const BPF = {
  LD_W_ABS: 0x00 | 0x00 | 0x20, // BPF_LD | BPF_W | BPF_ABS: A = data[k] (32-bit)
  ALU_AND_K: 0x04 | 0x50 | 0x00, // BPF_ALU | BPF_AND | BPF_K: A &= k
  JMP_JA: 0x05 | 0x00, // BPF_JMP | BPF_JA: pc += k
  JMP_JEQ_K: 0x05 | 0x10 | 0x00, // BPF_JMP | BPF_JEQ | BPF_K: A == k ? jt : jf
  JMP_JGT_K: 0x05 | 0x20 | 0x00, // BPF_JMP | BPF_JGT | BPF_K: A > k (unsigned)
  JMP_JGE_K: 0x05 | 0x30 | 0x00, // BPF_JMP | BPF_JGE | BPF_K: A >= k (unsigned)
  JMP_JSET_K: 0x05 | 0x40 | 0x00, // BPF_JMP | BPF_JSET | BPF_K: A & k != 0
  RET_K: 0x06 | 0x00, // BPF_RET | BPF_K: return k
} as const;

/**
 * Parameters the kernel declares as 32-bit (`int`, `unsigned int`, `pid_t`)
 * in SYSCALL_DEFINEn, by syscall: the high half of those registers is
 * ignored, so filters compare only the low half. Limited to the syscalls
 * profiles filter on arguments in practice.
 */
export const INT_PARAMETERS: ReadonlyMap<string, readonly number[]> = new Map([
  ["socket", [0, 1, 2]], // int family, int type, int protocol
  ["socketpair", [0, 1, 2]], // int family, int type, int protocol
  ["personality", [0]], // unsigned int personality
  ["ioctl", [0, 1]], // unsigned int fd, unsigned int cmd
  ["fcntl", [0, 1]], // unsigned int fd, unsigned int cmd
  ["prctl", [0]], // int option
  ["kill", [0, 1]], // pid_t pid, int sig
  ["setns", [0, 1]], // int fd, int nstype
]);

// ---------------------------------------------------------------------------
// Resolution

/** Where and for whom a profile is compiled. */
export interface SeccompPlanOptions {
  /** The container's capabilities ("CAP_CHOWN", ...): decides `includes.caps`/`excludes.caps`. */
  capabilities: readonly string[];
  /** The only architecture tsnspawn supports. */
  arch: "x86_64";
  /**
   * The running kernel's release (`Deno.osRelease()`, e.g. "6.18.4-arch1"),
   * for `minKernel` conditions. Without it the kernel counts as older than
   * any `minKernel`: such `includes` fail and such `excludes` do not apply.
   */
  kernelVersion?: string;
}

/** One argument comparison, ready to compile. */
export interface SeccompCheck extends SeccompArgument {
  /** 32 when the kernel only reads the low half of this parameter. */
  bits: 32 | 64;
}

/** What the filter does for one syscall. */
export interface SeccompSyscallDecision {
  name: string;
  nr: number;
  /** Tried in order; the first whose checks all hold decides. */
  rules: { action: number; checks: SeccompCheck[] }[];
  /** The action when no rule matches. */
  fallback: number;
}

/** A profile applied to one container: every decision the program must encode. */
export interface ResolvedSeccompProfile {
  /** SECCOMP_RET_* value for syscalls the profile does not mention. */
  defaultAction: number;
  /** The highest x86_64 syscall number the profile names (in any rule), or -1. */
  highestKnownSyscall: number;
  /** SECCOMP_RET_* value for numbers above highestKnownSyscall. */
  newerSyscallAction: number;
  /** Syscalls whose outcome differs from the default action, by number. */
  syscalls: SeccompSyscallDecision[];
  /** Names in the profile that x86_64 does not have (skipped), sorted. */
  unknownNames: string[];
}

/** The SECCOMP_RET_* value of a profile action. */
export function seccompReturnValue(action: SeccompAction, errnoRet?: number): number {
  switch (action) {
    case "SCMP_ACT_ALLOW":
      return SECCOMP_RET_ALLOW;
    case "SCMP_ACT_LOG":
      return SECCOMP_RET_LOG;
    case "SCMP_ACT_ERRNO":
      return (SECCOMP_RET_ERRNO | ((errnoRet ?? EPERM) & SECCOMP_RET_DATA)) >>> 0;
    case "SCMP_ACT_TRACE":
      return (SECCOMP_RET_TRACE | ((errnoRet ?? EPERM) & SECCOMP_RET_DATA)) >>> 0;
    case "SCMP_ACT_TRAP":
      return SECCOMP_RET_TRAP;
    case "SCMP_ACT_KILL":
    case "SCMP_ACT_KILL_THREAD":
      return SECCOMP_RET_KILL_THREAD;
    case "SCMP_ACT_KILL_PROCESS":
      return SECCOMP_RET_KILL_PROCESS;
  }
}

/** A SECCOMP_RET_* value as text: "ALLOW", "ERRNO(1)", "KILL_PROCESS", ... */
export function describeSeccompReturn(value: number): string {
  const data = value & SECCOMP_RET_DATA;
  switch ((value & SECCOMP_RET_ACTION_FULL) >>> 0) {
    case SECCOMP_RET_KILL_PROCESS:
      return "KILL_PROCESS";
    case SECCOMP_RET_KILL_THREAD:
      return "KILL_THREAD";
    case SECCOMP_RET_TRAP:
      return "TRAP";
    case SECCOMP_RET_ERRNO:
      return `ERRNO(${data})`;
    case SECCOMP_RET_TRACE:
      return `TRACE(${data})`;
    case SECCOMP_RET_LOG:
      return "LOG";
    case SECCOMP_RET_ALLOW:
      return "ALLOW";
    default:
      return `0x${(value >>> 0).toString(16)}`;
  }
}

/** The Go architecture name docker matches `includes.arches`/`excludes.arches` against. */
const DOCKER_ARCH = { x86_64: "amd64" } as const;

function kernelAtLeast(running: [number, number] | undefined, wanted: string): boolean {
  if (!running) return false;
  const [major, minor] = wanted.split(".").map(Number);
  return running[0] > major || (running[0] === major && running[1] >= minor);
}

function parseKernelVersion(release: string | undefined): [number, number] | undefined {
  if (release === undefined) return undefined;
  const match = /^(\d+)\.(\d+)/.exec(release);
  if (!match) {
    throw new TsnspawnError(
      "invalid",
      `kernel version ${JSON.stringify(release)}: not MAJOR.MINOR...`,
    );
  }
  return [Number(match[1]), Number(match[2])];
}

/** Docker's rule selection (moby `setupSeccomp`): includes need all listed, excludes any. */
function ruleApplies(
  rule: SeccompRule,
  caps: ReadonlySet<string>,
  arch: string,
  kernel: [number, number] | undefined,
): boolean {
  const inc: SeccompCondition = rule.includes ?? {};
  if (inc.arches?.length && !inc.arches.includes(arch)) return false;
  if (inc.caps?.length && !inc.caps.every((cap) => caps.has(cap))) return false;
  if (inc.minKernel && !kernelAtLeast(kernel, inc.minKernel)) return false;
  const exc: SeccompCondition = rule.excludes ?? {};
  if (exc.arches?.length && exc.arches.includes(arch)) return false;
  if (exc.caps?.length && exc.caps.some((cap) => caps.has(cap))) return false;
  if (exc.minKernel && kernelAtLeast(kernel, exc.minKernel)) return false;
  return true;
}

/** A rule's action as the profile spells it, with its errno: "SCMP_ACT_ERRNO(38)". */
function actionText(rule: SeccompRule): string {
  return rule.errnoRet === undefined ? rule.action : `${rule.action}(${rule.errnoRet})`;
}

/** Whether an action denies the call (then syscalls newer than the profile get ENOSYS instead). */
function blocks(action: SeccompAction): boolean {
  return action !== "SCMP_ACT_ALLOW" && action !== "SCMP_ACT_LOG" && action !== "SCMP_ACT_TRACE";
}

/**
 * Applies a profile to a container (see the module comment). Rules for one
 * syscall: those with `args` are tried in profile order, first match wins;
 * a rule without `args` gives the fallback (two such rules with different
 * actions are an error). Throws TsnspawnError("invalid").
 */
export function resolveSeccompProfile(
  profile: SeccompProfile,
  options: SeccompPlanOptions,
): ResolvedSeccompProfile {
  if (options.arch !== "x86_64") {
    throw new TsnspawnError(
      "invalid",
      `seccomp: architecture ${options.arch} is not supported (x86_64 only)`,
    );
  }
  const caps = new Set(options.capabilities);
  const arch = DOCKER_ARCH[options.arch];
  const kernel = parseKernelVersion(options.kernelVersion);
  const defaultAction = seccompReturnValue(profile.defaultAction, profile.defaultErrnoRet);

  let highest = -1;
  const unknown = new Set<string>();
  const byNumber = new Map<
    number,
    { rules: SeccompSyscallDecision["rules"]; fallback?: number; fallbackText?: string }
  >();
  for (const rule of profile.syscalls) {
    const applies = ruleApplies(rule, caps, arch, kernel);
    const action = seccompReturnValue(rule.action, rule.errnoRet);
    for (const name of rule.names) {
      const nr = X86_64_SYSCALLS.get(name);
      if (nr === undefined) {
        unknown.add(name);
        continue;
      }
      highest = Math.max(highest, nr);
      if (!applies) continue;
      let entry = byNumber.get(nr);
      if (!entry) byNumber.set(nr, entry = { rules: [] });
      if (rule.args.length > 0) {
        const bits = (index: number) =>
          (INT_PARAMETERS.get(name)?.includes(index) ? 32 : 64) as 32 | 64;
        entry.rules.push({ action, checks: rule.args.map((a) => ({ ...a, bits: bits(a.index) })) });
      } else if (entry.fallback !== undefined && entry.fallback !== action) {
        throw new TsnspawnError(
          "invalid",
          `seccomp profile: syscall ${name} has two actions: ${entry.fallbackText} and ${
            actionText(rule)
          }`,
          { hint: "give each syscall one rule without args" },
        );
      } else {
        entry.fallback = action;
        entry.fallbackText = actionText(rule);
      }
    }
  }

  const syscalls: SeccompSyscallDecision[] = [];
  for (const [nr, entry] of [...byNumber].sort((a, b) => a[0] - b[0])) {
    const fallback = entry.fallback ?? defaultAction;
    const rules = [...entry.rules];
    // Trailing rules that lead where the fallback leads change nothing.
    while (rules.length > 0 && rules[rules.length - 1].action === fallback) rules.pop();
    if (rules.length === 0 && fallback === defaultAction) continue;
    syscalls.push({ name: X86_64_SYSCALL_NAMES.get(nr)!, nr, rules, fallback });
  }
  const newerSyscallAction = highest >= 0 && blocks(profile.defaultAction)
    ? seccompReturnValue("SCMP_ACT_ERRNO", ENOSYS)
    : defaultAction;
  return {
    defaultAction,
    highestKnownSyscall: highest,
    newerSyscallAction,
    syscalls,
    unknownNames: [...unknown].sort(),
  };
}

// ---------------------------------------------------------------------------
// Assembler: forward jumps to labels, with trampolines for far targets

type Item =
  | { kind: "label"; label: number }
  | { kind: "statement"; code: number; k: number }
  | { kind: "jump"; code: number; k: number; whenTrue: number; whenFalse: number };

/** The instruction after the jump. */
const NEXT = -1;

class Assembler {
  readonly items: Item[] = [];
  #labels = 0;

  label(): number {
    return this.#labels++;
  }

  place(label: number): void {
    this.items.push({ kind: "label", label });
  }

  statement(code: number, k: number): void {
    this.items.push({ kind: "statement", code, k: k >>> 0 });
  }

  load(offset: number): void {
    this.statement(BPF.LD_W_ABS, offset);
  }

  ret(value: number): void {
    this.statement(BPF.RET_K, value);
  }

  /** A conditional jump; NEXT continues with the following instruction. */
  jump(code: number, k: number, whenTrue: number, whenFalse: number): void {
    const next = whenTrue === NEXT || whenFalse === NEXT ? this.label() : NEXT;
    this.items.push({
      kind: "jump",
      code,
      k: k >>> 0,
      whenTrue: whenTrue === NEXT ? next : whenTrue,
      whenFalse: whenFalse === NEXT ? next : whenFalse,
    });
    if (next !== NEXT) this.place(next);
  }

  /** Lays the program out and encodes it as struct sock_filter[]. */
  assemble(): Uint8Array<ArrayBuffer> {
    type Jump = Extract<Item, { kind: "jump" }>;
    const jumps = this.items.filter((i): i is Jump => i.kind === "jump");
    const far = new Map<Item, { whenTrue: boolean; whenFalse: boolean }>(
      jumps.map((j) => [j, { whenTrue: false, whenFalse: false }]),
    );
    let positions: Map<number, number>;
    let at: Map<Item, number>;
    let length: number;
    // Marking a target far only ever grows the program, so this converges.
    for (;;) {
      positions = new Map();
      at = new Map();
      length = 0;
      for (const item of this.items) {
        if (item.kind === "label") {
          positions.set(item.label, length);
          continue;
        }
        at.set(item, length);
        const f = far.get(item);
        length += 1 + (f?.whenTrue ? 1 : 0) + (f?.whenFalse ? 1 : 0);
      }
      let changed = false;
      for (const jump of jumps) {
        const f = far.get(jump)!;
        const from = at.get(jump)! + 1;
        for (const side of ["whenTrue", "whenFalse"] as const) {
          const distance = positions.get(jump[side])! - from;
          if (distance < 0) throw new Error("seccomp assembler: backward jump");
          if (!f[side] && distance > 255) {
            f[side] = true;
            changed = true;
          }
        }
      }
      if (!changed) break;
    }

    const bytes = new Uint8Array(length * SOCK_FILTER_SIZE);
    const view = new DataView(bytes.buffer);
    let pc = 0;
    const put = (code: number, jt: number, jf: number, k: number) => {
      if (jt > 255 || jf > 255 || k < 0) throw new Error("seccomp assembler: jump out of range");
      view.setUint16(pc * SOCK_FILTER_SIZE, code, true);
      view.setUint8(pc * SOCK_FILTER_SIZE + 2, jt);
      view.setUint8(pc * SOCK_FILTER_SIZE + 3, jf);
      view.setUint32(pc * SOCK_FILTER_SIZE + 4, k >>> 0, true);
      pc++;
    };
    for (const item of this.items) {
      if (item.kind === "label") continue;
      if (item.kind === "statement") {
        put(item.code, 0, 0, item.k);
        continue;
      }
      const f = far.get(item)!;
      const self = pc;
      const trueTarget = positions.get(item.whenTrue)!;
      const falseTarget = positions.get(item.whenFalse)!;
      const jt = f.whenTrue ? 0 : trueTarget - (self + 1);
      const jf = f.whenFalse ? (f.whenTrue ? 1 : 0) : falseTarget - (self + 1);
      put(item.code, jt, jf, item.k);
      if (f.whenTrue) put(BPF.JMP_JA, 0, 0, trueTarget - (pc + 1));
      if (f.whenFalse) put(BPF.JMP_JA, 0, 0, falseTarget - (pc + 1));
    }
    return bytes;
  }
}

// ---------------------------------------------------------------------------
// Code generation

const LOW32 = 0xffffffffn;

function argumentOffsets(index: number): { low: number; high: number } {
  const low = SECCOMP_DATA_ARGS + 8 * index;
  return { low, high: low + 4 };
}

/** Emits one comparison: falls through when it holds, jumps to `fail` otherwise. */
function emitCheck(asm: Assembler, check: SeccompCheck, fail: number): void {
  const { low, high } = argumentOffsets(check.index);
  const value = { high: Number(check.value >> 32n), low: Number(check.value & LOW32) };
  const wide = check.bits === 64;
  const pass = asm.label();
  const op: SeccompOperator = check.op;
  switch (op) {
    case "SCMP_CMP_EQ":
      if (wide) {
        asm.load(high);
        asm.jump(BPF.JMP_JEQ_K, value.high, NEXT, fail);
      }
      asm.load(low);
      asm.jump(BPF.JMP_JEQ_K, value.low, NEXT, fail);
      break;
    case "SCMP_CMP_NE":
      if (wide) {
        asm.load(high);
        asm.jump(BPF.JMP_JEQ_K, value.high, NEXT, pass);
      }
      asm.load(low);
      asm.jump(BPF.JMP_JEQ_K, value.low, fail, NEXT);
      break;
    case "SCMP_CMP_MASKED_EQ": {
      const expected = { high: Number(check.valueTwo >> 32n), low: Number(check.valueTwo & LOW32) };
      if (wide) {
        asm.load(high);
        asm.statement(BPF.ALU_AND_K, value.high);
        asm.jump(BPF.JMP_JEQ_K, expected.high, NEXT, fail);
      }
      asm.load(low);
      asm.statement(BPF.ALU_AND_K, value.low);
      asm.jump(BPF.JMP_JEQ_K, expected.low, NEXT, fail);
      break;
    }
    case "SCMP_CMP_GT":
    case "SCMP_CMP_GE": {
      // high > v.high: holds; high == v.high: decide on the low half; else fails.
      if (wide) {
        asm.load(high);
        asm.jump(BPF.JMP_JGT_K, value.high, pass, NEXT);
        asm.jump(BPF.JMP_JEQ_K, value.high, NEXT, fail);
      }
      asm.load(low);
      asm.jump(op === "SCMP_CMP_GT" ? BPF.JMP_JGT_K : BPF.JMP_JGE_K, value.low, NEXT, fail);
      break;
    }
    case "SCMP_CMP_LT":
    case "SCMP_CMP_LE": {
      // high > v.high: fails; high < v.high: holds; equal: decide on the low half.
      if (wide) {
        asm.load(high);
        asm.jump(BPF.JMP_JGT_K, value.high, fail, NEXT);
        asm.jump(BPF.JMP_JEQ_K, value.high, NEXT, pass);
      }
      asm.load(low);
      asm.jump(op === "SCMP_CMP_LT" ? BPF.JMP_JGE_K : BPF.JMP_JGT_K, value.low, fail, NEXT);
      break;
    }
  }
  asm.place(pass);
}

/** A run of syscall numbers [start, end] that share one outcome. */
interface Range {
  start: number;
  end: number;
  /** A plain return, or the syscall whose argument rules decide. */
  outcome: { ret: number } | { decision: SeccompSyscallDecision };
}

function ranges(resolved: ResolvedSeccompProfile): Range[] {
  const result: Range[] = [];
  const add = (start: number, end: number, outcome: Range["outcome"]) => {
    const last = result[result.length - 1];
    if (last && "ret" in last.outcome && "ret" in outcome && last.outcome.ret === outcome.ret) {
      last.end = end;
    } else {
      result.push({ start, end, outcome });
    }
  };
  let next = 0;
  for (const decision of resolved.syscalls) {
    if (decision.nr > next) add(next, decision.nr - 1, { ret: resolved.defaultAction });
    add(
      decision.nr,
      decision.nr,
      decision.rules.length > 0 ? { decision } : { ret: decision.fallback },
    );
    next = decision.nr + 1;
  }
  if (resolved.highestKnownSyscall >= next) {
    add(next, resolved.highestKnownSyscall, { ret: resolved.defaultAction });
  }
  next = Math.max(next, resolved.highestKnownSyscall + 1);
  add(next, 0xffffffff, { ret: resolved.newerSyscallAction });
  return result;
}

/** Emits a binary search over ranges[lo..hi]; A holds the syscall number. */
function emitSearch(asm: Assembler, table: Range[], lo: number, hi: number): void {
  if (lo === hi) {
    const { outcome } = table[lo];
    if ("ret" in outcome) {
      asm.ret(outcome.ret);
      return;
    }
    for (const rule of outcome.decision.rules) {
      const fail = asm.label();
      for (const check of rule.checks) emitCheck(asm, check, fail);
      asm.ret(rule.action);
      asm.place(fail);
    }
    asm.ret(outcome.decision.fallback);
    return;
  }
  const middle = (lo + hi + 1) >> 1;
  const upper = asm.label();
  asm.jump(BPF.JMP_JGE_K, table[middle].start, upper, NEXT);
  emitSearch(asm, table, lo, middle - 1);
  asm.place(upper);
  emitSearch(asm, table, middle, hi);
}

/** A compiled filter and what it decides, for `--dry-run` and tests. */
export interface SeccompProgram extends ResolvedSeccompProfile {
  /** struct sock_filter[] (8 bytes each, little-endian), ready for struct sock_fprog. */
  instructions: Uint8Array<ArrayBuffer>;
  /** Number of instructions (`instructions.length / 8`). */
  length: number;
}

/**
 * Compiles `profile` for a container (see the module comment). Throws
 * TsnspawnError("invalid") for conflicting rules or a program longer than
 * BPF_MAXINSNS.
 */
export function planSeccompProgram(
  profile: SeccompProfile,
  options: SeccompPlanOptions,
): SeccompProgram {
  const resolved = resolveSeccompProfile(profile, options);
  const asm = new Assembler();
  const loadNr = asm.label();
  asm.load(SECCOMP_DATA_ARCH);
  asm.jump(BPF.JMP_JEQ_K, AUDIT_ARCH_X86_64, loadNr, NEXT);
  asm.ret(SECCOMP_RET_KILL_PROCESS); // i386 (int 0x80) or anything else
  asm.place(loadNr);
  asm.load(SECCOMP_DATA_NR);
  const search = asm.label();
  asm.jump(BPF.JMP_JSET_K, X32_SYSCALL_BIT, NEXT, search);
  asm.jump(BPF.JMP_JEQ_K, 0xffffffff, search, NEXT); // -1: no syscall (a tracer skipped it)
  asm.ret(SECCOMP_RET_KILL_PROCESS); // x32 ABI
  asm.place(search);
  const table = ranges(resolved);
  emitSearch(asm, table, 0, table.length - 1);

  const instructions = asm.assemble();
  const length = instructions.length / SOCK_FILTER_SIZE;
  if (length > BPF_MAXINSNS) {
    throw new TsnspawnError(
      "invalid",
      `seccomp profile: the filter needs ${length} BPF instructions, more than the kernel's limit of ${BPF_MAXINSNS}`,
      { hint: "use fewer argument rules" },
    );
  }
  return { ...resolved, instructions, length };
}

// ---------------------------------------------------------------------------
// Disassembler

function dataField(offset: number): string {
  if (offset === SECCOMP_DATA_NR) return "nr";
  if (offset === SECCOMP_DATA_ARCH) return "arch";
  if (offset === 8) return "instruction_pointer.low";
  if (offset === 12) return "instruction_pointer.high";
  if (offset >= SECCOMP_DATA_ARGS && offset < SECCOMP_DATA_SIZE) {
    const index = (offset - SECCOMP_DATA_ARGS) >> 3;
    return `args[${index}].${offset % 8 === 0 ? "low" : "high"}`;
  }
  return `${offset}`;
}

const hex = (k: number) => `0x${(k >>> 0).toString(16)}`;

/**
 * Disassembles struct sock_filter[] into one line per instruction:
 * `  12: jge 0x3c ? 13 : 40` with absolute targets, loads named after
 * seccomp_data fields and returns named after SECCOMP_RET_* values.
 */
export function disassemble(instructions: Uint8Array): string {
  const view = new DataView(instructions.buffer, instructions.byteOffset, instructions.byteLength);
  const lines: string[] = [];
  const count = Math.floor(instructions.byteLength / SOCK_FILTER_SIZE);
  const width = String(Math.max(count - 1, 0)).length;
  for (let pc = 0; pc < count; pc++) {
    const base = pc * SOCK_FILTER_SIZE;
    const code = view.getUint16(base, true);
    const jt = view.getUint8(base + 2);
    const jf = view.getUint8(base + 3);
    const k = view.getUint32(base + 4, true);
    const conditional = (name: string) => `${name} ${hex(k)} ? ${pc + 1 + jt} : ${pc + 1 + jf}`;
    let text: string;
    switch (code) {
      case BPF.LD_W_ABS:
        text = `ld ${dataField(k)}`;
        break;
      case BPF.ALU_AND_K:
        text = `and ${hex(k)}`;
        break;
      case BPF.JMP_JA:
        text = `ja ${pc + 1 + k}`;
        break;
      case BPF.JMP_JEQ_K:
        text = conditional("jeq");
        break;
      case BPF.JMP_JGT_K:
        text = conditional("jgt");
        break;
      case BPF.JMP_JGE_K:
        text = conditional("jge");
        break;
      case BPF.JMP_JSET_K:
        text = conditional("jset");
        break;
      case BPF.RET_K:
        text = `ret ${describeSeccompReturn(k)}`;
        break;
      default:
        text = `.insn code=${hex(code)} jt=${jt} jf=${jf} k=${hex(k)}`;
    }
    lines.push(`${String(pc).padStart(width)}: ${text}`);
  }
  return lines.join("\n");
}

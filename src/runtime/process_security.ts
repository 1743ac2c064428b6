/**
 * The last steps before a container process runs, shared by stage two (the
 * container's PID 1) and the exec stage (`tsnspawn exec`): find the command
 * in the container's PATH, chdir, drop privileges, execve (stage two) or
 * spawn (the exec stage).
 *
 * Order (each step needs the privileges the next one drops):
 *   0. with a tty: setsid() and TIOCSCTTY on stdin (needs CAP_SYS_ADMIN to steal)
 *   1. resolve the command (clear "not found" / "permission denied" errors)
 *   2. chdir(workingDir) while still root
 *   3. non-dumpable (PR_SET_DUMPABLE 0), before the first capability goes
 *   4. bounding set: drop every capability not kept (needs CAP_SETPCAP)
 *   4a. seccomp filter, when no_new_privs is off (needs CAP_SYS_ADMIN, still held)
 *   5. setgroups([]), setresgid, setresuid (needs CAP_SETGID/CAP_SETUID);
 *      leaving uid 0 clears the permitted and effective sets (no KEEPCAPS)
 *   6. capset: root keeps E = P = kept; everyone gets I = 0 (like docker
 *      since CVE-2022-24769); a non-root user ends with no capabilities
 *   7. ambient set cleared; no_new_privs if asked
 *   7a. seccomp filter, when no_new_privs is on (as late as possible)
 *   8. umask 022, default signal dispositions, empty signal mask, every fd
 *      above 2 close-on-exec (nothing inherited leaks in), execve
 * All on the calling (main) thread: capabilities, no_new_privs, and the
 * bounding set are per thread, and execve keeps only the caller's.
 *
 * Why step 3 comes first, and why the process is out of the container's
 * reach at every instant (the runc CVE-2019-5736 pattern: a container
 * process opening /proc/PID/exe of a runtime process inside its PID
 * namespace, then writing the host's binary through that handle). The
 * kernel lets a process at /proc/PID/{exe,fd,cwd,root,environ,mem,maps}
 * only through ptrace_may_access(): same uid, then (a) a target that is not
 * dumpable needs CAP_SYS_PTRACE, and (b) the caller's permitted
 * capabilities must include all of the target's, or CAP_SYS_PTRACE.
 *   - until step 4 we hold every capability the host gave us: no container
 *     process has them all, so (b) refuses it;
 *   - from step 3 on we are not dumpable, so once the capabilities are gone
 *     and (b) would pass, (a) refuses;
 *   - the command's execve makes a new image of the container's own binary,
 *     dumpable again: that is the container's business, not the runtime's.
 * A container given CAP_SYS_PTRACE passes both checks (as it would against
 * runc); the defence in depth for that case is that the runtime's binary is
 * a read-only mount in every process of ours that a container can see
 * (runtime/readonly_runtime.ts), and that `exec` enters a container only
 * once its PID 1 is the container's own program (runtime/exec_stage.ts).
 *
 * Man pages: capabilities(7) ("Transformation of capabilities during
 * execve"), credentials(7), execve(2), prctl(2) (PR_SET_DUMPABLE),
 * ptrace(2) ("Ptrace access mode checking"), proc(5).
 */
import { capabilityMask, capabilityNumber } from "../security/capabilities.ts";
import { TsnspawnError } from "../errors.ts";
import { DEFAULT_PATH } from "../container/mount_plan.ts";
import {
  boundingHas,
  capset,
  clearAmbientCapabilities,
  dropBoundingCapability,
  kernelLastCapability,
  setNoNewPrivileges,
} from "../../ffi/capabilities.ts";
import {
  chdir,
  closeOnExecFrom,
  execve,
  resetSignals,
  setControllingTerminal,
  setDumpable,
  setgroups,
  setresgid,
  setresuid,
  setsid,
  umask,
} from "../../ffi/process.ts";
import { SysError } from "../errors.ts";
import { installSeccompFilter } from "./seccomp_apply.ts";
import { trace } from "../trace.ts";

/** What to run and with which identity. */
export interface ProcessSpec {
  /**
   * Called once everything that can fail for a user-visible reason (command
   * lookup, working directory) has passed, still privileged, right before
   * the privilege drop and execve. Stage two announces itself to systemd
   * here.
   */
  announce?: () => void;
  /** argv; argv[0] is looked up in the PATH of `env` unless it contains "/". */
  command: string[];
  /** KEY=VALUE environment, passed as is. */
  env: string[];
  /** Numeric user and group. */
  user: { uid: number; gid: number };
  /** Absolute working directory in the container. */
  workingDir: string;
  /** Capability names kept (bounding set; also E/P for root). */
  capabilities: string[];
  /** PR_SET_NO_NEW_PRIVS. */
  noNewPrivileges: boolean;
  /**
   * A compiled seccomp filter (struct sock_filter[]), see
   * `planContainerSeccomp`; undefined = unconfined.
   */
  seccomp?: Uint8Array;
  /** Run this program instead, with `["--", ...command]` after its argv0 (tini). */
  init?: string;
  /**
   * stdin is the container's terminal: start a new session and make it the
   * controlling terminal (stolen from the session of whoever spawned us, so
   * that their exit does not hang it up).
   */
  tty?: boolean;
}

/** The PATH of a KEY=VALUE environment, or docker's default. */
export function pathOf(env: readonly string[]): string {
  const entry = [...env].reverse().find((e) => e.startsWith("PATH="));
  return entry ? entry.slice("PATH=".length) : DEFAULT_PATH;
}

function isExecutableFile(path: string): "ok" | "missing" | "not-executable" {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch {
    return "missing";
  }
  if (!info.isFile) return "not-executable";
  return (info.mode ?? 0) & 0o111 ? "ok" : "not-executable";
}

/**
 * Finds `name` like execvp(3) does, in the current root: names with a "/"
 * as given, others in each PATH entry. Throws a TsnspawnError with code
 * "not-found" (exit 127) or "permission" (exit 126).
 */
export function resolveCommand(name: string, env: readonly string[]): string {
  if (name === "") {
    throw new TsnspawnError("not-found", "command '': not found in the container");
  }
  if (name.includes("/")) {
    const state = isExecutableFile(name);
    if (state === "ok") return name;
    if (state === "missing") {
      throw new TsnspawnError("not-found", `command ${name}: no such file in the container`, {
        hint: "check the command and the image",
      });
    }
    throw new TsnspawnError(
      "permission",
      `command ${name}: permission denied (not an executable file)`,
    );
  }
  const path = pathOf(env);
  let denied: string | undefined;
  for (const dir of path.split(":")) {
    const candidate = `${dir === "" ? "." : dir}/${name}`;
    const state = isExecutableFile(candidate);
    if (state === "ok") return candidate;
    if (state === "not-executable") denied ??= candidate;
  }
  if (denied) {
    throw new TsnspawnError(
      "permission",
      `command ${name}: permission denied: ${denied} is not executable`,
    );
  }
  throw new TsnspawnError(
    "not-found",
    `command ${name}: not found in the container's PATH (${path})`,
    {
      hint: "give an absolute path or set PATH with -e",
    },
  );
}

/** The exit status docker uses for a start failure: 127 not found, 126 not runnable, 1 otherwise. */
export function exitStatusFor(error: unknown): number {
  if (error instanceof SysError && (error.call === "execve" || error.call === "posix_spawn")) {
    return error.errnoName === "ENOENT" ? 127 : 126;
  }
  if (error instanceof TsnspawnError) {
    if (error.code === "not-found") return 127;
    if (error.code === "permission") return 126;
  }
  return 1;
}

/**
 * `--privileged` asks for every capability; this keeps those our own bounding
 * set still has (a host, or a nested sandbox, may lack some: capset would
 * refuse the whole set with EPERM). Other containers get exactly what they
 * asked for, or a clear capset error.
 */
export function capabilitiesWeHold(names: readonly string[]): string[] {
  return names.filter((name) => boundingHas(capabilityNumber(name)));
}

/** Bounding-set capability numbers to drop so that only `keep` remain. */
export function capabilitiesToDrop(keep: bigint, lastCap: number): number[] {
  const drop: number[] = [];
  for (let cap = 0; cap <= lastCap; cap++) {
    if (!((keep >> BigInt(cap)) & 1n)) drop.push(cap);
  }
  return drop;
}

/** What {@link dropPrivileges} keeps. */
export type PrivilegeSpec = Pick<
  ProcessSpec,
  "user" | "capabilities" | "noNewPrivileges" | "seccomp"
>;

/**
 * Steps 3 to 7a of the module comment, on the calling thread: from here on
 * the thread has exactly the container's privileges and its seccomp filter,
 * and the process is not dumpable.
 */
export function dropPrivileges(spec: PrivilegeSpec): void {
  setDumpable(false);

  const keep = capabilityMask(spec.capabilities);
  for (const cap of capabilitiesToDrop(keep, kernelLastCapability())) {
    dropBoundingCapability(cap);
  }

  // Seccomp without no_new_privs: the kernel accepts a filter from a thread
  // that has CAP_SYS_ADMIN in its effective set, which we still have here
  // (the bounding set limits only what execve grants) and lose at
  // setresuid/capset. Every call after this point (setgroups, setres[ug]id,
  // capset, prctl, umask, rt_sigaction, rt_sigprocmask, close_range, execve,
  // and the exec stage's clone and wait4) is allowed by docker's profile; a
  // custom profile that forbids one of them fails the start with that call's
  // EPERM, never a silently weaker container.
  if (spec.seccomp && !spec.noNewPrivileges) installSeccompFilter(spec.seccomp);

  setgroups([]);
  setresgid(spec.user.gid);
  setresuid(spec.user.uid);

  const mine = spec.user.uid === 0 ? keep : 0n;
  capset({ effective: mine, permitted: mine, inheritable: 0n });
  clearAmbientCapabilities();
  if (spec.noNewPrivileges) setNoNewPrivileges();
  // With no_new_privs the filter needs no privilege: install it as late as
  // possible, so the fewest of our own calls run under it. From here it
  // binds this thread and, through execve, the container's command and every
  // process it forks; filters cannot be removed, only stacked.
  if (spec.seccomp && spec.noNewPrivileges) installSeccompFilter(spec.seccomp);
}

/**
 * Steps 1 and 2: the command as a path and argv (through `init` if given),
 * with the working directory entered. Throws the user-facing errors.
 */
export function prepareCommand(
  spec: Pick<ProcessSpec, "command" | "env" | "workingDir" | "init">,
): { path: string; argv: string[] } {
  if (spec.command.length === 0) throw new TsnspawnError("invalid", "empty command");
  const resolved = resolveCommand(spec.command[0], spec.env);
  try {
    chdir(spec.workingDir);
  } catch (error) {
    throw new TsnspawnError("not-found", `working directory ${spec.workingDir}: cannot enter it`, {
      cause: error,
    });
  }
  // tini does its own PATH lookup (execvp) with our environment.
  return spec.init
    ? { path: spec.init, argv: [spec.init, "--", ...spec.command] }
    : { path: resolved, argv: spec.command };
}

/**
 * Drops privileges as described in the module comment and execve's the
 * command. Never returns: throws on failure (see {@link exitStatusFor}).
 */
export function execContainerProcess(spec: ProcessSpec): never {
  if (spec.tty) {
    setsid();
    setControllingTerminal(0, true);
  }
  const { path, argv } = prepareCommand(spec);
  spec.announce?.();
  dropPrivileges(spec);
  umask(0o022);
  resetSignals();
  closeOnExecFrom(3);
  trace("execve");
  return execve(path, argv, spec.env);
}

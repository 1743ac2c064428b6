/**
 * `tsnspawn exec`: running one more process inside a running container.
 *
 * Two halves:
 * - {@link spawnExecStage} (called by the CLI) starts the exec stage
 *   (`tsnspawn __exec`, request in $TSNSPAWN_EXEC_REQUEST: not in argv,
 *   where every user could read the environment it carries) from a
 *   read-only bind of the runtime's binary (readonly_runtime.ts). The exec
 *   stage starts in the host's namespaces.
 * - {@link runExecStage} (the `__exec` process) joins the container and
 *   starts the command in it:
 *     1. a pidfd of the container's PID 1, once that PID 1 is the
 *        container's own program (never stage two before its execve: a
 *        process that joins then could reach a runtime process holding
 *        every capability; see waitForContainerProgram);
 *     2. the container's cgroup files, opened while /sys is the host's;
 *     3. unshare(CLONE_FS) (setns(mnt) refuses a shared fs_struct), then one
 *        setns(pidfd, ...) into its mount, cgroup, IPC, UTS, network and PID
 *        namespaces: our root and cwd are the container's from here on;
 *     4. the user (the container's /etc/passwd, read inside), the command
 *        in the container's PATH, the working directory;
 *     5. privileges dropped on this thread (process_security.ts: not
 *        dumpable first, then capabilities, no_new_privs, seccomp);
 *     6. posix_spawn (ffi/spawn.ts) of the command, born in the
 *        container's cgroups and PID namespace (pid_for_children), with
 *        default signal dispositions, no fd above 2, and with `-t` a new
 *        session whose controlling terminal is the container's /dev/pts/N;
 *     7. wait for it and exit with its status.
 *
 * Why the exec stage stays outside the container's PID namespace (unlike
 * runc's init, which joins it after the mount namespace): it is a Deno
 * process, which loads its code from the host's file system, so until
 * step 3 its root and cwd are the host's. Had it been born in the
 * container's PID namespace, a container process could see it there, with
 * /proc/PID/root pointing at the host's root (CVE-2024-21626 is this
 * mistake with a leaked directory fd). Only its child enters, and that
 * child runs nothing but glibc's spawn code and the command: its root and
 * cwd are the container's, it holds no fd above 2 after its first steps,
 * it is not dumpable (it shares the exec stage's address space until
 * execve), and its image is the read-only runtime binary.
 *
 * stdio: with -t the command's fds 0-2 are the container's own pty slave;
 * otherwise the exec stage's, which the CLI makes pipes: a container
 * process never gets a descriptor of a host file, which it could reopen
 * with other modes through /proc/self/fd/N (`exec c cmd > ~/report` would
 * otherwise let the container read and rewrite ~/report).
 *
 * Man pages: setns(2) ("pidfd"), pidfd_open(2), posix_spawn(3),
 * credentials(7) (sessions), cgroups(7).
 */
import { describeError, TsnspawnError } from "../errors.ts";
import { selfCommand } from "../self_exec.ts";
import { homeOf, mergeEnv, resolveUser, type UserSpec } from "../container/run_options.ts";
import {
  capabilitiesWeHold,
  dropPrivileges,
  exitStatusFor,
  prepareCommand,
} from "./process_security.ts";
import { planContainerSeccomp, type SeccompSetting } from "../security/options.ts";
import { withReadOnlyRuntime } from "./readonly_runtime.ts";
import { prepareCgroupVisit } from "./cgroups.ts";
import { spawnProcess } from "../../ffi/spawn.ts";
import { exitNow, ignoreSignals, kill, umask, waitPid } from "../../ffi/process.ts";
import { POLLIN, pollOne } from "../../ffi/fifo.ts";
import {
  CLONE_FS,
  CLONE_NEWCGROUP,
  CLONE_NEWIPC,
  CLONE_NEWNET,
  CLONE_NEWNS,
  CLONE_NEWPID,
  CLONE_NEWUTS,
  closeFd,
  openPidfd,
  setns,
  unshare,
} from "../../ffi/namespaces.ts";

/** What `tsnspawn exec` runs, handed to the exec stage. */
export interface ExecRequest {
  /** Host PID of the container's PID 1 (the unit's MainPID). */
  pid: number;
  /** The container's unit: `pid` must belong to it (a PID reused since is refused). */
  unit?: string;
  /** argv, looked up in the PATH of `env`. Ignored with `loginShell`. */
  command: string[];
  /** KEY=VALUE environment. */
  env: string[];
  /** Numeric user and group (the container's), unless `userSpec` is given. */
  user: { uid: number; gid: number };
  /** `-u user[:group]`: looked up in the container's /etc/passwd and /etc/group, from inside. */
  userSpec?: UserSpec;
  /** With `userSpec`: HOME is that user's home in the container's /etc/passwd (else "/"). */
  homeOfUser?: boolean;
  /** Run the user's login shell from the container's /etc/passwd, as `-l` (`tsnspawn shell`). */
  loginShell?: boolean;
  /** Absolute working directory in the container. */
  workingDir: string;
  /**
   * The container's pty slave, as a path in the container (/dev/pts/N):
   * the command's stdin, stdout, stderr and controlling terminal.
   */
  terminal?: string;
  /** Capability names kept (the container's). */
  capabilities: string[];
  /** PR_SET_NO_NEW_PRIVS. */
  noNewPrivileges: boolean;
  /** The container's seccomp setting (compiled by the exec stage); absent = docker's default. */
  seccomp?: SeccompSetting;
  /** The container is --privileged: keep every capability we hold. */
  privileged?: boolean;
  /**
   * Health checks: SIGKILL the command when it runs longer (ms), and exit
   * with {@link EXEC_TIMEOUT_STATUS}. Absent = wait as long as it runs.
   */
  timeoutMs?: number;
}

/** The exec stage's status when the command ran past `timeoutMs` and was killed. */
export const EXEC_TIMEOUT_STATUS = 124;

/** The environment variable carrying the JSON ExecRequest. */
export const EXEC_REQUEST_ENV = "TSNSPAWN_EXEC_REQUEST";

/** The namespaces the command joins: all of the container's (no user namespace: none is made). */
export const EXEC_NAMESPACES = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWIPC | CLONE_NEWUTS |
  CLONE_NEWNET | CLONE_NEWPID;

/** How long the exec stage waits for a starting container's PID 1 to become its program. */
const CONTAINER_PROGRAM_TIMEOUT_MS = 10_000;

/** Signals a terminal or a killed CLI sends the exec stage; the command gets them, we wait. */
const SIGHUP = 1;
const SIGINT = 2;
const SIGQUIT = 3;
const SIGPIPE = 13;
const SIGTERM = 15;
const SIGKILL = 9;

/** Options for the spawned exec stage's stdio. */
export interface SpawnStdio {
  stdin?: "inherit" | "piped" | "null";
  stdout?: "inherit" | "piped" | "null";
  stderr?: "inherit" | "piped" | "null";
}

/**
 * Starts the exec stage for `request` (CLI side). Must be called from the
 * main thread (see withReadOnlyRuntime).
 */
export function spawnExecStage(request: ExecRequest, stdio: SpawnStdio = {}): Deno.ChildProcess {
  const [program, ...args] = selfCommand("__exec");
  return withReadOnlyRuntime(() =>
    new Deno.Command(program, {
      args,
      env: { [EXEC_REQUEST_ENV]: JSON.stringify(request) },
      stdin: stdio.stdin ?? "null",
      stdout: stdio.stdout ?? "inherit",
      stderr: stdio.stderr ?? "inherit",
    }).spawn()
  );
}

function parseRequest(args: readonly string[]): ExecRequest {
  const text = Deno.env.get(EXEC_REQUEST_ENV) ?? args[0];
  if (!text) throw new TsnspawnError("usage", `__exec: no request in $${EXEC_REQUEST_ENV}`);
  try {
    return JSON.parse(text) as ExecRequest;
  } catch (error) {
    throw new TsnspawnError("invalid", `__exec: malformed request`, { cause: error });
  }
}

/** Device and inode of a file (stat follows /proc/PID/exe to the program). */
function fileIdentity(path: string): string | null {
  try {
    const info = Deno.statSync(path);
    return `${info.dev}:${info.ino}`;
  } catch {
    return null;
  }
}

/** Whether process `pid` is still a tsnspawn runtime process (stage two before its execve). */
function isRuntimeProcess(pid: number, runtime: string | null): boolean {
  if (runtime !== null && fileIdentity(`/proc/${pid}/exe`) === runtime) return true;
  try {
    // A container started by another tsnspawn binary: its stage two's argv.
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").includes("__stage2");
  } catch {
    return false;
  }
}

/**
 * Waits until the container's PID 1 is the container's program: systemd
 * reports the main PID (stage two's MAINPID=) a moment before stage two's
 * execve, and until then PID 1 is a runtime process with every capability.
 * Nothing joins a container's namespaces before that.
 */
function waitForContainerProgram(pid: number): void {
  const runtime = fileIdentity("/proc/self/exe");
  const deadline = Date.now() + CONTAINER_PROGRAM_TIMEOUT_MS;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while (isRuntimeProcess(pid, runtime)) {
    if (Date.now() > deadline) {
      throw new TsnspawnError("conflict", `container process ${pid}: still starting`, {
        hint: "try again once the container runs",
      });
    }
    Atomics.wait(pause, 0, 0, 1);
  }
}

/** The login shell of `uid` in the container's /etc/passwd (read inside), else /bin/sh. */
function loginShellOf(uid: number): string {
  const passwd = readContainerFile("/etc/passwd") ?? "";
  const entry = passwd.split("\n").map((line) => line.split(":"))
    .find((fields) => fields.length >= 7 && Number(fields[2]) === uid);
  return entry?.[6] && !/nologin|false$/.test(entry[6]) ? entry[6] : "/bin/sh";
}

/** A file of the container, read from inside its mount namespace; null if unreadable. */
function readContainerFile(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return null;
  }
}

/**
 * Waits for `child` at most `timeoutMs`: its exit code, or, once the time is
 * up, SIGKILL (it is ours: same user after the privilege drop) and
 * {@link EXEC_TIMEOUT_STATUS}. A pidfd reports the exit without reaping.
 */
function waitWithDeadline(child: number, timeoutMs: number): number {
  const pidfd = openPidfd(child);
  try {
    const deadline = Date.now() + timeoutMs;
    while (!(pollOne(pidfd, POLLIN, Math.max(0, Math.min(1000, deadline - Date.now()))) & POLLIN)) {
      if (Date.now() >= deadline) {
        kill(child, SIGKILL);
        waitPid(child);
        console.error(`exec: timed out after ${timeoutMs} ms; killed`);
        return EXEC_TIMEOUT_STATUS;
      }
    }
  } finally {
    closeFd(pidfd);
  }
  return exitCodeOf(waitPid(child)!);
}

/** 128 + signal for a killed command, as shells and docker report it. */
function exitCodeOf(status: { code: number; signal: null } | { code: null; signal: number }) {
  return status.code ?? 128 + status.signal;
}

/**
 * Entry of `__exec` (request in $TSNSPAWN_EXEC_REQUEST, or as the first
 * argument). Exits with the command's exit status (128 + N if killed by
 * signal N); on failure prints "exec: <message>" and resolves to 127, 126
 * or 1.
 */
export function runExecStage(args: string[]): Promise<number> {
  try {
    const request = parseRequest(args);
    let pidfd: number;
    try {
      pidfd = openPidfd(request.pid);
    } catch (error) {
      throw new TsnspawnError("not-found", `container process ${request.pid}: not running`, {
        cause: error,
        hint: "is the container running?",
      });
    }
    waitForContainerProgram(request.pid);
    const cgroups = prepareCgroupVisit(request.pid, request.unit);
    unshare(CLONE_FS);
    try {
      setns(pidfd, EXEC_NAMESPACES, `the namespaces of PID ${request.pid}`);
    } finally {
      closeFd(pidfd);
    }

    const passwd = request.userSpec ? readContainerFile("/etc/passwd") : null;
    const user = request.userSpec
      ? resolveUser(request.userSpec, passwd, readContainerFile("/etc/group"))
      : request.user;
    const env = request.homeOfUser
      ? mergeEnv(request.env, [`HOME=${homeOf(user.uid, passwd) ?? "/"}`])
      : request.env;
    const command = request.loginShell ? [loginShellOf(user.uid), "-l"] : request.command;
    const { path, argv } = prepareCommand({
      command,
      env,
      workingDir: request.workingDir,
    });
    // Interrupts are for the command (same process group, or its own
    // terminal); we only wait for it and pass its status on.
    ignoreSignals([SIGHUP, SIGINT, SIGQUIT, SIGPIPE, SIGTERM]);
    dropPrivileges({
      user,
      capabilities: request.privileged
        ? capabilitiesWeHold(request.capabilities)
        : request.capabilities,
      noNewPrivileges: request.noNewPrivileges,
      seccomp: planContainerSeccomp(request.seccomp, request.capabilities, Deno.osRelease()),
    });
    umask(0o022);
    let child: number;
    cgroups.enter();
    try {
      child = spawnProcess({ path, argv, env, terminal: request.terminal });
    } finally {
      cgroups.leave();
    }
    const status = request.timeoutMs === undefined
      ? exitCodeOf(waitPid(child)!)
      : waitWithDeadline(child, request.timeoutMs);
    // _exit: nothing of ours is left to flush, and Deno's orderly shutdown
    // would only delay the caller, who waits for this status.
    exitNow(status);
  } catch (error) {
    console.error(`exec: ${describeError(error)}`);
    return Promise.resolve(exitStatusFor(error));
  }
}

/**
 * `tsnspawn exec`: running one more process inside a running container.
 *
 * Two halves:
 * - {@link spawnInContainer} (called by the CLI): on the main thread, opens
 *   the container's namespace files (/proc/PID/ns/{cgroup,ipc,uts,net,pid})
 *   and our own, all before any setns; enters the container's; spawns the
 *   exec stage (`tsnspawn __exec`, request in $TSNSPAWN_EXEC_REQUEST: not
 *   in argv, where every user could read the environment it carries); then
 *   returns the main thread to our own namespaces, so the CLI can go on
 *   (a thread whose pid_for_children is another namespace can start no
 *   threads). The child, forked from the main thread, is PID N of the
 *   container.
 * - {@link runExecStage} (the `__exec` process): its code is loaded from
 *   the host, so it enters the mount namespace itself, last, after
 *   unshare(CLONE_FS) (setns(mnt) refuses a shared fs_struct). With a tty
 *   (`ttyPath`, opened before the mount namespace changes, made fds 0-2)
 *   it starts a session and takes the terminal as controlling terminal;
 *   then the same privilege drop and execve as stage two
 *   (process_security.ts).
 *
 * Order: like nsenter(1) (util-linux: user, cgroup, ipc, uts, net, pid,
 * mnt, time), the mount namespace last: after it, /proc/PID is no longer
 * the host's.
 *
 * Not here: the pty and its relay, and placing the process in the unit's
 * cgroup (systemd AttachProcessesToUnit), which are the CLI's.
 *
 * Man pages: setns(2), nsenter(1), credentials(7) (sessions).
 */
import { describeError, TsnspawnError } from "../errors.ts";
import { selfCommand } from "../self_exec.ts";
import { capabilitiesWeHold, execContainerProcess, exitStatusFor } from "./process_security.ts";
import { planContainerSeccomp, type SeccompSetting } from "../security_options.ts";
import { O_CLOEXEC, O_NOCTTY, O_RDWR, openFd } from "../../ffi/fifo.ts";
import { dup2 } from "../../ffi/process.ts";
import {
  CLONE_FS,
  CLONE_NEWNS,
  closeFd,
  NAMESPACE_FLAGS,
  type NamespaceKind,
  openNamespace,
  setns,
  unshare,
} from "../../ffi/namespaces.ts";

/** What `tsnspawn exec` runs, handed to the exec stage. */
export interface ExecRequest {
  /** Host PID of the container's PID 1 (the unit's MainPID). */
  pid: number;
  /** argv, looked up in the PATH of `env`. */
  command: string[];
  /** KEY=VALUE environment. */
  env: string[];
  /** Numeric user and group. */
  user: { uid: number; gid: number };
  /** Absolute working directory in the container. */
  workingDir: string;
  /** stdin is a terminal: make it the controlling terminal of a new session. */
  tty: boolean;
  /**
   * Host path of a pty slave (/dev/pts/N) to use as stdin, stdout and
   * stderr: the exec stage opens it before entering the mount namespace
   * (where the host's /dev/pts is not visible). Implies `tty`.
   */
  ttyPath?: string;
  /** Capability names kept (the container's). */
  capabilities: string[];
  /** PR_SET_NO_NEW_PRIVS. */
  noNewPrivileges: boolean;
  /** The container's seccomp setting (compiled by the exec stage); absent = docker's default. */
  seccomp?: SeccompSetting;
  /** The container is --privileged: keep every capability we hold. */
  privileged?: boolean;
}

/** The environment variable carrying the JSON ExecRequest. */
export const EXEC_REQUEST_ENV = "TSNSPAWN_EXEC_REQUEST";

/** Namespaces entered by the CLI before spawning, in nsenter's order. */
export const ENTER_ORDER: readonly NamespaceKind[] = ["cgroup", "ipc", "uts", "net", "pid"];

/** Options for the spawned exec stage's stdio. */
export interface SpawnStdio {
  stdin?: "inherit" | "piped" | "null";
  stdout?: "inherit" | "piped" | "null";
  stderr?: "inherit" | "piped" | "null";
}

/**
 * Spawns the exec stage for `request` inside the container's namespaces
 * (except mnt, which the stage enters itself). Must be called from the main
 * thread; the caller's namespaces are restored before it returns.
 */
export function spawnInContainer(request: ExecRequest, stdio: SpawnStdio = {}): Deno.ChildProcess {
  const opened: number[] = [];
  const target: number[] = [];
  const own: number[] = [];
  try {
    for (const kind of ENTER_ORDER) {
      const fd = openNamespace(request.pid, kind);
      opened.push(fd);
      target.push(fd);
    }
    for (const kind of ENTER_ORDER) {
      const fd = openNamespace("self", kind);
      opened.push(fd);
      own.push(fd);
    }
  } catch (error) {
    opened.forEach(closeFd);
    throw new TsnspawnError(
      "not-found",
      `container process ${request.pid}: cannot open its namespaces`,
      {
        cause: error,
        hint: "is the container running?",
      },
    );
  }

  const [program, ...args] = selfCommand("__exec");
  let entered = 0;
  try {
    ENTER_ORDER.forEach((kind, i) => {
      setns(target[i], NAMESPACE_FLAGS[kind], `${kind} of PID ${request.pid}`);
      entered = i + 1;
    });
    return new Deno.Command(program, {
      args,
      env: { [EXEC_REQUEST_ENV]: JSON.stringify(request) },
      stdin: stdio.stdin ?? "inherit",
      stdout: stdio.stdout ?? "inherit",
      stderr: stdio.stderr ?? "inherit",
    }).spawn();
  } finally {
    // Back to our own namespaces, in reverse order; a failure here leaves
    // the process in a state it must not continue in.
    for (let i = entered - 1; i >= 0; i--) {
      try {
        setns(own[i], NAMESPACE_FLAGS[ENTER_ORDER[i]], `own ${ENTER_ORDER[i]}`);
      } catch (error) {
        console.error(`tsnspawn: cannot return to our own namespaces: ${error}`);
        Deno.exit(1);
      }
    }
    opened.forEach(closeFd);
  }
}

/** Makes the terminal at `path` our stdin, stdout and stderr. */
function attachTerminal(path: string): void {
  const fd = openFd(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
  try {
    for (const target of [0, 1, 2]) dup2(fd, target);
  } finally {
    if (fd > 2) closeFd(fd);
  }
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

/**
 * Entry of `__exec` (request in $TSNSPAWN_EXEC_REQUEST, or as the first
 * argument). Never returns on success (becomes the command); on failure
 * prints "exec: <message>" and resolves to 127, 126 or 1.
 */
export function runExecStage(args: string[]): Promise<number> {
  try {
    const request = parseRequest(args);
    if (request.ttyPath) attachTerminal(request.ttyPath);
    unshare(CLONE_FS);
    const mnt = openNamespace(request.pid, "mnt");
    try {
      setns(mnt, CLONE_NEWNS, `mnt of PID ${request.pid}`);
    } finally {
      closeFd(mnt);
    }
    execContainerProcess({
      command: request.command,
      env: request.env,
      user: request.user,
      workingDir: request.workingDir,
      capabilities: request.privileged
        ? capabilitiesWeHold(request.capabilities)
        : request.capabilities,
      noNewPrivileges: request.noNewPrivileges,
      seccomp: planContainerSeccomp(request.seccomp, request.capabilities, Deno.osRelease()),
      tty: request.tty || request.ttyPath !== undefined,
    });
  } catch (error) {
    console.error(`exec: ${describeError(error)}`);
    return Promise.resolve(exitStatusFor(error));
  }
}

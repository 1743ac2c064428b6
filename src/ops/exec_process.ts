/**
 * Starting one more process in a running container, for every front end
 * (`tsnspawn exec`/`shell`, the Docker API's exec start): checks that the
 * container runs, opens the process's pty in the container's own devpts
 * (with -t, as runc does, so that inside it the terminal is a /dev/pts/N that
 * `tty` and ttyname(3) find), plans the exec stage's request (exec.ts, as
 * health checks do) and spawns the stage (runtime/exec_stage.ts:
 * it enters the namespaces, drops privileges and spawns the command in the
 * container's cgroups) and moves it into those cgroups early. The caller
 * relays the stage's pipes (never its own descriptors: a container process
 * could reopen a host file it was handed through /proc/self/fd/N) or the
 * pty's master, and waits for {@link ExecProcess.child}.
 */
import { TsnspawnError } from "../errors.ts";
import { containerUnit, loadContainer } from "../container/state.ts";
import type { ContainerConfig } from "../container/config.ts";
import { parseSignal, type UserSpec } from "../container/run_options.ts";
import { type ExecRequest, spawnExecStage } from "../runtime/exec_stage.ts";
import { planExecRequest } from "./exec.ts";
import { prepareCgroupVisit } from "../runtime/cgroups.ts";
import { isRunning } from "../systemd/unit_state.ts";
import { openInRoot } from "../../ffi/open_in_root.ts";
import { O_NOCTTY, O_RDWR } from "../../ffi/fifo.ts";
import { type HeldPty, openHeldPty } from "../../ffi/pty.ts";
import type { OpsContext } from "./context.ts";

/** What to run. */
export interface ExecSpec {
  /** The container. */
  name: string;
  command: string[];
  /** KEY=VALUE on top of the container's environment. */
  env: string[];
  /** Names removed from the environment (docker's `Env: ["KEY"]`). */
  envRemove?: string[];
  user?: UserSpec;
  workdir?: string;
  /** A pty as stdin, stdout and stderr. */
  tty: boolean;
  /** Keep stdin open (a pipe when there is no pty). */
  interactive: boolean;
  /** With `tty`: TERM for the process. */
  term?: string;
  /** `tsnspawn shell`: a login shell as the container's user. */
  loginShell?: boolean;
}

/** A started exec process. */
export interface ExecProcess {
  config: ContainerConfig;
  /** The exec stage: its exit status is the command's (exitStatusOfExec). */
  child: Deno.ChildProcess;
  /** With `tty`: the pty; its slave is the process's stdio. Release the slave once it ran. */
  terminal: HeldPty | null;
}

/**
 * Starts `spec` in its container. Stdio: with a pty, the stage's own
 * messages go to `stageStderr` and the command has the pty; without, pipes
 * (stdin piped only when interactive).
 */
export async function startExecProcess(
  ctx: OpsContext,
  spec: ExecSpec,
  stageStderr: "inherit" | "null" | "piped" = "inherit",
): Promise<ExecProcess> {
  const config = loadContainer(spec.name);
  const { unit, leader } = containerUnit(spec.name);
  const systemd = await ctx.systemd();
  const state = await systemd.unitState(unit);
  // A scope (an attached --rm run) reports no main PID: its PID 1 is on record.
  const pid = state?.mainPid || leader || 0;
  if (!isRunning(state) || pid <= 0) {
    throw new TsnspawnError("conflict", `container ${spec.name}: not running`, {
      hint: `start it with 'tsnspawn start ${spec.name}'`,
    });
  }
  const terminal = spec.tty
    ? openHeldPty(openInRoot(pid, "/dev/pts/ptmx", O_RDWR | O_NOCTTY))
    : null;
  const request = planExecRequest(config, pid, unit, {
    command: spec.command,
    env: spec.env,
    ...(spec.tty ? { term: spec.term ?? "xterm" } : {}),
    ...(spec.user ? { userSpec: spec.user } : {}),
    // -u's HOME is that user's (the container's passwd), unless -e sets it.
    ...(spec.user && !spec.env.some((e) => e.startsWith("HOME=")) ? { homeOfUser: true } : {}),
    ...(spec.loginShell ? { loginShell: true } : {}),
    ...(spec.workdir ? { workdir: spec.workdir } : {}),
    terminal: terminal?.slavePath,
  });
  // Docker's `Env: ["KEY"]` in an exec removes KEY (the container's too).
  const removed = new Set(spec.envRemove ?? []);
  if (removed.size > 0) {
    request.env = request.env.filter((entry) => !removed.has(entry.slice(0, entry.indexOf("="))));
  }
  let child: Deno.ChildProcess;
  try {
    child = terminal
      ? spawnExecStage(request, { stdin: "null", stdout: "null", stderr: stageStderr })
      : spawnExecStage(request, {
        stdin: spec.interactive ? "piped" : "null",
        stdout: "piped",
        stderr: "piped",
      });
  } catch (error) {
    terminal?.close();
    throw error;
  }
  moveEarly(child.pid, request);
  return { config, child, terminal };
}

/**
 * Moves the exec stage's main thread into the container's cgroups while its
 * Deno boots (runtime/cgroups.ts prepareCgroupVisit: the stage moves itself
 * too, before it spawns; this only takes the slow first migration off its
 * path). Best effort: the stage may have ended already.
 */
function moveEarly(stage: number, request: ExecRequest): void {
  try {
    const visit = prepareCgroupVisit(request.pid, request.unit);
    try {
      visit.enter(stage);
    } finally {
      visit.close();
    }
  } catch {
    // The exec stage moves itself, or says why it cannot.
  }
}

/** The exec's exit status from the stage's (docker's: 128+N for signal N). */
export function exitStatusOfExec(status: Deno.CommandStatus): number {
  return status.signal ? 128 + parseSignal(status.signal) : status.code;
}

/**
 * `tsnspawn exec` and `tsnspawn shell`: one more process in a running
 * container, with the container's capabilities, no_new_privs, user and
 * environment (runtime/exec_stage.ts does the entering, dropping and
 * spawning). The process is born in the container's cgroups, so its limits
 * apply and `stop` ends it, as `docker exec` processes are part of their
 * container.
 *
 * Its stdio: with -t a pty of the container's own devpts, relayed like
 * `run -it`; otherwise pipes that this command relays, as docker and podman
 * do, never our own descriptors: a container process could reopen a host
 * file it was handed through /proc/self/fd/N with other modes.
 */
import { TsnspawnError } from "../errors.ts";
import { containerUnit, loadContainer } from "../container/state.ts";
import { parseSignal } from "../container/run_options.ts";
import { planExecRequest } from "../ops/exec.ts";
import type { ExecOptions } from "../cli/args.ts";
import { type ExecRequest, spawnExecStage } from "../runtime/exec_stage.ts";
import type { CommandContext } from "./context.ts";
import { isRunning } from "../systemd/unit_state.ts";
import { openTerminal, relayTerminal } from "./terminal.ts";
import { relayUntilQuiet } from "./relay.ts";
import { prepareCgroupVisit } from "../runtime/cgroups.ts";
import { openInRoot } from "../../ffi/open_in_root.ts";
import { O_NOCTTY, O_RDWR } from "../../ffi/fifo.ts";

/** How long output of an ended `exec -t` process is still relayed. */
const RELAY_DRAIN_MS = 200;

/** Runs a command in a running container; returns its exit status. */
export async function execInContainer(
  ctx: CommandContext,
  options: ExecOptions,
  loginShell = false,
): Promise<number> {
  const config = loadContainer(options.name);
  const { unit, leader } = containerUnit(options.name);
  const systemd = await ctx.systemd();
  const state = await systemd.unitState(unit);
  // A scope (an attached --rm run) reports no main PID: its PID 1 is on record.
  const pid = state?.mainPid || leader || 0;
  if (!isRunning(state) || pid <= 0) {
    throw new TsnspawnError("conflict", `container ${options.name}: not running`, {
      hint: `start it with 'tsnspawn start ${options.name}'`,
    });
  }
  // The pty comes from the container's own devpts, as runc's does, so that
  // inside it the terminal is a /dev/pts/N that `tty` and ttyname(3) find.
  const terminal = options.tty
    ? openTerminal(openInRoot(pid, "/dev/pts/ptmx", O_RDWR | O_NOCTTY))
    : null;
  const request: ExecRequest = planExecRequest(config, pid, unit, {
    command: options.command,
    env: options.env,
    ...(options.tty ? { term: Deno.env.get("TERM") ?? "xterm" } : {}),
    ...(options.user ? { userSpec: options.user } : {}),
    ...(loginShell ? { loginShell: true } : {}),
    ...(options.workdir ? { workdir: options.workdir } : {}),
    terminal: terminal?.slavePath,
  });
  try {
    if (terminal) {
      // The exec stage's own messages go to our stderr; the command has the pty.
      const child = spawnExecStage(request, { stdin: "null", stdout: "null", stderr: "inherit" });
      moveEarly(child.pid, request);
      const relay = relayTerminal(terminal, options.interactive);
      const status = await child.status;
      // Our hold on the slave kept the pty open while the command was
      // starting (it opens the slave itself); now the master reads what is
      // left and then EIO. Background processes of the command may keep the
      // slave open: `exec` ends with its process, as docker's does.
      terminal.releaseSlave();
      await Promise.race([relay, new Promise((resolve) => setTimeout(resolve, RELAY_DRAIN_MS))]);
      return exitCode(status);
    }
    const child = spawnExecStage(request, {
      stdin: options.interactive ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
    });
    moveEarly(child.pid, request);
    if (options.interactive) {
      // Ends with an error once the command is gone; stdin may stay open.
      Deno.stdin.readable.pipeTo(child.stdin).catch(() => {});
    }
    const relays = relayUntilQuiet([
      [child.stdout, Deno.stdout],
      [child.stderr, Deno.stderr],
    ]);
    const status = await child.status;
    await relays.finish();
    return exitCode(status);
  } finally {
    terminal?.close();
  }
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

function exitCode(status: Deno.CommandStatus): number {
  return status.signal ? 128 + parseSignal(status.signal) : status.code;
}

/** `tsnspawn shell NAME`: an interactive login shell as the container's user. */
export async function shellInContainer(ctx: CommandContext, name: string): Promise<number> {
  return await execInContainer(ctx, {
    name,
    command: [],
    interactive: true,
    tty: Deno.stdin.isTerminal(),
    env: [],
  }, true);
}

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
import { getWindowSize, setWindowSize } from "../../ffi/pty.ts";
import type { ExecOptions } from "../cli/args.ts";
import type { CommandContext } from "./context.ts";
import { relayTerminal } from "./terminal.ts";
import { relayUntilQuiet } from "./relay.ts";
import { exitStatusOfExec, startExecProcess } from "../ops/exec_process.ts";

/** How long output of an ended `exec -t` process is still relayed. */
const RELAY_DRAIN_MS = 200;

/** Runs a command in a running container; returns its exit status. */
export async function execInContainer(
  ctx: CommandContext,
  options: ExecOptions,
  loginShell = false,
): Promise<number> {
  const { child, terminal } = await startExecProcess(ctx, {
    name: options.name,
    command: options.command,
    env: options.env,
    ...(options.user ? { user: options.user } : {}),
    ...(options.workdir ? { workdir: options.workdir } : {}),
    tty: options.tty,
    interactive: options.interactive,
    term: Deno.env.get("TERM") ?? "xterm",
    ...(loginShell ? { loginShell: true } : {}),
  });
  try {
    if (terminal) {
      if (Deno.stdin.isTerminal()) {
        try {
          setWindowSize(terminal.master, getWindowSize(0));
        } catch { /* keep the default size */ }
      }
      const relay = relayTerminal(terminal, options.interactive);
      const status = await child.status;
      // Our hold on the slave kept the pty open while the command was
      // starting (it opens the slave itself); now the master reads what is
      // left and then EIO. Background processes of the command may keep the
      // slave open: `exec` ends with its process, as docker's does.
      terminal.releaseSlave();
      await Promise.race([relay, new Promise((resolve) => setTimeout(resolve, RELAY_DRAIN_MS))]);
      return exitStatusOfExec(status);
    }
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
    return exitStatusOfExec(status);
  } finally {
    terminal?.close();
  }
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

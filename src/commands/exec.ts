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
import { TsnspawnError } from "../errors.ts";
import { loadContainer } from "../container/state.ts";
import { unitName } from "../paths.ts";
import type { ExecOptions } from "../cli/args.ts";
import type { CommandContext } from "./context.ts";
import { isRunning } from "../systemd/unit_state.ts";
import { openTerminal, relayTerminal } from "./terminal.ts";
import { relayUntilQuiet } from "./relay.ts";
import { exitStatusOfExec, startExecProcess } from "../ops/exec_process.ts";
import { openInRoot } from "../../ffi/open_in_root.ts";
import { closeFd, O_NOCTTY, O_RDWR } from "../../ffi/fifo.ts";
import { CONTAINER_BUS_SOCKET, planShellUnit, shellUnitName } from "../systemd/container_shell.ts";

/** open(2)'s O_PATH: a descriptor that only names the file (the bus socket, to connect to). */
const O_PATH = 0o10000000;

/**
 * Asks the container's systemd for a login shell on a pty of the
 * container's devpts and relays it; null when the container has no system
 * bus to ask (then `exec` gives the shell).
 */
async function shellThroughSystemd(
  ctx: CommandContext,
  name: string,
  uid: number,
): Promise<number | null> {
  const state = await (await ctx.systemd()).unitState(unitName(name));
  if (!isRunning(state) || !state || state.mainPid <= 0) {
    throw new TsnspawnError("conflict", `container ${name}: not running`, {
      hint: `start it with 'tsnspawn start ${name}'`,
    });
  }
  const pid = state.mainPid;
  let busFd: number;
  try {
    // Its system bus socket, never through a link of the container's.
    busFd = openInRoot(pid, CONTAINER_BUS_SOCKET, O_PATH);
  } catch {
    return null;
  }
  const { Systemd } = await import("../systemd/bus.ts");
  let inside;
  try {
    inside = await Systemd.connectTo(`/proc/self/fd/${busFd}`);
  } catch {
    closeFd(busFd);
    return null;
  }
  const terminal = openTerminal(openInRoot(pid, "/dev/pts/ptmx", O_RDWR | O_NOCTTY));
  try {
    const unit = shellUnitName(terminal.slavePath);
    const watch = inside.watchUnit(unit);
    try {
      const result = await inside.startTransientUnit(
        unit,
        planShellUnit({
          tty: terminal.slavePath,
          user: String(uid),
          env: [`TERM=${Deno.env.get("TERM") ?? "xterm"}`],
        }),
      );
      if (result !== "done") {
        throw new TsnspawnError(
          "start-failed",
          `container ${name}: its systemd did not start a shell (${result})`,
        );
      }
      const relay = relayTerminal(terminal, true);
      terminal.releaseSlave();
      await watch.untilInactive();
      const exit = await inside.mainExit(unit);
      // The master reads what the shell wrote, then EIO once it closed the pty.
      await Promise.race([relay, new Promise((resolve) => setTimeout(resolve, SHELL_DRAIN_MS))]);
      await inside.resetFailedUnit(unit).catch(() => {});
      return exit && exit.execMainCode !== 0
        ? (exit.execMainCode === 1 ? exit.execMainStatus : 128 + exit.execMainStatus)
        : 0;
    } finally {
      watch.close();
    }
  } finally {
    terminal.close();
    inside.close();
    closeFd(busFd);
  }
}

/** How long a shell's last output is still relayed once its unit ended. */
const SHELL_DRAIN_MS = 2000;

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

/**
 * `tsnspawn shell NAME`: an interactive login shell as the container's user;
 * in an OS container whose system bus runs, started by its own systemd
 * (systemd/container_shell.ts), as `machinectl shell` does.
 */
export async function shellInContainer(ctx: CommandContext, name: string): Promise<number> {
  const config = loadContainer(name);
  if (config.systemd && Deno.stdin.isTerminal()) {
    const status = await shellThroughSystemd(ctx, name, config.user.uid);
    if (status !== null) return status;
  }
  return await execInContainer(ctx, {
    name,
    command: [],
    interactive: true,
    tty: Deno.stdin.isTerminal(),
    env: [],
  }, true);
}

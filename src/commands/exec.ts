/**
 * `tsnspawn exec` and `tsnspawn shell`: one more process in a running
 * container, with the container's capabilities, no_new_privs, user and
 * environment (runtime/exec_stage.ts does the entering and dropping). The
 * process is moved into the container's unit (AttachProcessesToUnit), so its
 * limits apply and `stop` ends it, as `docker exec` processes are part of
 * their container. With -t it gets its own pty, relayed like `run -it`.
 */
import { TsnspawnError } from "../errors.ts";
import { unitName } from "../paths.ts";
import { loadContainer } from "../state.ts";
import { mergeEnv, parseSignal, resolveUser } from "../run_options.ts";
import type { ExecOptions } from "../cli/args.ts";
import { type ExecRequest, spawnInContainer } from "../runtime/exec_stage.ts";
import type { CommandContext } from "./context.ts";
import { isRunning } from "./start.ts";
import { openTerminal, relayTerminal } from "./terminal.ts";

/** How long output of an ended `exec -t` process is still relayed. */
const RELAY_DRAIN_MS = 200;

/** Reads a file of the running container through its PID 1's root. */
function readContainerFile(pid: number, path: string): string | null {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/root${path}`);
  } catch {
    return null;
  }
}

/** Runs a command in a running container; returns its exit status. */
export async function execInContainer(ctx: CommandContext, options: ExecOptions): Promise<number> {
  const config = loadContainer(options.name);
  const unit = unitName(options.name);
  const systemd = await ctx.systemd();
  const state = await systemd.unitState(unit);
  if (!isRunning(state) || !state || state.mainPid <= 0) {
    throw new TsnspawnError("conflict", `container ${options.name}: not running`, {
      hint: `start it with 'tsnspawn start ${options.name}'`,
    });
  }
  const pid = state.mainPid;
  const user = options.user
    ? resolveUser(
      options.user,
      readContainerFile(pid, "/etc/passwd"),
      readContainerFile(pid, "/etc/group"),
    )
    : config.user;
  // The pty comes from the container's own devpts, as runc's does, so that
  // inside it the terminal is a /dev/pts/N that `tty` and ttyname(3) find.
  const terminal = options.tty ? openTerminal(`/proc/${pid}/root/dev/pts/ptmx`) : null;
  const request: ExecRequest = {
    pid,
    command: options.command,
    env: mergeEnv(
      config.env,
      options.tty ? [`TERM=${Deno.env.get("TERM") ?? "xterm"}`] : [],
      options.env,
    ),
    user,
    workingDir: options.workdir ?? config.workingDir,
    tty: terminal !== null,
    ttyPath: terminal?.slavePath,
    capabilities: config.capabilities,
    noNewPrivileges: config.noNewPrivileges,
    seccomp: config.seccomp,
    ...(config.privileged ? { privileged: true } : {}),
  };
  try {
    const child = spawnInContainer(request, {
      stdin: terminal ? "null" : options.interactive ? "inherit" : "null",
      stdout: terminal ? "null" : "inherit",
      stderr: terminal ? "null" : "inherit",
    });
    try {
      await systemd.attachProcessesToUnit(unit, [child.pid]);
    } catch {
      // The process may have finished already; it ran in the container anyway.
    }
    const relay = terminal ? relayTerminal(terminal, options.interactive) : null;
    const status = await child.status;
    if (terminal) {
      // Our hold on the slave kept the pty open while the exec stage was
      // starting (it opens the slave itself); now the master reads what is
      // left and then EIO. Background processes of the command may keep the
      // slave open: `exec` ends with its process, as docker's does.
      terminal.releaseSlave();
      await Promise.race([relay, new Promise((resolve) => setTimeout(resolve, RELAY_DRAIN_MS))]);
    }
    return status.signal ? 128 + parseSignal(status.signal) : status.code;
  } finally {
    terminal?.close();
  }
}

/** `tsnspawn shell NAME`: an interactive login shell as the container's user. */
export async function shellInContainer(ctx: CommandContext, name: string): Promise<number> {
  const config = loadContainer(name);
  const systemd = await ctx.systemd();
  const state = await systemd.unitState(unitName(name));
  const pid = state?.mainPid ?? 0;
  // The login shell of the container's user, from its /etc/passwd.
  const passwd = pid > 0 ? readContainerFile(pid, "/etc/passwd") ?? "" : "";
  const entry = passwd.split("\n").map((line) => line.split(":"))
    .find((fields) => fields.length >= 7 && Number(fields[2]) === config.user.uid);
  const shell = entry?.[6] && !/nologin|false$/.test(entry[6]) ? entry[6] : "/bin/sh";
  return await execInContainer(ctx, {
    name,
    command: [shell, "-l"],
    interactive: true,
    tty: Deno.stdin.isTerminal(),
    env: [],
  });
}

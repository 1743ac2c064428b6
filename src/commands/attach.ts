/**
 * `tsnspawn attach NAME`, and the attached half of `run -it`/`start -ai`.
 *
 * A -t container: a client of its terminal holder (runtime/terminal_holder.ts,
 * protocol container/terminal_protocol.ts) — its output to our stdout, our
 * input (raw mode) to it, our window size on start and on SIGWINCH; the
 * detach keys (default Ctrl-P Ctrl-Q, `--detach-keys`) leave it running.
 * Several clients may attach at once. A container without a terminal: its
 * output as it comes (docker attach), from the journal, until it ends;
 * SIGINT, SIGTERM and SIGHUP go to the container (docker's --sig-proxy).
 * Either way the exit status is the container's once it ended, 0 after a
 * detach.
 */
import { TsnspawnError } from "../errors.ts";
import { containerPaths, unitName } from "../paths.ts";
import { loadContainer } from "../container/state.ts";
import { parseSignal } from "../container/run_options.ts";
import {
  DEFAULT_DETACH_KEYS,
  DetachKeyWatcher,
  parseDetachKeys,
} from "../container/detach_keys.ts";
import { HolderConnection } from "../runtime/terminal_client.ts";
import { getWindowSize } from "../../ffi/pty.ts";
import { isRunning } from "../systemd/unit_state.ts";
import type { CommandContext } from "./context.ts";
import { exitStatusOf } from "../ops/start.ts";

/** How a terminal attach ended. */
export type AttachEnd =
  /** The container's side of the terminal closed: it ended. */
  | "ended"
  /** The user typed the detach keys. */
  | "detached"
  /** The holder went away without saying the container ended. */
  | "lost"
  /** No holder to attach to. */
  | "unavailable";

/** Options of {@link attachTerminal}. */
export interface TerminalAttach {
  /** The holder's socket (`<container dir>/tty.sock`). */
  socket: string;
  /** First the output of this run so far (run -it, start -ai). */
  replay: boolean;
  /** Send our input (the container was made with -i). */
  interactive: boolean;
  /** docker's --detach-keys syntax; undefined = ctrl-p,ctrl-q. */
  detachKeys?: string;
}

async function writeStdout(bytes: Uint8Array): Promise<void> {
  for (let written = 0; written < bytes.length;) {
    written += await Deno.stdout.write(bytes.subarray(written));
  }
}

/** Attaches to a -t container's terminal until it ends or we detach. */
export async function attachTerminal(options: TerminalAttach): Promise<AttachEnd> {
  // Output in order, each chunk written before the next (and all before we return).
  let printing: Promise<unknown> = Promise.resolve();
  const holder = await HolderConnection.open(options.socket, options.replay, (bytes) => {
    printing = printing.then(() => writeStdout(bytes));
  });
  if (!holder) return "unavailable";
  const terminal = Deno.stdin.isTerminal();
  const sendSize = () => {
    try {
      holder.resize(getWindowSize(0));
    } catch { /* no terminal */ }
  };
  if (terminal) {
    sendSize();
    Deno.stdin.setRaw(true);
    Deno.addSignalListener("SIGWINCH", sendSize);
  }
  let detach: () => void = () => {};
  const detached = new Promise<AttachEnd>((resolve) => detach = () => resolve("detached"));
  if (options.interactive) {
    const watcher = new DetachKeyWatcher(
      parseDetachKeys(options.detachKeys ?? DEFAULT_DETACH_KEYS),
    );
    void (async () => {
      const buffer = new Uint8Array(4096);
      for (;;) {
        let n: number | null;
        try {
          n = await Deno.stdin.read(buffer);
        } catch {
          return;
        }
        // stdin closed: the container keeps running and we keep showing it (docker).
        if (n === null) return;
        const { forward, detach: wantsDetach } = watcher.feed(buffer.subarray(0, n));
        if (forward.length > 0) holder.input(forward);
        if (wantsDetach) return detach();
      }
    })();
  }
  try {
    const end = await Promise.race([holder.ended, detached]);
    await printing.catch(() => {});
    return end;
  } finally {
    if (terminal) {
      Deno.removeSignalListener("SIGWINCH", sendSize);
      Deno.stdin.setRaw(false);
    }
    holder.close();
  }
}

/** `tsnspawn attach [--detach-keys K] [--no-stdin] NAME`: returns the exit status. */
export async function attachCommand(
  ctx: CommandContext,
  name: string,
  options: { detachKeys?: string; noStdin: boolean },
): Promise<number> {
  const config = loadContainer(name);
  const unit = unitName(name);
  const systemd = await ctx.systemd();
  if (!isRunning(await systemd.unitState(unit))) {
    throw new TsnspawnError("conflict", `container ${name}: not running`, {
      hint: `start it with 'tsnspawn start -a ${name}'`,
    });
  }
  const watch = systemd.watchUnit(unit);
  try {
    if (config.tty) {
      const end = await attachTerminal({
        socket: containerPaths(name).terminalSocket,
        replay: false,
        interactive: config.interactive && !options.noStdin,
        detachKeys: options.detachKeys,
      });
      if (end === "detached") return 0;
      if (end === "unavailable") {
        throw new TsnspawnError("not-found", `container ${name}: its terminal is gone`, {
          hint: `its holder ended; see 'journalctl -u tsnspawn-terminal@${name}.service'`,
        });
      }
    } else {
      await followOutput(systemd, name, watch);
    }
    await watch.untilInactive();
    return exitStatusOf(await systemd.mainExit(unit), name);
  } finally {
    watch.close();
  }
}

/** A container without a terminal: its output from now on, until it ends. */
async function followOutput(
  systemd: Awaited<ReturnType<CommandContext["systemd"]>>,
  name: string,
  watch: { untilInactive(): Promise<boolean> },
): Promise<void> {
  const { followContainerOutput } = await import("../systemd/journal.ts");
  const unit = unitName(name);
  const forward = (signal: Deno.Signal) => () => {
    systemd.killUnit(unit, "main", parseSignal(signal)).catch(() => {});
  };
  const handlers: [Deno.Signal, () => void][] = [
    ["SIGINT", forward("SIGINT")],
    ["SIGTERM", forward("SIGTERM")],
    ["SIGHUP", forward("SIGHUP")],
  ];
  for (const [signal, handler] of handlers) Deno.addSignalListener(signal, handler);
  const follower = followContainerOutput(name);
  try {
    await watch.untilInactive();
  } finally {
    for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
    await follower.finish();
  }
}

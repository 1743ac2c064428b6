/**
 * `tsnspawn start`: turns a created container into a running transient unit
 * through the start operation (ops/start.ts), adding what only a terminal
 * front end does: the output written to our stdout and stderr, signals
 * forwarded to the container, attaching to a -t container's terminal
 * (commands/attach.ts, asking for the output so far), the declared-container
 * path (a declared file starts as its generated unit), and an attached
 * `run --rm` run in a scope the CLI sets up itself (src/runtime/attached.ts).
 */
import { containerPaths, unitName } from "../paths.ts";
import { loadContainer } from "../container/state.ts";
import type { Systemd } from "../systemd/bus.ts";
import type { ContainerConfig } from "../container/config.ts";
import { terminalUnitName } from "../systemd/unit_properties.ts";
import { RunOutputFollower, writeOutput } from "../systemd/journal.ts";
import { isDeclared } from "../declared/store.ts";
import { parseSignal } from "../container/run_options.ts";
import type { CommandContext } from "./context.ts";
import { formatTerminalSize } from "../container/terminal_protocol.ts";
import { getWindowSize } from "../../ffi/pty.ts";
import { exitStatusOf, startContainerUnit, type StartedUnit, waitForExit } from "../ops/start.ts";

export { exitStatusOf };

/** Options of a start. */
export interface StartOptions {
  /** Stay attached: stream output, forward signals, return the exit status. */
  attach: boolean;
  /** The container's config when the caller holds it (`run`: just written); else it is read. */
  config?: ContainerConfig;
  /** Attached to a terminal: send our input (`-i`). Default: the container's -i. */
  interactive?: boolean;
  /** --detach-keys of an attached terminal. */
  detachKeys?: string;
}

/**
 * Starts the container's unit. Returns the exit status when attached, else
 * null once the container is running.
 */
export async function startContainer(
  ctx: CommandContext,
  name: string,
  options: StartOptions,
): Promise<number | null> {
  // A declared container (/etc/tsnspawn/NAME.container) runs as its generated unit.
  if (isDeclared(name)) {
    const { startDeclaredContainer } = await import("../ops/start_declared.ts");
    return await startDeclaredContainer(ctx, name, options);
  }
  const config = options.config ?? loadContainer(name);
  // An attached `run --rm` (the config is the one `run` just wrote) runs in
  // a scope, the CLI doing the shim's work (src/runtime/attached.ts).
  if (options.attach && options.config) {
    const { runsInScope, runInScope } = await import("../runtime/attached.ts");
    if (runsInScope(config)) return await runInScope(await ctx.systemd(), config);
  }
  const systemd = await ctx.systemd();
  const started = await startContainerUnit(systemd, config, {
    attach: options.attach,
    output: writeOutput,
    terminalSize: attachedSize(options),
  });
  // Attached starts have a watch; detached ones are done.
  if (!started.watch) return null;
  return await waitAttached(systemd, config, options, { ...started, watch: started.watch });
}

/** The window size a -t container starts with: the attaching terminal's. */
function attachedSize(options: StartOptions): string | undefined {
  if (!options.attach || !Deno.stdin.isTerminal()) return undefined;
  try {
    return formatTerminalSize(getWindowSize(0));
  } catch {
    return undefined;
  }
}

/**
 * Waits for an attached container, forwarding signals, and returns its
 * status; 0 when the user detached from its terminal (it keeps running).
 */
async function waitAttached(
  systemd: Systemd,
  config: ContainerConfig,
  options: StartOptions,
  started: StartedUnit & { watch: NonNullable<StartedUnit["watch"]> },
): Promise<number> {
  const unit = unitName(config.name);
  const forward = (signal: Deno.Signal) => () => {
    systemd.killUnit(unit, "main", parseSignal(signal)).catch(() => {});
  };
  // With a terminal, ^C is a key for the container, not a signal for us.
  const handlers: [Deno.Signal, () => void][] = config.tty
    ? [["SIGTERM", forward("SIGTERM")], ["SIGHUP", forward("SIGHUP")]]
    : [["SIGINT", forward("SIGINT")], ["SIGTERM", forward("SIGTERM")], [
      "SIGHUP",
      forward("SIGHUP"),
    ]];
  for (const [signal, handler] of handlers) Deno.addSignalListener(signal, handler);
  try {
    if (config.tty) {
      const { attachTerminal } = await import("./attach.ts");
      const end = await attachTerminal({
        socket: containerPaths(config.name).terminalSocket,
        replay: true,
        interactive: options.interactive ?? config.interactive,
        detachKeys: options.detachKeys,
      });
      if (end === "detached") {
        started.watch.close();
        return 0;
      }
      if (end === "unavailable") {
        // It ended before we attached: its output is in the journal.
        await started.watch.untilInactive();
        await systemd.waitUntilInactive(terminalUnitName(config.name), 5000);
        await new RunOutputFollower(started.runId, writeOutput).finish();
      }
    }
    return await waitForExit(systemd, config, started);
  } finally {
    for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
  }
}

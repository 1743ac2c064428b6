/**
 * `tsnspawn start`: turns a created container into a running transient unit
 * through the start operation (ops/start.ts), adding what only a terminal
 * front end does: a pty for `-t`, the output written to our stdout and
 * stderr, signals forwarded to the container, the declared-container path
 * (a declared file starts as its generated unit), and an attached `run
 * --rm` run in a scope the CLI sets up itself (src/runtime/attached.ts).
 */
import { unitName } from "../paths.ts";
import { loadContainer } from "../container/state.ts";
import type { Systemd } from "../systemd/bus.ts";
import type { ContainerConfig } from "../container/config.ts";
import { writeOutput } from "../systemd/journal.ts";
import { isDeclared } from "../declared/store.ts";
import { parseSignal } from "../container/run_options.ts";
import type { CommandContext } from "./context.ts";
import { openTerminal, relayTerminal, type Terminal } from "./terminal.ts";
import { exitStatusOf, startContainerUnit, type StartedUnit, waitForExit } from "../ops/start.ts";

export { exitStatusOf };

/** Options of a start. */
export interface StartOptions {
  /** Stay attached: stream output, forward signals, return the exit status. */
  attach: boolean;
  /** The container's config when the caller holds it (`run`: just written); else it is read. */
  config?: ContainerConfig;
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
    const { startDeclaredContainer } = await import("./start_declared.ts");
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
  const terminal = config.tty && options.attach ? openTerminal() : null;
  let started: StartedUnit;
  try {
    started = await startContainerUnit(systemd, config, {
      attach: options.attach,
      output: writeOutput,
      ...(terminal ? { tty: { path: terminal.slavePath } } : {}),
    });
  } catch (error) {
    terminal?.close();
    throw error;
  }
  terminal?.releaseSlave();
  // Attached starts have a watch; detached ones are done.
  if (!started.watch) return null;
  return await waitAttached(systemd, config, { ...started, watch: started.watch }, terminal);
}

/** Waits for an attached container, forwarding signals, and returns its status. */
async function waitAttached(
  systemd: Systemd,
  config: ContainerConfig,
  started: StartedUnit & { watch: NonNullable<StartedUnit["watch"]> },
  terminal: Terminal | null,
): Promise<number> {
  const unit = unitName(config.name);
  const forward = (signal: Deno.Signal) => () => {
    systemd.killUnit(unit, "main", parseSignal(signal)).catch(() => {});
  };
  const handlers: [Deno.Signal, () => void][] = terminal
    ? [["SIGTERM", forward("SIGTERM")], ["SIGHUP", forward("SIGHUP")]]
    : [["SIGINT", forward("SIGINT")], ["SIGTERM", forward("SIGTERM")], [
      "SIGHUP",
      forward("SIGHUP"),
    ]];
  for (const [signal, handler] of handlers) Deno.addSignalListener(signal, handler);
  try {
    const relay = terminal ? relayTerminal(terminal, config.interactive) : null;
    return await waitForExit(systemd, config, started, relay);
  } finally {
    for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
    terminal?.close();
  }
}

/**
 * The CLI's side of an attached start (`run` without -d, `start -a`): the
 * container's output written to our stdout and stderr (or its terminal
 * relayed to ours, in raw mode), the signals we receive forwarded to its
 * main process, and its exit status returned. Starting is ops/start.ts; an
 * attached `run --rm` whose limits cannot bind the runtime runs in a scope
 * the CLI sets up itself instead (runtime/attached.ts), relaying its pipes.
 */
import { unitName } from "../paths.ts";
import { loadContainer } from "../container/state.ts";
import { parseSignal } from "../container/run_options.ts";
import type { ContainerConfig } from "../container/config.ts";
import { writeOutput } from "../systemd/journal.ts";
import { startContainer, waitForExit } from "../ops/start.ts";
import type { CommandContext } from "./context.ts";
import { openTerminal, relayTerminal } from "./terminal.ts";

/** Starts a container attached to this terminal; returns its exit status. */
export async function startAttached(
  ctx: CommandContext,
  name: string,
  knownConfig?: ContainerConfig,
): Promise<number> {
  const config = knownConfig ?? loadContainer(name);
  // An attached `run --rm` (the config is the one `run` just wrote) runs in
  // a scope, the CLI doing the shim's work (src/runtime/attached.ts).
  if (knownConfig) {
    const { runsInScope, runInScope } = await import("../runtime/attached.ts");
    if (runsInScope(config)) return await runInScope(await ctx.systemd(), config);
  }
  const systemd = await ctx.systemd();
  const terminal = config.tty ? openTerminal() : null;
  try {
    const attachment = await startContainer(ctx, name, {
      attach: true,
      config,
      output: writeOutput,
      terminal: terminal ?? undefined,
    });
    // A declared container has no attached start (refused there).
    if (!attachment) return 0;
    const unit = unitName(name);
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
      return await waitForExit(systemd, attachment, relay);
    } finally {
      for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
    }
  } finally {
    terminal?.close();
  }
}

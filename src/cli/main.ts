/**
 * The command line: parse (pure, args.ts), run one command, print errors as
 * one line (`tsnspawn: error: ...` plus a hint line), stack traces only with
 * --debug. Exit statuses: 0 ok, 1 error, 2 usage error, 125 a container that
 * could not be started (docker's convention), else the container's status.
 */
import { TsnspawnError } from "../errors.ts";
import { type Command, helpText, parseCommandLine } from "./args.ts";
import { CommandContext } from "../commands/context.ts";
import { requireRoot } from "../errors.ts";
import { writeOutput } from "../systemd/journal.ts";
import { trace } from "../trace.ts";

import { VERSION } from "../version.ts";

async function execute(command: Command, ctx: CommandContext): Promise<number> {
  switch (command.kind) {
    case "help":
      ctx.print(helpText(command.topic));
      return 0;
    case "version":
      ctx.print(
        command.json
          ? JSON.stringify({ version: VERSION, deno: Deno.version.deno })
          : `tsnspawn ${VERSION} (deno ${Deno.version.deno})`,
      );
      return 0;
  }
  requireRoot(`tsnspawn ${command.kind}`);
  switch (command.kind) {
    case "run":
    case "boot":
    case "create": {
      if (command.dryRun) {
        const { printDryRun } = await import("../commands/dry_run.ts");
        await printDryRun(ctx, command);
        return 0;
      }
      if (command.kind === "create") {
        const { createContainer } = await import("../ops/create.ts");
        ctx.print((await createContainer(command)).id);
        return 0;
      }
      const { runContainer } = await import("../commands/run.ts");
      return await runContainer(ctx, command);
    }
    case "start": {
      if (command.attach) {
        if (command.names.length !== 1) {
          throw new TsnspawnError("usage", "start -a takes exactly one container");
        }
        const { startContainer } = await import("../commands/start.ts");
        return (await startContainer(ctx, command.names[0], {
          attach: true,
          ...(command.interactive ? { interactive: true } : {}),
          detachKeys: command.detachKeys,
        }))!;
      }
      const { startContainer } = await import("../commands/start.ts");
      return await eachName(
        ctx,
        command.names,
        (name) => startContainer(ctx, name, { attach: false }),
      );
    }
    case "attach": {
      const { attachCommand } = await import("../commands/attach.ts");
      return await attachCommand(ctx, command.name, command);
    }
    case "poweroff": {
      const { poweroffContainer } = await import("../commands/power.ts");
      return await eachName(ctx, command.names, (n) => poweroffContainer(ctx, n));
    }
    case "reboot": {
      const { rebootContainer } = await import("../commands/power.ts");
      return await eachName(ctx, command.names, (n) => rebootContainer(ctx, n));
    }
    case "stop": {
      const { stopContainer } = await import("../ops/stop.ts");
      return await eachName(ctx, command.names, (n) => stopContainer(ctx, n, command.timeoutSec));
    }
    case "restart": {
      const { restartContainer } = await import("../ops/stop.ts");
      return await eachName(
        ctx,
        command.names,
        (n) => restartContainer(ctx, n, command.timeoutSec),
      );
    }
    case "kill": {
      const { killContainer } = await import("../ops/stop.ts");
      return await eachName(ctx, command.names, (n) => killContainer(ctx, n, command.signal));
    }
    case "rm": {
      const { removeContainer } = await import("../ops/remove.ts");
      return await eachName(
        ctx,
        command.names,
        async (n) => removeContainer(await ctx.systemd(), n, command.force, command.volumes),
      );
    }
    case "list": {
      const { listContainers, summarizeContainers } = await import("../commands/list.ts");
      if (command.quiet) {
        for (const row of await summarizeContainers(ctx, command.all, command.filters)) {
          ctx.print(row.name);
        }
      } else {
        await listContainers(ctx, command.all, command.filters);
      }
      return 0;
    }
    case "status": {
      const { printStatus } = await import("../commands/status.ts");
      await printStatus(ctx, command.name);
      return 0;
    }
    case "inspect": {
      const { printInspect } = await import("../commands/status.ts");
      await printInspect(ctx, command.names);
      return 0;
    }
    case "logs": {
      const { readContainerLogs } = await import("../ops/logs.ts");
      await readContainerLogs(ctx, command.name, {
        follow: command.follow,
        ...(command.tail !== undefined ? { tail: command.tail } : {}),
        ...(command.since !== undefined ? { sinceText: command.since } : {}),
      }, (line) => writeOutput(line.text + "\n", line.stream));
      return 0;
    }
    case "exec": {
      const { execInContainer } = await import("../commands/exec.ts");
      return await execInContainer(ctx, command);
    }
    case "shell": {
      const { shellInContainer } = await import("../commands/exec.ts");
      return await shellInContainer(ctx, command.name);
    }
    case "import": {
      const { importImage } = await import("../commands/images.ts");
      await importImage(ctx, command.tarball, command.reference);
      return 0;
    }
    case "images": {
      const { listImages } = await import("../commands/images.ts");
      listImages(ctx, command.quiet);
      return 0;
    }
    case "rmi": {
      const { removeImages } = await import("../commands/images.ts");
      await removeImages(ctx, command.references, command.force);
      return 0;
    }
    case "pull": {
      const { pullCommand } = await import("../commands/pull.ts");
      await pullCommand(ctx, command.reference, command);
      return 0;
    }
    case "push": {
      const { pushCommand } = await import("../commands/push.ts");
      await pushCommand(ctx, command.reference, command.destination, command);
      return 0;
    }
    case "login": {
      const { loginCommand } = await import("../commands/login.ts");
      await loginCommand(ctx, command);
      return 0;
    }
    case "logout": {
      const { logoutCommand } = await import("../commands/login.ts");
      logoutCommand(ctx, command.registry);
      return 0;
    }
    case "tag": {
      const { tagCommand } = await import("../commands/images.ts");
      await tagCommand(ctx, command.source, command.target);
      return 0;
    }
    case "image inspect": {
      const { inspectImages } = await import("../commands/images.ts");
      inspectImages(ctx, command.references);
      return 0;
    }
    case "image prune": {
      const { pruneCommand } = await import("../commands/images.ts");
      await pruneCommand(ctx);
      return 0;
    }
    case "network create": {
      const { createNetworkCommand } = await import("../commands/network.ts");
      createNetworkCommand(ctx, command);
      return 0;
    }
    case "network ls": {
      const { listNetworksCommand } = await import("../commands/network.ts");
      await listNetworksCommand(ctx, command);
      return 0;
    }
    case "network inspect": {
      const { inspectNetworksCommand } = await import("../commands/network.ts");
      await inspectNetworksCommand(ctx, command.names);
      return 0;
    }
    case "network connect": {
      const { connectContainer } = await import("../ops/network.ts");
      await connectContainer(ctx, command.network, command.container, command.aliases);
      return 0;
    }
    case "network disconnect": {
      const { disconnectContainer } = await import("../ops/network.ts");
      await disconnectContainer(ctx, command.network, command.container);
      return 0;
    }
    case "rename": {
      const { renameContainer } = await import("../ops/rename.ts");
      await renameContainer(ctx, command.container, command.newName);
      return 0;
    }
    case "network rm": {
      const { removeNetworksCommand } = await import("../commands/network.ts");
      return removeNetworksCommand(ctx, command.names);
    }
    case "volume create": {
      const { createVolumeCommand } = await import("../commands/volume.ts");
      createVolumeCommand(ctx, command);
      return 0;
    }
    case "volume ls": {
      const { listVolumesCommand } = await import("../commands/volume.ts");
      listVolumesCommand(ctx, command);
      return 0;
    }
    case "volume inspect": {
      const { inspectVolumesCommand } = await import("../commands/volume.ts");
      inspectVolumesCommand(ctx, command.names);
      return 0;
    }
    case "volume rm": {
      const { removeVolumesCommand } = await import("../commands/volume.ts");
      return removeVolumesCommand(ctx, command.names, command.force);
    }
    case "volume prune": {
      const { pruneVolumesCommand } = await import("../commands/volume.ts");
      pruneVolumesCommand(ctx, command);
      return 0;
    }
    case "healthcheck run": {
      const { healthcheckCommand } = await import("../commands/healthcheck.ts");
      return await healthcheckCommand(ctx, command.name);
    }
    case "auto-update": {
      const { autoUpdateCommand } = await import("../commands/auto_update.ts");
      return await autoUpdateCommand(ctx, command);
    }
    case "commit": {
      const { commitCommand } = await import("../commands/commit.ts");
      await commitCommand(ctx, command.container, command.reference, command);
      return 0;
    }
    case "build": {
      const { buildCommand } = await import("../commands/build.ts");
      return await buildCommand(ctx, command);
    }
    case "diff": {
      const { diffCommand } = await import("../commands/diff.ts");
      diffCommand(ctx, command.container);
      return 0;
    }
    case "save": {
      const { saveCommand } = await import("../commands/save.ts");
      await saveCommand(ctx, command.references, command.output);
      return 0;
    }
    case "load": {
      const { loadCommand } = await import("../commands/save.ts");
      await loadCommand(ctx, command.input);
      return 0;
    }
    case "enable": {
      const { enableContainer } = await import("../commands/enable.ts");
      return await eachName(ctx, command.names, (n) => enableContainer(ctx, n, command.now));
    }
    case "disable": {
      const { disableContainer } = await import("../commands/enable.ts");
      return await eachName(ctx, command.names, (n) => disableContainer(ctx, n, command.now));
    }
    case "cat": {
      const { catDeclaration } = await import("../commands/validate.ts");
      catDeclaration(ctx, command.name);
      return 0;
    }
    case "validate": {
      const { validateDeclarations } = await import("../commands/validate.ts");
      return validateDeclarations(ctx, command.files);
    }
    case "api": {
      const { runApiService } = await import("../api/service.ts");
      return await runApiService({
        ...(command.socket !== undefined ? { socketPath: command.socket } : {}),
        idleExitSec: command.idleExitSec,
        debug: command.debug,
      });
    }
    case "check": {
      const { checkCommand } = await import("../commands/check.ts");
      return await checkCommand(ctx, { dryRun: command.dryRun });
    }
    case "export": {
      const { exportCommand } = await import("../commands/export.ts");
      await exportCommand(ctx, command.container, command.output);
      return 0;
    }
  }
}

/** Runs `action` for each name like docker: print the name, go on after errors. */
async function eachName(
  ctx: CommandContext,
  names: string[],
  action: (name: string) => Promise<unknown>,
): Promise<number> {
  let status = 0;
  for (const name of names) {
    try {
      await action(name);
      ctx.print(name);
    } catch (error) {
      if (names.length === 1) throw error;
      reportError(error, false);
      status = 1;
    }
  }
  return status;
}

/** Prints an error as one line (plus a hint), with the stack under --debug. */
function reportError(error: unknown, debug: boolean): void {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`tsnspawn: error: ${message}`);
  if (error instanceof TsnspawnError && error.hint) console.error(`tsnspawn: hint: ${error.hint}`);
  if (debug && error instanceof Error) {
    console.error(error.stack);
    let cause = error.cause;
    while (cause instanceof Error) {
      console.error("caused by:", cause.stack);
      cause = cause.cause;
    }
  }
}

/** Exit status for an error. */
function exitStatusFor(error: unknown): number {
  if (!(error instanceof TsnspawnError)) return 1;
  if (error.code === "usage") return 2;
  if (error.code === "start-failed") return 125;
  return 1;
}

/** Runs the CLI with `args`; returns the process exit status. */
export async function main(args: string[]): Promise<number> {
  const debug = args.includes("--debug");
  let ctx: CommandContext | null = null;
  try {
    const command = parseCommandLine(args);
    trace("parsed");
    ctx = new CommandContext({ json: "json" in command && command.json });
    return await execute(command, ctx);
  } catch (error) {
    reportError(error, debug);
    return exitStatusFor(error);
  } finally {
    await ctx?.close();
  }
}

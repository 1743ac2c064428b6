/**
 * `tsnspawn build`: the CLI front end of the build operation
 * (src/build/build_image.ts). It reads the Containerfile (from stdin for
 * `-f -` or the context `-`), prints the build's events as buildah and
 * docker's classic builder do (src/build/events.ts), the RUN steps' output
 * to our stdout and stderr, and turns Ctrl-C (SIGINT, SIGTERM) into an abort
 * that leaves nothing behind. `-q` prints only the image ID (and, when a RUN
 * fails, its last lines of output, which nothing showed).
 */
import { writeFileAtomic } from "../files.ts";
import { writeOutput } from "../systemd/journal.ts";
import { TsnspawnError } from "../errors.ts";
import type { BuildOptions } from "../cli/args.ts";
import type { CommandContext } from "./context.ts";
import { buildImage } from "../build/build_image.ts";
import { type ContainerfileSource, readContainerfile } from "../build/context.ts";
import { type BuildEvent, formatBuildEvent } from "../build/events.ts";
import { RunStepError } from "../build/step_error.ts";

async function readStdin(): Promise<string> {
  return await new Response(Deno.stdin.readable).text();
}

/** Runs `tsnspawn build`; returns the exit status. */
export async function buildCommand(ctx: CommandContext, options: BuildOptions): Promise<number> {
  const contextDir = options.context === "-" ? null : options.context;
  let containerfile: ContainerfileSource;
  if (options.file === "-" || (options.context === "-" && options.file === undefined)) {
    containerfile = { text: await readStdin(), name: "Containerfile" };
  } else {
    containerfile = readContainerfile(contextDir, options.file);
  }
  const reporter = (event: BuildEvent) => {
    if (options.quiet) return;
    if (event.kind === "output") writeOutput(event.text, event.stream);
    else if (event.kind === "note") writeOutput(formatBuildEvent(event), "stderr");
    else writeOutput(formatBuildEvent(event), "stdout");
  };
  const controller = new AbortController();
  const interrupt = () => controller.abort();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, interrupt);
  try {
    const result = await buildImage(
      {
        containerfile,
        contextDir,
        tags: options.tags,
        buildArgs: options.buildArgs,
        ...(options.target !== undefined ? { target: options.target } : {}),
        noCache: options.noCache,
        pull: options.pull,
        network: options.network,
        labels: options.labels,
        ...(options.timestamp !== undefined ? { timestamp: options.timestamp } : {}),
      },
      reporter,
      { systemd: () => ctx.systemd(), signal: controller.signal },
    );
    if (options.iidfile) writeFileAtomic(options.iidfile, result.id);
    if (options.quiet) ctx.print(result.id);
    return 0;
  } catch (error) {
    if (error instanceof RunStepError && options.quiet) {
      for (const line of error.tail) writeOutput(line, "stderr");
    }
    if (error instanceof TsnspawnError && error.code === "interrupted") {
      console.error(`tsnspawn: error: ${error.message}`);
      return 130;
    }
    throw error;
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, interrupt);
  }
}

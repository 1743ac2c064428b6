/**
 * `run --dry-run`/`create --dry-run`: prints the plan — the container
 * configuration and the systemd unit properties — and changes nothing.
 */
import type { RunOptions } from "../cli/args.ts";
import { planNewContainer } from "../ops/create.ts";
import { formatUnitProperties, planUnitProperties } from "../systemd/unit_properties.ts";
import { selfCommand } from "../self_exec.ts";
import { unitName } from "../paths.ts";
import type { CommandContext } from "./context.ts";

/** Prints what `run`/`create` would do. */
export async function printDryRun(ctx: CommandContext, options: RunOptions): Promise<void> {
  const { config } = await planNewContainer(options);
  const properties = planUnitProperties(config, {
    shimCommand: selfCommand("__shim", [config.name]),
    stopCommand: selfCommand("__stop", [config.name]),
    cleanupCommand: selfCommand("__cleanup", [config.name]),
    runId: "<per start>",
    addRef: !options.detach,
  });
  if (ctx.json) {
    ctx.print(
      JSON.stringify(
        { config, unit: unitName(config.name), properties },
        (_k, v) => typeof v === "bigint" ? v.toString() : v,
        2,
      ),
    );
    return;
  }
  ctx.print(
    `# ${unitName(config.name)}\n${formatUnitProperties(properties)}\n\n# config.json\n${
      JSON.stringify(config, null, 2)
    }`,
  );
}

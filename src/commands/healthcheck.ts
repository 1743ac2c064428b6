/**
 * `tsnspawn healthcheck run NAME` (podman's verb): one health check now,
 * printing `healthy` or `unhealthy` (exit 0 or 1, as podman), and the
 * health timer's internal `__healthcheck NAME INVOCATION` (src/health/
 * timer.ts), which logs to its unit's journal and always exits 0 (a
 * failed check is a result, not a failed unit).
 */
import { describeError } from "../errors.ts";
import { runHealthCheck } from "../ops/healthcheck.ts";
import type { CommandContext } from "./context.ts";
import { validateContainerName } from "../container/run_options.ts";

/** `healthcheck run NAME`. */
export async function healthcheckCommand(ctx: CommandContext, name: string): Promise<number> {
  const outcome = (await runHealthCheck(await ctx.systemd(), name))!;
  if (ctx.json) {
    ctx.print(JSON.stringify(outcome, null, 2));
  } else {
    ctx.print(outcome.result.exitCode === 0 ? "healthy" : "unhealthy");
    if (outcome.result.exitCode !== 0 && outcome.result.output.trim() !== "") {
      console.error(outcome.result.output.trimEnd());
    }
  }
  return outcome.result.exitCode === 0 ? 0 : 1;
}

/** Entry of `__healthcheck NAME INVOCATION` (the timer's service). */
export async function runTimerCheck(args: string[]): Promise<number> {
  const { CommandContext } = await import("./context.ts");
  const ctx = new CommandContext({ json: false });
  try {
    const name = validateContainerName(args[0] ?? "");
    const outcome = await runHealthCheck(await ctx.systemd(), name, args[1]);
    if (outcome) {
      const code = outcome.result.exitCode;
      console.log(
        `${name}: ${outcome.status} (check ${code === 0 ? "passed" : `failed, exit ${code}`})${
          outcome.action ? `; ${outcome.action}` : ""
        }`,
      );
    }
    return 0;
  } catch (error) {
    console.error(`healthcheck: ${describeError(error)}`);
    return 0;
  } finally {
    await ctx.close();
  }
}

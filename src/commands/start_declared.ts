/**
 * `tsnspawn start NAME` for a declared container (`/etc/tsnspawn/NAME.container`):
 * the container's unit is the generated `tsnspawn-NAME.service`, so this
 * starts that unit (StartUnit) instead of a transient one. Its
 * `ExecStartPre=` creates or refreshes the container from the file
 * (src/runtime/prepare.ts), exactly as a `systemctl start` or a boot would.
 *
 * When the file changed since systemd last read it (or systemd has no unit
 * yet), the daemon is reloaded first, so the generator runs again. A failed
 * start shows the reason from this start's journal lines and keeps the
 * failed unit for `systemctl status` (a declared unit is the admin's).
 */
import { TsnspawnError } from "../errors.ts";
import { unitName } from "../paths.ts";
import { loadDeclaration } from "../declared/store.ts";
import type { Systemd, UnitFileInfo } from "../systemd/bus.ts";
import type { CommandContext } from "./context.ts";
import { isRunning } from "../systemd/unit_state.ts";

/** Where the generator is installed (by ./setup). */
export const GENERATOR_PATH = "/usr/local/lib/systemd/system-generators/tsnspawn-generator";

/**
 * Makes sure systemd has the current generated unit of `name`: reloads when
 * the unit is missing or its .container file changed. Throws when there is
 * still no unit (no generator installed).
 */
export async function loadDeclaredUnit(systemd: Systemd, name: string): Promise<UnitFileInfo> {
  const unit = unitName(name);
  let info = await systemd.unitFileInfo(unit);
  if (info.loadState !== "loaded" || info.needDaemonReload) {
    await systemd.reload();
    info = await systemd.unitFileInfo(unit);
  }
  if (info.loadState !== "loaded") {
    throw new TsnspawnError(
      "systemd",
      `container ${name}: declared, but systemd has no unit ${unit} (${info.loadState})`,
      {
        hint:
          `install the generator (${GENERATOR_PATH}) with ./setup, then 'systemctl daemon-reload'`,
      },
    );
  }
  return info;
}

/** This start's lines of the unit's journal (since `since`), oldest first. */
async function journalSince(unit: string, since: Date): Promise<string[]> {
  await new Deno.Command("journalctl", { args: ["--sync"], stdout: "null", stderr: "null" })
    .output();
  const output = await new Deno.Command("journalctl", {
    args: [
      "--no-pager",
      "--quiet",
      "--output=cat",
      `--since=@${Math.floor(since.getTime() / 1000)}`,
      "-u",
      unit,
    ],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(output.stdout).split("\n").filter((l) => l.trim() !== "");
}

/** Starts a declared container's unit; resolves to null once it runs (no attach). */
export async function startDeclaredContainer(
  ctx: CommandContext,
  name: string,
  options: { attach: boolean },
): Promise<number | null> {
  if (options.attach) {
    throw new TsnspawnError(
      "usage",
      `container ${name}: start -a is not available for a declared container`,
      {
        hint: `start it, then follow its output with 'tsnspawn logs -f ${name}'`,
      },
    );
  }
  // A broken file: its first problem, by line. The container may be named
  // by its file (web.container with ContainerName=frontend runs as frontend).
  name = loadDeclaration(name).name;
  const unit = unitName(name);
  const systemd = await ctx.systemd();
  await loadDeclaredUnit(systemd, name);
  if (isRunning(await systemd.unitState(unit))) {
    throw new TsnspawnError("conflict", `container ${name}: already running`, {
      hint: `stop it first with 'tsnspawn stop ${name}'`,
    });
  }
  const started = new Date();
  const result = await systemd.startUnit(unit);
  if (result !== "done") {
    const lines = await journalSince(unit, started);
    const reported = lines.filter((l) => l.startsWith("tsnspawn: ")).map((l) =>
      l.slice("tsnspawn: ".length)
    );
    const hint = reported.filter((l) => l.startsWith("hint: ")).at(-1)?.slice("hint: ".length);
    const reason = reported.filter((l) => !l.startsWith("hint: ")).at(-1) ?? lines.at(-1) ??
      `the start job ended with "${result}"`;
    throw new TsnspawnError("start-failed", `container ${name} failed to start: ${reason}`, {
      hint: hint ?? `see 'systemctl status ${unit}' and 'journalctl -u ${unit}'`,
    });
  }
  return null;
}

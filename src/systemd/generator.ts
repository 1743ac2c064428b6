/**
 * The systemd generator (`tsnspawn __generate NORMAL EARLY LATE`, run by
 * units/tsnspawn-generator; systemd.generator(7)): at boot and on every
 * daemon-reload, each `/etc/tsnspawn/<name>.container` becomes
 * `tsnspawn-<name>.service` in the normal generator directory.
 *
 * Generators run before most of the system is up: no D-Bus, no journald at
 * boot. So this reads files and writes files, nothing else, and it is quick.
 *
 * Enabled containers (`tsnspawn enable`: a link in /etc/tsnspawn/enabled/)
 * are hooked into their `[Install]` targets here, with the symlinks
 * `systemctl enable` would make (`multi-user.target.wants/…`), but in the
 * generator's directory: systemd cannot enable a generated unit itself, and
 * this way whether a container starts at boot is decided by /etc/tsnspawn
 * alone.
 *
 * A broken file is skipped — the others are still generated — and each of
 * its problems is logged with file and line: to the journal when journald
 * runs (daemon-reload; through systemd-cat), else to /dev/kmsg (boot, where
 * journald picks the kernel log up later), and always to stderr.
 * The exit status is 0 even then: a generator failure would only add noise.
 */
import { dirname, join } from "@std/path";
import { formatProblem, planContainerUnit, planInstallLinks } from "./container_unit.ts";
import {
  hostUnitContext,
  isEnabled,
  listDeclarationFiles,
  readDeclarationFile,
} from "./declared_store.ts";
import { unitName } from "../paths.ts";

/** The syslog identifier of the generator's messages (`journalctl -t tsnspawn-generator`). */
export const GENERATOR_IDENTIFIER = "tsnspawn-generator";

/** What one generator run made. */
export interface GeneratorResult {
  /** Unit file names written. */
  units: string[];
  /** Problems, formatted `path:line: message`. */
  problems: string[];
}

/** Generates the units (and the links of enabled containers) into `outputDir`. */
export function generateUnits(outputDir: string): GeneratorResult {
  const result: GeneratorResult = { units: [], problems: [] };
  const context = hostUnitContext();
  for (const path of listDeclarationFiles()) {
    try {
      const { declaration, problems } = readDeclarationFile(path);
      result.problems.push(...problems.map((p) => `${formatProblem(p)}, skipping the file`));
      if (!declaration) continue;
      const unit = unitName(declaration.name);
      Deno.writeTextFileSync(join(outputDir, unit), planContainerUnit(declaration, context), {
        mode: 0o644,
      });
      if (isEnabled(declaration.name)) {
        for (const link of planInstallLinks(declaration)) {
          const at = join(outputDir, link.path);
          Deno.mkdirSync(dirname(at), { recursive: true, mode: 0o755 });
          try {
            Deno.symlinkSync(link.target, at);
          } catch (error) {
            if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
          }
        }
      }
      result.units.push(unit);
    } catch (error) {
      result.problems.push(
        `${path}: ${error instanceof Error ? error.message : error}, skipping the file`,
      );
    }
  }
  return result;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Logs the generator's problems where they reach the journal (see the module comment). */
async function logProblems(lines: string[]): Promise<void> {
  if (lines.length === 0) return;
  for (const line of lines) console.error(`${GENERATOR_IDENTIFIER}: ${line}`);
  if (exists("/run/systemd/journal/stdout")) {
    try {
      const child = new Deno.Command("systemd-cat", {
        args: ["-t", GENERATOR_IDENTIFIER, "-p", "err"],
        stdin: "piped",
        stdout: "null",
        stderr: "null",
      }).spawn();
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(lines.join("\n") + "\n"));
      await writer.close();
      if ((await child.status).success) return;
    } catch { /* fall back to the kernel log */ }
  }
  try {
    const kmsg = Deno.openSync("/dev/kmsg", { write: true });
    try {
      // One write per record; <3> is LOG_ERR.
      for (const line of lines) {
        kmsg.writeSync(new TextEncoder().encode(`<3>${GENERATOR_IDENTIFIER}: ${line}\n`));
      }
    } finally {
      kmsg.close();
    }
  } catch { /* no kernel log here: stderr was all we had */ }
}

/** Entry of `__generate NORMAL [EARLY LATE]`; resolves to the exit status. */
export async function runGenerator(args: string[]): Promise<number> {
  const [normal] = args;
  if (!normal) {
    console.error(
      `${GENERATOR_IDENTIFIER}: usage: __generate NORMAL_DIR [EARLY_DIR LATE_DIR] (run by systemd)`,
    );
    return 2;
  }
  let result: GeneratorResult;
  try {
    result = generateUnits(normal);
  } catch (error) {
    await logProblems([`cannot generate units: ${error instanceof Error ? error.message : error}`]);
    return 1;
  }
  await logProblems(result.problems);
  return 0;
}

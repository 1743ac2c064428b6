/**
 * The systemd generator (`tsnspawn __generate NORMAL EARLY LATE`, run by
 * units/tsnspawn-generator; systemd.generator(7)): at boot and on every
 * daemon-reload, each declared file in the search directories (store.ts)
 * becomes its unit in the normal generator directory: a `.container` its
 * `tsnspawn-<container>.service` (a template its `tsnspawn-<name>@.service`),
 * a `.network`, `.volume`, `.image`, `.build` its oneshot unit
 * (resources.ts).
 *
 * Generators run before most of the system is up: no D-Bus, no journald at
 * boot. So this reads files and writes files, nothing else, and it is quick.
 *
 * Enabled containers (`tsnspawn enable`: a link in /etc/tsnspawn/enabled/)
 * are hooked into their `[Install]` targets here, with the symlinks
 * `systemctl enable` would make (`multi-user.target.wants/…`), but in the
 * generator's directory: systemd cannot enable a generated unit itself, and
 * this way whether a container starts at boot is decided by /etc/tsnspawn
 * alone. A network, volume, image or build file's `[Install]` applies as it
 * is (quadlet's rule; they are usually pulled in by the containers that
 * name them).
 *
 * A broken file is skipped — the others are still generated — and each of
 * its problems is logged with file and line: to the journal when journald
 * runs (daemon-reload; through systemd-cat), else to /dev/kmsg (boot, where
 * journald picks the kernel log up later), and always to stderr.
 * The exit status is 0 even then: a generator failure would only add noise.
 */
import { dirname, join } from "../path_util.ts";
import { formatProblem } from "./common.ts";
import { containerInstallLinks, convertContainer, planContainerUnit } from "./container.ts";
import { convertResource } from "./resources.ts";
import { enabledMarks, hostUnitContext, readDeclaredSet, readHostFacts } from "./store.ts";
import type { InstallLink } from "./common.ts";
import { templateParts } from "./source.ts";

/** The syslog identifier of the generator's messages (`journalctl -t tsnspawn-generator`). */
export const GENERATOR_IDENTIFIER = "tsnspawn-generator";

/** What one generator run made. */
export interface GeneratorResult {
  /** Unit file names written. */
  units: string[];
  /** Problems, formatted `path:line: message`. */
  problems: string[];
}

function writeLinks(outputDir: string, links: readonly InstallLink[]): void {
  for (const link of links) {
    const at = join(outputDir, link.path);
    Deno.mkdirSync(dirname(at), { recursive: true, mode: 0o755 });
    try {
      Deno.symlinkSync(link.target, at);
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
  }
}

/** Generates the units (and the links of enabled containers) into `outputDir`. */
export function generateUnits(outputDir: string): GeneratorResult {
  const result: GeneratorResult = { units: [], problems: [] };
  const host = readHostFacts();
  const context = hostUnitContext();
  const set = readDeclaredSet(host);
  const skipped = new Set<string>();
  for (const problem of set.problems) {
    result.problems.push(`${formatProblem(problem)}, skipping the file`);
    skipped.add(problem.path);
  }
  const marks = enabledMarks();
  for (const source of set.sources) {
    if (skipped.has(source.path)) continue;
    try {
      if (source.kind !== "container") {
        const { unit, problems } = convertResource(source, {
          host,
          command: context.command,
          units: set.units,
        });
        result.problems.push(...problems.map((p) => `${formatProblem(p)}, skipping the file`));
        if (!unit) continue;
        Deno.writeTextFileSync(join(outputDir, unit.unitFile), unit.text, { mode: 0o644 });
        writeLinks(outputDir, unit.links);
        result.units.push(unit.unitFile);
        continue;
      }
      const { declaration, problems } = convertContainer(source, { host, units: set.units });
      result.problems.push(...problems.map((p) => `${formatProblem(p)}, skipping the file`));
      if (!declaration) continue;
      Deno.writeTextFileSync(
        join(outputDir, declaration.unitFile),
        planContainerUnit(declaration, context),
        {
          mode: 0o644,
        },
      );
      const base = source.fileName.slice(0, -".container".length);
      const parts = templateParts(source.fileName);
      if (declaration.template) {
        // `enable web@7` marks web@7; `enable web@` the DefaultInstance.
        for (const mark of marks) {
          if (mark === base) writeLinks(outputDir, containerInstallLinks(declaration));
          else if (
            mark.startsWith(`${parts!.prefix}@`) &&
            !set.sources.some((s) => s.fileName === `${mark}.container`)
          ) {
            writeLinks(
              outputDir,
              containerInstallLinks(declaration, mark.slice(parts!.prefix.length + 1)),
            );
          }
        }
      } else if (marks.includes(base) || marks.includes(declaration.name)) {
        writeLinks(outputDir, containerInstallLinks(declaration));
      }
      result.units.push(declaration.unitFile);
    } catch (error) {
      result.problems.push(
        `${source.path}: ${error instanceof Error ? error.message : error}, skipping the file`,
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

/**
 * `tsnspawn validate [FILE|NAME...]` and `tsnspawn cat NAME|FILE`: what
 * declared files say and what systemd gets from them, without starting
 * anything.
 *
 * validate reports every problem of each file as `path:line: message`
 * (unknown sections and keys, unsupported keys with the reason, bad
 * values, references to files that do not exist, conflicting keys; a
 * drop-in's problems name the drop-in) — the same checks and messages the
 * generator logs — goes on after a file it cannot read, and exits 1 if
 * there is any problem. cat prints the file, its drop-ins, and the unit
 * the generator makes of it.
 */
import { TsnspawnError } from "../errors.ts";
import { type DeclarationProblem, formatProblem } from "../declared/common.ts";
import { convertContainer, planContainerUnit } from "../declared/container.ts";
import { convertResource } from "../declared/resources.ts";
import {
  findContainerSource,
  foundFile,
  hostUnitContext,
  planUnits,
  readContainerSource,
  readDeclaredSet,
  readHostFacts,
  readSource,
  searchDirs,
  searchRoots,
} from "../declared/store.ts";
import { type DeclaredSource, kindOf } from "../declared/source.ts";
import type { UnitInfo } from "../declared/names.ts";
import type { CommandContext } from "./context.ts";

/** The problems of one source (conversion only; reading was done). */
function problemsOf(
  source: DeclaredSource,
  units: ReadonlyMap<string, UnitInfo>,
): DeclarationProblem[] {
  const host = readHostFacts();
  if (source.kind === "container") return convertContainer(source, { host, units }).problems;
  return convertResource(source, { host, command: hostUnitContext().command, units }).problems;
}

/** Validates the files; prints problems (stderr) and a summary; returns the exit status. */
export function validateDeclarations(ctx: CommandContext, args: string[]): number {
  const host = readHostFacts();
  const set = readDeclaredSet(host);
  const dirs = searchDirs();
  // Each argument: a file path, a declared file's name, or a container's name.
  const targets: { path: string; problems: DeclarationProblem[]; source: DeclaredSource | null }[] =
    [];
  if (args.length === 0) {
    const bad = new Set(set.problems.map((p) => p.path));
    for (const problem of set.problems) {
      if (!set.sources.some((s) => s.path === problem.path)) {
        targets.push({ path: problem.path, problems: [problem], source: null });
      }
    }
    for (const source of set.sources) {
      const own = set.problems.filter((p) =>
        p.path === source.path || p.path.includes(`/${source.fileName}.d/`)
      );
      targets.push({ path: source.path, problems: bad.has(source.path) ? own : own, source });
    }
    if (targets.length === 0) {
      ctx.print(`no declared files in ${searchRoots().join(", ")}`);
      return 0;
    }
  } else {
    for (const arg of args) {
      if (arg.includes("/")) {
        const read = readSource(foundFile(arg), dirs);
        targets.push({ path: arg, problems: read.problems, source: read.source });
        continue;
      }
      const byName = kindOf(arg)
        ? set.sources.find((s) => s.fileName === arg)
        : findContainerSource(set, arg)?.source;
      if (!byName) {
        targets.push({
          path: arg,
          problems: [{
            path: arg,
            line: 0,
            message: "no such declared file or container",
            hint: `the search directories are ${searchRoots().join(", ")}`,
          }],
          source: null,
        });
        continue;
      }
      targets.push({
        path: byName.path,
        problems: set.problems.filter((p) =>
          p.path === byName.path || p.path.includes(`/${byName.fileName}.d/`)
        ),
        source: byName,
      });
    }
  }
  let bad = 0;
  for (const target of targets) {
    const problems = [...target.problems];
    if (target.source && problems.length === 0) {
      // A file given by path may be outside the search directories: it joins the map.
      const units = set.units.has(target.source.fileName)
        ? set.units
        : new Map([...set.units, ...planUnits([target.source], host)]);
      problems.push(...problemsOf(target.source, units));
    }
    for (const problem of problems) console.error(formatProblem(problem));
    if (problems.length > 0) bad++;
    else ctx.print(`${target.path}: ok`);
  }
  return bad > 0 ? 1 : 0;
}

/** Prints a declared file, its drop-ins, and the unit made from it. */
export function catDeclaration(ctx: CommandContext, name: string): void {
  const host = readHostFacts();
  const set = readDeclaredSet(host);
  const byFile = kindOf(name) ? set.sources.find((s) => s.fileName === name) : undefined;
  const read = byFile
    ? { source: byFile, problems: [] }
    : kindOf(name)
    ? null
    : readContainerSource(set, name);
  if (read && !read.source) return printProblems(ctx, name, read.problems);
  const found = read?.source ? { source: read.source } : null;
  if (!found) {
    throw new TsnspawnError("not-found", `${name}: not declared`, {
      hint: `declared files are NAME.container (.network, .volume, .image, .build) in ${
        searchRoots().join(", ")
      }`,
    });
  }
  const { source } = found;
  const paths = [...new Set(source.sections.map((s) => s.path))];
  for (const path of paths) {
    let text = "";
    try {
      text = Deno.readTextFileSync(path);
    } catch (error) {
      text = `# cannot be read: ${error instanceof Error ? error.message : error}\n`;
    }
    ctx.print(`# ${path}\n${text.endsWith("\n") ? text : text + "\n"}`);
  }
  const context = hostUnitContext();
  if (source.kind === "container") {
    const { declaration, problems } = convertContainer(source, { host, units: set.units });
    if (!declaration) return printProblems(ctx, source.fileName, problems);
    ctx.print(planContainerUnit(declaration, context));
    return;
  }
  const { unit, problems } = convertResource(source, {
    host,
    command: context.command,
    units: set.units,
  });
  if (!unit) return printProblems(ctx, source.fileName, problems);
  ctx.print(unit.text);
}

function printProblems(ctx: CommandContext, file: string, problems: DeclarationProblem[]): void {
  ctx.print(`# ${file}: no unit is generated, the file has problems:`);
  for (const problem of problems) ctx.print(`#   ${formatProblem(problem)}`);
}

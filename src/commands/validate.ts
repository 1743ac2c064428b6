/**
 * `tsnspawn validate [FILE|NAME...]` and `tsnspawn cat NAME`: what a
 * declaration says and what systemd gets from it, without starting anything.
 *
 * validate reports every problem of each file as `path:line: message`
 * (unknown sections and keys, bad values, conflicting keys) — the same
 * checks and messages the generator logs — and exits 1 if there is any.
 * cat prints the file and the unit the generator makes of it.
 */
import { TsnspawnError } from "../errors.ts";
import { formatProblem, planContainerUnit } from "../systemd/container_unit.ts";
import {
  hostUnitContext,
  listDeclarationFiles,
  readDeclarationFile,
} from "../systemd/declared_store.ts";
import { declaredDir, declaredFile, unitName } from "../paths.ts";
import { validateContainerName } from "../container/run_options.ts";
import type { CommandContext } from "./context.ts";

/** A FILE or NAME argument → the declaration path. */
function declarationPath(arg: string): string {
  if (arg.includes("/") || arg.endsWith(".container")) return arg;
  return declaredFile(validateContainerName(arg));
}

/** Validates the files; prints problems (stderr) and a summary; returns the exit status. */
export function validateDeclarations(ctx: CommandContext, args: string[]): number {
  const paths = args.length > 0 ? args.map(declarationPath) : listDeclarationFiles();
  if (paths.length === 0) {
    ctx.print(`no .container files in ${declaredDir()}`);
    return 0;
  }
  let bad = 0;
  for (const path of paths) {
    const { problems } = readDeclarationFile(path);
    for (const problem of problems) console.error(formatProblem(problem));
    if (problems.length > 0) bad++;
    else ctx.print(`${path}: ok`);
  }
  return bad > 0 ? 1 : 0;
}

/** Prints a declared container's file and its generated unit. */
export function catDeclaration(ctx: CommandContext, name: string): void {
  const path = declaredFile(name);
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch {
    throw new TsnspawnError("not-found", `container ${name}: no declaration ${path}`, {
      hint: `declared containers are ${declaredDir()}/<name>.container files`,
    });
  }
  ctx.print(`# ${path}\n${text.endsWith("\n") ? text : text + "\n"}`);
  const { declaration, problems } = readDeclarationFile(path);
  if (!declaration) {
    ctx.print(`# ${unitName(name)}: not generated, the file has problems:`);
    for (const problem of problems) ctx.print(`#   ${formatProblem(problem)}`);
    return;
  }
  ctx.print(planContainerUnit(declaration, hostUnitContext()));
}

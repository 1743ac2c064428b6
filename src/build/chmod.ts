/**
 * COPY/ADD `--chmod` values (pure): octal (`755`, `0644`) or chmod(1)
 * symbolic notation (`+x`, `u=rwX,go=rX`, `g=u`).
 *
 * Spec: Dockerfile reference "COPY --chmod" (symbolic since Dockerfile 1.14;
 * BuildKit applies it like chmod with a zero umask, so an empty "who" means
 * all) and chmod(1): clauses separated by commas, each `[ugoa]*` followed by
 * operations `+`, `-` or `=` with permissions `rwxXst` or one class `u`,
 * `g`, `o` to copy; `X` is execute only for directories or files that
 * already have an execute bit.
 */
import { TsnspawnError } from "../errors.ts";

/** Computes a new mode from the current one (07777 bits) and whether it is a directory. */
export type ModeChange = (mode: number, isDirectory: boolean) => number;

const CLASS_BITS = { u: 0o4700, g: 0o2070, o: 0o0007 } as const;
const ALL = 0o7777;

function bad(spec: string, why: string): TsnspawnError {
  return new TsnspawnError("invalid", `invalid --chmod=${spec}: ${why}`, {
    hint: "use octal like 644 or 0755, or symbolic like u=rwX,go=rX or +x",
  });
}

/** Parses a --chmod value into the change it makes. */
export function parseChmod(spec: string): ModeChange {
  if (/^[0-7]{1,4}$/u.test(spec)) {
    const mode = parseInt(spec, 8);
    return () => mode;
  }
  if (spec === "") throw bad(spec, "empty");
  const clauses = spec.split(",").map((clause) => parseClause(clause, spec));
  return (mode, isDirectory) =>
    clauses.reduce((current, clause) => clause(current, isDirectory), mode & ALL);
}

function parseClause(clause: string, spec: string): ModeChange {
  const match = /^([ugoa]*)((?:[-+=](?:[rwxXst]*|[ugo]))+)$/u.exec(clause);
  if (!match) throw bad(spec, `cannot read ${JSON.stringify(clause)}`);
  const who = match[1] === "" || match[1].includes("a") ? "ugo" : match[1];
  const mask = [...who].reduce((bits, c) => bits | CLASS_BITS[c as "u" | "g" | "o"], 0) |
    (who === "ugo" ? 0o1000 : 0);
  const operations = [...match[2].matchAll(/([-+=])([ugo]|[rwxXst]*)/gu)].map((m) => ({
    op: m[1],
    perms: m[2],
  }));
  return (mode, isDirectory) => {
    let current = mode;
    for (const { op, perms } of operations) {
      const bits = permissionBits(perms, current, isDirectory) & mask;
      if (op === "+") current |= bits;
      else if (op === "-") current &= ~bits;
      else current = (current & ~mask) | bits;
    }
    return current & ALL;
  };
}

/** The bits a permission list stands for, before masking by "who". */
function permissionBits(perms: string, current: number, isDirectory: boolean): number {
  if (perms === "u" || perms === "g" || perms === "o") {
    const shift = perms === "u" ? 6 : perms === "g" ? 3 : 0;
    const rwx = (current >> shift) & 0o7;
    return rwx * 0o111;
  }
  let bits = 0;
  for (const p of perms) {
    if (p === "r") bits |= 0o444;
    else if (p === "w") bits |= 0o222;
    else if (p === "x") bits |= 0o111;
    else if (p === "X" && (isDirectory || (current & 0o111) !== 0)) bits |= 0o111;
    else if (p === "s") bits |= 0o6000;
    else if (p === "t") bits |= 0o1000;
  }
  return bits;
}

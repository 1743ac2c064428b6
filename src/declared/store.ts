/**
 * Declared files on disk (effects, read only): the search directories,
 * finding every declared file and its drop-ins, reading them into sources
 * (source.ts), the map of what each file makes (names.ts), the host facts
 * `%` specifiers need, and finding a container's declaration by name.
 *
 * Search directories, in precedence order (quadlet's rule set, adapted:
 * podman-systemd.unit(5) "Podman rootful unit search path"):
 *
 *   /run/tsnspawn/declared     temporary files
 *   /etc/tsnspawn              the administrator's (`TSNSPAWN_CONFIG_DIR` overrides it)
 *   /usr/local/share/tsnspawn  locally installed software's
 *   /usr/share/tsnspawn        the distribution's
 *
 * `TSNSPAWN_UNIT_DIRS` (colon-separated, as quadlet's QUADLET_UNIT_DIRS)
 * replaces the list; with only `TSNSPAWN_CONFIG_DIR` set, that directory is
 * the list. Subdirectories are searched too (not `enabled/` and not drop-in
 * `*.d` directories); a file name found first hides the same name later.
 * Drop-ins are looked up in every search directory (source.ts).
 */
import { basename, dirname, join } from "../path_util.ts";
import { TsnspawnError } from "../errors.ts";
import { containerPaths, declaredDir, enabledMark, stateRoot } from "../paths.ts";
import { parseUnitFile, type UnitFile } from "../systemd/unit_file.ts";
import { selfCommand } from "../self_exec.ts";
import { machinedInstalled } from "../systemd/machined.ts";
import { type DeclarationProblem, type HostFacts, planSpecifiers } from "./common.ts";
import {
  type ContainerDeclaration,
  convertContainer,
  declarationError,
  type UnitContext,
} from "./container.ts";
import { INSTANCE_TOKEN, planUnitInfo, type UnitInfo } from "./names.ts";
import {
  chooseDropins,
  type DeclaredSource,
  kindOf,
  planDropinDirs,
  planSource,
  templateParts,
  UNSUPPORTED_KINDS,
} from "./source.ts";
import { expandSpecifiers } from "../systemd/unit_file.ts";

function readOr(path: string, fallback: string): string {
  try {
    return Deno.readTextFileSync(path).trim();
  } catch {
    return fallback;
  }
}

/** The host facts behind %H, %l, %m, %b and %v. */
export function readHostFacts(): HostFacts {
  return {
    hostname: readOr("/proc/sys/kernel/hostname", "localhost"),
    machineId: readOr("/etc/machine-id", ""),
    bootId: readOr("/proc/sys/kernel/random/boot_id", "").replaceAll("-", ""),
    kernelRelease: readOr("/proc/sys/kernel/osrelease", ""),
  };
}

/** The search directories' roots, in precedence order (module comment). */
export function searchRoots(): string[] {
  const dirs = Deno.env.get("TSNSPAWN_UNIT_DIRS");
  if (dirs) return dirs.split(":").filter((d) => d.startsWith("/"));
  if (Deno.env.get("TSNSPAWN_CONFIG_DIR")) return [declaredDir()];
  return [
    "/run/tsnspawn/declared",
    declaredDir(),
    "/usr/local/share/tsnspawn",
    "/usr/share/tsnspawn",
  ];
}

/** A directory's entries; none when it is missing or unreadable. */
function entries(dir: string): Deno.DirEntry[] {
  try {
    return [...Deno.readDirSync(dir)].sort((a, b) => (a.name < b.name ? -1 : 1));
  } catch {
    return [];
  }
}

/** The search directories with their subdirectories (not enabled/ or *.d), each once. */
export function searchDirs(): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const walk = (dir: string, depth: number) => {
    let real: string;
    try {
      real = Deno.realPathSync(dir);
    } catch {
      return;
    }
    if (seen.has(real) || depth > 8) return;
    seen.add(real);
    out.push(dir);
    for (const entry of entries(dir)) {
      if (entry.name === "enabled" || entry.name.endsWith(".d") || entry.name.startsWith(".")) {
        continue;
      }
      const path = join(dir, entry.name);
      let isDir = entry.isDirectory;
      if (entry.isSymlink) {
        try {
          isDir = Deno.statSync(path).isDirectory;
        } catch {
          isDir = false;
        }
      }
      if (isDir) walk(path, depth + 1);
    }
  };
  for (const root of searchRoots()) walk(root, 0);
  return out;
}

/** A declared file found in a search directory. */
export interface FoundFile {
  fileName: string;
  path: string;
}

/** What {@link findFiles} found: declared files, and files of kinds tsnspawn does not read. */
export interface FoundFiles {
  files: FoundFile[];
  unsupported: DeclarationProblem[];
}

/** Every declared file in the search directories (the first of each name wins), sorted by name. */
export function findFiles(dirs = searchDirs()): FoundFiles {
  const files = new Map<string, string>();
  const unsupported: DeclarationProblem[] = [];
  for (const dir of dirs) {
    for (const entry of entries(dir)) {
      const path = join(dir, entry.name);
      const ext = entry.name.slice(entry.name.lastIndexOf(".") + 1);
      if (Object.hasOwn(UNSUPPORTED_KINDS, ext) && entry.name.length > ext.length + 1) {
        unsupported.push({
          path,
          line: 0,
          message: `.${ext} files are not supported`,
          hint: UNSUPPORTED_KINDS[ext],
        });
        continue;
      }
      if (!kindOf(entry.name) || files.has(entry.name)) continue;
      if (!(entry.isFile || entry.isSymlink)) continue;
      files.set(entry.name, path);
    }
  }
  return {
    files: [...files].sort(([a], [b]) => (a < b ? -1 : 1)).map(([fileName, path]) => ({
      fileName,
      path,
    })),
    unsupported,
  };
}

/** Reads and parses one file; its syntax problems come back with its path. */
function readUnit(path: string): { file: UnitFile | null; problems: DeclarationProblem[] } {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    const detail = error instanceof Deno.errors.NotFound
      ? "no such file"
      : `cannot be read: ${error instanceof Error ? error.message : error}`;
    return { file: null, problems: [{ path, line: 0, message: detail }] };
  }
  const parsed = parseUnitFile(text);
  return { file: parsed.file, problems: parsed.problems.map((p) => ({ path, ...p })) };
}

/** A declared file read with its drop-ins, and the problems met reading them. */
export interface ReadSource {
  source: DeclaredSource | null;
  problems: DeclarationProblem[];
}

/** Reads a declared file and merges its drop-ins (quadlet's order, source.ts). */
export function readSource(found: FoundFile, dirs = searchDirs()): ReadSource {
  const { file, problems } = readUnit(found.path);
  if (!file) return { source: null, problems };
  const perDir = planDropinDirs(found.fileName).map((name) =>
    dirs.flatMap((dir) =>
      entries(join(dir, name)).filter((e) => e.isFile || e.isSymlink).map((e) => ({
        name: e.name,
        path: join(dir, name, e.name),
      }))
    )
  );
  const dropins: { path: string; file: UnitFile }[] = [];
  for (const path of chooseDropins(perDir)) {
    const read = readUnit(path);
    problems.push(...read.problems);
    if (read.file) dropins.push({ path, file: read.file });
  }
  return { source: planSource(found.fileName, found.path, file, dropins), problems };
}

/** Everything declared: the sources, their read problems, and the map of what each makes. */
export interface DeclaredSet {
  sources: DeclaredSource[];
  /** Problems reading files (per path), and files of unsupported kinds. */
  problems: DeclarationProblem[];
  units: Map<string, UnitInfo>;
}

/** Reads every declared file (an unreadable one is a problem, the others are still read). */
export function readDeclaredSet(host = readHostFacts()): DeclaredSet {
  const dirs = searchDirs();
  const { files, unsupported } = findFiles(dirs);
  const problems = [...unsupported];
  const sources: DeclaredSource[] = [];
  for (const found of files) {
    const read = readSource(found, dirs);
    problems.push(...read.problems);
    if (read.source) sources.push(read.source);
  }
  return { sources, problems, units: planUnits(sources, host) };
}

/** The unit info of every source, by file name. */
export function planUnits(
  sources: readonly DeclaredSource[],
  host: HostFacts,
): Map<string, UnitInfo> {
  const units = new Map<string, UnitInfo>();
  for (const source of sources) {
    const parts = templateParts(source.fileName);
    const base = source.fileName.slice(0, source.fileName.lastIndexOf("."));
    const unit = source.kind === "container"
      ? `tsnspawn-${parts ? `${parts.prefix}@${parts.instance || INSTANCE_TOKEN}` : base}.service`
      : `tsnspawn-${base}.service`;
    const specifiers = planSpecifiers(unit, host);
    units.set(source.fileName, planUnitInfo(source, (v) => expandSpecifiers(v, specifiers)));
  }
  return units;
}

/** The declared file of container `name`, and the template instance it is. */
export interface ContainerSource {
  source: DeclaredSource;
  /** A template's instance (`web@7` from `web@.container`), else undefined. */
  instance?: string;
}

/**
 * Finds the declaration of container `name` in a set: `NAME.container`
 * (an instance file `web@7.container` too), a template `web@.container`
 * for `web@7`, or a file whose ContainerName= is `name`.
 */
export function findContainerSource(set: DeclaredSet, name: string): ContainerSource | null {
  const byFile = set.sources.find((s) => s.fileName === `${name}.container`);
  if (byFile) return { source: byFile };
  const named = set.sources.find((s) =>
    s.kind === "container" && set.units.get(s.fileName)?.resource === name
  );
  if (named) return { source: named };
  const at = name.indexOf("@");
  if (at > 0) {
    const template = set.sources.find((s) => s.fileName === `${name.slice(0, at)}@.container`);
    if (template) return { source: template, instance: name.slice(at + 1) };
  }
  return null;
}

/**
 * The source of container `name` as its unit's ExecStartPre reads it: an
 * instance of a template (`web@7`) reads the template as if it were its own
 * file `web@7.container`, with the drop-ins of both (web@.container.d,
 * web@7.container.d). Null when none declares it.
 */
export function readContainerSource(
  set: DeclaredSet,
  name: string,
): { source: DeclaredSource | null; problems: DeclarationProblem[]; path: string } | null {
  const found = findContainerSource(set, name);
  if (!found) return null;
  if (found.instance !== undefined) {
    const read = readSource({ fileName: `${name}.container`, path: found.source.path });
    return { ...read, path: found.source.path };
  }
  const own = set.problems.filter((p) =>
    p.path === found.source.path || p.path.includes(`/${found.source.fileName}.d/`)
  );
  return { source: found.source, problems: own, path: found.source.path };
}

/** Reads the declaration of container `name`; null when none declares it. */
export function readContainerDeclaration(
  name: string,
):
  | { declaration: ContainerDeclaration | null; problems: DeclarationProblem[]; path: string }
  | null {
  const host = readHostFacts();
  const set = readDeclaredSet(host);
  const read = readContainerSource(set, name);
  if (!read) return null;
  if (!read.source) return { declaration: null, problems: read.problems, path: read.path };
  const result = convertContainer(read.source, { host, units: set.units });
  return { ...result, problems: [...read.problems, ...result.problems], path: read.path };
}

/** The valid declaration of container `name`; throws with the first problem otherwise. */
export function loadDeclaration(name: string): ContainerDeclaration {
  const read = readContainerDeclaration(name);
  if (!read) {
    throw new TsnspawnError("not-found", `container ${name}: not declared`, {
      hint: `declared containers are NAME.container files in ${searchRoots().join(", ")}`,
    });
  }
  if (!read.declaration || read.problems.length > 0) throw declarationError(read.problems);
  return read.declaration;
}

/**
 * True when container `name` is declared. Cheap on the common path (it is
 * asked at every start): a file of that name, a template for an instance,
 * or the mark `create` left in a declared container's directory; only a
 * name none of those match is looked up in every file's ContainerName=.
 */
export function isDeclared(name: string): boolean {
  const at = name.indexOf("@");
  const candidates = [`${name}.container`, ...(at > 0 ? [`${name.slice(0, at)}@.container`] : [])];
  for (const root of searchRoots()) {
    for (const file of candidates) {
      try {
        if (Deno.statSync(join(root, file)).isFile) return true;
      } catch { /* next */ }
    }
  }
  try {
    Deno.statSync(containerPaths(name).declared);
    return true;
  } catch { /* not made from a declaration (yet) */ }
  try {
    Deno.statSync(containerPaths(name).config);
    return false; // an ordinary container
  } catch { /* not created: maybe ContainerName= of some file */ }
  return readContainerDeclaration(name) !== null;
}

/** True when the enabled mark of `markName` (a file's name without .container) exists. */
export function isEnabled(markName: string): boolean {
  try {
    Deno.lstatSync(enabledMark(markName));
    return true;
  } catch {
    return false;
  }
}

/** The marks of enabled containers (`web`, `web@7`): /etc/tsnspawn/enabled/*.container. */
export function enabledMarks(): string[] {
  return entries(dirname(enabledMark("x"))).map((e) => e.name).filter((n) =>
    n.endsWith(".container")
  )
    .map((n) => n.slice(0, -".container".length));
}

/** The context generated units are planned with on this host. */
export function hostUnitContext(): UnitContext {
  return { command: selfCommand, machined: machinedInstalled(), stateRoot: stateRoot() };
}

/** The names of the units every declared file makes (without `tsnspawn-` and `.service`), for `check`. */
export function declaredUnitNames(): string[] {
  try {
    const set = readDeclaredSet();
    return [...set.units.values()].map((u) =>
      u.service.replace(/^tsnspawn-/, "").replace(/\.service$/, "")
    );
  } catch {
    return [];
  }
}

/** A FILE argument of validate/cat: its search-directory entry, or the file itself. */
export function foundFile(path: string): FoundFile {
  return { fileName: basename(path), path };
}

/**
 * What every kind of declared file shares (pure): problems reported by
 * file and line, `%` specifiers, reading values by shape, the sections
 * besides the kind's own — `[Unit]` (dependencies on other declared files
 * translated to their units, quadlet's implicit network-online.target),
 * `[Install]` (the links `systemctl enable` would make), `[Quadlet]` — and
 * the text of a generated unit.
 *
 * References: podman-systemd.unit(5) ("Dependency between Quadlet units",
 * "Implicit network dependencies", "Enabling unit files", "Template
 * files"), systemd.unit(5) (specifiers, [Install]), systemd.syntax(7).
 */
import { TsnspawnError } from "../errors.ts";
import {
  escapeSpecifiers,
  expandSpecifiers,
  formatUnitFile,
  parseUnitBoolean,
  splitWords,
  type UnitEntry,
  type UnitSection,
} from "../systemd/unit_file.ts";
import { DEPENDENCY_KEYS, type KeyShape, QUADLET_KEYS } from "./keys.ts";
import { dependencyName, INSTANCE_TOKEN, type UnitInfo } from "./names.ts";
import {
  DECLARED_KINDS,
  type DeclaredSource,
  kindOf,
  type SourcedEntry,
  templateParts,
  UNSUPPORTED_KINDS,
} from "./source.ts";

// ---------------------------------------------------------------------------
// Problems

/** A problem in a declared file, at a line. */
export interface DeclarationProblem {
  path: string;
  /** 1-based; 0 = the file as a whole. */
  line: number;
  message: string;
  hint?: string;
}

/** Formats a problem compiler-style: `path:line: message` (and the hint). */
export function formatProblem(problem: DeclarationProblem): string {
  const where = problem.line > 0 ? `${problem.path}:${problem.line}` : problem.path;
  return `${where}: ${problem.message}${problem.hint ? ` (hint: ${problem.hint})` : ""}`;
}

/** Collects problems for one source. */
export class Problems {
  readonly list: DeclarationProblem[] = [];
  constructor(readonly path: string) {}
  /** A problem at an entry (its own file: a drop-in's entries name the drop-in). */
  at(entry: { path?: string; line: number }, message: string, hint?: string): void {
    this.list.push({
      path: entry.path ?? this.path,
      line: entry.line,
      message,
      ...(hint ? { hint } : {}),
    });
  }
  /** A problem of the file as a whole. */
  file(message: string, hint?: string): void {
    this.list.push({ path: this.path, line: 0, message, ...(hint ? { hint } : {}) });
  }
  get empty(): boolean {
    return this.list.length === 0;
  }
}

/** An error's message and hint. */
export function describe(error: unknown): { message: string; hint?: string } {
  if (error instanceof TsnspawnError) return { message: error.message, hint: error.hint };
  if (error instanceof RangeError) return { message: "the value is too large to handle" };
  return { message: error instanceof Error ? error.message : String(error) };
}

/** An assignment as problems show it: `Key=value`, long values cut. */
export function shown(entry: UnitEntry): string {
  const value = entry.value.length > 60 ? entry.value.slice(0, 57) + "..." : entry.value;
  return `${entry.key}=${value}`;
}

// ---------------------------------------------------------------------------
// Specifiers

/** Facts about the host some specifiers stand for (read by the caller). */
export interface HostFacts {
  hostname: string;
  machineId: string;
  bootId: string;
  kernelRelease: string;
}

/**
 * The `%` specifiers of declared values, as systemd.unit(5) defines them
 * for the system unit `unit` (`tsnspawn-web@1.service`).
 */
export function planSpecifiers(unit: string, host: HostFacts): Record<string, string> {
  const prefixed = unit.replace(/\.[a-z]+$/, "");
  const at = prefixed.indexOf("@");
  const prefix = at < 0 ? prefixed : prefixed.slice(0, at);
  const instance = at < 0 ? "" : prefixed.slice(at + 1);
  return {
    n: unit, // full unit name
    N: prefixed, // unit name without the type suffix
    p: prefix, // prefix (before the instance)
    P: prefix, // unescaped prefix
    i: instance, // instance
    I: instance, // unescaped instance
    j: prefix.split("-").at(-1) ?? prefix, // last component of the prefix
    J: prefix.split("-").at(-1) ?? prefix, // unescaped
    H: host.hostname, // host name
    l: host.hostname.split(".")[0], // short host name
    m: host.machineId, // machine ID
    b: host.bootId, // boot ID
    v: host.kernelRelease, // kernel release
    t: "/run", // runtime directory
    S: "/var/lib", // state directory
    C: "/var/cache", // cache directory
    L: "/var/log", // log directory
    E: "/etc", // configuration directory
    T: "/tmp", // temporary directory
    V: "/var/tmp", // temporary directory for larger files
    h: "/root", // home of the service manager's user
    u: "root", // user name
    U: "0", // user id
    g: "root", // group name
    G: "0", // group id
  };
}

/**
 * The values one assignment gives, by shape: split into words where the
 * shape has words, `%` specifiers expanded, a boolean as "true"/"false".
 * An empty assignment gives none (a reset).
 */
export function readValues(
  entry: UnitEntry,
  shape: KeyShape,
  specifiers: Readonly<Record<string, string>>,
): string[] {
  if (entry.value === "") return [];
  const expand = (text: string) => expandSpecifiers(text, specifiers);
  switch (shape) {
    case "flag":
      return [String(parseUnitBoolean(expand(entry.value)))];
    case "words":
    case "argv": {
      const words = splitWords(entry.value);
      for (let i = 0; i < words.length; i++) words[i] = expand(words[i]);
      return words;
    }
    default:
      return [expand(entry.value)];
  }
}

/** Values collected for one key: what the entries gave, and the last entry. */
export interface Collected {
  values: string[];
  entry: SourcedEntry;
}

/**
 * Adds one entry's values to what was collected for its key (systemd's
 * rules: an empty assignment resets; a single-valued key keeps its last
 * value; lists add up). Never spreads a value list into a call: an
 * assignment may hold hundreds of thousands of words.
 */
export function collect(
  into: Map<string, Collected>,
  entry: SourcedEntry,
  shape: KeyShape,
  values: string[],
): void {
  if (values.length === 0) {
    into.delete(entry.key);
    return;
  }
  if (shape === "value" || shape === "flag" || shape === "argv") {
    into.set(entry.key, { values, entry });
    return;
  }
  const previous = into.get(entry.key);
  if (!previous) {
    into.set(entry.key, { values, entry });
    return;
  }
  for (const value of values) previous.values.push(value);
  previous.entry = entry;
}

// ---------------------------------------------------------------------------
// Sections

/** The sections a declared file of `kind` may have (X-* sections pass through too). */
export function knownSections(section: string): string[] {
  return [section, "Unit", "Service", "Install", "Quadlet"];
}

/** Reports sections that are neither known nor X-*; returns the X-* ones to pass through. */
export function checkSections(
  source: DeclaredSource,
  section: string,
  problems: Problems,
): UnitSection[] {
  const known = knownSections(section);
  const extra: UnitSection[] = [];
  for (const s of source.sections) {
    if (known.includes(s.name)) continue;
    if (s.name.startsWith("X-")) {
      extra.push({
        name: s.name,
        line: 0,
        entries: s.entries.map(({ key, value }) => ({ key, value, line: 0 })),
      });
      continue;
    }
    problems.at(
      s,
      `unknown section [${s.name}]`,
      `the sections are ${known.map((k) => `[${k}]`).join(" ")} (and X-*)`,
    );
  }
  return extra;
}

/** `[Quadlet] DefaultDependencies=` (default true). */
export function defaultDependencies(source: DeclaredSource, problems: Problems): boolean {
  let value = true;
  for (
    const entry of source.sections.filter((s) => s.name === "Quadlet").flatMap((s) => s.entries)
  ) {
    if (!Object.hasOwn(QUADLET_KEYS, entry.key)) {
      problems.at(
        entry,
        `unknown key ${entry.key}= in [Quadlet]`,
        `the keys of [Quadlet] are ${Object.keys(QUADLET_KEYS).map((k) => k + "=").join(" ")}`,
      );
      continue;
    }
    try {
      value = entry.value === "" ? true : parseUnitBoolean(entry.value);
    } catch (error) {
      const { message, hint } = describe(error);
      problems.at(entry, `${shown(entry)}: ${message}`, hint);
    }
  }
  return value;
}

/** The unit quadlet makes every unit want and follow (root: network-online.target). */
export const NETWORK_ONLINE = "network-online.target";

/**
 * `[Unit]` of a declared file with its dependencies translated: a word
 * naming a declared file (`db.container`) becomes that file's unit
 * (`tsnspawn-db.service`); a kind tsnspawn does not read, or a file that
 * does not exist, is a problem. Other words pass through unchanged.
 */
export function translateUnitSection(
  source: DeclaredSource,
  units: ReadonlyMap<string, UnitInfo>,
  problems: Problems,
): UnitEntry[] {
  const out: UnitEntry[] = [];
  for (const entry of source.sections.filter((s) => s.name === "Unit").flatMap((s) => s.entries)) {
    if (!DEPENDENCY_KEYS.includes(entry.key) || entry.value === "") {
      out.push({ key: entry.key, value: entry.value, line: 0 });
      continue;
    }
    let words: string[];
    try {
      words = splitWords(entry.value);
    } catch (error) {
      const { message, hint } = describe(error);
      problems.at(entry, `${shown(entry)}: ${message}`, hint);
      continue;
    }
    let translated = false;
    const result: string[] = [];
    for (const word of words) {
      const dot = word.lastIndexOf(".");
      const ext = dot > 0 ? word.slice(dot + 1) : "";
      if (Object.hasOwn(UNSUPPORTED_KINDS, ext)) {
        problems.at(
          entry,
          `${entry.key}=${word}: .${ext} files are not supported`,
          UNSUPPORTED_KINDS[ext],
        );
        continue;
      }
      if (!kindOf(word)) {
        result.push(word);
        continue;
      }
      const info = units.get(word);
      if (!info) {
        problems.at(
          entry,
          `${entry.key}=${word}: no such declared file`,
          "declare it in a search directory, or name a unit",
        );
        continue;
      }
      result.push(dependencyName(info));
      translated = true;
    }
    // Untranslated values keep their own quoting; translated ones are plain unit names.
    out.push({ key: entry.key, value: translated ? result.join(" ") : entry.value, line: 0 });
  }
  return out;
}

/** Adds the Requires=/After= on the unit of a referenced file (quadlet: Network=x.network, Volume=x.volume:...). */
export function requireUnit(unit: UnitEntry[], info: UnitInfo): void {
  const name = dependencyName(info);
  unit.push({ key: "Requires", value: name, line: 0 }, { key: "After", value: name, line: 0 });
}

/**
 * A referenced declared file (`db.volume` in `Volume=db.volume:/d`): its
 * info, or a problem. A template is referred to by its template name from
 * templates only (the instance is the referring unit's).
 */
export function lookupReference(
  word: string,
  source: DeclaredSource,
  units: ReadonlyMap<string, UnitInfo>,
  entry: SourcedEntry,
  problems: Problems,
): UnitInfo | null {
  const info = units.get(word);
  if (!info) {
    problems.at(
      entry,
      `${shown(entry)}: ${word}: no such declared file`,
      `add ${word} to a search directory`,
    );
    return null;
  }
  const referrer = templateParts(source.fileName);
  if (info.template && !referrer) {
    problems.at(
      entry,
      `${shown(entry)}: ${word} is a template`,
      "only a template (NAME@.kind) can refer to one",
    );
    return null;
  }
  if (info.resource === "") {
    problems.at(
      entry,
      `${shown(entry)}: ${word} does not name what it makes`,
      `see 'tsnspawn validate ${word}'`,
    );
    return null;
  }
  return info;
}

/** A resource name of a referenced template for the referring unit's instance. */
export function instantiate(resource: string, instance: string): string {
  return resource.replaceAll(INSTANCE_TOKEN, instance);
}

// ---------------------------------------------------------------------------
// [Install]

/** A symlink the generator makes for an enabled unit. */
export interface InstallLink {
  /** Relative to the generator's output directory. */
  path: string;
  /** What it points to (relative to the link's directory). */
  target: string;
}

/**
 * `[Install]` keys (systemd.unit(5)) and the link each value becomes,
 * relative to the generator's output directory (quadlet supports the same).
 */
export const INSTALL_KEYS: Readonly<
  Record<string, ((value: string, unit: string, file: string) => InstallLink) | null>
> = {
  WantedBy: (target, unit, file) => ({ path: `${target}.wants/${unit}`, target: `../${file}` }),
  RequiredBy: (target, unit, file) => ({
    path: `${target}.requires/${unit}`,
    target: `../${file}`,
  }),
  UpheldBy: (target, unit, file) => ({ path: `${target}.upholds/${unit}`, target: `../${file}` }),
  Alias: (alias, _unit, file) => ({ path: alias, target: file }),
  DefaultInstance: null, // read by the template logic below
  Also: null, // enabling other units along: enable those by name instead
};

/** A unit name an `[Install]` value may name (no path separators: links are made from them). */
const UNIT_NAME =
  /^[A-Za-z0-9:_.\\@-]+\.(service|target|socket|mount|path|timer|slice|scope|device|swap|automount)$/;

/** `[Install]` entries, checked (unknown keys and bad unit names are problems). */
export function checkInstall(source: DeclaredSource, problems: Problems): UnitEntry[] | null {
  const sections = source.sections.filter((s) => s.name === "Install");
  if (sections.length === 0) return null;
  const out: UnitEntry[] = [];
  for (const entry of sections.flatMap((s) => s.entries)) {
    if (!Object.hasOwn(INSTALL_KEYS, entry.key)) {
      problems.at(
        entry,
        `unknown key ${entry.key}= in [Install]`,
        `the keys of [Install] are ${Object.keys(INSTALL_KEYS).map((k) => k + "=").join(" ")}`,
      );
      continue;
    }
    if (entry.key === "Also") {
      problems.at(entry, "Also= is not supported in a declared file", "enable each unit by name");
      continue;
    }
    if (entry.key === "DefaultInstance") {
      if (!templateParts(source.fileName) || !/^[A-Za-z0-9:_.\\-]+$/.test(entry.value)) {
        problems.at(
          entry,
          `${
            shown(entry)
          }: DefaultInstance= needs a template file (NAME@.container) and an instance name`,
        );
        continue;
      }
      out.push({ key: entry.key, value: entry.value, line: 0 });
      continue;
    }
    try {
      for (const word of splitWords(entry.value)) {
        if (!UNIT_NAME.test(word) || word.startsWith(".")) {
          throw new TsnspawnError(
            "invalid",
            `${JSON.stringify(word.slice(0, 80))} is not a unit name`,
            {
              hint: "e.g. WantedBy=multi-user.target",
            },
          );
        }
      }
      out.push({ key: entry.key, value: entry.value, line: 0 });
    } catch (error) {
      const { message, hint } = describe(error);
      problems.at(entry, `${shown(entry)}: ${message}`, hint);
    }
  }
  return out;
}

/**
 * The links `systemctl enable` would make for a unit: `file` is the unit
 * file's name (a template's `tsnspawn-web@.service`), `unit` the unit that
 * is enabled (its DefaultInstance or the instance asked for). A template
 * without an instance gets none (quadlet's rule).
 */
export function planInstallLinks(
  install: readonly UnitEntry[],
  file: string,
  instance?: string,
): InstallLink[] {
  let unit = file;
  if (file.includes("@.")) {
    const chosen = instance ?? install.filter((e) => e.key === "DefaultInstance").at(-1)?.value;
    if (!chosen) return [];
    unit = file.replace("@.", `@${chosen}.`);
  }
  const links: InstallLink[] = [];
  for (const entry of install) {
    const link = INSTALL_KEYS[entry.key];
    if (!link) continue;
    for (const word of splitWords(entry.value)) links.push(link(word, unit, file));
  }
  return links;
}

// ---------------------------------------------------------------------------
// The unit's text

/** What {@link formatGeneratedUnit} writes. */
export interface GeneratedUnit {
  /** The unit's file name. */
  name: string;
  source: DeclaredSource;
  unit: UnitEntry[];
  service: UnitEntry[];
  install: UnitEntry[] | null;
  /** The file's own section, kept as X-Kind (quadlet keeps it: `systemctl cat` shows it). */
  kept: UnitEntry[];
  /** X-* sections of the file, passed through. */
  extra: UnitSection[];
}

/** The text of a generated unit, with the header naming its source. */
export function formatGeneratedUnit(generated: GeneratedUnit): string {
  const kind = generated.source.kind;
  const sections: UnitSection[] = [
    { name: "Unit", line: 0, entries: generated.unit },
    { name: `X-${DECLARED_KINDS[kind].section}`, line: 0, entries: generated.kept },
    { name: "Service", line: 0, entries: generated.service },
    ...generated.extra,
  ];
  if (generated.install && generated.install.length > 0) {
    sections.push({ name: "Install", line: 0, entries: generated.install });
  }
  const header = [
    `# ${generated.name}: generated by tsnspawn from ${generated.source.path}`,
    `# Do not edit: change the .${kind} file and run 'systemctl daemon-reload'.`,
  ].map((l) => l.replaceAll("\n", " ") + "\n").join("");
  // A template's unit: its instance token becomes systemd's %i.
  return (header +
    formatUnitFile({
      sections: sections.filter((s) =>
        s.entries.length > 0 || s.name === "Unit" || s.name === "Service"
      ),
    }))
    .replaceAll(INSTANCE_TOKEN, "%i");
}

/** The file's own entries as the X- section keeps them (single-line values, `%` left for systemd's X- parser to ignore). */
export function keptEntries(source: DeclaredSource, section: string): UnitEntry[] {
  return source.sections.filter((s) => s.name === section).flatMap((s) => s.entries)
    .map(({ key, value }) => ({ key, value, line: 0 }));
}

/** The `[Unit]` entries every generated unit starts with: SourcePath, default dependencies. */
export function planUnitHead(source: DeclaredSource, defaults: boolean): UnitEntry[] {
  return [
    ...(defaults
      ? [
        { key: "Wants", value: NETWORK_ONLINE, line: 0 },
        { key: "After", value: NETWORK_ONLINE, line: 0 },
      ]
      : []),
    { key: "SourcePath", value: escapeSpecifiers(source.path), line: 0 },
  ];
}

/**
 * Declared containers: a `/etc/tsnspawn/<name>.container` file in systemd
 * unit syntax (src/systemd/unit_file.ts) becomes the options of `tsnspawn create`
 * and the text of the unit `tsnspawn-<name>.service` that the generator
 * (src/systemd/generator.ts) writes at boot and on daemon-reload.
 *
 * The `[Container]` section uses podman quadlet's key names
 * (podman-systemd.unit(5)); {@link CONTAINER_KEYS} is the one table of them.
 * Each key becomes a `create` option, and the whole section becomes a
 * `create` command line that goes through the CLI's own parser
 * (src/cli/args.ts), so a declared container and `tsnspawn create` cannot
 * drift apart. Repeated list keys add up and an empty assignment resets
 * (systemd's rule); values are taken as written except the word lists
 * (`Exec=`, `Environment=`, capabilities), which are quoted like
 * `ExecStart=` — but without `$VARIABLE` expansion.
 *
 * `[Unit]`, `[Service]` and `[Install]` pass through to systemd, except the
 * `[Service]` keys tsnspawn manages itself ({@link MANAGED_SERVICE_KEYS});
 * `Restart=no|on-failure|always` also sets the container's restart policy.
 * `[Install]` (default `WantedBy=multi-user.target`) takes effect once the
 * container is enabled (`tsnspawn enable`; {@link planInstallLinks}).
 *
 * The generated unit carries exactly the properties `tsnspawn run` gives a
 * transient unit: both come from `planUnitProperties` (src/systemd/unit_properties.ts),
 * rewritten here from D-Bus property names to unit-file keys
 * ({@link UNIT_FILE_KEYS}). Its `ExecStartPre=` (`tsnspawn __prepare NAME`,
 * src/runtime/prepare.ts) creates the container directory from the file at
 * each start; with machined installed it wants `tsnspawn-machine@NAME.service`
 * (src/systemd/machined.ts).
 *
 * Values of `[Container]` keys expand `%` specifiers ({@link planSpecifiers});
 * the other sections are left to systemd, which expands them itself.
 * Pure: the caller reads files and host facts (src/systemd/declared_store.ts).
 */
import { basename } from "@std/path";
import { TsnspawnError } from "../errors.ts";
import type { ContainerConfig } from "../container/config.ts";
import { planContainer, requestFromRunOptions } from "../container/plan.ts";
import type { ContainerOptions } from "../container/options.ts";
import { CONTAINER_OPTIONS, parseContainerArgs } from "../container/run_args.ts";
import { normalizeReference, parseReference } from "../oci/reference.ts";
import { validateContainerName } from "../container/run_options.ts";
import {
  escapeSpecifiers,
  expandSpecifiers,
  formatUnitFile,
  parseUnitBoolean,
  parseUnitFile,
  splitWords,
  type UnitEntry,
  type UnitFile,
  type UnitSection,
} from "./unit_file.ts";
import { formatUnitProperties, planUnitProperties, type UnitProperty } from "./unit_properties.ts";
import { containersDir, unitName } from "../paths.ts";
import { machineUnitName } from "./machined.ts";

// ---------------------------------------------------------------------------
// The [Container] keys

/**
 * How a key's value is read:
 * - `value`: one value taken as written; the last assignment wins; empty = unset
 * - `list`: one item per assignment, taken as written; empty resets the list
 * - `words`: quoted words (like `Environment=`), several per assignment; empty resets
 * - `flag`: a systemd boolean (yes/no/true/false/1/0/on/off); empty = no
 * - `argv`: quoted words that replace the previous assignment; empty = unset
 */
type KeyShape = "value" | "list" | "words" | "flag" | "argv";

/** One `[Container]` key. */
export interface ContainerKey {
  shape: KeyShape;
  /**
   * The `create` option it becomes (long name), or "IMAGE"/"COMMAND" for the
   * positional arguments.
   */
  option: string;
  /** The value must be an absolute path on the host. */
  absolute?: boolean;
  /** One line for help and `validate`. */
  help: string;
}

/** The `[Container]` keys, with quadlet's names (podman-systemd.unit(5)). */
export const CONTAINER_KEYS: Readonly<Record<string, ContainerKey>> = {
  Image: {
    shape: "value",
    option: "IMAGE",
    help: "image to run, e.g. busybox or docker.io/library/nginx:1.27",
  },
  Rootfs: {
    shape: "value",
    option: "rootfs",
    absolute: true,
    help: "root file system directory to run instead of an image",
  },
  Exec: {
    shape: "argv",
    option: "COMMAND",
    help: "command and arguments, quoted like ExecStart= (default: the image's)",
  },
  Entrypoint: {
    shape: "argv",
    option: "entrypoint",
    help: 'program replacing the image\'s entrypoint ("" = none)',
  },
  Environment: {
    shape: "words",
    option: "env",
    help: "KEY=VALUE ..., quoted like systemd's Environment=",
  },
  EnvironmentFile: {
    shape: "list",
    option: "env-file",
    absolute: true,
    help: "file of KEY=VALUE lines (docker's env-file format)",
  },
  Volume: { shape: "list", option: "volume", help: "HOST:CTR[:ro] bind mount" },
  PublishPort: {
    shape: "list",
    option: "publish",
    help: "[IP:]HOST:CTR[/udp] port published on the host (bridge networks)",
  },
  Network: {
    shape: "value",
    option: "network",
    help: "bridge (default), none, host, or a network's name",
  },
  HostName: { shape: "value", option: "hostname", help: "hostname of the container" },
  User: { shape: "value", option: "user", help: "USER[:GROUP] (names or numbers) to run as" },
  WorkingDir: { shape: "value", option: "workdir", help: "working directory in the container" },
  Memory: { shape: "value", option: "memory", help: "memory limit, e.g. 512m (MemoryMax=)" },
  CPUs: { shape: "value", option: "cpus", help: "CPU limit in CPUs, e.g. 1.5 (CPUQuota=)" },
  PidsLimit: {
    shape: "value",
    option: "pids-limit",
    help: "maximum number of tasks, -1 for unlimited (TasksMax=)",
  },
  ReadOnly: { shape: "flag", option: "read-only", help: "read-only root file system" },
  AddCapability: {
    shape: "words",
    option: "cap-add",
    help: "capabilities to add (CAP_NET_ADMIN ... or ALL)",
  },
  DropCapability: {
    shape: "words",
    option: "cap-drop",
    help: "capabilities to drop (CAP_CHOWN ... or ALL)",
  },
  Pull: {
    shape: "value",
    option: "pull",
    help: "when to pull the image: missing (default), always or never",
  },
  StopTimeout: {
    shape: "value",
    option: "stop-timeout",
    help: "seconds between the stop signal and SIGKILL (default 10)",
  },
  StopSignal: {
    shape: "value",
    option: "stop-signal",
    help: "signal that stops the container (default: the image's, or SIGTERM)",
  },
  RunInit: { shape: "flag", option: "init", help: "run a reaping init (tini) as PID 1" },
  Tmpfs: { shape: "list", option: "tmpfs", help: "PATH[:OPTS] tmpfs mount in the container" },
};

/**
 * `[Service]` keys tsnspawn sets itself, and what to use instead. Everything
 * else in `[Service]` (and all of `[Unit]` and `[Install]`) passes through.
 */
export const MANAGED_SERVICE_KEYS: Readonly<Record<string, string>> = {
  Type: "tsnspawn runs the container as Type=notify",
  NotifyAccess: "tsnspawn sets NotifyAccess=all",
  ExecStart: "use Exec= in [Container]",
  ExecStop: "use StopSignal= and StopTimeout= in [Container]",
  ExecStopPost: "tsnspawn's cleanup runs as ExecStopPost=",
  KillMode: "tsnspawn sets KillMode=mixed",
  KillSignal: "use StopSignal= in [Container]",
  TimeoutStopSec: "use StopTimeout= in [Container]",
  Delegate: "tsnspawn delegates the container's cgroup",
  PIDFile: "the container's PID 1 is the main process",
  RemainAfterExit: "a container's unit ends with its PID 1",
  User: "use User= in [Container]",
  Group: "use User=UID:GID in [Container]",
  WorkingDirectory: "use WorkingDir= in [Container]",
  Environment: "use Environment= in [Container]",
  EnvironmentFile: "use EnvironmentFile= in [Container]",
  MemoryMax: "use Memory= in [Container]",
  CPUQuota: "use CPUs= in [Container]",
  TasksMax: "use PidsLimit= in [Container]",
};

/** `Restart=` values that are also container restart policies (the rest pass through). */
const RESTART_POLICIES = new Set(["no", "on-failure", "always"]);

/** Sections of a `.container` file. */
const SECTIONS = ["Container", "Unit", "Service", "Install"] as const;

/** The `[Install]` of a declaration without one, so `tsnspawn enable` has a target. */
export const DEFAULT_INSTALL: readonly UnitEntry[] = [{
  key: "WantedBy",
  value: "multi-user.target",
  line: 0,
}];

/**
 * `[Install]` keys (systemd.unit(5)) and the link each value becomes for an
 * enabled container, relative to the generator's output directory.
 */
export const INSTALL_KEYS: Readonly<
  Record<string, ((value: string, unit: string) => InstallLink) | null>
> = {
  WantedBy: (target, unit) => ({ path: `${target}.wants/${unit}`, target: `../${unit}` }),
  RequiredBy: (target, unit) => ({ path: `${target}.requires/${unit}`, target: `../${unit}` }),
  UpheldBy: (target, unit) => ({ path: `${target}.upholds/${unit}`, target: `../${unit}` }),
  Alias: (alias, unit) => ({ path: alias, target: unit }),
  Also: null, // enabling other units along: enable those containers by name instead
  DefaultInstance: null, // a container is not a template
};

/** A symlink the generator makes for an enabled container. */
export interface InstallLink {
  /** Relative to the generator's output directory. */
  path: string;
  /** What it points to (relative to the link's directory). */
  target: string;
}

/** A unit name an `[Install]` value may name (no path separators: links are made from them). */
const UNIT_NAME =
  /^[A-Za-z0-9:_.\\@-]+\.(service|target|socket|mount|path|timer|slice|scope|device|swap|automount)$/;

/** `TSNSPAWN_RUN=` of a declared container's journal lines (a transient run has a random id). */
export const DECLARED_RUN_ID = "declared";

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
 * The `%` specifiers of `[Container]` values, as systemd.unit(5) defines
 * them for a system unit called `tsnspawn-<name>.service`.
 */
export function planSpecifiers(name: string, host: HostFacts): Record<string, string> {
  const unit = unitName(name);
  const prefix = unit.replace(/\.service$/, "");
  return {
    n: unit, // full unit name
    N: prefix, // unit name without the type suffix
    p: prefix, // prefix (no instance)
    P: prefix, // unescaped prefix
    i: "", // instance: none
    I: "", // unescaped instance: none
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

// ---------------------------------------------------------------------------
// Parsing a declaration

/** A problem in a `.container` file, at a line. */
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

/** A valid `.container` file. */
export interface ContainerDeclaration {
  /** The container name (the file name without `.container`). */
  name: string;
  /** The file it came from. */
  path: string;
  /** The `create` command line the `[Container]` section amounts to (after `create`). */
  createArgs: string[];
  /** The parsed options of that command line. */
  options: ContainerOptions;
  /** Entries passed through to the unit, per section. */
  unit: UnitEntry[];
  service: UnitEntry[];
  /** null: the file has no `[Install]` section. */
  install: UnitEntry[] | null;
}

/** What {@link parseDeclaration} found. */
export interface DeclarationResult {
  declaration: ContainerDeclaration | null;
  problems: DeclarationProblem[];
}

/** Options of {@link parseDeclaration}. */
export interface DeclarationContext {
  /** Host facts for specifiers. */
  host: HostFacts;
  /** Host CPUs, the upper bound of CPUs= (default: as the CLI). */
  hostCpus?: number;
}

/** The container name a declaration file stands for. */
export function declarationName(path: string): string {
  const file = basename(path);
  if (!file.endsWith(".container")) {
    throw new TsnspawnError("invalid", `declaration ${path}: the file name must end in .container`);
  }
  return validateContainerName(file.slice(0, -".container".length));
}

/** The values collected for one key while reading `[Container]`. */
interface Collected {
  values: string[];
  line: number;
}

function describe(error: unknown): { message: string; hint?: string } {
  if (error instanceof TsnspawnError) return { message: error.message, hint: error.hint };
  return { message: error instanceof Error ? error.message : String(error) };
}

/** Turns a non-flag option into `--option=value` words. */
function optionArgs(option: string, values: string[]): string[] {
  return values.map((v) => `--${option}=${v}`);
}

/**
 * Parses and validates a `.container` file. Every problem is reported with
 * its line; the declaration is null when there is any.
 */
export function parseDeclaration(
  path: string,
  text: string,
  context: DeclarationContext,
): DeclarationResult {
  const problems: DeclarationProblem[] = [];
  const report = (line: number, message: string, hint?: string) =>
    problems.push({ path, line, message, ...(hint ? { hint } : {}) });
  let name = "";
  try {
    name = declarationName(path);
  } catch (error) {
    const { message, hint } = describe(error);
    report(0, message, hint ?? "name the file <container name>.container");
  }
  const parsed = parseUnitFile(text);
  for (const p of parsed.problems) report(p.line, p.message, p.hint);
  const file: UnitFile = parsed.file;
  for (const section of file.sections) {
    if (!(SECTIONS as readonly string[]).includes(section.name)) {
      report(
        section.line,
        `unknown section [${section.name}]`,
        `the sections are ${SECTIONS.map((s) => `[${s}]`).join(" ")}`,
      );
    }
  }
  const containerSections = file.sections.filter((s) => s.name === "Container");
  if (containerSections.length === 0) {
    report(0, "no [Container] section", "add [Container] with at least Image=");
  }
  const sectionLine = containerSections[0]?.line ?? 0;
  const specifiers = planSpecifiers(name || "container", context.host);

  // Collect [Container] values, key by key.
  const collected = new Map<string, Collected>();
  for (const entry of containerSections.flatMap((s) => s.entries)) {
    const key = CONTAINER_KEYS[entry.key];
    if (!Object.hasOwn(CONTAINER_KEYS, entry.key)) {
      report(entry.line, `unknown key ${entry.key}= in [Container]`, nearestKeyHint(entry.key));
      continue;
    }
    if (!key.option.match(/^[A-Z]+$/) && !CONTAINER_OPTIONS.some((o) => o.long === key.option)) {
      report(
        entry.line,
        `${entry.key}= is not supported yet`,
        `this tsnspawn has no --${key.option}`,
      );
      continue;
    }
    let values: string[];
    try {
      values = readValue(entry, key, specifiers);
    } catch (error) {
      const { message, hint } = describe(error);
      report(entry.line, `${shown(entry)}: ${message}`, hint);
      continue;
    }
    if (
      values.length === 0 || key.shape === "value" || key.shape === "flag" || key.shape === "argv"
    ) {
      // An empty assignment resets; a single-valued key keeps its last value.
      collected.set(entry.key, { values, line: entry.line });
      if (values.length === 0) collected.delete(entry.key);
    } else {
      const previous = collected.get(entry.key)?.values ?? [];
      collected.set(entry.key, { values: [...previous, ...values], line: entry.line });
    }
    // Check each value on its own, with the CLI's own parser, to name its line.
    if (values.length > 0) {
      const problem = checkValue(entry.key, key, values, context.hostCpus);
      if (problem) report(entry.line, `${shown(entry)}: ${problem.message}`, problem.hint);
    }
  }

  // [Unit], [Service], [Install] pass through; Restart= also sets the policy.
  const unit = file.sections.filter((s) => s.name === "Unit").flatMap((s) => s.entries);
  const service: UnitEntry[] = [];
  let restart: string | undefined;
  for (const entry of file.sections.filter((s) => s.name === "Service").flatMap((s) => s.entries)) {
    if (Object.hasOwn(MANAGED_SERVICE_KEYS, entry.key)) {
      report(
        entry.line,
        `${entry.key}= cannot be set in [Service]`,
        MANAGED_SERVICE_KEYS[entry.key],
      );
      continue;
    }
    if (entry.key === "Restart") {
      restart = entry.value === "" ? undefined : entry.value;
      if (restart === undefined || RESTART_POLICIES.has(restart)) continue;
    }
    service.push(entry);
  }
  const installSections = file.sections.filter((s) => s.name === "Install");
  const install = installSections.length > 0 ? installSections.flatMap((s) => s.entries) : null;
  for (const entry of install ?? []) {
    if (!Object.hasOwn(INSTALL_KEYS, entry.key)) {
      report(
        entry.line,
        `unknown key ${entry.key}= in [Install]`,
        `the keys of [Install] are ${Object.keys(INSTALL_KEYS).map((k) => k + "=").join(" ")}`,
      );
    } else if (INSTALL_KEYS[entry.key] === null) {
      report(
        entry.line,
        `${entry.key}= is not supported in a .container file`,
        "enable each container by name",
      );
    } else {
      try {
        for (const word of splitWords(entry.value)) {
          if (!UNIT_NAME.test(word) || word.startsWith(".")) {
            throw new TsnspawnError("invalid", `${JSON.stringify(word)} is not a unit name`, {
              hint: "e.g. WantedBy=multi-user.target",
            });
          }
        }
      } catch (error) {
        const { message, hint } = describe(error);
        report(entry.line, `${shown(entry)}: ${message}`, hint);
      }
    }
  }

  // The whole section as one `create` command line.
  const image = collected.get("Image");
  const rootfs = collected.get("Rootfs");
  if (!image && !rootfs && containerSections.length > 0) {
    report(
      sectionLine,
      "no Image= in [Container]",
      "name the image to run, e.g. Image=busybox (or Rootfs=DIR)",
    );
  }
  if (image && rootfs) {
    report(rootfs.line, "Image= and Rootfs= exclude each other", "keep one of them");
  }
  if (problems.length > 0) return { declaration: null, problems };

  const args: string[] = [`--name=${name}`];
  for (const [keyName, { values }] of collected) {
    const key = CONTAINER_KEYS[keyName];
    if (key.option === "IMAGE" || key.option === "COMMAND") continue;
    if (key.shape === "flag") {
      if (values[0] === "true") args.push(`--${key.option}`);
    } else if (key.option === "entrypoint") {
      args.push(`--entrypoint=${values[0] ?? ""}`);
    } else {
      args.push(...optionArgs(key.option, values));
    }
  }
  if (restart !== undefined && RESTART_POLICIES.has(restart)) args.push(`--restart=${restart}`);
  args.push("--");
  if (image) args.push(image.values[0]);
  args.push(...(collected.get("Exec")?.values ?? []));

  let options: ContainerOptions;
  try {
    options = parseContainerArgs(args, {
      lookupEnv: () => undefined,
      hostCpus: context.hostCpus,
    });
    planDeclaredConfig(options); // the checks create makes without the image
  } catch (error) {
    const { message, hint } = describe(error);
    report(sectionLine, message, hint);
    return { declaration: null, problems };
  }
  return {
    declaration: { name, path, createArgs: args, options, unit, service, install },
    problems,
  };
}

/** An assignment as problems show it: `Key=value`, long values cut. */
function shown(entry: UnitEntry): string {
  const value = entry.value.length > 60 ? entry.value.slice(0, 57) + "..." : entry.value;
  return `${entry.key}=${value}`;
}

/** The values one assignment gives: split, specifiers expanded, checked for shape. */
function readValue(
  entry: UnitEntry,
  key: ContainerKey,
  specifiers: Record<string, string>,
): string[] {
  if (entry.value === "") return [];
  const expand = (text: string) => expandSpecifiers(text, specifiers);
  switch (key.shape) {
    case "flag":
      return [String(parseUnitBoolean(expand(entry.value)))];
    case "words":
      return splitWords(entry.value).map(expand);
    case "argv": {
      const words = splitWords(entry.value).map(expand);
      if (key.option === "entrypoint" && words.length > 1) {
        throw new TsnspawnError("invalid", "one program only", {
          hint: "put its arguments in Exec=",
        });
      }
      return words.length === 0 ? [""] : words;
    }
    default: {
      const value = expand(entry.value);
      if (key.absolute && !value.startsWith("/")) {
        throw new TsnspawnError("invalid", `${value}: not an absolute path`);
      }
      return [value];
    }
  }
}

/** Validates one key's values through the CLI parser; returns the problem, if any. */
function checkValue(
  keyName: string,
  key: ContainerKey,
  values: string[],
  hostCpus: number | undefined,
): { message: string; hint?: string } | null {
  try {
    if (key.option === "IMAGE") {
      parseReference(values[0]);
      return null;
    }
    if (key.option === "COMMAND") return null;
    if (keyName === "Environment") {
      for (const v of values) {
        if (!v.includes("=")) {
          throw new TsnspawnError("invalid", `environment variable ${JSON.stringify(v)}: no '='`, {
            hint: "write KEY=VALUE",
          });
        }
      }
    }
    const words = key.shape === "flag"
      ? [`--${key.option}=${values[0]}`]
      : optionArgs(key.option, values);
    parseContainerArgs([...words, ...(key.option === "rootfs" ? [] : ["image"])], {
      lookupEnv: () => undefined,
      hostCpus,
    });
    return null;
  } catch (error) {
    return describe(error);
  }
}

/** Levenshtein distance (case-insensitive), for suggestions. */
function editDistance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length];
}

/** A hint naming the known key closest to a misspelt one, or listing them all. */
function nearestKeyHint(key: string): string {
  const [best] = Object.keys(CONTAINER_KEYS)
    .map((k) => ({ k, d: editDistance(k, key) }))
    .sort((x, y) => x.d - y.d);
  return best && best.d <= Math.max(2, Math.floor(key.length / 4))
    ? `did you mean ${best.k}=?`
    : `the keys of [Container] are ${Object.keys(CONTAINER_KEYS).map((k) => k + "=").join(" ")}`;
}

// ---------------------------------------------------------------------------
// The container and its unit

/**
 * The container config as far as it is known without the image: what the
 * unit's properties are planned from. The real config is made by
 * `tsnspawn __prepare` at start, with the image (its stop signal, command,
 * user); only the stop signal of those reaches the unit (KillSignal=), and
 * ExecStop= sends the real one.
 */
export function planDeclaredConfig(options: ContainerOptions): ContainerConfig {
  // The user and the image are resolved by __prepare at start; a declared
  // container has no terminal and is never removed when it stops.
  const request = requestFromRunOptions(
    { ...options, tty: false, interactive: false, autoRemove: false },
    {
      name: options.name ?? "",
      image: options.image !== undefined ? normalizeReference(options.image) : null,
      imageId: null,
      lowerDirs: options.rootfs !== undefined ? [options.rootfs] : [],
      env: options.env,
      user: { uid: 0, gid: 0 },
    },
  );

  // The image's command is not known here; a placeholder keeps planCommand content.
  const config = planContainer(
    request,
    { Cmd: ["(the image's command)"] },
    "0".repeat(64),
    new Date(0),
  );
  if (options.privileged) config.privileged = true;
  if (options.readOnly) config.readOnlyRoot = true;
  return config;
}

/** Where a planned property goes in a unit file when not `[Service]` under its D-Bus name. */
interface UnitFileKey {
  section?: "Unit" | "Service";
  /** The unit-file key (default: the D-Bus name, `…USec` becoming `…Sec`). */
  key?: string;
  /** Formats the property's value (default: as formatUnitProperties does). */
  value?: (value: unknown) => string;
  /** Only for transient units: left out of unit files. */
  transientOnly?: boolean;
  /** systemd resolves no specifiers in this key: `%` stays as it is. */
  verbatim?: boolean;
}

/**
 * D-Bus property names whose unit-file form differs (systemd.unit(5),
 * systemd.service(5), systemd.resource-control(5)); every other property
 * is a `[Service]` key of the same name.
 */
export const UNIT_FILE_KEYS: Readonly<Record<string, UnitFileKey>> = {
  Description: { section: "Unit" },
  Wants: { section: "Unit" },
  After: { section: "Unit" },
  BindsTo: { section: "Unit" },
  CollectMode: { section: "Unit" },
  StartLimitBurst: { section: "Unit" },
  StartLimitIntervalUSec: { section: "Unit", key: "StartLimitIntervalSec" },
  // CPUQuotaPerSecUSec=500000 (µs per s) is CPUQuota=50% (1/100 % = 100 µs).
  CPUQuotaPerSecUSec: {
    key: "CPUQuota",
    value: (usec) => `${Math.round(Number(usec) / 100) / 100}%`,
    verbatim: true,
  },
  AddRef: { transientOnly: true }, // ties a transient unit to the CLI's bus connection
};

/** A planned property as `[section, key, value]` unit-file lines. */
export function unitFileLines(property: UnitProperty): ["Unit" | "Service", string, string][] {
  const [name, , value] = property;
  const place = UNIT_FILE_KEYS[name] ?? {};
  if (place.transientOnly) return [];
  const key = place.key ?? name.replace(/USec$/, "Sec");
  const values = place.value
    ? [place.value(value)]
    : formatUnitProperties([property]).split("\n").filter((l) => l !== "").map((l) =>
      l.slice(name.length + 1)
    );
  return values.map((
    v,
  ) => [place.section ?? "Service", key, place.verbatim ? v : escapeSpecifiers(v)]);
}

/** What the generated unit needs besides the declaration. */
export interface UnitContext {
  /** argv that runs tsnspawn's internal `mode` (src/self_exec.ts `selfCommand`). */
  command: (mode: string, args: string[]) => string[];
  /** systemd-machined is installed: the unit wants tsnspawn-machine@NAME.service (src/systemd/machined.ts). */
  machined: boolean;
  /** The state root (`/var/lib/tsnspawn`). */
  stateRoot: string;
}

/** The text of `tsnspawn-<name>.service` for a declaration. */
export function planContainerUnit(declaration: ContainerDeclaration, context: UnitContext): string {
  const { name } = declaration;
  const config = planDeclaredConfig(declaration.options);
  const properties = planUnitProperties(config, {
    shimCommand: context.command("__shim", [name]),
    stopCommand: context.command("__stop", [name]),
    cleanupCommand: context.command("__cleanup", [name]),
    prepareCommand: context.command("__prepare", [name]),
    ...(context.machined ? { registerMachine: machineUnitName(name) } : {}),
    runId: DECLARED_RUN_ID,
  });
  const unit: UnitSection = { name: "Unit", line: 0, entries: [] };
  const service: UnitSection = { name: "Service", line: 0, entries: [] };
  for (const [section, key, value] of properties.flatMap(unitFileLines)) {
    (section === "Unit" ? unit : service).entries.push({ key, value, line: 0 });
  }
  unit.entries.push(
    { key: "SourcePath", value: escapeSpecifiers(declaration.path), line: 0 },
    {
      key: "RequiresMountsFor",
      value: escapeSpecifiers(containersDir(context.stateRoot)),
      line: 0,
    },
  );
  // The file's own settings come after the planned ones, so they win.
  unit.entries.push(...declaration.unit);
  service.entries.push(...declaration.service);
  const install: UnitSection = {
    name: "Install",
    line: 0,
    entries: [...(declaration.install ?? DEFAULT_INSTALL)],
  };
  const header = [
    `# ${unitName(name)}: generated by tsnspawn from ${declaration.path}`,
    "# Do not edit: change the .container file and run 'systemctl daemon-reload'.",
  ].map((l) => l.replaceAll("\n", " ") + "\n").join("");
  return header + formatUnitFile({ sections: [unit, service, install] });
}

/**
 * The links that hook an enabled container's unit into its `[Install]`
 * targets (default: WantedBy=multi-user.target), as systemctl enable would
 * make them, for the generator's output directory.
 */
export function planInstallLinks(declaration: ContainerDeclaration): InstallLink[] {
  const unit = unitName(declaration.name);
  const links: InstallLink[] = [];
  for (const entry of declaration.install ?? DEFAULT_INSTALL) {
    const link = INSTALL_KEYS[entry.key];
    if (!link) continue;
    for (const word of splitWords(entry.value)) links.push(link(word, unit));
  }
  return links;
}

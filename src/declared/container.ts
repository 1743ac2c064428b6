/**
 * Declared containers: a `.container` file (systemd unit syntax,
 * src/systemd/unit_file.ts, with podman quadlet's keys: keys.ts) becomes
 * the options of `tsnspawn create` and the text of the unit
 * `tsnspawn-<container>.service` that the generator (generator.ts) writes
 * at boot and on daemon-reload.
 *
 * The `[Container]` section becomes a `create` command line that goes
 * through the CLI's own parser (src/container/run_args.ts), so a declared
 * container and `tsnspawn create` cannot drift apart; each key is also
 * checked on its own, so a bad value is reported at its line (in the file
 * or the drop-in that holds it). References to other declared files are
 * resolved the way quadlet resolves them (names.ts): `Network=app.network`
 * runs on the network that file makes, `Volume=data.volume:/d` mounts its
 * volume, `Image=base.image` / `Image=app.build` run the image it pulls or
 * builds, and each adds `Requires=` and `After=` on that file's unit; a
 * relative host path (`./data`) is relative to the file's directory.
 *
 * `[Unit]` (with dependencies on declared files translated: common.ts),
 * `[Service]` and `[Install]` pass through to systemd, except the
 * `[Service]` keys tsnspawn manages (keys.ts MANAGED_SERVICE_KEYS);
 * `Restart=no|on-failure|always` also sets the container's restart policy.
 * `[Install]` (default `WantedBy=multi-user.target`) takes effect once the
 * container is enabled (`tsnspawn enable`).
 *
 * The generated unit carries exactly the properties `tsnspawn run` gives a
 * transient unit: both come from `planUnitProperties`
 * (src/systemd/unit_properties.ts), rewritten here from D-Bus property
 * names to unit-file keys ({@link UNIT_FILE_KEYS}). Its `ExecStartPre=`
 * (`tsnspawn __prepare NAME`, src/runtime/prepare.ts) creates the
 * container from the file at each start, then starts its health timer.
 *
 * A template (`web@.container`) becomes the template unit
 * `tsnspawn-web@.service`; its instance N runs container `web@N`, made
 * from the file with `%i` = N by `__prepare web@N`. An instance file
 * (`web@1.container`, a symlink to the template, with drop-ins of its own)
 * becomes that instance's unit.
 *
 * Pure: the caller reads files and host facts (store.ts).
 */
import { TsnspawnError } from "../errors.ts";
import type { ContainerConfig } from "../container/config.ts";
import { planContainer, requestFromRunOptions } from "../container/plan.ts";
import type { ContainerOptions } from "../container/options.ts";
import { parseContainerArgs } from "../container/run_args.ts";
import { normalizeReference, parseReference } from "../oci/reference.ts";
import { parseSignal, validateContainerName } from "../container/run_options.ts";
import {
  escapeSpecifiers,
  expandSpecifiers,
  parseUnitFile,
  type UnitEntry,
  type UnitSection,
} from "../systemd/unit_file.ts";
import {
  formatUnitProperties,
  planUnitProperties,
  type UnitProperty,
} from "../systemd/unit_properties.ts";
import { containersDir, unitName } from "../paths.ts";
import { machineUnitName } from "../systemd/machined.ts";
import { dirname, join, normalize } from "../path_util.ts";
import {
  checkInstall,
  checkSections,
  collect,
  type Collected,
  type DeclarationProblem,
  defaultDependencies,
  describe,
  formatGeneratedUnit,
  type HostFacts,
  type InstallLink,
  instantiate,
  keptEntries,
  lookupReference,
  planInstallLinks,
  planSpecifiers,
  planUnitHead,
  Problems,
  readValues,
  requireUnit,
  shown,
  translateUnitSection,
} from "./common.ts";
import {
  CONTAINER_KEYS,
  type ContainerKey,
  MANAGED_SERVICE_KEYS,
  nearestKeyHint,
  UNSUPPORTED_CONTAINER_KEYS,
} from "./keys.ts";
import { defaultContainerName, INSTANCE_TOKEN, type UnitInfo, unquote } from "./names.ts";
import { type DeclaredSource, planSource, templateParts } from "./source.ts";
import { AUTO_UPDATE_LABEL } from "../auto_update/policy.ts";

export type { DeclarationProblem, HostFacts, InstallLink };
export { formatProblem, planSpecifiers } from "./common.ts";

/** `Restart=` values that are also container restart policies (the rest pass through). */
const RESTART_POLICIES = new Set(["no", "on-failure", "always"]);

/** The `[Install]` of a declaration without one, so `tsnspawn enable` has a target. */
export const DEFAULT_INSTALL: readonly UnitEntry[] = [{
  key: "WantedBy",
  value: "multi-user.target",
  line: 0,
}];

/** `TSNSPAWN_RUN=` of a declared container's journal lines (a transient run has a random id). */
export const DECLARED_RUN_ID = "declared";

/** A valid `.container` file. */
export interface ContainerDeclaration {
  /** The container name (the file's name, ContainerName=, or a template's `prefix@instance`). */
  name: string;
  /** The declared file's name (`web.container`). */
  fileName: string;
  /** Where it was read. */
  path: string;
  /** The generated unit file's name (`tsnspawn-web.service`; a template's `tsnspawn-web@.service`). */
  unitFile: string;
  /** A template's own unit (its instances are made by `__prepare prefix@N`). */
  template: boolean;
  /** The `create` command line the `[Container]` section amounts to (after `create`). */
  createArgs: string[];
  /** The parsed options of that command line. */
  options: ContainerOptions;
  /** Entries of the unit, per section (the file's, translated, with the dependencies references add). */
  unit: UnitEntry[];
  service: UnitEntry[];
  /** null: the file has no `[Install]` section. */
  install: UnitEntry[] | null;
  /** `ReloadCmd=` (a command) or `ReloadSignal=` (a signal name): the unit's ExecReload=. */
  reload?: { command: string[] } | { signal: string };
  /** The file's `[Container]` entries, kept in the unit as `[X-Container]`. */
  kept: UnitEntry[];
  /** X-* sections of the file. */
  extra: UnitSection[];
}

/** What {@link convertContainer} found. */
export interface DeclarationResult {
  declaration: ContainerDeclaration | null;
  problems: DeclarationProblem[];
}

/** Options of {@link convertContainer}. */
export interface DeclarationContext {
  /** Host facts for specifiers. */
  host: HostFacts;
  /** Host CPUs, the upper bound of CPUs= (default: as the CLI). */
  hostCpus?: number;
  /** The declared files by name, for references and dependencies (default: none). */
  units?: ReadonlyMap<string, UnitInfo>;
  /**
   * A template's instance to make (`__prepare web@7`); undefined plans the
   * template's own unit (with `%i` standing in).
   */
  instance?: string;
}

/** The `create` option a key's values become, as `--option=value` words. */
function optionArgs(option: string, values: readonly string[]): string[] {
  return values.map((v) => `--${option}=${v}`);
}

/** Whether a declared file name ends in one of `kinds`. */
function isReference(word: string, ...kinds: string[]): boolean {
  return kinds.some((k) => word.endsWith(`.${k}`) && word.length > k.length + 1);
}

/** A host path of the file: absolute as it is, else relative to the file's directory. */
function hostPath(value: string, path: string): string {
  return value.startsWith("/") ? normalize(value) : normalize(join(dirname(path), value));
}

/**
 * Parses a single `.container` file (no drop-ins; the fixture tests and
 * `validate FILE` of a file outside the search directories use this).
 */
export function parseDeclaration(
  path: string,
  text: string,
  context: DeclarationContext,
): DeclarationResult {
  const parsed = parseUnitFile(text);
  const fileName = path.slice(path.lastIndexOf("/") + 1);
  if (!fileName.endsWith(".container")) {
    return {
      declaration: null,
      problems: [{
        path,
        line: 0,
        message: `declaration ${path}: the file name must end in .container`,
        hint: "name the file <container name>.container",
      }],
    };
  }
  const source = planSource(fileName, path, parsed.file);
  const result = convertContainer(source, context);
  return {
    declaration: result.declaration,
    problems: [...parsed.problems.map((p) => ({ path, ...p })), ...result.problems],
  };
}

/**
 * Converts a `.container` source. Every problem is reported with its file
 * and line; the declaration is null when there is any. Never throws.
 */
export function convertContainer(
  source: DeclaredSource,
  context: DeclarationContext,
): DeclarationResult {
  const problems = new Problems(source.path);
  try {
    const declaration = convert(source, context, problems);
    return { declaration: problems.empty ? declaration : null, problems: problems.list };
  } catch (error) {
    // A bug, not a user's mistake: still a report, never a crash of validate or the generator.
    const { message } = describe(error);
    problems.file(`cannot convert the file: ${message}`, "please report this as a bug");
    return { declaration: null, problems: problems.list };
  }
}

function convert(
  source: DeclaredSource,
  context: DeclarationContext,
  problems: Problems,
): ContainerDeclaration | null {
  const units = context.units ?? new Map<string, UnitInfo>();
  const extra = checkSections(source, "Container", problems);
  const defaults = defaultDependencies(source, problems);
  const containerSections = source.sections.filter((s) => s.name === "Container");
  if (containerSections.length === 0) {
    problems.file("no [Container] section", "add [Container] with at least Image=");
  }
  const sectionEntry = containerSections[0] ?? { path: source.path, line: 0 };
  const parts = templateParts(source.fileName);
  const template = parts !== null && parts.instance === "";
  const instance = template ? context.instance ?? INSTANCE_TOKEN : parts?.instance ?? "";

  // The container's name, and the specifiers of its unit.
  const entries = containerSections.flatMap((s) => s.entries);
  const nameEntry = entries.filter((e) => e.key === "ContainerName" && e.value !== "").at(-1);
  let name = defaultContainerName(source.fileName, instance);
  if (nameEntry && template) {
    problems.at(
      nameEntry,
      "ContainerName= cannot be set in a template",
      "its containers are named after their instances (web@1)",
    );
  } else if (nameEntry) {
    try {
      name = expandSpecifiers(
        unquote(nameEntry.value),
        planSpecifiers(unitName(name), context.host),
      );
    } catch (error) {
      problems.at(nameEntry, `${shown(nameEntry)}: ${describe(error).message}`);
    }
  }
  try {
    validateContainerName(name);
  } catch (error) {
    const { message, hint } = describe(error);
    problems.at(
      nameEntry ?? { line: 0 },
      message,
      hint ?? "name the file <container name>.container",
    );
  }
  const specifiers = planSpecifiers(unitName(name), context.host);

  // Collect [Container] values, key by key.
  const collected = new Map<string, Collected>();
  for (const entry of entries) {
    if (Object.hasOwn(UNSUPPORTED_CONTAINER_KEYS, entry.key)) {
      problems.at(entry, `${entry.key}= is not supported`, UNSUPPORTED_CONTAINER_KEYS[entry.key]);
      continue;
    }
    if (!Object.hasOwn(CONTAINER_KEYS, entry.key)) {
      problems.at(
        entry,
        `unknown key ${entry.key}= in [Container]`,
        nearestKeyHint(entry.key, Object.keys(CONTAINER_KEYS), "Container"),
      );
      continue;
    }
    const key = CONTAINER_KEYS[entry.key];
    let values: string[];
    try {
      values = readValues(entry, key.shape, specifiers);
    } catch (error) {
      const { message, hint } = describe(error);
      problems.at(entry, `${shown(entry)}: ${message}`, hint);
      continue;
    }
    if (key.shape === "value" && values.length === 1) values[0] = unquote(values[0]);
    // Entrypoint= with nothing after it clears the image's entrypoint (quadlet).
    if (entry.key === "Entrypoint" && values.length === 0) values = [""];
    collect(collected, entry, key.shape, values);
  }

  // [Unit], [Service], [Install].
  const unit = [
    ...planUnitHead(source, defaults),
    ...translateUnitSection(source, units, problems),
  ];
  const service: UnitEntry[] = [];
  let restart: string | undefined;
  for (
    const entry of source.sections.filter((s) => s.name === "Service").flatMap((s) => s.entries)
  ) {
    if (Object.hasOwn(MANAGED_SERVICE_KEYS, entry.key)) {
      problems.at(
        entry,
        `${entry.key}= cannot be set in [Service]`,
        MANAGED_SERVICE_KEYS[entry.key],
      );
      continue;
    }
    if (entry.key === "Restart") {
      restart = entry.value === "" ? undefined : entry.value;
      if (restart === undefined || RESTART_POLICIES.has(restart)) continue;
    }
    service.push({ key: entry.key, value: entry.value, line: 0 });
  }
  const install = checkInstall(source, problems);

  // The section as one `create` command line: options, then `--`, the image and Exec=.
  const args: string[] = [`--name=${name}`];
  const refs = { source, units, problems, unit, instance };
  let image: string | undefined;
  let reload: ContainerDeclaration["reload"];
  let user: Collected | undefined;
  let group: Collected | undefined;
  for (const [keyName, got] of collected) {
    const key = CONTAINER_KEYS[keyName];
    const words = keyWords(keyName, key, got, refs);
    if (words === null) continue;
    if (keyName === "Image") {
      image = words[0];
      continue;
    }
    if (keyName === "User") user = got;
    if (keyName === "Group") group = got;
    if (keyName === "ReloadCmd") reload = { command: got.values };
    if (keyName === "ReloadSignal") {
      try {
        parseSignal(got.values[0]);
        reload = { signal: got.values[0] };
      } catch (error) {
        problems.at(got.entry, `${shown(got.entry)}: ${describe(error).message}`);
      }
    }
    for (const word of words) args.push(word);
  }
  if (collected.has("ReloadCmd") && collected.has("ReloadSignal")) {
    problems.at(
      collected.get("ReloadSignal")!.entry,
      "ReloadCmd= and ReloadSignal= exclude each other",
      "keep one of them",
    );
  }
  if (group && !user) {
    problems.at(
      group.entry,
      "Group= needs User=",
      "write User=USER and Group=GROUP, or User=USER:GROUP",
    );
  } else if (user) {
    args.push(`--user=${group ? `${user.values[0]}:${group.values[0]}` : user.values[0]}`);
  }
  if (
    collected.get("VolatileTmp")?.values[0] === "true" &&
    collected.get("ReadOnly")?.values[0] !== "true"
  ) {
    args.push("--tmpfs=/tmp:rw,size=512m,mode=1777");
  }
  if (restart !== undefined && RESTART_POLICIES.has(restart)) args.push(`--restart=${restart}`);
  const rootfs = collected.get("Rootfs");
  if (image === undefined && !rootfs && containerSections.length > 0 && !collected.has("Image")) {
    problems.at(
      sectionEntry,
      "no Image= in [Container]",
      "name the image to run, e.g. Image=busybox (or Rootfs=DIR)",
    );
  }
  if (collected.has("Image") && rootfs) {
    problems.at(rootfs.entry, "Image= and Rootfs= exclude each other", "keep one of them");
  }
  args.push("--");
  if (image !== undefined) args.push(image);
  for (const word of collected.get("Exec")?.values ?? []) args.push(word);
  if (!problems.empty) return null;

  let options: ContainerOptions;
  try {
    options = parseContainerArgs(args, { lookupEnv: () => undefined, hostCpus: context.hostCpus });
    planDeclaredConfig(options); // the checks create makes without the image
  } catch (error) {
    const { message, hint } = describe(error);
    problems.at(sectionEntry, message, hint);
    return null;
  }
  return {
    name,
    fileName: source.fileName,
    path: source.path,
    unitFile: template ? `tsnspawn-${parts!.prefix}@.service` : unitName(name),
    template,
    createArgs: args,
    options,
    unit,
    service,
    install,
    ...(reload ? { reload } : {}),
    kept: keptEntries(source, "Container"),
    extra,
  };
}

/** What the key conversions need besides the values. */
interface ReferenceContext {
  source: DeclaredSource;
  units: ReadonlyMap<string, UnitInfo>;
  problems: Problems;
  /** [Unit] entries: references add Requires=/After=. */
  unit: UnitEntry[];
  instance: string;
}

/**
 * The `create` words of one key (each value checked with the CLI's parser,
 * problems at the key's last line); null when the key adds no words or
 * has a problem. Image= gives the image itself.
 */
function keyWords(
  keyName: string,
  key: ContainerKey,
  got: Collected,
  refs: ReferenceContext,
): string[] | null {
  const { problems } = refs;
  const entry = got.entry;
  const fail = (message: string, hint?: string) => {
    problems.at(entry, `${shown(entry)}: ${message}`, hint);
    return null;
  };
  const values = got.values;
  const checked = (words: string[]) => {
    const problem = checkWords(words, key.option === "rootfs");
    return problem ? fail(problem.message, problem.hint) : words;
  };
  switch (keyName) {
    case "Image": {
      let image = values[0];
      if (isReference(image, "image", "build")) {
        const info = lookupReference(image, refs.source, refs.units, entry, problems);
        if (!info) return null;
        requireUnit(refs.unit, info);
        image = instantiate(info.resource, refs.instance);
      }
      try {
        parseReference(image);
      } catch (error) {
        const { message, hint } = describe(error);
        return fail(message, hint);
      }
      return [image];
    }
    case "Exec":
    case "ContainerName":
    case "User":
    case "Group":
    case "ReloadCmd":
    case "ReloadSignal":
    case "VolatileTmp":
      return [];
    case "Entrypoint":
      return checked([`--entrypoint=${values[0] ?? ""}`]);
    case "Notify": {
      const value = values[0].toLowerCase();
      if (value === "healthy") return checked(["--sdnotify=healthy"]);
      if (["true", "yes", "1", "on"].includes(value)) return checked(["--sdnotify=container"]);
      if (["false", "no", "0", "off"].includes(value)) return [];
      return fail("not true, false or healthy");
    }
    case "AutoUpdate":
      if (values[0] !== "registry" && values[0] !== "local") return fail("not registry or local");
      return [`--label=${AUTO_UPDATE_LABEL}=${values[0]}`];
    case "HealthLogDestination":
      return values[0] === "local"
        ? []
        : fail("only local is supported", "health results are kept in the container's health.json");
    case "HttpProxy":
      return values[0] === "false" ? [] : fail(
        "tsnspawn never passes proxy variables into a container",
        "write HttpProxy=false, or Environment= the variables",
      );
    case "SecurityLabelDisable":
      return [];
    case "LogDriver":
      return values[0] === "journald" ? [] : fail(
        "only journald is supported",
        "a container's output goes to its unit's journal ('tsnspawn logs')",
      );
    case "NoNewPrivileges":
      return values[0] === "true" ? [] : checked(["--security-opt=no-new-privileges=false"]);
    case "SeccompProfile": {
      const value = values[0] === "unconfined" ? values[0] : hostPath(values[0], entry.path);
      return checked([`--security-opt=seccomp=${value}`]);
    }
    case "ReadOnlyTmpfs":
      return checked([`--read-only-tmpfs=${values[0]}`]);
    case "Network":
      return networkWords(values, refs, entry, fail);
    case "Volume": {
      const words: string[] = [];
      for (const value of values) {
        const resolved = volumeSource(value, refs, entry);
        if (resolved === null) return null;
        words.push(`--volume=${resolved}`);
      }
      return checked(words);
    }
    case "Mount": {
      const words: string[] = [];
      for (const value of values) {
        const resolved = mountSource(value, refs, entry);
        if (resolved === null) return null;
        words.push(`--mount=${resolved}`);
      }
      return checked(words);
    }
    case "Environment":
      for (const v of values) {
        if (!v.includes("=")) {
          return fail(
            `environment variable ${JSON.stringify(v.slice(0, 80))}: no '='`,
            "write KEY=VALUE",
          );
        }
      }
      return checked(optionArgs(key.option, values));
  }
  if (key.shape === "flag") return values[0] === "true" ? checked([`--${key.option}`]) : [];
  const given = key.hostPath ? values.map((v) => hostPath(v, entry.path)) : values;
  return checked(optionArgs(key.option, given));
}

/** Network=: one network; NAME.network is the network that file makes. */
function networkWords(
  values: readonly string[],
  refs: ReferenceContext,
  entry: UnitEntry & { path: string },
  fail: (message: string, hint?: string) => null,
): string[] | null {
  if (values.length > 1) return fail("a container joins one network", "keep one Network= line");
  let network = values[0];
  if (isReference(network, "container")) {
    return fail(
      "joining another container's network is not supported",
      "put both containers on one .network",
    );
  }
  if (isReference(network, "network")) {
    const info = lookupReference(network, refs.source, refs.units, entry, refs.problems);
    if (!info) return null;
    requireUnit(refs.unit, info);
    network = instantiate(info.resource, refs.instance);
  }
  const problem = checkWords([`--network=${network}`], false);
  return problem ? fail(problem.message, problem.hint) : [`--network=${network}`];
}

/** Volume=SOURCE:DEST[:OPTS] with SOURCE a NAME.volume reference or a relative path resolved. */
function volumeSource(
  value: string,
  refs: ReferenceContext,
  entry: UnitEntry & { path: string },
): string | null {
  const parts = value.split(":");
  if (parts.length < 2) return value; // anonymous
  let source = parts[0];
  if (isReference(source, "volume")) {
    const info = lookupReference(source, refs.source, refs.units, entry, refs.problems);
    if (!info) return null;
    requireUnit(refs.unit, info);
    source = instantiate(info.resource, refs.instance);
  } else if (source.startsWith(".")) {
    source = hostPath(source, entry.path);
  }
  if (source.startsWith("/")) {
    refs.unit.push({ key: "RequiresMountsFor", value: escapeSpecifiers(source), line: 0 });
  }
  return [source, ...parts.slice(1)].join(":");
}

/** Mount=type=...,source=NAME.volume|./path,... with the source resolved. */
function mountSource(
  value: string,
  refs: ReferenceContext,
  entry: UnitEntry & { path: string },
): string | null {
  const fields = value.split(",");
  for (let i = 0; i < fields.length; i++) {
    const eq = fields[i].indexOf("=");
    const key = eq < 0 ? fields[i] : fields[i].slice(0, eq);
    if (key !== "source" && key !== "src") continue;
    let source = fields[i].slice(eq + 1);
    if (isReference(source, "image")) {
      refs.problems.at(entry, `${shown(entry)}: image mounts are not supported`);
      return null;
    }
    if (isReference(source, "volume")) {
      const info = lookupReference(source, refs.source, refs.units, entry, refs.problems);
      if (!info) return null;
      requireUnit(refs.unit, info);
      source = instantiate(info.resource, refs.instance);
    } else if (source.startsWith(".")) {
      source = hostPath(source, entry.path);
    }
    if (source.startsWith("/")) {
      refs.unit.push({ key: "RequiresMountsFor", value: escapeSpecifiers(source), line: 0 });
    }
    fields[i] = `${key}=${source}`;
  }
  return fields.join(",");
}

/** Checks `create` words with the CLI's parser; returns the problem, if any. */
function checkWords(words: string[], rootfs: boolean): { message: string; hint?: string } | null {
  try {
    parseContainerArgs([...words, ...(rootfs ? [] : ["image"])], { lookupEnv: () => undefined });
    return null;
  } catch (error) {
    return describe(error);
  }
}

// ---------------------------------------------------------------------------
// The container and its unit

/**
 * The container config as far as it is known without the image: what the
 * unit's properties are planned from. The real config is made by
 * `tsnspawn __prepare` at start, with the image (its stop signal, command,
 * user, health check); only the stop signal of those reaches the unit
 * (KillSignal=), and ExecStop= sends the real one.
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

  // The image's command (and health check) are not known here; placeholders keep the checks content.
  const config = planContainer(
    request,
    {
      Cmd: ["(the image's command)"],
      ...(options.sdnotify === "healthy" ? { Healthcheck: { Test: ["CMD", "true"] } } : {}),
    },
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

/**
 * Unit-file lines of the planned properties: the D-Bus rlimit pairs
 * (`LimitNOFILESoft` + `LimitNOFILE`) become one `LimitNOFILE=SOFT:HARD`.
 */
function unitFileEntries(
  properties: readonly UnitProperty[],
): ["Unit" | "Service", string, string][] {
  const soft = new Map<string, string>();
  const out: ["Unit" | "Service", string, string][] = [];
  for (const property of properties) {
    const name = property[0];
    if (/^Limit[A-Z]+Soft$/.test(name)) {
      soft.set(name.slice(0, -4), unitFileLines(property)[0][2]);
      continue;
    }
    for (const line of unitFileLines(property)) {
      if (soft.has(name)) line[2] = `${soft.get(name)}:${line[2]}`;
      out.push(line);
    }
  }
  return out;
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

/** The text of the container's unit (a template's: `tsnspawn-web@.service`). */
export function planContainerUnit(declaration: ContainerDeclaration, context: UnitContext): string {
  const { name } = declaration;
  const config = planDeclaredConfig(declaration.options);
  const properties = planUnitProperties(config, {
    shimCommand: context.command("__shim", [name]),
    stopCommand: context.command("__stop", [name]),
    cleanupCommand: context.command("__cleanup", [name]),
    prepareCommand: context.command("__prepare", [name]),
    healthRunner: context.command("__healthcheck", [name]),
    healthTimerAlways: true,
    ...(context.machined ? { registerMachine: machineUnitName(name) } : {}),
    runId: DECLARED_RUN_ID,
  });
  const unit: UnitEntry[] = [];
  const service: UnitEntry[] = [];
  for (const [section, key, value] of unitFileEntries(properties)) {
    (section === "Unit" ? unit : service).push({ key, value, line: 0 });
  }
  if (declaration.reload) {
    const argv = "command" in declaration.reload
      ? context.command("exec", [name, ...declaration.reload.command])
      : context.command("kill", ["--signal", declaration.reload.signal, name]);
    const [line] = formatUnitProperties([["ExecReload", "a(sasb)", [[argv[0], argv, false]]]])
      .split("\n");
    service.push({
      key: "ExecReload",
      value: escapeSpecifiers(line.slice("ExecReload=".length)),
      line: 0,
    });
  }
  // The file's own settings come after the planned ones, so they win.
  const head = declaration.unit;
  return formatGeneratedUnit({
    name: declaration.unitFile,
    source: {
      fileName: declaration.fileName,
      path: declaration.path,
      kind: "container",
      sections: [],
    },
    unit: [
      ...unit,
      {
        key: "RequiresMountsFor",
        value: escapeSpecifiers(containersDir(context.stateRoot)),
        line: 0,
      },
      ...head,
    ],
    service: [...service, ...declaration.service],
    install: [...(declaration.install ?? DEFAULT_INSTALL)],
    kept: declaration.kept,
    extra: declaration.extra,
  });
}

/**
 * The links that hook an enabled container's unit into its `[Install]`
 * targets (default: WantedBy=multi-user.target), as systemctl enable would
 * make them, for the generator's output directory. A template's links are
 * its instance's (the enabled mark names it) or its DefaultInstance's.
 */
export function containerInstallLinks(
  declaration: ContainerDeclaration,
  instance?: string,
): InstallLink[] {
  return planInstallLinks(declaration.install ?? DEFAULT_INSTALL, declaration.unitFile, instance);
}

/** A declaration's problems as one error (the first, and how many more). */
export function declarationError(problems: readonly DeclarationProblem[]): TsnspawnError {
  const first = problems[0];
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : "";
  const where = first.line > 0 ? `${first.path}:${first.line}` : first.path;
  return new TsnspawnError("invalid", `${where}: ${first.message}${more}`, {
    hint: first.hint ?? `see 'tsnspawn validate ${first.path}'`,
  });
}

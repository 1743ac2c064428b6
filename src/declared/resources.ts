/**
 * Declared networks, volumes, images and builds (pure): a `.network`,
 * `.volume`, `.image` or `.build` file becomes a oneshot unit that makes
 * the thing with the CLI (as quadlet's units run `podman network create`,
 * `podman volume create`, `podman image pull`, `podman build`):
 *
 * | file | unit | ExecStart= |
 * |---|---|---|
 * | `app.network` | `tsnspawn-app-network.service` | `tsnspawn network create --ignore [--subnet CIDR] app` |
 * | `data.volume` | `tsnspawn-data-volume.service` | `tsnspawn volume create --ignore [--label…] [--opt…] data` |
 * | `base.image` | `tsnspawn-base-image.service` | `tsnspawn pull [--platform…] [--policy missing] IMAGE` |
 * | `app.build` | `tsnspawn-app-build.service` | `tsnspawn build -t TAG… [-f FILE] … CONTEXT` |
 *
 * `Type=oneshot`, `RemainAfterExit=yes` (not for builds, as quadlet),
 * `SyslogIdentifier=%N` unless the file sets them. A container that names
 * the file (`Network=app.network`) requires and follows the unit
 * (container.ts). `.build` files are parsed and checked now; the
 * `tsnspawn build` their unit runs is issue 11's command.
 *
 * Reference: podman-systemd.unit(5) "Network units", "Volume units",
 * "Image units", "Build units"; quadlet's ConvertNetwork, ConvertVolume,
 * ConvertImage, ConvertBuild.
 */
import { escapeSpecifiers, type UnitEntry } from "../systemd/unit_file.ts";
import { formatUnitProperties } from "../systemd/unit_properties.ts";
import { formatIpv4, parseSubnet } from "../network/ipv4.ts";
import { gatewayOf } from "../network/address_pool.ts";
import { validateNetworkName } from "../network/network_config.ts";
import { planVolumeConfig } from "../volume/config.ts";
import { parseReference } from "../oci/reference.ts";
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
  BUILD_KEYS,
  IMAGE_KEYS,
  nearestKeyHint,
  NETWORK_KEYS,
  type ResourceKey,
  UNSUPPORTED_BUILD_KEYS,
  UNSUPPORTED_IMAGE_KEYS,
  UNSUPPORTED_NETWORK_KEYS,
  UNSUPPORTED_VOLUME_KEYS,
  VOLUME_KEYS,
} from "./keys.ts";
import { INSTANCE_TOKEN, planUnitInfo, type UnitInfo, unquote } from "./names.ts";
import { DECLARED_KINDS, type DeclaredKind, type DeclaredSource, templateParts } from "./source.ts";
import { parseKeyValues } from "../labels.ts";

/** What a `.network`, `.volume`, `.image` or `.build` file becomes. */
export interface ResourceUnit {
  kind: Exclude<DeclaredKind, "container">;
  /** The unit file's name. */
  unitFile: string;
  /** The network, volume or image it makes. */
  resource: string;
  /** The unit's text. */
  text: string;
  /** The links its `[Install]` asks for (quadlet applies them without `enable`). */
  links: InstallLink[];
}

/** What {@link convertResource} found. */
export interface ResourceResult {
  unit: ResourceUnit | null;
  problems: DeclarationProblem[];
}

/** Options of {@link convertResource}. */
export interface ResourceContext {
  host: HostFacts;
  /** argv of the tsnspawn CLI with these arguments (src/self_exec.ts selfCommand). */
  command: (mode: string, args: string[]) => string[];
  units?: ReadonlyMap<string, UnitInfo>;
}

const TABLES: Record<
  Exclude<DeclaredKind, "container">,
  { keys: Readonly<Record<string, ResourceKey>>; unsupported: Readonly<Record<string, string>> }
> = {
  network: { keys: NETWORK_KEYS, unsupported: UNSUPPORTED_NETWORK_KEYS },
  volume: { keys: VOLUME_KEYS, unsupported: UNSUPPORTED_VOLUME_KEYS },
  image: { keys: IMAGE_KEYS, unsupported: UNSUPPORTED_IMAGE_KEYS },
  build: { keys: BUILD_KEYS, unsupported: UNSUPPORTED_BUILD_KEYS },
};

/** An argv as an `ExecStart=`-style unit-file value (quoted, `$` escaped; `%` for systemd). */
function execLine(argv: string[], ignoreFailure = false): string {
  const [line] = formatUnitProperties([["ExecStart", "a(sasb)", [[argv[0], argv, ignoreFailure]]]])
    .split("\n");
  return escapeSpecifiers(line.slice("ExecStart=".length));
}

/**
 * Converts a `.network`, `.volume`, `.image` or `.build` source. Problems
 * name file and line; the unit is null when there is any. Never throws.
 */
export function convertResource(source: DeclaredSource, context: ResourceContext): ResourceResult {
  const problems = new Problems(source.path);
  try {
    const unit = convert(source, context, problems);
    return { unit: problems.empty ? unit : null, problems: problems.list };
  } catch (error) {
    problems.file(
      `cannot convert the file: ${describe(error).message}`,
      "please report this as a bug",
    );
    return { unit: null, problems: problems.list };
  }
}

function convert(
  source: DeclaredSource,
  context: ResourceContext,
  problems: Problems,
): ResourceUnit | null {
  const kind = source.kind as Exclude<DeclaredKind, "container">;
  const section = DECLARED_KINDS[kind].section;
  const units = context.units ?? new Map<string, UnitInfo>();
  const info = planUnitInfo(source, (v) => v);
  const specifiers = planSpecifiers(
    info.service.replace("@.service", `@${INSTANCE_TOKEN}.service`),
    context.host,
  );
  const extra = checkSections(source, section, problems);
  const defaults = defaultDependencies(source, problems);
  if (!source.sections.some((s) => s.name === section)) {
    problems.file(`no [${section}] section`, `add [${section}]`);
  }

  const { keys, unsupported } = TABLES[kind];
  const collected = new Map<string, Collected>();
  for (const entry of source.sections.filter((s) => s.name === section).flatMap((s) => s.entries)) {
    if (Object.hasOwn(unsupported, entry.key)) {
      problems.at(entry, `${entry.key}= is not supported`, unsupported[entry.key]);
      continue;
    }
    if (!Object.hasOwn(keys, entry.key)) {
      problems.at(
        entry,
        `unknown key ${entry.key}= in [${section}]`,
        nearestKeyHint(entry.key, Object.keys(keys), section),
      );
      continue;
    }
    try {
      const values = readValues(entry, keys[entry.key].shape, specifiers);
      collect(
        collected,
        entry,
        keys[entry.key].shape,
        keys[entry.key].shape === "value" ? values.map(unquote) : values,
      );
    } catch (error) {
      const { message, hint } = describe(error);
      problems.at(entry, `${shown(entry)}: ${message}`, hint);
    }
  }

  const unit: UnitEntry[] = [
    ...planUnitHead(source, defaults),
    ...translateUnitSection(source, units, problems),
  ];
  const service: UnitEntry[] = [];
  const parts = templateParts(source.fileName);
  const instance = parts?.instance || INSTANCE_TOKEN;
  const resource = instantiate(info.resource, instance);
  const exec = (argv: string[], key = "ExecStart", ignore = false) =>
    service.push({
      key,
      value: execLine(context.command(argv[0], argv.slice(1)), ignore),
      line: 0,
    });
  const value = (key: string) => collected.get(key)?.values.at(-1);
  const at = (key: string) => collected.get(key)?.entry ?? { path: source.path, line: 0 };
  const fail = (key: string, message: string, hint?: string) => {
    const entry = at(key);
    problems.at(entry, "key" in entry ? `${shown(entry)}: ${message}` : message, hint);
  };

  switch (kind) {
    case "network": {
      try {
        validateNetworkName(resource.replaceAll(INSTANCE_TOKEN, "x"));
      } catch (error) {
        const { message, hint } = describe(error);
        problems.at(at("NetworkName"), message, hint);
      }
      const driver = value("Driver");
      if (driver !== undefined && driver !== "bridge") {
        fail("Driver", "only the bridge driver is supported");
      }
      const ipam = value("IPAMDriver");
      if (ipam !== undefined && ipam !== "host-local") {
        fail(
          "IPAMDriver",
          "only host-local is supported",
          "addresses are leased from the network's subnet",
        );
      }
      const subnets = collected.get("Subnet")?.values ?? [];
      const gateways = collected.get("Gateway")?.values ?? [];
      const argv = ["network", "create", "--ignore"];
      if (subnets.length > 1) {
        fail("Subnet", "one subnet per network", "tsnspawn's networks are single IPv4 subnets");
      }
      if (gateways.length > 0 && subnets.length === 0) fail("Gateway", "Gateway= needs Subnet=");
      if (gateways.length > 1) fail("Gateway", "one gateway per network");
      if (subnets.length === 1) {
        try {
          const subnet = parseSubnet(subnets[0]);
          argv.push(`--subnet=${subnets[0]}`);
          const gateway = formatIpv4(gatewayOf(subnet));
          if (gateways.length === 1 && gateways[0] !== gateway) {
            fail(
              "Gateway",
              `the gateway of ${subnets[0]} is ${gateway}`,
              "tsnspawn's bridge takes the subnet's first address",
            );
          }
        } catch (error) {
          const { message, hint } = describe(error);
          fail("Subnet", message, hint);
        }
      }
      for (const label of collected.get("Label")?.values ?? []) {
        if (!label.includes("=")) fail("Label", `label ${JSON.stringify(label)}: no '='`);
      }
      exec([...argv, resource]);
      if (value("NetworkDeleteOnStop") === "true") {
        exec(["network", "rm", resource], "ExecStopPost", true);
      }
      break;
    }
    case "volume": {
      const argv = ["volume", "create", "--ignore"];
      const options: Record<string, string> = {};
      const driver = value("Driver");
      if (driver !== undefined && driver !== "local") {
        fail("Driver", "only the local driver is supported");
      }
      const device = value("Device");
      const type = value("Type");
      if (type !== undefined && device === undefined) fail("Type", "Type= needs Device=");
      if (device !== undefined) options.device = device;
      if (type !== undefined) options.type = type;
      const mountOptions: string[] = [];
      for (const key of ["User", "Group"]) {
        const v = value(key);
        if (v === undefined) continue;
        if (!/^\d{1,10}$/.test(v)) fail(key, "a numeric id is needed");
        mountOptions.push(`${key === "User" ? "uid" : "gid"}=${v}`);
      }
      const o = value("Options");
      if (o !== undefined) mountOptions.push(o);
      if (mountOptions.length) options.o = mountOptions.join(",");
      if (value("Copy") === "false") options.nocopy = "";
      for (const key of ["UID", "GID"]) {
        const v = value(key);
        if (v === undefined) continue;
        if (!/^\d{1,10}$/.test(v)) fail(key, "a numeric id is needed");
        options[key.toLowerCase()] = v;
      }
      let labels: Record<string, string> = {};
      try {
        labels = parseKeyValues(collected.get("Label")?.values ?? []);
        planVolumeConfig(
          { name: resource.replaceAll(INSTANCE_TOKEN, "x"), labels, options },
          new Date(0),
        );
      } catch (error) {
        const { message, hint } = describe(error);
        problems.at(at(device !== undefined ? "Device" : "VolumeName"), message, hint);
      }
      for (const [k, v] of Object.entries(labels)) argv.push(`--label=${k}=${v}`);
      for (const [k, v] of Object.entries(options)) {
        argv.push(`--opt=${v === "" ? k : `${k}=${v}`}`);
      }
      if (type === "bind" && device?.startsWith("/")) {
        unit.push({ key: "RequiresMountsFor", value: escapeSpecifiers(device), line: 0 });
      }
      exec([...argv, resource]);
      break;
    }
    case "image": {
      const image = value("Image");
      const policy = value("Policy");
      if (policy !== undefined && policy !== "always" && policy !== "missing") {
        fail(
          "Policy",
          "not always or missing",
          "always pulls at every start (the default); missing only when the image is not stored",
        );
      }
      if (image === undefined) {
        problems.file(
          "no Image= in [Image]",
          "name the image to pull, e.g. Image=quay.io/org/app:1",
        );
        break;
      }
      try {
        parseReference(image);
        if (value("ImageTag")) parseReference(value("ImageTag")!);
      } catch (error) {
        const { message, hint } = describe(error);
        fail(value("ImageTag") ? "ImageTag" : "Image", message, hint);
      }
      const argv = ["pull"];
      const os = value("OS") ?? "linux";
      const arch = value("Arch");
      if (arch !== undefined || value("Variant") !== undefined || value("OS") !== undefined) {
        argv.push(
          `--platform=${[os, arch ?? hostArch(), value("Variant")].filter((p) => p).join("/")}`,
        );
      }
      if (policy === "missing") argv.push("--policy=missing");
      if (value("TLSVerify") === "false") argv.push("--tls-verify=false");
      exec([...argv, image]);
      const tag = value("ImageTag");
      if (tag !== undefined && tag !== image) exec(["tag", image, tag], "ExecStartPost");
      break;
    }
    case "build": {
      const tags = collected.get("ImageTag")?.values ?? [];
      if (tags.length === 0) {
        problems.file(
          "no ImageTag= in [Build]",
          "name the image to build, e.g. ImageTag=localhost/app:1",
        );
      }
      const argv = ["build"];
      for (const tag of tags) {
        try {
          parseReference(tag);
        } catch (error) {
          const { message, hint } = describe(error);
          fail("ImageTag", message, hint);
        }
        argv.push(`--tag=${tag}`);
      }
      const file = value("File");
      const workDir = value("SetWorkingDirectory");
      const serviceWorkDir = source.sections.filter((s) => s.name === "Service").flatMap((s) =>
        s.entries
      )
        .filter((e) => e.key === "WorkingDirectory").at(-1)?.value;
      let buildContext: string | undefined;
      if (workDir === "unit") buildContext = dirname(source.path);
      else if (workDir === "file") {
        if (!file) fail("SetWorkingDirectory", "SetWorkingDirectory=file needs File=");
        else buildContext = dirname(absolute(file, source.path));
      } else if (workDir !== undefined) {
        if (/^[a-z]+:\/\//.test(workDir)) {
          fail("SetWorkingDirectory", "a URL context is not supported", "give a directory");
        } else buildContext = absolute(workDir, source.path);
      } else if (serviceWorkDir) {
        buildContext = ".";
      } else if (file?.startsWith("/")) {
        buildContext = dirname(file);
      }
      if (
        buildContext === undefined &&
        !problems.list.some((p) => p.message.includes("SetWorkingDirectory"))
      ) {
        problems.file(
          "no build context: neither SetWorkingDirectory= nor an absolute File=",
          "add SetWorkingDirectory=unit (this file's directory) or a path",
        );
      }
      if (file !== undefined) argv.push(`--file=${file}`);
      for (const arg of collected.get("BuildArg")?.values ?? []) {
        if (!arg.includes("=")) fail("BuildArg", `build argument ${JSON.stringify(arg)}: no '='`);
        argv.push(`--build-arg=${arg}`);
      }
      for (const label of collected.get("Label")?.values ?? []) argv.push(`--label=${label}`);
      const target = value("Target");
      if (target !== undefined) argv.push(`--target=${target}`);
      const pull = value("Pull");
      if (pull !== undefined) {
        if (!["missing", "always", "never"].includes(pull)) {
          fail("Pull", "not missing, always or never");
        }
        argv.push(`--pull=${pull}`);
      }
      let network = value("Network");
      if (network !== undefined && network.endsWith(".network")) {
        const ref = lookupReference(
          network,
          source,
          units,
          collected.get("Network")!.entry,
          problems,
        );
        if (ref) {
          requireUnit(unit, ref);
          network = instantiate(ref.resource, instance);
        }
      }
      if (network !== undefined) argv.push(`--network=${network}`);
      if (buildContext !== undefined) argv.push(buildContext);
      exec(argv);
      break;
    }
  }

  const install = checkInstall(source, problems);
  // oneshot defaults, unless the file sets them (quadlet's defaultOneshotServiceGroup).
  const own = source.sections.filter((s) => s.name === "Service").flatMap((s) => s.entries);
  for (const entry of own) {
    if (entry.key === "ExecStart" || entry.key === "ExecStopPost") {
      problems.at(
        entry,
        `${entry.key}= cannot be set in [Service]`,
        `tsnspawn sets it from [${section}]`,
      );
    }
  }
  const has = (key: string) => own.some((e) => e.key === key);
  const defaultsService: UnitEntry[] = [
    ...(has("Type") ? [] : [{ key: "Type", value: "oneshot", line: 0 }]),
    ...(kind === "build" || has("RemainAfterExit")
      ? []
      : [{ key: "RemainAfterExit", value: "yes", line: 0 }]),
    ...(has("SyslogIdentifier") ? [] : [{ key: "SyslogIdentifier", value: "%N", line: 0 }]),
  ];
  if (!problems.empty) return null;
  const unitFile = info.service;
  const text = formatGeneratedUnit({
    name: unitFile,
    source,
    unit,
    service: [
      ...defaultsService,
      ...service,
      ...own.filter((e) => e.key !== "ExecStart" && e.key !== "ExecStopPost").map((
        { key, value },
      ) => ({ key, value, line: 0 })),
    ],
    install,
    kept: keptEntries(source, section),
    extra,
  });
  return {
    kind,
    unitFile,
    resource: info.resource,
    text,
    links: install ? planInstallLinks(install, unitFile) : [],
  };
}

/** A path of the file: absolute as it is, else relative to the file's directory. */
function absolute(path: string, file: string): string {
  return path.startsWith("/") ? normalize(path) : normalize(join(dirname(file), path));
}

/** The host's architecture as OCI names it. */
function hostArch(): string {
  const arch = Deno.build.arch;
  return arch === "x86_64" ? "amd64" : arch === "aarch64" ? "arm64" : arch;
}

/**
 * Value parsers of the `run`/`create` options beyond the basic ones of
 * run_options.ts (pure): `--mount`, `--sysctl`, `--ulimit`, `--shm-size`,
 * `--tz`, `--dns*`, `--add-host`, `--expose`, `--sdnotify`. Each throws
 * `TsnspawnError("invalid")` naming the option and the value.
 *
 * References: docs.docker.com "docker run" (--mount, --sysctl, --ulimit,
 * --add-host, --dns*, --expose, --shm-size); podman-run(1) (--tz,
 * --sdnotify); sysctl namespacing per moby's opts/ValidateSysctl;
 * getrlimit(2) for the --ulimit names; resolv.conf(5).
 */
import { TsnspawnError } from "../errors.ts";
import type { TmpfsMount, Ulimit, VolumeMount } from "./config.ts";
import { parseVolume } from "./run_options.ts";
import { parseTmpfs } from "./tmpfs.ts";

function invalid(thing: string, text: string, detail: string, hint?: string): TsnspawnError {
  return new TsnspawnError("invalid", `${thing} ${JSON.stringify(text.slice(0, 100))}: ${detail}`, {
    ...(hint ? { hint } : {}),
  });
}

// ---------------------------------------------------------------------------
// --mount

/**
 * Splits a `--mount` value at commas, honouring double quotes around a
 * field (`"dst=/a,b"`) as docker's CSV reader does.
 */
function splitMountFields(text: string): string[] {
  const fields: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      if (quoted && text[i + 1] === '"') {
        field += '"';
        i++;
      } else quoted = !quoted;
    } else if (c === "," && !quoted) {
      fields.push(field);
      field = "";
    } else field += c;
  }
  if (quoted) throw invalid("mount", text, "unterminated quote");
  fields.push(field);
  return fields;
}

const TRUE_WORDS = new Set(["", "1", "true", "yes"]);
const FALSE_WORDS = new Set(["0", "false", "no"]);

function mountBoolean(text: string, key: string, value: string): boolean {
  if (TRUE_WORDS.has(value)) return true;
  if (FALSE_WORDS.has(value)) return false;
  throw invalid("mount", text, `${key}=${value}: not true or false`);
}

/**
 * Parses docker's `--mount type=bind|volume|tmpfs,source=…,destination=…[,…]`
 * into the same mounts `-v` and `--tmpfs` make. Keys: type, source/src,
 * destination/dst/target, readonly/ro, rw; volume-nocopy; tmpfs-size,
 * tmpfs-mode; relabel and bind-propagation=rprivate are accepted (no-ops).
 */
export function parseMount(text: string): { volume: VolumeMount } | { tmpfs: TmpfsMount } {
  const hint =
    "e.g. --mount type=bind,source=/srv,destination=/data,ro or --mount type=volume,source=data,destination=/data";
  let type = "volume";
  let source: string | undefined;
  let destination: string | undefined;
  let readOnly = false;
  let noCopy = false;
  const tmpfsData: string[] = [];
  for (const field of splitMountFields(text)) {
    if (field === "") continue;
    const eq = field.indexOf("=");
    const key = (eq === -1 ? field : field.slice(0, eq)).toLowerCase();
    const value = eq === -1 ? "" : field.slice(eq + 1);
    switch (key) {
      case "type":
        type = value;
        break;
      case "source":
      case "src":
        source = value;
        break;
      case "destination":
      case "dst":
      case "target":
        destination = value;
        break;
      case "readonly":
      case "ro":
        readOnly = mountBoolean(text, key, value);
        break;
      case "rw":
        readOnly = !mountBoolean(text, key, value);
        break;
      case "volume-nocopy":
        noCopy = mountBoolean(text, key, value);
        break;
      case "tmpfs-size":
        tmpfsData.push(`size=${parseShmSize(value)}`);
        break;
      case "tmpfs-mode":
        if (!/^[0-7]{1,4}$/.test(value)) {
          throw invalid("mount", text, `tmpfs-mode=${value}: not an octal mode`);
        }
        tmpfsData.push(`mode=${value}`);
        break;
      case "relabel":
      case "z":
      case "Z":
        break; // SELinux is not used: nothing to relabel
      case "bind-propagation":
        if (value !== "rprivate" && value !== "private") {
          throw invalid(
            "mount",
            text,
            `bind-propagation=${value}: only rprivate is supported`,
            "mounts never propagate between a container and the host",
          );
        }
        break;
      default:
        throw invalid("mount", text, `unknown key ${key}`, hint);
    }
  }
  if (destination === undefined || destination === "") {
    throw invalid("mount", text, "no destination", hint);
  }
  switch (type) {
    case "bind":
      if (source === undefined || source === "") {
        throw invalid("mount", text, "a bind needs a source", hint);
      }
      if (!source.startsWith("/")) {
        throw invalid("mount", text, "a bind's source must be an absolute host path", hint);
      }
      return { volume: parseVolume(`${source}:${destination}${readOnly ? ":ro" : ""}`) };
    case "volume": {
      if (source !== undefined && source !== "" && source.startsWith("/")) {
        throw invalid(
          "mount",
          text,
          "a volume's source is a volume name",
          "use type=bind for a host path",
        );
      }
      const options = [...(readOnly ? ["ro"] : []), ...(noCopy ? ["nocopy"] : [])].join(",");
      const spec = source ? `${source}:${destination}` : destination;
      const volume = parseVolume(options && source ? `${spec}:${options}` : spec);
      if (!source) return { volume: { ...volume, readOnly, copyUp: !noCopy } };
      return { volume };
    }
    case "tmpfs":
      if (source) throw invalid("mount", text, "a tmpfs has no source");
      return {
        tmpfs: parseTmpfs(`${destination}${tmpfsData.length ? `:${tmpfsData.join(",")}` : ""}`),
      };
    default:
      throw invalid(
        "mount",
        text,
        `type ${JSON.stringify(type)} is not supported`,
        "the types are bind, volume and tmpfs",
      );
  }
}

// ---------------------------------------------------------------------------
// Kernel parameters and limits

/** Sysctl prefixes that are per namespace (moby opts.ValidateSysctl). */
const NAMESPACED_SYSCTLS = {
  ipc: [
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
  ],
  ipcPrefixes: ["fs.mqueue."],
  netPrefixes: ["net."],
};

/** `--sysctl NAME=VALUE`: a namespaced kernel parameter (IPC ones, fs.mqueue.*, net.*). */
export function parseSysctl(text: string): [string, string] {
  const eq = text.indexOf("=");
  const hint =
    "namespaced parameters only: net.*, fs.mqueue.*, kernel.msg*, kernel.sem, kernel.shm*";
  if (eq <= 0) throw invalid("sysctl", text, "not NAME=VALUE", hint);
  const name = text.slice(0, eq).replaceAll("/", ".");
  const value = text.slice(eq + 1);
  if (!/^[a-z0-9_.-]+$/i.test(name) || name.split(".").some((p) => p === "" || p === "..")) {
    throw invalid("sysctl", text, "not a parameter name", hint);
  }
  const namespaced = NAMESPACED_SYSCTLS.ipc.includes(name) ||
    [...NAMESPACED_SYSCTLS.ipcPrefixes, ...NAMESPACED_SYSCTLS.netPrefixes].some((p) =>
      name.startsWith(p)
    );
  if (!namespaced) {
    throw invalid("sysctl", text, "not a namespaced parameter: it would change the host", hint);
  }
  if (/[\n\0]/.test(value)) throw invalid("sysctl", text, "the value has control characters");
  return [name, value];
}

/** Whether a sysctl belongs to the network namespace (refused with --network host). */
export function isNetworkSysctl(name: string): boolean {
  return name.startsWith("net.");
}

/** docker's --ulimit names → systemd's Limit*= names (getrlimit(2) RLIMIT_*). */
const ULIMIT_NAMES: Record<string, string> = {
  core: "CORE",
  cpu: "CPU",
  data: "DATA",
  fsize: "FSIZE",
  locks: "LOCKS",
  memlock: "MEMLOCK",
  msgqueue: "MSGQUEUE",
  nice: "NICE",
  nofile: "NOFILE",
  nproc: "NPROC",
  rss: "RSS",
  rtprio: "RTPRIO",
  rttime: "RTTIME",
  sigpending: "SIGPENDING",
  stack: "STACK",
  as: "AS",
};

/** RLIM_INFINITY, as a number the unit properties turn into "infinity". */
export const ULIMIT_INFINITY = -1;

/** `--ulimit NAME=SOFT[:HARD]` (-1 = unlimited). */
export function parseUlimit(text: string): Ulimit {
  const hint = `e.g. --ulimit nofile=1024:4096; the names are ${
    Object.keys(ULIMIT_NAMES).join(", ")
  }`;
  const match = /^([a-z]+)=(-1|\d{1,19})(?::(-1|\d{1,19}))?$/.exec(text);
  if (!match) throw invalid("ulimit", text, "not NAME=SOFT[:HARD]", hint);
  const name = ULIMIT_NAMES[match[1]];
  if (!name) throw invalid("ulimit", text, `unknown limit ${match[1]}`, hint);
  const soft = Number(match[2]);
  const hard = match[3] === undefined ? soft : Number(match[3]);
  const rank = (n: number) => (n === ULIMIT_INFINITY ? Infinity : n);
  if (rank(soft) > rank(hard)) {
    throw invalid("ulimit", text, "the soft limit is above the hard one", hint);
  }
  if (!Number.isSafeInteger(soft) || !Number.isSafeInteger(hard)) {
    throw invalid("ulimit", text, "too large", hint);
  }
  return { name, soft, hard };
}

/** `--shm-size`: bytes of /dev/shm (a memory size; no 6 MiB minimum here, but 1 page). */
export function parseShmSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?) ?([kmgt]?)(i?b)?$/i.exec(text.trim());
  if (!match) throw invalid("shm size", text, "not a size", "e.g. --shm-size 256m");
  const unit = {
    "": 1,
    k: 1024,
    m: 1024 ** 2,
    g: 1024 ** 3,
    t: 1024 ** 4,
  }[match[2].toLowerCase()]!;
  const bytes = Math.floor(Number(match[1]) * unit);
  if (bytes < 4096 || !Number.isSafeInteger(bytes)) {
    throw invalid("shm size", text, "below 4KiB or too large");
  }
  return bytes;
}

/** `--tz`: `local` or an IANA zone name (checked against the host's zoneinfo at create). */
export function parseTimezone(text: string): string {
  if (text === "local") return text;
  if (!/^[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+)*$/.test(text) || text.split("/").includes("..")) {
    throw invalid(
      "timezone",
      text,
      "not a time zone name",
      "e.g. --tz Europe/Berlin or --tz local",
    );
  }
  return text;
}

// ---------------------------------------------------------------------------
// Name resolution

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const IPV6 = /^[0-9a-fA-F:.]+$/;

/** An IPv4 or IPv6 address as text (syntax only). */
function isAddress(text: string): boolean {
  return IPV4.test(text) || (text.includes(":") && IPV6.test(text));
}

/** `--dns ADDRESS`. */
export function parseDnsServer(text: string): string {
  if (!isAddress(text)) throw invalid("dns server", text, "not an IP address");
  return text;
}

/** `--dns-search DOMAIN` (`.` = none, as docker). */
export function parseDnsSearch(text: string): string {
  if (!/^[A-Za-z0-9.-]+$/.test(text)) throw invalid("dns search domain", text, "not a domain name");
  return text;
}

/** `--dns-option OPTION` (resolv.conf(5) `options`). */
export function parseDnsOption(text: string): string {
  if (!/^[A-Za-z0-9_:.-]+$/.test(text)) {
    throw invalid("dns option", text, "not a resolv.conf option");
  }
  return text;
}

/** `--add-host NAME:ADDRESS` (docker also takes `NAME=ADDRESS`); returns "NAME:ADDRESS". */
export function parseAddHost(text: string): string {
  const at = text.includes("=") ? text.indexOf("=") : text.indexOf(":");
  const name = text.slice(0, at);
  let address = text.slice(at + 1);
  if (address.startsWith("[") && address.endsWith("]")) address = address.slice(1, -1);
  if (at <= 0 || !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(name)) {
    throw invalid("extra host", text, "not NAME:ADDRESS", "e.g. --add-host db.local:10.0.0.5");
  }
  if (!isAddress(address)) throw invalid("extra host", text, `${address} is not an IP address`);
  return `${name}:${address}`;
}

/**
 * The container's resolv.conf when --dns* are given: the host's, with the
 * parts given replaced (docker's rule); `--dns-search .` clears the search list.
 */
export function planResolvConf(
  host: string,
  dns: { servers?: string[]; search?: string[]; options?: string[] },
): string {
  const lines = host.split("\n");
  const keep = (keyword: string, replace: string[] | undefined) =>
    replace === undefined ? lines.filter((l) => new RegExp(`^\\s*${keyword}\\s`).test(l)) : [];
  const out = [
    ...(dns.servers ? dns.servers.map((s) => `nameserver ${s}`) : keep("nameserver", undefined)),
    ...(dns.search
      ? (dns.search.includes(".") ? [] : [`search ${dns.search.join(" ")}`])
      : keep("(search|domain)", undefined)),
    ...(dns.options ? [`options ${dns.options.join(" ")}`] : keep("options", undefined)),
  ];
  return out.length ? out.join("\n") + "\n" : "";
}

/** `--expose PORT[-PORT][/PROTO]`: recorded as given, checked for shape. */
export function parseExpose(text: string): string {
  const match = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/(tcp|udp|sctp))?$/.exec(text);
  if (
    !match || Number(match[1]) < 1 || Number(match[1]) > 65535 ||
    (match[2] && (Number(match[2]) > 65535 || Number(match[2]) < Number(match[1])))
  ) {
    throw invalid(
      "exposed port",
      text,
      "not a port or a range",
      "e.g. --expose 8080 or --expose 2000-2010/udp",
    );
  }
  return text;
}

/** `--sdnotify`: container, healthy, or ready (podman's conmon: the runtime's readiness). */
export function parseSdnotify(text: string): "container" | "healthy" | undefined {
  if (text === "container" || text === "healthy") return text;
  if (text === "ready" || text === "conmon") return undefined;
  throw invalid(
    "sdnotify",
    text,
    "not container, ready or healthy",
    "ready (the default): started once the command runs; container: the container sends READY=1; healthy: the first passing health check",
  );
}

/**
 * Parsers for the values users give to `run`/`create`/`exec`: memory sizes,
 * CPU counts, pids limits, CPU weights, stop timeouts, volumes, users,
 * restart policies, environment assignments and env files, signals,
 * container names and hostnames.
 *
 * Each parser is pure and throws `TsnspawnError("invalid", "<thing> <value>:
 * <detail>", {hint})`. Semantics follow docker (docs.docker.com "docker run"
 * reference, moby `opts/`, go-units `RAMInBytes`, runc `user.GetExecUser`);
 * units follow systemd.resource-control(5); signal numbers are x86_64 Linux
 * (signal(7)).
 */
import { TsnspawnError } from "../errors.ts";
import type { RestartPolicy, VolumeMount } from "./config.ts";

function invalid(thing: string, value: string, detail: string, hint?: string): TsnspawnError {
  return new TsnspawnError("invalid", `${thing} ${printable(value)}: ${detail}`, { hint });
}

/** Shows a user value in a message: as is when plain, JSON-quoted when empty or odd. */
function printable(value: string): string {
  return /^[\x21-\x7e]+$/.test(value) && value.length <= 80
    ? value
    : JSON.stringify(value.slice(0, 80));
}

// ---------------------------------------------------------------------------
// Resources

/** Memory size units (go-units binary units, as `docker run --memory`). */
const MEMORY_UNITS: Record<string, number> = {
  "": 1, // plain bytes
  b: 1, // bytes
  k: 1024, // KiB
  m: 1024 ** 2, // MiB
  g: 1024 ** 3, // GiB
  t: 1024 ** 4, // TiB
  p: 1024 ** 5, // PiB
};

/** Docker's minimum memory limit (moby `linuxMinMemory`): 6 MiB. */
export const MIN_MEMORY_BYTES = 6 * 1024 * 1024;

/**
 * Parses a memory size like docker's `--memory`: `1073741824`, `512k`, `256M`,
 * `1g`, `1.5G`, `256MiB`, `256mb` (units b, k, m, g, t, p; binary; case-insensitive)
 * → bytes (rounded down). Rejects zero, negatives, garbage, sizes beyond 2^53
 * and sizes below {@link MIN_MEMORY_BYTES}.
 */
export function parseMemory(text: string): number {
  const hint = "give a size like 512m or 2g (units b, k, m, g, t)";
  const match = /^(\d+(?:\.\d+)?) ?([kmgtp]?)(i?b)?$/i.exec(text.trim());
  if (!match || (match[3]?.toLowerCase() === "ib" && match[2] === "")) {
    throw invalid("memory", text, "not a size", hint);
  }
  const bytes = Math.floor(Number(match[1]) * MEMORY_UNITS[match[2].toLowerCase()]);
  if (!Number.isSafeInteger(bytes)) throw invalid("memory", text, "too large", hint);
  if (bytes < MIN_MEMORY_BYTES) {
    throw invalid("memory", text, "below the minimum of 6MiB", hint);
  }
  return bytes;
}

/** Formats bytes as the largest exact binary unit (`268435456` → `256M`), for printing. */
export function formatMemory(bytes: number): string {
  for (const unit of ["p", "t", "g", "m", "k"]) {
    const size = MEMORY_UNITS[unit];
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit.toUpperCase()}`;
  }
  return `${bytes}`;
}

/**
 * Parses docker's `--cpus` (a decimal number of CPUs, 0.01 at least, at most
 * `hostCpus` when given) → systemd's `CPUQuotaPerSecUSec` in microseconds of
 * CPU time per second (0.5 → 500000).
 */
export function parseCpus(text: string, hostCpus?: number): number {
  const match = /^(\d+(?:\.\d*)?|\.\d+)$/.exec(text.trim());
  const cpus = match ? Number(match[1]) : NaN;
  const range = `from 0.01 to ${hostCpus ?? "the number of host CPUs"}`;
  if (!Number.isFinite(cpus)) {
    throw invalid("cpus", text, "not a number", `give a decimal number of CPUs ${range}, e.g. 1.5`);
  }
  const usec = Math.round(cpus * 1_000_000);
  if (usec < 10_000) {
    throw invalid("cpus", text, "below the minimum of 0.01", `the range is ${range}`);
  }
  if (hostCpus !== undefined && cpus > hostCpus) {
    throw invalid(
      "cpus",
      text,
      `more than the ${hostCpus} CPUs of this host`,
      `the range is ${range}`,
    );
  }
  return usec;
}

/** Parses a decimal integer (optional sign) or returns NaN. */
function parseInteger(text: string): number {
  return /^[+-]?\d{1,16}$/.test(text.trim()) ? Number(text.trim()) : NaN;
}

/**
 * Parses docker's `--pids-limit`: a positive integer → systemd `TasksMax`;
 * `0` or `-1` (docker's "unlimited") → undefined.
 */
export function parsePidsLimit(text: string): number | undefined {
  const n = parseInteger(text);
  if (Number.isNaN(n) || n < -1) {
    throw invalid(
      "pids limit",
      text,
      "not a positive integer",
      "give the maximum number of tasks, or -1 for unlimited",
    );
  }
  return n <= 0 ? undefined : n;
}

/** Parses systemd's `CPUWeight=` (integer 1..10000, default 100). */
export function parseCpuWeight(text: string): number {
  const n = parseInteger(text);
  if (Number.isNaN(n) || n < 1 || n > 10000) {
    throw invalid(
      "cpu weight",
      text,
      "not an integer from 1 to 10000",
      "the default weight is 100",
    );
  }
  return n;
}

/**
 * Parses docker's `--cpu-shares` (cgroup v1 shares, 2..262144, default 1024) and
 * converts it to a cgroup v2 `CPUWeight` the way runc does:
 * `1 + ((shares - 2) * 9999) / 262142`.
 */
export function parseCpuShares(text: string): number {
  const n = parseInteger(text);
  if (Number.isNaN(n) || n < 2 || n > 262144) {
    throw invalid(
      "cpu shares",
      text,
      "not an integer from 2 to 262144",
      "the default is 1024; --cpu-weight sets the cgroup v2 weight directly",
    );
  }
  return 1 + Math.floor(((n - 2) * 9999) / 262142);
}

/** Parses a stop timeout in whole seconds (integer ≥ 0). */
export function parseStopTimeout(text: string): number {
  const n = parseInteger(text);
  if (Number.isNaN(n) || n < 0 || n > 1_000_000_000) {
    throw invalid(
      "stop timeout",
      text,
      "not a whole number of seconds",
      "give seconds to wait before SIGKILL, e.g. 10",
    );
  }
  return n;
}

// ---------------------------------------------------------------------------
// Paths and volumes

/**
 * Normalizes an absolute path: collapses `//`, drops `.` and trailing `/`.
 * Returns an error detail string instead when the path is relative, has a `..`
 * component (never allowed: it could escape), or contains NUL.
 */
function normalizeAbsolutePath(path: string): { path: string } | { error: string } {
  if (!path.startsWith("/")) return { error: "not an absolute path" };
  if (path.includes("\0")) return { error: "contains a NUL byte" };
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) return { error: "must not contain '..'" };
  return { path: "/" + parts.join("/") };
}

/**
 * Docker's rule for container names, plus one `@INSTANCE` part: the
 * containers of a declared template (`web@.container`) are named after their
 * instance units (`web@1` runs as `tsnspawn-web@1.service`).
 */
const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*(@[a-zA-Z0-9_.-]+)?$/;

/** Docker's rule for volume names (src/volume/config.ts), where `-v` tells them from paths. */
const VOLUME_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/**
 * Volume options accepted after the second colon, comma-separated:
 * docker's and podman's words that mean something here.
 */
const VOLUME_OPTIONS: Record<string, string> = {
  ro: "read-only",
  rw: "read-write (the default)",
  z: "SELinux relabel: accepted, nothing to do (SELinux is not used)",
  Z: "SELinux private relabel: accepted, nothing to do (SELinux is not used)",
  nocopy: "a volume: do not copy the image's content into it",
  copy: "a volume: copy the image's content into it when empty (the default)",
};

/**
 * Parses `-v`: `HOST:CTR[:OPTS]` (a bind mount of a host path), `NAME:CTR[:OPTS]`
 * (a named volume, created on first use), or `CTR` (an anonymous volume).
 * Paths must be absolute and are normalized; `..` is refused; the container
 * path must not be `/`. OPTS: `ro`/`rw`, `z`/`Z` (no-ops), `nocopy`,
 * comma-separated. A volume's `source` stays empty until `create`.
 */
export function parseVolume(text: string): VolumeMount {
  const parts = text.split(":");
  const usage =
    "use -v /host/path:/container/path[:ro], -v NAME:/container/path or -v /container/path";
  if (parts.length > 3) {
    throw invalid("volume", text, "too many ':' (paths with ':' are not supported)", usage);
  }
  if (parts.length === 1) {
    const destination = normalizeAbsolutePath(text);
    if ("error" in destination) {
      throw invalid(
        "volume",
        text,
        `container path ${printable(text)}: ${destination.error}`,
        usage,
      );
    }
    if (destination.path === "/") {
      throw invalid("volume", text, "cannot mount over the container's root '/'", usage);
    }
    return {
      source: "",
      destination: destination.path,
      readOnly: false,
      volume: "",
      anonymous: true,
      copyUp: true,
    };
  }
  const [host, container, options] = parts;
  if (host === "" || container === "") throw invalid("volume", text, "empty path", usage);
  const named = !host.startsWith("/") && VOLUME_NAME_PATTERN.test(host) && host.length <= 128;
  let source = "";
  if (!named) {
    const parsed = normalizeAbsolutePath(host);
    if ("error" in parsed) {
      throw invalid("volume", text, `host path ${printable(host)}: ${parsed.error}`, usage);
    }
    source = parsed.path;
  }
  const destination = normalizeAbsolutePath(container);
  if ("error" in destination) {
    throw invalid(
      "volume",
      text,
      `container path ${printable(container)}: ${destination.error}`,
      usage,
    );
  }
  if (destination.path === "/") {
    throw invalid("volume", text, "cannot mount over the container's root '/'", usage);
  }
  let readOnly = false;
  let copyUp = true;
  for (const word of options === undefined ? [] : options.split(",")) {
    if (!Object.hasOwn(VOLUME_OPTIONS, word)) {
      throw invalid(
        "volume",
        text,
        `unsupported option ${printable(word)}`,
        `the options are ${Object.keys(VOLUME_OPTIONS).join(", ")}`,
      );
    }
    if (word === "ro") readOnly = true;
    if (word === "rw") readOnly = false;
    if (word === "nocopy") copyUp = false;
    if (word === "copy") copyUp = true;
  }
  if (!named) {
    if (!copyUp) throw invalid("volume", text, "nocopy applies to volumes, not host paths", usage);
    return { source, destination: destination.path, readOnly };
  }
  return { source: "", destination: destination.path, readOnly, volume: host, copyUp };
}

/** Formats a volume back to `-v` syntax (inverse of {@link parseVolume} for normalized input). */
export function formatVolume(volume: VolumeMount): string {
  if (volume.anonymous && !volume.readOnly && volume.copyUp !== false) return volume.destination;
  const options = [
    ...(volume.readOnly ? ["ro"] : []),
    ...(volume.volume !== undefined && volume.copyUp === false ? ["nocopy"] : []),
  ];
  const source = volume.volume !== undefined && volume.volume !== ""
    ? volume.volume
    : volume.source;
  return `${source}:${volume.destination}${options.length ? `:${options.join(",")}` : ""}`;
}

/** Parses `-w/--workdir`: an absolute path in the container, normalized. */
export function parseWorkingDir(text: string): string {
  const result = normalizeAbsolutePath(text);
  if ("error" in result) {
    throw invalid(
      "working directory",
      text,
      result.error,
      "give an absolute path in the container, e.g. /app",
    );
  }
  return result.path;
}

/** Network modes available (`--network`); any other value names a bridge network. */
export const NETWORK_MODES = {
  bridge: "own network namespace, eth0 on the default bridge network (the default)",
  none: "own network namespace with only the loopback interface",
  host: "share the host's network namespace",
} as const;

/** The network of a container when no --network is given. */
export const DEFAULT_NETWORK_MODE = "bridge";

/**
 * Parses `--network`: `bridge` (or docker's `default`), `none`, `host`, or
 * the name of a network made with `tsnspawn network create` (checked to
 * exist at create time). Returns the mode or the network name.
 */
export function parseNetwork(text: string): string {
  if (text === "default") return DEFAULT_NETWORK_MODE;
  if (Object.hasOwn(NETWORK_MODES, text)) return text;
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,31}$/.test(text)) {
    throw invalid(
      "network",
      text,
      "not a network mode or a network name",
      "use --network bridge, none, host or a network from 'tsnspawn network ls'",
    );
  }
  return text;
}

// ---------------------------------------------------------------------------
// Users

/** `--user` as given: a user name or uid, and optionally a group name or gid. */
export interface UserSpec {
  user: string;
  group?: string;
}

/** Largest uid/gid accepted (runc's limit: a signed 32-bit value). */
const MAX_ID = 2147483647;

const USER_PART = /^[^\s:\0]+$/;

/** Parses `-u/--user`: `1000`, `1000:1000`, `name`, `name:group`. */
export function parseUser(text: string): UserSpec {
  const parts = text.split(":");
  const hint = "give a user and optionally a group: NAME|UID[:GROUP|GID]";
  if (parts.length > 2) throw invalid("user", text, "too many ':'", hint);
  const [user, group] = parts;
  if (!USER_PART.test(user)) throw invalid("user", text, "empty or malformed user", hint);
  if (group !== undefined && !USER_PART.test(group)) {
    throw invalid("user", text, "empty or malformed group", hint);
  }
  for (const part of parts) {
    if (/^\d+$/.test(part) && Number(part) > MAX_ID) {
      throw invalid("user", text, `id ${part} is out of range (0..${MAX_ID})`, hint);
    }
  }
  return group === undefined ? { user } : { user, group };
}

/** Formats a {@link UserSpec} back to `user[:group]`. */
export function formatUser(spec: UserSpec): string {
  return spec.group === undefined ? spec.user : `${spec.user}:${spec.group}`;
}

/** One parsed line of passwd(5) or group(5): name, id, and (passwd) primary gid. */
interface IdEntry {
  name: string;
  id: number;
  gid: number;
}

/** Parses passwd(5) (`name:pw:uid:gid:...`) or group(5) (`name:pw:gid:...`) text, skipping malformed lines. */
function parseIdFile(text: string | null): IdEntry[] {
  const entries: IdEntry[] = [];
  for (const line of (text ?? "").split("\n")) {
    if (line.trim() === "" || line.startsWith("#")) continue;
    const fields = line.split(":");
    const id = Number(fields[2]);
    if (fields.length < 3 || fields[0] === "" || !/^\d+$/.test(fields[2] ?? "")) continue;
    const gid = /^\d+$/.test(fields[3] ?? "") ? Number(fields[3]) : 0;
    entries.push({ name: fields[0], id, gid });
  }
  return entries;
}

/**
 * Resolves a {@link UserSpec} to numeric ids with the image's `/etc/passwd`
 * and `/etc/group` contents (null when the file is absent), like runc:
 * a numeric uid without a passwd entry runs with gid 0; a numeric uid with an
 * entry takes its primary gid; names must exist; an explicit group overrides.
 */
export function resolveUser(
  spec: UserSpec,
  passwdText: string | null,
  groupText: string | null,
): { uid: number; gid: number } {
  const users = parseIdFile(passwdText);
  let uid: number;
  let gid = 0;
  if (/^\d+$/.test(spec.user)) {
    uid = Number(spec.user);
    const entry = users.find((u) => u.id === uid);
    if (entry) gid = entry.gid;
  } else {
    const entry = users.find((u) => u.name === spec.user);
    if (!entry) {
      throw new TsnspawnError(
        "invalid",
        `user ${printable(spec.user)}: not found in the image's /etc/passwd`,
        {
          hint: "use a numeric uid, or a user that exists in the image",
        },
      );
    }
    uid = entry.id;
    gid = entry.gid;
  }
  if (spec.group !== undefined) {
    if (/^\d+$/.test(spec.group)) {
      gid = Number(spec.group);
    } else {
      const entry = parseIdFile(groupText).find((g) => g.name === spec.group);
      if (!entry) {
        throw new TsnspawnError(
          "invalid",
          `group ${printable(spec.group)}: not found in the image's /etc/group`,
          {
            hint: "use a numeric gid, or a group that exists in the image",
          },
        );
      }
      gid = entry.id;
    }
  }
  if (uid > MAX_ID || gid > MAX_ID) {
    throw invalid("user", formatUser(spec), `id out of range (0..${MAX_ID})`);
  }
  return { uid, gid };
}

/**
 * The home directory of `uid` in passwd(5) text (its sixth field), or
 * undefined when the uid has no entry or the entry no directory: docker then
 * gives HOME=/.
 */
export function homeOf(uid: number, passwdText: string | null): string | undefined {
  for (const line of (passwdText ?? "").split("\n")) {
    if (line.trim() === "" || line.startsWith("#")) continue;
    const fields = line.split(":");
    if (fields.length >= 6 && /^\d+$/.test(fields[2]) && Number(fields[2]) === uid) {
      return fields[5].startsWith("/") ? fields[5] : undefined;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// Restart policies

/**
 * Parses docker's `--restart`: `no`, `on-failure[:N]`, `always`,
 * `unless-stopped`. `unless-stopped` maps to `always`: a unit stopped by the
 * user is never restarted by systemd, and transient units do not survive a
 * reboot, so the two cannot differ here.
 */
export function parseRestart(text: string): RestartPolicy {
  const hint = "use no, on-failure[:max-retries], always or unless-stopped";
  const [policy, count, ...rest] = text.split(":");
  if (rest.length > 0) throw invalid("restart policy", text, "too many ':'", hint);
  if (count !== undefined && policy !== "on-failure") {
    throw invalid(
      "restart policy",
      text,
      `a maximum retry count cannot be used with '${printable(policy)}'`,
      hint,
    );
  }
  switch (policy) {
    case "no":
      return { policy: "no", maxRetries: 0 };
    case "always":
    case "unless-stopped":
      return { policy: "always", maxRetries: 0 };
    case "on-failure": {
      if (count === undefined) return { policy: "on-failure", maxRetries: 0 };
      const n = parseInteger(count);
      if (Number.isNaN(n) || n < 0 || count.trim() !== count || /^[+-]/.test(count)) {
        throw invalid(
          "restart policy",
          text,
          "the maximum retry count must be a whole number ≥ 0",
          hint,
        );
      }
      return { policy: "on-failure", maxRetries: n };
    }
    default:
      throw invalid("restart policy", text, "unknown policy", hint);
  }
}

/** Formats a {@link RestartPolicy} as docker would (`on-failure:3`). */
export function formatRestart(policy: RestartPolicy): string {
  return policy.policy === "on-failure" && policy.maxRetries > 0
    ? `on-failure:${policy.maxRetries}`
    : policy.policy;
}

// ---------------------------------------------------------------------------
// Environment

/** Looks up a variable in the caller's environment (e.g. `(k) => Deno.env.get(k)`). */
export type EnvLookup = (key: string) => string | undefined;

function checkEnvName(thing: string, text: string, name: string): void {
  if (name === "") throw invalid(thing, text, "no variable name", "write KEY=VALUE or KEY");
  if (/\s/.test(name)) {
    throw invalid(
      thing,
      text,
      `variable '${printable(name)}' contains whitespace`,
      "write KEY=VALUE or KEY",
    );
  }
}

/**
 * Parses `-e K=V` → `"K=V"`, or `-e K` → `"K=<value of K in the caller's
 * environment>"`, or undefined when K is unset there (docker then leaves the
 * variable out).
 */
export function parseEnvAssignment(text: string, lookup: EnvLookup): string | undefined {
  if (text.includes("\0")) throw invalid("environment variable", text, "contains a NUL byte");
  const eq = text.indexOf("=");
  const name = eq === -1 ? text : text.slice(0, eq);
  checkEnvName("environment variable", text, name);
  if (eq !== -1) return text;
  const value = lookup(name);
  return value === undefined ? undefined : `${name}=${value}`;
}

/**
 * Parses an env file in docker's format (moby `opts/envfile.go`): one `K=V` or
 * `K` per line; leading whitespace ignored; blank lines and lines starting with
 * `#` skipped; values kept verbatim (quotes are NOT stripped); `K` alone takes
 * the caller's value or is left out when unset. A leading UTF-8 BOM is ignored.
 * `source` names the file in error messages.
 */
export function parseEnvFile(text: string, lookup: EnvLookup, source = "env file"): string[] {
  const result: string[] = [];
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = raw.replace(/^\s+/, "");
    if (line === "" || line.startsWith("#")) return;
    const thing = `${source} line ${index + 1}`;
    if (line.includes("\0")) throw invalid(thing, line, "contains a NUL byte");
    const eq = line.indexOf("=");
    const name = eq === -1 ? line : line.slice(0, eq);
    checkEnvName(thing, line, name);
    if (eq !== -1) {
      result.push(line);
    } else {
      const value = lookup(name);
      if (value !== undefined) result.push(`${name}=${value}`);
    }
  });
  return result;
}

/**
 * Merges `KEY=VALUE` lists: a later list's value wins, each key keeps the
 * position of its first appearance, no duplicates. An entry without `=` is
 * keyed by its whole text.
 */
export function mergeEnv(...lists: readonly (readonly string[])[]): string[] {
  const merged = new Map<string, string>();
  for (const list of lists) {
    for (const entry of list) {
      const eq = entry.indexOf("=");
      merged.set(eq === -1 ? entry : entry.slice(0, eq), entry);
    }
  }
  return [...merged.values()];
}

// ---------------------------------------------------------------------------
// Signals

/** Standard signals of x86_64 Linux, by number (signal(7)). */
const SIGNALS: Record<string, number> = {
  SIGHUP: 1, // hangup
  SIGINT: 2, // interrupt from keyboard
  SIGQUIT: 3, // quit from keyboard
  SIGILL: 4, // illegal instruction
  SIGTRAP: 5, // breakpoint trap
  SIGABRT: 6, // abort(3)
  SIGBUS: 7, // bus error
  SIGFPE: 8, // floating-point exception
  SIGKILL: 9, // kill, cannot be caught
  SIGUSR1: 10, // user-defined 1
  SIGSEGV: 11, // invalid memory reference
  SIGUSR2: 12, // user-defined 2
  SIGPIPE: 13, // broken pipe
  SIGALRM: 14, // alarm(2) timer
  SIGTERM: 15, // termination
  SIGSTKFLT: 16, // coprocessor stack fault (unused)
  SIGCHLD: 17, // child stopped or terminated
  SIGCONT: 18, // continue if stopped
  SIGSTOP: 19, // stop, cannot be caught
  SIGTSTP: 20, // stop typed at terminal
  SIGTTIN: 21, // terminal input for background process
  SIGTTOU: 22, // terminal output for background process
  SIGURG: 23, // urgent condition on socket
  SIGXCPU: 24, // CPU time limit exceeded
  SIGXFSZ: 25, // file size limit exceeded
  SIGVTALRM: 26, // virtual alarm clock
  SIGPROF: 27, // profiling timer expired
  SIGWINCH: 28, // window resize
  SIGIO: 29, // I/O now possible
  SIGPWR: 30, // power failure
  SIGSYS: 31, // bad system call
};

/** Other names for the same signals. */
const SIGNAL_ALIASES: Record<string, number> = {
  SIGIOT: 6, // = SIGABRT
  SIGPOLL: 29, // = SIGIO
  SIGCLD: 17, // = SIGCHLD
};

/** glibc's SIGRTMIN (the kernel's 32 and 33 are reserved by NPTL). */
export const SIGRTMIN = 34;
/** SIGRTMAX on Linux. */
export const SIGRTMAX = 64;

const SIGNAL_NAMES_BY_NUMBER = new Map(Object.entries(SIGNALS).map(([name, n]) => [n, name]));

/**
 * Parses a signal given as `SIGTERM`, `TERM`, `term`, `15`, `SIGRTMIN+3`,
 * `RTMAX-1` → its x86_64 Linux number (1..64).
 */
export function parseSignal(text: string): number {
  const hint = "give a name like SIGTERM or TERM, a number 1..64, or SIGRTMIN+N";
  const trimmed = text.trim();
  if (/^\d{1,3}$/.test(trimmed)) {
    const n = Number(trimmed);
    if (n >= 1 && n <= SIGRTMAX && n !== 32 && n !== 33) return n;
    throw invalid("signal", text, "no such signal number", hint);
  }
  const upper = trimmed.toUpperCase();
  const name = upper.startsWith("SIG") ? upper : `SIG${upper}`;
  if (Object.hasOwn(SIGNALS, name)) return SIGNALS[name];
  if (Object.hasOwn(SIGNAL_ALIASES, name)) return SIGNAL_ALIASES[name];
  const rt = /^SIGRT(MIN|MAX)(?:([+-])(\d{1,2}))?$/.exec(name);
  if (rt) {
    const base = rt[1] === "MIN" ? SIGRTMIN : SIGRTMAX;
    const offset = rt[3] === undefined ? 0 : Number(rt[3]) * (rt[2] === "+" ? 1 : -1);
    const n = base + offset;
    if (n >= SIGRTMIN && n <= SIGRTMAX) return n;
    throw invalid("signal", text, `outside SIGRTMIN..SIGRTMAX (${SIGRTMIN}..${SIGRTMAX})`, hint);
  }
  throw invalid("signal", text, "unknown signal", hint);
}

/** The canonical name of a signal number: `SIGTERM`, `SIGRTMIN`, `SIGRTMIN+3`. */
export function signalName(n: number): string {
  const name = SIGNAL_NAMES_BY_NUMBER.get(n);
  if (name) return name;
  if (Number.isInteger(n) && n >= SIGRTMIN && n <= SIGRTMAX) {
    return n === SIGRTMIN ? "SIGRTMIN" : `SIGRTMIN+${n - SIGRTMIN}`;
  }
  throw new TsnspawnError("invalid", `signal ${n}: no such signal number`);
}

// ---------------------------------------------------------------------------
// Names

/** Longest container name: keeps `tsnspawn-<name>.service` a valid unit name. */
export const MAX_CONTAINER_NAME_LENGTH = 63;

/**
 * Validates a container name (docker's `[a-zA-Z0-9][a-zA-Z0-9_.-]*`, 1..63
 * characters, and an optional `@INSTANCE` of a declared template); returns it.
 */
export function validateContainerName(name: string): string {
  const hint =
    "names start with a letter or digit, continue with letters, digits, '_', '.' or '-' (and one '@INSTANCE' for a declared template), and have at most 63 characters";
  if (name.length > MAX_CONTAINER_NAME_LENGTH) {
    throw invalid(
      "container name",
      name,
      `longer than ${MAX_CONTAINER_NAME_LENGTH} characters`,
      hint,
    );
  }
  if (!NAME_PATTERN.test(name)) throw invalid("container name", name, "invalid characters", hint);
  return name;
}

/** Adjectives for generated names (docker-like). */
const NAME_ADJECTIVES = [
  "admiring",
  "amazing",
  "blissful",
  "bold",
  "brave",
  "busy",
  "clever",
  "cool",
  "dazzling",
  "eager",
  "elegant",
  "epic",
  "festive",
  "focused",
  "gallant",
  "gifted",
  "happy",
  "hopeful",
  "jolly",
  "keen",
  "kind",
  "loving",
  "lucid",
  "modest",
  "nifty",
  "optimistic",
  "peaceful",
  "quirky",
  "relaxed",
  "serene",
  "sharp",
  "stoic",
  "tender",
  "upbeat",
  "vibrant",
  "wizardly",
  "zealous",
];

/** Nouns for generated names: pioneers of computing and Unix. */
const NAME_NOUNS = [
  "babbage",
  "backus",
  "bell",
  "cerf",
  "dijkstra",
  "engelbart",
  "hamilton",
  "hopper",
  "kahn",
  "kernighan",
  "knuth",
  "lamport",
  "liskov",
  "lovelace",
  "mccarthy",
  "minsky",
  "morse",
  "noether",
  "pike",
  "poettering",
  "ritchie",
  "shannon",
  "stallman",
  "thompson",
  "torvalds",
  "turing",
  "wirth",
  "wozniak",
];

/**
 * Generates a docker-like `adjective_noun` name; `random` returns numbers in
 * [0, 1) (default `Math.random`). Callers retry on a name that is taken.
 */
export function generateContainerName(random: () => number = Math.random): string {
  const pick = (list: string[]) =>
    list[Math.min(list.length - 1, Math.floor(random() * list.length))];
  return `${pick(NAME_ADJECTIVES)}_${pick(NAME_NOUNS)}`;
}

/** Longest hostname Linux accepts (`HOST_NAME_MAX`). */
export const MAX_HOSTNAME_LENGTH = 64;

/**
 * Validates a hostname (RFC 1123: dot-separated labels of letters, digits and
 * '-', not starting or ending with '-', 1..63 characters each; at most 64 in
 * all); returns it.
 */
/** `--network-alias`: a name for the network's hosts file (no space, no '#'). */
export function parseNetworkAlias(name: string): string {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,252}$/.test(name)) {
    throw invalid(
      "network alias",
      name,
      "not a valid name",
      "use letters, digits, '_', '.' and '-', starting with a letter or digit",
    );
  }
  return name;
}

/** `--unsetenv`: an environment variable's name. */
export function parseEnvName(name: string): string {
  if (name === "" || /[=\0\s]/.test(name)) {
    throw invalid("environment variable name", name, "not a valid name", "give NAME, without =");
  }
  return name;
}

export function validateHostname(name: string): string {
  const hint = "use letters, digits, '-' and '.', e.g. web-1";
  if (name.length === 0 || name.length > MAX_HOSTNAME_LENGTH) {
    throw invalid("hostname", name, `must have 1 to ${MAX_HOSTNAME_LENGTH} characters`, hint);
  }
  const label = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;
  if (!name.split(".").every((l) => label.test(l))) {
    throw invalid("hostname", name, "not a valid hostname", hint);
  }
  return name;
}

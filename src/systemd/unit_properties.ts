/**
 * ContainerConfig → the properties of the transient systemd service that runs
 * the container (the `properties` argument of
 * `org.freedesktop.systemd1.Manager.StartTransientUnit`, signature `a(sv)`).
 *
 * Pure: a plan of `[name, D-Bus signature, value]` triples that `src/systemd/bus.ts`
 * wraps in variants, and that `--dry-run` prints with
 * {@link formatUnitProperties}. Property names and signatures are those of
 * systemd 252's transient-unit API: org.freedesktop.systemd1(5),
 * systemd.service(5), systemd.exec(5), systemd.kill(5),
 * systemd.resource-control(5), systemd.unit(5) (sources: src/core/dbus-unit.c,
 * dbus-service.c, dbus-execute.c, dbus-kill.c, dbus-cgroup.c).
 */
import { BOOT_TIMEOUT_MS, type ContainerConfig } from "../container/config.ts";
import { parseSignal, signalName } from "../container/run_options.ts";
import { containerPaths, unitName } from "../paths.ts";
import { TTY_SIZE_ENV } from "../container/terminal_protocol.ts";
import { planHealthTimerStep } from "../health/timer.ts";

/** One transient unit property: name, D-Bus signature, plain JS value (bigint for `t`). */
export type UnitProperty = [name: string, signature: string, value: unknown];

/** An entry of `ExecStart=`-like properties (`a(sasb)`): path, argv, ignore failure. */
export type ExecCommand = [path: string, argv: string[], ignoreFailure: boolean];

/**
 * Every property tsnspawn sets, with its D-Bus signature (one table; the
 * planner looks signatures up here, the formatter uses them to print).
 */
export const UNIT_PROPERTY_SIGNATURES = {
  Description: "s", // unit: shown by systemctl status
  Wants: "as", // unit: tsnspawn-machine@NAME.service registers the container with machined (src/systemd/machined.ts); a -t container's terminal holder
  After: "as", // unit: a -t container starts after its terminal holder is listening
  BindsTo: "as", // unit: the terminal holder stops with its container's unit
  Type: "s", // service: "notify" — the shim sends READY=1 and MAINPID=
  NotifyAccess: "s", // service: "all" — the shim is not the main process
  ExecStartPre: "a(sasb)", // service: declared containers: (re)create the container from its .container file
  ExecStart: "a(sasb)", // service: the shim command
  Environment: "as", // exec: TSNSPAWN_TTY_SIZE, the first window size of a -t container's terminal
  FileDescriptorStoreMax: "u", // service: an OS container's console master, a terminal holder's pty master
  TimeoutStartUSec: "t", // service: how long an OS container may boot (READY=1 from its systemd)
  Delegate: "b", // unit: the cgroup is delegated (AttachProcessesToUnit for exec needs it)
  ExecStop: "a(sasb)", // service: the graceful stop (stop signal, wait up to the timeout)
  ExecStopPost: "a(sasb)", // service: the cleanup command, runs however the container ended
  KillMode: "s", // kill: "mixed" — stop signal to the main process, SIGKILL to the rest
  KillSignal: "i", // kill: the container's stop signal
  Slice: "s", // cgroup: machine.slice, like systemd-nspawn and machined
  TimeoutStopUSec: "t", // service: stop timeout before SIGKILL
  LogRateLimitIntervalUSec: "t", // exec: 0 = journald does not rate-limit this unit
  LogRateLimitBurst: "u", // exec: 0 = no burst limit
  SyslogIdentifier: "s", // exec: the container name tags journal lines
  SyslogLevelPrefix: "b", // exec: off — a line starting "<3>" is the container's text, not a level
  LogExtraFields: "aay", // exec: TSNSPAWN_* journal fields, for `logs`
  CPUAccounting: "b", // cgroup: CPU usage shown by status/list
  MemoryAccounting: "b", // cgroup: memory usage shown by status/list
  MemoryMax: "t", // cgroup: --memory, bytes
  CPUQuotaPerSecUSec: "t", // cgroup: --cpus, µs of CPU time per second
  TasksMax: "t", // cgroup: --pids-limit
  CPUWeight: "t", // cgroup: --cpu-weight/--cpu-shares, 1..10000
  Restart: "s", // service: no | on-failure | always
  RestartUSec: "t", // service: delay before a restart
  StartLimitBurst: "u", // unit: starts allowed per interval (caps on-failure:N)
  StartLimitIntervalUSec: "t", // unit: start rate-limit interval (0 = off)
  DevicePolicy: "s", // cgroup: "closed" — only standard pseudo devices + DeviceAllow
  DeviceAllow: "a(ss)", // cgroup: device node or "char-<group>" and "r", "w", "m"
  StandardInput: "s", // exec: "null" or "tty"
  StandardOutput: "s", // exec: "journal" or "tty"
  StandardError: "s", // exec: "journal" or "tty"
  TTYPath: "s", // exec: the terminal for -t
  TTYReset: "b", // exec: reset the terminal before and after
  TTYVHangup: "b", // exec: hang up other users of the terminal
  SendSIGHUP: "b", // kill: a shell in an OS container (systemd/container_shell.ts) gets SIGHUP at its end
  IgnoreSIGPIPE: "b", // exec: a shell sees SIGPIPE
  UtmpIdentifier: "s", // exec: a shell's utmp entry (pts/N)
  UtmpMode: "s", // exec: "user"
  PAMName: "s", // exec: "login": a shell's PAM session
  WorkingDirectory: "s", // exec: "-~": the user's home
  User: "s", // exec: the shell's user
  CollectMode: "s", // unit: "inactive-or-failed" — unload the unit however it ended
  AddRef: "b", // unit: keep the unit while the calling bus client is connected
  PIDs: "au", // scope: the processes it starts with (an attached --rm run's PID 1)
} as const;

/** A property name from {@link UNIT_PROPERTY_SIGNATURES}. */
export type UnitPropertyName = keyof typeof UNIT_PROPERTY_SIGNATURES;

/** How much longer than the shim's boot timeout systemd waits for READY=1. */
export const BOOT_MARGIN_USEC = 15_000_000n;

/** systemd's default RestartSec= (100ms), in µs. */
export const DEFAULT_RESTART_USEC = 100_000n;

/** Extra time systemd grants ExecStop= beyond the container's stop timeout (kill + reap). */
export const STOP_MARGIN_USEC = 5_000_000n;

/** `USEC_INFINITY`: a time span that never ends. */
export const USEC_INFINITY = 0xffff_ffff_ffff_ffffn;

/**
 * Devices the container may use besides the ones DevicePolicy=closed always
 * allows (systemd.resource-control(5): closed allows /dev/null, /dev/zero,
 * /dev/full, /dev/random, /dev/urandom; listed again so the list is complete
 * here). Matches docker's default device cgroup rules.
 */
export const DEVICE_ALLOW: readonly [device: string, access: string][] = [
  ["/dev/null", "rwm"], // 1:3
  ["/dev/zero", "rwm"], // 1:5
  ["/dev/full", "rwm"], // 1:7
  ["/dev/random", "rwm"], // 1:8
  ["/dev/urandom", "rwm"], // 1:9
  ["/dev/tty", "rwm"], // 5:0 the controlling terminal
  ["/dev/ptmx", "rwm"], // 5:2 pty multiplexer (/dev/pts/ptmx of the newinstance devpts too)
  ["char-pts", "rwm"], // 136:* pty slaves, incl. /dev/console with -t
  ["char-*", "m"], // docker: mknod of any character device (not open)
  ["block-*", "m"], // docker: mknod of any block device (not open)
];

/** Options of {@link planUnitProperties} that are not in the config. */
export interface UnitPlanOptions {
  /** The shim command line (ExecStart); argv[0] must be an absolute path. */
  shimCommand: string[];
  /** The graceful stop command line (ExecStop); see src/runtime/stop.ts. */
  stopCommand: string[];
  /** The cleanup command line (ExecStopPost). */
  cleanupCommand: string[];
  /** Identifies this start of the container in the journal (TSNSPAWN_RUN=). */
  runId: string;
  /** With -t: the terminal holder's unit, and the first window size of the terminal. */
  terminal?: { unit: string; size?: string };
  /** Set AddRef so the unit is stopped when the calling client disconnects. */
  addRef?: boolean;
  /** ExecStartPre= of a declared container: `tsnspawn __prepare NAME` (src/systemd/container_unit.ts). */
  prepareCommand?: string[];
  /** The unit that registers the container with systemd-machined (src/systemd/machined.ts), when installed. */
  registerMachine?: string;
  /**
   * The health check runner (`tsnspawn __healthcheck NAME`): an
   * ExecStartPre= starts the container's health timer (src/health/timer.ts)
   * when the container has a health check.
   */
  healthRunner?: string[];
  /**
   * A declared container: the step is always there (the image, whose
   * HEALTHCHECK may add a check, is only known at start); it does nothing
   * without `<container dir>/healthcheck.interval`.
   */
  healthTimerAlways?: boolean;
}

/** What the container runs from: the image reference, or the rootfs directory. */
function imageLabel(config: ContainerConfig): string {
  return config.image ?? config.lowerDirs[0] ?? "rootfs";
}

/** Journal fields as byte arrays (`ay` values are arrays of numbers). */
function journalField(key: string, value: string): number[] {
  return Array.from(new TextEncoder().encode(`${key}=${value}`));
}

/**
 * The `sh` script that runs the stop command only while the main process
 * lives. systemd runs ExecStop= also after the container's command exited on
 * its own (the common end of a `run --rm`), and then sets no `$MAINPID`; the
 * stop command would only start Deno to find that out (src/runtime/stop.ts
 * returns at once without `$MAINPID`), costing every such stop ~50 ms. The
 * command follows as `$0 "$@"`, so no word of it is ever parsed by the shell;
 * systemd leaves `$MAINPID` inside a word alone (only `${VAR}`, `$$` and whole
 * `$VAR` words are expanded) and the unit-file form escapes it as `$$`.
 */
export const STOP_GUARD_SCRIPT = '[ -z "$MAINPID" ] || exec "$0" "$@"';

/** ExecStop= argv: `stopCommand` behind {@link STOP_GUARD_SCRIPT}. */
export function guardStopCommand(stopCommand: string[]): string[] {
  return ["/bin/sh", "-c", STOP_GUARD_SCRIPT, ...stopCommand];
}

/**
 * ExecStopPost= argv. The cleanup (src/runtime/cleanup.ts) records how the
 * container ended, detaches leftover mounts and, with a bridge, removes the
 * veth end, the published ports and the address lease. A `--rm` container
 * without a bridge needs none of that, only its directory gone: no record
 * outlives it, and its mounts were in its own mount namespace, which died with
 * its last process. `rm` does that in about a millisecond, where the cleanup's
 * Deno start would add ~25 ms to every `run --rm`.
 */
export function cleanupArgv(config: ContainerConfig, cleanupCommand: string[]): string[] {
  // Anonymous volumes go with an --rm container: that is the cleanup's work.
  const anonymous = config.volumes.some((v) => v.anonymous);
  if (!config.autoRemove || config.network === "bridge" || anonymous) return cleanupCommand;
  return ["/bin/rm", "-rf", "--one-file-system", "--", containerPaths(config.name).dir];
}

/**
 * Plans the properties of the container's transient service, in a fixed
 * order. Optional limits are left out when the config does not set them.
 */
export function planUnitProperties(config: ContainerConfig, opts: UnitPlanOptions): UnitProperty[] {
  const props: UnitProperty[] = [];
  const set = (name: UnitPropertyName, value: unknown) =>
    props.push([name, UNIT_PROPERTY_SIGNATURES[name], value]);
  const exec = (
    argv: string[],
    ignoreFailure: boolean,
  ): ExecCommand[] => [[argv[0], [...argv], ignoreFailure]];
  const image = imageLabel(config);

  set("Description", `tsnspawn container ${config.name} (${image})`);
  set("CollectMode", "inactive-or-failed");
  // Runs after this unit is up, outside its start job (see src/systemd/machined.ts).
  const wants = [
    ...(opts.registerMachine ? [opts.registerMachine] : []),
    ...(opts.terminal ? [opts.terminal.unit] : []),
  ];
  if (wants.length > 0) set("Wants", wants);
  // The holder listens before the shim hands it the terminal.
  if (opts.terminal) set("After", [opts.terminal.unit]);
  if (opts.addRef) set("AddRef", true);
  set("Slice", "machine.slice");
  // `exec` moves its process into the container's cgroup with
  // AttachProcessesToUnit, which systemd allows only for delegated units
  // (systemd-nspawn's units are delegated too).
  set("Delegate", true);

  // Process: the shim forks stage two, which announces itself with MAINPID= and READY=1
  // right before its execve (see src/runtime/stage2.ts); the shim exits.
  set("Type", "notify");
  set("NotifyAccess", "all");
  const pre: ExecCommand[] = [];
  if (opts.prepareCommand) pre.push(...exec(opts.prepareCommand, false));
  if (opts.healthRunner && (opts.healthTimerAlways || (config.healthcheck?.intervalMs ?? 0) > 0)) {
    // "-": a failed timer costs the health checks, never the container's start.
    pre.push(...exec(
      planHealthTimerStep(
        config.name,
        containerPaths(config.name).healthInterval,
        `tsnspawn-${config.name}.service`,
        opts.healthRunner,
      ),
      true,
    ));
  }
  if (pre.length > 0) set("ExecStartPre", pre);
  set("ExecStart", exec(opts.shimCommand, false));
  if (opts.terminal?.size) set("Environment", [`${TTY_SIZE_ENV}=${opts.terminal.size}`]);
  if (config.systemd) {
    // The shim passes the container's READY=1 on when its boot finished
    // (src/runtime/boot.ts); systemd's own bound is a little later.
    set("TimeoutStartUSec", BigInt(BOOT_TIMEOUT_MS) * 1000n + BOOT_MARGIN_USEC);
    // The console's master, kept open while nobody reads it.
    set("FileDescriptorStoreMax", 1);
  }
  // The cleanup records the exit; its own failure must not turn a clean exit into a failed unit.
  set("ExecStop", exec(guardStopCommand(opts.stopCommand), true));
  set("ExecStopPost", exec(cleanupArgv(config, opts.cleanupCommand), true));

  // Stopping: ExecStop= sends the stop signal to the container's PID 1 and waits up to the
  // timeout (systemd itself would not wait for a main PID it did not fork); then
  // KillMode=mixed sends SIGKILL to all that is left.
  set("KillMode", "mixed");
  set("KillSignal", parseSignal(config.stopSignal));
  // ExecStop= waits the stop timeout itself, then kills and waits for the reap:
  // systemd's own bound is that plus a margin.
  set("TimeoutStopUSec", BigInt(config.stopTimeoutSec) * 1_000_000n + STOP_MARGIN_USEC);

  // Restarts.
  setRestart(config, set);

  // Resources.
  setResources(config, set);
  // --ulimit: systemd sets the rlimits of the unit's processes (the shim's, inherited).
  for (const limit of config.ulimits ?? []) {
    const value = (n: number) => (n === -1 ? USEC_INFINITY : BigInt(n));
    props.push([`Limit${limit.name}Soft`, "t", value(limit.soft)]);
    props.push([`Limit${limit.name}`, "t", value(limit.hard)]);
  }

  // Standard I/O and the journal (a terminal is stage two's to take: src/runtime/stage2.ts).
  set("StandardInput", "null");
  set("StandardOutput", "journal");
  set("StandardError", "journal");
  set("SyslogIdentifier", config.name);
  // Lines as the container wrote them (docker keeps "<3>…" too); systemd would strip it.
  set("SyslogLevelPrefix", false);
  set("LogExtraFields", [
    journalField("TSNSPAWN_CONTAINER", config.name),
    journalField("TSNSPAWN_IMAGE", image),
    journalField("TSNSPAWN_RUN", opts.runId),
  ]);
  // A container's output is its log: never drop lines.
  set("LogRateLimitIntervalUSec", 0n);
  set("LogRateLimitBurst", 0);
  return props;
}

/** The unit of container `name`'s terminal holder. */
export function terminalUnitName(name: string): string {
  return `tsnspawn-terminal@${name}.service`;
}

/** Options of {@link planTerminalUnitProperties}. */
export interface TerminalUnitOptions {
  /** `tsnspawn __terminal NAME`. */
  holderCommand: string[];
  /** The container's start it belongs to (TSNSPAWN_RUN=). */
  runId: string;
}

/**
 * The terminal holder's unit (src/runtime/terminal_holder.ts), created with
 * the container's: bound to it (stops with it), restarted if killed (its
 * fd store gives it the terminal back), its output in the journal with the
 * container's fields.
 */
export function planTerminalUnitProperties(
  config: ContainerConfig,
  opts: TerminalUnitOptions,
): UnitProperty[] {
  const props: UnitProperty[] = [];
  const set = (name: UnitPropertyName, value: unknown) =>
    props.push([name, UNIT_PROPERTY_SIGNATURES[name], value]);
  const image = imageLabel(config);
  set("Description", `tsnspawn terminal of container ${config.name}`);
  set("CollectMode", "inactive-or-failed");
  set("BindsTo", [unitName(config.name)]);
  set("Slice", "machine.slice");
  set("Type", "notify");
  set("NotifyAccess", "main");
  set("ExecStart", [[opts.holderCommand[0], [...opts.holderCommand], false]]);
  set("Restart", "on-failure");
  set("RestartUSec", DEFAULT_RESTART_USEC);
  set("StartLimitIntervalUSec", 0n);
  set("FileDescriptorStoreMax", 4);
  set("TimeoutStopUSec", 5_000_000n);
  set("MemoryAccounting", true);
  set("StandardInput", "null");
  set("StandardOutput", "journal");
  set("StandardError", "journal");
  set("SyslogIdentifier", config.name);
  set("SyslogLevelPrefix", false);
  set("LogExtraFields", [
    journalField("TSNSPAWN_CONTAINER", config.name),
    journalField("TSNSPAWN_IMAGE", image),
    journalField("TSNSPAWN_RUN", opts.runId),
  ]);
  set("LogRateLimitIntervalUSec", 0n);
  set("LogRateLimitBurst", 0);
  return props;
}

/** Accounting, the resource limits the config sets, and the device cgroup. */
function setResources(
  config: ContainerConfig,
  set: (name: UnitPropertyName, value: unknown) => void,
): void {
  const r = config.resources;
  // Usage for `status` and `list`, also without limits.
  set("CPUAccounting", true);
  set("MemoryAccounting", true);
  if (r.memoryMax !== undefined) set("MemoryMax", BigInt(r.memoryMax));
  if (r.cpuQuotaPerSecUSec !== undefined) set("CPUQuotaPerSecUSec", BigInt(r.cpuQuotaPerSecUSec));
  if (r.tasksMax !== undefined) set("TasksMax", BigInt(r.tasksMax));
  if (r.cpuWeight !== undefined) set("CPUWeight", BigInt(r.cpuWeight));
  if (config.privileged) {
    // --privileged: no device cgroup filter (DevicePolicy=auto with no
    // DeviceAllow= = every device), as docker gives a privileged container.
    set("DevicePolicy", "auto");
  } else {
    set("DevicePolicy", "closed");
    set("DeviceAllow", DEVICE_ALLOW.map(([device, access]) => [device, access]));
  }
}

/**
 * The properties of the transient *scope* an attached `run --rm` puts the
 * container in (src/runtime/attached.ts): the CLI spawned the container's
 * PID 1 itself (`leader`, still the runtime until its execve) and hands it
 * to systemd, which moves it into the scope's cgroups. What a service has
 * and a scope keeps: slice, delegation, accounting, limits, the device
 * cgroup; stopping is systemd's: KillSignal= (the image's stop signal) to
 * every process, SIGKILL after the stop timeout. No ExecStop=/ExecStopPost=
 * (a scope runs nothing) and no journal (the output goes to the CLI).
 */
export function planScopeProperties(config: ContainerConfig, leader: number): UnitProperty[] {
  const props: UnitProperty[] = [];
  const set = (name: UnitPropertyName, value: unknown) =>
    props.push([name, UNIT_PROPERTY_SIGNATURES[name], value]);
  set("Description", `tsnspawn container ${config.name} (${imageLabel(config)})`);
  set("CollectMode", "inactive-or-failed");
  set("Slice", "machine.slice");
  set("Delegate", true);
  set("PIDs", [leader]);
  set("KillSignal", parseSignal(config.stopSignal));
  set("TimeoutStopUSec", BigInt(config.stopTimeoutSec) * 1_000_000n);
  setResources(config, set);
  return props;
}

/**
 * Restart= and the start rate limit.
 *
 * systemd counts every start of a unit — the first one and each automatic
 * restart — against StartLimitBurst= starts per StartLimitIntervalUSec=; when
 * the limit is hit it stops restarting and the unit fails ("start-limit-hit").
 * So docker's `on-failure:N` (at most N restarts) is N + 1 starts in an
 * interval that never ends (USEC_INFINITY: the counter never resets).
 * For `always` and unlimited `on-failure` docker never gives up, so the limit
 * is switched off (interval 0); systemd's default (5 starts in 10 s) would
 * give up on a crash loop where docker keeps retrying.
 */
function setRestart(
  config: ContainerConfig,
  set: (name: UnitPropertyName, value: unknown) => void,
): void {
  const { policy, maxRetries } = config.restart;
  set("Restart", policy);
  if (policy === "no") return;
  set("RestartUSec", DEFAULT_RESTART_USEC);
  if (policy === "on-failure" && maxRetries > 0) {
    set("StartLimitBurst", maxRetries + 1);
    set("StartLimitIntervalUSec", USEC_INFINITY);
  } else {
    set("StartLimitIntervalUSec", 0n);
  }
}

// ---------------------------------------------------------------------------
// Formatting

/** Time spans in µs, largest first, as systemd.time(7) spells them. */
const TIME_UNITS: [suffix: string, usec: bigint][] = [
  ["d", 86_400_000_000n],
  ["h", 3_600_000_000n],
  ["min", 60_000_000n],
  ["s", 1_000_000n],
  ["ms", 1_000n],
  ["us", 1n],
];

/** Formats µs as a systemd time span: `0`, `100ms`, `1min 30s`, `infinity`. */
export function formatTimespan(usec: bigint): string {
  if (usec === USEC_INFINITY) return "infinity";
  if (usec === 0n) return "0";
  const parts: string[] = [];
  let rest = usec;
  for (const [suffix, size] of TIME_UNITS) {
    if (rest >= size) {
      parts.push(`${rest / size}${suffix}`);
      rest %= size;
    }
  }
  return parts.join(" ");
}

/** Quotes one word of a unit-file command line (systemd.service(5) "Command lines") when needed. */
function quoteWord(word: string): string {
  if (word !== "" && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `"${word.replace(/[\\"$]/g, (c) => (c === "$" ? "$$" : `\\${c}`)).replace(/\n/g, "\\n")}"`;
}

/** Formats one `a(sasb)` entry as a unit-file command line (`-` prefix = ignore failure). */
function formatExec([path, argv, ignoreFailure]: ExecCommand): string {
  const prefix = ignoreFailure ? "-" : "";
  const head = argv[0] === path
    ? [quoteWord(path)]
    : [`@${quoteWord(path)}`, quoteWord(argv[0] ?? "")];
  return prefix + [...head, ...argv.slice(1).map(quoteWord)].join(" ");
}

/** Formats one value by its signature; arrays give one line per element. */
function formatValues(name: string, signature: string, value: unknown): string[] {
  switch (signature) {
    case "b":
      return [value ? "yes" : "no"];
    case "t":
      if (name.startsWith("Limit") && value === USEC_INFINITY) return ["infinity"];
      return [name.endsWith("USec") ? formatTimespan(value as bigint) : String(value)];
    case "i":
      return [name === "KillSignal" ? signalName(value as number) : String(value)];
    case "a(sasb)":
      return (value as ExecCommand[]).map(formatExec);
    case "a(ss)":
      return (value as [string, string][]).map(([a, b]) => `${a} ${b}`);
    case "aay":
      return (value as number[][]).map((bytes) => new TextDecoder().decode(new Uint8Array(bytes)));
    case "as":
      return (value as string[]).map(quoteWord);
    default:
      return [String(value)];
  }
}

/**
 * Formats planned properties as `Key=Value` lines in unit-file syntax (one line
 * per array element, times as systemd time spans, KillSignal by name), for
 * `--dry-run` and `cat`. Ends with a newline.
 */
export function formatUnitProperties(props: readonly UnitProperty[]): string {
  const lines: string[] = [];
  for (const [name, signature, value] of props) {
    for (const text of formatValues(name, signature, value)) lines.push(`${name}=${text}`);
  }
  return lines.map((l) => l + "\n").join("");
}

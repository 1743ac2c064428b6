/**
 * The systemd client: the only module that imports dbus-next.
 *
 * Talks to the system manager over the system bus with plain method calls
 * (no introspection round trips): StartTransientUnit, StopUnit, KillUnit,
 * ResetFailedUnit, AttachProcessesToUnit, unit properties, and waiting for
 * jobs and state changes through signals.
 *
 * References: org.freedesktop.systemd1(5), systemd.resource-control(5),
 * the D-Bus specification (match rules).
 */
// dbus-next's message, marshalling and variant modules only: its index.js
// also loads lib/bus.js, which requires xml2js (for introspection, which we
// never use) and node:net at top level, costing every command ~40 ms. The
// socket, the EXTERNAL handshake and the reply/signal dispatch are the few
// lines of `BusConnection` below; the wire format stays dbus-next's.
import marshallCompat from "dbus-next/lib/marshall-compat.js";
import messageCodec from "dbus-next/lib/message.js";
import messageTypes from "dbus-next/lib/message-type.js";
import variantTypes from "dbus-next/lib/variant.js";
import dbusErrors from "dbus-next/lib/errors.js";
import dbusConstants from "dbus-next/lib/constants.js";
import { Buffer } from "node:buffer";
import { TsnspawnError } from "../errors.ts";
import { SystemdCallError } from "./error.ts";
import type { UnitProperty } from "./unit_properties.ts";
import { trace } from "../trace.ts";

export { SystemdCallError };

const { Message } = messageTypes;
const { Variant } = variantTypes;
const { DBusError } = dbusErrors;
const { MessageType, MessageFlag } = dbusConstants;

const SYSTEMD = "org.freedesktop.systemd1";
const MANAGER_PATH = "/org/freedesktop/systemd1";
const MANAGER = "org.freedesktop.systemd1.Manager";
const PROPERTIES = "org.freedesktop.DBus.Properties";
const UNIT = "org.freedesktop.systemd1.Unit";
const SERVICE = "org.freedesktop.systemd1.Service";
const SCOPE = "org.freedesktop.systemd1.Scope";
/** Method calls in flight at once (dbus-daemon's max_replies_per_connection is 128). */
const MAX_PENDING_CALLS = 64;

/** Where the system bus is, as libdbus and sd-bus look for it. */
function systemBusAddress(): string {
  return Deno.env.get("DBUS_SYSTEM_BUS_ADDRESS") ??
    "unix:path=/var/run/dbus/system_bus_socket";
}

/** The active state of a unit and the facts `list`/`status` show. */
export interface UnitState {
  activeState: string;
  subState: string;
  result: string;
  mainPid: number;
  execMainStatus: number;
  execMainCode: number;
  nRestarts: number;
  invocationId: string;
  activeEnterTimestamp: bigint;
  memoryCurrent: bigint | null;
  tasksCurrent: bigint | null;
  cpuUsageNSec: bigint | null;
  controlGroup: string;
}

/** A unit's file as systemd sees it (org.freedesktop.systemd1.Unit properties). */
export interface UnitFileInfo {
  /** "loaded", "not-found", "error", "masked", … */
  loadState: string;
  activeState: string;
  fragmentPath: string;
  sourcePath: string;
  /** "enabled", "disabled", "generated", "linked", … */
  unitFileState: string;
  /** The unit file or its source changed since systemd loaded it. */
  needDaemonReload: boolean;
  invocationId: string;
}

/** Escapes a unit name into its object path as sd_bus_path_encode does. */
export function unitObjectPath(unit: string): string {
  let encoded = "";
  for (const byte of new TextEncoder().encode(unit)) {
    const c = String.fromCharCode(byte);
    encoded += /[A-Za-z0-9]/.test(c) ? c : "_" + byte.toString(16).padStart(2, "0");
  }
  return `${MANAGER_PATH}/unit/${encoded}`;
}

/** Converts a planned property to the (name, Variant) pair systemd expects. */
function toVariantPair(property: UnitProperty): [string, unknown] {
  const [name, signature, value] = property;
  return [name, new Variant(signature, value)];
}

/** Unwraps a dbus-next Variant (or plain value). */
function plain(value: unknown): unknown {
  return value instanceof Variant ? (value as { value: unknown }).value : value;
}

/** A connection to the system manager. Close it when done. */
export class Systemd {
  #bus: Bus;
  /** Settles once the handshake, AddMatch and Subscribe of `connect` are answered. */
  #ready: Promise<unknown>;
  #signalHandlers = new Set<(msg: Signal) => void>();

  private constructor(bus: Bus, ready: Promise<unknown>) {
    this.#bus = bus;
    this.#ready = ready;
    // Marked handled here; #call awaits it and throws its failure.
    ready.catch(() => {});
    // deno-lint-ignore no-explicit-any
    bus.on("message", (msg: any) => {
      if (msg.type === MessageType.SIGNAL) {
        for (const handler of this.#signalHandlers) handler(msg);
      }
    });
  }

  /**
   * Connects to the system bus and subscribes to manager signals, without a
   * round trip: the handshake, AddMatch and Subscribe are sent and not waited
   * for. The bus keeps one connection's messages in order, so every later
   * call reaches systemd after them and its reply comes after theirs; a
   * failed handshake or subscription is thrown by that call.
   */
  static async connect(): Promise<Systemd> {
    const address = systemBusAddress();
    const unreachable = (error: unknown) =>
      new TsnspawnError(
        "systemd",
        `cannot reach systemd over the system bus at ${address}: ${describe(error)}`,
        {
          hint:
            "tsnspawn needs a running systemd; on a machine without one use the throwaway host: 'deno task demo' or 'tests/testhost.ts run -- tsnspawn ...'",
          cause: error,
        },
      );
    let connection: { bus: Bus; handshake: Promise<void> };
    try {
      connection = await connectBus(address);
    } catch (error) {
      throw unreachable(error);
    }
    const { bus, handshake } = connection;
    // Errors after connecting surface through the calls that fail.
    bus.on("error", () => {});
    const setup = [
      handshake.catch((error) => {
        throw unreachable(error);
      }),
      bus.call(addMatchMessage(
        `type='signal',sender='${SYSTEMD}',interface='${MANAGER}',member='JobRemoved'`,
      )).catch((error) => {
        throw new SystemdCallError("AddMatch", error);
      }),
      bus.call(systemdMessage(MANAGER_PATH, MANAGER, "Subscribe", "", [])).catch((error) => {
        throw new SystemdCallError("Subscribe", error);
      }),
    ];
    // The first failure in sending order: a refused handshake fails the rest too.
    const ready = Promise.allSettled(setup).then((results) => {
      trace("dbus-ready");
      const failed = results.find((result) => result.status === "rejected");
      if (failed) throw failed.reason;
    });
    trace("dbus-connected");
    return new Systemd(bus, ready);
  }

  /**
   * Closes the connection (releases AddRef'd units) once what was sent is
   * written: a message sent without waiting for a reply is not lost.
   */
  async close(): Promise<void> {
    try {
      await this.#bus.disconnect();
    } catch { /* already closed */ }
  }

  #inFlight = 0;
  #waiting: (() => void)[] = [];

  async #call(
    path: string,
    iface: string,
    member: string,
    signature: string,
    body: unknown[],
    subject?: string,
  ): Promise<unknown[]> {
    const message = systemdMessage(path, iface, member, signature, body);
    // dbus-daemon allows 128 pending replies per connection; `list` of many
    // containers would exceed it. Calls beyond the bound wait their turn.
    while (this.#inFlight >= MAX_PENDING_CALLS) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    this.#inFlight++;
    // deno-lint-ignore no-explicit-any
    let reply: any;
    trace(`call ${member}`);
    try {
      reply = await this.#bus.call(message);
      trace(`reply ${member}`);
    } catch (error) {
      await this.#ready; // a failed connection explains the failure better
      throw new SystemdCallError(member, error, subject);
    } finally {
      this.#inFlight--;
      this.#waiting.shift()?.();
    }
    await this.#ready; // settled already: its replies came first
    return reply.body as unknown[];
  }

  /**
   * Sends an AddMatch without waiting for it: what is sent after it reaches
   * the bus after it. A failure is left to the caller's safety net.
   */
  #addMatch(rule: string): void {
    this.#bus.call(addMatchMessage(rule)).catch(() => {});
  }

  /**
   * Starts a transient unit and waits for its start job to finish.
   * `onQueued` runs once systemd accepted the job (the unit is starting).
   * Returns the job result: "done", "failed", "timeout", "canceled", "dependency".
   */
  async startTransientUnit(
    unit: string,
    properties: UnitProperty[],
    onQueued?: () => void,
    auxiliary: [unit: string, properties: UnitProperty[]][] = [],
  ): Promise<string> {
    return await this.#runJob(
      () =>
        this.#call(MANAGER_PATH, MANAGER, "StartTransientUnit", "ssa(sv)a(sa(sv))", [
          unit,
          "fail",
          properties.map(toVariantPair),
          auxiliary.map(([name, props]) => [name, props.map(toVariantPair)]),
        ], unit),
      onQueued,
    );
  }

  /**
   * Connects to another systemd's bus at a unix socket `path` (a container's
   * /run/dbus/system_bus_socket, reached through /proc/self/fd/N of an
   * O_PATH descriptor opened in its root), without the manager signal
   * subscription of {@link connect}.
   */
  static async connectTo(path: string): Promise<Systemd> {
    const bus = new BusConnection(await Deno.connect({ transport: "unix", path }));
    const handshake = bus.open();
    bus.on("error", () => {});
    const ready = Promise.all([
      handshake,
      bus.call(addMatchMessage(
        `type='signal',sender='${SYSTEMD}',interface='${MANAGER}',member='JobRemoved'`,
      )),
      bus.call(systemdMessage(MANAGER_PATH, MANAGER, "Subscribe", "", [])),
    ]);
    return new Systemd(bus, ready);
  }

  /** Stops a unit and waits for the stop job. */
  async stopUnit(unit: string): Promise<string> {
    return await this.#runJob(() =>
      this.#call(MANAGER_PATH, MANAGER, "StopUnit", "ss", [unit, "replace"], unit)
    );
  }

  /** Sends a signal to the unit's processes ("main" or "all"). */
  async killUnit(unit: string, who: "main" | "all", signal: number): Promise<void> {
    await this.#call(MANAGER_PATH, MANAGER, "KillUnit", "ssi", [unit, who, signal], unit);
  }

  /** Forgets a failed unit so a new one of the same name can be started. */
  async resetFailedUnit(unit: string): Promise<void> {
    try {
      await this.#call(MANAGER_PATH, MANAGER, "ResetFailedUnit", "s", [unit], unit);
    } catch (error) {
      if (!(error instanceof SystemdCallError && error.isNoSuchUnit)) throw error;
    }
  }

  /** Moves processes into the unit's control group. */
  async attachProcessesToUnit(unit: string, pids: number[]): Promise<void> {
    await this.#call(MANAGER_PATH, MANAGER, "AttachProcessesToUnit", "ssau", [
      unit,
      "",
      pids,
    ], unit);
  }

  /** The unit's main PID (0 when it has none or is not loaded). */
  async mainPid(unit: string): Promise<number> {
    try {
      const [value] = await this.#call(unitObjectPath(unit), PROPERTIES, "Get", "ss", [
        SERVICE,
        "MainPID",
      ]);
      return plain(value) as number;
    } catch (error) {
      if (error instanceof SystemdCallError && error.isNoSuchUnit) return 0;
      throw error;
    }
  }

  /**
   * org.freedesktop.machine1.Manager.RegisterMachine(name, id, service,
   * class, leader, root_directory), sent with NO_REPLY_EXPECTED: nothing
   * waits for machined, and a failure (machined missing, the leader gone
   * already) is only lost. The bus starts machined when it is not running,
   * but drops the call if we disconnect before it runs: only for a client
   * that stays connected a while.
   */
  registerMachine(
    machine: string,
    unit: string,
    leader: number,
    rootDirectory: string,
  ): void {
    this.#bus.send(
      new Message({
        destination: "org.freedesktop.machine1",
        path: "/org/freedesktop/machine1",
        interface: "org.freedesktop.machine1.Manager",
        member: "RegisterMachine",
        signature: "sayssus",
        body: [machine, [], unit, "container", leader, rootDirectory],
        flags: MessageFlag.NO_REPLY_EXPECTED,
      }),
    );
  }

  /**
   * StartUnit(unit, "replace") sent with NO_REPLY_EXPECTED: systemd starts
   * the unit whether or not we are still connected; nothing waits for it.
   */
  startUnitNoWait(unit: string): void {
    this.#bus.send(
      new Message({
        destination: SYSTEMD,
        path: MANAGER_PATH,
        interface: MANAGER,
        member: "StartUnit",
        signature: "ss",
        body: [unit, "replace"],
        flags: MessageFlag.NO_REPLY_EXPECTED,
      }),
    );
  }

  /** Names of loaded units matching the glob patterns. */
  async listUnitNames(patterns: string[]): Promise<string[]> {
    const [units] = await this.#call(
      MANAGER_PATH,
      MANAGER,
      "ListUnitsByPatterns",
      "asas",
      [[], patterns],
    ) as [unknown[][]];
    return units.map((row) => row[0] as string);
  }

  /** All properties of one interface of a unit, or null if it is not loaded. */
  async #properties(unit: string, iface: string): Promise<Record<string, unknown> | null> {
    try {
      const [all] = await this.#call(unitObjectPath(unit), PROPERTIES, "GetAll", "s", [
        iface,
      ]) as [Record<string, unknown>];
      const result: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(all)) result[key] = plain(value);
      return result;
    } catch (error) {
      if (error instanceof SystemdCallError && error.isNoSuchUnit) return null;
      throw error;
    }
  }

  /** The unit's ActiveState, or null when systemd does not have it loaded. */
  async #activeState(unit: string): Promise<string | null> {
    try {
      const [value] = await this.#call(unitObjectPath(unit), PROPERTIES, "Get", "ss", [
        UNIT,
        "ActiveState",
      ]);
      return plain(value) as string;
    } catch (error) {
      if (error instanceof SystemdCallError && error.isNoSuchUnit) return null;
      throw error;
    }
  }

  /**
   * The state of a unit, or null when systemd does not have it loaded. A
   * scope (`….scope`) has no main process: its mainPid, exec and restart
   * fields are 0.
   */
  async unitState(unit: string): Promise<UnitState | null> {
    const [u, s] = await Promise.all([
      this.#properties(unit, UNIT),
      this.#properties(unit, unit.endsWith(".scope") ? SCOPE : SERVICE),
    ]);
    if (!u || u.LoadState === "not-found" || !s) return null;
    const optional = (v: unknown) => typeof v === "bigint" && v !== 0xffffffffffffffffn ? v : null;
    return {
      activeState: u.ActiveState as string,
      subState: u.SubState as string,
      result: s.Result as string,
      mainPid: (s.MainPID as number | undefined) ?? 0,
      execMainStatus: (s.ExecMainStatus as number | undefined) ?? 0,
      execMainCode: (s.ExecMainCode as number | undefined) ?? 0,
      nRestarts: (s.NRestarts as number | undefined) ?? 0,
      invocationId: bytesToHex(u.InvocationID as number[] | Uint8Array),
      activeEnterTimestamp: u.ActiveEnterTimestamp as bigint,
      memoryCurrent: optional(s.MemoryCurrent),
      tasksCurrent: optional(s.TasksCurrent),
      cpuUsageNSec: optional(s.CPUUsageNSec),
      controlGroup: s.ControlGroup as string,
    };
  }

  /** Raw properties of a unit's Service interface (for `status`), or null. */
  serviceProperties(unit: string): Promise<Record<string, unknown> | null> {
    return this.#properties(unit, SERVICE);
  }

  /**
   * Follows the unit's ActiveState from its PropertiesChanged signals, from
   * now on: set up before the unit starts, it misses no change. Only the Unit
   * interface's signals are asked for (arg0): the Service interface's carry
   * ~200 properties, slow to unmarshal, on every state change.
   */
  watchUnit(unit: string): UnitWatch {
    const path = unitObjectPath(unit);
    this.#addMatch(
      `type='signal',sender='${SYSTEMD}',path='${path}',interface='${PROPERTIES}',member='PropertiesChanged',arg0='${UNIT}'`,
    );
    const handler = (msg: Signal) => {
      if (msg.path === path && msg.member === "PropertiesChanged") watch.record(msg.body);
    };
    const watch = new UnitWatch(
      () => this.#activeState(unit),
      () => this.#signalHandlers.delete(handler),
    );
    this.#signalHandlers.add(handler);
    return watch;
  }

  /** How the unit's main process ended (so far), or null when the unit is not loaded. */
  async mainExit(unit: string): Promise<MainExit | null> {
    const get = (name: string) =>
      this.#call(unitObjectPath(unit), PROPERTIES, "Get", "ss", [SERVICE, name])
        .then(([value]) => plain(value) as number);
    try {
      const [execMainCode, execMainStatus] = await Promise.all([
        get("ExecMainCode"),
        get("ExecMainStatus"),
      ]);
      return { execMainCode, execMainStatus };
    } catch (error) {
      if (error instanceof SystemdCallError && error.isNoSuchUnit) return null;
      throw error;
    }
  }

  /**
   * Waits until the unit is inactive or failed (or unloaded). Resolves with
   * its final state, or null when it was already garbage-collected.
   */
  async waitUntilInactive(unit: string, timeoutMs = Infinity): Promise<UnitState | null> {
    const watch = this.watchUnit(unit);
    try {
      // The unit may have ended before the watch existed; one read tells.
      const active = await this.#activeState(unit);
      if (active !== null && !ENDED_STATES.has(active)) await watch.untilInactive(timeoutMs);
      return await this.unitState(unit);
    } finally {
      watch.close();
    }
  }

  /**
   * Drops the reference a start with AddRef= took (Manager.UnrefUnit): an
   * ended unit is then garbage-collected, so a new one of its name can start.
   */
  async unrefUnit(unit: string): Promise<void> {
    try {
      await this.#call(MANAGER_PATH, MANAGER, "UnrefUnit", "s", [unit], unit);
    } catch (error) {
      if (!(error instanceof SystemdCallError && error.isNoSuchUnit)) throw error;
    }
  }

  /**
   * Follows the Unit interface's PropertiesChanged signals (ActiveState,
   * SubState...) of every unit whose name starts with `prefix`:
   * `onChange(unit, changed)`. Only that interface's (arg0), as watchUnit:
   * the Service interface's carry ~200 properties each. Returns the function
   * that stops it.
   */
  watchUnits(
    prefix: string,
    onChange: (unit: string, changed: Record<string, unknown>) => void,
  ): () => void {
    const rule =
      `type='signal',sender='${SYSTEMD}',interface='${PROPERTIES}',member='PropertiesChanged',arg0='${UNIT}'`;
    this.#addMatch(rule);
    const pathPrefix = unitObjectPath(prefix);
    const handler = (msg: Signal) => {
      if (msg.member !== "PropertiesChanged" || !msg.path.startsWith(pathPrefix)) return;
      const [iface, changed] = msg.body as [string, Record<string, unknown> | undefined];
      if (iface !== UNIT) return;
      const values: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(changed ?? {})) values[key] = plain(value);
      onChange(unitNameOfPath(msg.path), values);
    };
    this.#signalHandlers.add(handler);
    return () => {
      this.#signalHandlers.delete(handler);
      this.#bus.call(removeMatchMessage(rule)).catch(() => {});
    };
  }

  // -------------------------------------------------------------------------
  // Declared containers' generated units (src/ops/start_declared.ts, commands/enable.ts)

  /** Starts a unit that has a unit file and waits for its start job; returns the job result. */
  async startUnit(unit: string): Promise<string> {
    return await this.#runJob(() =>
      this.#call(MANAGER_PATH, MANAGER, "StartUnit", "ss", [unit, "replace"], unit)
    );
  }

  /**
   * Restarts a unit (RestartUnit, mode "replace"). `wait`: until its job
   * finished, returning the job result; else only queued ("queued").
   */
  async restartUnit(unit: string, wait = true): Promise<string> {
    const queue = () =>
      this.#call(MANAGER_PATH, MANAGER, "RestartUnit", "ss", [unit, "replace"], unit);
    if (!wait) {
      await queue();
      return "queued";
    }
    return await this.#runJob(queue);
  }

  /** Queues a stop of a unit without waiting for it (StopUnit, mode "replace"). */
  async queueStopUnit(unit: string): Promise<void> {
    await this.#call(MANAGER_PATH, MANAGER, "StopUnit", "ss", [unit, "replace"], unit);
  }

  /** daemon-reload: generators run again and unit files are re-read; returns when done. */
  async reload(): Promise<void> {
    await this.#call(MANAGER_PATH, MANAGER, "Reload", "", []);
  }

  /** What systemd knows of a unit's file (loading it if needed). */
  async unitFileInfo(unit: string): Promise<UnitFileInfo> {
    const u = await this.#properties(unit, UNIT);
    return {
      loadState: (u?.LoadState as string | undefined) ?? "not-found",
      activeState: (u?.ActiveState as string | undefined) ?? "inactive",
      fragmentPath: (u?.FragmentPath as string | undefined) ?? "",
      sourcePath: (u?.SourcePath as string | undefined) ?? "",
      unitFileState: (u?.UnitFileState as string | undefined) ?? "",
      needDaemonReload: (u?.NeedDaemonReload as boolean | undefined) ?? false,
      invocationId: bytesToHex(u?.InvocationID as number[] | Uint8Array | undefined),
    };
  }

  /**
   * Runs a method that queues a job and waits for that job's JobRemoved;
   * `onQueued` runs when the method returned (the job is queued).
   */
  async #runJob(queue: () => Promise<unknown[]>, onQueued?: () => void): Promise<string> {
    const finished = new Map<string, string>();
    let wake: () => void = () => {};
    const handler = (msg: Signal) => {
      if (msg.interface === MANAGER && msg.member === "JobRemoved") {
        finished.set(msg.body[1] as string, msg.body[3] as string);
        wake();
      }
    };
    // Listen before queueing: the job may finish before the reply arrives.
    this.#signalHandlers.add(handler);
    try {
      const [jobPath] = await queue() as [string];
      onQueued?.();
      while (!finished.has(jobPath)) {
        await new Promise<void>((resolve) => (wake = resolve));
      }
      trace("job-removed");
      return finished.get(jobPath)!;
    } finally {
      this.#signalHandlers.delete(handler);
    }
  }
}

/** ActiveState values of a unit that has ended. */
const ENDED_STATES: ReadonlySet<string> = new Set(["inactive", "failed"]);

/** The main process's end: ExecMainCode (siginfo si_code, 0 = never ran) and ExecMainStatus. */
export type MainExit = Pick<UnitState, "execMainCode" | "execMainStatus">;

/**
 * One unit's ActiveState as its PropertiesChanged signals report it, from
 * the moment the watch was set up (`Systemd.watchUnit`). Close it when done.
 */
export class UnitWatch {
  #activeState: string | null = null;
  #wake: () => void = () => {};
  #readActiveState: () => Promise<string | null>;
  #close: () => void;

  constructor(readActiveState: () => Promise<string | null>, close: () => void) {
    this.#readActiveState = readActiveState;
    this.#close = close;
  }

  /** Records one PropertiesChanged signal: [interface, changed properties, invalidated]. */
  record(body: unknown[]): void {
    const [iface, changed] = body as [string, Record<string, unknown> | undefined];
    if (iface === UNIT && changed?.ActiveState !== undefined) {
      this.#activeState = plain(changed.ActiveState) as string;
      this.#wake();
    }
  }

  /**
   * Waits until the unit is inactive or failed (or unloaded), or `timeoutMs`
   * passed; false on timeout. Signals wake it at once; after a second
   * without one it reads ActiveState over the bus (a safety net).
   */
  async untilInactive(timeoutMs = Infinity): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!ENDED_STATES.has(this.#activeState ?? "")) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) return false;
      if (!await this.#nextChange(Math.min(remaining, 1000))) {
        const active = await this.#readActiveState();
        if (active === null || ENDED_STATES.has(active)) return true;
      }
    }
    return true;
  }

  /** Stops recording. */
  close(): void {
    this.#close();
  }

  /** Resolves true at the next reported ActiveState, false after `ms` without one. */
  #nextChange(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }
}

// ---------------------------------------------------------------------------
// The bus connection

/**
 * The part of dbus-next's MessageBus that `Systemd` uses: `call(Message)`
 * resolves with the reply (rejects with a DBusError), `on("message")` sees
 * every incoming message, `disconnect()` closes.
 */
interface Bus {
  // deno-lint-ignore no-explicit-any
  call(message: any): Promise<any>;
  /** Sends a message that expects no reply. */
  // deno-lint-ignore no-explicit-any
  send(message: any): void;
  // deno-lint-ignore no-explicit-any
  on(event: "message" | "error", handler: (msg: any) => void): void;
  disconnect(): void | Promise<void>;
}

/** A signal as dbus-next's Message has it. */
interface Signal {
  path: string;
  interface: string;
  member: string;
  body: unknown[];
}

/** A method call to systemd. */
function systemdMessage(
  path: string,
  iface: string,
  member: string,
  signature: string,
  body: unknown[],
): InstanceType<typeof Message> {
  return new Message({ destination: SYSTEMD, path, interface: iface, member, signature, body });
}

/** The unit name of a unit's object path (the inverse of {@link unitObjectPath}). */
export function unitNameOfPath(path: string): string {
  const encoded = path.slice(`${MANAGER_PATH}/unit/`.length);
  const bytes: number[] = [];
  for (let i = 0; i < encoded.length; i++) {
    if (encoded[i] === "_" && i + 2 < encoded.length) {
      bytes.push(parseInt(encoded.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(encoded.charCodeAt(i));
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** org.freedesktop.DBus.RemoveMatch of `rule`. */
function removeMatchMessage(rule: string): InstanceType<typeof Message> {
  return new Message({
    destination: "org.freedesktop.DBus",
    path: "/org/freedesktop/DBus",
    interface: "org.freedesktop.DBus",
    member: "RemoveMatch",
    signature: "s",
    body: [rule],
  });
}

/** org.freedesktop.DBus.AddMatch of `rule`. */
function addMatchMessage(rule: string): InstanceType<typeof Message> {
  return new Message({
    destination: "org.freedesktop.DBus",
    path: "/org/freedesktop/DBus",
    interface: "org.freedesktop.DBus",
    member: "AddMatch",
    signature: "s",
    body: [rule],
  });
}

/**
 * Connects to the bus at `address` (D-Bus address syntax; the first
 * `unix:path=` entry is used). Returns once the socket is connected, with the
 * handshake still in flight: calls may be made at once, they are sent after
 * it. Addresses of other kinds (abstract sockets, tcp) go through dbus-next's
 * own MessageBus.
 */
async function connectBus(address: string): Promise<{ bus: Bus; handshake: Promise<void> }> {
  const path = address.split(";").map(unixSocketPath).find((p) => p !== null);
  if (!path) return { bus: await connectWithMessageBus(), handshake: Promise.resolve() };
  const bus = new BusConnection(await Deno.connect({ transport: "unix", path }));
  return { bus, handshake: bus.open() };
}

/** The socket path of a `unix:path=...` address entry, else null. */
function unixSocketPath(entry: string): string | null {
  const colon = entry.indexOf(":");
  if (colon < 0 || entry.slice(0, colon) !== "unix") return null;
  for (const pair of entry.slice(colon + 1).split(",")) {
    const eq = pair.indexOf("=");
    if (pair.slice(0, eq) === "path") return unescapeAddressValue(pair.slice(eq + 1));
  }
  return null;
}

/** Undoes the %XX escaping of D-Bus address values. */
function unescapeAddressValue(value: string): string {
  return value.replace(/%([0-9A-Fa-f]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
}

/** dbus-next's full MessageBus, for addresses BusConnection does not handle. */
async function connectWithMessageBus(): Promise<Bus> {
  const { default: dbus } = await import("dbus-next");
  // dbus.systemBus() reads DBUS_SYSTEM_BUS_ADDRESS itself, as systemBusAddress() does.
  const bus = dbus.systemBus() as unknown as Bus & {
    once(event: string, handler: (value?: unknown) => void): void;
  };
  await new Promise<void>((resolve, reject) => {
    bus.once("connect", () => resolve());
    bus.once("error", reject);
  });
  return bus;
}

/**
 * A client connection over a unix socket: the SASL EXTERNAL handshake,
 * Hello, then messages marshalled and parsed by dbus-next, replies matched
 * to calls by serial.
 */
class BusConnection implements Bus {
  #conn: Deno.UnixConn;
  #serial = 1;
  // deno-lint-ignore no-explicit-any
  #pending = new Map<number, { resolve: (msg: any) => void; reject: (error: unknown) => void }>();
  // deno-lint-ignore no-explicit-any
  #messageHandlers: ((msg: any) => void)[] = [];
  #writing: Promise<void> = Promise.resolve();
  #closed = false;
  /** Bytes read but not parsed yet (the handshake's lines, then messages). */
  #buffered: Buffer = Buffer.alloc(0);
  /** dbus-next's parser reads from a stream; this feeds it `#buffered`. */
  #onReadable: (() => void) | null = null;

  constructor(conn: Deno.UnixConn) {
    this.#conn = conn;
  }

  on(event: "message" | "error", handler: (msg: unknown) => void): void {
    if (event === "message") this.#messageHandlers.push(handler);
    // Errors surface as rejected calls.
  }

  /** Closes the socket once what was sent so far is written (a `send` is not lost). */
  async disconnect(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writing.catch(() => {});
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }

  /**
   * The handshake, pipelined as sd-bus pipelines it: `AUTH EXTERNAL <uid>`
   * and `BEGIN` in one write, then Hello (required before any other message)
   * without waiting for the server's `OK <guid>`; the bus reads what follows
   * BEGIN as messages. Calls made meanwhile are written after Hello. Resolves
   * once Hello is answered; a refused authentication fails every call.
   */
  open(): Promise<void> {
    const uid = new TextEncoder().encode(String(Deno.uid() ?? 0));
    const hexUid = Array.from(uid, (b) => b.toString(16).padStart(2, "0")).join("");
    this.#write(new TextEncoder().encode(`\0AUTH EXTERNAL ${hexUid}\r\nBEGIN\r\n`))
      .catch(() => {}); // a failed write fails the reads too
    const hello = this.call(
      new Message({
        path: "/org/freedesktop/DBus",
        destination: "org.freedesktop.DBus",
        interface: "org.freedesktop.DBus",
        member: "Hello",
      }),
    );
    this.#receive();
    return hello.then(() => {});
  }

  // deno-lint-ignore no-explicit-any
  send(message: any): void {
    if (this.#closed) return;
    message.serial = this.#serial++;
    const [data] = marshallCompat.marshallMessage(message);
    this.#write(data).catch(() => {}); // a failed write fails the reads too
  }

  // deno-lint-ignore no-explicit-any
  call(message: any): Promise<any> {
    return new Promise((resolve, reject) => {
      if (this.#closed) {
        reject(new Error("the D-Bus connection is closed"));
        return;
      }
      message.serial = this.#serial++;
      this.#pending.set(message.serial, { resolve, reject });
      const [data] = marshallCompat.marshallMessage(message);
      this.#write(data).catch((error) => {
        this.#pending.delete(message.serial);
        reject(error);
      });
    });
  }

  /** Writes all of `bytes`, after any write in progress. */
  #write(bytes: Uint8Array): Promise<void> {
    const write = async () => {
      let done = 0;
      while (done < bytes.length) done += await this.#conn.write(bytes.subarray(done));
    };
    this.#writing = this.#writing.then(write, write);
    return this.#writing;
  }

  /** Reads more bytes into `#buffered`; false at end of stream. */
  async #fill(): Promise<boolean> {
    const chunk = new Uint8Array(65536);
    const n = await this.#conn.read(chunk);
    if (n === null) return false;
    this.#buffered = Buffer.concat([this.#buffered, chunk.subarray(0, n)]);
    return true;
  }

  /**
   * Reads until the socket closes: the server's answer to AUTH, then
   * messages, parsed by dbus-next as bytes arrive. When it ends (closed,
   * authentication refused), every pending call fails with the reason.
   */
  async #receive(): Promise<void> {
    let failure = new Error("the D-Bus connection closed");
    try {
      const line = await this.#readLine();
      if (!/^OK /.test(line)) throw new Error(`D-Bus authentication failed: ${line.trim()}`);
      const stream = {
        on: (event: string, handler: () => void) => {
          if (event === "readable") this.#onReadable = handler;
        },
        read: (size: number): Buffer | null => {
          if (this.#buffered.length < size) return null;
          const out = this.#buffered.subarray(0, size);
          this.#buffered = this.#buffered.subarray(size);
          return out;
        },
      };
      // deno-lint-ignore no-explicit-any
      messageCodec.unmarshalMessages(stream, (raw: any) => this.#dispatch(raw), {});
      this.#onReadable?.();
      while (await this.#fill()) this.#onReadable?.();
    } catch (error) {
      if (!this.#closed && error instanceof Error) failure = error;
    }
    this.disconnect();
    for (const { reject } of this.#pending.values()) reject(failure);
    this.#pending.clear();
  }

  /** One handshake line (without the line end). */
  async #readLine(): Promise<string> {
    while (true) {
      const end = this.#buffered.indexOf(0x0a);
      if (end >= 0) {
        const line = this.#buffered.subarray(0, end).toString("ascii");
        this.#buffered = this.#buffered.subarray(end + 1);
        return line;
      }
      if (!await this.#fill()) {
        throw new Error("the bus closed the connection during authentication");
      }
    }
  }

  // deno-lint-ignore no-explicit-any
  #dispatch(raw: any): void {
    // deno-lint-ignore no-explicit-any
    let msg: any;
    try {
      msg = new Message(marshallCompat.messageToJsFmt(raw));
    } catch {
      return; // not one of ours to understand
    }
    for (const handler of this.#messageHandlers) handler(msg);
    if (msg.type === MessageType.METHOD_RETURN || msg.type === MessageType.ERROR) {
      const pending = this.#pending.get(msg.replySerial);
      if (!pending) return;
      this.#pending.delete(msg.replySerial);
      if (msg.type === MessageType.ERROR) {
        pending.reject(new DBusError(msg.errorName, msg.body[0], msg));
      } else {
        pending.resolve(msg);
      }
    }
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

function bytesToHex(bytes: number[] | Uint8Array | undefined): string {
  if (!bytes) return "";
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * An attached `run --rm` in a transient scope: the CLI does the shim's work
 * itself (runtime/shim.ts) and hands the container's PID 1 to systemd as a
 * scope, the way machined-registered runtimes and podman's systemd cgroup
 * manager do. Such a run needs no service: no restart policy applies (--rm),
 * its output goes to the caller anyway, and it ends with the CLI's wait. So
 * one Deno start (the shim's), systemd's fork of it, ExecStop=/ExecStopPost=
 * and the journal round trip of the output all drop off its path: the CLI
 * learns the exit status from waitpid(2) — stage two, then the command, is
 * its own child — and removes the container itself.
 *
 * What the CLI does, in the shim's order (shim.ts has the reasons):
 *  1. the start and setup FIFOs; descriptors of its own namespaces;
 *  2. on its main thread: unshare(mount, UTS, IPC, PID, network); the
 *     runtime binary read-only (readonly_runtime.ts); spawn stage two, which
 *     is PID 1 of the new PID namespace, its stdout and stderr pipes to us
 *     (relayed, never our own descriptors: exec.ts says why), stdin
 *     /dev/null, no NOTIFY_SOCKET (a scope takes no sd_notify);
 *  3. back in the host's PID namespace at once (Deno cannot start threads
 *     from a new one), StartTransientUnit of `tsnspawn-NAME.scope` with
 *     PIDs=[stage two] (unit_properties.ts planScopeProperties): systemd
 *     moves it into the scope's cgroups while it boots;
 *  4. the root file system, hostname, loopback (rootfs.ts), then back in
 *     every namespace of the host; bridge networking as the shim does it;
 *  5. once the scope runs: "ready" on the setup pipe — stage two execs the
 *     command only inside the scope, so its device cgroup and accounting
 *     hold from the first instruction; RegisterMachine with machined;
 *  6. relays the output until stage two ends; the start FIFO says whether
 *     it failed before its execve (its reason, as the shim would log it);
 *  7. removes the container (and, bridged, its host side and lease), as
 *     ExecStopPost= would; the empty scope ends by itself.
 *
 * Only containers whose limits cannot bind the runtime: a scope holds its
 * processes from the start, and stage two (Deno) must not count against a
 * memory, tasks or CPU-quota limit (cgroups.ts), so those runs keep the
 * service, where the runtime works outside the unit's cgroups. With -t the
 * service too (its terminal has a holder unit), and an OS container (its
 * shim watches its boot).
 *
 * If the CLI is killed, the container runs on in its scope (as it would in
 * its service) but nothing removes it when it ends: a stopped container
 * with --rm stays, which `tsnspawn check` reports as consistent and `rm`
 * removes.
 *
 * The Docker API service runs a `docker run --rm` with clients attached the
 * same way ({@link ScopeRunOptions}): the output to its clients instead of
 * our stdout and stderr, no signals of ours forwarded, and never a turn of
 * the event loop while the main thread is in the container's namespaces
 * (other calls run on that thread; a socket they opened there would be the
 * container's).
 *
 * Man pages: namespaces(7), pid_namespaces(7), setns(2),
 * org.freedesktop.systemd1(5) (StartTransientUnit, scopes), systemd.scope(5).
 */
import type { ContainerConfig } from "../container/config.ts";
import { containerPaths } from "../paths.ts";
import { selfCommand } from "../self_exec.ts";
import { describeError, TsnspawnError } from "../errors.ts";
import type { Systemd } from "../systemd/bus.ts";
import { planScopeProperties } from "../systemd/unit_properties.ts";
import { scopeUnitName } from "../paths.ts";
import { removeContainerDir, writeScopeLeader } from "../container/state.ts";
import { releaseLease } from "../network/network_store.ts";
import { machinedInstalled, machineName } from "../systemd/machined.ts";
import {
  attachContainerHost,
  configureContainerInterface,
  detachContainerHost,
} from "../network/host_network.ts";
import {
  closeFd,
  mkfifo,
  O_CLOEXEC,
  O_NONBLOCK,
  O_RDONLY,
  openFd,
  readFd,
} from "../../ffi/fifo.ts";
import {
  CLONE_FS,
  CLONE_NEWIPC,
  CLONE_NEWNET,
  CLONE_NEWNS,
  CLONE_NEWPID,
  CLONE_NEWUTS,
  type NamespaceKind,
  openNamespace,
  openPidfd,
  setns,
  unshare,
} from "../../ffi/namespaces.ts";
import { CGROUPS_ENV, runtimeNeedsToLeave } from "./cgroups.ts";
import { createSetupPipe, signalSetupReady } from "./setup_ready.ts";
import { buildRootfs } from "./rootfs.ts";
import { bindRuntimeReadOnly } from "./readonly_runtime.ts";
import { loadExtras, namespaceFlags } from "./shim.ts";
import { trace } from "../trace.ts";
import { writeSeccompProgram } from "./seccomp_program.ts";
import { concatBytes } from "../bytes.ts";
import { pidfdSendSignal } from "../../ffi/process.ts";
import { parseSignal } from "../container/run_options.ts";

/**
 * Whether an attached run of `config` goes in a scope (see the module
 * comment). Not with a health check (the service's ExecStartPre= starts its
 * timer), --sdnotify (a scope takes no sd_notify) or --ulimit (LimitX= of a
 * service: a scope runs nothing to set them on).
 */
export function runsInScope(config: ContainerConfig): boolean {
  // An OS container's boot is the shim's to watch (runtime/boot.ts):
  // runtimeNeedsToLeave says so, and it keeps its service.
  return config.autoRemove && !config.tty &&
    !runtimeNeedsToLeave(config.resources, config.systemd) &&
    !config.healthcheck && !config.sdnotify && !config.ulimits?.length;
}

/** Variables of our environment that are about us, not for stage two (sd_notify, journal, socket activation). */
const NOT_INHERITED = /^(NOTIFY_SOCKET|JOURNAL_STREAM|WATCHDOG_.*|LISTEN_.*|INVOCATION_ID)$/;

/** Our namespaces, to return to after the container's are set up. */
type HostNamespaces = Record<"mnt" | "net" | "uts" | "ipc" | "pid", number>;

const KINDS: [keyof HostNamespaces, number][] = [
  ["mnt", CLONE_NEWNS],
  ["net", CLONE_NEWNET],
  ["uts", CLONE_NEWUTS],
  ["ipc", CLONE_NEWIPC],
  ["pid", CLONE_NEWPID],
];

/** Puts the main thread back into each of `kinds` of the host's namespaces (and our cwd). */
function returnTo(host: HostNamespaces, kinds: (keyof HostNamespaces)[], cwd: string): void {
  for (const [kind, flag] of KINDS) {
    if (!kinds.includes(kind)) continue;
    // setns(mnt) needs an fs_struct of our own; it moves the cwd to the root.
    if (kind === "mnt") unshare(CLONE_FS);
    setns(host[kind], flag, `the host's ${kind} namespace`);
    if (kind === "mnt") Deno.chdir(cwd);
  }
}

/** The reason and hint in stage two's start-pipe text ("stage two: …\nhint: …"). */
function startFailure(name: string, text: string): TsnspawnError {
  const lines = text.split("\n").filter((line) => line.trim());
  const hint = lines.filter((l) => l.startsWith("hint: ")).at(-1)?.slice("hint: ".length);
  const reason = lines.filter((l) => !l.startsWith("hint: ")).at(-1) ?? "stage two failed";
  return new TsnspawnError("start-failed", `container ${name} failed to start: ${reason}`, {
    hint: hint ?? `see 'tsnspawn run' without --rm to keep the container`,
  });
}

/** Everything stage two wrote to the start FIFO before it ended (non-blocking reads). */
function drainStartPipe(fd: number): string {
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(4096);
  for (;;) {
    const n = readFd(fd, buffer);
    if (!n) break; // EOF (0) or nothing more (null)
    chunks.push(buffer.slice(0, n));
  }
  return new TextDecoder().decode(concatBytes(chunks)).trim();
}

/** The exit status in docker's convention (128+N for signal N). */
function exitStatus(status: Deno.CommandStatus): number {
  return status.signal === null ? status.code : 128 + parseSignal(status.signal);
}

/** Signals an attached run passes on to the container's PID 1, as the service path does. */
const FORWARDED: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/** How a run in a scope is attached (the CLI's defaults: our stdio, our signals). */
export interface ScopeRunOptions {
  /** Where the output goes (default: our stdout and stderr). */
  output?: { stdout: WritableStream<Uint8Array>; stderr: WritableStream<Uint8Array> };
  /** Forward the signals we receive to the container's PID 1 (default true). */
  forwardSignals?: boolean;
  /** Called once the container runs (its scope started, stage two let go). */
  onStarted?: () => void;
  /**
   * Never yield to the event loop inside the container's namespaces (a
   * server whose other work shares the thread); the CLI yields once so the
   * scope's start request goes out while the root file system is built.
   */
  exclusive?: boolean;
}

/**
 * Runs `config` (created just now, attached, --rm, {@link runsInScope}) in a
 * scope, relaying its output; returns its exit status, or throws a
 * TsnspawnError("start-failed") with stage two's reason. The container is
 * gone when this returns.
 */
export async function runInScope(
  systemd: Systemd,
  config: ContainerConfig,
  options: ScopeRunOptions = {},
): Promise<number> {
  const name = config.name;
  const paths = containerPaths(name);
  const bridged = config.network === "bridge";
  const cwd = Deno.cwd();
  const fds: number[] = [];
  const host = {} as HostNamespaces;
  let child: Deno.ChildProcess | null = null;
  try {
    // Volumes and copy-up, as the shim does them (shim.ts loadExtras).
    const extras = await loadExtras(config);
    for (const volume of config.volumes) {
      if (volume.volume) extras.ensureVolumeMounted!(volume.volume);
    }
    mkfifo(paths.startPipe, 0o600);
    const startPipe = openFd(paths.startPipe, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    fds.push(startPipe);
    const setupPipe = createSetupPipe(paths.setupPipe);
    fds.push(setupPipe);
    for (const [kind] of KINDS) fds.push(host[kind] = openNamespace("self", kind as NamespaceKind));

    // The shim's steps 3-4 (shim.ts), on our main thread.
    let containerNet = -1;
    try {
      unshare(namespaceFlags(config.network));
      bindRuntimeReadOnly();
      if (bridged) fds.push(containerNet = openNamespace("self", "net"));
      const [program, ...args] = selfCommand("__stage2", [name]);
      const env = Object.fromEntries(
        Object.entries(Deno.env.toObject()).filter(([key]) => !NOT_INHERITED.test(key)),
      );
      child = new Deno.Command(program, {
        args,
        clearEnv: true,
        env: { ...env, [CGROUPS_ENV]: "[]" },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      trace("stage2-spawned");
    } finally {
      // Threads again (the event loop may start some), whatever happened;
      // and without a stage two, nothing more to do in its namespaces.
      returnTo(host, child ? ["pid"] : ["pid", "mnt", "net", "uts", "ipc"], cwd);
    }
    const pid = child.pid;
    // systemd moves stage two into the scope while it boots (and we build the
    // root file system); the call is written before we go on.
    const scope = systemd.startTransientUnit(scopeUnitName(name), planScopeProperties(config, pid));
    scope.catch(() => {}); // awaited below
    if (!options.exclusive) await new Promise((resolve) => setTimeout(resolve, 0));
    try {
      buildRootfs(config, paths, extras.copyUp);
      trace("rootfs");
    } finally {
      returnTo(host, ["mnt", "net", "uts", "ipc"], cwd);
    }
    writeScopeLeader(name, pid);
    writeSeccompProgram(config, paths); // stage two's, compiled while it boots
    if (bridged) {
      setns(host.net, CLONE_NEWNET, "the host's network namespace");
      attachContainerHost(config, pid);
      setns(containerNet, CLONE_NEWNET, "the container's network namespace");
      try {
        configureContainerInterface(config);
      } finally {
        setns(host.net, CLONE_NEWNET, "the host's network namespace");
      }
    }

    const result = await scope.catch((error) => error);
    if (result !== "done") {
      child.kill("SIGKILL");
      await child.status;
      const text = drainStartPipe(startPipe);
      if (text) throw startFailure(name, text);
      throw new TsnspawnError(
        "start-failed",
        `container ${name} failed to start: ${
          result instanceof Error ? result.message : `its scope's start job: ${result}`
        }`,
      );
    }
    trace("scope-started");
    signalSetupReady(setupPipe);
    options.onStarted?.();
    // machinectl sees it too (systemd/machined.ts): one call, not waited for.
    if (machinedInstalled()) {
      systemd.registerMachine(machineName(name), scopeUnitName(name), pid, paths.rootfs);
    }

    const forward = (signal: Deno.Signal) => () => {
      try {
        child!.kill(signal);
      } catch { /* it ended meanwhile */ }
    };
    const handlers = options.forwardSignals === false
      ? []
      : FORWARDED.map((signal) => [signal, forward(signal)] as const);
    for (const [signal, handler] of handlers) Deno.addSignalListener(signal, handler);
    try {
      const output = options.output ??
        { stdout: Deno.stdout.writable, stderr: Deno.stderr.writable };
      const relays = [
        child.stdout.pipeTo(output.stdout, { preventClose: true }),
        child.stderr.pipeTo(output.stderr, { preventClose: true }),
      ].map((relay) => relay.catch(() => {})); // a closed stdout of ours ends only the relay
      const status = await child.status;
      trace("exited");
      await Promise.all(relays);
      const text = drainStartPipe(startPipe);
      if (text) throw startFailure(name, text);
      return exitStatus(status);
    } finally {
      for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
    }
  } catch (error) {
    try {
      child?.kill("SIGKILL");
    } catch { /* ended */ }
    if (error instanceof TsnspawnError && error.code === "start-failed") throw error;
    // As the shim reports a failed setup: the reason, and its hint if any.
    const [reason, ...hint] = describeError(error).split("\nhint: ");
    throw new TsnspawnError("start-failed", `container ${name} failed to start: ${reason}`, {
      hint: hint.join(" ") || undefined,
      cause: error,
    });
  } finally {
    for (const fd of fds) closeFd(fd);
    await child?.status.catch(() => {});
    await removeScoped(config);
    trace("removed");
  }
}

/**
 * Sends `signal` to the PID 1 of a container in scope `unit` (`tsnspawn
 * kill`, `stop -t`: a scope has no main process for KillUnit). Through a
 * pidfd, and only while that process is in the scope: a PID that ended and
 * was reused meanwhile gets nothing.
 */
export function signalScopeLeader(unit: string, leader: number, signal: number): void {
  const pidfd = openPidfd(leader);
  try {
    const cgroups = Deno.readTextFileSync(`/proc/${leader}/cgroup`);
    if (!cgroups.split("\n").some((line) => line.endsWith(`/${unit}`))) {
      throw new TsnspawnError("conflict", `process ${leader}: not in ${unit} (ended?)`);
    }
    pidfdSendSignal(pidfd, signal);
  } finally {
    closeFd(pidfd);
  }
}

/**
 * What ExecStopPost= does for an --rm container (cleanup.ts): host side,
 * lease, directory, anonymous volumes.
 */
async function removeScoped(config: ContainerConfig): Promise<void> {
  if (config.network === "bridge") {
    try {
      for (const problem of detachContainerHost(config)) {
        console.error(`tsnspawn: ${config.name}: ${problem}, ignoring`);
      }
    } catch (error) {
      console.error(`tsnspawn: ${config.name}: network: ${describeError(error)}, ignoring`);
    }
  }
  try {
    removeContainerDir(config.name);
    if (config.bridge) releaseLease(config.bridge.network, config.id);
    // Its anonymous volumes go with it (docker's --rm); loaded only then.
    if (config.volumes.some((v) => v.anonymous)) {
      (await import("../ops/volume.ts")).removeAnonymousVolumes(config.volumes);
    }
  } catch (error) {
    console.error(`tsnspawn: cannot remove container ${config.name}: ${error}, ignoring`);
  }
}

/**
 * The shim: ExecStart= of a container unit (`tsnspawn __shim NAME`).
 *
 * 1. reads config.json, opens the sd_notify socket (before the network
 *    namespace changes: an abstract $NOTIFY_SOCKET belongs to the host's),
 * 2. creates the start FIFO and opens its read end (see start_pipe.ts), and
 *    the setup FIFO (setup_ready.ts),
 * 3. unshares mount, UTS, IPC, PID (and network unless --network host)
 *    namespaces on the main thread,
 * 4. binds the runtime's binary read-only over itself in the new mount
 *    namespace (readonly_runtime.ts) and spawns stage two from it at once:
 *    forked from the main thread, it is PID 1 of the new PID namespace,
 *    with our stdio (the journal or the terminal),
 * 5. while stage two's Deno boots: builds the container's root file system,
 *    hostname and loopback in the new namespaces (rootfs.ts), then returns
 *    to the host's mount namespace (stage two's pivot_root would otherwise
 *    change our root too),
 * 6. bridge mode (src/network/host_network.ts): back in the host's network
 *    and PID namespaces (the `ip`/`nft` it runs must be the host's, not
 *    children in the container's PID namespace), creates the veth pair with
 *    eth0 in stage two's namespace, applies the nftables rules, configures
 *    eth0 from inside (setns into the container's namespace, ioctls),
 * 7. writes "ready" on the setup pipe: stage two mounts /proc, pivots and
 *    execs,
 * 8. waits, synchronously, for the start pipe: EOF = execve succeeded, text
 *    = failure (printed to stderr → journal, exit 1, child killed),
 * 9. exits 0 — no tsnspawn process stays in the unit; systemd inherits
 *    the container's PID 1. Stage two has announced itself (MAINPID=,
 *    READY=1, and a barrier) right before its execve; only with an abstract
 *    $NOTIFY_SOCKET (unreachable from the new network namespace) does the
 *    shim send MAINPID=<stage two>\nREADY=1 itself.
 *
 * With -t the container's terminal is a pty of its own devpts, made in
 * step 5 (container/mount_plan.ts "consolePty"); the shim hands its master
 * to the terminal holder (runtime/terminal_holder.ts) before stage two
 * goes on, and keeps a slave fd open until the execve, so the pty never
 * hangs up in between.
 *
 * An OS container (systemd mode): the shim works outside the unit's cgroups
 * (the container's systemd manages them), and after the execve it stays
 * while the container boots (runtime/boot.ts): it drains the console into
 * the journal and passes the container's READY=1 on to systemd; then it
 * exits. A failed boot kills the container's PID 1 and is reported.
 *
 * The shim never returns to Deno's event loop after spawning: the event loop
 * would reap stage two if it exited early, and its exit status must stay for
 * systemd (it inherits the zombie when we exit). We watch it with
 * waitid(WNOWAIT) instead, and leave with _exit(2) (ffi exitNow).
 */
import { describeError } from "../errors.ts";
import type { ContainerConfig } from "../container/config.ts";
import { containerPaths } from "../paths.ts";
import { selfCommand } from "../self_exec.ts";
import {
  closeFd,
  mkfifo,
  O_CLOEXEC,
  O_NONBLOCK,
  O_RDONLY,
  openFd,
  POLLERR,
  POLLHUP,
  POLLIN,
  pollOne,
  readFd,
} from "../../ffi/fifo.ts";
import {
  CLONE_FS,
  CLONE_NEWIPC,
  CLONE_NEWNET,
  CLONE_NEWNS,
  CLONE_NEWPID,
  CLONE_NEWUTS,
  closeFd as closeNamespace,
  openNamespace,
  setns,
  unshare,
} from "../../ffi/namespaces.ts";
import { openNotifySocket } from "../../ffi/notify.ts";
import {
  CGROUPS_ENV,
  currentCgroupView,
  leaveUnitCgroups,
  runtimeNeedsToLeave,
} from "./cgroups.ts";
import type { CgroupView } from "../container/mount_plan.ts";
import { unitName } from "../paths.ts";
import { abortBoot, retireConsole, waitForBoot } from "./boot.ts";
import { type BuiltRootfs } from "./rootfs.ts";
import { handToTerminalHolder } from "./terminal_handoff.ts";
import { exitNow, type ExitStatus, kill, peekExit, waitPid } from "../../ffi/process.ts";
import { createSetupPipe, signalSetupReady } from "./setup_ready.ts";
import { buildRootfs } from "./rootfs.ts";
import { bindRuntimeReadOnly } from "./readonly_runtime.ts";
import { attachContainerHost, configureContainerInterface } from "../network/host_network.ts";
import { concatBytes } from "../bytes.ts";
import { trace } from "../trace.ts";
import { writeSeccompProgram } from "./seccomp_program.ts";
import type { NotifyListener } from "../../ffi/notify.ts";
import type { CgroupMembership } from "./cgroups.ts";
import type { copyUp } from "./copy_up.ts";

/**
 * What only some containers need, loaded (before the shim unshares, while
 * it still may) only for them: every module is a cost on the start path.
 */
export interface Extras {
  ensureVolumeMounted?: (name: string) => void;
  copyUp?: typeof copyUp;
  relay?: typeof import("./notify_relay.ts");
}

export async function loadExtras(config: ContainerConfig): Promise<Extras> {
  const extras: Extras = {};
  const volumes = config.volumes.filter((v) => v.volume);
  if (volumes.length > 0) {
    extras.ensureVolumeMounted = (await import("../volume/store.ts")).ensureVolumeMounted;
  }
  if (volumes.some((v) => v.copyUp !== false)) {
    extras.copyUp = (await import("./copy_up.ts")).copyUp;
  }
  if (config.sdnotify) extras.relay = await import("./notify_relay.ts");
  return extras;
}

/** How often the shim looks at stage two while the pipe is silent. */
const POLL_INTERVAL_MS = 50;
const SIGKILL = 9;

/** The namespaces a container gets. */
export function namespaceFlags(network: ContainerConfig["network"]): number {
  // No CLONE_NEWCGROUP here: stage two unshares it once it is back in the
  // unit's cgroups (see cgroups.ts), so that they are the container's root.
  return CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID |
    (network === "host" ? 0 : CLONE_NEWNET);
}

/** What the start pipe said. */
export type StartOutcome =
  | { ok: true }
  | { ok: false; message: string };

function describeExit(status: ExitStatus): string {
  return status.code !== null
    ? `exited with status ${status.code}`
    : `was killed by signal ${status.signal}`;
}

/**
 * Waits on the start pipe `fd` for stage two `pid`: EOF without text after
 * the writer came and went = started; text = failure; the child ending
 * before it ever opened the pipe = failure.
 */
export function waitForStart(fd: number, pid: number): StartOutcome {
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(4096);
  const text = () => new TextDecoder().decode(concatBytes(chunks)).trim();
  for (;;) {
    const revents = pollOne(fd, POLLIN, POLL_INTERVAL_MS);
    if (revents & (POLLIN | POLLHUP | POLLERR)) {
      const n = readFd(fd, buffer);
      if (n === 0) {
        const message = text();
        return message ? { ok: false, message } : { ok: true };
      }
      if (n !== null) chunks.push(buffer.slice(0, n));
      continue;
    }
    const exit = peekExit(pid);
    if (exit) {
      // One last look: it may have written (or exec'd) right before ending.
      const last = pollOne(fd, POLLIN, 0);
      if (last & (POLLIN | POLLHUP)) continue;
      const message = text();
      return {
        ok: false,
        message: message || `stage two ${describeExit(exit)} before it opened the start pipe`,
      };
    }
  }
}

/** Kills stage two after a failed setup and reaps it (systemd needs no status of it). */
function killStageTwo(pid: number): void {
  try {
    if (!peekExit(pid)) kill(pid, SIGKILL);
    waitPid(pid);
  } catch {
    // already gone
  }
}

/**
 * Reports a failed start on stderr (the journal) and exits 1. Every line is
 * prefixed "tsnspawn: " so the CLI finds the reason among the container's
 * own output (start.ts reads it back); a "hint: " line stays a hint.
 */
function fail(message: string): never {
  for (const line of message.split("\n")) console.error(`tsnspawn: ${line}`);
  Deno.exit(1);
}

/**
 * systemd mode, after the execve: waits for the container's READY=1 and
 * passes it on (runtime/boot.ts). Never returns.
 */
function awaitBoot(
  config: ContainerConfig,
  pid: number,
  built: BuiltRootfs,
  notifier: ReturnType<typeof openNotifySocket>,
): never {
  const consolePty = config.tty ? undefined : built.console;
  const outcome = waitForBoot({ pid, notify: built.notify!, console: consolePty });
  closeFd(built.notify!);
  if (!outcome.ok) {
    // We are still the unit's main process: the unit fails when we exit,
    // after this report, with the init's exit status (the console's lines
    // are in the journal already, drained as they came).
    const status = abortBoot(pid);
    for (const line of `boot failed: ${outcome.reason}`.split("\n")) {
      console.error(`tsnspawn: ${line}`);
    }
    exitNow(status);
  }
  try {
    if (consolePty && notifier) {
      const problem = retireConsole(consolePty, notifier);
      if (problem) warn(problem);
    }
    // The container's PID 1 becomes the main process, ready; then we go.
    notifier?.send(`MAINPID=${pid}\nREADY=1${outcome.status ? `\nSTATUS=${outcome.status}` : ""}`);
    notifier?.barrier(BARRIER_TIMEOUT_MS);
  } catch (error) {
    abortBoot(pid);
    fail(`sd_notify: ${error instanceof Error ? error.message : error}`);
  }
  exitNow(0);
}

/** How long the shim waits for systemd to take the container's MAINPID=. */
const BARRIER_TIMEOUT_MS = 5000;

/** A line on stderr (the journal), marked as the runtime's, not a failure. */
function warn(message: string): void {
  console.error(`tsnspawn: warning: ${message}`);
}

/**
 * --sdnotify: waits for the container's READY=1 (or the health check's) on
 * the relay, and passes it on from inside the unit's cgroups. Returns when
 * forwarded, or when the container ended before it was ready.
 */
function relayReadiness(
  { waitForReady, closeRelay, rejoinUnitCgroups, forwardToSystemd }:
    typeof import("./notify_relay.ts"),
  relay: NotifyListener,
  notifyDir: string,
  pid: number,
  unitCgroups: readonly CgroupMembership[],
  notifier: ReturnType<typeof openNotifySocket>,
): void {
  const message = waitForReady(relay, pid);
  closeRelay(relay, notifyDir);
  if (message === null) return; // ended first: systemd sees its main process go
  rejoinUnitCgroups(unitCgroups);
  if (!forwardToSystemd(notifier, message)) {
    throw new Error("systemd did not acknowledge READY=1 (sd_notify barrier timed out)");
  }
}

/**
 * Entry of `__shim NAME`. Never returns: exits 0 after READY=1, 1 on any
 * failure (the reason on stderr).
 */
export async function runShim(name: string): Promise<never> {
  const paths = containerPaths(name);
  let config: ContainerConfig;
  try {
    config = JSON.parse(Deno.readTextFileSync(paths.config)) as ContainerConfig;
  } catch (error) {
    fail(
      `container ${name}: cannot read ${paths.config}: ${
        error instanceof Error ? error.message : error
      }`,
    );
  }

  // Descriptors of a previous run's fd store (the console): not ours to keep.
  if (Number(Deno.env.get("LISTEN_PID")) === Deno.pid) {
    const inherited = Number(Deno.env.get("LISTEN_FDS") ?? 0);
    for (let fd = 3; fd < 3 + inherited; fd++) closeFd(fd);
  }
  let extras: Extras;
  try {
    extras = await loadExtras(config);
  } catch (error) {
    fail(`container ${name}: cannot start: ${describeError(error)}`);
  }
  let pid: number;
  let fifo: number;
  let setupPipe: number;
  let hostMounts: number;
  let cgroupView: CgroupView | undefined;
  let unitCgroups: CgroupMembership[] = [];
  let relay: NotifyListener | null = null;
  const bridged = config.network === "bridge";
  /** Bridge mode: the namespaces to move between. */
  const net = { hostNet: -1, hostPid: -1, containerNet: -1 };
  const notifier = (() => {
    try {
      return openNotifySocket();
    } catch (error) {
      fail(`sd_notify: ${error instanceof Error ? error.message : error}`);
    }
  })();
  try {
    try {
      Deno.removeSync(paths.startPipe);
    } catch {
      // not there
    }
    mkfifo(paths.startPipe, 0o600);
    fifo = openFd(paths.startPipe, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    setupPipe = createSetupPipe(paths.setupPipe);
    // Device-backed volumes are mounted in the host's namespace, shared by their containers.
    for (const volume of config.volumes) {
      if (volume.volume) extras.ensureVolumeMounted!(volume.volume);
    }
    if (extras.relay) relay = extras.relay.openRelay(paths.notifyDir);
    if (bridged) {
      net.hostNet = openNamespace("self", "net");
      net.hostPid = openNamespace("self", "pid");
    }
    hostMounts = openNamespace("self", "mnt");
    // Out of the unit's cgroups, so the runtime does not count against the
    // container's limits; stage two returns right before its execve.
    if (config.systemd) cgroupView = currentCgroupView(unitName(name));
    unitCgroups = runtimeNeedsToLeave(config.resources, config.systemd) ? leaveUnitCgroups() : [];
    unshare(namespaceFlags(config.network));
    trace("unshared");
    // Stage two is PID 1 of the container until its execve: it runs the
    // runtime's binary from a read-only bind in the new mount namespace.
    bindRuntimeReadOnly();
    if (bridged) net.containerNet = openNamespace("self", "net");
    const [program, ...args] = selfCommand("__stage2", [name]);
    const child = new Deno.Command(program, {
      args,
      env: { [CGROUPS_ENV]: JSON.stringify(unitCgroups) },
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    pid = child.pid;
    trace("spawned");
  } catch (error) {
    fail(`container ${name}: cannot start: ${describeError(error)}`);
  }

  let built: BuiltRootfs = {};
  try {
    built = buildRootfs(config, paths, extras.copyUp, cgroupView);
    trace("rootfs");
    if (config.tty && built.console) {
      handToTerminalHolder(paths.terminalSocket, built.console.master);
    }
    // Back to the host's mount namespace: stage two's pivot_root moves the
    // root of every process of its namespace (ours too) into the container.
    unshare(CLONE_FS);
    setns(hostMounts, CLONE_NEWNS, "the host's mount namespace");
    closeNamespace(hostMounts);
    // Compiled here, while stage two boots, not on its path (seccomp_program.ts).
    writeSeccompProgram(config, paths);
    trace("seccomp");
  } catch (error) {
    killStageTwo(pid);
    fail(`container ${name}: cannot start: ${describeError(error)}`);
  }

  if (bridged) {
    try {
      setns(net.hostNet, CLONE_NEWNET, "the host's network namespace");
      setns(net.hostPid, CLONE_NEWPID, "the host's PID namespace");
      attachContainerHost(config, pid);
      setns(net.containerNet, CLONE_NEWNET, "the container's network namespace");
      configureContainerInterface(config);
      setns(net.hostNet, CLONE_NEWNET, "the host's network namespace");
    } catch (error) {
      killStageTwo(pid);
      fail(`container ${name}: network: ${describeError(error)}`);
    }
    for (const fd of [net.hostNet, net.hostPid, net.containerNet]) closeNamespace(fd);
  }
  signalSetupReady(setupPipe);
  trace("setup-ready");

  let outcome: StartOutcome;
  try {
    outcome = waitForStart(fifo, pid);
  } catch (error) {
    outcome = {
      ok: false,
      message: `waiting for stage two: ${error instanceof Error ? error.message : error}`,
    };
  }
  trace("start-pipe");
  closeFd(fifo);
  for (const path of [paths.startPipe, paths.setupPipe]) {
    try {
      Deno.removeSync(path);
    } catch {
      // best effort
    }
  }
  closeFd(setupPipe);

  if (!outcome.ok) {
    killStageTwo(pid);
    fail(outcome.message);
  }
  // Stage two holds the terminal now (its stdin, stdout, stderr).
  if (config.tty && built.console) {
    closeFd(built.console.slave);
    closeFd(built.console.master);
  }
  if (config.systemd) awaitBoot(config, pid, built, notifier);

  // Stage two announced itself (MAINPID=, READY=1) before its execve when
  // the notify socket is a path; only an abstract one is left to us.
  // _exit at once: until we are gone the container's PID 1 is our child, and
  // a command that ends meanwhile would leave systemd a $MAINPID to stop.
  trace("exit 0");
  const abstract = (Deno.env.get("NOTIFY_SOCKET") ?? "@").startsWith("@");
  if (!abstract && !relay) exitNow(0);
  try {
    if (abstract) notifier?.send(relay ? `MAINPID=${pid}` : `MAINPID=${pid}\nREADY=1`);
    if (relay) relayReadiness(extras.relay!, relay, paths.notifyDir, pid, unitCgroups, notifier);
  } catch (error) {
    try {
      kill(pid, SIGKILL);
    } catch {
      // already gone
    }
    fail(`sd_notify: ${error instanceof Error ? error.message : error}`);
  }
  exitNow(0);
}

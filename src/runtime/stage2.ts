/**
 * Stage two: PID 1 of the container's new namespaces (spawned by the shim
 * right after unshare). While it boots, the shim builds the root file
 * system, hostname and loopback (rootfs.ts); stage two waits for that on the
 * setup pipe, mounts /proc (procfs shows the PID namespace of its mounter),
 * pivots into the new root, drops privileges and execve's the container's
 * command, which then is PID 1.
 *
 * Runs on the main thread only, with synchronous APIs (the namespaces are
 * the main thread's; worker threads of Deno are not in them, and no new
 * thread can be started in a new PID namespace).
 *
 * Failures go to the start pipe (see start_pipe.ts) for the shim to print,
 * and the exit status is 127 (command not found), 126 (not executable) or 1.
 */
import { describeError, TsnspawnError } from "../errors.ts";
import type { ContainerConfig } from "../container/config.ts";
import { containerPaths, unitName } from "../paths.ts";
import { BOOT_NOTIFY_SOCKET, CONTAINER_INIT, planRootfs } from "../container/mount_plan.ts";
import { applyMounts, pivotInto } from "./apply_mounts.ts";
import { capabilitiesWeHold, execContainerProcess, exitStatusFor } from "./process_security.ts";
import { openStartPipeWriter, type StartPipeWriter } from "./start_pipe.ts";
import { openSetupPipe, waitForSetup } from "./setup_ready.ts";
import { openJournalStream } from "../../ffi/journal_stream.ts";
import { dup2 } from "../../ffi/process.ts";
import { closeFd, O_CLOEXEC, O_NOCTTY, O_RDWR, openFd } from "../../ffi/fifo.ts";
import { openNotifySocket } from "../../ffi/notify.ts";
import { prepareCgroupReturn } from "./cgroups.ts";

import { trace } from "../trace.ts";
import { applySysctls } from "./sysctls.ts";

/**
 * The container's seccomp program, as the shim compiled it for this start
 * (runtime/seccomp_program.ts); none when it runs unconfined.
 */
function readSeccompProgram(config: ContainerConfig, path: string): Uint8Array | undefined {
  if (config.seccomp?.kind === "unconfined") return undefined;
  try {
    return Deno.readFileSync(path);
  } catch (error) {
    throw new TsnspawnError("start-failed", `seccomp program ${path}: cannot read it`, {
      cause: error,
    });
  }
}

/** Formats an error for the start pipe / journal: message, then the hint. */
export function describeStartError(error: unknown): string {
  return `stage two: ${describeError(error)}`;
}

function loadConfig(path: string): ContainerConfig {
  try {
    return JSON.parse(Deno.readTextFileSync(path)) as ContainerConfig;
  } catch (error) {
    throw new TsnspawnError("not-found", `container config ${path}: cannot read it`, {
      cause: error,
    });
  }
}

/**
 * How long to wait for systemd to take our MAINPID= before giving up.
 * It normally answers in well under a millisecond.
 */
const BARRIER_TIMEOUT_MS = 5000;

/**
 * Announces stage two (soon the container's command) as the unit's main
 * process: MAINPID=<our PID on the host> and READY=1 (not with --sdnotify:
 * the container's readiness comes through the shim's relay), then BARRIER=1.
 *
 * Order matters: systemd must have recorded the main PID before the command
 * runs, or a command that exits at once (`/bin/true`) would be a zombie by
 * the time systemd looks at MAINPID=, be refused, and its exit status lost.
 * The barrier returns only after systemd processed the message. Returns
 * false when the shim must notify instead (no path-based $NOTIFY_SOCKET:
 * an abstract socket is unreachable from our network namespace).
 */
function openAnnouncer(ready: boolean): (() => void) | null {
  const address = Deno.env.get("NOTIFY_SOCKET");
  if (!address || address.startsWith("@")) return null;
  // Our PID as systemd sees it: /proc is still the host's here.
  const hostPid = Number(Deno.readLinkSync("/proc/self"));
  const socket = openNotifySocket(address)!;
  return () => {
    trace("notify");
    // One sendmmsg: the barrier is handled right after MAINPID=/READY=1,
    // before systemd starts what READY=1 triggers (machined's registration).
    // --sdnotify: READY=1 comes later, relayed by the shim (notify_relay.ts).
    const message = ready ? `MAINPID=${hostPid}\nREADY=1` : `MAINPID=${hostPid}`;
    if (!socket.sendWithBarrier(message, BARRIER_TIMEOUT_MS)) {
      throw new TsnspawnError(
        "systemd",
        "systemd did not acknowledge MAINPID= (sd_notify barrier timed out)",
      );
    }
    socket.close();
    trace("barrier");
  };
}

/** syslog's "err": the priority of the container's stderr lines. */
const STDERR_PRIORITY = 3;

/**
 * Gives stderr a journal stream of its own, with priority "err": systemd
 * connects a unit's stdout and stderr to one stream, and then nothing tells
 * them apart (an attached `run` and `logs` send stderr lines to stderr, as
 * docker does). Only when systemd connected us to the journal at all
 * ($JOURNAL_STREAM), and before pivot_root (the socket is a host path).
 */
function separateStderr(name: string): void {
  if (!Deno.env.get("JOURNAL_STREAM")) return;
  try {
    const fd = openJournalStream({
      identifier: name,
      unit: unitName(name),
      priority: STDERR_PRIORITY,
      levelPrefix: false,
    });
    dup2(fd, 2);
    closeFd(fd);
  } catch (error) {
    // The shared stream still works: worth a line, not a failed start.
    console.error(`tsnspawn: stderr shares stdout's journal stream: ${(error as Error).message}`);
  }
}

/** Makes the terminal at `path` our stdin, stdout and stderr (the controlling tty comes at exec). */
function takeTerminal(path: string): void {
  const fd = openFd(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
  for (const target of [0, 1, 2]) dup2(fd, target);
  closeFd(fd);
}

/** Everything stage two does after opening the start pipe. Never returns. */
function setUpAndExec(config: ContainerConfig, name: string): never {
  const paths = containerPaths(name);
  const setupReady = openSetupPipe(paths.setupPipe);
  // An OS container is announced by the shim once it booted (runtime/boot.ts).
  const announce = config.systemd ? null : openAnnouncer(config.sdnotify === undefined);
  // The unit's cgroup.procs files, opened while the host's /sys is visible.
  const cgroupReturn = prepareCgroupReturn();
  if (!config.tty) separateStderr(name);
  const plan = planRootfs(config, paths);
  trace("prepared");
  // The shim builds the root file system (and the bridge's eth0) meanwhile.
  waitForSetup(setupReady);
  trace("setup-ready");
  // Compiled by the shim meanwhile (a host path: before pivot_root).
  const seccomp = readSeccompProgram(config, paths.seccomp);
  applyMounts(plan.procfs, plan.root);
  pivotInto(plan.root);
  // --sysctl: through the container's own /proc, in all its namespaces
  // (eth0 is there), before afterPivot makes /proc/sys read-only.
  if (config.sysctls) applySysctls(config.sysctls);
  applyMounts(plan.afterPivot, null);
  trace("pivoted");
  // -t: the terminal the shim made, bound on /dev/console, is our stdio.
  if (config.tty) takeTerminal("/dev/console");
  return execContainerProcess({
    command: config.command,
    // systemd in the container reports READY=1 to the shim (runtime/boot.ts).
    env: config.systemd ? [...config.env, `NOTIFY_SOCKET=${BOOT_NOTIFY_SOCKET}`] : config.env,
    user: config.user,
    workingDir: config.workingDir,
    capabilities: config.privileged ? capabilitiesWeHold(config.capabilities) : config.capabilities,
    noNewPrivileges: config.noNewPrivileges,
    seccomp,
    init: config.init ? CONTAINER_INIT : undefined,
    tty: config.tty,
    // Back into the unit's cgroups first: systemd takes MAINPID= only from
    // a process of the unit, and the limits must hold from execve on.
    announce: () => {
      trace("command");
      cgroupReturn.join();
      announce?.();
    },
  });
}

/**
 * Entry of `__stage2 NAME`. Never returns on success (the process becomes
 * the container's command); on failure reports through the start pipe and
 * resolves to the exit status (1, 126 or 127) for mod.ts to exit with.
 */
export function runStage2(name: string): Promise<number> {
  let pipe: StartPipeWriter | null = null;
  try {
    pipe = openStartPipeWriter(containerPaths(name).startPipe);
    const config = loadConfig(containerPaths(name).config);
    setUpAndExec(config, name);
  } catch (error) {
    const text = describeStartError(error);
    try {
      if (pipe) pipe.fail(text);
      else console.error(text);
    } catch {
      console.error(text);
    }
    return Promise.resolve(exitStatusFor(error));
  }
}

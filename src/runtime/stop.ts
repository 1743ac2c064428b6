/**
 * ExecStop= of a container unit (`tsnspawn __stop NAME`): docker's stop.
 *
 * Why this exists: the container's PID 1 was announced with MAINPID= while
 * it was still the shim's child, so systemd marks it "alien" (not its own
 * child) and, on stop, does not wait after sending KillSignal= to an alien
 * main process: KillMode=mixed would go straight to SIGKILL. So the stop
 * signal and the wait happen here: send the image's stop signal to $MAINPID
 * and wait (pidfd) up to the stop timeout, then SIGKILL, as `docker stop`
 * does. We return only after systemd has reaped the process (/proc/PID is
 * gone), so the exit status is known before ExecStopPost= records it —
 * systemd would not have waited for it. Then KillMode=mixed sends SIGKILL to
 * whatever is left, and TimeoutStopSec= (stop timeout + a margin) bounds us.
 *
 * A PID 1 without a handler for the signal ignores it (pid_namespaces(7));
 * then the stop takes the whole timeout, as with docker.
 */
import type { ContainerConfig } from "../container/config.ts";
import { containerPaths } from "../paths.ts";
import { kill, waitForExit } from "../../ffi/process.ts";
import { parseSignal } from "../container/run_options.ts";

/** How long systemd may take to reap the killed process before we give up waiting. */
const REAP_TIMEOUT_MS = 2000;
const SIGKILL = 9;

/** Entry of `__stop NAME`; always 0 (a failed stop must not fail the unit's stop). */
export function runStop(name: string): Promise<number> {
  const pid = Number(Deno.env.get("MAINPID"));
  if (!Number.isInteger(pid) || pid <= 0) return Promise.resolve(0);
  let config: ContainerConfig;
  try {
    config = JSON.parse(Deno.readTextFileSync(containerPaths(name).config));
  } catch {
    return Promise.resolve(0);
  }
  try {
    kill(pid, parseSignal(config.stopSignal));
    if (!waitForExit(pid, config.stopTimeoutSec * 1000)) {
      kill(pid, SIGKILL);
      waitForExit(pid, REAP_TIMEOUT_MS);
    }
  } catch {
    // Gone already.
  }
  waitUntilReaped(pid, REAP_TIMEOUT_MS);
  return Promise.resolve(0);
}

/** Waits until systemd (the parent) has collected `pid`: /proc/PID disappears. */
function waitUntilReaped(pid: number, timeoutMs: number): void {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      Deno.statSync(`/proc/${pid}`);
    } catch {
      return;
    }
    // A synchronous pause: this process only waits.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
  }
}

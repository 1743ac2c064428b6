/**
 * The readiness relay of `--sdnotify=container|healthy` (podman's
 * `--sdnotify`): what makes the unit "started" is the container's own
 * READY=1, or its first passing health check, not the runtime's.
 *
 * Stage two still tells systemd the main PID before its execve (MAINPID=
 * and a barrier: no exit status is ever lost), but not READY=1. The shim
 * instead stays until the container is ready: it binds a datagram socket
 * at `<container dir>/notify/notify.sock`; with `container` that directory
 * is bind-mounted read-only at /run/notify and $NOTIFY_SOCKET names the
 * socket in the container; with `healthy` only `tsnspawn healthcheck run`
 * (src/health/run.ts) sends to it, after the first passing check. On a
 * READY=1 the shim goes back into the unit's cgroups (NotifyAccess=all
 * accepts only members; it left them while the container has limits:
 * cgroups.ts), forwards READY=1 (and STATUS=) to systemd with a barrier,
 * and exits. Nothing else passes: a container must not send MAINPID= (it
 * names a host PID for systemd to signal), and what it sends after READY=1
 * goes nowhere (the socket is gone). If the container ends first, the shim
 * just exits: systemd sees its main process end during the start.
 *
 * Host paths of sockets must fit in 108 bytes; the state root may be long,
 * so the socket is bound and reached relative to its directory.
 *
 * Man pages: sd_notify(3), systemd.service(5) (NotifyAccess=), unix(7).
 */
import { listenNotifySocket, type NotifyListener, openNotifySocket } from "../../ffi/notify.ts";
import { chdir } from "../../ffi/process.ts";
import { peekExit } from "../../ffi/process.ts";
import { closeFd, O_CLOEXEC, O_WRONLY, openFd, writeAll } from "../../ffi/fifo.ts";
import type { CgroupMembership } from "./cgroups.ts";

/** The relay socket's file name in `<container dir>/notify/`. */
export const RELAY_SOCKET = "notify.sock";

/** How often the shim looks at the container while no message comes. */
const POLL_MS = 100;

/** Runs `action` with `dir` as the working directory (the relay's socket paths are relative). */
function inDir<T>(dir: string, action: () => T): T {
  chdir(dir);
  try {
    return action();
  } finally {
    chdir("/");
  }
}

/** Shim: binds the relay socket (replacing a stale one), connectable by any user. */
export function openRelay(notifyDir: string): NotifyListener {
  Deno.mkdirSync(notifyDir, { recursive: true, mode: 0o755 });
  Deno.chmodSync(notifyDir, 0o755);
  return inDir(notifyDir, () => {
    try {
      Deno.removeSync(RELAY_SOCKET);
    } catch { /* none */ }
    const listener = listenNotifySocket(RELAY_SOCKET);
    // A container running as another user must be able to connect.
    Deno.chmodSync(RELAY_SOCKET, 0o666);
    return listener;
  });
}

/** The lines of a notification that pass the relay: READY=1 and STATUS=. */
export function planForward(message: string): string | null {
  const lines = message.split("\n").filter((l) => l === "READY=1" || l.startsWith("STATUS="));
  return lines.includes("READY=1") ? lines.join("\n") : null;
}

/**
 * Shim: waits for READY=1 on the relay while container PID `pid` lives.
 * Returns what to forward, or null when the container ended first.
 */
export function waitForReady(relay: NotifyListener, pid: number): string | null {
  let status: string | null = null;
  for (;;) {
    const message = relay.receive(POLL_MS);
    if (message !== null) {
      const forward = planForward(message);
      if (forward !== null) {
        return status && !forward.includes("STATUS=") ? `${forward}\n${status}` : forward;
      }
      const lastStatus = message.split("\n").filter((l) => l.startsWith("STATUS=")).at(-1);
      if (lastStatus) status = lastStatus;
      continue;
    }
    if (peekExit(pid)) return null;
  }
}

/** Shim: back into the unit's cgroups (whole process), so systemd accepts our message. */
export function rejoinUnitCgroups(unit: readonly CgroupMembership[]): void {
  for (const membership of unit) {
    if (membership.path === "/") continue;
    const file = `${membership.mount}${membership.path}/cgroup.procs`;
    try {
      const fd = openFd(file, O_WRONLY | O_CLOEXEC);
      try {
        writeAll(fd, new TextEncoder().encode("0"));
      } finally {
        closeFd(fd);
      }
    } catch { /* that hierarchy stays as it is */ }
  }
}

/** Removes the relay's socket (best effort). */
export function closeRelay(relay: NotifyListener, notifyDir: string): void {
  relay.close();
  try {
    Deno.removeSync(`${notifyDir}/${RELAY_SOCKET}`);
  } catch { /* gone */ }
}

/**
 * `tsnspawn healthcheck run` (healthy mode): tells a waiting shim the
 * container is ready. False when no shim waits (it started long ago).
 */
export function sendReady(notifyDir: string): boolean {
  try {
    const socket = inDir(notifyDir, () => openNotifySocket(RELAY_SOCKET));
    if (!socket) return false;
    try {
      socket.send("READY=1");
    } finally {
      socket.close();
    }
    return true;
  } catch {
    return false;
  }
}

/** Forwards a relayed notification to systemd and waits until it was processed. */
export function forwardToSystemd(
  notifier: ReturnType<typeof openNotifySocket>,
  message: string,
  timeoutMs = 5000,
): boolean {
  if (!notifier) return false;
  notifier.send(message);
  return notifier.barrier(timeoutMs);
}

/**
 * An OS container's boot, watched by the shim (systemd mode).
 *
 * The container's systemd reports that it finished starting up with
 * sd_notify READY=1 (systemd(1) "$NOTIFY_SOCKET"), as it does under
 * systemd-nspawn --notify-ready=yes. It does not reach the host's notify
 * socket: a container process that could, could also send MAINPID= of any
 * host process as root (systemd takes that from uid 0), and `stop` would
 * then signal it. It sends to /run/host/notify instead, a socket the shim
 * bound in the container's /run; the shim takes READY=1 (only that, and
 * STATUS= for messages) and passes it on to systemd as the unit's main
 * process (SCM_CREDENTIALS of the container's PID 1, which needs
 * CAP_SYS_ADMIN: no container process can do the same). Until then the
 * unit is "activating": `run -d` returns when the boot finished, and a
 * container whose boot hangs is never listed as running.
 *
 * Meanwhile the shim drains the console (a pty of the container's devpts
 * on /dev/console, without -t) into the unit's journal stream: `logs` and
 * the journal have the boot, and a failed boot's error quotes its last
 * lines. A failed boot: PID 1 exits, systemd prints "Freezing execution",
 * or no READY=1 within the boot timeout; the shim then kills PID 1 and
 * reports.
 *
 * After READY=1 nobody reads the console any more: its master gets the
 * N_NULL line discipline (later console output vanishes instead of
 * filling the pty until its writers block; systemd logs the same messages
 * to the container's own journal) and goes to systemd's fd store of the
 * unit (FDSTORE=1), which keeps it open, so that the console never hangs
 * up while the container runs, without a process of ours.
 *
 * Man pages: sd_notify(3) (READY=1, MAINPID=, FDSTORE=1), systemd.service(5)
 * (FileDescriptorStoreMax=), tty_ioctl(4) (TIOCSETD).
 */
import { closeFd, POLLERR, POLLHUP, POLLIN, pollMany, readFd, writeAll } from "../../ffi/fifo.ts";
import { kill, peekExit, waitPid } from "../../ffi/process.ts";
import { N_NULL, setLineDiscipline } from "../../ffi/pty.ts";
import { receive } from "../../ffi/unix_socket.ts";
import type { NotifySocket } from "../../ffi/notify.ts";
import { ConsoleTail, NewlineNormalizer } from "./console_text.ts";
import { BOOT_TIMEOUT_MS } from "../container/config.ts";

const SIGKILL = 9;
const POLL_MS = 100;

/** What the shim watches while the container boots. */
export interface BootWatch {
  /** The container's PID 1 on the host (our child). */
  pid: number;
  /** The datagram socket at the container's /run/host/notify. */
  notify: number;
  /** The console pty (without -t). */
  console?: { master: number; slave: number };
  timeoutMs?: number;
}

/** How the boot ended. */
export type BootOutcome =
  | { ok: true; status?: string }
  | { ok: false; reason: string };

/** The values of one sd_notify datagram ("READY=1\nSTATUS=…"). */
export function parseNotification(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) values.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return values;
}

/**
 * Waits until the container's systemd reports READY=1, or its boot fails.
 * Console output goes to our stdout (the unit's journal stream) as it comes.
 */
export function waitForBoot(watch: BootWatch): BootOutcome {
  const deadline = Date.now() + (watch.timeoutMs ?? BOOT_TIMEOUT_MS);
  const tail = new ConsoleTail();
  const newlines = new NewlineNormalizer();
  const buffer = new Uint8Array(16384);
  let status = "";
  const fds = watch.console ? [watch.notify, watch.console.master] : [watch.notify];
  const drainConsole = (): boolean => {
    if (!watch.console) return false;
    const n = readFd(watch.console.master, buffer);
    if (!n) return false;
    const chunk = buffer.slice(0, n);
    tail.push(chunk);
    writeAll(1, newlines.push(chunk) as Uint8Array<ArrayBuffer>);
    return true;
  };
  const failed = (reason: string): BootOutcome => {
    // What is still in the pty belongs in the report.
    while (watch.console && (pollMany([watch.console.master], 0)[0] & POLLIN) && drainConsole());
    return { ok: false, reason };
  };
  for (;;) {
    const revents = pollMany(fds, POLL_MS);
    if (revents[0] & POLLIN) {
      const message = receive(watch.notify);
      if (message) {
        const values = parseNotification(new TextDecoder().decode(message.data));
        for (const fd of message.fds) closeFd(fd);
        if (values.has("STATUS")) status = values.get("STATUS")!;
        if (values.get("READY") === "1") return { ok: true, status };
      }
    }
    if (watch.console && revents[1] & (POLLIN | POLLHUP | POLLERR)) drainConsole();
    if (tail.frozen()) return failed("its systemd froze");
    const exit = peekExit(watch.pid);
    if (exit) {
      return failed(
        exit.code !== null
          ? `its init exited with status ${exit.code} before it finished booting`
          : `its init was killed by signal ${exit.signal} before it finished booting`,
      );
    }
    if (Date.now() > deadline) {
      return failed(
        `it did not finish booting within ${(watch.timeoutMs ?? BOOT_TIMEOUT_MS) / 1000} s` +
          (status ? ` (its status: ${status})` : ""),
      );
    }
  }
}

/**
 * Ends the container's PID 1 after a failed boot and reaps it; returns the
 * status the unit fails with: the init's exit status, 1 if we killed it.
 */
export function abortBoot(pid: number): number {
  const exited = peekExit(pid);
  try {
    if (!exited) kill(pid, SIGKILL);
    waitPid(pid);
  } catch {
    // gone
  }
  return exited?.code ?? 1;
}

/**
 * After READY=1: systemd's fd store keeps the console master (see the
 * module comment); returns a problem to log, or null. The shim sends it
 * while it is the unit's main process.
 */
export function retireConsole(
  console: { master: number; slave: number },
  notifier: NotifySocket,
): string | null {
  let problem: string | null = null;
  try {
    setLineDiscipline(console.master, N_NULL);
  } catch (error) {
    problem = `console: no N_NULL line discipline (${
      (error as Error).message
    }): console output after the boot fills the pty until its writers block`;
  }
  try {
    notifier.sendFds("FDSTORE=1\nFDNAME=console", [console.master]);
  } catch (error) {
    problem = `console: systemd did not take it into its fd store (${(error as Error).message})`;
  }
  closeFd(console.slave);
  closeFd(console.master);
  return problem;
}

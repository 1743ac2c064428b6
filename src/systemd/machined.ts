/**
 * Registration of containers with systemd-machined (org.freedesktop.machine1(5)),
 * so `machinectl list`, `status NAME` and `terminate NAME` see them.
 *
 * Where, for a container that systemd restarts on its own (a restart
 * policy) or starts without the CLI (a declared container): the unit
 * template units/tsnspawn-machine@.service (installed by ./setup) calls
 * `RegisterMachine(name, id, service, "container", leader, root)` through
 * busctl(1), with the leader read from the container unit's MainPID. Such
 * a unit `Wants=` its instance `tsnspawn-machine@NAME.service`, ordered
 * after it. So every start registers: `systemctl start` of a declared
 * container, at boot, and systemd's own restarts; without a D-Bus library
 * on the container's start path, and outside the container's start job: an
 * ExecStartPost= would fail the start job of a container whose command
 * exits during it.
 *
 * Any other container (no restart policy: every start goes through the
 * CLI) is registered by the CLI once its start job is done
 * (src/commands/start.ts), not when it sends READY=1: systemd would start
 * the template then, and forking its `sh` (then `systemctl`, `busctl`)
 * stalls PID 1 for ~10 ms while the container waits for its sd_notify
 * barrier (bench/profile_start.sh). An attached start makes one
 * RegisterMachine call on the bus connection it holds anyway; a detached
 * one, which disconnects at once, asks systemd to start the template (the
 * bus drops a call to a machined it is still starting when the caller is
 * gone). Neither waits for the answer.
 *
 * machined ties the machine to the unit its leader runs in: the machine
 * goes away when the unit stops, and `machinectl terminate` stops the unit.
 *
 * Without machined installed no unit wants the template; when machined is
 * installed but not running, the call starts it (D-Bus activation).
 * Failures are ignored.
 */

/** Where Debian installs systemd-machined (package systemd-container). */
const MACHINED_BINARIES = ["/lib/systemd/systemd-machined", "/usr/lib/systemd/systemd-machined"];

/** The template unit that registers a container (units/tsnspawn-machine@.service). */
export const MACHINE_UNIT_TEMPLATE = "tsnspawn-machine@.service";

/**
 * The machine name of a container: machined accepts host names only
 * (letters, digits, '-', '.'), so '_' and a template instance's '@' become
 * '-' (as the template does).
 */
export function machineName(container: string): string {
  return container.replaceAll("_", "-").replaceAll("@", "-");
}

/** The unit that registers container `name` with machined. */
export function machineUnitName(name: string): string {
  return MACHINE_UNIT_TEMPLATE.replace("@", `@${name}`);
}

/** True when systemd-machined is installed on this host. */
export function machinedInstalled(): boolean {
  return MACHINED_BINARIES.some((path) => {
    try {
      Deno.statSync(path);
      return true;
    } catch {
      return false;
    }
  });
}

/** The registering unit container `name` should want on this host, if machined is installed. */
export function hostMachineUnit(name: string): string | undefined {
  return machinedInstalled() ? machineUnitName(name) : undefined;
}

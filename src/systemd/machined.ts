/**
 * Registration of containers with systemd-machined (org.freedesktop.machine1(5)),
 * so `machinectl list`, `status NAME` and `terminate NAME` see them.
 *
 * Where: the unit template units/tsnspawn-machine@.service (installed by
 * ./setup) calls `RegisterMachine(name, id, service, "container", leader,
 * root)` through busctl(1), with the leader read from the container unit's
 * MainPID. Each container unit — transient or generated — `Wants=` its
 * instance `tsnspawn-machine@NAME.service`, ordered after it. So every start
 * registers: through `tsnspawn run/start`, `systemctl start` of a declared
 * container, at boot, and systemd's own restarts; without the CLI, without a
 * D-Bus library on the container's start path, and outside the container's
 * start job: an ExecStartPost= would fail the start job of a container
 * whose command exits during it. machined ties the machine to the unit its
 * leader runs in: the machine goes away when the unit stops, and
 * `machinectl terminate` stops the unit.
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
 * (letters, digits, '-', '.'), so '_' becomes '-' (as the template does).
 */
export function machineName(container: string): string {
  return container.replaceAll("_", "-");
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

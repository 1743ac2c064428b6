/**
 * A login shell run by an OS container's own systemd (`tsnspawn shell NAME`
 * when the container boots systemd), as `machinectl shell` has machined do
 * it: a transient service in the container, started over the container's
 * D-Bus, with the pty's slave as its terminal, a PAM "login" session and
 * utmp entry, and the user's login shell from the container's passwd.
 * The shell is then a proper part of the container's system: in its own
 * cgroup, in `loginctl`, and ended by the container's shutdown. PURE: the
 * plan of the unit; commands/exec.ts connects and relays.
 *
 * References: org.freedesktop.systemd1(5) StartTransientUnit,
 * systemd.exec(5) (TTYPath=, PAMName=, UtmpIdentifier=), machinectl(1) shell.
 */
import {
  UNIT_PROPERTY_SIGNATURES,
  type UnitProperty,
  type UnitPropertyName,
} from "./unit_properties.ts";

/** Where a container's system bus listens (dbus-daemon's default). */
export const CONTAINER_BUS_SOCKET = "/run/dbus/system_bus_socket";

/**
 * The script that finds the user's login shell in the container and execs
 * it as a login shell (what machined runs by default too).
 */
export function loginShellScript(user: string): string {
  const quoted = `'${user.replaceAll("'", "'\\''")}'`;
  return `shell=$(getent passwd ${quoted} 2>/dev/null | cut -d: -f7)\n` +
    `exec "\${shell:-/bin/sh}" -l`;
}

/** The unit name of a shell on /dev/pts/N. */
export function shellUnitName(ptyPath: string): string {
  return `tsnspawn-shell@${ptyPath.split("/").at(-1)}.service`;
}

/** Options of {@link planShellUnit}. */
export interface ShellUnitOptions {
  /** The pty slave in the container (/dev/pts/N). */
  tty: string;
  /** User name or uid in the container. */
  user: string;
  /** Environment for the shell (TERM). */
  env: string[];
}

/** The properties of the shell's transient service in the container. */
export function planShellUnit(options: ShellUnitOptions): UnitProperty[] {
  const argv = ["sh", "-c", loginShellScript(options.user)];
  const values: [UnitPropertyName, unknown][] = [
    ["Description", `Shell for user ${options.user} (tsnspawn shell)`],
    ["CollectMode", "inactive-or-failed"],
    ["AddRef", true],
    ["StandardInput", "tty"],
    ["StandardOutput", "tty"],
    ["StandardError", "tty"],
    ["TTYPath", options.tty],
    // No reset and no hangup at the end: both flush what the client has not
    // read yet (the shell's last lines); the pty ends when the shell closes it.
    ["TTYReset", false],
    ["TTYVHangup", false],
    ["SendSIGHUP", true],
    ["IgnoreSIGPIPE", false],
    ["KillMode", "mixed"],
    ["UtmpIdentifier", options.tty.replace(/^\/dev\//, "")],
    ["UtmpMode", "user"],
    ["PAMName", "login"],
    ["WorkingDirectory", "-~"],
    ["User", options.user],
    ["Environment", options.env],
    ["ExecStart", [["/bin/sh", argv, false]]],
  ];
  return values.map(([name, value]) => [name, UNIT_PROPERTY_SIGNATURES[name], value]);
}

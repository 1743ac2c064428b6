/**
 * The error of a failed D-Bus call to systemd. On its own, without the D-Bus
 * client (src/systemd/bus.ts): commands test for it without loading dbus-next.
 */
import { TsnspawnError } from "../errors.ts";

/** A D-Bus method call to systemd that returned an error. */
export class SystemdCallError extends TsnspawnError {
  /** The D-Bus error name, e.g. org.freedesktop.systemd1.NoSuchUnit. */
  readonly dbusName: string;

  constructor(member: string, error: unknown, unit?: string) {
    const dbusName = (error as { type?: string })?.type ?? "";
    const text = (error as { text?: string })?.text ??
      (error instanceof Error ? error.message : String(error));
    super("systemd", `systemd ${member}${unit ? ` ${unit}` : ""} failed: ${text}`, {
      cause: error,
    });
    this.dbusName = dbusName;
  }

  /** True when systemd does not know the unit. */
  get isNoSuchUnit(): boolean {
    return this.dbusName === "org.freedesktop.systemd1.NoSuchUnit" ||
      this.dbusName === "org.freedesktop.DBus.Error.UnknownObject";
  }

  /**
   * True when StartTransientUnit found a unit of that name still loaded
   * (running, failed, or not yet garbage-collected).
   */
  get isUnitExists(): boolean {
    return this.dbusName === "org.freedesktop.systemd1.UnitExists";
  }
}

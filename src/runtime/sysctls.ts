/**
 * `--sysctl`: namespaced kernel parameters (container/extra_options.ts
 * admits net.*, fs.mqueue.* and the IPC ones), written by stage two through
 * the container's own /proc right after pivot_root, as runc does: it is then
 * in every namespace of the container (a bridge's eth0 is there already),
 * and /proc/sys is still writable (afterPivot makes it read-only). A
 * /proc/sys/net or /proc/sys/kernel/msg* file shows the namespace of the
 * process that opens it; the host's /proc/sys may be read-only (as in a
 * container host), the container's fresh procfs is not.
 *
 * Man pages: proc(5) (/proc/sys), sysctl(8), namespaces(7).
 */
import { TsnspawnError } from "../errors.ts";

/** Writes every parameter; throws naming the one that failed. */
export function applySysctls(sysctls: Readonly<Record<string, string>>): void {
  for (const [name, value] of Object.entries(sysctls)) {
    const path = `/proc/sys/${name.replaceAll(".", "/")}`;
    try {
      Deno.writeTextFileSync(path, value);
    } catch (error) {
      throw new TsnspawnError(
        "start-failed",
        `sysctl ${name}=${value}: ${error instanceof Error ? error.message : error}`,
        {
          hint:
            "check the name and the value (see sysctl(8)); only namespaced parameters can be set",
        },
      );
    }
  }
}

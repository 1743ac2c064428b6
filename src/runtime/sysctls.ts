/**
 * `--sysctl`: namespaced kernel parameters (container/extra_options.ts
 * admits net.*, fs.mqueue.* and the IPC ones) written through /proc/sys by
 * the shim while its main thread is in the container's namespaces: a
 * /proc/sys/net or /proc/sys/kernel/shm* file shows the namespace of the
 * thread that opens it. Network ones wait for a bridge's eth0 (the shim
 * calls this again inside the container's network namespace then).
 *
 * Man pages: proc(5) (/proc/sys), sysctl(8), namespaces(7).
 */
import { TsnspawnError } from "../errors.ts";

/** Which parameters to write now: IPC ones, network ones, or all. */
export type SysctlPhase = "ipc" | "net" | "all";

/** Writes the parameters of `phase`; throws naming the parameter that failed. */
export function applySysctls(
  sysctls: Readonly<Record<string, string>> | undefined,
  phase: SysctlPhase,
): void {
  for (const [name, value] of Object.entries(sysctls ?? {})) {
    const net = name.startsWith("net.");
    if ((phase === "ipc" && net) || (phase === "net" && !net)) continue;
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

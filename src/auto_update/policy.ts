/**
 * Which containers `tsnspawn auto-update` updates, and how (pure): the
 * label `io.containers.autoupdate` (podman's; a declared container's
 * `AutoUpdate=` sets it) with the policy `registry` (a newer image of the
 * same reference in its registry) or `local` (a newer image of that
 * reference in the local store, e.g. after a `pull` or `build`).
 *
 * Reference: podman-auto-update(1).
 */

/** The label that opts a container into auto-updates (podman's name). */
export const AUTO_UPDATE_LABEL = "io.containers.autoupdate";

/** The update policies. */
export type AutoUpdatePolicy = "registry" | "local";

/** A container's policy from its labels, or null when it has none (or an unknown one). */
export function autoUpdatePolicy(
  labels: Readonly<Record<string, string>> | undefined,
): AutoUpdatePolicy | null {
  const value = labels?.[AUTO_UPDATE_LABEL];
  return value === "registry" || value === "local" ? value : null;
}

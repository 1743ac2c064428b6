/**
 * What a unit's state says about its container (pure): the predicate the
 * commands share. The D-Bus side (reading the state) is bus.ts.
 *
 * Reference: org.freedesktop.systemd1(5), ActiveState.
 */
import type { UnitState } from "./bus.ts";

/** Unit states in which the container counts as running: anything but inactive or failed. */
export function isRunning(state: UnitState | null): boolean {
  return state !== null && state.activeState !== "inactive" && state.activeState !== "failed";
}

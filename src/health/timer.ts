/**
 * The health check timer of a container: a transient systemd timer and
 * service per run, as podman makes them, so no process of tsnspawn stays
 * between checks. The container's unit starts it from an ExecStartPre=
 * (before the container runs: with `--sdnotify=healthy` the unit is only
 * "started" once a check passed, and an ExecStartPost= would wait for
 * that): `systemd-run --on-active=INTERVAL --on-unit-inactive=INTERVAL`
 * of `tsnspawn __healthcheck NAME INVOCATION`, the timer bound to the
 * container's unit (BindsTo=, so it stops with the container; no After=,
 * so it runs while a healthy-notify container is still starting).
 *
 * The interval comes from `<container dir>/healthcheck.interval`, written
 * by `create` when the container has a health check (a declared
 * container's unit is generated before its image is known, so the step is
 * always there and does nothing without the file). The timer's name
 * carries the unit's $INVOCATION_ID: a restart by systemd does not pass
 * through "inactive", so the old run's timer may still exist, and the
 * check it triggers sees another invocation and stops it
 * (src/ops/healthcheck.ts).
 *
 * Man pages: systemd-run(1), systemd.timer(5) (OnActiveSec=,
 * OnUnitInactiveSec=), systemd.unit(5) (BindsTo=), systemd.exec(5)
 * ($INVOCATION_ID).
 */

/** The prefix of health timers and services: `tsnspawn-health@NAME-INVOCATION`. */
export const HEALTH_UNIT_PREFIX = "tsnspawn-health@";

/** The unit name (without suffix) of one run's health timer. */
export function healthUnitBase(container: string, invocation: string): string {
  return `${HEALTH_UNIT_PREFIX}${container}-${invocation}`;
}

/**
 * The shell script of the ExecStartPre= step; its positional parameters:
 * $1 container name, $2 the interval file, $3 the container's unit, then
 * the runner's argv (to which the invocation is appended).
 */
export const HEALTH_TIMER_SCRIPT = [
  'iv=$(cat "$2" 2>/dev/null) && [ -n "$iv" ] || exit 0',
  "name=$1 unit=$3 inv=${INVOCATION_ID:-none}",
  "shift 3",
  'exec systemd-run --quiet --no-block --collect --unit="tsnspawn-health@$name-$inv"' +
  ' --description="tsnspawn health check of $name"' +
  ' --on-active="$iv" --on-unit-inactive="$iv" --timer-property=AccuracySec=1ms' +
  ' --timer-property=BindsTo="$unit" --property=Type=oneshot -- "$@" "$inv"',
].join("\n");

/** The ExecStartPre= argv that starts a container's health timer (when it has one). */
export function planHealthTimerStep(
  name: string,
  intervalFile: string,
  unit: string,
  runner: readonly string[],
): string[] {
  return [
    "/bin/sh",
    "-c",
    HEALTH_TIMER_SCRIPT,
    "tsnspawn-health",
    name,
    intervalFile,
    unit,
    ...runner,
  ];
}

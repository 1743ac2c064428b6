/**
 * Start-path trace marks, for bench/profile_start.sh: every tsnspawn process
 * on a container's start path (the CLI, the shim, stage two, stop, cleanup)
 * calls `trace("event")` at the edges of its phases, and when
 * `$TSNSPAWN_TRACE` names a file each mark appends one line to it:
 *
 *     EPOCH_MS PID MODE EVENT
 *
 * (wall-clock milliseconds with microseconds, the PID in the process's own
 * PID namespace, the mode of mod.ts: `cli`, `__shim`, `__stage2`, …).
 * Without the variable a mark costs one comparison. The file is opened once,
 * append-only and close-on-exec: stage two keeps writing after pivot_root,
 * and no descriptor of it reaches a container (stage two also marks every
 * descriptor above 2 close-on-exec before its execve).
 *
 * The profiler runs the very program users run; nothing else changes when
 * tracing is on.
 */

let file: Deno.FsFile | null | undefined;
let mode = "cli";

/** Names this process's mode in its marks (mod.ts sets it for the internal modes). */
export function traceMode(name: string): void {
  mode = name;
}

/** Whether marks are written ($TSNSPAWN_TRACE is set and could be opened). */
export function tracing(): boolean {
  if (file === undefined) {
    const path = Deno.env.get("TSNSPAWN_TRACE");
    try {
      file = path ? Deno.openSync(path, { append: true, create: true }) : null;
    } catch {
      file = null;
    }
  }
  return file !== null;
}

/**
 * Appends a mark for `event`, at `at` (epoch ms; default now). Never throws:
 * a failed write only loses the mark.
 */
export function trace(event: string, at = performance.timeOrigin + performance.now()): void {
  if (!tracing()) return;
  try {
    file!.writeSync(new TextEncoder().encode(`${at.toFixed(3)} ${Deno.pid} ${mode} ${event}\n`));
  } catch { /* a lost mark */ }
}

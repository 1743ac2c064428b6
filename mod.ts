/**
 * tsnspawn — containers as transient systemd units, isolated through libc FFI.
 *
 * This is the single entry point of the binary. Internal modes, run by
 * systemd or by tsnspawn itself, come first and load only what they need
 * (no dbus-next, no CLI): every Deno start costs time on the container's
 * start path.
 *
 *   __shim NAME     ExecStart= of a container unit: namespaces, stage two, sd_notify
 *   __stage2 NAME   PID 1 of the new namespaces: root file system, privileges, execve
 *   __stop NAME     ExecStop=: the image's stop signal, then wait up to the stop timeout
 *   __cleanup NAME  ExecStopPost=: record the exit, remove an --rm container
 *   __exec          `tsnspawn exec` inside the container's namespaces
 *   __terminal NAME the terminal holder of a -t container (its own unit)
 *   __prepare NAME  ExecStartPre= of a declared container: (re)create it from its .container file
 *   __generate DIR… the systemd generator (units/tsnspawn-generator): declared files → units
 *   __healthcheck NAME INVOCATION  the health timer's service: one health check (src/health/timer.ts)
 *
 * Everything else is the command line interface (src/cli/main.ts).
 *
 * Trace marks (src/trace.ts, for bench/profile_start.sh): `boot` (the Deno
 * runtime started), `entry` (this module runs), `loaded` (the mode's modules
 * are imported), `exit`.
 */
import { trace, traceMode } from "./src/trace.ts";

/** Marks the end of a mode's module loading (a trace mark) and passes the module on. */
function loaded<T>(module: T): T {
  trace("loaded");
  return module;
}

async function dispatch(args: string[]): Promise<number> {
  const [mode, ...rest] = args;
  if (mode?.startsWith("__")) traceMode(mode);
  trace("boot", performance.timeOrigin);
  trace("entry");
  switch (mode) {
    case "__shim":
      return await loaded(await import("./src/runtime/shim.ts")).runShim(rest[0]);
    case "__stage2":
      return await loaded(await import("./src/runtime/stage2.ts")).runStage2(rest[0]);
    case "__stop":
      return await loaded(await import("./src/runtime/stop.ts")).runStop(rest[0]);
    case "__cleanup":
      return await loaded(await import("./src/runtime/cleanup.ts")).runCleanup(rest[0]);
    case "__prepare":
      return await loaded(await import("./src/runtime/prepare.ts")).runPrepare(rest[0]);
    case "__generate":
      return await loaded(await import("./src/declared/generator.ts")).runGenerator(rest);
    case "__healthcheck":
      return await loaded(await import("./src/commands/healthcheck.ts")).runTimerCheck(rest);
    case "__terminal":
      return await loaded(await import("./src/runtime/terminal_holder.ts"))
        .runTerminalHolder(rest[0]);
    case "__exec":
      return await loaded(await import("./src/runtime/exec_stage.ts")).runExecStage(rest);
    default:
      return await loaded(await import("./src/cli/main.ts")).main(args);
  }
}

if (import.meta.main) {
  const status = await dispatch(Deno.args);
  trace(`exit ${status}`);
  Deno.exit(status);
}

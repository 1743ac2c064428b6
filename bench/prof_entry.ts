/**
 * bench/prof_entry.ts — a profiling stand-in for mod.ts (used by
 * bench/profile_start.sh; changes nothing in src/).
 *
 * Same dispatch as mod.ts (the internal modes are read from mod.ts's own
 * dispatch table), but every tsnspawn process (CLI, shim, stage two, stop,
 * cleanup) appends timestamped events to $TSNSPAWN_PROF_LOG (default
 * /bench/prof.log):
 *   boot      performance.timeOrigin (the Deno runtime started)
 *   entry     this module's body runs (runtime bootstrap done; no static
 *             imports here, so nothing else was loaded yet)
 *   loaded    the mode's module graph is imported (the CLI's: main.ts's
 *             static graph; commands and the D-Bus client load later)
 *   systemd()/dbus-loaded             the CLI first asks for systemd / the
 *             D-Bus client (dbus-next) is loaded
 *   spawn/spawn done, output/output done   Deno.Command calls (stage two, journalctl)
 *   <Systemd method>/<method> done    D-Bus calls of the CLI ("dbus-connect"
 *             for Systemd.connect)
 *   unit-inactive/unit-inactive done  waiting for the unit's end
 *   follower-finish/done              the attached run's last journal read
 *   exit      Deno.exit (the shim's exit after READY=1, ...)
 * The CLI re-executes *this* entry for the internal modes because
 * TSNSPAWN_ENTRY points here (src/self_exec.ts), so the units' ExecStart and
 * ExecStopPost run it too.
 *
 * @module
 */

const LOG = Deno.env.get("TSNSPAWN_PROF_LOG") ?? "/bench/prof.log";
const mode = Deno.args[0]?.startsWith("__") ? Deno.args[0] : "cli";
const t = () => performance.timeOrigin + performance.now();

function log(event: string, at = t()): void {
  try {
    Deno.writeTextFileSync(LOG, `${at.toFixed(3)} ${Deno.pid} ${mode} ${event}\n`, {
      append: true,
    });
  } catch { /* e.g. after pivot_root: /bench is gone */ }
}

log("boot", performance.timeOrigin);
log("entry");

// deno-lint-ignore no-explicit-any
function wrap(obj: any, name: string, label = name): void {
  const orig = obj[name];
  if (typeof orig !== "function") return;
  // deno-lint-ignore no-explicit-any
  obj[name] = function (this: unknown, ...args: any[]) {
    log(label);
    const r = orig.apply(this, args);
    if (r instanceof Promise) {
      return r.then((v) => (log(`${label} done`), v), (e) => {
        log(`${label} failed`);
        throw e;
      });
    }
    return r;
  };
}

const exit = Deno.exit;
Object.defineProperty(Deno, "exit", {
  value: (code?: number) => {
    log(`exit ${code ?? 0}`);
    exit(code);
  },
  configurable: true,
  writable: true,
});
// Deno.Command is a lazy getter (its extension loads on first use, a few
// milliseconds): wrap its methods on that first use, not here.
const commandGetter = Object.getOwnPropertyDescriptor(Deno, "Command")!.get!;
Object.defineProperty(Deno, "Command", {
  configurable: true,
  enumerable: true,
  get() {
    const command = commandGetter.call(Deno);
    Object.defineProperty(Deno, "Command", {
      value: command,
      configurable: true,
      enumerable: true,
    });
    const proto = command.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
    for (const m of ["spawn", "output", "outputSync"]) {
      const orig = proto[m];
      proto[m] = function (this: unknown, ...a: unknown[]) {
        log(m);
        const r = orig.apply(this, a);
        if (r instanceof Promise) return r.then((v) => (log(`${m} done`), v));
        log(`${m} done`);
        return r;
      };
    }
    return command;
  },
});

const repo = new URL("../", import.meta.url);

/**
 * The internal modes of mod.ts, read from its dispatch table so this file
 * follows it: `case "__mode": return await (await import("./x.ts")).fn(rest[0]);`
 */
function internalModes(): Map<string, { module: string; fn: string; all: boolean }> {
  const text = Deno.readTextFileSync(new URL("mod.ts", repo));
  const modes = new Map<string, { module: string; fn: string; all: boolean }>();
  const re =
    /case "(__\w+)":\s*return await \(await import\("([^"]+)"\)\)\.(\w+)\((rest(?:\[0\])?)\)/g;
  for (const m of text.matchAll(re)) {
    modes.set(m[1], { module: new URL(m[2], repo).href, fn: m[3], all: m[4] === "rest" });
  }
  return modes;
}

async function dispatch(args: string[]): Promise<number> {
  const [m, ...rest] = args;
  if (m?.startsWith("__")) {
    const mode = internalModes().get(m);
    if (!mode) {
      console.error(`prof_entry: mode ${m} not found in mod.ts's dispatch table`);
      return 2;
    }
    const mod = await import(mode.module);
    log("loaded");
    return await mod[mode.fn](mode.all ? rest : rest[0]);
  }
  // The CLI's own graph only; the D-Bus client is loaded when the CLI first
  // asks for it (CommandContext.systemd), and wrapped then.
  const [main, context, journal] = await Promise.all([
    import(new URL("src/cli/main.ts", repo).href),
    import(new URL("src/commands/context.ts", repo).href),
    import(new URL("src/systemd/journal.ts", repo).href),
  ]);
  log("loaded");
  wrap(journal.RunOutputFollower.prototype, "finish", "follower-finish");
  const firstUse = context.CommandContext.prototype.systemd;
  let systemdLoaded: Promise<unknown> | null = null;
  context.CommandContext.prototype.systemd = function (this: unknown) {
    systemdLoaded ??= (log("systemd()"), import(new URL("src/systemd/bus.ts", repo).href)).then(
      (systemd) => {
        log("dbus-loaded");
        wrap(systemd.Systemd, "connect", "dbus-connect");
        for (
          const name of [
            "startTransientUnit",
            "unitState",
            "resetFailedUnit",
            "stopUnit",
          ]
        ) wrap(systemd.Systemd.prototype, name);
        wrap(systemd.UnitWatch.prototype, "untilInactive", "unit-inactive");
      },
    );
    return systemdLoaded.then(() => firstUse.call(this));
  };
  const code = await main.main(args);
  log("main done");
  return code;
}

Deno.exit(await dispatch(Deno.args));

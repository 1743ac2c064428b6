/**
 * How tsnspawn re-executes itself for its internal modes (`__shim`,
 * `__stage2`, `__cleanup`, `__exec`).
 *
 * - The bundle (dist/bundle/mod.js, tools/bundle.ts: what ./setup installs
 *   and the tests run): `deno run -A --quiet --no-lock --no-config
 *   --unstable-lazy-dynamic-imports <dist/bundle/mod.js> __mode ...`, the
 *   entry being the main module of this process. Everything is bundled, so
 *   no mode needs the config.
 * - The sources (`deno run -A mod.ts`, and tests that import modules): the
 *   same with mod.ts found next to this module's directory (import.meta.url)
 *   and `--config <deno.json>`, passed explicitly: systemd starts units with
 *   cwd `/`, where deno would not find the import map. The modes on a
 *   container's start and stop path (`NPM_FREE_MODES`) import no npm package
 *   and no bare specifier (src/path_util.ts; src/runtime/graph_test.ts checks
 *   it), so they run with `--no-config --no-lock`: reading the config costs
 *   each of those Deno starts a few milliseconds, and a deno.json in the
 *   caller's cwd (`exec`) cannot leak in. The other modes (`__prepare`,
 *   `__healthcheck`, the CLI) keep the lockfile beside deno.json: without it
 *   Deno resolves npm version ranges again, from the registry when its cached
 *   metadata is not enough (a health check's D-Bus client hung on that in a
 *   host without network).
 * - Compiled with `deno compile`, `Deno.execPath()` is the tsnspawn binary and
 *   the command is `<binary> __mode ...`. Compiled modules live under a
 *   virtual `.../deno-compile-<name>/` directory, which is how we detect it.
 *
 * `TSNSPAWN_ENTRY` (an absolute path or file URL of an entry module)
 * overrides the entry; tests use it to run a scratch entry.
 */
import { dirname, fromFileUrl, join } from "./path_util.ts";

/**
 * Internal modes whose module graphs hold no npm package or import-map name
 * (shim, stage two, stop, cleanup, exec stage): they need no deno.json.
 */
export const NPM_FREE_MODES: ReadonlySet<string> = new Set([
  "__shim",
  "__stage2",
  "__stop",
  "__cleanup",
  "__exec",
  "__terminal",
]);

/** Whether this code runs inside a `deno compile` binary. */
export function isCompiled(): boolean {
  return import.meta.url.includes("/deno-compile-");
}

/** Whether this code runs from the bundle (tools/bundle.ts): its modules are .js chunks. */
export function isBundled(): boolean {
  return import.meta.url.endsWith(".js");
}

function entryModule(): string {
  const override = Deno.env.get("TSNSPAWN_ENTRY");
  if (override) return override.startsWith("file:") ? fromFileUrl(override) : override;
  // The bundle's entry is the process's main module (dist/bundle/mod.js).
  if (isBundled()) return fromFileUrl(Deno.mainModule);
  return fromFileUrl(new URL("../mod.ts", import.meta.url));
}

/**
 * The argv (program first) that runs this tsnspawn in internal mode `mode`
 * with `args`.
 */
export function selfCommand(mode: string, args: readonly string[] = []): string[] {
  if (isCompiled()) return [Deno.execPath(), mode, ...args];
  const entry = entryModule();
  const config = join(dirname(fromFileUrl(new URL("../mod.ts", import.meta.url))), "deno.json");
  // A TSNSPAWN_ENTRY override may import anything: it keeps the config.
  const npmFree = isBundled() || (NPM_FREE_MODES.has(mode) && !Deno.env.get("TSNSPAWN_ENTRY"));
  const configArgs = npmFree
    ? ["--no-config", "--no-lock"]
    : existsSync(config)
    ? ["--config", config]
    : ["--no-lock"];
  return [
    Deno.execPath(),
    "run",
    "-A",
    "--quiet",
    // Without it Deno loads every module behind an import("…") of mod.ts at
    // start (the whole CLI, for the shim): ~6 ms of each runtime process.
    "--unstable-lazy-dynamic-imports",
    ...configArgs,
    entry,
    mode,
    ...args,
  ];
}

function existsSync(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * tools/bundle.ts — builds the program users run: `dist/bundle/mod.js` and
 * its chunks, ES modules bundled from mod.ts by `deno bundle` (esbuild) with
 * code splitting, so each process loads only its own part.
 *
 *   deno run -A tools/bundle.ts [--if-stale] [--out DIR]
 *
 * Why: a Deno start loads modules from the sources through the npm resolver
 * and the TypeScript cache, and dbus-next is CommonJS, which boots Deno's
 * Node compatibility layer (`node:module`'s createRequire) on every `run`.
 * The bundle is plain ES modules: npm packages inlined, nothing to resolve
 * or transpile, and (after the rewrite below) no `node:module` anywhere on
 * the start path. bench/profile_start.sh measures the difference.
 *
 * The one rewrite: esbuild gives every chunk one shared `__require`, made
 * with `createRequire` from `node:module`, for the `require("node:…")`
 * calls of CommonJS code — and since that helper sits in the chunk of
 * helpers every chunk imports, every process (the shim and stage two too)
 * would load `node:module`. So each chunk's `__require("node:x")` becomes a
 * static `import __node_x from "node:x"` (the module object `require`
 * returns), and the shared helper throws. A chunk that requires anything
 * else (dbus-next's full MessageBus, used only for D-Bus addresses that are
 * not a unix socket path: it pulls optional x11/usocket) gets a
 * `createRequire` of its own. The build checks the result: no chunk reachable
 * from the entry without a dynamic import loads `node:module`, and the
 * internal modes' chunks load no `node:` module at all.
 *
 * `--if-stale` builds only when the sources changed since the last build
 * (a hash of every input in `dist/bundle/.sources`): tests and benchmarks
 * call it before they run the bundle, `./setup` always builds. The output
 * replaces `dist/bundle` by renames, so a concurrent build or a running
 * tsnspawn never sees half a bundle. `deno compile` takes `dist/bundle/mod.js`
 * (`deno task compile`).
 *
 * @module
 */

const REPO = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const DENO = Deno.execPath();

/** The bundle's entry. */
export const BUNDLE_ENTRY = `${REPO}/dist/bundle/mod.js`;

/**
 * `deno run` flags for the bundle, as ./setup's /usr/local/bin/tsnspawn and
 * src/self_exec.ts use them: nothing to configure or lock (all is bundled),
 * and chunks behind `import()` loaded only when reached.
 */
export const BUNDLE_RUN_FLAGS = [
  "-A",
  "--quiet",
  "--no-prompt",
  "--no-lock",
  "--no-config",
  "--unstable-lazy-dynamic-imports",
];

/** Inputs of the bundle: what a change to must rebuild it. */
function sourceFiles(): string[] {
  const files = ["mod.ts", "deno.json", "deno.lock"];
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(`${REPO}/${dir}`)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) walk(path);
      else if (entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) files.push(path);
    }
  };
  walk("src");
  walk("ffi");
  return files.sort();
}

/** sha256 of every input's path and content. */
async function sourceHash(): Promise<string> {
  const parts: Uint8Array[] = [];
  const encoder = new TextEncoder();
  for (const file of sourceFiles()) {
    parts.push(
      encoder.encode(`${file}\0`),
      Deno.readFileSync(`${REPO}/${file}`),
      encoder.encode("\0"),
    );
  }
  const digest = await crypto.subtle.digest(
    "SHA-256",
    await new Blob(parts as BlobPart[]).arrayBuffer(),
  );
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Node built-ins a chunk's CommonJS code may require through a static import. */
const NODE_BUILTIN = /^node:[a-z_]+$/;

/** The import list line of the esbuild helper chunk in `text`, and the names it imports. */
const HELPER_IMPORT = /^import \{([^}]*)\} from "(\.\/chunk-[A-Z0-9]+\.js)";$/gm;

/**
 * Rewrites the chunks in `dir` as the module comment says. Returns the
 * helper chunk's file name.
 */
function rewriteRequires(dir: string): void {
  const files = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".js"));
  const helperDefinition =
    'import { createRequire as __deno_internal_createRequire } from "node:module";\n' +
    "var __require = __deno_internal_createRequire(import.meta.url);\n";
  const helpers = files.filter((f) =>
    Deno.readTextFileSync(`${dir}/${f}`).includes(helperDefinition)
  );
  if (helpers.length > 1) throw new Error(`bundle: __require defined in ${helpers.join(", ")}`);
  for (const helper of helpers) {
    const text = Deno.readTextFileSync(`${dir}/${helper}`);
    Deno.writeTextFileSync(
      `${dir}/${helper}`,
      text.replace(
        helperDefinition,
        "var __require = (id) => {\n" +
          '  throw new Error(`require("${id}"): not in this bundle (tools/bundle.ts)`);\n' +
          "};\n",
      ),
    );
  }
  for (const file of files) {
    let text = Deno.readTextFileSync(`${dir}/${file}`);
    const required = [...new Set([...text.matchAll(/__require\("([^"]+)"\)/g)].map((m) => m[1]))];
    if (required.length === 0) continue;
    // Take __require out of the helper import: this chunk gets its own.
    text = text.replace(HELPER_IMPORT, (_line, names: string, from: string) => {
      const kept = names.split(",").map((n) => n.trim()).filter((n) => n && n !== "__require");
      return kept.length ? `import {\n  ${kept.join(",\n  ")}\n} from "${from}";` : "";
    });
    if (required.every((id) => NODE_BUILTIN.test(id))) {
      const binding = (id: string) => `__${id.replace(":", "_")}`;
      for (const id of required) text = text.replaceAll(`__require("${id}")`, binding(id));
      text = required.map((id) => `import ${binding(id)} from "${id}";\n`).join("") + text;
    } else {
      text = 'import { createRequire as __createRequire } from "node:module";\n' +
        "var __require = __createRequire(import.meta.url);\n" + text;
    }
    Deno.writeTextFileSync(`${dir}/${file}`, text);
  }
}

/** The chunks `file` imports statically (relative ones) and its `node:` imports. */
function staticImports(dir: string, file: string): { chunks: string[]; node: string[] } {
  const text = Deno.readTextFileSync(`${dir}/${file}`);
  const chunks: string[] = [];
  const node: string[] = [];
  for (const m of text.matchAll(/^import\s*(?:[^"';]*?from\s*)?"([^"]+)";?$/gm)) {
    if (m[1].startsWith("./")) chunks.push(m[1].slice(2));
    else if (m[1].startsWith("node:")) node.push(m[1]);
  }
  return { chunks, node };
}

/** Every chunk `entry` loads before it runs, and the `node:` modules they import. */
export function staticClosure(dir: string, entry: string): { files: string[]; node: string[] } {
  const files = new Set<string>();
  const node = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    const imports = staticImports(dir, file);
    imports.node.forEach((n) => node.add(n));
    imports.chunks.forEach(visit);
  };
  visit(entry);
  return { files: [...files], node: [...node].sort() };
}

/** The chunk mod.js loads for an internal mode (`case "__shim": … import("./shim-X.js")`). */
export function modeChunk(dir: string, mode: string): string {
  const text = Deno.readTextFileSync(`${dir}/mod.js`);
  const m = text.match(new RegExp(`case "${mode}":[^]*?import\\("\\./([^"]+)"\\)`));
  if (!m) throw new Error(`bundle: no chunk for ${mode} in mod.js`);
  return m[1];
}

/** The internal modes on a container's start and stop path: they must load no `node:` module. */
const RUNTIME_MODES = ["__shim", "__stage2", "__stop", "__cleanup", "__exec"];

/** Checks the rewritten bundle; throws what is wrong. */
function verify(dir: string): void {
  const problems: string[] = [];
  // esbuild turns `import.meta.main` into `false` in every module but the
  // entry: a module that runs itself (a worker's entry) must test otherwise.
  for (const file of sourceFiles().filter((f) => f.endsWith(".ts") && f !== "mod.ts")) {
    if (Deno.readTextFileSync(`${REPO}/${file}`).includes("if (import.meta.main)")) {
      problems.push(`${file}: import.meta.main is false once bundled`);
    }
  }
  for (const file of [...Deno.readDirSync(dir)].map((e) => e.name)) {
    if (!file.endsWith(".js")) continue;
    const text = Deno.readTextFileSync(`${dir}/${file}`);
    if (text.includes("__deno_internal_createRequire(")) {
      problems.push(`${file}: shared createRequire`);
    }
  }
  const entry = staticClosure(dir, "mod.js");
  if (entry.node.length) problems.push(`mod.js loads ${entry.node.join(", ")} at start`);
  for (const mode of RUNTIME_MODES) {
    const closure = staticClosure(dir, modeChunk(dir, mode));
    if (closure.node.length) problems.push(`${mode} loads ${closure.node.join(", ")}`);
  }
  if (problems.length) throw new Error(`bundle: ${problems.join("; ")}`);
}

/** Builds the bundle into a fresh directory next to `out` and puts it in place. */
async function build(out: string, hash: string): Promise<void> {
  const parent = out.replace(/\/[^/]+$/, "");
  Deno.mkdirSync(parent, { recursive: true });
  const tmp = Deno.makeTempDirSync({ dir: parent, prefix: ".bundle-new-" });
  try {
    const result = await new Deno.Command(DENO, {
      args: [
        "bundle",
        "--quiet",
        "--config",
        `${REPO}/deno.json`,
        "--code-splitting",
        "--format",
        "esm",
        // dbus-next's optional native and X11 helpers: never loaded (see rewriteRequires)
        "--external",
        "x11",
        "--external",
        "debug",
        "--outdir",
        tmp,
        `${REPO}/mod.ts`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!result.success) {
      throw new Error(`deno bundle failed:\n${new TextDecoder().decode(result.stderr)}`);
    }
    rewriteRequires(tmp);
    verify(tmp);
    Deno.writeTextFileSync(`${tmp}/.sources`, hash + "\n");
    Deno.chmodSync(tmp, 0o755);
    const old = `${parent}/.bundle-old-${crypto.randomUUID()}`;
    try {
      Deno.renameSync(out, old);
    } catch { /* none yet */ }
    Deno.renameSync(tmp, out);
    try {
      Deno.removeSync(old, { recursive: true });
    } catch { /* there was none */ }
  } catch (error) {
    Deno.removeSync(tmp, { recursive: true });
    throw error;
  }
}

/** Builds the bundle unless it is up to date (what tests and benchmarks call first). */
export async function ensureBundle(out = `${REPO}/dist/bundle`): Promise<void> {
  await main(["--if-stale", "--out", out]);
}

async function main(args: string[]): Promise<void> {
  const outIndex = args.indexOf("--out");
  const out = outIndex >= 0 ? args[outIndex + 1] : `${REPO}/dist/bundle`;
  const hash = await sourceHash();
  if (args.includes("--if-stale")) {
    try {
      if (Deno.readTextFileSync(`${out}/.sources`).trim() === hash) return;
    } catch { /* not built yet */ }
  }
  await build(out, hash);
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (error) {
    console.error(`tools/bundle.ts: ${error instanceof Error ? error.message : error}`);
    Deno.exit(1);
  }
}

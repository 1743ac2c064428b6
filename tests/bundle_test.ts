/**
 * The bundle users run (tools/bundle.ts, dist/bundle/): each process loads
 * only its part, and nothing on a container's start path boots Deno's Node
 * compatibility layer. No root needed.
 */
import { assert, assertEquals } from "@std/assert";
import { BUNDLE_ENTRY, ensureBundle, modeChunk, staticClosure } from "../tools/bundle.ts";
import { dirname } from "@std/path";

const DIR = dirname(BUNDLE_ENTRY);

Deno.test("bundle: the runtime modes load no node: module, the CLI no node:module", async () => {
  await ensureBundle();
  assertEquals(staticClosure(DIR, "mod.js").node, [], "mod.js itself");
  for (const mode of ["__shim", "__stage2", "__stop", "__cleanup", "__exec"]) {
    const closure = staticClosure(DIR, modeChunk(DIR, mode));
    assertEquals(closure.node, [], `${mode} loads node: modules`);
  }
  // The CLI: its command chunks may load node:buffer (dbus-next marshals
  // with it), never node:module (createRequire: the CommonJS layer).
  for (const file of Deno.readDirSync(DIR)) {
    if (!/^(main|run|start|bus)-[A-Z0-9]+\.js$/.test(file.name)) continue;
    const { node } = staticClosure(DIR, file.name);
    assert(!node.includes("node:module"), `${file.name} loads node:module`);
  }
});

Deno.test("bundle: runs, and is rebuilt only when a source changed", async () => {
  await ensureBundle();
  const before = Deno.statSync(BUNDLE_ENTRY).mtime;
  await ensureBundle();
  assertEquals(Deno.statSync(BUNDLE_ENTRY).mtime, before, "an up-to-date bundle was rebuilt");
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      "--no-config",
      "--unstable-lazy-dynamic-imports",
      BUNDLE_ENTRY,
      "version",
    ],
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  assert(new TextDecoder().decode(out.stdout).startsWith("tsnspawn "));
});

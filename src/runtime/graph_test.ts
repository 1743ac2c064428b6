/**
 * The module graphs of the processes on a container's start and stop path
 * (src/self_exec.ts NPM_FREE_MODES) must hold only local files: no npm
 * package (each costs every container start tens of milliseconds) and no
 * import-map name (those modes run with `--no-config`).
 */
import { assertEquals } from "@std/assert";

const RUNTIME_MODULES = [
  "shim.ts",
  "stage2.ts",
  "stop.ts",
  "cleanup.ts",
  "exec_stage.ts",
  "terminal_holder.ts",
];

for (const file of RUNTIME_MODULES) {
  Deno.test(`runtime graph: ${file} loads only local modules, without a config`, async () => {
    const url = new URL(file, import.meta.url);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--no-config", "--no-lock", url.href],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    type Resolved = { specifier?: string; error?: string };
    const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      modules: {
        specifier: string;
        error?: string;
        dependencies?: { specifier: string; code?: Resolved; type?: Resolved }[];
      }[];
    };
    const foreign: string[] = [];
    for (const m of info.modules) {
      if (!m.specifier.startsWith("file:") || m.error) foreign.push(m.error ?? m.specifier);
      for (const dep of m.dependencies ?? []) {
        const error = dep.code?.error ?? dep.type?.error;
        if (error) foreign.push(`${m.specifier}: ${error}`);
      }
    }
    assertEquals(foreign, []);
  });
}

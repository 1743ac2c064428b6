/**
 * The generator's file handling (src/systemd/generator.ts) without systemd:
 * units for valid declarations, links for enabled ones, broken files
 * skipped with their problems. The declarations dir comes from
 * TSNSPAWN_CONFIG_DIR.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { join } from "@std/path";
import { generateUnits } from "./generator.ts";

Deno.test("generateUnits: valid files become units, enabled ones get their [Install] links, broken ones are skipped", () => {
  const dir = Deno.makeTempDirSync({ dir: "/dev/shm", prefix: "tsnspawn-generator-test-" });
  const previous = Deno.env.get("TSNSPAWN_CONFIG_DIR");
  try {
    const etc = join(dir, "etc");
    const out = join(dir, "out");
    Deno.mkdirSync(join(etc, "enabled"), { recursive: true });
    Deno.mkdirSync(out);
    Deno.writeTextFileSync(
      join(etc, "web.container"),
      "[Container]\nImage=busybox\n[Install]\nWantedBy=default.target\n",
    );
    Deno.writeTextFileSync(join(etc, "idle.container"), "[Container]\nImage=busybox\n");
    Deno.writeTextFileSync(join(etc, "broken.container"), "[Container]\nImage=busybox\nNope=1\n");
    Deno.writeTextFileSync(join(etc, "notes.txt"), "not a declaration\n");
    Deno.symlinkSync("../web.container", join(etc, "enabled", "web.container"));
    Deno.env.set("TSNSPAWN_CONFIG_DIR", etc);

    const result = generateUnits(out);
    assertEquals(result.units.sort(), ["tsnspawn-idle.service", "tsnspawn-web.service"]);
    assertEquals(result.problems.length, 1);
    assertStringIncludes(
      result.problems[0],
      "broken.container:3: unknown key Nope= in [Container]",
    );
    assertStringIncludes(Deno.readTextFileSync(join(out, "tsnspawn-web.service")), "\n[Service]\n");
    assertEquals(
      Deno.readLinkSync(join(out, "default.target.wants", "tsnspawn-web.service")),
      "../tsnspawn-web.service",
    );
    assertEquals([...Deno.readDirSync(out)].map((e) => e.name).sort(), [
      "default.target.wants",
      "tsnspawn-idle.service",
      "tsnspawn-web.service",
    ]);
    // Running again (daemon-reload into a fresh dir, or the same) is fine.
    assert(generateUnits(out).units.length === 2);
  } finally {
    if (previous === undefined) Deno.env.delete("TSNSPAWN_CONFIG_DIR");
    else Deno.env.set("TSNSPAWN_CONFIG_DIR", previous);
    Deno.removeSync(dir, { recursive: true });
  }
});

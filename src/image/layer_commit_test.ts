/**
 * What a committed writable layer leaves out (no root needed): the init
 * layer's files always, mount-point directories only while they are empty
 * placeholders.
 */
import { assertEquals } from "@std/assert";
import { join } from "@std/path";
import { initLayerSkip } from "./layer_commit.ts";

Deno.test("the init layer and empty mount points are not committed; real changes are", () => {
  const base = Deno.makeTempDirSync({ prefix: "layer-commit-" });
  try {
    const lower = join(base, "lower");
    const upper = join(base, "upper");
    for (const dir of ["etc", "proc", "dev"]) Deno.mkdirSync(join(lower, dir), { recursive: true });
    Deno.chmodSync(join(lower, "proc"), 0o555);
    Deno.writeTextFileSync(join(lower, "etc/hosts"), "127.0.0.1 localhost\n");
    // The upper dir after a RUN: placeholders, a copy-up of /etc/hosts, a chmod of /dev.
    for (const dir of ["etc", "proc", "sys", "dev", "srv"]) {
      Deno.mkdirSync(join(upper, dir), { recursive: true });
    }
    Deno.chmodSync(join(upper, "proc"), 0o555);
    Deno.chmodSync(join(upper, "dev"), 0o700);
    for (const file of ["etc/hosts", "etc/hostname", "etc/resolv.conf"]) {
      Deno.writeTextFileSync(join(upper, file), "");
    }
    const skip = initLayerSkip([lower]);
    const st = (rel: string) => Deno.lstatSync(join(upper, rel));
    const skipped = (rel: string) => skip(rel, join(upper, rel), st(rel));
    assertEquals(skipped("etc/hosts"), true);
    assertEquals(skipped("etc/resolv.conf"), true);
    assertEquals(skipped("etc"), true, "/etc holding only init-layer files");
    assertEquals(skipped("proc"), true, "an empty /proc like the image's");
    assertEquals(skipped("sys"), true, "an empty /sys the image lacks");
    assertEquals(skipped("dev"), false, "a chmod of /dev is a change");
    assertEquals(skipped("srv"), false, "other empty directories are changes");
    Deno.writeTextFileSync(join(upper, "etc/app.conf"), "x\n");
    assertEquals(skipped("etc"), false, "/etc with a real file in it");
    assertEquals(skipped("etc/hosts"), true);
  } finally {
    Deno.removeSync(base, { recursive: true });
  }
});

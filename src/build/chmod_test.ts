import { assertEquals, assertThrows } from "@std/assert";
import { TsnspawnError } from "../errors.ts";
import { parseChmod } from "./chmod.ts";

const mode = (spec: string, current: number, isDirectory = false) =>
  parseChmod(spec)(current, isDirectory);

Deno.test("octal modes replace the mode", () => {
  assertEquals(mode("755", 0o600), 0o755);
  assertEquals(mode("0644", 0o777, true), 0o644);
  assertEquals(mode("4755", 0), 0o4755);
});

Deno.test("symbolic modes change it like chmod(1) with a zero umask", () => {
  assertEquals(mode("+x", 0o644), 0o755);
  assertEquals(mode("u=rwX,go=rX", 0o600), 0o644);
  assertEquals(mode("u=rwX,go=rX", 0o700), 0o755);
  assertEquals(mode("u=rwX,go=rX", 0o700, true), 0o755);
  assertEquals(mode("u=rwX,go=rX", 0o600, true), 0o755);
  assertEquals(mode("g=u", 0o640), 0o660);
  assertEquals(mode("a-w", 0o666), 0o444);
  assertEquals(mode("o-rwx,g+w", 0o755), 0o770);
  assertEquals(mode("u+s", 0o755), 0o4755);
  assertEquals(mode("+t", 0o777, true), 0o1777);
  assertEquals(mode("go=", 0o777), 0o700);
  assertEquals(mode("u+r-w", 0o200), 0o400);
});

Deno.test("bad --chmod values", () => {
  for (const spec of ["", "999", "75555", "u+q", "x", "=,", "+rwxu", "u", "rw"]) {
    assertThrows(() => parseChmod(spec), TsnspawnError, "invalid --chmod", spec);
  }
});

import { assertEquals } from "@std/assert";
import * as std from "@std/path";
import { basename, dirname, fromFileUrl, join, normalize, relative } from "./path_util.ts";

const samples = [
  "",
  ".",
  "..",
  "/",
  "//",
  "/a",
  "/a/",
  "/a//b",
  "a",
  "a/",
  "a/b/c",
  "/a/b/../c",
  "/../a",
  "../a/./b",
  "/var/lib/tsnspawn/containers/x",
  "a/../..",
  "/a/b/",
  "//a//b//",
  "./a",
];

Deno.test("path_util: join, dirname, basename, normalize agree with @std/path", () => {
  for (const p of samples) {
    assertEquals(normalize(p), std.normalize(p), `normalize(${JSON.stringify(p)})`);
    assertEquals(dirname(p), std.dirname(p), `dirname(${JSON.stringify(p)})`);
    if (p !== "") assertEquals(basename(p), std.basename(p), `basename(${JSON.stringify(p)})`);
    for (const q of samples) {
      assertEquals(join(p, q), std.join(p, q), `join(${JSON.stringify(p)}, ${JSON.stringify(q)})`);
    }
  }
  assertEquals(join("/a", "b", "c.json"), std.join("/a", "b", "c.json"));
  assertEquals(join(), std.join());
});

Deno.test("path_util: relative agrees with @std/path for absolute paths", () => {
  const abs = samples.filter((p) => p.startsWith("/"));
  for (const a of abs) {
    for (const b of abs) {
      assertEquals(relative(a, b), std.relative(a, b), `relative(${a}, ${b})`);
    }
  }
});

Deno.test("path_util: fromFileUrl agrees with @std/path", () => {
  for (const u of ["file:///work/main/mod.ts", "file:///a%20b/c.ts", "file:///x/%25y"]) {
    assertEquals(fromFileUrl(u), std.fromFileUrl(u));
    assertEquals(fromFileUrl(new URL(u)), std.fromFileUrl(new URL(u)));
  }
});

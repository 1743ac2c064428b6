import { assert, assertEquals, assertThrows } from "@std/assert";
import { TsnspawnError } from "../errors.ts";
import { parseTmpfs } from "./tmpfs.ts";

function invalid(fn: () => unknown, includes: string): void {
  const error = assertThrows(fn, TsnspawnError);
  assert(error.message.includes(includes), `${error.message} lacks ${includes}`);
}

Deno.test("parseTmpfs: docker's defaults, flags and data options", () => {
  assertEquals(parseTmpfs("/run"), {
    destination: "/run",
    flags: ["nosuid", "nodev", "noexec"],
    data: "",
  });
  assertEquals(parseTmpfs("/a/b/:rw,exec,size=64m,mode=1777,uid=5"), {
    destination: "/a/b",
    flags: ["nosuid", "nodev"],
    data: "size=64m,mode=1777,uid=5",
  });
  assertEquals(parseTmpfs("/x:ro,suid,dev").flags, ["ro", "noexec"]);
  invalid(() => parseTmpfs("run"), "absolute");
  invalid(() => parseTmpfs("/"), "not a usable");
  invalid(() => parseTmpfs("/a/../b"), "not a usable");
  invalid(() => parseTmpfs("/a:size=lots"), "bad option");
  invalid(() => parseTmpfs("/a:mode=999"), "bad option");
  invalid(() => parseTmpfs("/a:huge=always"), "bad option");
});

/** Declared file names: kinds, templates and quadlet's drop-in order (pure). */
import { assertEquals } from "@std/assert";
import { chooseDropins, kindOf, planDropinDirs, templateParts } from "./source.ts";

Deno.test("kinds and template parts", () => {
  assertEquals(kindOf("web.container"), "container");
  assertEquals(kindOf("app.network"), "network");
  assertEquals(kindOf("app.pod"), null);
  assertEquals(kindOf(".container"), null);
  assertEquals(templateParts("web@.container"), { prefix: "web", instance: "" });
  assertEquals(templateParts("web@7.container"), { prefix: "web", instance: "7" });
  assertEquals(templateParts("web.container"), null);
});

Deno.test("drop-in directories, most specific first (quadlet's GetUnitDropinPaths)", () => {
  assertEquals(planDropinDirs("foo-bar-baz.container"), [
    "foo-bar-baz.container.d",
    "foo-bar-.container.d",
    "foo-.container.d",
    "container.d",
  ]);
  assertEquals(planDropinDirs("foo-bar@x.volume"), [
    "foo-bar@x.volume.d",
    "foo-bar@.volume.d",
    "foo-@.volume.d",
    "foo-.volume.d",
    "volume.d",
  ]);
  assertEquals(planDropinDirs("web@.container"), ["web@.container.d", "container.d"]);
});

Deno.test("drop-ins: a name in a more specific directory hides the same one further up; file-name order", () => {
  assertEquals(
    chooseDropins([
      [{ name: "10-a.conf", path: "/specific/10-a.conf" }, {
        name: "x.txt",
        path: "/specific/x.txt",
      }],
      [{ name: "10-a.conf", path: "/broad/10-a.conf" }, {
        name: "05-b.conf",
        path: "/broad/05-b.conf",
      }],
    ]),
    ["/broad/05-b.conf", "/specific/10-a.conf"],
  );
});

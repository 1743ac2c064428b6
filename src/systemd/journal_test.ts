import { assertEquals } from "@std/assert";
import { logsArguments, streamOf } from "./journal.ts";

Deno.test("logsArguments selects the container's field and maps the options", () => {
  assertEquals(logsArguments({ container: "web" }), [
    "--no-pager",
    "--quiet",
    "--output=json",
    "--output-fields=MESSAGE,PRIORITY",
    "--all",
    "--no-tail",
    "TSNSPAWN_CONTAINER=web",
  ]);
  assertEquals(logsArguments({ container: "web", follow: true, lines: 5, since: "1 hour ago" }), [
    "--no-pager",
    "--quiet",
    "--output=json",
    "--output-fields=MESSAGE,PRIORITY",
    "--all",
    "--follow",
    "--lines=5",
    "--since=1 hour ago",
    "TSNSPAWN_CONTAINER=web",
  ]);
});

Deno.test("streamOf: priority err and worse came from stderr, the rest from stdout", () => {
  assertEquals(streamOf({ __CURSOR: "c", PRIORITY: "3" }), "stderr");
  assertEquals(streamOf({ __CURSOR: "c", PRIORITY: "0" }), "stderr");
  assertEquals(streamOf({ __CURSOR: "c", PRIORITY: "6" }), "stdout");
  assertEquals(streamOf({ __CURSOR: "c", PRIORITY: "4" }), "stdout");
  assertEquals(streamOf({ __CURSOR: "c" }), "stdout");
});

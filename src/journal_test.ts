import { assertEquals } from "@std/assert";
import { logsArguments } from "./journal.ts";

Deno.test("logsArguments selects the container's field and maps the options", () => {
  assertEquals(logsArguments({ container: "web" }), [
    "--no-pager",
    "--quiet",
    "--output=cat",
    "--no-tail",
    "TSNSPAWN_CONTAINER=web",
  ]);
  assertEquals(logsArguments({ container: "web", follow: true, lines: 5, since: "1 hour ago" }), [
    "--no-pager",
    "--quiet",
    "--output=cat",
    "--follow",
    "--lines=5",
    "--since=1 hour ago",
    "TSNSPAWN_CONTAINER=web",
  ]);
});

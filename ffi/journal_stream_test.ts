import { assertEquals, assertThrows } from "@std/assert";
import { journalStreamHeader } from "./journal_stream.ts";

Deno.test("journalStreamHeader: systemd's seven lines, no forwarding", () => {
  assertEquals(
    journalStreamHeader({
      identifier: "web",
      unit: "tsnspawn-web.service",
      priority: 3,
      levelPrefix: false,
    }),
    "web\ntsnspawn-web.service\n3\n0\n0\n0\n0\n",
  );
  assertThrows(
    () => journalStreamHeader({ identifier: "a\nb", unit: "u", priority: 6, levelPrefix: true }),
    RangeError,
  );
});

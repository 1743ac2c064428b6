import { assertEquals } from "@std/assert";
import { formatBytes, formatDuration, formatTable } from "./format.ts";

Deno.test("formatTable aligns columns and trims the last", () => {
  assertEquals(
    formatTable(["NAME", "STATE"], [["web", "running"], ["a-long-name", "exited (1)"]]),
    "NAME          STATE\nweb           running\na-long-name   exited (1)",
  );
  assertEquals(formatTable(["A", "B"], []), "A   B");
});

Deno.test("formatBytes uses binary units like systemctl", () => {
  assertEquals(formatBytes(0), "0B");
  assertEquals(formatBytes(1023), "1023B");
  assertEquals(formatBytes(1536), "1.5K");
  assertEquals(formatBytes(256 * 1024 * 1024), "256M");
  assertEquals(formatBytes(3 * 1024 ** 3), "3G");
});

Deno.test("formatDuration", () => {
  assertEquals(formatDuration(5), "5s");
  assertEquals(formatDuration(125), "2min 5s");
  assertEquals(formatDuration(3725), "1h 2min");
  assertEquals(formatDuration(90000), "1d 1h");
});

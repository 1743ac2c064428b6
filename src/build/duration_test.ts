import { assertEquals } from "@std/assert";
import { formatGoDuration, parseGoDuration } from "./duration.ts";

Deno.test("parseGoDuration accepts Go's syntax", () => {
  assertEquals(parseGoDuration("30s"), 30e9);
  assertEquals(parseGoDuration("1m30s"), 90e9);
  assertEquals(parseGoDuration("1.5h"), 5400e9);
  assertEquals(parseGoDuration(".5s"), 5e8);
  assertEquals(parseGoDuration("500ms"), 5e8);
  assertEquals(parseGoDuration("10us"), 1e4);
  assertEquals(parseGoDuration("10µs"), 1e4);
  assertEquals(parseGoDuration("7ns"), 7);
  assertEquals(parseGoDuration("0"), 0);
  assertEquals(parseGoDuration("-2s"), -2e9);
  assertEquals(parseGoDuration("1h2m3s4ms"), 3723004e6);
});

Deno.test("parseGoDuration rejects other text", () => {
  for (const text of ["", "5", "s", "1x", "1.s.", "1d", "--1s", "1s ", "1e3s", "."]) {
    assertEquals(parseGoDuration(text), undefined, text);
  }
  assertEquals(parseGoDuration("99999999h"), undefined); // beyond a safe integer of ns
});

Deno.test("formatGoDuration prints like Go's Duration.String", () => {
  assertEquals(formatGoDuration(0), "0s");
  assertEquals(formatGoDuration(30e9), "30s");
  assertEquals(formatGoDuration(90e9), "1m30s");
  assertEquals(formatGoDuration(3600e9), "1h0m0s");
  assertEquals(formatGoDuration(1.5e9), "1.5s");
  assertEquals(formatGoDuration(5e8), "500ms");
  assertEquals(formatGoDuration(1500), "1.5µs");
  assertEquals(formatGoDuration(7), "7ns");
  assertEquals(formatGoDuration(-2e9), "-2s");
  for (const ns of [1, 999, 1e6 + 1, 61e9, 3723004e6]) {
    assertEquals(parseGoDuration(formatGoDuration(ns)), ns);
  }
});

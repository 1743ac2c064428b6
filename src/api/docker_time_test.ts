import { assertEquals } from "@std/assert";
import {
  formatDockerTime,
  formatHumanDuration,
  nanosOf,
  nanosOfIso,
  unixSeconds,
  ZERO_TIME,
} from "./docker_time.ts";

const S = 1_000_000_000n;

Deno.test("formatDockerTime: RFC3339Nano trims, fixed keeps nine digits, null is Go's zero", () => {
  assertEquals(formatDockerTime(1_700_000_000n * S), "2023-11-14T22:13:20Z");
  assertEquals(formatDockerTime(1_700_000_000n * S + 120_000_000n), "2023-11-14T22:13:20.12Z");
  assertEquals(formatDockerTime(1_700_000_000n * S + 1n), "2023-11-14T22:13:20.000000001Z");
  assertEquals(formatDockerTime(1_700_000_000n * S, true), "2023-11-14T22:13:20.000000000Z");
  assertEquals(formatDockerTime(null), ZERO_TIME);
  assertEquals(ZERO_TIME, "0001-01-01T00:00:00Z");
});

Deno.test("nanos from dates and config.json's ISO strings", () => {
  assertEquals(nanosOf(new Date(1_700_000_000_123)), 1_700_000_000_123_000_000n);
  assertEquals(nanosOfIso("2023-11-14T22:13:20.123Z"), 1_700_000_000_123_000_000n);
  assertEquals(nanosOfIso("2023-11-14T22:13:20Z"), 1_700_000_000n * S);
  assertEquals(unixSeconds(1_700_000_000_999_999_999n), 1_700_000_000);
});

Deno.test("formatHumanDuration: go-units' words", () => {
  const cases: [number, string][] = [
    [0.5, "Less than a second"],
    [1, "1 second"],
    [59, "59 seconds"],
    [60, "About a minute"],
    [119, "About a minute"],
    [120, "2 minutes"],
    [3599, "59 minutes"],
    [3600, "About an hour"],
    [5400, "2 hours"],
    [47 * 3600, "47 hours"],
    [48 * 3600, "2 days"],
    [14 * 86400, "2 weeks"],
    [60 * 86400, "2 months"],
    [730 * 86400, "2 years"],
  ];
  for (const [seconds, words] of cases) {
    assertEquals(formatHumanDuration(BigInt(Math.round(seconds * 1e9))), words, `${seconds}s`);
  }
});

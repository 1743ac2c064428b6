/** The health check options and the image's Healthcheck (pure). */
import { assertEquals, assertThrows } from "@std/assert";
import { TsnspawnError } from "../errors.ts";
import {
  formatDuration,
  healthArgv,
  parseDuration,
  parseHealthCmd,
  parseHealthInterval,
  planHealthCheck,
} from "./health_options.ts";

Deno.test("health options: Go durations, commands in both forms", () => {
  assertEquals(parseDuration("1m30s"), 90_000);
  assertEquals(parseDuration("500ms"), 500);
  assertEquals(parseDuration("1.5h"), 5_400_000);
  assertEquals(parseDuration("2"), 2000);
  assertEquals(formatDuration(90_000), "1m30s");
  assertEquals(parseHealthInterval("disable"), 0);
  assertThrows(() => parseDuration("soon"), TsnspawnError, "not a duration");
  assertThrows(() => parseHealthInterval("0s"), TsnspawnError, "shorter than 1ms");
  assertEquals(parseHealthCmd("curl -f http://x/"), ["CMD-SHELL", "curl -f http://x/"]);
  assertEquals(parseHealthCmd('["curl","-f"]'), ["CMD", "curl", "-f"]);
  assertEquals(parseHealthCmd('["CMD-SHELL","x"]'), ["CMD-SHELL", "x"]);
  assertEquals(parseHealthCmd("none"), ["NONE"]);
  assertThrows(() => parseHealthCmd("[1]"), TsnspawnError, "JSON array of strings");
  assertEquals(healthArgv(["CMD-SHELL", "a b"]), ["/bin/sh", "-c", "a b"]);
  assertEquals(healthArgv(["CMD", "a", "b"]), ["a", "b"]);
});

Deno.test("health options: the image's Healthcheck, the options winning field by field", () => {
  const image = { Test: ["CMD-SHELL", "check"], Interval: 10e9, Retries: 5 };
  assertEquals(planHealthCheck({ timeoutMs: 3000 }, false, image), {
    test: ["CMD-SHELL", "check"],
    intervalMs: 10_000,
    timeoutMs: 3000,
    retries: 5,
    startPeriodMs: 0,
    onFailure: "none",
    maxLogCount: 5,
    maxLogSize: 500,
  });
  assertEquals(planHealthCheck({}, true, image), undefined); // --no-healthcheck
  assertEquals(planHealthCheck({}, false, { Test: ["NONE"] }), undefined);
  assertEquals(planHealthCheck({}, false, null), undefined);
  assertEquals(planHealthCheck({ test: ["CMD", "x"] }, false, null)?.intervalMs, 30_000);
});

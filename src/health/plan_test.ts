/** Health check results (pure): docker's start period, retries and transitions. */
import { assertEquals } from "@std/assert";
import { currentStatus, cutOutput, freshState, type HealthResult, recordResult } from "./plan.ts";

const CHECK = { retries: 2, maxLogCount: 3, maxLogSize: 5 };
const result = (exitCode: number, output = ""): HealthResult => ({
  start: "2026-01-01T00:00:00Z",
  end: "2026-01-01T00:00:01Z",
  exitCode,
  output,
});

Deno.test("health: starting → healthy → unhealthy after `retries` failures, and back", () => {
  let state = freshState("inv1");
  let t = recordResult(state, result(0), CHECK, false);
  assertEquals([t.state.status, t.becameHealthy, t.becameUnhealthy], ["healthy", true, false]);
  t = recordResult(t.state, result(1), CHECK, false);
  assertEquals([t.state.status, t.state.failingStreak, t.becameUnhealthy], ["healthy", 1, false]);
  t = recordResult(t.state, result(1), CHECK, false);
  assertEquals([t.state.status, t.state.failingStreak, t.becameUnhealthy], ["unhealthy", 2, true]);
  // Still unhealthy: it turned unhealthy once (the on-failure action ran then).
  t = recordResult(t.state, result(1), CHECK, false);
  assertEquals([t.state.status, t.becameUnhealthy], ["unhealthy", false]);
  t = recordResult(t.state, result(0), CHECK, false);
  assertEquals([t.state.status, t.state.failingStreak, t.becameHealthy], ["healthy", 0, false]);
  state = t.state;
  assertEquals(state.log.length, 3); // max-log-count
});

Deno.test("health: failures in the start period do not count until a check passed", () => {
  let t = recordResult(freshState("i"), result(1), CHECK, true);
  t = recordResult(t.state, result(1), CHECK, true);
  t = recordResult(t.state, result(1), CHECK, true);
  assertEquals([t.state.status, t.state.failingStreak], ["starting", 0]);
  t = recordResult(t.state, result(0), CHECK, true);
  t = recordResult(t.state, result(1), CHECK, true);
  t = recordResult(t.state, result(1), CHECK, true);
  assertEquals(t.state.status, "unhealthy"); // after a pass, failures count even in the period
});

Deno.test("health: output is cut; a new run (invocation) is starting", () => {
  assertEquals(cutOutput("abcdefgh", 5), "abcde");
  assertEquals(cutOutput("abcdefgh", 0), "abcdefgh");
  const t = recordResult(freshState("a"), result(0, "hello world"), CHECK, false);
  assertEquals(t.state.log[0].output, "hello");
  assertEquals(currentStatus(t.state, "a"), "healthy");
  assertEquals(currentStatus(t.state, "b"), "starting");
  assertEquals(currentStatus(null, "a"), "starting");
});

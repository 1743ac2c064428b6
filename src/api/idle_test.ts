import { assertEquals } from "@std/assert";
import { IdleTracker } from "./idle.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("IdleTracker: fires once after the idle time with nothing active", async () => {
  let fired = 0;
  const tracker = new IdleTracker(30, () => fired++);
  await sleep(60);
  assertEquals(fired, 1);
  assertEquals(tracker.expired, true);
  await sleep(60);
  assertEquals(fired, 1);
});

Deno.test("IdleTracker: an activity holds it off; the time counts from its end", async () => {
  let fired = 0;
  const tracker = new IdleTracker(40, () => fired++);
  const end = tracker.begin();
  const other = tracker.begin();
  await sleep(80);
  assertEquals(fired, 0);
  end();
  end(); // idempotent
  assertEquals(tracker.active, 1);
  await sleep(80);
  assertEquals(fired, 0);
  other();
  await sleep(20);
  assertEquals(fired, 0);
  await sleep(60);
  assertEquals(fired, 1);
});

Deno.test("IdleTracker: 0 never fires; stop() disarms", async () => {
  let fired = 0;
  const never = new IdleTracker(0, () => fired++);
  never.begin()();
  const stopped = new IdleTracker(20, () => fired++);
  stopped.stop();
  await sleep(50);
  assertEquals(fired, 0);
});

import { assertEquals, assertThrows } from "@std/assert";
import { DEFAULT_DETACH_KEYS, DetachKeyWatcher, parseDetachKeys } from "./detach_keys.ts";
import { TsnspawnError } from "../errors.ts";

Deno.test("detach keys: docker's syntax", () => {
  assertEquals([...parseDetachKeys(DEFAULT_DETACH_KEYS)], [0x10, 0x11]);
  assertEquals([...parseDetachKeys("ctrl-a,d")], [0x01, 0x64]);
  assertEquals([...parseDetachKeys("ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_")], [
    0,
    0x1b,
    0x1c,
    0x1d,
    0x1e,
    0x1f,
  ]);
  assertEquals([...parseDetachKeys("")], []);
  for (const bad of ["ctrl-1", "ctrl-", "ab", "ctrl-p,,x", "\t"]) {
    assertThrows(() => parseDetachKeys(bad), TsnspawnError, "bad key", bad);
  }
});

Deno.test("detach keys: held back, detach, or forwarded as typed", () => {
  const bytes = (...b: number[]) => new Uint8Array(b);
  const w = new DetachKeyWatcher(parseDetachKeys(DEFAULT_DETACH_KEYS));
  assertEquals(w.feed(bytes(0x61, 0x10)), { forward: bytes(0x61), detach: false });
  // A broken sequence goes out as typed, in order.
  assertEquals(w.feed(bytes(0x62)), { forward: bytes(0x10, 0x62), detach: false });
  // Across reads, and ^P ^P ^Q detaches on the second ^P.
  assertEquals(w.feed(bytes(0x10)), { forward: bytes(), detach: false });
  assertEquals(w.feed(bytes(0x10, 0x11, 0x63)), { forward: bytes(0x10), detach: true });
  const none = new DetachKeyWatcher(new Uint8Array());
  assertEquals(none.feed(bytes(0x10, 0x11)), { forward: bytes(0x10, 0x11), detach: false });
});

import { assertEquals, assertThrows } from "@std/assert";
import {
  decodeSize,
  encodeFrame,
  encodeSize,
  formatTerminalSize,
  FRAME_INPUT,
  FRAME_OUTPUT,
  FrameDecoder,
  MAX_FRAME,
  parseTerminalSize,
} from "./terminal_protocol.ts";

Deno.test("terminal frames: split anywhere, decoded whole", () => {
  const stream = new Uint8Array([
    ...encodeFrame(FRAME_OUTPUT, new TextEncoder().encode("hello")),
    ...encodeFrame(FRAME_INPUT, new Uint8Array()),
    ...encodeFrame(FRAME_OUTPUT, new Uint8Array([1, 2, 3])),
  ]);
  for (let cut = 0; cut <= stream.length; cut++) {
    const decoder = new FrameDecoder();
    const frames = [
      ...decoder.push(stream.subarray(0, cut)),
      ...decoder.push(stream.subarray(cut)),
    ];
    assertEquals(frames.map((f) => [f.type, [...f.payload]]), [
      [FRAME_OUTPUT, [...new TextEncoder().encode("hello")]],
      [FRAME_INPUT, []],
      [FRAME_OUTPUT, [1, 2, 3]],
    ]);
  }
  const huge = new Uint8Array(5);
  new DataView(huge.buffer).setUint32(1, MAX_FRAME + 1);
  assertThrows(() => new FrameDecoder().push(huge), RangeError);
});

Deno.test("terminal sizes", () => {
  assertEquals(decodeSize(encodeSize({ rows: 40, columns: 100 })), { rows: 40, columns: 100 });
  assertEquals(decodeSize(new Uint8Array(3)), null);
  assertEquals(parseTerminalSize("40x100"), { rows: 40, columns: 100 });
  assertEquals(formatTerminalSize({ rows: 24, columns: 80 }), "24x80");
  for (const bad of [undefined, "", "0x80", "24x", "x80", "24*80", "99999x1"]) {
    assertEquals(parseTerminalSize(bad), null, String(bad));
  }
});

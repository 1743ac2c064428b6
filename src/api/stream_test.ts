import { assertEquals, assertThrows } from "@std/assert";
import {
  demultiplex,
  formatFrame,
  formatFrameHeader,
  formatHijackError,
  formatHijackHead,
  formatLogLine,
  FrameDecoder,
  MULTIPLEXED_STREAM,
  RAW_STREAM,
  STDERR,
  STDOUT,
  streamMediaType,
  streamText,
  SYSTEMERR,
} from "./stream.ts";

Deno.test("formatFrame: stream id, three zero bytes, big-endian length, payload", () => {
  assertEquals([...formatFrame(STDOUT, "hi\n")], [1, 0, 0, 0, 0, 0, 0, 3, 104, 105, 10]);
  assertEquals([...formatFrameHeader(STDERR, 0x01020304)], [2, 0, 0, 0, 1, 2, 3, 4]);
  assertEquals([...formatFrame(SYSTEMERR, new Uint8Array(0))], [3, 0, 0, 0, 0, 0, 0, 0]);
  assertThrows(() => formatFrameHeader(STDOUT, -1), RangeError);
  assertThrows(() => formatFrameHeader(STDOUT, 2 ** 32), RangeError);
});

Deno.test("FrameDecoder: frames split anywhere across chunks come out whole", () => {
  const stream = new Uint8Array([
    ...formatFrame(STDOUT, "hello "),
    ...formatFrame(STDERR, "oops\n"),
    ...formatFrame(STDOUT, new Uint8Array(70_000).fill(120)),
    ...formatFrame(STDOUT, "world\n"),
  ]);
  for (const size of [1, 3, 7, 8, 9, 4096, stream.length]) {
    const decoder = new FrameDecoder();
    const frames = [];
    for (let i = 0; i < stream.length; i += size) {
      frames.push(...decoder.push(stream.slice(i, i + size)));
    }
    decoder.end();
    assertEquals(frames.map((f) => [f.stream, f.payload.length]), [[1, 6], [2, 5], [1, 70_000], [
      1,
      6,
    ]]);
    assertEquals(streamText(frames, STDERR), "oops\n");
    assertEquals(streamText(frames, STDOUT).endsWith("xxworld\n"), true);
  }
});

Deno.test("FrameDecoder: bad headers and truncated frames are errors", () => {
  assertThrows(() => demultiplex(new Uint8Array([4, 0, 0, 0, 0, 0, 0, 0])), Error, "unrecognized");
  assertThrows(() => demultiplex(new Uint8Array([1, 0, 1, 0, 0, 0, 0, 0])), Error, "unrecognized");
  assertThrows(() => demultiplex(formatFrame(STDOUT, "abc").slice(0, 10)), Error, "ended inside");
  const decoder = new FrameDecoder();
  assertEquals(decoder.push(formatFrame(STDOUT, "abc").slice(0, 5)), []);
  assertEquals(decoder.pending, 5);
  assertEquals(demultiplex(new Uint8Array(0)), []);
});

Deno.test("media types: multiplexed for non-tty from 1.42, raw otherwise", () => {
  assertEquals(streamMediaType(false, true), MULTIPLEXED_STREAM);
  assertEquals(streamMediaType(true, true), RAW_STREAM);
  assertEquals(streamMediaType(false, false), RAW_STREAM);
});

Deno.test("formatHijackHead: 101 UPGRADED as the research observed; moby's 200 variant", () => {
  assertEquals(
    formatHijackHead({ upgrade: true, tty: false, multiplexedAllowed: true }),
    "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\n" +
      "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
  );
  assertEquals(
    formatHijackHead({
      upgrade: true,
      tty: true,
      multiplexedAllowed: true,
      headers: { "Api-Version": "1.44" },
    }),
    "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n" +
      "Connection: Upgrade\r\nUpgrade: tcp\r\nApi-Version: 1.44\r\n\r\n",
  );
  assertEquals(
    formatHijackHead({ upgrade: false, tty: false, multiplexedAllowed: true }),
    "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n",
  );
  assertThrows(() =>
    formatHijackHead({
      upgrade: true,
      tty: true,
      multiplexedAllowed: true,
      headers: { X: "a\r\nb" },
    })
  );
  assertEquals(
    formatHijackError(404, "Not Found", "No such container: web"),
    "HTTP/1.1 404 Not Found\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\nNo such container: web\r\n",
  );
});

Deno.test("formatLogLine: timestamps=1 puts moby's fixed RFC 3339 time first", () => {
  assertEquals(formatLogLine("hi\n"), "hi\n");
  assertEquals(
    formatLogLine("hi\n", 1_700_000_000_000_001_000n),
    "2023-11-14T22:13:20.000001000Z hi\n",
  );
});

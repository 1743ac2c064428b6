import { assertEquals } from "@std/assert";
import { ConsoleTail, NewlineNormalizer, plainLine } from "./console_text.ts";

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("console text: CRLF becomes LF, also across chunks; lone CRs stay", () => {
  const n = new NewlineNormalizer();
  assertEquals(str(n.push(text("a\r\nb\r"))), "a\nb");
  assertEquals(str(n.push(text("\nc\rd\r"))), "\nc\rd");
  assertEquals(str(n.push(text("x"))), "\rx");
});

Deno.test("console text: plain lines and the tail", () => {
  assertEquals(plainLine("\x1b[0;32m  OK  \x1b[0m] Started x.\r"), "  OK  ] Started x.");
  assertEquals(plainLine("progress 10%\rprogress 100%"), "progress 100%");
  const tail = new ConsoleTail(3);
  tail.push(text("one\r\ntwo\r\n\r\nthree\r\nfo"));
  tail.push(text("ur\r\nfive"));
  assertEquals(tail.lines(), ["three", "four", "five"]);
  assertEquals(tail.frozen(), false);
  tail.push(text("\r\nFreezing execution.\r\n"));
  assertEquals(tail.frozen(), true);
});

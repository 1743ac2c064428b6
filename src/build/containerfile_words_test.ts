import { assertEquals } from "@std/assert";
import {
  extractFlags,
  looksLikeExecForm,
  parseHeredocMarker,
  parseJsonArray,
  splitQuotedWords,
} from "./containerfile_words.ts";

Deno.test("options end at the first word without -- or at --", () => {
  assertEquals(extractFlags("--from=a --chown='x y' src dst", "\\"), {
    flags: ["--from=a", "--chown=x y"],
    rest: "src dst",
  });
  assertEquals(extractFlags("--link -- --not-a-flag", "\\"), {
    flags: ["--link"],
    rest: "--not-a-flag",
  });
  assertEquals(extractFlags('--a=\\"b', "\\"), { flags: ['--a="b'], rest: "" });
  assertEquals(extractFlags("-x y", "\\"), { flags: [], rest: "-x y" });
});

Deno.test("quoted words keep their quotes for substitution", () => {
  assertEquals(splitQuotedWords("A=\"a b\" B=c\\ d C='e f'", "\\"), [
    'A="a b"',
    "B=c\\ d",
    "C='e f'",
  ]);
  assertEquals(splitQuotedWords("  x   y  ", "\\"), ["x", "y"]);
  assertEquals(splitQuotedWords('A="x\\" y"', "\\"), ['A="x\\" y"']);
});

Deno.test("exec form detection", () => {
  assertEquals(parseJsonArray('["a", "b"]'), { kind: "array", values: ["a", "b"] });
  assertEquals(parseJsonArray("echo hi"), { kind: "not-json" });
  assertEquals(parseJsonArray("[ -f x ]"), { kind: "not-json" });
  assertEquals(parseJsonArray('{"a": 1}'), { kind: "not-json" });
  assertEquals(parseJsonArray("['a', 'b']").kind, "bad");
  assertEquals(parseJsonArray("[1]").kind, "bad");
  assertEquals(looksLikeExecForm("['app']"), true);
  assertEquals(looksLikeExecForm('[ "$A" = "b,c" ]'), false);
  assertEquals(looksLikeExecForm('["a" "b"]'), false); // no comma: docker runs it with the shell too
});

Deno.test("here-document markers", () => {
  assertEquals(parseHeredocMarker("<<EOF"), { name: "EOF", expand: true, chomp: false });
  assertEquals(parseHeredocMarker("<<-'E O'"), { name: "E O", expand: false, chomp: true });
  assertEquals(parseHeredocMarker('2<<"X"'), { name: "X", expand: false, chomp: false, fd: 2 });
  assertEquals(parseHeredocMarker('<<E"O"F'), { name: "EOF", expand: false, chomp: false });
  assertEquals(parseHeredocMarker("<<"), undefined);
  assertEquals(parseHeredocMarker("<<<EOF"), undefined);
  assertEquals(parseHeredocMarker("a<<EOF"), undefined);
  assertEquals(parseHeredocMarker('<<""'), undefined);
});

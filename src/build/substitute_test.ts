import { assertEquals, assertThrows } from "@std/assert";
import { TsnspawnError } from "../errors.ts";
import { expandHeredoc, expandWord, expandWords, lookupIn } from "./substitute.ts";

const vars = lookupIn({
  HOME: "/root",
  EMPTY: "",
  SPACED: "a  b",
  EDGES: "  x y  ",
  FILE: "archive.tar.gz",
  KOREAN: "한국어",
});
const word = (w: string) => expandWord(w, vars);

Deno.test("plain names and braces", () => {
  assertEquals(word("$HOME/bin"), "/root/bin");
  assertEquals(word("${HOME}_x"), "/root_x");
  assertEquals(word("$HOME_x"), ""); // the name is HOME_x, unset
  assertEquals(word("pre$UNSET.post"), "pre.post");
  assertEquals(word("$KOREAN!"), "한국어!");
  assertEquals(word("안녕$KOREAN"), "안녕한국어");
});

Deno.test("a $ without a name stays literal", () => {
  assertEquals(word("$"), "$");
  assertEquals(word("cost: $."), "cost: $.");
  assertEquals(word("a$ b"), "a$ b");
});

Deno.test("positional and special parameters are never set", () => {
  assertEquals(word("x$1y"), "xy");
  assertEquals(word("x${12}y"), "xy");
  assertEquals(word("$@$*$#"), "");
  assertEquals(word("${1:-one}"), "one");
});

Deno.test("default and alternative values, with and without colon", () => {
  assertEquals(word("${UNSET:-d}"), "d");
  assertEquals(word("${EMPTY:-d}"), "d");
  assertEquals(word("${HOME:-d}"), "/root");
  assertEquals(word("${UNSET-d}"), "d");
  assertEquals(word("${EMPTY-d}"), "");
  assertEquals(word("${UNSET:+alt}"), "");
  assertEquals(word("${EMPTY:+alt}"), "");
  assertEquals(word("${HOME:+alt}"), "alt");
  assertEquals(word("${EMPTY+alt}"), "alt");
  assertEquals(word("${UNSET+alt}"), "");
});

Deno.test("the word of a modifier is itself expanded", () => {
  assertEquals(word("${UNSET:-$HOME}"), "/root");
  assertEquals(word("${UNSET:-${OTHER:-deep}}"), "deep");
  assertEquals(word("${HOME:+[$HOME]}"), "[/root]");
  assertEquals(word("${UNSET:-\\$HOME}"), "$HOME");
  assertEquals(word("${UNSET:-a {b}"), "a {b");
  assertEquals(word("${UNSET:-x}}"), "x}");
});

Deno.test("required values", () => {
  assertEquals(word("${HOME?}"), "/root");
  assertEquals(word("${EMPTY?}"), "");
  assertThrows(() => word("${UNSET?}"), TsnspawnError, "UNSET is not set");
  assertThrows(() => word("${EMPTY:?}"), TsnspawnError, "EMPTY is empty");
  assertThrows(() => word("${UNSET:?give it}"), TsnspawnError, "UNSET give it");
});

Deno.test("pattern removal and replacement", () => {
  assertEquals(word("${FILE#*.}"), "tar.gz");
  assertEquals(word("${FILE##*.}"), "gz");
  assertEquals(word("${FILE%.*}"), "archive.tar");
  assertEquals(word("${FILE%%.*}"), "archive");
  assertEquals(word("${FILE#nomatch}"), "archive.tar.gz");
  assertEquals(word("${FILE/a/A}"), "Archive.tar.gz");
  assertEquals(word("${FILE//a/A}"), "Archive.tAr.gz");
  assertEquals(word("${FILE//./\\/}"), "archive/tar/gz");
  assertEquals(word("${FILE/ar?/X}"), "Xhive.tar.gz");
  assertEquals(word("${UNSET#x}"), "");
  assertEquals(word("${FILE/*.tar/$HOME}"), "/root.gz");
});

Deno.test("malformed substitutions are clean errors", () => {
  for (
    const bad of [
      "${",
      "${}",
      "x${}y",
      "${HOME",
      "${:}",
      "${:-x}",
      "${{a}",
      "${HOME:=x}",
      "${HOME:#x}",
      "${HOME!}",
      "${HOME:-x",
      "${FILE/a}",
      "${FILE#\\x}",
    ]
  ) {
    assertThrows(() => word(bad), TsnspawnError, "Bad variable substitution", bad);
  }
});

Deno.test("quotes: single literal, double expands, both removed", () => {
  assertEquals(word("'$HOME'"), "$HOME");
  assertEquals(word('"$HOME"'), "/root");
  assertEquals(word(`"it's"`), "it's");
  assertEquals(word(`'say "hi"'`), 'say "hi"');
  assertEquals(word(`a'b'"c"d`), "abcd");
  assertEquals(word(`"a  b"`), "a  b");
  assertThrows(() => word(`"open`), TsnspawnError, "double quote");
  assertThrows(() => word(`'open`), TsnspawnError, "single quote");
  assertThrows(() => word(`"trailing\\"`), TsnspawnError, "double quote");
});

Deno.test("escapes outside and inside double quotes", () => {
  assertEquals(word("\\$HOME"), "$HOME");
  assertEquals(word("\\${HOME}"), "${HOME}");
  assertEquals(word("a\\ b"), "a b");
  assertEquals(word("a\\tb"), "atb");
  assertEquals(word("a\\\\$HOME"), "a\\/root");
  assertEquals(word("end\\"), "end");
  assertEquals(word(`"a\\tb"`), "a\\tb"); // not special in double quotes
  assertEquals(word(`"a\\"b"`), 'a"b');
  assertEquals(word(`"\\$HOME"`), "$HOME");
  assertEquals(word(`"\\\\"`), "\\");
  assertEquals(word(`'a\\'`), "a\\");
});

Deno.test("the backtick escape character", () => {
  assertEquals(expandWord("`$HOME", vars, "`"), "$HOME");
  assertEquals(expandWord("c:\\dir", vars, "`"), "c:\\dir");
  assertEquals(expandWord('"a`"b"', vars, "`"), 'a"b');
});

Deno.test("expandWords splits after expansion, not inside quotes", () => {
  const words = (w: string) => expandWords(w, vars);
  assertEquals(words("80 443/udp"), ["80", "443/udp"]);
  assertEquals(words("x${SPACED}y"), ["xa", "by"]);
  assertEquals(words(`x"$SPACED"y`), ["xa  by"]);
  assertEquals(words("$EDGES"), ["x", "y"]);
  assertEquals(words(`"$EDGES"`), ["  x y  "]);
  assertEquals(words("a\\ b c"), ["a b", "c"]);
  assertEquals(words(`a "" b`), ["a", "b"]); // an empty quoted word vanishes, as docker
  assertEquals(words(""), []);
});

Deno.test("expandWord keeps whitespace of the value", () => {
  assertEquals(word("[$EDGES]"), "[  x y  ]");
  assertEquals(word("a b  c"), "a b  c");
});

Deno.test("here-document bodies follow POSIX rules", () => {
  assertEquals(expandHeredoc("home=$HOME\n", vars), "home=/root\n");
  assertEquals(expandHeredoc(`echo "$HOME" '$HOME'\n`, vars), `echo "/root" '/root'\n`);
  assertEquals(expandHeredoc("cost \\$5 and \\\\ and \\n\n", vars), "cost $5 and \\ and \\n\n");
  assertEquals(expandHeredoc("joined \\\nline\n", vars), "joined line\n");
  assertEquals(expandHeredoc("${UNSET:-dflt} $\n", vars), "dflt $\n");
});

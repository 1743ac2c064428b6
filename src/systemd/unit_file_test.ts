/**
 * The unit-file syntax (src/systemd/unit_file.ts): sections, comments, continuations,
 * repeated keys, quoting, escapes, specifiers, booleans; the round trip
 * parse ∘ format; and fuzzing (random input never throws from the parser,
 * and only ever a TsnspawnError from the value helpers).
 */
import { assert, assertEquals, assertThrows } from "@std/assert";
import { TsnspawnError } from "../errors.ts";
import {
  escapeSpecifiers,
  expandSpecifiers,
  formatUnitFile,
  joinWords,
  parseUnitBoolean,
  parseUnitFile,
  quoteWord,
  sectionEntries,
  splitWords,
  type UnitFile,
} from "./unit_file.ts";

/** Entries as [section, key, value, line] rows, for compact assertions. */
function rows(text: string): [string, string, string, number][] {
  const { file } = parseUnitFile(text);
  return file.sections.flatMap((s) =>
    s.entries.map((e) => [s.name, e.key, e.value, e.line] as [string, string, string, number])
  );
}

Deno.test("parseUnitFile: sections, keys, values and line numbers", () => {
  const text = "[Unit]\nDescription=A web server\n\n[Service]\nRestart=always\n";
  assertEquals(rows(text), [
    ["Unit", "Description", "A web server", 2],
    ["Service", "Restart", "always", 5],
  ]);
  const { file, problems } = parseUnitFile(text);
  assertEquals(problems, []);
  assertEquals(file.sections.map((s) => [s.name, s.line]), [["Unit", 1], ["Service", 4]]);
});

Deno.test("parseUnitFile: comments with # and ;, blank lines, surrounding whitespace", () => {
  const text =
    "# comment\n; another\n[A]\n  Key  =  value with  inner  spaces  \n\t# indented comment\nX=#not a comment\n";
  assertEquals(rows(text), [["A", "Key", "value with  inner  spaces", 4], [
    "A",
    "X",
    "#not a comment",
    6,
  ]]);
});

Deno.test("parseUnitFile: repeated keys are kept in order; an empty value is kept (it resets lists)", () => {
  const text = "[C]\nEnvironment=A=1\nEnvironment=B=2\nEnvironment=\nEnvironment=C=3\n";
  assertEquals(rows(text).map((r) => r[2]), ["A=1", "B=2", "", "C=3"]);
});

Deno.test("parseUnitFile: the value starts after the first '='", () => {
  assertEquals(rows("[C]\nEnvironment=A=b=c\n"), [["C", "Environment", "A=b=c", 2]]);
  assertEquals(rows("[C]\nKey=\n"), [["C", "Key", "", 2]]);
});

Deno.test("parseUnitFile: continuation lines join with a space, keep their whitespace, skip comments", () => {
  const text = "[C]\nExec=echo a \\\n  b \\\n# a comment inside\n; and another\n  c\nNext=1\n";
  assertEquals(rows(text), [["C", "Exec", "echo a    b    c", 2], ["C", "Next", "1", 7]]);
});

Deno.test("parseUnitFile: an escaped backslash at the end does not continue; trailing spaces end a continuation", () => {
  assertEquals(rows("[C]\nA=x\\\\\nB=y\n"), [["C", "A", "x\\\\", 2], ["C", "B", "y", 3]]);
  // systemd looks at the raw line: a backslash followed by spaces is not a continuation.
  assertEquals(rows("[C]\nA=x\\  \nB=y\n"), [["C", "A", "x\\", 2], ["C", "B", "y", 3]]);
});

Deno.test("parseUnitFile: an empty line ends a continuation; one pending at the end of the file is kept", () => {
  assertEquals(rows("[C]\nA=x \\\n\nB=y\n"), [["C", "A", "x", 2], ["C", "B", "y", 4]]);
  assertEquals(rows("[C]\nA=x \\"), [["C", "A", "x", 2]]);
  assertEquals(rows("[C]\nA=x \\\ny \\"), [["C", "A", "x  y", 2]]);
});

Deno.test("parseUnitFile: CRLF line ends and a byte order mark", () => {
  assertEquals(rows("\uFEFF[C]\r\nA=1\r\nB=2 \\\r\n 3\r\n"), [["C", "A", "1", 2], [
    "C",
    "B",
    "2   3",
    3,
  ]]);
});

Deno.test("parseUnitFile: problems are reported by line and parsing goes on", () => {
  const text = "Orphan=1\n[C]\nno equals sign\n=value\n[Broken\nLost=1\n[D]\nOk=1\n";
  const { file, problems } = parseUnitFile(text);
  assertEquals(problems.map((p) => p.line), [1, 3, 4, 5, 6]);
  assert(problems[0].message.includes("outside of any section"));
  assert(problems[1].message.includes("missing '='"));
  assert(problems[3].message.includes("invalid section header"));
  assertEquals(sectionEntries(file, "D"), [{ key: "Ok", value: "1", line: 8 }]);
});

Deno.test("parseUnitFile: a section may appear twice; sectionEntries merges them in order", () => {
  const { file } = parseUnitFile("[S]\nA=1\n[T]\nB=2\n[S]\nA=3\n");
  assertEquals(sectionEntries(file, "S").map((e) => e.value), ["1", "3"]);
});

Deno.test("formatUnitFile: round trip of a parsed file", () => {
  const text =
    "# c\n[Unit]\nDescription=x  y\n[Service]\nExecStart=/bin/echo \\\n  hi\nEnvironment=\nEnvironment=A=1\n";
  const { file } = parseUnitFile(text);
  const formatted = formatUnitFile(file);
  assertEquals(
    formatted,
    "[Unit]\nDescription=x  y\n\n[Service]\nExecStart=/bin/echo    hi\nEnvironment=\nEnvironment=A=1\n",
  );
  assertEquals(stripLines(parseUnitFile(formatted).file), stripLines(file));
});

Deno.test("formatUnitFile: refuses what the syntax cannot hold", () => {
  const bad = (key: string, value: string) => ({
    sections: [{ name: "S", line: 0, entries: [{ key, value, line: 0 }] }],
  });
  assertThrows(() => formatUnitFile(bad("A", "x\ny")), TsnspawnError);
  assertThrows(() => formatUnitFile(bad("A", " x")), TsnspawnError);
  assertThrows(() => formatUnitFile(bad("A", "x\\")), TsnspawnError);
  assertThrows(() => formatUnitFile(bad("A=B", "x")), TsnspawnError);
  assertThrows(() => formatUnitFile(bad("#A", "x")), TsnspawnError);
  assertEquals(formatUnitFile(bad("A", "x\\\\")), "[S]\nA=x\\\\\n");
});

Deno.test("splitWords: whitespace, quotes anywhere in a word, empty quoted words", () => {
  assertEquals(splitWords("  a  b\tc "), ["a", "b", "c"]);
  assertEquals(splitWords(`"a b" 'c d' e"f g"h ""`), ["a b", "c d", "ef gh", ""]);
  assertEquals(splitWords(`"GREETING=hello world" A=1`), ["GREETING=hello world", "A=1"]);
  assertEquals(splitWords(`'it''s'`), ["its"]);
  assertEquals(splitWords(""), []);
});

Deno.test("splitWords: C escapes, inside and outside quotes", () => {
  assertEquals(splitWords(String.raw`a\sb "x\"y" 'q\'s' \t\n\\ \x41\101\u00e9 \s`), [
    "a b",
    'x"y',
    "q's",
    "\t\n\\",
    "AAé",
    " ",
  ]);
});

Deno.test("splitWords: unterminated quotes and bad escapes are errors", () => {
  for (
    const bad of [
      `"abc`,
      `'abc`,
      `a\\`,
      String.raw`\q`,
      String.raw`\x4`,
      String.raw`\18`,
      String.raw`\x00`,
    ]
  ) {
    assertThrows(() => splitWords(bad), TsnspawnError, undefined, bad);
  }
});

Deno.test("quoteWord/joinWords: splitWords gives the words back", () => {
  const words = [
    "plain",
    "",
    "two words",
    'q"uote',
    "back\\slash",
    "tab\there",
    "new\nline",
    "it's",
    "%n",
    "\x01",
    "\x7f",
  ];
  assertEquals(splitWords(joinWords(words)), words);
  assertEquals(quoteWord("/usr/bin/x"), "/usr/bin/x");
  assertEquals(quoteWord("a b"), '"a b"');
});

Deno.test("parseUnitBoolean: systemd's words, any case", () => {
  for (const yes of ["1", "yes", "Y", "true", "t", "ON"]) assertEquals(parseUnitBoolean(yes), true);
  for (const no of ["0", "no", "N", "False", "f", "off"]) assertEquals(parseUnitBoolean(no), false);
  assertThrows(() => parseUnitBoolean("maybe"), TsnspawnError, "not yes or no");
});

Deno.test("expandSpecifiers: known ones, %%, unknown and trailing %", () => {
  const table = { n: "tsnspawn-web.service", H: "host" };
  assertEquals(expandSpecifiers("%n on %H: 100%%", table), "tsnspawn-web.service on host: 100%");
  assertThrows(() => expandSpecifiers("%z", table), TsnspawnError, "unknown specifier %z");
  assertThrows(() => expandSpecifiers("50%", table), TsnspawnError, "ends the value");
  assertEquals(expandSpecifiers(escapeSpecifiers("50% of %n"), table), "50% of %n");
});

// ---------------------------------------------------------------------------
// Property tests

/** A small deterministic PRNG (mulberry32), so failures reproduce. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = [
  "[",
  "]",
  "=",
  "\\",
  "\n",
  "\r\n",
  " ",
  "\t",
  "#",
  ";",
  '"',
  "'",
  "%",
  "a",
  "Key",
  "Unit",
  "x=y",
  "é",
  "\0",
  "\\\n",
];

function randomText(random: () => number, pieces: string[], length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += pieces[Math.floor(random() * pieces.length)];
  return out;
}

function stripLines(file: UnitFile): unknown {
  return file.sections.map((s) => ({
    name: s.name,
    entries: s.entries.map((e) => [e.key, e.value]),
  }));
}

Deno.test("fuzz: parseUnitFile never throws; re-parsing its formatted output gives the same file", () => {
  const random = prng(42);
  for (let i = 0; i < 3000; i++) {
    const text = randomText(random, PIECES, Math.floor(random() * 60));
    const { file } = parseUnitFile(text);
    const formatted = formatUnitFile(file);
    assertEquals(stripLines(parseUnitFile(formatted).file), stripLines(file), JSON.stringify(text));
    assertEquals(formatUnitFile(parseUnitFile(formatted).file), formatted);
  }
});

Deno.test("fuzz: splitWords only throws TsnspawnError, and joinWords ∘ splitWords is stable", () => {
  const random = prng(7);
  for (let i = 0; i < 3000; i++) {
    const text = randomText(
      random,
      [...PIECES, "\\x41", "\\u00e9", "\\n", '""', "''"],
      Math.floor(random() * 30),
    );
    let words: string[];
    try {
      words = splitWords(text);
    } catch (error) {
      assert(error instanceof TsnspawnError, `${JSON.stringify(text)}: ${error}`);
      continue;
    }
    assertEquals(splitWords(joinWords(words)), words, JSON.stringify(text));
  }
});

Deno.test("fuzz: expandSpecifiers only throws TsnspawnError", () => {
  const random = prng(9);
  for (let i = 0; i < 2000; i++) {
    const text = randomText(random, ["%", "n", "H", "z", "a", "%%"], Math.floor(random() * 12));
    try {
      expandSpecifiers(text, { n: "N", H: "H" });
    } catch (error) {
      assert(error instanceof TsnspawnError, `${JSON.stringify(text)}: ${error}`);
    }
  }
});

import { assertEquals, assertThrows } from "@std/assert";
import { TsnspawnError } from "../errors.ts";
import {
  cleanPath,
  compileIgnore,
  ignoreFileCandidates,
  isIgnored,
  parseIgnoreFile,
  planDirectory,
} from "./ignore.ts";

function matcher(text: string) {
  return compileIgnore(parseIgnoreFile(text));
}

function ignored(text: string, paths: string[]): string[] {
  const m = matcher(text);
  return paths.filter((path) => isIgnored(m, path));
}

Deno.test("cleanPath is Go's filepath.Clean", () => {
  assertEquals(cleanPath(""), ".");
  assertEquals(cleanPath("./a//b/"), "a/b");
  assertEquals(cleanPath("a/../../b"), "../b");
  assertEquals(cleanPath("/../a/./b/.."), "/a");
  assertEquals(cleanPath("/"), "/");
  assertEquals(cleanPath("a/.."), ".");
});

Deno.test("reading the file: comments, blanks, cleaning, leading slash", () => {
  assertEquals(
    parseIgnoreFile("\uFEFF# comment\n\n  ./a//b/  \r\n/c\n!/d/../e\n #not a comment\n!\n"),
    [
      { pattern: "a/b", line: 3 },
      { pattern: "c", line: 4 },
      { pattern: "!e", line: 5 },
      { pattern: "#not a comment", line: 6 },
      { pattern: "!", line: 7 },
    ],
  );
});

Deno.test("a plain name excludes itself and everything below it", () => {
  assertEquals(
    ignored("node_modules\n", [
      "node_modules",
      "node_modules/x/y",
      "src/node_modules",
      "node_modules2",
    ]),
    [
      "node_modules",
      "node_modules/x/y",
    ],
  );
  assertEquals(ignored("/build/\n", ["build/out", "x/build"]), ["build/out"]);
});

Deno.test("* and ? stay within one path segment", () => {
  assertEquals(ignored("*.md\n", ["a.md", "docs/a.md", "a.md/inner", "amd"]), [
    "a.md",
    "a.md/inner",
  ]);
  assertEquals(ignored("a?c\n", ["abc", "a/c", "ac"]), ["abc"]);
  assertEquals(ignored("*/temp*\n", ["x/temporary", "x/y/temp", "temp"]), ["x/temporary"]);
});

Deno.test("** matches any number of directories", () => {
  const paths = ["a.md", "d/a.md", "d/e/a.md", "a.txt"];
  assertEquals(ignored("**/*.md\n", paths), ["a.md", "d/a.md", "d/e/a.md"]);
  assertEquals(ignored("a/**/b\n", ["a/b", "a/x/b", "a/x/y/b", "a/bb"]), [
    "a/b",
    "a/x/b",
    "a/x/y/b",
  ]);
  assertEquals(ignored("**\n", ["x", "y/z"]), ["x", "y/z"]);
  assertEquals(ignored("logs/**\n", ["logs/a", "logs/a/b", "logsx"]), ["logs/a", "logs/a/b"]);
  // moby's literal suffix and prefix comparisons
  assertEquals(ignored("**foo\n", ["barfoo", "x/foo", "foox"]), ["barfoo", "x/foo"]);
  assertEquals(ignored("foo**\n", ["foobar/x", "foo", "xfoo"]), ["foobar/x", "foo"]);
});

Deno.test("classes and escapes", () => {
  assertEquals(ignored("[a-c].txt\n", ["a.txt", "b.txt", "d.txt"]), ["a.txt", "b.txt"]);
  assertEquals(ignored("[^a].txt\n", ["a.txt", "b.txt"]), ["b.txt"]);
  assertEquals(ignored("a\\*b\n", ["a*b", "axb"]), ["a*b"]);
  assertEquals(ignored("x]y\n", ["x]y"]), ["x]y"]);
  assertEquals(ignored("f.o+o(1)\n", ["f.o+o(1)", "fxo+o(1)"]), ["f.o+o(1)"]);
});

Deno.test("exceptions: the last matching pattern wins", () => {
  assertEquals(ignored("*.md\n!README.md\n", ["a.md", "README.md"]), ["a.md"]);
  assertEquals(ignored("!README.md\n*.md\n", ["a.md", "README.md"]), ["a.md", "README.md"]);
  assertEquals(
    ignored("docs\n!docs/keep\n", ["docs", "docs/keep", "docs/keep/x", "docs/other"]),
    ["docs", "docs/other"],
  );
  assertEquals(ignored("*\n!src\nsrc/*.tmp\n", ["src/a.ts", "src/b.tmp", "README"]), [
    "src/b.tmp",
    "README",
  ]);
});

Deno.test("the context root is never excluded; Dockerfile has no special case", () => {
  assertEquals(ignored("*\n", [".", "", "/", "Dockerfile", ".dockerignore"]), [
    "Dockerfile",
    ".dockerignore",
  ]);
  assertEquals(ignored("../x\n", ["x", "a/x"]), []);
});

Deno.test("planDirectory: skip a directory unless an exception may match below it", () => {
  const m = matcher("docs\n!docs/**/*.md\nbuild\n!other/keep\ncache/*\n!cache/x*/keep\n");
  assertEquals(planDirectory(m, "src"), "include");
  assertEquals(planDirectory(m, "docs"), "descend");
  assertEquals(planDirectory(m, "docs/sub"), "descend");
  assertEquals(planDirectory(m, "build"), "skip");
  assertEquals(planDirectory(m, "build/deep"), "skip");
  assertEquals(planDirectory(m, "cache"), "include");
  assertEquals(planDirectory(m, "cache/xa"), "descend");
  assertEquals(planDirectory(m, "cache/ya"), "skip");
  assertEquals(planDirectory(matcher("*\n!*/keep\n"), "any"), "descend");
  assertEquals(planDirectory(matcher("a\n!a\na\n"), "a"), "skip");
});

Deno.test("planDirectory never skips a directory holding an included path", () => {
  const files = [
    "docs/a.md",
    "docs/x/b.md",
    "docs/x/c.txt",
    "build/keep",
    "other/keep",
    "cache/xa/keep",
    "cache/ya/keep",
    "src/x/y.ts",
  ];
  const patterns = [
    "docs\n!docs/**/*.md\n",
    "*\n!other/keep\n",
    "cache/*\n!cache/x*/keep\n",
    "**/x\n!src/x/y.ts\n",
    "build\n!**/keep\n",
  ];
  for (const text of patterns) {
    const m = matcher(text);
    for (const file of files) {
      if (isIgnored(m, file)) continue;
      const parts = file.split("/");
      for (let i = 1; i < parts.length; i++) {
        const dir = parts.slice(0, i).join("/");
        assertEquals(
          planDirectory(m, dir) === "skip",
          false,
          `${text}: ${dir} skipped but ${file} included`,
        );
      }
    }
  }
});

Deno.test("bad patterns name the ignore file line", () => {
  assertThrows(
    () => compileIgnore(parseIgnoreFile("ok\n!\n")),
    TsnspawnError,
    ".dockerignore:2: illegal exception",
  );
  assertThrows(
    () => compileIgnore(parseIgnoreFile("a[\n"), ".containerignore"),
    TsnspawnError,
    ".containerignore:1: bad pattern",
  );
  assertThrows(() => compileIgnore(["x\\"]), TsnspawnError, ".dockerignore: bad pattern");
  assertThrows(() => compileIgnore(["[]"]), TsnspawnError, "bad pattern");
});

Deno.test("candidate ignore files, first existing wins", () => {
  assertEquals(ignoreFileCandidates("/ctx/", "Containerfile"), [
    "/ctx/Containerfile.containerignore",
    "/ctx/Containerfile.dockerignore",
    "/ctx/.containerignore",
    "/ctx/.dockerignore",
  ]);
  assertEquals(
    ignoreFileCandidates("/ctx", "/elsewhere/app.Dockerfile")[0],
    "/elsewhere/app.Dockerfile.containerignore",
  );
});

Deno.test("planDirectory property over random patterns and trees", () => {
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)];
  const names = ["a", "b", "ab", "x1"];
  const segments = ["a", "b", "*", "**", "x?", "[ab]", "a*", "*b"];
  for (let round = 0; round < 400; round++) {
    const lines = Array.from({ length: 1 + Math.floor(random() * 4) }, () => {
      const depth = 1 + Math.floor(random() * 3);
      const pattern = Array.from({ length: depth }, () => pick(segments)).join("/");
      return random() < 0.4 ? `!${pattern}` : pattern;
    });
    const m = matcher(lines.join("\n"));
    for (let f = 0; f < 30; f++) {
      const parts = Array.from({ length: 1 + Math.floor(random() * 4) }, () => pick(names));
      const file = parts.join("/");
      if (isIgnored(m, file)) continue;
      for (let i = 1; i < parts.length; i++) {
        const dir = parts.slice(0, i).join("/");
        assertEquals(
          planDirectory(m, dir) === "skip",
          false,
          `${lines}: ${dir} skipped, ${file} included`,
        );
      }
    }
  }
});

import { assertEquals, assertThrows } from "@std/assert";
import { TsnspawnError } from "../errors.ts";
import { lexContainerfile } from "./containerfile_lexer.ts";

const lines = (text: string) =>
  lexContainerfile(text, "Containerfile").lines.map((l) => [l.line, l.endLine, l.text]);

Deno.test("comments, blank lines and leading blanks", () => {
  assertEquals(
    lines("# comment\n\n   FROM a\n\t# indented comment\nRUN echo '# not a comment'\n"),
    [[3, 3, "FROM a"], [5, 5, "RUN echo '# not a comment'"]],
  );
});

Deno.test("continuations join lines and keep the continuation lines' blanks", () => {
  assertEquals(lines("RUN echo a \\\n    b\n"), [[1, 2, "RUN echo a     b"]]);
  assertEquals(lines("RUN a\\\nb\\\nc\nFROM x"), [[1, 3, "RUN abc"], [4, 4, "FROM x"]]);
  // trailing blanks after the escape still continue
  assertEquals(lines("RUN a \\  \t\nb"), [[1, 2, "RUN a b"]]);
  // an escaped escape does not continue
  assertEquals(lines("RUN a \\\\\nFROM b"), [[1, 1, "RUN a \\\\"], [2, 2, "FROM b"]]);
  // continuation at the end of the file
  assertEquals(lines("RUN a \\"), [[1, 1, "RUN a "]]);
  // CRLF line endings
  assertEquals(lines("FROM a\r\nRUN b \\\r\n c\r\n"), [[1, 1, "FROM a"], [2, 3, "RUN b  c"]]);
});

Deno.test("comments inside a continued instruction are dropped", () => {
  assertEquals(lines("RUN echo hello \\\n# comment\nworld\n"), [[1, 3, "RUN echo hello world"]]);
});

Deno.test("empty continuation lines are skipped with a warning", () => {
  const lexed = lexContainerfile("RUN a \\\n\n   \nb\n", "F");
  assertEquals(lexed.lines.map((l) => l.text), ["RUN a b"]);
  assertEquals(lexed.warnings.length, 1);
  assertEquals(lexed.warnings[0].line, 1);
});

Deno.test("a line that is only the escape character continues", () => {
  assertEquals(lines("RUN a \\\n\\\nb"), [[1, 3, "RUN a b"]]);
});

Deno.test("parser directives only at the top", () => {
  const lexed = lexContainerfile("# syntax=docker/dockerfile:1\n#  ESCAPE = `\nFROM a\n", "F");
  assertEquals(lexed.escape, "`");
  assertEquals(lexed.directives.map((d) => [d.name, d.value, d.line]), [
    ["syntax", "docker/dockerfile:1", 1],
    ["escape", "`", 2],
  ]);
  // after a comment, an instruction or a blank line they are comments
  assertEquals(lexContainerfile("# hello\n# escape=`\nFROM a", "F").escape, "\\");
  assertEquals(lexContainerfile("\n# escape=`\nFROM a", "F").escape, "\\");
  assertEquals(lexContainerfile("FROM a\n# escape=`\n", "F").escape, "\\");
  // an unknown directive ends them
  assertEquals(lexContainerfile("# foo=bar\n# escape=`\nFROM a", "F").escape, "\\");
});

Deno.test("bad directives", () => {
  assertThrows(
    () => lexContainerfile("# escape=`\n# escape=\\\nFROM a", "F"),
    TsnspawnError,
    "F:2: only one escape parser directive",
  );
  assertThrows(
    () => lexContainerfile("# escape=x\nFROM a", "F"),
    TsnspawnError,
    "F:1: invalid escape",
  );
});

Deno.test("the backtick escape continues lines and leaves backslashes alone", () => {
  assertEquals(lines("# escape=`\nFROM a\nCOPY x c:\\\nRUN dir c:\\ `\n  /w\n"), [
    [2, 2, "FROM a"],
    [3, 3, "COPY x c:\\"],
    [4, 5, "RUN dir c:\\   /w"],
  ]);
});

Deno.test("a byte-order mark is ignored", () => {
  assertEquals(lines("\uFEFF# escape=`\nFROM a `\n b"), [[2, 3, "FROM a  b"]]);
});

Deno.test("here-documents of RUN and COPY", () => {
  const lexed = lexContainerfile(
    "FROM a\nRUN <<EOF\necho 1\n  echo 2\nEOF\nCOPY <<-'A' <<B /dst/\n\tx $y\n\tA\nb\nB\nRUN echo done\n",
    "F",
  );
  assertEquals(lexed.lines.map((l) => [l.line, l.endLine, l.text]), [
    [1, 1, "FROM a"],
    [2, 5, "RUN <<EOF"],
    [6, 10, "COPY <<-'A' <<B /dst/"],
    [11, 11, "RUN echo done"],
  ]);
  assertEquals(lexed.lines[1].heredocs, [
    { name: "EOF", expand: true, chomp: false, content: "echo 1\n  echo 2\n" },
  ]);
  assertEquals(lexed.lines[2].heredocs, [
    { name: "A", expand: false, chomp: true, content: "\tx $y\n" },
    { name: "B", expand: true, chomp: false, content: "b\n" },
  ]);
});

Deno.test("here-document markers: fd, spaces, quoting and exec form", () => {
  const heredocs = (text: string) => lexContainerfile(text, "F").lines[0].heredocs;
  assertEquals(heredocs('RUN 3<< "X" cat\nbody\nX\n'), [
    { name: "X", expand: false, chomp: false, fd: 3, content: "body\n" },
  ]);
  assertEquals(heredocs("RUN cat <<\\EOF\n$x\nEOF")[0].expand, false);
  assertEquals(heredocs("RUN echo '<<EOF' \"<<X\"\n"), []);
  assertEquals(heredocs('RUN ["cat", "<<EOF"]\n'), []);
  assertEquals(heredocs("ONBUILD RUN <<EOF\nx\nEOF\n")[0].content, "x\n");
  // only RUN, COPY and ADD take here-documents
  assertEquals(heredocs("LABEL a=<<EOF\n"), []);
  // the delimiter line may contain the name with leading tabs only for <<-
  assertEquals(heredocs("RUN <<EOF\n\tEOF\nEOF\n")[0].content, "\tEOF\n");
});

Deno.test("an unterminated here-document names the instruction's line", () => {
  assertThrows(
    () => lexContainerfile("FROM a\nRUN <<EOF\necho\n", "Dockerfile"),
    TsnspawnError,
    "Dockerfile:2: unterminated here-document",
  );
});

/**
 * systemd's unit-file syntax: parse and format `[Section]` / `Key=value`
 * files, split values into words, expand `%` specifiers, read booleans.
 *
 * Follows systemd 252's own parser (src/shared/conf-parser.c, extract-word.c,
 * specifier.c; man pages systemd.syntax(7), systemd.unit(5) "Specifiers"):
 * - empty lines and lines starting with `#` or `;` are comments;
 * - a line ending in an unescaped backslash continues on the next line (the
 *   backslash becomes a space, the next line is appended as it is; comment
 *   lines inside a continuation are skipped, an empty line ends it); a
 *   continuation pending at the end of the file is kept;
 * - `[Name]` opens a section; `Key=value` is split at the first `=`, both
 *   sides stripped; keys may repeat (the consumer decides what repetition
 *   and an empty value mean — for lists, an empty value resets);
 * - assignments outside a section, lines without `=` and malformed section
 *   headers are problems (systemd ignores them with a warning); parsing goes
 *   on, so a validator can report all of them at once.
 *
 * Pure: no file system access. `formatUnitFile(parseUnitFile(t).file)`
 * re-parses to the same sections and entries (the round-trip property the
 * tests check), and `parseUnitFile` never throws on any input.
 */
import { TsnspawnError } from "../errors.ts";

/** One `Key=value` assignment. */
export interface UnitEntry {
  key: string;
  value: string;
  /** 1-based line where the assignment starts (0 when built in code). */
  line: number;
}

/** One `[Section]` with its assignments in file order. */
export interface UnitSection {
  name: string;
  /** 1-based line of the header (0 when built in code). */
  line: number;
  entries: UnitEntry[];
}

/** A parsed unit file: its sections in order (a name may appear more than once). */
export interface UnitFile {
  sections: UnitSection[];
}

/** A syntax or value problem at a line of a unit file. */
export interface UnitFileProblem {
  line: number;
  message: string;
  hint?: string;
}

/** What {@link parseUnitFile} returns: the file and every syntax problem found. */
export interface ParsedUnitFile {
  file: UnitFile;
  problems: UnitFileProblem[];
}

/** True when the line ends in a backslash that is not itself escaped. */
function endsWithContinuation(line: string): boolean {
  let backslashes = 0;
  for (let i = line.length - 1; i >= 0 && line[i] === "\\"; i--) backslashes++;
  return backslashes % 2 === 1;
}

/** systemd's strstrip: whitespace is space, tab, newline, carriage return. */
function strip(text: string): string {
  return text.replace(/^[ \t\n\r]+|[ \t\n\r]+$/g, "");
}

/** Parses unit-file text. Never throws: syntax problems are returned with their line. */
export function parseUnitFile(text: string): ParsedUnitFile {
  const sections: UnitSection[] = [];
  const problems: UnitFileProblem[] = [];
  let current: UnitSection | null = null;
  let continuation: { text: string; line: number } | null = null;

  const handle = (line: string, lineNo: number) => {
    if (line.startsWith("[")) {
      if (!line.endsWith("]") || line.length < 2) {
        problems.push({ line: lineNo, message: `invalid section header ${JSON.stringify(line)}` });
        current = null; // like systemd: what follows belongs to no section
        return;
      }
      current = { name: line.slice(1, -1), line: lineNo, entries: [] };
      sections.push(current);
      return;
    }
    const eq = line.indexOf("=");
    if (eq === -1) {
      problems.push({
        line: lineNo,
        message: `missing '=' in ${JSON.stringify(line.slice(0, 80))}`,
      });
      return;
    }
    const key = strip(line.slice(0, eq));
    const value = strip(line.slice(eq + 1));
    if (key === "") {
      problems.push({ line: lineNo, message: "assignment without a key" });
      return;
    }
    if (!current) {
      problems.push({ line: lineNo, message: `${key}= is outside of any section` });
      return;
    }
    (current as UnitSection).entries.push({ key, value, line: lineNo });
  };

  const lines = text.replace(/^\uFEFF/, "").split("\n");
  lines.forEach((rawLine, index) => {
    const raw = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
    // Comment lines are skipped everywhere, also inside a continuation.
    if (/^[ \t\n\r]*[#;]/.test(raw)) return;
    const text = continuation ? continuation.text + raw : raw;
    const start = continuation ? continuation.line : index + 1;
    if (endsWithContinuation(text)) {
      // Lines are joined unstripped, the backslash becoming a space (conf-parser.c).
      continuation = { text: text.slice(0, -1) + " ", line: start };
      return;
    }
    continuation = null;
    const line = strip(text);
    if (line !== "") handle(line, start);
  });
  if (continuation) {
    const { text: pending, line } = continuation as { text: string; line: number };
    const stripped = strip(pending);
    if (stripped !== "") handle(stripped, line);
  }
  return { file: { sections }, problems };
}

/**
 * Formats a unit file: `[Section]` headers, `Key=value` lines, a blank line
 * between sections. Throws for what unit-file syntax cannot express (a
 * newline, surrounding whitespace, or a trailing backslash in a value; a key
 * that would not parse back).
 */
export function formatUnitFile(file: UnitFile): string {
  const out: string[] = [];
  for (const section of file.sections) {
    if (section.name.includes("\n")) {
      throw new TsnspawnError(
        "invalid",
        `section name ${JSON.stringify(section.name)}: cannot be written to a unit file`,
      );
    }
    if (out.length > 0) out.push("");
    out.push(`[${section.name}]`);
    for (const { key, value } of section.entries) {
      if (key === "" || strip(key) !== key || /[=\n]/.test(key) || /^[[#;]/.test(key)) {
        throw new TsnspawnError(
          "invalid",
          `key ${JSON.stringify(key)}: cannot be written to a unit file`,
        );
      }
      if (value.includes("\n") || strip(value) !== value || endsWithContinuation(value)) {
        throw new TsnspawnError(
          "invalid",
          `${key}=${JSON.stringify(value)}: cannot be written to a unit file`,
          {
            hint: "values are single lines without surrounding whitespace or a trailing backslash",
          },
        );
      }
      out.push(`${key}=${value}`);
    }
  }
  return out.map((l) => l + "\n").join("");
}

/** All entries of the sections called `name`, in file order. */
export function sectionEntries(file: UnitFile, name: string): UnitEntry[] {
  return file.sections.filter((s) => s.name === name).flatMap((s) => s.entries);
}

// ---------------------------------------------------------------------------
// Words and quoting (extract_first_word with EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE)

/** C escapes after a backslash (cunescape_one), besides \x, \u, \U and octal. */
const SIMPLE_ESCAPES: Record<string, string> = {
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
  "\\": "\\",
  '"': '"',
  "'": "'",
  s: " ",
};

/** Decodes the escape starting after the backslash at `text[i]`; returns [char, length]. */
function unescapeOne(text: string, i: number): [string, number] {
  const c = text[i];
  if (c === undefined) throw new TsnspawnError("invalid", "a backslash ends the value");
  if (Object.hasOwn(SIMPLE_ESCAPES, c)) return [SIMPLE_ESCAPES[c], 1];
  const hex = (digits: number) => {
    const part = text.slice(i + 1, i + 1 + digits);
    if (part.length !== digits || !/^[0-9a-fA-F]+$/.test(part)) {
      throw new TsnspawnError("invalid", `bad escape \\${text.slice(i, i + 1 + digits)}`);
    }
    const code = parseInt(part, 16);
    if (code === 0 || code > 0x10ffff) {
      throw new TsnspawnError("invalid", `bad escape \\${c}${part}: not a character`);
    }
    return String.fromCodePoint(code);
  };
  if (c === "x") return [hex(2), 3];
  if (c === "u") return [hex(4), 5];
  if (c === "U") return [hex(8), 9];
  if (/[0-7]/.test(c)) {
    const part = text.slice(i, i + 3);
    if (!/^[0-7]{3}$/.test(part)) {
      throw new TsnspawnError("invalid", `bad escape \\${part}: octal needs three digits`);
    }
    const code = parseInt(part, 8);
    if (code === 0 || code > 0xff) throw new TsnspawnError("invalid", `bad escape \\${part}`);
    return [String.fromCharCode(code), 3];
  }
  throw new TsnspawnError("invalid", `unknown escape \\${c}`, {
    hint: "write \\\\ for a backslash",
  });
}

const WHITESPACE = /[ \t\n\r]/;

/**
 * Splits a value into words like systemd's command lines and list settings:
 * whitespace separates words; `"…"` and `'…'` quote (also in the middle of
 * a word: `a"b c"` is one word `ab c`); backslash escapes (C style: `\n`,
 * `\"`, `\\`, `\x41`, `\101`, `\u00e9`, `\s`) work everywhere. Throws
 * `TsnspawnError("invalid")` for an unterminated quote, a bad escape or a NUL.
 */
export function splitWords(value: string): string[] {
  if (value.includes("\0")) {
    throw new TsnspawnError("invalid", "the value contains a NUL character");
  }
  const words: string[] = [];
  let i = 0;
  while (i < value.length) {
    while (i < value.length && WHITESPACE.test(value[i])) i++;
    if (i >= value.length) break;
    let word = "";
    let quote: string | null = null;
    for (; i < value.length; i++) {
      const c = value[i];
      if (c === "\\") {
        const [char, length] = unescapeOne(value, i + 1);
        word += char;
        i += length;
      } else if (quote) {
        if (c === quote) quote = null;
        else word += c;
      } else if (c === '"' || c === "'") {
        quote = c;
      } else if (WHITESPACE.test(c)) {
        break;
      } else {
        word += c;
      }
    }
    if (quote) throw new TsnspawnError("invalid", `unterminated ${quote} quote`);
    words.push(word);
  }
  return words;
}

/** Quotes one word so {@link splitWords} gives it back (bare when it is plain). */
export function quoteWord(word: string): string {
  if (word !== "" && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  let out = '"';
  for (const c of word) {
    if (c === '"' || c === "\\") out += "\\" + c;
    else if (c === "\n") out += "\\n";
    else if (c === "\t") out += "\\t";
    else if (c === "\r") out += "\\r";
    else if (c < " " || c === "\x7f") out += "\\x" + c.charCodeAt(0).toString(16).padStart(2, "0");
    else out += c;
  }
  return out + '"';
}

/** Joins words into a value that {@link splitWords} splits back into them. */
export function joinWords(words: readonly string[]): string {
  return words.map(quoteWord).join(" ");
}

// ---------------------------------------------------------------------------
// Booleans and specifiers

/** systemd's parse_boolean words. */
const BOOLEANS: Record<string, boolean> = {
  "1": true,
  yes: true,
  y: true,
  true: true,
  t: true,
  on: true,
  "0": false,
  no: false,
  n: false,
  false: false,
  f: false,
  off: false,
};

/** Parses a systemd boolean (yes/no, true/false, on/off, 1/0, …; any case). */
export function parseUnitBoolean(value: string): boolean {
  const key = value.toLowerCase();
  if (!Object.hasOwn(BOOLEANS, key)) {
    throw new TsnspawnError("invalid", `boolean ${JSON.stringify(value)}: not yes or no`, {
      hint: "write yes/no, true/false, on/off or 1/0",
    });
  }
  return BOOLEANS[key];
}

/**
 * Replaces `%X` specifiers with `specifiers[X]`; `%%` is a literal `%`.
 * Throws for an unknown specifier or a trailing `%` (as systemd does).
 */
export function expandSpecifiers(
  text: string,
  specifiers: Readonly<Record<string, string>>,
): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c !== "%") {
      out += c;
      continue;
    }
    const next = text[++i];
    if (next === "%") {
      out += "%";
    } else if (next !== undefined && Object.hasOwn(specifiers, next)) {
      out += specifiers[next];
    } else {
      throw new TsnspawnError(
        "invalid",
        next === undefined ? "a '%' ends the value" : `unknown specifier %${next}`,
        {
          hint: `write %% for a literal %; known specifiers: ${
            Object.keys(specifiers).map((k) => "%" + k).join(" ")
          }`,
        },
      );
    }
  }
  return out;
}

/** Escapes `%` as `%%` so systemd's specifier expansion leaves the text as it is. */
export function escapeSpecifiers(text: string): string {
  return text.replaceAll("%", "%%");
}

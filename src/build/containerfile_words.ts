/**
 * Splitting one logical Containerfile line into its parts (pure): the
 * instruction keyword, the `--flag=value` options, the argument words, the
 * JSON (exec form) arrays and the here-document markers.
 *
 * Spec: Dockerfile reference (https://docs.docker.com/reference/dockerfile/),
 * sections "Format", "Shell and exec form" and "Here-Documents"; the details
 * follow BuildKit's parser (moby/buildkit frontend/dockerfile/parser), which
 * buildah uses through openshift/imagebuilder:
 *
 * - Options are the leading words that start with `--`; `--` alone ends them.
 *   Quotes inside an option are removed and the escape character escapes.
 * - ENV, LABEL and ARG split on whitespace outside quotes, keeping the quotes
 *   for the later variable substitution; EXPOSE, VOLUME, COPY and ADD split on
 *   plain whitespace.
 * - An argument text that starts with `[` and parses as a JSON array of
 *   strings is the exec form. Docker silently runs an unparsable one through
 *   the shell; tsnspawn rejects text that looks like a broken JSON array (see
 *   `looksLikeExecForm`) with an error instead.
 * - A here-document marker is a word `[n]<<[-]WORD`; quoting any part of WORD
 *   (quotes or a backslash) turns expansion of the body off (POSIX rule).
 */

/** A here-document marker found in an instruction line. */
export interface HeredocMarker {
  /** The delimiter with quotes removed. */
  name: string;
  /** False when the delimiter was quoted: the body is taken literally. */
  expand: boolean;
  /** `<<-`: leading tabs are stripped from the body and the delimiter line. */
  chomp: boolean;
  /** The file descriptor digits before `<<`, if any. */
  fd?: number;
}

const WHITESPACE = /\s/u;

/** The keyword and the text after it (trimmed). */
export function splitKeyword(line: string): { keyword: string; rest: string } {
  const trimmed = line.trim();
  const match = /^(\S+)(?:\s+([^]*))?$/u.exec(trimmed);
  if (!match) return { keyword: "", rest: "" };
  return { keyword: match[1], rest: (match[2] ?? "").trim() };
}

/** Leading `--name[=value]` options and the remaining argument text. */
export function extractFlags(text: string, escape: string): { flags: string[]; rest: string } {
  const flags: string[] = [];
  const chars = Array.from(text);
  let pos = 0;
  for (;;) {
    while (pos < chars.length && WHITESPACE.test(chars[pos])) pos++;
    if (pos >= chars.length) return { flags, rest: "" };
    if (chars[pos] !== "-" || chars[pos + 1] !== "-") {
      return { flags, rest: chars.slice(pos).join("").trim() };
    }
    let word = "";
    let quote: string | undefined;
    for (; pos < chars.length; pos++) {
      const ch = chars[pos];
      if (quote === undefined && WHITESPACE.test(ch)) break;
      if (quote === undefined && (ch === "'" || ch === '"')) {
        quote = ch;
        continue;
      }
      if (quote !== undefined && ch === quote) {
        quote = undefined;
        continue;
      }
      if (ch === escape && (quote === undefined || quote === '"')) {
        if (pos + 1 < chars.length) word += chars[++pos];
        continue;
      }
      word += ch;
    }
    if (word === "--") {
      return { flags, rest: chars.slice(pos).join("").trim() };
    }
    flags.push(word);
  }
}

/**
 * Words separated by whitespace outside quotes; quotes and escapes are kept
 * for the variable substitution that follows (ENV, LABEL, ARG).
 */
export function splitQuotedWords(text: string, escape: string): string[] {
  const words: string[] = [];
  const chars = Array.from(text);
  let word = "";
  let inWord = false;
  let quote: string | undefined;
  for (let pos = 0; pos < chars.length; pos++) {
    const ch = chars[pos];
    if (quote === undefined) {
      if (WHITESPACE.test(ch)) {
        if (inWord) words.push(word);
        word = "";
        inWord = false;
        continue;
      }
      inWord = true;
      if (ch === "'" || ch === '"') quote = ch;
      if (ch === escape && pos + 1 < chars.length) {
        word += ch + chars[++pos];
        continue;
      }
      if (ch === escape) continue; // a lone escape at the end is dropped
      word += ch;
      continue;
    }
    if (ch === quote) quote = undefined;
    else if (ch === escape && quote === '"' && pos + 1 < chars.length) {
      word += ch + chars[++pos];
      continue;
    }
    word += ch;
  }
  if (inWord) words.push(word);
  return words;
}

/** Words separated by plain whitespace (EXPOSE, VOLUME, COPY and ADD shell form). */
export function splitWhitespace(text: string): string[] {
  return text.split(/\s+/u).filter((word) => word !== "");
}

/** The outcome of reading an argument text as an exec-form JSON array. */
export type JsonArrayResult =
  | { kind: "array"; values: string[] }
  | { kind: "not-json" }
  | { kind: "bad"; reason: string };

/** Reads `text` as a JSON array of strings if it is one (or looks like one). */
export function parseJsonArray(text: string): JsonArrayResult {
  const trimmed = text.trim();
  if (!trimmed.startsWith("[")) return { kind: "not-json" };
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch (error) {
    if (!looksLikeExecForm(trimmed)) return { kind: "not-json" };
    return { kind: "bad", reason: error instanceof Error ? error.message : String(error) };
  }
  if (!Array.isArray(parsed)) return { kind: "not-json" };
  if (!parsed.every((value) => typeof value === "string")) {
    return { kind: "bad", reason: "every element must be a string" };
  }
  return { kind: "array", values: parsed as string[] };
}

/**
 * True for text meant as an exec form that is not valid JSON: `[...]` with a
 * comma between elements outside quotes, or a single single-quoted element
 * (`['app']`). A shell test like `[ -f x ] && y` or `[ "$A" = b ]` does not.
 */
export function looksLikeExecForm(text: string): boolean {
  const trimmed = text.trim();
  if (!trimmed.startsWith("[") || !trimmed.endsWith("]")) return false;
  const inner = trimmed.slice(1, -1).trim();
  if (/^'[^']*'$/u.test(inner)) return true;
  let quote: string | undefined;
  for (let i = 0; i < inner.length; i++) {
    const ch = inner[i];
    if (quote !== undefined) {
      if (ch === "\\" && quote === '"') i++;
      else if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === ",") return true;
  }
  return false;
}

/**
 * The here-document markers of an instruction line, in order. Words are
 * split as BuildKit does: quotes and escapes kept, `<<` glued to the
 * delimiter even across spaces.
 */
export function findHeredocMarkers(line: string): HeredocMarker[] {
  const markers: HeredocMarker[] = [];
  for (const word of rawWords(line)) {
    const marker = parseHeredocMarker(word);
    if (marker) markers.push(marker);
  }
  return markers;
}

/** A single word `[n]<<[-]WORD` as a marker, or undefined. */
export function parseHeredocMarker(word: string): HeredocMarker | undefined {
  const match = /^(\d*)<<(-?)\s*([^<]*)$/u.exec(word);
  if (!match || match[3] === "") return undefined;
  const name = unquoteSingleWord(match[3]);
  if (name === undefined || name === "") return undefined;
  const quoted = /["'\\]/u.test(match[3]);
  const marker: HeredocMarker = { name, expand: !quoted, chomp: match[2] === "-" };
  if (match[1] !== "") marker.fd = Number(match[1]);
  return marker;
}

/** Quote removal of a delimiter word; undefined if it is not one word. */
function unquoteSingleWord(text: string): string | undefined {
  let out = "";
  let quote: string | undefined;
  const chars = Array.from(text);
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i];
    if (quote === "'") {
      if (ch === "'") quote = undefined;
      else out += ch;
    } else if (quote === '"') {
      if (ch === '"') quote = undefined;
      else if (ch === "\\" && i + 1 < chars.length && '"$\\'.includes(chars[i + 1])) {
        out += chars[++i];
      } else out += ch;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === "\\") {
      if (i + 1 < chars.length) out += chars[++i];
    } else if (WHITESPACE.test(ch)) return undefined;
    else out += ch;
  }
  return quote === undefined ? out : undefined;
}

/** Whitespace-separated words keeping quotes and escapes; `<<` absorbs following blanks. */
function rawWords(line: string): string[] {
  const words: string[] = [];
  const chars = Array.from(line);
  let word = "";
  let quote: string | undefined;
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i];
    if (quote !== undefined) {
      word += ch;
      if (ch === "\\" && quote === '"' && i + 1 < chars.length) word += chars[++i];
      else if (ch === quote) quote = undefined;
      continue;
    }
    if (WHITESPACE.test(ch)) {
      if (word !== "") words.push(word);
      word = "";
      continue;
    }
    if (ch === "'" || ch === '"') quote = ch;
    if (ch === "\\" && i + 1 < chars.length) {
      word += ch + chars[++i];
      continue;
    }
    word += ch;
    if (ch === "<" && chars[i + 1] === "<") {
      word += chars[++i];
      while (i + 1 < chars.length && (chars[i + 1] === " " || chars[i + 1] === "\t")) {
        word += chars[++i];
      }
    }
  }
  if (word !== "") words.push(word);
  return words;
}

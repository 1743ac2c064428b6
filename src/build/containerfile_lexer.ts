/**
 * Containerfile text → logical lines (pure): parser directives, comments,
 * line continuations and here-document bodies, each line with the source
 * line numbers it came from.
 *
 * Spec: Dockerfile reference (https://docs.docker.com/reference/dockerfile/),
 * "Format", "Parser directives" and "Here-Documents", with BuildKit's parser
 * as the reference for the corner cases (buildah parses with the same code):
 *
 * - Directives (`# syntax=`, `# escape=`, `# check=`) count only before any
 *   comment, blank line or instruction; an unknown one ends them; a repeated
 *   one is an error. `escape` must be `\` or a backtick.
 * - A line whose first non-blank character is `#` is a comment, also inside a
 *   continued instruction (it is skipped there). Leading blanks of an
 *   instruction are dropped; those of its continuation lines are kept.
 * - The escape character as the last non-blank character continues the line
 *   (unless it is itself escaped); blank continuation lines are skipped with
 *   a warning, as docker does.
 * - RUN, COPY and ADD in shell form (also under ONBUILD) may carry
 *   here-documents: the body is the following lines up to the delimiter line
 *   (leading tabs ignored for `<<-`).
 */
import { TsnspawnError } from "../errors.ts";
import {
  extractFlags,
  findHeredocMarkers,
  type HeredocMarker,
  parseJsonArray,
  splitKeyword,
} from "./containerfile_words.ts";

/** A parser directive from the top of the file. */
export interface Directive {
  name: "syntax" | "escape" | "check";
  value: string;
  line: number;
}

/** A here-document attached to an instruction: its marker and its raw body. */
export interface HeredocBody extends HeredocMarker {
  /** The body lines with their line endings, not yet chomped or expanded. */
  content: string;
}

/** One instruction's text, continuation lines joined, with its line range. */
export interface LogicalLine {
  text: string;
  line: number;
  endLine: number;
  heredocs: HeredocBody[];
}

/** Something legal but suspicious, reported to the user. */
export interface Warning {
  line: number;
  message: string;
}

/** The lexed file. */
export interface LexedFile {
  escape: string;
  directives: Directive[];
  lines: LogicalLine[];
  warnings: Warning[];
}

const HEREDOC_INSTRUCTIONS = new Set(["run", "copy", "add"]);
const DIRECTIVE = /^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/u;
const KNOWN_DIRECTIVES = new Set(["syntax", "escape", "check"]);

function lexError(file: string, line: number, message: string, hint?: string): TsnspawnError {
  return new TsnspawnError("invalid", `${file}:${line}: ${message}`, { hint });
}

/** Physical lines with their line endings. */
function physicalLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/gu) ?? [];
}

function withoutNewline(line: string): string {
  return line.replace(/\r?\n$/u, "").replace(/\r$/u, "");
}

function isComment(line: string): boolean {
  return /^\s*#/u.test(line);
}

/** Removes a trailing continuation escape; `continued` tells whether there was one. */
function trimContinuation(line: string, escape: string): { text: string; continued: boolean } {
  const e = escape === "`" ? "`" : "\\\\";
  const match = new RegExp(`(^|[^${e}])${e}[ \\t]*$`, "u").exec(line);
  if (!match) return { text: line, continued: false };
  return { text: line.slice(0, match.index) + match[1], continued: true };
}

/** Whether an instruction line may carry here-documents (shell-form RUN/COPY/ADD). */
function mayHaveHeredocs(line: string, escape: string): boolean {
  let { keyword, rest } = splitKeyword(line);
  if (keyword.toLowerCase() === "onbuild") ({ keyword, rest } = splitKeyword(rest));
  if (!HEREDOC_INSTRUCTIONS.has(keyword.toLowerCase())) return false;
  const args = extractFlags(rest, escape).rest;
  return parseJsonArray(args).kind !== "array";
}

/** Splits Containerfile text into logical instruction lines. */
export function lexContainerfile(text: string, file: string): LexedFile {
  const lines = physicalLines(text.startsWith("\uFEFF") ? text.slice(1) : text);
  const result: LexedFile = { escape: "\\", directives: [], lines: [], warnings: [] };
  let directivesOpen = true;
  let i = 0;
  while (i < lines.length) {
    const lineNumber = ++i;
    const first = withoutNewline(lines[lineNumber - 1]).replace(/^\s+/u, "");
    if (directivesOpen) {
      directivesOpen = readDirective(first, lineNumber, file, result);
      if (directivesOpen) continue;
    }
    if (isComment(first)) continue;
    let { text: joined, continued } = trimContinuation(first, result.escape);
    if (!continued && joined === "") continue;
    let blankContinuation = false;
    while (continued && i < lines.length) {
      const raw = lines[i++];
      if (isComment(raw)) continue;
      const content = withoutNewline(raw);
      if (content.trim() === "") {
        blankContinuation = true;
        continue;
      }
      const trimmed = trimContinuation(content, result.escape);
      joined += trimmed.text;
      continued = trimmed.continued;
    }
    if (blankContinuation) {
      result.warnings.push({
        line: lineNumber,
        message: "empty continuation line (docker warns that it will become an error)",
      });
    }
    const heredocs: HeredocBody[] = [];
    if (joined.includes("<<") && mayHaveHeredocs(joined, result.escape)) {
      for (const marker of findHeredocMarkers(joined)) {
        let content = "";
        let terminated = false;
        while (i < lines.length) {
          const raw = lines[i++];
          let candidate = withoutNewline(raw);
          if (marker.chomp) candidate = candidate.replace(/^\t+/u, "");
          if (candidate === marker.name) {
            terminated = true;
            break;
          }
          content += raw;
        }
        if (!terminated) {
          throw lexError(
            file,
            lineNumber,
            `unterminated here-document: no line "${marker.name}" ends it`,
            `end the here-document with a line holding only ${marker.name}`,
          );
        }
        heredocs.push({ ...marker, content });
      }
    }
    result.lines.push({ text: joined, line: lineNumber, endLine: i, heredocs });
  }
  return result;
}

/** Records a directive line; false when directives are over (this line is not one). */
function readDirective(line: string, lineNumber: number, file: string, result: LexedFile): boolean {
  if (!line.startsWith("#")) return false;
  const match = DIRECTIVE.exec(line.slice(1).replace(/^\s+/u, ""));
  if (!match) return false;
  const name = match[1].toLowerCase();
  if (!KNOWN_DIRECTIVES.has(name)) return false;
  if (result.directives.some((d) => d.name === name)) {
    throw lexError(file, lineNumber, `only one ${name} parser directive can be used`);
  }
  const value = match[2];
  if (name === "escape") {
    if (value !== "\\" && value !== "`") {
      throw lexError(
        file,
        lineNumber,
        `invalid escape character ${JSON.stringify(value)}`,
        "the escape directive takes \\ or ` (backtick)",
      );
    }
    result.escape = value;
  }
  result.directives.push({ name: name as Directive["name"], value, line: lineNumber });
  return true;
}

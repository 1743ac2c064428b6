/**
 * .containerignore/.dockerignore patterns (pure): which context paths COPY
 * and ADD may see, and whether a directory walk can skip a whole directory.
 *
 * Spec: "Build context — .dockerignore files"
 * (https://docs.docker.com/build/concepts/context/#dockerignore-files) with
 * the behaviour of moby/patternmatcher (ignorefile.ReadAll, New,
 * MatchesOrParentMatches), which docker, BuildKit and buildah use:
 *
 * - One pattern per line; a line starting with `#` is a comment; blanks
 *   around a pattern are trimmed; a UTF-8 BOM is ignored.
 * - Patterns are cleaned like Go's filepath.Clean (`./a//b/` is `a/b`) and a
 *   leading `/` is dropped: patterns are relative to the context root.
 * - Go's filepath.Match syntax: `*` any run of non-`/`, `?` one non-`/`,
 *   `[...]` a class, `\` escapes; plus `**` for any number of directories
 *   (zero included). A pattern matches a path or any of its parent
 *   directories (excluding `a` excludes everything below it).
 * - `!pattern` re-includes; the last pattern that matches decides.
 * - The context root itself is never excluded. The Containerfile and the
 *   ignore file may be excluded: the builder reads them anyway, COPY does not
 *   see them (docker's rule).
 *
 * The ignore file found first among `ignoreFileCandidates` is used
 * (buildah's order: `<Containerfile>.containerignore`, then
 * `<Containerfile>.dockerignore`, `.containerignore`, `.dockerignore`).
 */
import { TsnspawnError } from "../errors.ts";
import { cleanPath } from "./clean_path.ts";

export { cleanPath };

/** A pattern line of an ignore file. */
export interface IgnoreLine {
  /** The cleaned pattern, with a leading `!` for an exception. */
  pattern: string;
  line: number;
}

/** One compiled pattern. */
export interface IgnorePattern {
  /** The cleaned pattern without `!`. */
  pattern: string;
  /** `!pattern`: matching paths are included again. */
  exception: boolean;
  line?: number;
  /** Whether the pattern matches a cleaned, relative, slash-separated path. */
  matches(path: string): boolean;
}

/** Compiled patterns, in file order. */
export interface IgnoreMatcher {
  patterns: IgnorePattern[];
  /** True if some pattern is an exception (directories then need a closer look). */
  hasExceptions: boolean;
}

/** What a context walk does with a directory. */
export type DirectoryDecision =
  | "include" // the directory is included; look at its entries one by one
  | "skip" // the directory and everything below it are excluded
  | "descend"; // it is excluded, but an exception may include something below it

/** The patterns of an ignore file's text (moby/patternmatcher ignorefile.ReadAll). */
export function parseIgnoreFile(text: string): IgnoreLine[] {
  const lines: IgnoreLine[] = [];
  const rows = (text.startsWith("\uFEFF") ? text.slice(1) : text).split("\n");
  rows.forEach((row, index) => {
    if (row.startsWith("#")) return;
    let pattern = row.trim();
    if (pattern === "") return;
    const exception = pattern.startsWith("!");
    if (exception) pattern = pattern.slice(1).trim();
    if (pattern !== "") {
      pattern = cleanPath(pattern);
      if (pattern.length > 1 && pattern.startsWith("/")) pattern = pattern.slice(1);
    }
    lines.push({ pattern: exception ? `!${pattern}` : pattern, line: index + 1 });
  });
  return lines;
}

/** Compiles patterns (strings or parsed lines); a bad pattern names its line. */
export function compileIgnore(
  patterns: (string | IgnoreLine)[],
  file = ".dockerignore",
): IgnoreMatcher {
  const compiled: IgnorePattern[] = [];
  for (const entry of patterns) {
    const { pattern: raw, line } = typeof entry === "string"
      ? { pattern: entry, line: undefined }
      : entry;
    let text = raw.trim();
    if (text === "") continue;
    const exception = text.startsWith("!");
    if (exception) text = text.slice(1);
    const where = line === undefined ? file : `${file}:${line}`;
    if (text === "") {
      throw new TsnspawnError("invalid", `${where}: illegal exception pattern "!"`, {
        hint: "write !<pattern> to include paths again",
      });
    }
    text = cleanPath(text);
    let matches: (path: string) => boolean;
    try {
      matches = compilePattern(text);
    } catch {
      throw new TsnspawnError("invalid", `${where}: bad pattern ${JSON.stringify(raw)}`, {
        hint: "patterns use *, ?, ** and [classes]; escape special characters with \\",
      });
    }
    compiled.push({ pattern: text, exception, ...(line === undefined ? {} : { line }), matches });
  }
  return { patterns: compiled, hasExceptions: compiled.some((p) => p.exception) };
}

/** True if the context path is excluded (moby's MatchesOrParentMatches). */
export function isIgnored(matcher: IgnoreMatcher, path: string): boolean {
  const clean = cleanPath(path).replace(/^\/+/u, "");
  if (clean === "." || clean === "") return false;
  const parts = clean.split("/");
  const parents = parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join("/"));
  let ignored = false;
  for (const pattern of matcher.patterns) {
    if (pattern.matches(clean) || parents.some((parent) => pattern.matches(parent))) {
      ignored = !pattern.exception;
    }
  }
  return ignored;
}

/** What a walk of the context does with directory `dir` (see DirectoryDecision). */
export function planDirectory(matcher: IgnoreMatcher, dir: string): DirectoryDecision {
  if (!isIgnored(matcher, dir)) return "include";
  const segments = cleanPath(dir).replace(/^\/+/u, "").split("/");
  const mayInclude = matcher.patterns.some((pattern) =>
    pattern.exception && mayMatchBelow(pattern.pattern.split("/"), segments)
  );
  return mayInclude ? "descend" : "skip";
}

/** Candidate ignore files, first existing wins: per-Containerfile ones, then the context's. */
export function ignoreFileCandidates(contextDir: string, containerfile: string): string[] {
  const base = contextDir.replace(/\/+$/u, "") || "/";
  const file = containerfile.startsWith("/") ? containerfile : `${base}/${containerfile}`;
  return [
    `${file}.containerignore`,
    `${file}.dockerignore`,
    `${base}/.containerignore`,
    `${base}/.dockerignore`,
  ].map(cleanPath);
}

/** Could a pattern (split on `/`) match some path strictly below `dir`? Conservative. */
function mayMatchBelow(pattern: string[], dir: string[]): boolean {
  if (pattern.length === 0) return false;
  if (dir.length === 0) return true;
  const [head, ...tail] = pattern;
  if (head.includes("**")) return true;
  let segmentMatches: boolean;
  try {
    segmentMatches = compilePattern(head)(dir[0]);
  } catch {
    return true;
  }
  return segmentMatches && mayMatchBelow(tail, dir.slice(1));
}

function escapeRegExp(ch: string): string {
  return /[\\^$.*+?()[\]{}|/-]/u.test(ch) ? `\\${ch}` : ch;
}

/**
 * A matcher for one path component in Go's filepath.Match syntax (`*`, `?`,
 * `[...]`, `\` escapes), as COPY/ADD sources use it.
 * @throws Error for a malformed pattern (an unclosed class, a trailing `\`).
 */
export function compileGlob(pattern: string): (name: string) => boolean {
  return compilePattern(pattern);
}

/** Whether a COPY/ADD source component holds glob characters. */
export function hasGlob(component: string): boolean {
  return /[*?[\\]/u.test(component);
}

/**
 * A matcher for one cleaned pattern. Like moby/patternmatcher, a pattern
 * without wildcards compares exactly, `**` at the start compares the suffix
 * and a trailing `**` the prefix; the rest becomes a regular expression.
 */
function compilePattern(pattern: string): (path: string) => boolean {
  const chars = Array.from(pattern);
  let type: "exact" | "prefix" | "suffix" | "regexp" = "exact";
  let source = "";
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i];
    const first = i === 0;
    if (ch === "*" && chars[i + 1] === "*") {
      i++;
      if (chars[i + 1] === "/") i++;
      if (i + 1 >= chars.length) {
        if (type === "exact") type = "prefix";
        else {
          source += "[^]*";
          type = "regexp";
        }
      } else {
        source += "(?:[^]*/)?";
        type = "regexp";
      }
      if (first) type = "suffix";
    } else if (ch === "*") {
      source += "[^/]*";
      type = "regexp";
    } else if (ch === "?") {
      source += "[^/]";
      type = "regexp";
    } else if (ch === "\\") {
      if (i + 1 >= chars.length) throw new Error("trailing backslash");
      source += escapeRegExp(chars[++i]);
      type = "regexp";
    } else if (ch === "[") {
      const end = classEnd(chars, i);
      source += classToRegExp(chars.slice(i + 1, end));
      i = end;
      type = "regexp";
    } else if (ch === "]") {
      source += "\\]";
      type = "regexp";
    } else source += escapeRegExp(ch);
  }
  switch (type) {
    case "exact":
      return (path) => path === pattern;
    case "prefix": {
      const prefix = pattern.slice(0, -2);
      return (path) => path.startsWith(prefix);
    }
    case "suffix": {
      const suffix = pattern.slice(2);
      return (path) =>
        path.endsWith(suffix) || (suffix.startsWith("/") && path === suffix.slice(1));
    }
    case "regexp": {
      const regex = new RegExp(`^${source}$`, "u");
      return (path) => regex.test(path);
    }
  }
}

/** A class body (between the brackets) as a regular expression class. */
function classToRegExp(body: string[]): string {
  let out = "[";
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (i === 0 && ch === "^") out += "^";
    else if (ch === "\\") {
      const next = body[++i];
      out += /[\\\]\[^-]/u.test(next) ? `\\${next}` : next;
    } else if (ch === "]" || ch === "[") out += `\\${ch}`;
    else out += ch;
  }
  return `${out}]`;
}

/** Index of the `]` closing the class that opens at `start`. */
function classEnd(chars: string[], start: number): number {
  let i = start + 1;
  if (chars[i] === "^") i++;
  if (chars[i] === "]") throw new Error("empty class");
  for (; i < chars.length; i++) {
    if (chars[i] === "\\") i++;
    else if (chars[i] === "]") return i;
  }
  throw new Error("unclosed class");
}

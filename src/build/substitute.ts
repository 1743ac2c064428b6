/**
 * Variable substitution in Containerfile words (pure).
 *
 * Spec: Dockerfile reference, "Environment replacement"
 * (https://docs.docker.com/reference/dockerfile/#environment-replacement) and
 * the behaviour of BuildKit's shell lexer (moby/buildkit frontend/dockerfile/shell),
 * which buildah uses through openshift/imagebuilder:
 *
 * - `$NAME` and `${NAME}`; an unset variable is empty. `$` not followed by a
 *   name stays `$`. `$1` (positional) and `$@` (special) are names that are
 *   never set.
 * - `${NAME:-word}` / `${NAME-word}`: word when unset-or-empty / unset;
 *   `${NAME:+word}` / `${NAME+word}`: word when set-and-non-empty / set;
 *   `${NAME:?msg}` / `${NAME?msg}`: error when unset-or-empty / unset;
 *   `${NAME#pat}`, `${NAME##pat}`, `${NAME%pat}`, `${NAME%%pat}`,
 *   `${NAME/pat/rep}`, `${NAME//pat/rep}` (BuildKit's later additions; `pat` is
 *   a glob with `*` and `?`). `word` may itself contain substitutions.
 * - Quotes: '...' is literal; "..." keeps spaces and expands `$`; the escape
 *   character (`\` or the file's `# escape=`) escapes the next character
 *   outside quotes, and only `"`, `$` and itself inside double quotes.
 * - `expandWords` splits on unquoted whitespace *after* expansion, so a value
 *   with spaces gives several words (EXPOSE only, as docker).
 * - `expandHeredoc` follows POSIX here-document rules (quotes are literal,
 *   backslash escapes only `$`, backquote, backslash and newline), as the
 *   reference says for `COPY <<EOF` with an unquoted delimiter.
 *
 * Errors are TsnspawnError("invalid") naming the word; callers add FILE:LINE.
 */
import { TsnspawnError } from "../errors.ts";

/** The value of a variable, or undefined when it is not set. */
export type VariableLookup = (name: string) => string | undefined;

/** A lookup over a plain record (tests and simple callers). */
export function lookupIn(values: Record<string, string>): VariableLookup {
  return (name) => Object.hasOwn(values, name) ? values[name] : undefined;
}

/** Expands one word: quotes removed, escapes applied, variables replaced. */
export function expandWord(word: string, lookup: VariableLookup, escape = "\\"): string {
  return run(word, lookup, escape, "word").result;
}

/**
 * Expands one word and splits the result on unquoted whitespace, including
 * whitespace that came from a variable's value (`EXPOSE $PORTS`).
 */
export function expandWords(word: string, lookup: VariableLookup, escape = "\\"): string[] {
  return run(word, lookup, escape, "word").words;
}

/** Expands the body of a here-document whose delimiter was not quoted. */
export function expandHeredoc(content: string, lookup: VariableLookup): string {
  return run(content, lookup, "\\", "heredoc").result;
}

type Mode = "word" | "heredoc";

function bad(source: string, what: string): TsnspawnError {
  return new TsnspawnError(
    "invalid",
    `Bad variable substitution in ${JSON.stringify(source)}: ${what}`,
    {
      hint:
        "write a literal $ as \\$; substitutions are $NAME, ${NAME}, ${NAME:-default}, ${NAME:+alternative}",
    },
  );
}

function run(source: string, lookup: VariableLookup, escape: string, mode: Mode) {
  const lexer = new Lexer(Array.from(source), source, lookup, escape);
  const out = mode === "heredoc" ? lexer.heredoc() : lexer.until(undefined, false);
  return out;
}

const SPACE = /\s/u;
const NAME_CHAR = /[\p{L}\p{Nd}_]/u;
const DIGIT = /\p{Nd}/u;
const SPECIAL_PARAMETERS = "@*#?-$!0";

/** Collects the result string and the whitespace-split words at once. */
class Words {
  words: string[] = [];
  private buffer = "";
  private inWord = false;

  /** A character that may split words (unquoted text and variable values). */
  add(ch: string): void {
    if (SPACE.test(ch)) {
      if (this.inWord && this.buffer !== "") {
        this.words.push(this.buffer);
        this.buffer = "";
        this.inWord = false;
      }
      return;
    }
    this.addRaw(ch);
  }

  /** Text that never splits (quoted or escaped). */
  addRaw(text: string): void {
    this.buffer += text;
    this.inWord = true;
  }

  finish(): string[] {
    if (this.buffer !== "") this.words.push(this.buffer);
    this.buffer = "";
    this.inWord = false;
    return this.words;
  }
}

class Lexer {
  private pos = 0;

  constructor(
    private readonly chars: string[],
    private readonly source: string,
    private readonly lookup: VariableLookup,
    private readonly escape: string,
  ) {}

  private peek(): string | undefined {
    return this.chars[this.pos];
  }

  private next(): string | undefined {
    return this.chars[this.pos++];
  }

  /**
   * Processes characters up to `stop` (consumed) or the end. `raw` keeps
   * escape characters in the result (patterns of `#`, `%` and `/`).
   */
  until(stop: string | undefined, raw: boolean): { result: string; words: string[] } {
    let result = "";
    const words = new Words();
    while (this.peek() !== undefined) {
      const ch = this.peek()!;
      if (stop !== undefined && ch === stop) {
        this.next();
        return { result, words: words.finish() };
      }
      if (ch === "$") {
        const value = this.dollar();
        result += value;
        for (const c of value) words.add(c);
      } else if (ch === "'") {
        const text = this.singleQuoted();
        result += text;
        words.addRaw(text);
      } else if (ch === '"') {
        const text = this.doubleQuoted();
        result += text;
        words.addRaw(text);
      } else {
        this.next();
        if (ch === this.escape) {
          if (raw) {
            result += ch;
            words.addRaw(ch);
          }
          const escaped = this.next();
          if (escaped === undefined) break; // a trailing escape is dropped
          result += escaped;
          words.addRaw(escaped);
        } else {
          result += ch;
          words.add(ch);
        }
      }
    }
    if (stop !== undefined) throw bad(this.source, `missing '${stop}'`);
    return { result, words: words.finish() };
  }

  /** A here-document body: only `$` expands; `\` escapes `$`, `` ` ``, `\`, newline. */
  heredoc(): { result: string; words: string[] } {
    let result = "";
    while (this.peek() !== undefined) {
      const ch = this.peek()!;
      if (ch === "$") {
        result += this.dollar();
        continue;
      }
      this.next();
      if (ch === "\\") {
        const following = this.peek();
        if (following === "$" || following === "`" || following === "\\") {
          result += this.next();
          continue;
        }
        if (following === "\n") {
          this.next();
          continue;
        }
      }
      result += ch;
    }
    return { result, words: [result] };
  }

  private singleQuoted(): string {
    this.next();
    let text = "";
    for (;;) {
      const ch = this.next();
      if (ch === undefined) throw bad(this.source, "missing closing single quote");
      if (ch === "'") return text;
      text += ch;
    }
  }

  private doubleQuoted(): string {
    this.next();
    let text = "";
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) throw bad(this.source, "missing closing double quote");
      if (ch === '"') {
        this.next();
        return text;
      }
      if (ch === "$") {
        text += this.dollar();
        continue;
      }
      this.next();
      if (ch === this.escape) {
        const following = this.peek();
        if (following === undefined) continue;
        if (following === '"' || following === "$" || following === this.escape) {
          text += this.next();
          continue;
        }
      }
      text += ch;
    }
  }

  private name(): string {
    const first = this.peek();
    if (first === undefined) return "";
    if (DIGIT.test(first)) {
      let digits = "";
      while (this.peek() !== undefined && DIGIT.test(this.peek()!)) digits += this.next();
      return digits;
    }
    if (SPECIAL_PARAMETERS.includes(first)) return this.next()!;
    let name = "";
    while (this.peek() !== undefined && NAME_CHAR.test(this.peek()!)) name += this.next();
    return name;
  }

  private dollar(): string {
    this.next(); // $
    if (this.peek() !== "{") {
      const name = this.name();
      return name === "" ? "$" : this.lookup(name) ?? "";
    }
    this.next(); // {
    const first = this.peek();
    if (first === undefined) throw bad(this.source, "missing '}'");
    if (first === "{" || first === "}" || first === ":") throw bad(this.source, "bad substitution");
    const name = this.name();
    const op = this.next();
    const value = this.lookup(name);
    switch (op) {
      case "}":
        return value ?? "";
      case ":": {
        const modifier = this.next();
        if (modifier !== "-" && modifier !== "+" && modifier !== "?") {
          throw bad(this.source, `unsupported modifier ':${modifier ?? ""}' in \${${name}}`);
        }
        return this.modifier(name, value, modifier, true);
      }
      case "-":
      case "+":
      case "?":
      case "#":
      case "%":
        return this.modifier(name, value, op, false);
      case "/":
        return this.replace(value);
      case undefined:
        throw bad(this.source, "missing '}'");
      default:
        throw bad(this.source, `unsupported modifier '${op}' in \${${name}}`);
    }
  }

  private modifier(name: string, value: string | undefined, op: string, nullIsUnset: boolean) {
    const raw = op === "#" || op === "%";
    const word = this.until("}", raw).result;
    const unset = value === undefined || (nullIsUnset && value === "");
    switch (op) {
      case "-":
        return unset ? word : value!;
      case "+":
        return unset ? "" : word;
      case "?":
        if (unset) {
          const why = value === undefined ? "is not set" : "is empty";
          throw bad(this.source, `${name} ${word === "" ? why : word}`);
        }
        return value!;
      default: {
        const greedy = word.startsWith(op);
        const pattern = greedy ? word.slice(1) : word;
        return trimPattern(
          value ?? "",
          pattern,
          op === "#" ? "prefix" : "suffix",
          greedy,
          this.source,
        );
      }
    }
  }

  private replace(value: string | undefined): string {
    const all = this.peek() === "/";
    if (all) this.next();
    const pattern = this.until("/", true).result;
    // Unlike BuildKit, escapes in the replacement are applied (`\/` is `/`), as in bash.
    const replacement = this.until("}", false).result;
    const regex = globToRegExp(pattern, true, this.source);
    const text = value ?? "";
    const flags = all ? "gsu" : "su";
    return text.replace(new RegExp(regex, flags), () => replacement);
  }
}

/** A `#`/`%` glob as a regular expression source (`*` any text, `?` one character). */
function globToRegExp(pattern: string, greedy: boolean, source: string): string {
  const chars = Array.from(pattern);
  let out = "";
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i];
    if (ch === "*") out += greedy ? "[^]*" : "[^]*?";
    else if (ch === "?") out += "[^]";
    else if (ch === "\\") {
      const following = chars[i + 1];
      if (following === "}" || following === "/") continue;
      if (following !== "*" && following !== "?" && following !== "\\") {
        throw bad(source, `invalid escape '\\${following ?? ""}' in pattern`);
      }
      out += "\\" + following;
      i++;
    } else out += ch.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
  }
  return out;
}

function trimPattern(
  value: string,
  pattern: string,
  side: "prefix" | "suffix",
  greedy: boolean,
  source: string,
): string {
  const regex = new RegExp(`^(?:${globToRegExp(pattern, true, source)})$`, "su");
  const chars = Array.from(value);
  const n = chars.length;
  // Shortest match first unless greedy; lengths of the removed part.
  for (let k = 0; k <= n; k++) {
    const length = greedy ? n - k : k;
    const part = side === "prefix"
      ? chars.slice(0, length).join("")
      : chars.slice(n - length).join("");
    if (regex.test(part)) {
      return side === "prefix" ? chars.slice(length).join("") : chars.slice(0, n - length).join("");
    }
  }
  return value;
}

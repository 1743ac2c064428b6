/**
 * Containerfile/Dockerfile parser (pure): text → typed instructions with
 * their source lines, or one TsnspawnError naming FILE:LINE and the problem.
 *
 * Spec: the Dockerfile reference (https://docs.docker.com/reference/dockerfile/)
 * with BuildKit's instruction parser (moby/buildkit frontend/dockerfile/
 * instructions) and buildah/imagebuilder for behaviour. The lexing (directives,
 * continuations, heredocs) is in containerfile_lexer.ts, word splitting in
 * containerfile_words.ts. Decisions where tsnspawn is stricter than docker,
 * so mistakes fail before anything runs:
 *
 * - An exec form that looks like a JSON array but is not valid JSON
 *   (`CMD ['a', 'b']`) is an error; docker runs it through the shell.
 * - Every instruction checks its `--flags` (docker ignores some, e.g. on
 *   STOPSIGNAL); `HEALTHCHECK NONE` takes none; `RUN --security=insecure`,
 *   `--mount=type=secret|ssh` and the labs-only `--device` are rejected.
 * - `CMD`, `ENTRYPOINT` and `RUN` without a command are errors (`CMD []` and
 *   `ENTRYPOINT []` remain the way to clear them).
 * - `# syntax=` and `# check=` are accepted and reported as ignored notes.
 */
import { TsnspawnError } from "../errors.ts";
import {
  type Directive,
  lexContainerfile,
  type LogicalLine,
  type Warning,
} from "./containerfile_lexer.ts";
import {
  extractFlags,
  parseJsonArray,
  splitKeyword,
  splitQuotedWords,
  splitWhitespace,
} from "./containerfile_words.ts";
import {
  at,
  commandLine,
  listForm,
  optional,
  parseCopy,
  parseFlags,
  parseHealthcheck,
  parseKeyValues,
  toHeredoc,
  usage,
} from "./instruction_args.ts";
import {
  type Instruction,
  INSTRUCTION_KINDS,
  type InstructionKind,
  type SourceLocation,
} from "./instructions.ts";
import { parseRunMount } from "./run_mount.ts";
import { closest } from "./suggest.ts";

export type { Directive, Warning };
export { at };

/** A parsed Containerfile. */
export interface Containerfile {
  file: string;
  /** The escape character (`\` or a backtick from `# escape=`). */
  escape: string;
  directives: Directive[];
  instructions: Instruction[];
  /** Legal but suspicious things (empty continuation lines, MAINTAINER, legacy ENV). */
  warnings: Warning[];
  /** Things tsnspawn accepted and ignored (`# syntax=`, `# check=`). */
  notes: Warning[];
}

const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/u;

/** Parses a Containerfile; throws TsnspawnError("invalid") naming FILE:LINE. */
export function parseContainerfile(text: string, file = "Containerfile"): Containerfile {
  const lexed = lexContainerfile(text, file);
  const result: Containerfile = {
    file,
    escape: lexed.escape,
    directives: lexed.directives,
    instructions: [],
    warnings: [...lexed.warnings],
    notes: [],
  };
  for (const directive of lexed.directives) {
    if (directive.name === "syntax" || directive.name === "check") {
      result.notes.push({
        line: directive.line,
        message:
          `# ${directive.name}=${directive.value} is ignored: tsnspawn reads the Dockerfile syntax itself`,
      });
    }
  }
  for (const line of lexed.lines) {
    const instruction = parseInstruction(line, file, lexed.escape);
    if (instruction.kind === "MAINTAINER") {
      result.warnings.push({
        line: line.line,
        message: "MAINTAINER is deprecated: use LABEL org.opencontainers.image.authors=...",
      });
    }
    if ((instruction.kind === "ENV" || instruction.kind === "LABEL") && instruction.legacy) {
      result.warnings.push({
        line: line.line,
        message:
          `"${instruction.kind} key value" is the legacy form: write ${instruction.kind} key=value`,
      });
    }
    result.instructions.push(instruction);
  }
  checkOrder(result);
  return result;
}

function checkOrder(parsed: Containerfile): void {
  if (parsed.instructions.length === 0) {
    throw new TsnspawnError("invalid", `${parsed.file}:1: the file has no instructions`, {
      hint: "a Containerfile starts with FROM <image>",
    });
  }
  const first = parsed.instructions.find((instruction) => instruction.kind !== "ARG");
  if (!first) {
    const last = parsed.instructions[parsed.instructions.length - 1];
    throw at(last.location, "no FROM instruction", "add FROM <image> after the ARG lines");
  }
  if (first.kind !== "FROM") {
    throw at(
      first.location,
      `${first.kind} before the first FROM`,
      "a Containerfile must start with FROM <image>; only ARG may come before it",
    );
  }
}

/** Re-throws an error from a helper with the location in front. */
function located<T>(location: SourceLocation, work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (error instanceof TsnspawnError && !error.message.startsWith(`${location.file}:`)) {
      throw new TsnspawnError(error.code, `${location.file}:${location.line}: ${error.message}`, {
        hint: error.hint,
        cause: error,
      });
    }
    throw error;
  }
}

/** Parses one logical line into an instruction. */
export function parseInstruction(line: LogicalLine, file: string, escape: string): Instruction {
  const location = { file, line: line.line, endLine: line.endLine };
  return located(location, () => parseLine(line, location, escape));
}

function parseLine(line: LogicalLine, location: SourceLocation, escape: string): Instruction {
  const { keyword, rest } = splitKeyword(line.text);
  const kind = keyword.toUpperCase() as InstructionKind;
  if (!INSTRUCTION_KINDS.includes(kind)) {
    const guess = closest(keyword, INSTRUCTION_KINDS);
    throw at(
      location,
      `unknown instruction: ${keyword}`,
      guess ? `did you mean ${guess}?` : `instructions are ${INSTRUCTION_KINDS.join(", ")}`,
    );
  }
  const { flags: flagWords, rest: args } = extractFlags(rest, escape);
  const flags = parseFlags(kind, flagWords, location);
  const common = { location, text: line.text, resolved: false };
  const requireArgs = (what: string) => {
    if (args === "") throw at(location, `${kind} requires ${what}`, usage(kind));
  };
  switch (kind) {
    case "FROM": {
      const words = splitWhitespace(args);
      if (!(words.length === 1 || (words.length === 3 && words[1].toLowerCase() === "as"))) {
        throw at(location, "FROM requires either one or three arguments", usage(kind));
      }
      if (words.length === 3 && !STAGE_NAME.test(words[2].toLowerCase())) {
        throw at(
          location,
          `invalid stage name ${JSON.stringify(words[2])}`,
          "a stage name starts with a letter and holds only letters, digits, '-', '_' and '.'",
        );
      }
      return {
        ...common,
        kind,
        image: words[0],
        ...(words.length === 3 ? { stage: words[2] } : {}),
        ...optional("platform", flags.get("platform") as string | undefined),
      };
    }
    case "RUN": {
      requireArgs("a command");
      const network = flags.get("network") as string | undefined;
      if (network !== undefined && !["default", "none", "host"].includes(network)) {
        throw at(location, `unsupported RUN --network=${network}`, "use default, none or host");
      }
      const security = flags.get("security") as string | undefined;
      if (security !== undefined && security !== "sandbox") {
        throw at(
          location,
          `RUN --security=${security} is not supported`,
          "RUN steps always run with tsnspawn's default isolation (--security=sandbox)",
        );
      }
      const mounts = ((flags.get("mount") ?? []) as string[]).map((spec) => parseRunMount(spec));
      return {
        ...common,
        kind,
        command: commandLine(kind, args, location),
        heredocs: line.heredocs.map(toHeredoc),
        mounts,
        ...optional("network", network as "default" | "none" | "host" | undefined),
      };
    }
    case "CMD":
    case "ENTRYPOINT":
      requireArgs(`a command (${kind} [] clears it)`);
      return { ...common, kind, command: commandLine(kind, args, location) };
    case "SHELL": {
      const parsed = parseJsonArray(args);
      if (parsed.kind !== "array" || parsed.values.length === 0) {
        throw at(location, "SHELL requires a non-empty JSON array", usage(kind));
      }
      return { ...common, kind, shell: parsed.values };
    }
    case "COPY":
    case "ADD":
      return parseCopy(kind, args, flags, line, location, common);
    case "ENV":
    case "LABEL": {
      const { pairs, legacy } = parseKeyValues(kind, args, escape, location);
      return { ...common, kind, pairs, legacy };
    }
    case "ARG": {
      const words = splitQuotedWords(args, escape);
      if (words.length === 0) throw at(location, "ARG requires at least one name", usage(kind));
      const declarations = words.map((word) => {
        const eq = word.indexOf("=");
        if (eq === 0) throw at(location, "ARG names can not be blank", usage(kind));
        return eq < 0 ? { name: word } : { name: word.slice(0, eq), value: word.slice(eq + 1) };
      });
      return { ...common, kind, args: declarations };
    }
    case "WORKDIR":
      requireArgs("a path");
      return { ...common, kind, path: args };
    case "USER":
      requireArgs("a user");
      return { ...common, kind, user: args };
    case "STOPSIGNAL":
      requireArgs("a signal");
      return { ...common, kind, signal: args };
    case "MAINTAINER":
      requireArgs("a name");
      return { ...common, kind, maintainer: args };
    case "EXPOSE":
      requireArgs("at least one port");
      return { ...common, kind, ports: splitWhitespace(args) };
    case "VOLUME": {
      const { words, json } = listForm(kind, args, location);
      if (words.length === 0) throw at(location, "VOLUME requires at least one path", usage(kind));
      return { ...common, kind, paths: words, json };
    }
    case "HEALTHCHECK":
      return { ...common, kind, check: parseHealthcheck(args, flags, flagWords, location) };
    case "ONBUILD": {
      requireArgs("an instruction");
      const trigger = parseLine({ ...line, text: args }, location, escape);
      if (trigger.kind === "ONBUILD" || trigger.kind === "FROM" || trigger.kind === "MAINTAINER") {
        throw at(
          location,
          trigger.kind === "ONBUILD"
            ? "chaining ONBUILD via ONBUILD ONBUILD isn't allowed"
            : `${trigger.kind} isn't allowed as an ONBUILD trigger`,
        );
      }
      let expression = line.text.replace(/^\s*ONBUILD\s*/iu, "");
      for (const heredoc of line.heredocs) expression += `\n${heredoc.content}${heredoc.name}`;
      return { ...common, kind, trigger, expression };
    }
  }
}

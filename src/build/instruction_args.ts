/**
 * The arguments and options of single Containerfile instructions (pure):
 * the option table of each instruction, exec/shell form, COPY/ADD sources
 * and destination, ENV/LABEL pairs and HEALTHCHECK. Used by containerfile.ts;
 * same spec and decisions as described there (Dockerfile reference,
 * https://docs.docker.com/reference/dockerfile/, and BuildKit's instruction
 * parser for the details).
 */
import { TsnspawnError } from "../errors.ts";
import type { LogicalLine } from "./containerfile_lexer.ts";
import {
  parseHeredocMarker,
  parseJsonArray,
  splitQuotedWords,
  splitWhitespace,
} from "./containerfile_words.ts";
import { parseGoDuration } from "./duration.ts";
import type {
  CommandLine,
  CopySource,
  HealthcheckCommand,
  Heredoc,
  Instruction,
  InstructionKind,
  KeyValue,
  SourceLocation,
} from "./instructions.ts";
import { closest } from "./suggest.ts";

/** An error at a source location. */
export function at(location: SourceLocation, message: string, hint?: string): TsnspawnError {
  return new TsnspawnError("invalid", `${location.file}:${location.line}: ${message}`, { hint });
}

export type FlagType = "string" | "bool" | "strings";
export type FlagValues = Map<string, string | boolean | string[]>;

/** The options each instruction accepts (Dockerfile reference, per instruction). */
const FLAGS: Partial<Record<InstructionKind, Record<string, FlagType>>> = {
  FROM: { platform: "string" },
  RUN: { mount: "strings", network: "string", security: "string" },
  COPY: {
    from: "string",
    chown: "string",
    chmod: "string",
    link: "bool",
    parents: "bool",
    exclude: "strings",
  },
  ADD: {
    chown: "string",
    chmod: "string",
    link: "bool",
    checksum: "string",
    unpack: "bool",
    "keep-git-dir": "bool",
    exclude: "strings",
  },
  HEALTHCHECK: {
    interval: "string",
    timeout: "string",
    "start-period": "string",
    "start-interval": "string",
    retries: "string",
  },
};

export function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

export function usage(kind: InstructionKind): string {
  const forms: Record<InstructionKind, string> = {
    FROM: "FROM [--platform=<platform>] <image> [AS <name>]",
    RUN: 'RUN <command> or RUN ["executable", "arg"...]',
    CMD: 'CMD <command> or CMD ["executable", "arg"...]',
    ENTRYPOINT: 'ENTRYPOINT <command> or ENTRYPOINT ["executable", "arg"...]',
    SHELL: 'SHELL ["executable", "parameter"...]',
    COPY: "COPY [--from=<stage>] [--chown=<user>:<group>] [--chmod=<perms>] <src>... <dest>",
    ADD: "ADD [--chown=<user>:<group>] [--chmod=<perms>] [--checksum=sha256:<hex>] <src>... <dest>",
    ENV: "ENV <key>=<value> ...",
    LABEL: "LABEL <key>=<value> ...",
    ARG: "ARG <name>[=<default value>] ...",
    WORKDIR: "WORKDIR /path/to/workdir",
    USER: "USER <user>[:<group>]",
    STOPSIGNAL: "STOPSIGNAL <signal>",
    MAINTAINER: "MAINTAINER <name>",
    EXPOSE: "EXPOSE <port>[/<protocol>] ...",
    VOLUME: 'VOLUME <path> ... or VOLUME ["<path>", ...]',
    HEALTHCHECK:
      "HEALTHCHECK [--interval=30s] [--timeout=30s] [--retries=3] CMD <command>, or HEALTHCHECK NONE",
    ONBUILD: "ONBUILD <instruction>",
  };
  return `usage: ${forms[kind]}`;
}

export function parseFlags(
  kind: InstructionKind,
  words: string[],
  location: SourceLocation,
): FlagValues {
  const spec = FLAGS[kind] ?? {};
  const values: FlagValues = new Map();
  const names = Object.keys(spec).map((name) => `--${name}`);
  for (const word of words) {
    if (!word.startsWith("--")) throw at(location, `${kind} option should start with --: ${word}`);
    const eq = word.indexOf("=");
    const name = (eq < 0 ? word : word.slice(0, eq)).slice(2);
    const value = eq < 0 ? undefined : word.slice(eq + 1);
    const type = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (type === undefined) {
      const guess = closest(`--${name}`, names);
      const hint = guess
        ? `did you mean ${guess}?`
        : names.length > 0
        ? `${kind} takes ${names.join(", ")}`
        : `${kind} takes no options`;
      throw at(location, `unknown option --${name} for ${kind}`, hint);
    }
    if (values.has(name) && type !== "strings") throw at(location, `duplicate option --${name}`);
    if (type === "bool") {
      if (value === "") throw at(location, `missing a value on option --${name}`);
      const lower = (value ?? "true").toLowerCase();
      if (lower !== "true" && lower !== "false") {
        throw at(location, `expecting true or false for option --${name}, not ${value}`);
      }
      values.set(name, lower === "true");
    } else {
      if (value === undefined) {
        throw at(location, `missing a value on option --${name}`, `write --${name}=<value>`);
      }
      if (type === "strings") values.set(name, [...((values.get(name) ?? []) as string[]), value]);
      else values.set(name, value);
    }
  }
  return values;
}

export function commandLine(
  kind: InstructionKind,
  args: string,
  location: SourceLocation,
): CommandLine {
  const parsed = parseJsonArray(args);
  if (parsed.kind === "array") return { form: "exec", args: parsed.values };
  if (parsed.kind === "bad") {
    throw at(
      location,
      `bad JSON in the exec form of ${kind}: ${parsed.reason}`,
      `write a JSON array of double-quoted strings, e.g. ${kind} ["/bin/app", "--flag"], or drop the brackets for the shell form`,
    );
  }
  return { form: "shell", script: args };
}

/** A JSON array or whitespace-separated words (VOLUME, COPY, ADD). */
export function listForm(kind: InstructionKind, args: string, location: SourceLocation) {
  const parsed = parseJsonArray(args);
  if (parsed.kind === "array") return { words: parsed.values, json: true };
  if (parsed.kind === "bad") {
    throw at(
      location,
      `bad JSON array in ${kind}: ${parsed.reason}`,
      `write ${kind} ["first", "second"] with double quotes, or the words without brackets`,
    );
  }
  return { words: splitWhitespace(args), json: false };
}

export function toHeredoc(body: LogicalLine["heredocs"][number]): Heredoc {
  const heredoc: Heredoc = {
    name: body.name,
    content: body.content,
    expand: body.expand,
    chomp: body.chomp,
  };
  if (body.fd !== undefined) heredoc.fd = body.fd;
  return heredoc;
}

export function parseCopy(
  kind: "COPY" | "ADD",
  args: string,
  flags: FlagValues,
  line: LogicalLine,
  location: SourceLocation,
  common: { location: SourceLocation; text: string; resolved: boolean },
): Instruction {
  const { words, json } = listForm(kind, args, location);
  if (words.length < 2) {
    throw at(
      location,
      `${kind} requires at least two arguments: source(s) and destination`,
      usage(kind),
    );
  }
  const dest = words[words.length - 1];
  if (!json && parseHeredocMarker(dest)) {
    throw at(location, `${kind} cannot take a here-document as its destination`, usage(kind));
  }
  const bodies = new Map(line.heredocs.map((body) => [body.name, body]));
  const sources: CopySource[] = words.slice(0, -1).map((word) => {
    const marker = json ? undefined : parseHeredocMarker(word);
    const body = marker && bodies.get(marker.name);
    return body ? { kind: "heredoc", heredoc: toHeredoc(body) } : { kind: "path", path: word };
  });
  const shared = {
    ...common,
    sources,
    dest,
    json,
    link: (flags.get("link") as boolean | undefined) ?? false,
    exclude: (flags.get("exclude") as string[] | undefined) ?? [],
    ...optional("chown", flags.get("chown") as string | undefined),
    ...optional("chmod", flags.get("chmod") as string | undefined),
  };
  if (kind === "COPY") {
    return {
      ...shared,
      kind,
      parents: (flags.get("parents") as boolean | undefined) ?? false,
      ...optional("from", flags.get("from") as string | undefined),
    };
  }
  return {
    ...shared,
    kind,
    ...optional("checksum", flags.get("checksum") as string | undefined),
    ...optional("unpack", flags.get("unpack") as boolean | undefined),
    ...optional("keepGitDir", flags.get("keep-git-dir") as boolean | undefined),
  };
}

export function parseKeyValues(
  kind: "ENV" | "LABEL",
  args: string,
  escape: string,
  location: SourceLocation,
): { pairs: KeyValue[]; legacy: boolean } {
  const words = splitQuotedWords(args, escape);
  if (words.length === 0) {
    throw at(location, `${kind} requires at least one key=value`, usage(kind));
  }
  if (!words[0].includes("=")) {
    const match = /^(\S+)\s+([^]*)$/u.exec(args);
    if (!match) throw at(location, `${kind} ${words[0]} has no value`, usage(kind));
    return { pairs: [{ key: match[1], value: match[2] }], legacy: true };
  }
  const pairs = words.map((word) => {
    const eq = word.indexOf("=");
    if (eq < 0) {
      throw at(location, `${kind}: can't find = in ${JSON.stringify(word)}`, usage(kind));
    }
    if (eq === 0) throw at(location, `${kind} names can not be blank`, usage(kind));
    return { key: word.slice(0, eq), value: word.slice(eq + 1) };
  });
  return { pairs, legacy: false };
}

export function parseHealthcheck(
  args: string,
  flags: FlagValues,
  flagWords: string[],
  location: SourceLocation,
): "NONE" | HealthcheckCommand {
  const match = /^(\S+)\s*([^]*)$/u.exec(args);
  if (!match) {
    throw at(location, "HEALTHCHECK requires CMD <command> or NONE", usage("HEALTHCHECK"));
  }
  const type = match[1].toUpperCase();
  if (type === "NONE") {
    if (match[2] !== "" || flagWords.length > 0) {
      throw at(location, "HEALTHCHECK NONE takes no arguments or options");
    }
    return "NONE";
  }
  if (type !== "CMD") {
    throw at(location, `unknown type ${match[1]} in HEALTHCHECK`, "try HEALTHCHECK CMD <command>");
  }
  if (match[2] === "") throw at(location, "missing command after HEALTHCHECK CMD");
  const duration = (name: string): number => {
    const text = flags.get(name) as string | undefined;
    if (text === undefined) return 0;
    const value = parseGoDuration(text);
    if (value === undefined) {
      throw at(
        location,
        `invalid duration --${name}=${text}`,
        "durations look like 30s, 1m30s or 500ms",
      );
    }
    if (value !== 0 && value < 1e6) throw at(location, `--${name} cannot be less than 1ms`);
    return value;
  };
  const retriesText = flags.get("retries") as string | undefined;
  const retries = retriesText === undefined ? 0 : Number(retriesText);
  if (retriesText !== undefined && (!/^\d+$/u.test(retriesText) || retries > 2 ** 31 - 1)) {
    throw at(location, `invalid --retries=${retriesText}`, "--retries takes a whole number ≥ 0");
  }
  return {
    command: commandLine("HEALTHCHECK", match[2], location),
    interval: duration("interval"),
    timeout: duration("timeout"),
    startPeriod: duration("start-period"),
    startInterval: duration("start-interval"),
    retries,
  };
}

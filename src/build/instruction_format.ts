/**
 * Printing instructions back as Containerfile text (pure): the canonical form
 * used in build output, history `created_by` and cache keys.
 *
 * The output is valid Containerfile syntax: keyword in capitals, options in a
 * fixed order, single spaces, exec forms as JSON arrays, here-document bodies
 * after the line. For an instruction as parsed, the words are printed as
 * written (variables and quotes intact), so parsing the text again gives the
 * same instruction. For a resolved instruction (variables replaced), values
 * are quoted and escaped so that parsing and resolving the text again gives
 * the same values; a value with whitespace switches COPY, ADD and VOLUME to
 * the JSON form.
 */
import { formatGoDuration } from "./duration.ts";
import type { CommandLine, CopySource, Heredoc, Instruction, KeyValue } from "./instructions.ts";
import { formatRunMount } from "./run_mount.ts";

/** The canonical Containerfile text of an instruction (several lines with here-documents). */
export function formatInstruction(instruction: Instruction): string {
  const r = instruction.resolved;
  const word = (value: string) => r ? quoteValue(value) : value;
  switch (instruction.kind) {
    case "FROM":
      return join(
        "FROM",
        instruction.platform !== undefined && flag("platform", instruction.platform, r),
        word(instruction.image),
        instruction.stage !== undefined && `AS ${instruction.stage}`,
      );
    case "RUN":
      return join(
        "RUN",
        ...instruction.mounts.map((mount) => `--mount=${quoteFlag(formatRunMount(mount))}`),
        instruction.network !== undefined && `--network=${instruction.network}`,
        formatCommand(instruction.command),
      ) + bodies(instruction.heredocs);
    case "COPY":
    case "ADD": {
      const options = [
        instruction.kind === "COPY" && instruction.from !== undefined &&
        flag("from", instruction.from, r),
        instruction.chown !== undefined && flag("chown", instruction.chown, r),
        instruction.chmod !== undefined && flag("chmod", instruction.chmod, r),
        instruction.link && "--link",
        instruction.kind === "COPY" && instruction.parents && "--parents",
        ...instruction.exclude.map((pattern) => flag("exclude", pattern, r)),
        instruction.kind === "ADD" && instruction.checksum !== undefined &&
        flag("checksum", instruction.checksum, r),
        instruction.kind === "ADD" && instruction.unpack !== undefined &&
        `--unpack=${instruction.unpack}`,
        instruction.kind === "ADD" && instruction.keepGitDir !== undefined &&
        `--keep-git-dir=${instruction.keepGitDir}`,
      ];
      const heredocs = instruction.sources.flatMap((s) => s.kind === "heredoc" ? [s.heredoc] : []);
      return join(
        instruction.kind,
        ...options,
        formatWords([...instruction.sources.map(sourceWord), instruction.dest], {
          json: instruction.json,
          resolved: r,
          heredocs: heredocs.length > 0,
        }),
      ) + bodies(heredocs);
    }
    case "ENV":
    case "LABEL":
      if (instruction.legacy && !r) {
        const pair = instruction.pairs[0];
        return join(instruction.kind, pair.key, pair.value);
      }
      return join(instruction.kind, ...instruction.pairs.map((pair) => formatPair(pair, r)));
    case "ARG":
      return join(
        "ARG",
        ...instruction.args.map((arg) =>
          arg.value === undefined ? word(arg.name) : `${word(arg.name)}=${word(arg.value)}`
        ),
      );
    case "WORKDIR":
      return join("WORKDIR", word(instruction.path));
    case "USER":
      return join("USER", word(instruction.user));
    case "STOPSIGNAL":
      return join("STOPSIGNAL", word(instruction.signal));
    case "MAINTAINER":
      return join("MAINTAINER", instruction.maintainer);
    case "CMD":
    case "ENTRYPOINT":
      return join(instruction.kind, formatCommand(instruction.command));
    case "SHELL":
      return join("SHELL", jsonArray(instruction.shell));
    case "EXPOSE":
      return join("EXPOSE", ...instruction.ports.map(word));
    case "VOLUME":
      return join(
        "VOLUME",
        formatWords(instruction.paths, { json: instruction.json, resolved: r, heredocs: false }),
      );
    case "HEALTHCHECK": {
      const check = instruction.check;
      if (check === "NONE") return "HEALTHCHECK NONE";
      const duration = (name: string, value: number) =>
        value !== 0 && `--${name}=${formatGoDuration(value)}`;
      return join(
        "HEALTHCHECK",
        duration("interval", check.interval),
        duration("timeout", check.timeout),
        duration("start-period", check.startPeriod),
        duration("start-interval", check.startInterval),
        check.retries !== 0 && `--retries=${check.retries}`,
        "CMD",
        formatCommand(check.command),
      );
    }
    case "ONBUILD":
      return `ONBUILD ${formatInstruction(instruction.trigger)}`;
  }
}

/** A command in exec form as a JSON array, in shell form as written. */
export function formatCommand(command: CommandLine): string {
  return command.form === "exec" ? jsonArray(command.args) : command.script;
}

/** A JSON array with a space after each comma (`["a", "b"]`). */
export function jsonArray(values: string[]): string {
  return `[${values.map((value) => JSON.stringify(value)).join(", ")}]`;
}

/**
 * A resolved value as one Containerfile word: bare when it holds nothing
 * special, else double-quoted with `"`, `$` and `\` escaped.
 */
export function quoteValue(value: string): string {
  if (/^[\p{L}\p{N}_\-./:@%+,=~^]+$/u.test(value)) return value;
  return `"${value.replace(/["$\\]/gu, "\\$&")}"`;
}

/** The marker text of a here-document (`<<EOF`, `<<-EOF`, `<<'EOF'` when not expanded). */
export function heredocMarker(heredoc: Heredoc): string {
  const name = heredoc.expand
    ? heredoc.name
    : heredoc.name.includes("'")
    ? `"${heredoc.name.replace(/["$\\]/gu, "\\$&")}"`
    : `'${heredoc.name}'`;
  return `${heredoc.fd ?? ""}<<${heredoc.chomp ? "-" : ""}${name}`;
}

function join(...parts: (string | false | undefined)[]): string {
  return parts.filter((part): part is string => typeof part === "string" && part !== "").join(" ");
}

function bodies(heredocs: Heredoc[]): string {
  return heredocs.map((heredoc) => `\n${heredoc.content}${heredoc.name}`).join("");
}

function flag(name: string, value: string, resolved: boolean): string {
  return `--${name}=${resolved ? quoteFlag(value) : value}`;
}

/** An option value quoted when it holds blanks or quotes. */
function quoteFlag(value: string): string {
  return /[\s"'\\]/u.test(value) ? `"${value.replace(/["\\]/gu, "\\$&")}"` : value;
}

function formatPair(pair: KeyValue, resolved: boolean): string {
  return resolved
    ? `${quoteValue(pair.key)}=${quoteValue(pair.value)}`
    : `${pair.key}=${pair.value}`;
}

type Word = { text: string; heredoc: boolean };

function sourceWord(source: CopySource | string): Word {
  if (typeof source === "string") return { text: source, heredoc: false };
  return source.kind === "heredoc"
    ? { text: heredocMarker(source.heredoc), heredoc: true }
    : { text: source.path, heredoc: false };
}

/** COPY/ADD/VOLUME word lists in shell form or as a JSON array. */
function formatWords(
  words: (Word | string)[],
  options: { json: boolean; resolved: boolean; heredocs: boolean },
): string {
  const list = words.map((w) => typeof w === "string" ? sourceWord(w) : w);
  const escapeWord = (text: string) => text.replace(/[\\$"']/gu, "\\$&");
  if (!options.resolved) {
    return options.json ? jsonArray(list.map((w) => w.text)) : list.map((w) => w.text).join(" ");
  }
  const needsJson = !options.heredocs &&
    (options.json || list.some((w) => w.text === "" || /\s/u.test(w.text)));
  if (needsJson) return jsonArray(list.map((w) => escapeWord(w.text)));
  return list.map((w) => w.heredoc ? w.text : escapeWord(w.text)).join(" ");
}

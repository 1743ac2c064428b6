/**
 * `commit --change`: the Dockerfile instructions docker's commit accepts
 * that change an image's configuration — CMD, ENTRYPOINT, ENV, EXPOSE,
 * LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR — parsed (their Dockerfile
 * syntax) and applied to a run config. PURE.
 *
 * This is a small parser for that subset only, kept in this one file so
 * that a full Dockerfile parser (`build`) can take its place. Not handled:
 * variable substitution ($VAR), line continuations, ONBUILD, heredocs.
 *
 * Reference: the Dockerfile reference (docs.docker.com/reference/dockerfile:
 * exec and shell form, ENV/LABEL key=value pairs and quoting, the legacy
 * `ENV key value`, WORKDIR relative to the previous one), docker-commit(1).
 */
import { TsnspawnError } from "../errors.ts";
import type { OciRunConfig } from "../oci/types.ts";

/** One parsed instruction. */
export type ChangeInstruction =
  | { kind: "CMD" | "ENTRYPOINT"; argv: string[] }
  | { kind: "ENV" | "LABEL"; pairs: [string, string][] }
  | { kind: "EXPOSE"; ports: string[] }
  | { kind: "VOLUME"; paths: string[] }
  | { kind: "WORKDIR" | "USER" | "STOPSIGNAL"; value: string };

/** The instructions `--change` accepts. */
export const CHANGE_INSTRUCTIONS = [
  "CMD",
  "ENTRYPOINT",
  "ENV",
  "EXPOSE",
  "LABEL",
  "STOPSIGNAL",
  "USER",
  "VOLUME",
  "WORKDIR",
] as const;

function invalid(text: string, detail: string): TsnspawnError {
  return new TsnspawnError("invalid", `change ${JSON.stringify(text)}: ${detail}`, {
    hint: `give a Dockerfile instruction: ${CHANGE_INSTRUCTIONS.join(", ")}, e.g. 'CMD ["nginx"]'`,
  });
}

/** A JSON array of strings (the exec form), or null when `args` is not one. */
function execForm(args: string): string[] | null {
  if (!args.startsWith("[")) return null;
  try {
    const value = JSON.parse(args);
    return Array.isArray(value) && value.every((v) => typeof v === "string") ? value : null;
  } catch {
    return null;
  }
}

/**
 * Splits Dockerfile words: whitespace separates, "double quotes" (with \\
 * escapes) and 'single quotes' group, a backslash outside quotes escapes.
 */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
      continue;
    }
    inWord = true;
    if (c === "\\" && i + 1 < text.length) {
      word += text[++i];
    } else if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) {
        if (text[i] === "\\" && i + 1 < text.length) i++;
        word += text[i];
      }
      if (i >= text.length) throw new RangeError("unterminated double quote");
    } else if (c === "'") {
      for (i++; i < text.length && text[i] !== "'"; i++) word += text[i];
      if (i >= text.length) throw new RangeError("unterminated single quote");
    } else {
      word += c;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** `key=value` pairs (ENV, LABEL); ENV also has the legacy `key value` form. */
function parsePairs(text: string, args: string, legacy: boolean): [string, string][] {
  let words: string[];
  try {
    words = splitWords(args);
  } catch (error) {
    throw invalid(text, (error as Error).message);
  }
  if (words.length === 0) throw invalid(text, "nothing to set");
  if (legacy && !words[0].includes("=")) {
    const key = args.trim().split(/\s+/, 1)[0];
    const value = args.trim().slice(key.length).trim();
    if (value === "") throw invalid(text, `no value for ${key}`);
    return [[key, splitWords(value).join(" ")]];
  }
  return words.map((word) => {
    const eq = word.indexOf("=");
    if (eq <= 0) throw invalid(text, `${JSON.stringify(word)} is not key=value`);
    return [word.slice(0, eq), word.slice(eq + 1)];
  });
}

/** Parses one `--change` value. */
export function parseChange(text: string): ChangeInstruction {
  const match = /^\s*([A-Za-z]+)(?:\s+([\s\S]*))?$/.exec(text);
  if (!match) throw invalid(text, "not an instruction");
  const keyword = match[1].toUpperCase();
  const args = (match[2] ?? "").trim();
  if (!(CHANGE_INSTRUCTIONS as readonly string[]).includes(keyword)) {
    throw invalid(text, `${match[1]} cannot be changed by commit`);
  }
  if (args === "" && keyword !== "CMD" && keyword !== "ENTRYPOINT") {
    throw invalid(text, `${keyword} needs an argument`);
  }
  switch (keyword) {
    case "CMD":
    case "ENTRYPOINT": {
      const argv = execForm(args) ?? (args === "" ? [] : ["/bin/sh", "-c", args]);
      return { kind: keyword, argv };
    }
    case "ENV":
      return { kind: "ENV", pairs: parsePairs(text, args, true) };
    case "LABEL":
      return { kind: "LABEL", pairs: parsePairs(text, args, false) };
    case "EXPOSE": {
      const ports = splitWords(args).map((port) => {
        const m = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/(tcp|udp|sctp))?$/i.exec(port);
        if (!m) throw invalid(text, `${JSON.stringify(port)} is not PORT[/PROTOCOL]`);
        return `${m[1]}${m[2] ? `-${m[2]}` : ""}/${(m[3] ?? "tcp").toLowerCase()}`;
      });
      return { kind: "EXPOSE", ports };
    }
    case "VOLUME": {
      const paths = execForm(args) ?? splitWords(args);
      if (paths.some((p) => !p.startsWith("/"))) throw invalid(text, "volumes are absolute paths");
      return { kind: "VOLUME", paths };
    }
    default:
      return { kind: keyword as "WORKDIR" | "USER" | "STOPSIGNAL", value: args };
  }
}

/** Applies instructions in order to a copy of `config`. */
export function applyChanges(
  config: OciRunConfig,
  changes: readonly ChangeInstruction[],
): OciRunConfig {
  const next: OciRunConfig = structuredClone(config);
  for (const change of changes) {
    switch (change.kind) {
      case "CMD":
        next.Cmd = change.argv;
        break;
      case "ENTRYPOINT":
        next.Entrypoint = change.argv;
        break;
      case "ENV": {
        const env = [...(next.Env ?? [])];
        for (const [key, value] of change.pairs) {
          const i = env.findIndex((e) => e.split("=", 1)[0] === key);
          if (i >= 0) env[i] = `${key}=${value}`;
          else env.push(`${key}=${value}`);
        }
        next.Env = env;
        break;
      }
      case "LABEL":
        next.Labels = { ...(next.Labels ?? {}), ...Object.fromEntries(change.pairs) };
        break;
      case "EXPOSE":
        next.ExposedPorts = {
          ...(next.ExposedPorts ?? {}),
          ...Object.fromEntries(change.ports.map((p) => [p, {}])),
        };
        break;
      case "VOLUME":
        next.Volumes = {
          ...(next.Volumes ?? {}),
          ...Object.fromEntries(change.paths.map((p) => [p, {}])),
        };
        break;
      case "WORKDIR":
        next.WorkingDir = change.value.startsWith("/")
          ? change.value
          : `${(next.WorkingDir ?? "/").replace(/\/$/, "")}/${change.value}`;
        break;
      case "USER":
        next.User = change.value;
        break;
      case "STOPSIGNAL":
        next.StopSignal = change.value;
        break;
    }
  }
  return next;
}

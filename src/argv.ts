/**
 * Docker-style command-line grammar, shared by every front end that reads
 * arguments (src/cli/args.ts for the CLI, container/run_args.ts for the
 * options of a container that declared containers are translated into):
 * option specs, splitting arguments by them (spf13/pflag conventions:
 * `--name x` and `--name=x`, combined short flags `-it`, `-e K=V`, `-eK=V`,
 * repeatable list options, `--flag=false`, `--` ends options, and options
 * that stop at the first positional for commands that run one), and typed
 * access to what was given.
 */
import { TsnspawnError } from "./errors.ts";

/**
 * How an option takes values: a flag, one value (last wins), a repeatable
 * list, or a value that may be left out (`--pull` alone means its implied
 * value; a value is given only as `--pull=never`, pflag's NoOptDefVal).
 */
export type OptionKind = "flag" | "value" | "list" | "optional";

/** One option of a command. */
export interface OptionSpec {
  /** Long name without dashes, also the key in the parsed option map. */
  long: string;
  /** One-letter short name. */
  short?: string;
  kind: OptionKind;
  /** Placeholder shown in help for options with values. */
  valueName?: string;
  /** One line for the help text. */
  description: string;
  /** kind "optional": the value the option has when given alone. */
  implied?: string;
}

export const flag = (long: string, short: string | undefined, description: string): OptionSpec => ({
  long,
  short,
  kind: "flag",
  description,
});
export const value = (
  long: string,
  short: string | undefined,
  valueName: string,
  description: string,
): OptionSpec => ({
  long,
  short,
  kind: "value",
  valueName,
  description,
});
export const optionalValue = (
  long: string,
  valueName: string,
  implied: string,
  description: string,
): OptionSpec => ({ long, kind: "optional", valueName, implied, description });
export const list = (
  long: string,
  short: string | undefined,
  valueName: string,
  description: string,
): OptionSpec => ({
  long,
  short,
  kind: "list",
  valueName,
  description,
});

/** A usage error of `command` (exit 2), pointing at its help. */
export function usage(message: string, command?: string): TsnspawnError {
  return new TsnspawnError("usage", message, {
    hint: command ? `see 'tsnspawn ${command} --help'` : "see 'tsnspawn help'",
  });
}

/** Raw parse result: option values by long name, and the positionals. */
export interface RawArgs {
  options: Map<string, string[] | boolean>;
  positionals: string[];
}

const BOOLEAN_WORDS: Record<string, boolean> = { true: true, false: false, "1": true, "0": false };

/** What {@link splitArgs} needs of a command. */
export interface ArgsSpec {
  /** The command's name, for messages. */
  name: string;
  /** Its options (with the global ones it accepts). */
  options: readonly OptionSpec[];
  /** Options end at the first positional (run, create, exec). */
  stopAtFirstPositional?: boolean;
}

/** Splits a command's arguments by its options (pflag conventions, see module comment). */
export function splitArgs(spec: ArgsSpec, args: string[]): RawArgs {
  const options = new Map<string, string[] | boolean>();
  const positionals: string[] = [];
  const all = spec.options;
  let optionsEnded = false;
  const store = (
    o: OptionSpec,
    optionText: string,
    inline: string | undefined,
    next: () => string | undefined,
  ) => {
    if (o.kind === "flag") {
      if (inline === undefined) return options.set(o.long, true);
      if (!Object.hasOwn(BOOLEAN_WORDS, inline)) {
        throw usage(
          `option ${optionText} for ${spec.name}: expected true or false, not ${
            JSON.stringify(inline)
          }`,
          spec.name,
        );
      }
      return options.set(o.long, BOOLEAN_WORDS[inline]);
    }
    if (o.kind === "optional") return options.set(o.long, [inline ?? o.implied ?? ""]);
    const v = inline ?? next();
    if (v === undefined) {
      throw usage(
        `option ${optionText} for ${spec.name} needs a value (${o.valueName})`,
        spec.name,
      );
    }
    if (o.kind === "list") {
      // Appended in place: a declared file may give hundreds of thousands of values.
      const previous = options.get(o.long);
      if (Array.isArray(previous)) previous.push(v);
      else options.set(o.long, [v]);
    } else {
      options.set(o.long, [v]);
    }
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const next = () => (i + 1 < args.length ? args[++i] : undefined);
    if (optionsEnded || arg === "-" || !arg.startsWith("-")) {
      positionals.push(arg);
      if (spec.stopAtFirstPositional) optionsEnded = true;
      continue;
    }
    if (arg === "--") {
      optionsEnded = true;
      continue;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      const o = all.find((o) => o.long === name);
      if (!o) throw usage(`unknown option --${name} for ${spec.name}`, spec.name);
      store(o, `--${name}`, eq === -1 ? undefined : arg.slice(eq + 1), next);
      continue;
    }
    // A cluster of short options: -it, -e K=V, -eK=V, -n=5.
    for (let j = 1; j < arg.length; j++) {
      const letter = arg[j];
      const o = all.find((o) => o.short === letter);
      if (!o) throw usage(`unknown option -${letter} for ${spec.name}`, spec.name);
      if (o.kind === "flag") {
        store(o, `-${letter}`, undefined, next);
        continue;
      }
      let rest = arg.slice(j + 1);
      if (rest.startsWith("=")) rest = rest.slice(1);
      store(o, `-${letter}`, rest === "" ? undefined : rest, next);
      break;
    }
  }
  return { options, positionals };
}

/** Typed accessors over {@link RawArgs}. */
export class OptionReader {
  constructor(private readonly raw: RawArgs) {}
  flag(long: string): boolean {
    return this.raw.options.get(long) === true;
  }
  value(long: string): string | undefined {
    const v = this.raw.options.get(long);
    return Array.isArray(v) ? v[v.length - 1] : undefined;
  }
  list(long: string): string[] {
    const v = this.raw.options.get(long);
    return Array.isArray(v) ? v : [];
  }
  has(long: string): boolean {
    return this.raw.options.has(long);
  }
  /** Parses a value with `parse` when present. */
  parsed<T>(long: string, parse: (text: string) => T): T | undefined {
    const v = this.value(long);
    return v === undefined ? undefined : parse(v);
  }
}

/** A value that must not be empty (`--rootfs ""`). */
export function nonEmpty(thing: string, text: string, command: string): string {
  if (text === "") throw usage(`${thing} for ${command} must not be empty`, command);
  return text;
}

/**
 * Where docker substitutes variables (pure): an instruction as parsed →
 * the same instruction with its words replaced by their final values.
 *
 * Spec: Dockerfile reference, "Environment replacement": ADD, COPY, ENV,
 * EXPOSE, FROM, LABEL, STOPSIGNAL, USER, VOLUME and WORKDIR expand, and so do
 * ARG values, the COPY/ADD --chown/--chmod/--checksum values (--chmod is
 * checked here, chmod.ts), the values of
 * RUN --mount and the bodies of COPY/ADD here-documents with an unquoted
 * delimiter (BuildKit). RUN, CMD, ENTRYPOINT, SHELL and HEALTHCHECK are left
 * to the shell, ONBUILD to the build that runs the trigger, MAINTAINER is
 * kept as written. Every word of one instruction sees the same values (an ENV
 * that sets A and uses $A sees the old A). COPY --from is not expanded here:
 * plan.ts resolves it with the build arguments, as buildah does.
 *
 * The caller supplies the lookup: for FROM the global ARGs, inside a stage
 * the image config's Env over the ARGs in scope (stage_state.ts).
 */
import { at } from "./containerfile.ts";
import type { CopySource, Instruction, RunMount } from "./instructions.ts";
import { parseChmod } from "./chmod.ts";
import { normalizeExposedPort } from "./ports.ts";
import { expandHeredoc, expandWord, expandWords, type VariableLookup } from "./substitute.ts";
import { TsnspawnError } from "../errors.ts";

/** Returns `instruction` with variables replaced and `resolved` set. */
export function resolveInstruction(
  instruction: Instruction,
  lookup: VariableLookup,
  escape = "\\",
): Instruction {
  if (instruction.resolved) return instruction;
  try {
    return { ...resolveFields(instruction, lookup, escape), resolved: true } as Instruction;
  } catch (error) {
    if (
      error instanceof TsnspawnError && !error.message.startsWith(`${instruction.location.file}:`)
    ) {
      throw at(instruction.location, error.message, error.hint);
    }
    throw error;
  }
}

function resolveFields(
  instruction: Instruction,
  lookup: VariableLookup,
  escape: string,
): Instruction {
  const word = (text: string) => expandWord(text, lookup, escape);
  const maybe = (text: string | undefined) => text === undefined ? undefined : word(text);
  switch (instruction.kind) {
    case "FROM": {
      const image = word(instruction.image);
      if (image === "") {
        throw new TsnspawnError("invalid", `base name (${instruction.image}) should not be blank`, {
          hint: "give the ARG a default value or pass --build-arg",
        });
      }
      const platform = maybe(instruction.platform);
      return { ...instruction, image, ...(platform !== undefined ? { platform } : {}) };
    }
    case "RUN":
      return { ...instruction, mounts: instruction.mounts.map((m) => resolveMount(m, word)) };
    case "COPY":
    case "ADD": {
      const sources = instruction.sources.map((source): CopySource =>
        source.kind === "path" ? { kind: "path", path: word(source.path) } : {
          kind: "heredoc",
          // once expanded the body is final: it prints as <<'NAME' and is not expanded again
          heredoc: source.heredoc.expand
            ? {
              ...source.heredoc,
              content: expandHeredoc(source.heredoc.content, lookup),
              expand: false,
            }
            : source.heredoc,
        }
      );
      const resolved = { ...instruction, sources, dest: word(instruction.dest) };
      if (instruction.chown !== undefined) resolved.chown = word(instruction.chown);
      if (instruction.chmod !== undefined) {
        resolved.chmod = word(instruction.chmod);
        parseChmod(resolved.chmod); // a bad mode fails here, before anything runs
      }
      if (resolved.kind === "ADD" && resolved.checksum !== undefined) {
        resolved.checksum = word(resolved.checksum);
      }
      return resolved;
    }
    case "ENV":
    case "LABEL":
      return {
        ...instruction,
        legacy: false, // resolved pairs always print as key=value
        pairs: instruction.pairs.map((pair) => {
          const key = word(pair.key);
          if (key === "" || (instruction.kind === "ENV" && key.includes("="))) {
            throw new TsnspawnError(
              "invalid",
              `${instruction.kind} name ${JSON.stringify(key)} is not valid`,
            );
          }
          return { key, value: word(pair.value) };
        }),
      };
    case "ARG":
      return {
        ...instruction,
        args: instruction.args.map((arg) => {
          const name = word(arg.name);
          if (name === "" || name.includes("=")) {
            throw new TsnspawnError("invalid", `ARG name ${JSON.stringify(name)} is not valid`);
          }
          return arg.value === undefined ? { name } : { name, value: word(arg.value) };
        }),
      };
    case "WORKDIR":
      return { ...instruction, path: word(instruction.path) };
    case "USER":
      return { ...instruction, user: word(instruction.user) };
    case "STOPSIGNAL":
      return { ...instruction, signal: word(instruction.signal) };
    case "EXPOSE":
      return {
        ...instruction,
        ports: instruction.ports.flatMap((port) => expandWords(port, lookup, escape))
          .flatMap(normalizeExposedPort),
      };
    case "VOLUME":
      return {
        ...instruction,
        paths: instruction.paths.map((path) => {
          const value = word(path).trim();
          if (value === "") {
            throw new TsnspawnError("invalid", "VOLUME specified can not be an empty string");
          }
          return value;
        }),
      };
    case "CMD":
    case "ENTRYPOINT":
    case "SHELL":
    case "HEALTHCHECK":
    case "ONBUILD":
    case "MAINTAINER":
      return instruction;
  }
}

function resolveMount(mount: RunMount, word: (text: string) => string): RunMount {
  const resolved = { ...mount, target: word(mount.target) };
  if (mount.source !== undefined) resolved.source = word(mount.source);
  if (mount.id !== undefined) resolved.id = word(mount.id);
  return resolved;
}

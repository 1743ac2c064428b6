/**
 * Fuzzing the Containerfile parser, the resolver and the formatter with
 * thousands of generated inputs: random characters, soups of Containerfile
 * tokens, and mutations of a valid file. Only TsnspawnError may escape, every
 * error message names FILE:LINE, and whatever parses must format to text
 * that parses again.
 */
import { assert, assertEquals } from "@std/assert";
import { TsnspawnError } from "../errors.ts";
import { parseContainerfile } from "./containerfile.ts";
import { formatInstruction } from "./instruction_format.ts";
import { planBuild } from "./plan.ts";
import type { Instruction } from "./instructions.ts";
import { resolveInstruction } from "./substitute_instruction.ts";
import { lookupIn } from "./substitute.ts";

/** An instruction without what formatting does not carry. */
function shape(instruction: Instruction): unknown {
  const { location: _l, text: _t, ...rest } = instruction;
  if (rest.kind === "ONBUILD") {
    return { ...rest, trigger: shape(rest.trigger), expression: undefined };
  }
  return rest;
}

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TOKENS = [
  "FROM",
  "RUN",
  "COPY",
  "ADD",
  "ENV",
  "ARG",
  "WORKDIR",
  "USER",
  "CMD",
  "ENTRYPOINT",
  "EXPOSE",
  "LABEL",
  "VOLUME",
  "STOPSIGNAL",
  "HEALTHCHECK",
  "ONBUILD",
  "SHELL",
  "MAINTAINER",
  "NONE",
  "AS",
  "--from=",
  "--chown=",
  "--chmod=",
  "--mount=",
  "type=cache,target=/x",
  "--interval=",
  "--link",
  "--",
  "--platform=",
  "--network=none",
  "--retries=",
  "CMD",
  "$",
  "${",
  "}",
  "${A:-",
  "${A#",
  "\\",
  "`",
  "\n",
  "\n",
  "\n",
  " ",
  " ",
  "\t",
  '"',
  "'",
  "[",
  "]",
  ",",
  '["a"',
  '"b"]',
  "<<",
  "<<EOF",
  "<<-EOF",
  "EOF",
  "<<'X'",
  "X",
  "#",
  "# escape=`",
  "# syntax=x",
  "=",
  "a=b",
  "1",
  "/path",
  "*",
  "**",
  "!",
  "\r\n",
  "\uFEFF",
  "é",
  "\u0000",
  "{",
  ":",
  "?",
  "%",
  "/",
];

const VALID = `# syntax=docker/dockerfile:1
ARG BASE=busybox
FROM \${BASE} AS build
ENV A=1 B="two words"
RUN --mount=type=cache,target=/c echo $A \\
    && echo done
COPY --chown=1:1 <<EOF /etc/x
hello $A
EOF
WORKDIR /app
FROM build
COPY --from=build ["/a b", "/c"]
HEALTHCHECK --interval=5s CMD ["true"]
ONBUILD RUN make
CMD ["app"]
`;

function generate(random: () => number, mode: number): string {
  const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)];
  const length = Math.floor(random() * 60);
  if (mode === 0) {
    return Array.from({ length }, () => String.fromCodePoint(Math.floor(random() * 0x250))).join(
      "",
    );
  }
  if (mode === 1) return Array.from({ length }, () => pick(TOKENS)).join(random() < 0.5 ? " " : "");
  let text = VALID;
  for (let i = 0; i < 1 + Math.floor(random() * 4); i++) {
    const at = Math.floor(random() * text.length);
    const choice = random();
    if (choice < 0.4) text = text.slice(0, at) + text.slice(at + 1 + Math.floor(random() * 5));
    else if (choice < 0.8) text = text.slice(0, at) + pick(TOKENS) + text.slice(at);
    else text = text.slice(0, at) + text.slice(at, at + 20) + text.slice(at);
  }
  return text;
}

Deno.test("random input gives instructions or one clean error naming file and line", () => {
  const random = prng(11);
  const vars = lookupIn({ A: "x y", BASE: "alpine", EMPTY: "" });
  let parsedFiles = 0;
  for (let i = 0; i < 6000; i++) {
    const text = generate(random, i % 3);
    try {
      const file = parseContainerfile(text, "Fuzzfile");
      parsedFiles++;
      try {
        const plan = planBuild(file, {
          platform: { os: "linux", architecture: "amd64" },
          buildArgs: { BASE: random() < 0.5 ? "busybox" : "", A: "build" },
          ...(random() < 0.3 ? { target: "build" } : {}),
        });
        assert(plan.waves.flat().length === plan.stages.length);
      } catch (error) {
        if (!(error instanceof TsnspawnError)) throw error;
        assert(/^Fuzzfile:\d+: |^target stage /u.test(error.message), error.message);
      }
      for (const instruction of file.instructions) {
        // what parses formats to text that parses to the same instruction
        const formatted = formatInstruction(instruction);
        const again = parseContainerfile(`FROM a\n${formatted}\n`, "Again");
        const last = again.instructions[again.instructions.length - 1];
        assertEquals(shape(last), shape(instruction), `${JSON.stringify(text)} → ${formatted}`);
        try {
          formatInstruction(resolveInstruction(instruction, vars, file.escape));
        } catch (error) {
          if (!(error instanceof TsnspawnError)) throw error;
          assert(/^Fuzzfile:\d+: /u.test(error.message), error.message);
        }
      }
    } catch (error) {
      if (!(error instanceof TsnspawnError)) {
        throw new Error(`crash on ${JSON.stringify(text)}`, { cause: error });
      }
      assert(
        /^(Fuzzfile|Again):\d+: /u.test(error.message),
        `${JSON.stringify(text)}: ${error.message}`,
      );
    }
  }
  assert(parsedFiles > 300, `only ${parsedFiles} inputs parsed`);
});

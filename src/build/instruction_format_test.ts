import { assertEquals } from "@std/assert";
import { parseContainerfile } from "./containerfile.ts";
import { formatInstruction, quoteValue } from "./instruction_format.ts";
import type { Instruction } from "./instructions.ts";
import { resolveInstruction } from "./substitute_instruction.ts";
import { lookupIn } from "./substitute.ts";

/** Drops what formatting does not carry (source position and text). */
function shape(instruction: Instruction): unknown {
  const { location: _l, text: _t, ...rest } = instruction;
  if (rest.kind === "ONBUILD") {
    return { ...rest, trigger: shape(rest.trigger), expression: undefined };
  }
  return rest;
}

function parseOne(text: string): Instruction {
  const instructions = parseContainerfile(`FROM base\n${text}\n`).instructions;
  assertEquals(instructions.length, 2, `one instruction in ${text}`);
  return instructions[1];
}

const CORPUS = [
  "RUN apt-get update && apt-get install -y  curl",
  'RUN ["/bin/sh", "-c", "echo \\"hi\\""]',
  "RUN --mount=type=cache,target=/var/cache/apt,sharing=locked --network=host make",
  "RUN --mount=type=bind,source=.,target=/src,from=build,rw --mount=type=tmpfs,target=/tmp,size=1m x",
  "RUN <<EOF bash\nset -e\necho $HOME\nEOF",
  "RUN <<-'A' cat >a && 3<<B cat >b\n\tone\n\tA\ntwo\nB",
  "COPY --from=build --chown=1:1 --chmod=644 --link --exclude=*.md a b/ /dst/",
  'COPY ["a b", "$HOME/c", "/d e/"]',
  "COPY <<-EOF <<'RAW' /etc/\n\tv=$V\nEOF\n$V\nRAW",
  "COPY --parents ./src/**/*.go /out/",
  "ADD --checksum=sha256:0123 --unpack=true --keep-git-dir=false https://x/y.tar /y/",
  'ENV A=1 B="two words" C=x\\ y D= E=$HOME',
  "ENV LEGACY some  value",
  'LABEL "com.example"="a b" version=1.0',
  'ARG A B=2 C="$A x"',
  "WORKDIR $HOME/app",
  "USER ${UID:-1000}:1000",
  "STOPSIGNAL SIGQUIT",
  "MAINTAINER Jane <jane@example.com>",
  "CMD exec app --flag",
  'CMD ["app", ""]',
  "ENTRYPOINT []",
  "EXPOSE 80 443/udp $PORT",
  "VOLUME /a /b",
  'VOLUME ["/data dir"]',
  'SHELL ["/bin/bash", "-eu", "-c"]',
  "HEALTHCHECK NONE",
  "HEALTHCHECK --interval=1m30s --timeout=500ms --start-period=2s --start-interval=1s --retries=5 CMD curl -f x",
  'HEALTHCHECK CMD ["/bin/check", "--quiet"]',
  "ONBUILD COPY . /app/src",
  "ONBUILD RUN <<EOF\nmake\nEOF",
  "FROM --platform=$P busybox:${V:-1} AS Build",
];

Deno.test("format then parse gives the same instruction (as written)", () => {
  for (const text of CORPUS) {
    const parsed = text.startsWith("FROM")
      ? parseContainerfile(`${text}\n`).instructions[0]
      : parseOne(text);
    const formatted = formatInstruction(parsed);
    const again = text.startsWith("FROM")
      ? parseContainerfile(`${formatted}\n`).instructions[0]
      : parseOne(formatted);
    assertEquals(shape(again), shape(parsed), `${text}\n→ ${formatted}`);
  }
});

Deno.test("format, parse and resolve of a resolved instruction gives the same values", () => {
  const vars = lookupIn({ HOME: "/h o\"m'e$", V: "3", PORT: "8080 9090/udp", A: "a\\b", UID: "" });
  const none = lookupIn({});
  for (const text of CORPUS) {
    const parsed = text.startsWith("FROM")
      ? parseContainerfile(`${text}\n`).instructions[0]
      : parseOne(text);
    const resolved = resolveInstruction(parsed, vars);
    const formatted = formatInstruction(resolved);
    const reparsed = text.startsWith("FROM")
      ? parseContainerfile(`${formatted}\n`).instructions[0]
      : parseOne(formatted);
    assertEquals(
      shape(resolveInstruction(reparsed, none)),
      shape(resolved),
      `${text}\n→ ${formatted}`,
    );
  }
});

Deno.test("canonical text: capital keyword, single spaces, fixed option order, JSON exec form", () => {
  const f = (text: string) => formatInstruction(parseOne(text));
  assertEquals(f("copy   --link  --from=a x  y"), "COPY --from=a --link x y");
  assertEquals(f('cmd ["a","b"]'), 'CMD ["a", "b"]');
  assertEquals(
    f("healthcheck --retries=3 --interval=90s cmd true"),
    "HEALTHCHECK --interval=1m30s --retries=3 CMD true",
  );
  assertEquals(f("run --mount=target=/x,ro echo"), "RUN --mount=type=bind,target=/x echo");
  assertEquals(f("onbuild   run   make"), "ONBUILD RUN make");
});

Deno.test("resolved values are quoted only when needed", () => {
  const vars = lookupIn({ D: "/data", S: "a b", E: "" });
  const f = (text: string) => formatInstruction(resolveInstruction(parseOne(text), vars));
  assertEquals(f("ENV A=$D B=$S C=$E"), 'ENV A=/data B="a b" C=""');
  assertEquals(f("ENV OLD $S"), 'ENV OLD="a b"');
  assertEquals(f("WORKDIR $D/x"), "WORKDIR /data/x");
  assertEquals(f("COPY x $D/"), "COPY x /data/");
  assertEquals(f("COPY x $S"), 'COPY ["x", "a b"]');
  assertEquals(f("EXPOSE 80 53/UDP"), "EXPOSE 80/tcp 53/udp");
  assertEquals(f("LABEL price=\\$5"), 'LABEL price="\\$5"');
  assertEquals(quoteValue("it's"), `"it's"`);
});

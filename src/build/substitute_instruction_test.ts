import { assertEquals, assertThrows } from "@std/assert";
import { TsnspawnError } from "../errors.ts";
import { parseContainerfile } from "./containerfile.ts";
import type { Instruction } from "./instructions.ts";
import { resolveInstruction } from "./substitute_instruction.ts";
import { lookupIn } from "./substitute.ts";

const vars = lookupIn({ D: "/data", U: "app", P: "80 443/udp", V: "1.2", SIG: "SIGINT", Q: '"q"' });

function resolve(text: string): Record<string, unknown> {
  const parsed = parseContainerfile(`FROM base\n${text}\n`, "Dockerfile").instructions[1];
  const { location: _l, text: _t, ...rest } = resolveInstruction(parsed, vars);
  return rest as Record<string, unknown>;
}

Deno.test("instructions docker expands", () => {
  assertEquals(resolve("WORKDIR $D/app").path, "/data/app");
  assertEquals(resolve("USER ${U}:${U}").user, "app:app");
  assertEquals(resolve("STOPSIGNAL $SIG").signal, "SIGINT");
  assertEquals(resolve("EXPOSE $P 8080").ports, ["80/tcp", "443/udp", "8080/tcp"]);
  assertEquals(resolve('VOLUME $D "/x"').paths, ["/data", "/x"]); // split before expansion, as docker
  assertEquals(resolve('VOLUME ["$D/v"]').paths, ["/data/v"]);
  assertEquals(resolve("ENV A=$D B=${V}-x").pairs, [{ key: "A", value: "/data" }, {
    key: "B",
    value: "1.2-x",
  }]);
  assertEquals(resolve('LABEL v="$V" "k$V"=$Q').pairs, [{ key: "v", value: "1.2" }, {
    key: "k1.2",
    value: '"q"',
  }]);
  assertEquals(resolve("ARG X=$D Y").args, [{ name: "X", value: "/data" }, { name: "Y" }]);
  const copy = resolve("COPY --chown=$U --chmod=07${V%.*}5 a$V $D/");
  assertEquals([copy.chown, copy.chmod, copy.sources, copy.dest], [
    "app",
    "0715",
    [{ kind: "path", path: "a1.2" }],
    "/data/",
  ]);
  assertEquals(resolve("ADD --checksum=$V x y").checksum, "1.2");
  assertEquals(resolve("RUN --mount=type=cache,target=$D,id=c$V x").mounts, [
    { type: "cache", target: "/data", id: "c1.2", readOnly: false },
  ]);
});

Deno.test("instructions left to the shell or the later build", () => {
  assertEquals(resolve("RUN echo $D").command, { form: "shell", script: "echo $D" });
  assertEquals(resolve('CMD ["$D"]').command, { form: "exec", args: ["$D"] });
  assertEquals(resolve("ENTRYPOINT $D").command, { form: "shell", script: "$D" });
  assertEquals(resolve("MAINTAINER $U").maintainer, "$U");
  assertEquals((resolve("ONBUILD WORKDIR $D").trigger as Instruction).resolved, false);
  assertEquals(resolve("COPY --from=$U a b").from, "$U");
});

Deno.test("COPY here-documents expand unless the delimiter is quoted", () => {
  const copy = resolve("COPY <<A <<'B' /\n$D \\$D\nA\n$D\nB");
  assertEquals(copy.sources, [
    { kind: "heredoc", heredoc: { name: "A", content: "/data $D\n", expand: false, chomp: false } },
    { kind: "heredoc", heredoc: { name: "B", content: "$D\n", expand: false, chomp: false } },
  ]);
  const run = resolve("RUN <<A\n$D\nA");
  assertEquals(run.heredocs, [{ name: "A", content: "$D\n", expand: true, chomp: false }]);
});

Deno.test("FROM expands with the lookup given (global ARGs)", () => {
  const from = parseContainerfile("FROM --platform=$P busybox:$V AS x\n").instructions[0];
  const resolved = resolveInstruction(from, vars);
  assertEquals(resolved.kind === "FROM" && [resolved.image, resolved.platform, resolved.stage], [
    "busybox:1.2",
    "80 443/udp",
    "x",
  ]);
  const blank = parseContainerfile("FROM $NOPE\n", "Dockerfile").instructions[0];
  assertThrows(
    () => resolveInstruction(blank, vars),
    TsnspawnError,
    "Dockerfile:1: base name ($NOPE) should not be blank",
  );
});

Deno.test("substitution errors name the file and line", () => {
  assertThrows(
    () => resolve("WORKDIR ${D"),
    TsnspawnError,
    "Dockerfile:2: Bad variable substitution",
  );
  assertThrows(() => resolve("EXPOSE 80/xyz"), TsnspawnError, "Dockerfile:2: invalid port");
  assertThrows(
    () => resolve('VOLUME ""'),
    TsnspawnError,
    "Dockerfile:2: VOLUME specified can not be an empty string",
  );
  assertThrows(() => resolve("ENV $EMPTY=x"), TsnspawnError, "Dockerfile:2: ENV name");
  assertThrows(
    () => resolve("COPY --chmod=$V a b"),
    TsnspawnError,
    "Dockerfile:2: invalid --chmod=1.2",
  );
});

Deno.test("resolving twice changes nothing", () => {
  const parsed = parseContainerfile("FROM a\nENV A=\\$D\n").instructions[1];
  const once = resolveInstruction(parsed, vars);
  assertEquals(resolveInstruction(once, vars), once);
  assertEquals(once.kind === "ENV" && once.pairs[0].value, "$D");
});

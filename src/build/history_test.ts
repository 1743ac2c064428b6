import { assertEquals } from "@std/assert";
import { parseContainerfile } from "./containerfile.ts";
import { createdBy, historyEntry } from "./history.ts";
import type { Instruction } from "./instructions.ts";
import { resolveInstruction } from "./substitute_instruction.ts";
import { lookupIn } from "./substitute.ts";

function resolved(text: string): Instruction {
  const instruction = parseContainerfile(`FROM x\n${text}\n`).instructions[1];
  return resolveInstruction(instruction, lookupIn({ V: "1.0", D: "/srv" }));
}

const SH = ["/bin/sh", "-c"];

Deno.test("RUN: the |N args prefix, the shell, the command and here-document bodies", () => {
  assertEquals(
    createdBy({ instruction: resolved("RUN make $V"), shell: SH }),
    "/bin/sh -c make $V",
  );
  assertEquals(
    createdBy({ instruction: resolved("RUN make"), shell: SH, runArgs: ["A=1", "B=two words"] }),
    "|2 A=1 B=two words /bin/sh -c make",
  );
  assertEquals(
    createdBy({ instruction: resolved('RUN ["make", "-j", "2"]'), shell: SH }),
    "make -j 2",
  );
  assertEquals(
    createdBy({
      instruction: resolved("RUN <<EOF bash\necho hi\nEOF"),
      shell: ["/bin/bash", "-c"],
    }),
    "/bin/bash -c <<EOF bash\necho hi\nEOF",
  );
});

Deno.test("COPY and ADD: docker's content summary form", () => {
  assertEquals(
    createdBy({
      instruction: resolved("COPY --chown=1:1 a b $D/"),
      shell: SH,
      contentSummary: "multi:ab12",
    }),
    "/bin/sh -c #(nop) COPY multi:ab12 in /srv/ ",
  );
  assertEquals(
    createdBy({
      instruction: resolved("ADD --link x.tar /"),
      shell: SH,
      contentSummary: "file:ff",
    }),
    "/bin/sh -c #(nop) ADD --link file:ff in / ",
  );
  assertEquals(
    createdBy({ instruction: resolved("COPY <<EOF a /x\nhi\nEOF"), shell: SH }),
    "/bin/sh -c #(nop) COPY <<EOF a in /x ",
  );
});

Deno.test("metadata steps: #(nop) and the canonical text with values", () => {
  const nop = (text: string) => createdBy({ instruction: resolved(text), shell: SH });
  assertEquals(nop("ENV A=$V B='x y'"), '/bin/sh -c #(nop) ENV A=1.0 B="x y"');
  assertEquals(nop("WORKDIR $D"), "/bin/sh -c #(nop) WORKDIR /srv");
  assertEquals(nop('CMD ["a"]'), '/bin/sh -c #(nop) CMD ["a"]');
  assertEquals(nop("EXPOSE 80"), "/bin/sh -c #(nop) EXPOSE 80/tcp");
  assertEquals(nop("ONBUILD RUN x $V"), "/bin/sh -c #(nop) ONBUILD RUN x $V");
});

Deno.test("history entries: created given, empty_layer for metadata only", () => {
  const at = "1970-01-01T00:00:00Z";
  assertEquals(historyEntry({ instruction: resolved("USER app"), shell: SH }, at), {
    created: at,
    created_by: "/bin/sh -c #(nop) USER app",
    empty_layer: true,
  });
  assertEquals(historyEntry({ instruction: resolved("RUN x"), shell: SH }, at), {
    created: at,
    created_by: "/bin/sh -c x",
  });
});

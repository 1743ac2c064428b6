import { assert, assertEquals, assertThrows } from "@std/assert";
import { TsnspawnError } from "../errors.ts";
import { type Containerfile, parseContainerfile } from "./containerfile.ts";
import type { Instruction } from "./instructions.ts";

/** Parses "FROM base\n" + body and returns the instructions after FROM, without locations. */
function body(text: string): Record<string, unknown>[] {
  return strip(parseContainerfile(`FROM base\n${text}`).instructions.slice(1));
}

function strip(instructions: Instruction[]): Record<string, unknown>[] {
  return instructions.map((instruction) => {
    const { location: _l, text: _t, resolved: _r, ...rest } = instruction;
    if (rest.kind === "ONBUILD") {
      return { ...rest, trigger: strip([rest.trigger])[0] } as Record<string, unknown>;
    }
    return rest as Record<string, unknown>;
  });
}

function fails(text: string, message: string, hint?: string): TsnspawnError {
  const error = assertThrows(() => parseContainerfile(text, "Dockerfile"), TsnspawnError, message);
  if (hint !== undefined) assert(error.hint?.includes(hint), `hint ${error.hint} lacks ${hint}`);
  return error;
}

Deno.test("FROM with platform and stage name", () => {
  const file = parseContainerfile("ARG V=1\nfrom --platform=$P busybox:$V as Build\n");
  assertEquals(strip(file.instructions), [
    { kind: "ARG", args: [{ name: "V", value: "1" }] },
    { kind: "FROM", image: "busybox:$V", stage: "Build", platform: "$P" },
  ]);
  assertEquals(file.instructions[1].location, { file: "Containerfile", line: 2, endLine: 2 });
});

Deno.test("RUN, CMD and ENTRYPOINT in shell and exec form", () => {
  assertEquals(body('RUN echo "$HOME" \\\n && true\nCMD ["a", "b c"]\nENTRYPOINT exec app\n'), [
    {
      kind: "RUN",
      command: { form: "shell", script: 'echo "$HOME"  && true' },
      heredocs: [],
      mounts: [],
    },
    { kind: "CMD", command: { form: "exec", args: ["a", "b c"] } },
    { kind: "ENTRYPOINT", command: { form: "shell", script: "exec app" } },
  ]);
  assertEquals(body("CMD []\nENTRYPOINT  [ ]\n"), [
    { kind: "CMD", command: { form: "exec", args: [] } },
    { kind: "ENTRYPOINT", command: { form: "exec", args: [] } },
  ]);
});

Deno.test("a shell test that starts with [ stays a shell command", () => {
  assertEquals(body('RUN [ -f /x ] && echo yes\nRUN [ "$A" = "b" ]\n').map((i) => i.command), [
    { form: "shell", script: "[ -f /x ] && echo yes" },
    { form: "shell", script: '[ "$A" = "b" ]' },
  ]);
});

Deno.test("bad JSON in an exec form is an error with file and line", () => {
  fails(
    "FROM a\nRUN true\nCMD ['app', '-x']\n",
    "Dockerfile:3: bad JSON in the exec form of CMD",
    "double-quoted",
  );
  fails("FROM a\nENTRYPOINT ['app']\n", "Dockerfile:2: bad JSON");
  fails(
    'FROM a\nRUN ["a", 1]\n',
    "Dockerfile:2: bad JSON in the exec form of RUN: every element must be a string",
  );
  fails("FROM a\nCOPY ['a', 'b']\n", "Dockerfile:2: bad JSON array in COPY");
  fails("FROM a\nSHELL /bin/bash -c\n", "Dockerfile:2: SHELL requires a non-empty JSON array");
});

Deno.test("RUN options: mounts and network", () => {
  const [run] = body(
    "RUN --mount=type=cache,target=/root/.cache,id=pip --mount=target=/src,from=build,rw --network=none pip install\n",
  );
  assertEquals(run.mounts, [
    { type: "cache", target: "/root/.cache", id: "pip", readOnly: false },
    { type: "bind", target: "/src", from: "build", readOnly: false },
  ]);
  assertEquals(run.network, "none");
  fails("FROM a\nRUN --network=bridge x\n", "Dockerfile:2: unsupported RUN --network=bridge");
  fails(
    "FROM a\nRUN --security=insecure x\n",
    "Dockerfile:2: RUN --security=insecure is not supported",
  );
  fails(
    "FROM a\nRUN --mount=type=secret,id=x cat\n",
    "Dockerfile:2: RUN --mount=type=secret is not supported",
  );
  fails("FROM a\nRUN --mount=type=bind x\n", "Dockerfile:2: --mount needs a target");
  fails("FROM a\nRUN --device=/dev/fuse x\n", "Dockerfile:2: unknown option --device for RUN");
});

Deno.test("RUN with here-documents", () => {
  const [run] = body("RUN <<EOF bash\nset -e\necho hi\nEOF\n");
  assertEquals(run, {
    kind: "RUN",
    command: { form: "shell", script: "<<EOF bash" },
    heredocs: [{ name: "EOF", content: "set -e\necho hi\n", expand: true, chomp: false }],
    mounts: [],
  });
  const [two] = body("RUN <<A cat > a && <<B cat > b\n1\nA\n2\nB\n");
  assertEquals(
    (two.heredocs as { name: string; content: string }[]).map((h) => [h.name, h.content]),
    [
      ["A", "1\n"],
      ["B", "2\n"],
    ],
  );
});

Deno.test("COPY and ADD: sources, destination, options, JSON form, heredocs", () => {
  assertEquals(
    body(
      "COPY --from=build --chown=app:app --chmod=0755 --link --exclude=*.md --exclude=x a b* /dst/\n" +
        'ADD --checksum=sha256:abc --unpack=false ["with space", "/d"]\n' +
        "COPY <<-EOF <<'RAW' /etc/\n\tv=$V\n\tEOF\n$V\nRAW\n",
    ),
    [
      {
        kind: "COPY",
        sources: [{ kind: "path", path: "a" }, { kind: "path", path: "b*" }],
        dest: "/dst/",
        json: false,
        link: true,
        exclude: ["*.md", "x"],
        chown: "app:app",
        chmod: "0755",
        parents: false,
        from: "build",
      },
      {
        kind: "ADD",
        sources: [{ kind: "path", path: "with space" }],
        dest: "/d",
        json: true,
        link: false,
        exclude: [],
        checksum: "sha256:abc",
        unpack: false,
      },
      {
        kind: "COPY",
        sources: [
          {
            kind: "heredoc",
            heredoc: { name: "EOF", content: "\tv=$V\n", expand: true, chomp: true },
          },
          {
            kind: "heredoc",
            heredoc: { name: "RAW", content: "$V\n", expand: false, chomp: false },
          },
        ],
        dest: "/etc/",
        json: false,
        link: false,
        exclude: [],
        parents: false,
      },
    ],
  );
  fails("FROM a\nCOPY onlyone\n", "Dockerfile:2: COPY requires at least two arguments");
  fails(
    "FROM a\nCOPY a <<EOF\nx\nEOF\n",
    "Dockerfile:2: COPY cannot take a here-document as its destination",
  );
  fails(
    "FROM a\nCOPY --chmode=755 a b\n",
    "Dockerfile:2: unknown option --chmode for COPY",
    "--chmod",
  );
  fails("FROM a\nCOPY --from a b\n", "Dockerfile:2: missing a value on option --from");
  fails("FROM a\nCOPY --from=x --from=y a b\n", "Dockerfile:2: duplicate option --from");
  fails("FROM a\nCOPY --link=maybe a b\n", "Dockerfile:2: expecting true or false");
  fails("FROM a\nADD --from=x a b\n", "Dockerfile:2: unknown option --from for ADD");
});

Deno.test("ENV and LABEL: key=value pairs and the legacy form", () => {
  assertEquals(
    body(
      'ENV A=1 B="two words" C=x\\ y D=\nENV OLD  value with  spaces\nLABEL "com.x"="y z" v=1\n',
    ),
    [
      {
        kind: "ENV",
        pairs: [
          { key: "A", value: "1" },
          { key: "B", value: '"two words"' },
          { key: "C", value: "x\\ y" },
          { key: "D", value: "" },
        ],
        legacy: false,
      },
      { kind: "ENV", pairs: [{ key: "OLD", value: "value with  spaces" }], legacy: true },
      {
        kind: "LABEL",
        pairs: [{ key: '"com.x"', value: '"y z"' }, { key: "v", value: "1" }],
        legacy: false,
      },
    ],
  );
  // ENV ONE TWO= THREE=world is the legacy form with value "TWO= THREE=world"
  assertEquals(body("ENV ONE TWO= THREE=world\n")[0].pairs, [{
    key: "ONE",
    value: "TWO= THREE=world",
  }]);
  fails("FROM a\nENV A=1 B\n", 'Dockerfile:2: ENV: can\'t find = in "B"');
  fails("FROM a\nENV ALONE\n", "Dockerfile:2: ENV ALONE has no value");
  fails("FROM a\nENV =x\n", "Dockerfile:2: ENV names can not be blank");
  fails("FROM a\nLABEL\n", "Dockerfile:2: LABEL requires at least one key=value");
});

Deno.test("ARG, WORKDIR, USER, STOPSIGNAL, MAINTAINER, EXPOSE, VOLUME, SHELL", () => {
  assertEquals(
    body(
      'ARG A B=2 C="x y"\nWORKDIR /a b\nUSER app:app\nSTOPSIGNAL SIGTERM\nMAINTAINER Me <me@x>\n' +
        'EXPOSE 80 443/udp $P\nVOLUME /a /b\nVOLUME ["/c d"]\nSHELL ["/bin/bash", "-c"]\n',
    ),
    [
      {
        kind: "ARG",
        args: [{ name: "A" }, { name: "B", value: "2" }, { name: "C", value: '"x y"' }],
      },
      { kind: "WORKDIR", path: "/a b" },
      { kind: "USER", user: "app:app" },
      { kind: "STOPSIGNAL", signal: "SIGTERM" },
      { kind: "MAINTAINER", maintainer: "Me <me@x>" },
      { kind: "EXPOSE", ports: ["80", "443/udp", "$P"] },
      { kind: "VOLUME", paths: ["/a", "/b"], json: false },
      { kind: "VOLUME", paths: ["/c d"], json: true },
      { kind: "SHELL", shell: ["/bin/bash", "-c"] },
    ],
  );
  fails("FROM a\nWORKDIR\n", "Dockerfile:2: WORKDIR requires a path");
  fails(
    "FROM a\nSTOPSIGNAL --x=1 9\n",
    "Dockerfile:2: unknown option --x for STOPSIGNAL",
    "no options",
  );
});

Deno.test("HEALTHCHECK: options in nanoseconds, CMD-SHELL and NONE", () => {
  assertEquals(
    body(
      "HEALTHCHECK --interval=5m --timeout=3s --start-period=1m30s --retries=4 CMD curl -f x || exit 1\n",
    ),
    [{
      kind: "HEALTHCHECK",
      check: {
        command: { form: "shell", script: "curl -f x || exit 1" },
        interval: 300e9,
        timeout: 3e9,
        startPeriod: 90e9,
        startInterval: 0,
        retries: 4,
      },
    }],
  );
  assertEquals(body("healthcheck none\n"), [{ kind: "HEALTHCHECK", check: "NONE" }]);
  fails("FROM a\nHEALTHCHECK NONE x\n", "Dockerfile:2: HEALTHCHECK NONE takes no arguments");
  fails(
    "FROM a\nHEALTHCHECK --interval=1s NONE\n",
    "Dockerfile:2: HEALTHCHECK NONE takes no arguments",
  );
  fails("FROM a\nHEALTHCHECK RUN x\n", "Dockerfile:2: unknown type RUN in HEALTHCHECK");
  fails("FROM a\nHEALTHCHECK CMD\n", "Dockerfile:2: missing command after HEALTHCHECK CMD");
  fails("FROM a\nHEALTHCHECK --interval=5 CMD x\n", "Dockerfile:2: invalid duration --interval=5");
  fails(
    "FROM a\nHEALTHCHECK --timeout=1us CMD x\n",
    "Dockerfile:2: --timeout cannot be less than 1ms",
  );
  fails("FROM a\nHEALTHCHECK --retries=-1 CMD x\n", "Dockerfile:2: invalid --retries=-1");
});

Deno.test("ONBUILD keeps its trigger and docker's expression text", () => {
  const file = parseContainerfile("FROM a\nONBUILD  COPY  . /app\nONBUILD RUN <<EOF\nmake\nEOF\n");
  assertEquals(
    strip(file.instructions).slice(1).map((i) => [i.expression, (i.trigger as Instruction).kind]),
    [
      ["COPY  . /app", "COPY"],
      ["RUN <<EOF\nmake\nEOF", "RUN"],
    ],
  );
  fails(
    "FROM a\nONBUILD ONBUILD RUN x\n",
    "Dockerfile:2: chaining ONBUILD via ONBUILD ONBUILD isn't allowed",
  );
  fails("FROM a\nONBUILD FROM b\n", "Dockerfile:2: FROM isn't allowed as an ONBUILD trigger");
  fails(
    "FROM a\nONBUILD MAINTAINER me\n",
    "Dockerfile:2: MAINTAINER isn't allowed as an ONBUILD trigger",
  );
  fails("FROM a\nONBUILD RUNN x\n", "Dockerfile:2: unknown instruction: RUNN");
});

Deno.test("unknown instructions suggest the closest one", () => {
  fails("FROM a\n\nRUNN echo\n", "Dockerfile:3: unknown instruction: RUNN", "did you mean RUN?");
  fails("FROM a\nCOPPY a b\n", "Dockerfile:2: unknown instruction: COPPY", "COPY");
  fails(
    "FROM a\nFROBNICATE\n",
    "Dockerfile:2: unknown instruction: FROBNICATE",
    "instructions are",
  );
});

Deno.test("FROM must come first; ARG may precede it", () => {
  fails("RUN x\nFROM a\n", "Dockerfile:1: RUN before the first FROM", "only ARG");
  fails("ARG A\nARG B\n", "Dockerfile:2: no FROM instruction");
  fails("# just a comment\n\n", "Dockerfile:1: the file has no instructions");
  fails("", "Dockerfile:1: the file has no instructions");
  fails("FROM\n", "Dockerfile:1: FROM requires either one or three arguments");
  fails("FROM a AS\n", "Dockerfile:1: FROM requires either one or three arguments");
  fails("FROM a TO b\n", "Dockerfile:1: FROM requires either one or three arguments");
  fails("FROM a AS 1st\n", 'Dockerfile:1: invalid stage name "1st"');
});

Deno.test("notes for ignored directives and warnings for deprecated forms", () => {
  const file: Containerfile = parseContainerfile(
    "# syntax=docker/dockerfile:1.7\n# check=skip=all\nFROM a\nMAINTAINER me\nENV A 1\nRUN a \\\n\nb\n",
  );
  assertEquals(file.notes.map((n) => n.line), [1, 2]);
  assert(file.notes[0].message.includes("ignored"));
  assertEquals(file.warnings.map((w) => w.line).sort(), [4, 5, 6]);
});

Deno.test("the escape directive applies to words and continuations", () => {
  const file = parseContainerfile("# escape=`\nFROM a\nENV P=c:\\dir Q=x` y\nRUN dir `\n  c:\\\n");
  assertEquals(strip(file.instructions).slice(1), [
    {
      kind: "ENV",
      pairs: [{ key: "P", value: "c:\\dir" }, { key: "Q", value: "x` y" }],
      legacy: false,
    },
    { kind: "RUN", command: { form: "shell", script: "dir   c:\\" }, heredocs: [], mounts: [] },
  ]);
});

Deno.test("instruction keywords are case-insensitive", () => {
  assertEquals(body("run x\nCoPy a b\n").map((i) => i.kind), ["RUN", "COPY"]);
});

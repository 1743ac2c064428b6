import { assert, assertEquals, assertThrows } from "@std/assert";
import { TsnspawnError } from "../errors.ts";
import { parseContainerfile } from "./containerfile.ts";
import { type BuildPlan, planBuild, type PlanOptions } from "./plan.ts";
import { isValidReference as isImageReference } from "../oci/reference.ts";

const AMD64 = { os: "linux", architecture: "amd64" };

function plan(text: string, options: PlanOptions = {}): BuildPlan {
  return planBuild(parseContainerfile(text, "Containerfile"), { platform: AMD64, ...options });
}

function fails(text: string, message: string, options: PlanOptions = {}, hint?: string): void {
  const error = assertThrows(() => plan(text, options), TsnspawnError, message);
  if (hint !== undefined) assert(error.hint?.includes(hint), `hint ${error.hint} lacks ${hint}`);
}

Deno.test("a single stage from an image", () => {
  const p = plan("FROM busybox\nRUN true\n");
  assertEquals(p.target, 0);
  assertEquals(p.waves, [[0]]);
  assertEquals(p.stages.map((s) => [s.index, s.name, s.base, s.steps.length]), [
    [0, undefined, { kind: "image", ref: "busybox" }, 1],
  ]);
  assertEquals(p.images.map((i) => [i.ref, i.use, i.location.line]), [["busybox", "base", 1]]);
});

Deno.test("global ARGs feed FROM; --build-arg overrides them", () => {
  const text = "ARG V=1.36\nARG IMAGE=busybox:$V\nFROM $IMAGE\nFROM ${IMAGE}-musl AS x\n";
  assertEquals(plan(text).images.map((i) => i.ref), ["busybox:1.36-musl"]);
  assertEquals(plan(text, { target: "x" }).stages[0].base, {
    kind: "image",
    ref: "busybox:1.36-musl",
  });
  const first = plan("ARG V=1.36\nFROM busybox:$V\n", { buildArgs: { V: "1.37" } });
  assertEquals(first.images[0].ref, "busybox:1.37");
  assertEquals(plan("FROM scratch\n").stages[0].base, { kind: "scratch" });
});

Deno.test("automatic platform ARGs are global", () => {
  const p = plan("FROM --platform=$BUILDPLATFORM busybox:$TARGETARCH\n", {
    platform: { os: "linux", architecture: "arm64", variant: "v8" },
  });
  assertEquals(p.stages[0].platform, "linux/arm64/v8");
  assertEquals(p.images[0].ref, "busybox:arm64");
  assertEquals(p.globals.get("TARGETOS"), "linux");
});

Deno.test("stages, dependencies, dropped stages and waves", () => {
  const p = plan(
    "FROM busybox AS base\nFROM base AS build1\nFROM busybox AS build2\nFROM scratch AS unused\n" +
      "FROM base\nCOPY --from=build1 /a /a\nCOPY --from=2 /b /b\n",
  );
  assertEquals(p.stages.map((s) => [s.index, s.name, s.dependsOn]), [
    [0, "base", []],
    [1, "build1", [0]],
    [2, "build2", []],
    [4, undefined, [0, 1, 2]],
  ]);
  assertEquals(p.stages[1].base, { kind: "stage", index: 0 });
  assertEquals(p.stages[3].steps.map((s) => s.from), [{ kind: "stage", index: 1 }, {
    kind: "stage",
    index: 2,
  }]);
  assertEquals(p.waves, [[0, 2], [1], [4]]);
  assertEquals(p.images.map((i) => i.ref), ["busybox"]);
});

Deno.test("--target picks a stage case-insensitively and drops what it does not need", () => {
  const text = "FROM busybox AS Base\nFROM base AS build\nFROM alpine AS other\nFROM build\n";
  const p = plan(text, { target: "BUILD" });
  assertEquals(p.target, 1);
  assertEquals(p.stages.map((s) => s.index), [0, 1]);
  assertEquals(p.waves, [[0], [1]]);
  assertEquals(p.images.map((i) => i.ref), ["busybox"]);
  fails(
    text,
    'target stage "biuld" could not be found',
    { target: "biuld" },
    "did you mean build?",
  );
  fails(
    text,
    'target stage "zzz" could not be found',
    { target: "zzz" },
    "stages: base, build, other",
  );
});

Deno.test("stage names: case-insensitive, unique", () => {
  const p = plan("FROM busybox AS Build\nFROM alpine\nCOPY --from=BUILD /x /x\n");
  assertEquals(p.stages[1].steps[0].from, { kind: "stage", index: 0 });
  fails(
    "FROM a AS x\nFROM b AS X\n",
    'Containerfile:2: stage name "X" is already used',
    {},
    "line 1",
  );
});

Deno.test("--from must name an earlier stage, an index before this one, or an image", () => {
  fails(
    "FROM a AS one\nCOPY --from=one /x /x\n",
    "Containerfile:2: COPY --from=one: a stage cannot use itself",
  );
  fails(
    "FROM a\nCOPY --from=later /x /x\nFROM b AS later\n",
    "Containerfile:2: COPY --from=later: stage later is defined after this one",
  );
  fails(
    "FROM a\nFROM b\nCOPY --from=1 /x /x\n",
    "Containerfile:3: COPY --from=1: stage 1 is not before this stage",
  );
  fails(
    "FROM a AS build\nFROM b\nCOPY --from=Not_An%Image /x /x\n",
    'Containerfile:3: COPY --from "Not_An%Image"',
  );
  fails(
    "FROM a AS build\nFROM b\nCOPY --from=BIULD! /x /x\n",
    "neither an earlier stage",
    {},
    "did you mean the stage build?",
  );
  const p = plan(
    "FROM busybox AS build\nFROM busybox\nCOPY --from=biuld /x /x\nCOPY --from=nginx:1 /y /y\n",
  );
  assertEquals(p.images.map((i) => [i.ref, i.use, i.location.line]), [
    ["busybox", "base", 2], // the stage "build" is not needed: biuld is an image
    ["biuld", "copy-from", 3],
    ["nginx:1", "copy-from", 4],
  ]);
  assertEquals(p.warnings.map((w) => w.line), [3]);
  assert(p.warnings[0].message.includes("did you mean the stage build?"));
});

Deno.test("FROM of a name only defined later is an image, as docker", () => {
  const p = plan("FROM golang AS golang\nFROM alpine AS later\n", { target: "golang" });
  assertEquals(p.stages[0].base, { kind: "image", ref: "golang" });
});

Deno.test("--from expands the stage's ARGs (buildah), not the global ones", () => {
  const text =
    "ARG SRC=s1\nFROM a AS s1\nFROM a AS s2\nFROM b\nARG SRC\nARG N=2\nCOPY --from=$SRC /x /x\n" +
    "ARG OTHER=s$N\nCOPY --from=${OTHER} /y /y\n";
  const p = plan(text);
  assertEquals(p.stages.at(-1)!.steps.flatMap((s) => s.from ? [s.from] : []), [
    { kind: "stage", index: 0 },
    { kind: "stage", index: 1 },
  ]);
  assertEquals(plan(text, { buildArgs: { SRC: "s2" } }).stages.at(-1)!.dependsOn, [1]);
  fails(
    "ARG SRC=s1\nFROM a AS s1\nFROM b\nCOPY --from=$SRC /x /x\n",
    "Containerfile:4: COPY --from=$SRC is empty",
  );
});

Deno.test("RUN --mount from= adds a dependency", () => {
  const p = plan(
    "FROM a AS tools\nFROM b\nRUN --mount=from=tools,target=/t --mount=type=cache,target=/c x\n",
  );
  assertEquals(p.stages[1].steps[0].mountSources, [{ kind: "stage", index: 0 }, undefined]);
  assertEquals(p.stages[1].dependsOn, [0]);
  assertEquals(plan("FROM b\nRUN --mount=from=alpine,target=/t x\n").images.map((i) => i.use), [
    "base",
    "mount-from",
  ]);
});

Deno.test("ONBUILD of a base stage runs right after the child's FROM", () => {
  const p = plan(
    "FROM busybox AS tools\nFROM busybox AS base\nONBUILD RUN make\nONBUILD COPY --from=tools /t /t\n" +
      "FROM base\nRUN after\n",
  );
  const child = p.stages[2];
  assertEquals(child.steps.map((s) => [s.instruction.kind, s.trigger]), [
    ["RUN", "stage base"],
    ["COPY", "stage base"],
    ["RUN", undefined],
  ]);
  assertEquals(child.dependsOn, [1, 0]);
  assertEquals(p.waves, [[0, 1], [2]]);
});

Deno.test("ONBUILD triggers of a base image come from its config", () => {
  const text = "FROM busybox AS tools\nFROM registry.local:5000/onbuild:1\nRUN mine\n";
  const first = plan(text);
  assertEquals(first.images.map((i) => i.ref), ["registry.local:5000/onbuild:1"]);
  const second = plan(text, {
    baseImageTriggers: {
      "registry.local:5000/onbuild:1": [
        "COPY --from=tools /t /t",
        "RUN <<EOF\nmake\nEOF",
        "ARG X=1",
      ],
    },
  });
  const steps = second.stages.at(-1)!.steps;
  assertEquals(steps.map((s) => [s.instruction.kind, s.trigger, s.instruction.location.line]), [
    ["COPY", "image registry.local:5000/onbuild:1", 2],
    ["RUN", "image registry.local:5000/onbuild:1", 2],
    ["ARG", "image registry.local:5000/onbuild:1", 2],
    ["RUN", undefined, 3],
  ]);
  assertEquals(second.stages.map((s) => s.index), [0, 1]);
  fails(
    text,
    "Containerfile:2: ONBUILD trigger 1 of image registry.local:5000/onbuild:1: FROM isn't allowed",
    {
      baseImageTriggers: { "registry.local:5000/onbuild:1": ["FROM x"] },
    },
  );
  fails(
    text,
    "Containerfile:2: ONBUILD trigger 2 of image registry.local:5000/onbuild:1: unknown instruction",
    {
      baseImageTriggers: { "registry.local:5000/onbuild:1": ["RUN ok", "BOGUS x"] },
    },
  );
});

Deno.test("build args nothing declared are reported; proxies and global ARGs count as used", () => {
  const text = "ARG V=1\nFROM busybox:$V AS a\nARG IN_A\nFROM busybox\nARG USED\n";
  const p = plan(text, {
    buildArgs: { V: "2", USED: "x", IN_A: "y", NOPE: "z", HTTP_PROXY: "http://p" },
  });
  assertEquals(p.unusedBuildArgs, ["IN_A", "NOPE"]); // stage a is not built
  assertEquals(plan(text, { target: "a", buildArgs: { IN_A: "y" } }).unusedBuildArgs, []);
});

Deno.test("errors in global ARGs and FROM name their line", () => {
  fails("ARG A=${B\nFROM x\n", "Containerfile:1: Bad variable substitution");
  fails("ARG A\nFROM $A\n", "Containerfile:2: base name ($A) should not be blank");
  fails(
    "FROM Busybox\n",
    'Containerfile:1: FROM "Busybox" is neither an earlier stage nor a valid image reference',
  );
});

Deno.test("image references", () => {
  for (
    const ref of [
      "busybox",
      "busybox:1.36",
      "library/busybox:latest",
      "127.0.0.1:5000/a/b:c",
      "localhost/x",
      "ghcr.io/o/r@sha256:" + "a".repeat(64),
      "[::1]:5000/x",
    ]
  ) assert(isImageReference(ref), ref);
  for (const ref of ["", "Busybox", "a:b:c", "x@sha256:12", "a//b", "-a", "a:" + "t".repeat(200)]) {
    assert(!isImageReference(ref), ref);
  }
});

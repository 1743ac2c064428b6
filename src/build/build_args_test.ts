import { assertEquals } from "@std/assert";
import {
  type ArgContext,
  declareArg,
  globalLookup,
  NO_ARGS,
  platformArgs,
  recordedRunArgs,
  resolveGlobalArgs,
  runEnvironment,
  stageLookup,
  unusedBuildArgs,
} from "./build_args.ts";
import { expandWord } from "./substitute.ts";

function context(
  buildArgs: Record<string, string>,
  globals: Record<string, string | undefined> = {},
): ArgContext {
  return { buildArgs, globals: new Map(Object.entries(globals)) };
}

Deno.test("global ARGs: build arg, else default expanded with earlier globals", () => {
  const globals = resolveGlobalArgs(
    [{ name: "A", value: "1" }, { name: "B", value: "${A}.x" }, { name: "C" }, {
      name: "D",
      value: "d",
    }],
    { D: "from-cli" },
    new Map([["TARGETARCH", "amd64"]]),
    expandWord,
  );
  assertEquals([...globals], [["TARGETARCH", "amd64"], ["A", "1"], ["B", "1.x"], ["C", undefined], [
    "D",
    "from-cli",
  ]]);
  const lookup = globalLookup({ buildArgs: { HTTP_PROXY: "p", OTHER: "o" }, globals });
  assertEquals([lookup("B"), lookup("C"), lookup("HTTP_PROXY"), lookup("OTHER")], [
    "1.x",
    undefined,
    "p",
    undefined,
  ]);
});

Deno.test("a stage ARG: build arg, else its default, else the global value", () => {
  const ctx = context({ GIVEN: "cli" }, { GLOBAL: "g", GIVEN: "g2" });
  let scope = NO_ARGS;
  const expand = (word: string) => expandWord(word, stageLookup([], scope, ctx));
  scope = declareArg(scope, { name: "GIVEN", value: "default" }, ctx, expand);
  scope = declareArg(scope, { name: "GLOBAL" }, ctx, expand);
  scope = declareArg(scope, { name: "LOCAL", value: "$GLOBAL-$GIVEN" }, ctx, expand);
  scope = declareArg(scope, { name: "BARE" }, ctx, expand);
  assertEquals([...scope], [["GIVEN", "cli"], ["GLOBAL", "g"], ["LOCAL", "g-cli"], [
    "BARE",
    undefined,
  ]]);
  // the default is not expanded when a build arg replaces it
  const failing = () => {
    throw new Error("expanded");
  };
  assertEquals(
    declareArg(NO_ARGS, { name: "GIVEN", value: "${X:?}" }, ctx, failing).get("GIVEN"),
    "cli",
  );
});

Deno.test("ENV wins over ARG; proxies are visible without ARG", () => {
  const ctx = context({ HTTPS_PROXY: "http://proxy", SECRET: "s" });
  const scope = new Map([["V", "arg"], ["ONLY", "arg2"]]);
  const lookup = stageLookup(["V=env", "PATH=/bin"], scope, ctx);
  assertEquals([lookup("V"), lookup("ONLY"), lookup("HTTPS_PROXY"), lookup("SECRET")], [
    "env",
    "arg2",
    "http://proxy",
    undefined,
  ]);
});

Deno.test("RUN environment and the recorded |N args", () => {
  const ctx = context({ http_proxy: "http://p", NO_PROXY: "x" });
  const scope = new Map<string, string | undefined>([["B", "2"], ["A", "1"], ["ENVD", "arg"], [
    "UNSET",
    undefined,
  ], [
    "NO_PROXY",
    "declared",
  ]]);
  const env = ["PATH=/bin", "ENVD=env"];
  assertEquals(runEnvironment(env, scope, ctx), [
    "PATH=/bin",
    "ENVD=env",
    "B=2",
    "A=1",
    "NO_PROXY=declared",
    "http_proxy=http://p",
  ]);
  // sorted, without ENV-overridden, unset and undeclared proxy args
  assertEquals(recordedRunArgs(env, scope), ["A=1", "B=2", "NO_PROXY=declared"]);
});

Deno.test("unused build args", () => {
  assertEquals(unusedBuildArgs({ B: "", A: "", HTTP_PROXY: "", USED: "" }, new Set(["USED"])), [
    "A",
    "B",
  ]);
});

Deno.test("platform ARGs", () => {
  assertEquals(
    platformArgs({ os: "linux", architecture: "arm", variant: "v7" }, {
      os: "linux",
      architecture: "amd64",
    }),
    {
      TARGETPLATFORM: "linux/arm/v7",
      TARGETOS: "linux",
      TARGETARCH: "arm",
      TARGETVARIANT: "v7",
      BUILDPLATFORM: "linux/amd64",
      BUILDOS: "linux",
      BUILDARCH: "amd64",
      BUILDVARIANT: "",
    },
  );
});

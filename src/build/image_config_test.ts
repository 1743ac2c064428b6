import { assertEquals, assertThrows } from "@std/assert";
import { TsnspawnError } from "../errors.ts";
import type { OciImageConfig } from "../oci/types.ts";
import { parseContainerfile } from "./containerfile.ts";
import {
  applyToConfig,
  type BuildImageConfig,
  checkStopSignal,
  type ConfigState,
  normalizeWorkdir,
  scratchConfig,
  setEnv,
  stageConfig,
} from "./image_config.ts";
import { resolveInstruction } from "./substitute_instruction.ts";
import { lookupIn } from "./substitute.ts";

const BASE: OciImageConfig = {
  created: "2024-01-01T00:00:00Z",
  architecture: "amd64",
  os: "linux",
  config: { Env: ["PATH=/usr/bin:/bin", "LANG=C"], Cmd: ["sh"], WorkingDir: "/base" },
  rootfs: { type: "layers", diff_ids: ["sha256:aaa"] },
  history: [{ created_by: "base" }],
};

/** Applies the instructions after "FROM x" to a copy of `start`. */
function apply(text: string, start: BuildImageConfig = stageConfig(BASE)): ConfigState {
  let state: ConfigState = { config: start, cmdSet: false };
  for (const instruction of parseContainerfile(`FROM x\n${text}\n`).instructions.slice(1)) {
    const env = new Map(
      (state.config.config.Env ?? []).map((e) => e.split("=", 2) as [string, string]),
    );
    state = applyToConfig(
      state,
      resolveInstruction(instruction, lookupIn(Object.fromEntries(env))),
    );
  }
  return state;
}

Deno.test("a stage starts from a copy of the base without created and OnBuild", () => {
  const base = { ...BASE, config: { ...BASE.config, OnBuild: ["RUN x"] } } as OciImageConfig;
  const config = stageConfig(base);
  assertEquals(config.created, undefined);
  assertEquals((config.config as { OnBuild?: string[] }).OnBuild, undefined);
  assertEquals(config.history, [{ created_by: "base" }]);
  config.config.Env!.push("X=1");
  assertEquals(BASE.config!.Env!.length, 2); // a deep copy
  assertEquals(scratchConfig({ os: "linux", architecture: "arm64", variant: "v8" }), {
    architecture: "arm64",
    os: "linux",
    variant: "v8",
    config: {},
    rootfs: { type: "layers", diff_ids: [] },
    history: [],
  });
});

Deno.test("ENV replaces in place and appends, keeping order; values see earlier ENV", () => {
  const { config } = apply("ENV LANG=C.UTF-8 NEW=1\nENV PATH=/opt/bin:$PATH NEW=$NEW.2");
  assertEquals(config.config.Env, ["PATH=/opt/bin:/usr/bin:/bin", "LANG=C.UTF-8", "NEW=1.2"]);
  assertEquals(setEnv(["A=1", "AB=2"], "A", "3"), ["A=3", "AB=2"]);
});

Deno.test("CMD and ENTRYPOINT: shell form wrapped by SHELL, ENTRYPOINT resets an inherited CMD", () => {
  const { Cmd: _inherited, ...withoutCmd } = stageConfig(BASE).config;
  assertEquals(apply('ENTRYPOINT ["/app"]').config.config, { ...withoutCmd, Entrypoint: ["/app"] });
  const kept = apply('CMD ["--help"]\nENTRYPOINT ["/app"]').config.config;
  assertEquals([kept.Entrypoint, kept.Cmd], [["/app"], ["--help"]]);
  const shell =
    apply('SHELL ["/bin/bash", "-c"]\nCMD echo $HOME\nENTRYPOINT exec app').config.config;
  assertEquals([shell.Cmd, shell.Entrypoint, shell.Shell], [
    ["/bin/bash", "-c", "echo $HOME"],
    ["/bin/bash", "-c", "exec app"],
    ["/bin/bash", "-c"],
  ]);
  assertEquals(apply("CMD echo").config.config.Cmd, ["/bin/sh", "-c", "echo"]);
  const cleared = apply('ENTRYPOINT ["/a"]\nENTRYPOINT []').config.config;
  assertEquals([cleared.Entrypoint, cleared.Cmd], [undefined, undefined]);
  // CMD [] does not count as setting CMD
  assertEquals(apply('CMD []\nENTRYPOINT ["/a"]').config.config.Cmd, undefined);
});

Deno.test("WORKDIR is relative to the previous one and cleaned", () => {
  assertEquals(apply("WORKDIR a\nWORKDIR b/../c/").config.config.WorkingDir, "/base/a/c");
  assertEquals(apply("WORKDIR /x//y/").config.config.WorkingDir, "/x/y");
  assertEquals(normalizeWorkdir(undefined, "rel"), "/rel");
  assertEquals(normalizeWorkdir("/a", ".."), "/");
  assertThrows(() => normalizeWorkdir("/", ""), TsnspawnError, "WORKDIR is empty");
});

Deno.test("USER, LABEL, EXPOSE, VOLUME, STOPSIGNAL, MAINTAINER", () => {
  const { config } = apply(
    'USER app:app\nLABEL a=1 "b c"="d e"\nLABEL a=2\nEXPOSE 80 53/udp\nEXPOSE 80/tcp 8000-8001\n' +
      "VOLUME /data /logs\nVOLUME /data\nSTOPSIGNAL SIGQUIT\nMAINTAINER Jane <jane@x>",
  );
  assertEquals(config.config.User, "app:app");
  assertEquals(config.config.Labels, { a: "2", "b c": "d e" });
  assertEquals(Object.keys(config.config.ExposedPorts!).sort(), [
    "53/udp",
    "80/tcp",
    "8000/tcp",
    "8001/tcp",
  ]);
  assertEquals(config.config.Volumes, { "/data": {}, "/logs": {} });
  assertEquals(config.config.StopSignal, "SIGQUIT");
  assertEquals(config.author, "Jane <jane@x>");
});

Deno.test("STOPSIGNAL values", () => {
  for (const ok of ["SIGTERM", "term", "9", "SIGRTMIN+3", "RTMAX-1", "sigusr1"]) {
    checkStopSignal(ok);
  }
  for (const bad of ["SIGFOO", "0", "65", "-1", "RTMIN+16", ""]) {
    assertThrows(() => checkStopSignal(bad), TsnspawnError, "invalid STOPSIGNAL", bad);
  }
});

Deno.test("HEALTHCHECK: CMD, CMD-SHELL, durations in ns, zeros left out, NONE", () => {
  assertEquals(
    apply("HEALTHCHECK --interval=5m --timeout=3s CMD curl -f x || exit 1").config.config
      .Healthcheck,
    {
      Test: ["CMD-SHELL", "curl -f x || exit 1"],
      Interval: 300e9,
      Timeout: 3e9,
    },
  );
  assertEquals(
    apply('HEALTHCHECK --start-period=1s --start-interval=2s --retries=5 CMD ["/check"]').config
      .config.Healthcheck,
    { Test: ["CMD", "/check"], StartPeriod: 1e9, StartInterval: 2e9, Retries: 5 },
  );
  assertEquals(apply("HEALTHCHECK CMD x\nHEALTHCHECK NONE").config.config.Healthcheck, {
    Test: ["NONE"],
  });
});

Deno.test("ONBUILD appends docker's expression text", () => {
  assertEquals(apply("ONBUILD  RUN make\nONBUILD COPY . /src").config.config.OnBuild, [
    "RUN make",
    "COPY . /src",
  ]);
});

Deno.test("steps that only act on the filesystem or arguments leave the config alone", () => {
  const start = stageConfig(BASE);
  const state = apply("RUN x\nCOPY a b\nADD c d\nARG X=1", start);
  assertEquals(state.config, start);
});

Deno.test("applying never changes the given config", () => {
  const start = stageConfig(BASE);
  const before = structuredClone(start);
  apply("ENV A=1\nLABEL l=1\nEXPOSE 1\nVOLUME /v\nONBUILD RUN x\nHEALTHCHECK CMD x\nCMD x", start);
  assertEquals(start, before);
});

import { assertEquals, assertNotEquals, assertThrows } from "@std/assert";
import { TsnspawnError } from "../errors.ts";
import type { OciImageConfig } from "../oci/types.ts";
import type { ArgScope } from "./build_args.ts";
import { type CacheRoot, stageRootKey, stepCacheKey } from "./cache_key.ts";
import { parseContainerfile } from "./containerfile.ts";
import { type BuildImageConfig, finishConfig } from "./image_config.ts";
import { planBuild, type PlanOptions } from "./plan.ts";
import {
  applyStep,
  beginStage,
  destination,
  resolveStep,
  type RunProcess,
  type StageState,
  stepKeyInput,
} from "./stage_state.ts";
import { runProcess } from "./stage_state.ts";

const PLATFORM = { os: "linux", architecture: "amd64" };
const BUSYBOX: OciImageConfig = {
  architecture: "amd64",
  os: "linux",
  config: { Env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["sh"] },
  rootfs: { type: "layers", diff_ids: ["sha256:busybox-layer"] },
  history: [{ created: "2024-01-01T00:00:00Z", created_by: "ADD rootfs" }],
};
const CREATED = "1970-01-01T00:00:00Z";

interface Result {
  configs: Map<number, BuildImageConfig>;
  keys: Map<number, string[]>;
  processes: RunProcess[];
}

/**
 * Builds without effects: images come from a table, RUN records its process,
 * a layer's diff id is a counter, COPY content digests come from `content`.
 */
async function simulate(
  text: string,
  options: PlanOptions = {},
  content: Record<string, string> = {},
) {
  const plan = planBuild(parseContainerfile(text), { platform: PLATFORM, ...options });
  const context = {
    args: { buildArgs: plan.buildArgs, globals: plan.globals },
    escape: plan.file.escape,
  };
  const result: Result = { configs: new Map(), keys: new Map(), processes: [] };
  const scopes = new Map<number, ArgScope>();
  let layer = 0;
  for (const wave of plan.waves) {
    for (const index of wave) {
      const stage = plan.stages.find((s) => s.index === index)!;
      let state: StageState;
      let root: CacheRoot;
      if (stage.base.kind === "stage") {
        state = beginStage(result.configs.get(stage.base.index)!, {
          platform: PLATFORM,
          baseArgs: scopes.get(stage.base.index),
        });
        root = { kind: "stage", key: result.keys.get(stage.base.index)!.at(-1)! };
      } else if (stage.base.kind === "image") {
        state = beginStage(BUSYBOX, { platform: PLATFORM });
        root = { kind: "image", id: `sha256:${stage.base.ref}` };
      } else {
        state = beginStage("scratch", { platform: PLATFORM });
        root = { kind: "scratch", platform: PLATFORM };
      }
      const keys = [await stageRootKey(root)];
      for (const planned of stage.steps) {
        const step = resolveStep(state, planned, context);
        const copied = step.instruction.kind === "COPY" || step.instruction.kind === "ADD"
          ? content[step.instruction.dest] ?? "sha256:none"
          : undefined;
        keys.push(
          await stepCacheKey(stepKeyInput(step, keys.at(-1)!, copied ? { content: copied } : {})),
        );
        if (!step.layer) {
          state = applyStep(state, step, CREATED);
          continue;
        }
        if (step.instruction.kind === "RUN") {
          result.processes.push(runProcess(state, step, context));
        }
        state = applyStep(state, step, CREATED, {
          diffId: `sha256:layer${++layer}`,
          ...(copied ? { contentSummary: `file:${copied.slice(7)}` } : {}),
        });
      }
      result.configs.set(index, finishConfig(state.config, CREATED));
      result.keys.set(index, keys);
      scopes.set(index, state.args);
    }
  }
  return { plan, ...result };
}

Deno.test("a whole stage: config, history and layers like docker", async () => {
  const { configs, processes } = await simulate(
    "FROM busybox\nARG VERSION=1.0\nENV APP=/app VERSION=$VERSION\nWORKDIR $APP\n" +
      "COPY app.sh bin/\nRUN chmod +x bin/app.sh\nUSER nobody\nEXPOSE 8080\n" +
      'ENTRYPOINT ["/app/bin/app.sh"]\nLABEL version=$VERSION\n',
    { buildArgs: { VERSION: "2.0" } },
    { "bin/": "sha256:c0ffee" },
  );
  const config = configs.get(0)!;
  assertEquals(config.created, CREATED);
  assertEquals(config.config, {
    Env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "APP=/app", "VERSION=2.0"],
    WorkingDir: "/app",
    User: "nobody",
    ExposedPorts: { "8080/tcp": {} },
    Entrypoint: ["/app/bin/app.sh"],
    Labels: { version: "2.0" },
  });
  assertEquals(config.rootfs.diff_ids, ["sha256:busybox-layer", "sha256:layer1", "sha256:layer2"]);
  assertEquals(config.history.map((h) => [h.created_by, h.empty_layer ?? false]), [
    ["ADD rootfs", false],
    ["/bin/sh -c #(nop) ARG VERSION=1.0", true],
    ["/bin/sh -c #(nop) ENV APP=/app VERSION=2.0", true],
    ["/bin/sh -c #(nop) WORKDIR /app", true],
    ["/bin/sh -c #(nop) COPY file:c0ffee in bin/ ", false],
    ["/bin/sh -c chmod +x bin/app.sh", false], // VERSION is in ENV now: not recorded as ARG
    ["/bin/sh -c #(nop) USER nobody", true],
    ["/bin/sh -c #(nop) EXPOSE 8080/tcp", true],
    ['/bin/sh -c #(nop) ENTRYPOINT ["/app/bin/app.sh"]', true],
    ["/bin/sh -c #(nop) LABEL version=2.0", true],
  ]);
  assertEquals(processes, [{
    argv: ["/bin/sh", "-c", "chmod +x bin/app.sh"],
    env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "APP=/app", "VERSION=2.0"],
    user: "",
    workdir: "/app",
    files: [],
  }]);
});

Deno.test("RUN sees ARGs and proxy build args; ENV wins; history leaves undeclared proxies out", async () => {
  const { configs, processes } = await simulate(
    "FROM busybox\nARG A=1\nARG B\nENV A=env\nRUN env\n",
    { buildArgs: { B: "b", HTTP_PROXY: "http://proxy" } },
  );
  assertEquals(processes[0].env, [
    "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
    "A=env",
    "B=b",
    "HTTP_PROXY=http://proxy",
  ]);
  assertEquals(configs.get(0)!.history.at(-1)!.created_by, "|1 B=b /bin/sh -c env");
});

Deno.test("RUN here-documents: script, shebang program, and heredocs for the command", async () => {
  const { processes } = await simulate(
    'FROM busybox\nSHELL ["/bin/ash", "-eo", "pipefail", "-c"]\nRUN <<EOF\necho one\nEOF\n' +
      "RUN <<-PY\n\t#!/usr/bin/python3\n\tprint(1)\n\tPY\nRUN cat <<A > /a && cat <<B > /b\n1\nA\n2\nB\n" +
      'RUN ["echo", "exec"]\n',
  );
  assertEquals(processes.map((p) => [p.argv, p.files]), [
    [["/bin/ash", "-eo", "pipefail", "-c", "echo one\n"], []],
    [["/dev/pipes/PY"], [{
      path: "/dev/pipes/PY",
      content: "#!/usr/bin/python3\nprint(1)\n",
      mode: 0o755,
    }]],
    [["/bin/ash", "-eo", "pipefail", "-c", "cat <<A > /a && cat <<B > /b\n1\nA\n2\nB"], []],
    [["echo", "exec"], []],
  ]);
});

Deno.test("ARG: defaults expanded in order, recorded as defaults, a stage inherits its base stage's ARGs", async () => {
  const { configs, processes } = await simulate(
    "FROM busybox AS base\nARG A=1 B=$A.x\nFROM base\nRUN echo\n",
    { buildArgs: { A: "cli" } },
  );
  assertEquals(configs.get(0)!.history.at(-1)!.created_by, "/bin/sh -c #(nop) ARG A=1 B=cli.x");
  assertEquals(processes[0].env.slice(1), ["A=cli", "B=cli.x"]);
});

Deno.test("ONBUILD triggers run in the child and are not inherited further", async () => {
  const { configs, processes } = await simulate(
    "FROM busybox AS base\nONBUILD RUN echo trigger\nFROM base AS child\nRUN echo child\nFROM child\n",
  );
  assertEquals(configs.get(0)!.config.OnBuild, ["RUN echo trigger"]);
  assertEquals(configs.get(1)!.config.OnBuild, undefined);
  assertEquals(processes.map((p) => p.argv.at(-1)), ["echo trigger", "echo child"]);
});

Deno.test("cache keys: a changed build arg misses from its first use, not its declaration", async () => {
  const text = "FROM busybox\nARG V\nENV X=1\nRUN echo a\nRUN echo b\n";
  const one = (await simulate(text, { buildArgs: { V: "1" } })).keys.get(0)!;
  const two = (await simulate(text, { buildArgs: { V: "2" } })).keys.get(0)!;
  assertEquals(one.slice(0, 3), two.slice(0, 3)); // root, ARG, ENV
  assertNotEquals(one[3], two[3]); // the first RUN
  assertNotEquals(one[4], two[4]);
  const same = (await simulate(text, { buildArgs: { V: "1" } })).keys.get(0)!;
  assertEquals(same, one);
});

Deno.test("cache keys: changed COPY content misses from that step on, nothing before", async () => {
  const text = "FROM busybox\nRUN echo a\nCOPY x /x\nRUN echo b\n";
  const one = (await simulate(text, {}, { "/x": "sha256:1" })).keys.get(0)!;
  const two = (await simulate(text, {}, { "/x": "sha256:2" })).keys.get(0)!;
  assertEquals(one.slice(0, 2), two.slice(0, 2));
  assertNotEquals(one[2], two[2]);
  assertNotEquals(one[3], two[3]);
});

Deno.test("cache keys: a proxy build arg not declared changes nothing", async () => {
  const text = "FROM busybox\nRUN echo a\n";
  const one = (await simulate(text, { buildArgs: { HTTP_PROXY: "http://a" } })).keys.get(0)!;
  const two = (await simulate(text, { buildArgs: { HTTP_PROXY: "http://b" } })).keys.get(0)!;
  assertEquals(one, two);
  const declared = "FROM busybox\nARG HTTP_PROXY\nRUN echo a\n";
  const three = (await simulate(declared, { buildArgs: { HTTP_PROXY: "http://a" } })).keys.get(0)!;
  const four = (await simulate(declared, { buildArgs: { HTTP_PROXY: "http://b" } })).keys.get(0)!;
  assertNotEquals(three.at(-1), four.at(-1));
});

Deno.test("substitution sees the base image's ENV and names file:line on errors", async () => {
  const { configs } = await simulate("FROM busybox\nWORKDIR ${PATH%%:*}\n");
  assertEquals(configs.get(0)!.config.WorkingDir, "/usr/sbin");
  await simulate("FROM busybox\nARG X=${UNSET:?needed}\n").then(
    () => {
      throw new Error("expected an error");
    },
    (error) =>
      assertEquals(
        error instanceof TsnspawnError && error.message,
        'Containerfile:2: Bad variable substitution in "${UNSET:?needed}": UNSET needed',
      ),
  );
  await simulate("FROM busybox\nSTOPSIGNAL SIGNOPE\n").then(
    () => {
      throw new Error("expected an error");
    },
    (error) =>
      assertEquals(
        error instanceof TsnspawnError && error.message,
        'Containerfile:2: invalid STOPSIGNAL "SIGNOPE"',
      ),
  );
});

Deno.test("applyStep insists on a layer exactly for RUN, COPY and ADD", () => {
  const plan = planBuild(parseContainerfile("FROM busybox\nRUN x\nUSER a\n"), {
    platform: PLATFORM,
  });
  const context = { args: { buildArgs: {}, globals: plan.globals }, escape: "\\" };
  const state = beginStage(BUSYBOX, { platform: PLATFORM });
  const run = resolveStep(state, plan.stages[0].steps[0], context);
  const user = resolveStep(state, plan.stages[0].steps[1], context);
  assertThrows(() => applyStep(state, run, CREATED), Error, "needs layer");
  assertThrows(
    () => applyStep(state, user, CREATED, { diffId: "sha256:x" }),
    Error,
    "takes no layer",
  );
});

Deno.test("COPY destinations against the WORKDIR", () => {
  const state = beginStage({ ...BUSYBOX, config: { WorkingDir: "/app" } }, { platform: PLATFORM });
  assertEquals(destination(state, "x"), { path: "/app/x", directory: false });
  assertEquals(destination(state, "sub/"), { path: "/app/sub", directory: true });
  assertEquals(destination(state, "."), { path: "/app", directory: true });
  assertEquals(destination(state, "/abs/../y"), { path: "/y", directory: false });
});

Deno.test("edge cases of real Dockerfiles parse, resolve and apply", async () => {
  const { configs, processes } = await simulate(
    "FROM busybox\n\nMAINTAINER someone <someone@example.org>\n# a comment ending in an escape \\\n" +
      "RUN [\"echo\", \"'quoted'\"]\nRUN echo one && \\\n    echo two\nRUN    sh -c 'echo a \\\n   > /tmp/a'\n" +
      'ENV LEGACY 1 TWO 3\nENV QUOTED "1 TWO 3"\nARG multi="a=1 b=2"\nENV multi="${multi}"\n' +
      'CMD echo \'x\' | wc -c\nEXPOSE 9000 5000\nUSER nobody:root\nVOLUME ["/v1", "/v2"]\nVOLUME /v3\n' +
      "ONBUILD RUN echo later\nCOPY . copy",
  );
  const config = configs.get(0)!;
  assertEquals(config.author, "someone <someone@example.org>");
  assertEquals(config.config.Env!.slice(1), ["LEGACY=1 TWO 3", "QUOTED=1 TWO 3", "multi=a=1 b=2"]);
  assertEquals(config.config.Cmd, ["/bin/sh", "-c", "echo 'x' | wc -c"]);
  assertEquals(config.config.User, "nobody:root");
  assertEquals(Object.keys(config.config.Volumes!), ["/v1", "/v2", "/v3"]);
  assertEquals(config.config.OnBuild, ["RUN echo later"]);
  assertEquals(processes.map((p) => p.argv.at(-1)), [
    "'quoted'",
    "echo one &&     echo two",
    "sh -c 'echo a    > /tmp/a'",
  ]);
});

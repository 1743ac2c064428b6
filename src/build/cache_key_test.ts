import { assert, assertEquals, assertNotEquals } from "@std/assert";
import {
  contentDigest,
  type ContentEntry,
  contentManifest,
  contentSummary,
  stageRootKey,
  stageRootText,
  stepCacheKey,
  stepCacheText,
} from "./cache_key.ts";
import { parseContainerfile } from "./containerfile.ts";
import type { Instruction } from "./instructions.ts";
import { resolveInstruction } from "./substitute_instruction.ts";
import { lookupIn } from "./substitute.ts";

function resolved(text: string, vars: Record<string, string> = {}): Instruction {
  return resolveInstruction(
    parseContainerfile(`FROM x\n${text}\n`).instructions[1],
    lookupIn(vars),
  );
}

const SH = ["/bin/sh", "-c"];
const FILES: ContentEntry[] = [
  { path: "b.txt", type: "file", mode: 0o644, uid: 0, gid: 0, size: 3, digest: "sha256:bb" },
  { path: "a", type: "dir", mode: 0o755, uid: 0, gid: 0 },
  { path: "a/link", type: "symlink", mode: 0o777, uid: 0, gid: 0, target: "../b.txt" },
];

Deno.test("stage roots: image id, base stage key, scratch platform, settings", async () => {
  assertEquals(
    stageRootText({ kind: "image", id: "sha256:1" }, { timestamp: "0" }),
    [
      "tsnspawn-build-cache/1",
      "image sha256:1",
      'setting "timestamp"="0"',
    ].join("\n"),
  );
  const keys = new Set(
    await Promise.all([
      stageRootKey({ kind: "image", id: "sha256:1" }),
      stageRootKey({ kind: "image", id: "sha256:2" }),
      stageRootKey({ kind: "stage", key: "sha256:1" }),
      stageRootKey({ kind: "scratch", platform: { os: "linux", architecture: "amd64" } }),
      stageRootKey({ kind: "scratch", platform: { os: "linux", architecture: "arm64" } }),
      stageRootKey({ kind: "image", id: "sha256:1" }, { timestamp: "0" }),
    ]),
  );
  assertEquals(keys.size, 6);
  assert([...keys].every((key) => /^sha256:[0-9a-f]{64}$/u.test(key)));
});

Deno.test("a step key depends on parent, substituted text, RUN args and content", async () => {
  const base = { parent: "sha256:p", instruction: resolved("RUN make"), shell: SH };
  const key = await stepCacheKey(base);
  assertEquals(await stepCacheKey({ ...base }), key);
  assertNotEquals(await stepCacheKey({ ...base, parent: "sha256:q" }), key);
  assertNotEquals(await stepCacheKey({ ...base, runArgs: ["V=1"] }), key);
  assertNotEquals(await stepCacheKey({ ...base, shell: ["/bin/bash", "-c"] }), key);
  assertNotEquals(await stepCacheKey({ ...base, mountContents: ["sha256:m"] }), key);
  const env1 = await stepCacheKey({ ...base, instruction: resolved("ENV A=$V", { V: "1" }) });
  const env2 = await stepCacheKey({ ...base, instruction: resolved("ENV A=$V", { V: "2" }) });
  assertNotEquals(env1, env2);
  const copy = { ...base, instruction: resolved("COPY . /app") };
  assertNotEquals(
    await stepCacheKey({ ...copy, content: "sha256:1" }),
    await stepCacheKey({ ...copy, content: "sha256:2" }),
  );
  // a here-document body is part of the key
  assertNotEquals(
    await stepCacheKey({ ...base, instruction: resolved("RUN <<E\na\nE") }),
    await stepCacheKey({ ...base, instruction: resolved("RUN <<E\nb\nE") }),
  );
  assertEquals(
    stepCacheText({ ...copy, content: "sha256:c" }),
    "tsnspawn-build-cache/1\nparent sha256:p\nstep COPY . /app\ncontent sha256:c",
  );
});

Deno.test("content digest: order-independent, no times, every attribute counts", async () => {
  const digest = await contentDigest(FILES);
  assertEquals(await contentDigest([...FILES].reverse()), digest);
  assertEquals(
    contentManifest(FILES).split("\n")[0],
    '["a","dir","755",0,0,null,null,null,null,null,null]',
  );
  const changes: Partial<ContentEntry>[] = [
    { mode: 0o600 },
    { uid: 1 },
    { gid: 1 },
    { size: 4 },
    { digest: "sha256:cc" },
    { path: "c.txt" },
    { type: "hardlink", target: "a" },
    { xattrs: { "user.x": "1" } },
  ];
  for (const change of changes) {
    const changed = [{ ...FILES[0], ...change }, FILES[1], FILES[2]];
    assertNotEquals(await contentDigest(changed), digest, JSON.stringify(change));
  }
  assertEquals(contentSummary("dir", "sha256:abc"), "dir:abc");
});

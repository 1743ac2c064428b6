import { assertEquals, assertThrows } from "@std/assert";
import { familiarNameOf, type ImageListFacts, selectImages } from "./image_filters.ts";
import { parseFilters } from "./filters.ts";
import { ApiError } from "./errors.ts";

const IMAGES: ImageListFacts[] = [
  {
    id: "sha256:" + "1".repeat(64),
    repoTags: ["busybox:latest", "busybox:1.36"],
    repoDigests: ["busybox@sha256:" + "a".repeat(64)],
    created: 1_700_000_300,
    labels: null,
  },
  {
    id: "sha256:" + "2".repeat(64),
    repoTags: ["ghcr.io/a/b:1"],
    repoDigests: [],
    created: 1_700_000_200,
    labels: { "org.opencontainers.image.title": "b", tier: "web" },
  },
  {
    id: "sha256:" + "3".repeat(64),
    repoTags: [],
    repoDigests: [],
    created: 1_700_000_100,
    labels: null,
  },
];

function list(filters: string): string[][] {
  return selectImages(IMAGES, {
    filters: parseFilters(filters),
    now: new Date(1_700_000_250_000),
    resolveCreated: (ref) =>
      IMAGES.find((i) => i.repoTags.includes(ref) || i.id === ref)?.created ??
        (ref === "busybox" ? 1_700_000_300 : undefined),
  }).map((i) => [i.id.slice(7, 8), ...i.repoTags]);
}

Deno.test("selectImages: no filters lists everything, untagged too", () => {
  assertEquals(list(""), [["1", "busybox:latest", "busybox:1.36"], ["2", "ghcr.io/a/b:1"], ["3"]]);
});

Deno.test("selectImages: reference globs narrow the tags (the CLI's map form)", () => {
  assertEquals(list('{"reference":{"busy*":true}}'), [["1", "busybox:latest", "busybox:1.36"]]);
  assertEquals(list('{"reference":["busybox:1.*"]}'), [["1", "busybox:1.36"]]);
  assertEquals(list('{"reference":["busybox"]}'), [["1", "busybox:latest", "busybox:1.36"]]);
  assertEquals(list('{"reference":["ghcr.io/*/*"]}'), [["2", "ghcr.io/a/b:1"]]);
  assertEquals(list('{"reference":["*"]}'), [["1", "busybox:latest", "busybox:1.36"]]);
  assertEquals(list('{"reference":["nothing"]}'), []);
  const digests = selectImages(IMAGES, {
    filters: parseFilters('{"reference":["busybox@*"]}'),
    now: new Date(),
    resolveCreated: () => undefined,
  });
  assertEquals(digests.map((i) => [i.repoTags, i.repoDigests.length]), [[[], 1]]);
});

Deno.test("selectImages: dangling and label", () => {
  assertEquals(list('{"dangling":{"true":true}}'), [["3"]]);
  assertEquals(list('{"dangling":["false"]}'), [
    ["1", "busybox:latest", "busybox:1.36"],
    ["2", "ghcr.io/a/b:1"],
  ]);
  assertEquals(list('{"label":["tier=web"]}'), [["2", "ghcr.io/a/b:1"]]);
  assertEquals(list('{"label":["tier"]}'), [["2", "ghcr.io/a/b:1"]]);
  assertEquals(list('{"label":["tier=db"]}'), []);
});

Deno.test("selectImages: before, since, until", () => {
  assertEquals(list('{"before":["busybox"]}'), [["2", "ghcr.io/a/b:1"], ["3"]]);
  assertEquals(list('{"since":["ghcr.io/a/b:1"]}'), [["1", "busybox:latest", "busybox:1.36"]]);
  assertEquals(list('{"until":["1700000150"]}'), [["3"]]);
  assertEquals(list('{"until":["1m"]}'), [["3"]]); // now - 60 s = 1700000190
  assertEquals(assertThrows(() => list('{"before":["nope"]}'), ApiError).status, 404);
});

Deno.test("selectImages: bad filters are 400s", () => {
  assertThrows(() => list('{"ancestor":["x"]}'), ApiError, "invalid filter 'ancestor'");
  assertThrows(() => list('{"dangling":["yes"]}'), ApiError, "invalid filter 'dangling");
  assertThrows(() => list('{"reference":["[x"]}'), ApiError, "invalid pattern");
});

Deno.test("familiarNameOf cuts the tag or digest, not a registry port", () => {
  assertEquals(familiarNameOf("busybox:latest"), "busybox");
  assertEquals(familiarNameOf("registry.local:5000/x/y:2"), "registry.local:5000/x/y");
  assertEquals(familiarNameOf("registry.local:5000/x/y"), "registry.local:5000/x/y");
  assertEquals(familiarNameOf("busybox@sha256:" + "a".repeat(64)), "busybox");
});

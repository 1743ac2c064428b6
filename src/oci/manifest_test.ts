import { assert, assertEquals, assertThrows } from "@std/assert";
import { TsnspawnError } from "../errors.ts";
import {
  checkDescriptor,
  formatPlatform,
  hostPlatform,
  layerCompression,
  parseManifest,
  parsePlatform,
  selectPlatformManifest,
} from "./manifest.ts";
import type { OciIndex } from "./types.ts";

const D = (c: string) => `sha256:${c.repeat(64)}`;
const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

Deno.test("platforms: parse, format, host default", () => {
  assertEquals(parsePlatform("linux/arm64/v8"), {
    os: "linux",
    architecture: "arm64",
    variant: "v8",
  });
  assertEquals(parsePlatform("amd64"), { os: "linux", architecture: "amd64" });
  assertThrows(() => parsePlatform("linux/"), TsnspawnError, "OS/ARCH");
  assertThrows(() => parsePlatform("a/b/c/d"), TsnspawnError);
  assertEquals(formatPlatform({ os: "linux", architecture: "arm", variant: "v7" }), "linux/arm/v7");
  assertEquals(hostPlatform("x86_64"), { os: "linux", architecture: "amd64" });
  assertEquals(hostPlatform("aarch64"), { os: "linux", architecture: "arm64", variant: "v8" });
});

Deno.test("platforms: choosing from an index", () => {
  const M = "application/vnd.oci.image.manifest.v1+json";
  const index: OciIndex = {
    schemaVersion: 2,
    manifests: [
      {
        mediaType: M,
        digest: D("1"),
        size: 1,
        platform: { os: "linux", architecture: "arm", variant: "v6" },
      },
      {
        mediaType: M,
        digest: D("2"),
        size: 1,
        platform: { os: "linux", architecture: "arm", variant: "v7" },
      },
      { mediaType: M, digest: D("3"), size: 1, platform: { os: "linux", architecture: "arm64" } },
      { mediaType: M, digest: D("4"), size: 1, platform: { os: "linux", architecture: "amd64" } },
      {
        mediaType: M,
        digest: D("5"),
        size: 1,
        platform: { os: "unknown", architecture: "unknown" },
      },
    ],
  };
  assertEquals(
    selectPlatformManifest(index, { os: "linux", architecture: "amd64" }).digest,
    D("4"),
  );
  assertEquals(
    selectPlatformManifest(index, { os: "linux", architecture: "arm", variant: "v7" }).digest,
    D("2"),
  );
  assertEquals(
    selectPlatformManifest(index, { os: "linux", architecture: "arm64", variant: "v8" }).digest,
    D("3"),
  );
  const e = assertThrows(
    () => selectPlatformManifest(index, { os: "linux", architecture: "s390x" }),
    TsnspawnError,
  );
  assertEquals(e.code, "not-found");
  assert(e.message.includes("linux/amd64") && !e.message.includes("unknown"), e.message);
});

Deno.test("manifests: OCI and Docker accepted, schema1 refused", () => {
  const config = { mediaType: "x", digest: D("a"), size: 2 };
  const oci = parseManifest(
    bytes({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config,
      layers: [],
    }),
    null,
  );
  assertEquals(oci.kind, "manifest");
  const docker = parseManifest(
    bytes({ schemaVersion: 2, config, layers: [config] }),
    "application/vnd.docker.distribution.manifest.v2+json",
  );
  assertEquals([docker.kind, docker.mediaType], [
    "manifest",
    "application/vnd.docker.distribution.manifest.v2+json",
  ]);
  const list = parseManifest(
    bytes({ schemaVersion: 2, manifests: [config] }),
    "application/vnd.docker.distribution.manifest.list.v2+json",
  );
  assertEquals(list.kind, "index");
  assertThrows(
    () =>
      parseManifest(
        bytes({ schemaVersion: 1, name: "x", fsLayers: [] }),
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
      ),
    TsnspawnError,
    "schema 1",
  );
  assertThrows(
    () => parseManifest(new TextEncoder().encode("{nope"), null),
    TsnspawnError,
    "not valid JSON",
  );
  assertThrows(
    () => parseManifest(bytes({ schemaVersion: 2, mediaType: "text/plain" }), null),
    TsnspawnError,
    "unsupported manifest",
  );
  assertThrows(
    () =>
      parseManifest(
        bytes({ schemaVersion: 2, config: { ...config, digest: "sha512:ab" }, layers: [] }),
        null,
      ),
    TsnspawnError,
    "unsupported digest",
  );
  assertThrows(
    () => checkDescriptor({ digest: D("a"), size: -1 }, "layer"),
    TsnspawnError,
    "invalid size",
  );
});

Deno.test("layer media types → compression", () => {
  assertEquals(layerCompression("application/vnd.oci.image.layer.v1.tar"), "none");
  assertEquals(layerCompression("application/vnd.oci.image.layer.v1.tar+gzip"), "gzip");
  assertEquals(layerCompression("application/vnd.docker.image.rootfs.diff.tar.gzip"), "gzip");
  assertEquals(layerCompression("application/vnd.oci.image.layer.v1.tar+zstd"), "zstd");
  assertThrows(
    () => layerCompression("application/vnd.cncf.helm.chart.content.v1.tar+gzip"),
    TsnspawnError,
    "unsupported layer",
  );
});

import { assert, assertEquals, assertThrows } from "@std/assert";
import { TsnspawnError } from "../errors.ts";
import {
  backoffMs,
  checkDescriptor,
  formatPlatform,
  hostPlatform,
  isLoopbackRegistry,
  layerCompression,
  parseContentRange,
  parseManifest,
  parsePlatform,
  parseTokenResponse,
  parseWwwAuthenticate,
  registryBaseUrl,
  registryErrorText,
  repositoryScope,
  selectPlatformManifest,
  tokenRequestUrl,
} from "./protocol.ts";
import type { OciIndex } from "../oci/types.ts";

const D = (c: string) => `sha256:${c.repeat(64)}`;
const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

Deno.test("WWW-Authenticate: Docker Hub style Bearer challenge", () => {
  const [c] = parseWwwAuthenticate(
    'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"',
  );
  assertEquals(c, {
    scheme: "bearer",
    params: {
      realm: "https://auth.docker.io/token",
      service: "registry.docker.io",
      scope: "repository:library/busybox:pull",
    },
  });
});

Deno.test("WWW-Authenticate: several challenges, token params, escapes, junk", () => {
  const cs = parseWwwAuthenticate(
    'Basic realm="a \\"quoted\\" realm", Bearer realm=https://t/x, error="invalid_token"',
  );
  assertEquals(cs.map((c) => c.scheme), ["basic", "bearer"]);
  assertEquals(cs[0].params.realm, 'a "quoted" realm');
  assertEquals(cs[1].params, { realm: "https://t/x", error: "invalid_token" });
  assertEquals(parseWwwAuthenticate(""), []);
  assertEquals(parseWwwAuthenticate("=,,;"), []);
  // Random input never throws.
  for (let i = 0; i < 500; i++) {
    const s = Array.from(
      { length: 30 },
      () => String.fromCharCode(32 + Math.floor(Math.random() * 95)),
    ).join("");
    parseWwwAuthenticate(s);
  }
});

Deno.test("token request URL and token response", () => {
  const url = tokenRequestUrl(
    { scheme: "bearer", params: { realm: "http://127.0.0.1:9/token", service: "reg" } },
    ["repository:a/b:pull,push"],
  );
  assertEquals(url, "http://127.0.0.1:9/token?service=reg&scope=repository%3Aa%2Fb%3Apull%2Cpush");
  assertThrows(
    () => tokenRequestUrl({ scheme: "bearer", params: {} }, []),
    TsnspawnError,
    "no realm",
  );
  const now = 1_000_000;
  assertEquals(parseTokenResponse({ token: "t" }, now), { token: "t", expiresAt: now + 50_000 });
  assertEquals(parseTokenResponse({ access_token: "a", expires_in: 300 }, now).token, "a");
  assertEquals(parseTokenResponse({ token: "t", expires_in: 300 }, now).expiresAt, now + 290_000);
  assertThrows(() => parseTokenResponse({}, now), TsnspawnError, "without a token");
  assertEquals(
    repositoryScope("library/busybox", ["pull", "push"]),
    "repository:library/busybox:pull,push",
  );
});

Deno.test("endpoints: HTTPS except loopback or insecure", () => {
  for (const d of ["localhost:5000", "127.0.0.1:5000", "127.8.9.10", "[::1]:5000", "localhost"]) {
    assert(isLoopbackRegistry(d), d);
    assert(registryBaseUrl(d, false).startsWith("http://"), d);
  }
  for (const d of ["quay.io", "128.0.0.1:5000", "localhost.example.com", "10.0.0.1:5000"]) {
    assert(!isLoopbackRegistry(d), d);
  }
  assertEquals(registryBaseUrl("docker.io", false), "https://registry-1.docker.io");
  assertEquals(registryBaseUrl("quay.io", false), "https://quay.io");
  assertEquals(registryBaseUrl("reg.lan:5000", true), "http://reg.lan:5000");
});

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

Deno.test("transfers: Content-Range, back-off, error bodies", () => {
  assertEquals(parseContentRange("bytes 100-199/200"), { start: 100, end: 199, total: 200 });
  assertEquals(parseContentRange("bytes 0-9/*"), { start: 0, end: 9 });
  assertEquals(parseContentRange(null), undefined);
  assertEquals(parseContentRange("0-9"), undefined);
  assertEquals([1, 2, 3, 10].map(backoffMs), [200, 400, 800, 5000]);
  assertEquals(
    registryErrorText('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}'),
    "MANIFEST_UNKNOWN: manifest unknown",
  );
  assertEquals(registryErrorText("plain text\nmore"), "plain text");
});

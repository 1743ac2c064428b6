/**
 * Fuzzing the registry protocol's parsers (manifests and indexes, platform
 * selection, WWW-Authenticate, token responses, platforms, media types):
 * thousands of generated inputs each — random bytes, random JSON, and
 * mutations of valid documents. Only TsnspawnError may escape; what is
 * accepted must have the shape the pull relies on.
 */
import { assert } from "@std/assert";
import { TsnspawnError } from "../errors.ts";
import { parseTokenResponse, parseWwwAuthenticate } from "./protocol.ts";
import {
  layerCompression,
  parseManifest,
  parsePlatform,
  selectPlatformManifest,
} from "../oci/manifest.ts";

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HEX = "0123456789abcdef".repeat(4);
const DIGEST = `sha256:${HEX}`;
const OCI_MANIFEST = {
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: DIGEST, size: 100 },
  layers: [{
    mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
    digest: DIGEST,
    size: 1000,
  }],
};
const INDEX = {
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.index.v1+json",
  manifests: [
    {
      mediaType: OCI_MANIFEST.mediaType,
      digest: DIGEST,
      size: 10,
      platform: { architecture: "amd64", os: "linux" },
    },
    {
      mediaType: OCI_MANIFEST.mediaType,
      digest: DIGEST,
      size: 10,
      platform: { architecture: "arm64", os: "linux", variant: "v8" },
    },
  ],
};
const CONTENT_TYPES = [
  null,
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v1+prettyjws",
  "text/plain",
];

/** Random JSON-ish values, biased toward the types manifests use. */
function randomValue(rand: () => number, depth = 0): unknown {
  const pick = Math.floor(rand() * (depth > 3 ? 6 : 9));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return rand() < 0.5;
    case 2:
      return Math.floor(rand() * 2 ** 40) * (rand() < 0.2 ? -1 : 1);
    case 3:
      return rand() < 0.5 ? DIGEST : "sha256:xyz";
    case 4:
      return [
        "",
        "2",
        "linux",
        "amd64",
        OCI_MANIFEST.mediaType,
        "\u0000",
        "x".repeat(300),
      ][Math.floor(rand() * 7)];
    case 5:
      return rand() * 1e9;
    case 6:
      return Array.from({ length: Math.floor(rand() * 4) }, () => randomValue(rand, depth + 1));
    default: {
      const keys = [
        "schemaVersion",
        "mediaType",
        "config",
        "layers",
        "manifests",
        "digest",
        "size",
        "platform",
        "os",
        "architecture",
        "variant",
        "urls",
        "annotations",
      ];
      const o: Record<string, unknown> = {};
      for (let i = Math.floor(rand() * 5); i > 0; i--) {
        o[keys[Math.floor(rand() * keys.length)]] = randomValue(rand, depth + 1);
      }
      return o;
    }
  }
}

/** Replaces one random path of a JSON tree with a random value (or deletes it). */
function mutate(value: unknown, rand: () => number): unknown {
  const copy = structuredClone(value) as Record<string, unknown>;
  let node: Record<string, unknown> = copy;
  for (let depth = 0; depth < 4; depth++) {
    const keys = Object.keys(node);
    if (keys.length === 0) break;
    const key = keys[Math.floor(rand() * keys.length)];
    const child = node[key];
    if (child && typeof child === "object" && rand() < 0.6) {
      node = child as Record<string, unknown>;
      continue;
    }
    if (rand() < 0.2) delete node[key];
    else node[key] = randomValue(rand);
    break;
  }
  return copy;
}

function onlyTsnspawnErrors(what: string, input: unknown, fn: () => void): boolean {
  try {
    fn();
    return true;
  } catch (e) {
    if (!(e instanceof TsnspawnError)) {
      throw new Error(`${what}(${JSON.stringify(input)?.slice(0, 300)}) threw ${e}`);
    }
    assert(!e.message.includes("\n"), `one-line message: ${e.message}`);
    return false;
  }
}

Deno.test("fuzz parseManifest and selectPlatformManifest: only TsnspawnError, accepted shapes are sound", () => {
  const rand = prng(7);
  let accepted = 0;
  const encoder = new TextEncoder();
  for (let i = 0; i < 6000; i++) {
    const kind = i % 4;
    let bytes: Uint8Array;
    if (kind === 0) bytes = crypto.getRandomValues(new Uint8Array(Math.floor(rand() * 64)));
    else if (kind === 1) bytes = encoder.encode(JSON.stringify(randomValue(rand)));
    else {
      let doc: unknown = kind === 2 ? OCI_MANIFEST : INDEX;
      for (let m = 1 + Math.floor(rand() * 3); m > 0; m--) doc = mutate(doc, rand);
      bytes = encoder.encode(JSON.stringify(doc));
    }
    const contentType = CONTENT_TYPES[Math.floor(rand() * CONTENT_TYPES.length)];
    onlyTsnspawnErrors("parseManifest", new TextDecoder().decode(bytes), () => {
      const parsed = parseManifest(bytes, contentType);
      accepted++;
      if (parsed.kind === "manifest") {
        assert(typeof parsed.manifest.config.digest === "string");
        assert(Array.isArray(parsed.manifest.layers));
        for (const layer of parsed.manifest.layers) {
          onlyTsnspawnErrors(
            "layerCompression",
            layer.mediaType,
            () => layerCompression(layer.mediaType),
          );
        }
      } else {
        assert(Array.isArray(parsed.index.manifests));
        for (
          const want of [{ os: "linux", architecture: "amd64" }, {
            os: "linux",
            architecture: "arm64",
            variant: "v8",
          }]
        ) {
          onlyTsnspawnErrors("selectPlatformManifest", want, () => {
            const d = selectPlatformManifest(parsed.index, want);
            assert(typeof d.digest === "string");
          });
        }
      }
    });
  }
  assert(accepted > 200, `some mutated documents are accepted (${accepted})`);
});

Deno.test("fuzz WWW-Authenticate, token responses, platforms: only TsnspawnError", () => {
  const rand = prng(11);
  const alphabet =
    'Bearer Basic realm="https://a/t",service=x,scope="repository:a:pull" \\,=\'"\u00e9\u0000/';
  const randomText = () => {
    let s = "";
    for (let j = Math.floor(rand() * 60); j > 0; j--) {
      s += alphabet[Math.floor(rand() * alphabet.length)];
    }
    return s;
  };
  for (let i = 0; i < 5000; i++) {
    const header = randomText();
    onlyTsnspawnErrors("parseWwwAuthenticate", header, () => {
      for (const c of parseWwwAuthenticate(header)) assert(typeof c.scheme === "string");
    });
    const body = rand() < 0.5
      ? randomValue(rand)
      : mutate({ token: "t", expires_in: 60, issued_at: "2024-01-01T00:00:00Z" }, rand);
    onlyTsnspawnErrors("parseTokenResponse", body, () => {
      const token = parseTokenResponse(body, 0);
      assert(typeof token.token === "string");
    });
    const platform = randomText().replace(/ /g, "/");
    onlyTsnspawnErrors("parsePlatform", platform, () => parsePlatform(platform));
    const mediaType = rand() < 0.5
      ? randomText()
      : `application/vnd.oci.image.layer.v1.tar${["", "+gzip", "+zstd", "+xz"][i % 4]}`;
    onlyTsnspawnErrors("layerCompression", mediaType, () => layerCompression(mediaType));
  }
});

/**
 * OCI manifests, indexes and platforms, as the image store and the registry
 * client both read them (pure): OCI index/manifest and Docker schema2
 * list/manifest are accepted, schema1 is refused; the platform chosen from an
 * index (image-spec image-index.md "platform"); layer media types →
 * compression.
 *
 * Specs: opencontainers/image-spec manifest.md, image-index.md,
 * media-types.md; docker's manifest-v2-2.md.
 */
import { TsnspawnError } from "../errors.ts";
import { sha256DigestSync } from "./digest.ts";
import {
  MEDIA_TYPE_DOCKER_LAYER_GZIP,
  MEDIA_TYPE_DOCKER_MANIFEST,
  MEDIA_TYPE_DOCKER_MANIFEST_LIST,
  MEDIA_TYPE_OCI_CONFIG,
  MEDIA_TYPE_OCI_INDEX,
  MEDIA_TYPE_OCI_LAYER,
  MEDIA_TYPE_OCI_LAYER_GZIP,
  MEDIA_TYPE_OCI_MANIFEST,
  type OciDescriptor,
  type OciIndex,
  type OciManifest,
  type OciPlatform,
} from "./types.ts";

/** zstd-compressed OCI layer. */
export const MEDIA_TYPE_OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd";
/** Docker schema 1 manifests (refused). */
export const MEDIA_TYPES_SCHEMA1 = [
  "application/vnd.docker.distribution.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v1+prettyjws",
];

// ------------------------------------------------------------ writing

/**
 * The OCI manifest of an image made here (commit, build, save): its config
 * blob `configBytes` and its layers, serialized (pure).
 */
export function planImageManifest(
  configBytes: Uint8Array,
  layers: readonly OciDescriptor[],
): Uint8Array {
  const manifest: OciManifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_OCI_MANIFEST,
    config: {
      mediaType: MEDIA_TYPE_OCI_CONFIG,
      digest: sha256DigestSync(configBytes),
      size: configBytes.length,
    },
    layers: [...layers],
  };
  return new TextEncoder().encode(JSON.stringify(manifest));
}

// ------------------------------------------------------------ platforms

/** The platform to pull for this host: linux and the Go name of the CPU. */
export function hostPlatform(arch: string = Deno.build.arch): OciPlatform {
  const goArch: Record<string, string> = { x86_64: "amd64", aarch64: "arm64" };
  const architecture = goArch[arch] ?? arch;
  return architecture === "arm64"
    ? { os: "linux", architecture, variant: "v8" }
    : { os: "linux", architecture };
}

/**
 * Parses `--platform` ("linux/amd64", "linux/arm64/v8", "amd64" → linux).
 * @throws {TsnspawnError} "invalid".
 */
export function parsePlatform(text: string): OciPlatform {
  const parts = text.split("/");
  const bad = () =>
    new TsnspawnError("invalid", `platform "${text}": not OS/ARCH[/VARIANT]`, {
      hint: "e.g. --platform linux/amd64 or linux/arm64/v8",
    });
  if (parts.length > 3 || parts.some((p) => !/^[a-z0-9_.-]+$/.test(p))) throw bad();
  if (parts.length === 1) return { os: "linux", architecture: parts[0] };
  const platform: OciPlatform = { os: parts[0], architecture: parts[1] };
  if (parts[2] !== undefined) platform.variant = parts[2];
  return platform;
}

/** "linux/arm64/v8". */
export function formatPlatform(p: OciPlatform): string {
  return [p.os, p.architecture, p.variant].filter((x) => x).join("/");
}

/**
 * Picks the manifest for `want` from an index: same os and architecture;
 * a wanted variant must match (arm64 without variant counts as v8); without a
 * wanted variant, the first match wins. Attestation manifests
 * (os "unknown") are never chosen.
 *
 * @throws {TsnspawnError} "not-found" listing the platforms the index has.
 */
export function selectPlatformManifest(index: OciIndex, want: OciPlatform): OciDescriptor {
  const variantOf = (p: OciPlatform) =>
    p.variant ?? (p.architecture === "arm64" ? "v8" : undefined);
  const candidates = (index.manifests ?? []).filter((d) =>
    d.platform && d.platform.os === want.os && d.platform.architecture === want.architecture &&
    isManifestMediaType(d.mediaType)
  );
  const wantVariant = want.variant === undefined ? undefined : variantOf(want);
  const hit = candidates.find((d) =>
    wantVariant === undefined || variantOf(d.platform!) === wantVariant
  );
  if (hit) return hit;
  const available = (index.manifests ?? [])
    .filter((d) => d.platform && d.platform.os !== "unknown")
    .map((d) => formatPlatform(d.platform!));
  throw new TsnspawnError(
    "not-found",
    `no image for platform ${formatPlatform(want)}: the image has ${
      available.length ? available.join(", ") : "no platform entries"
    }`,
    { hint: "choose one with --platform" },
  );
}

function isManifestMediaType(mediaType: string | undefined): boolean {
  return mediaType === undefined || mediaType === MEDIA_TYPE_OCI_MANIFEST ||
    mediaType === MEDIA_TYPE_DOCKER_MANIFEST;
}

// ------------------------------------------------------------ manifests

/** What a manifest body turned out to be. */
export type ParsedManifest =
  | { kind: "index"; mediaType: string; index: OciIndex }
  | { kind: "manifest"; mediaType: string; manifest: OciManifest };

/**
 * Classifies and checks a manifest from the registry. The media type comes
 * from the body's `mediaType` field, else the Content-Type header.
 *
 * @throws {TsnspawnError} "image" for schema1, unknown types, or a malformed body.
 */
export function parseManifest(bytes: Uint8Array, contentType: string | null): ParsedManifest {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    // One line: JSON.parse quotes the offending text, control characters included.
    // deno-lint-ignore no-control-regex
    const detail = (e as Error).message.replace(/[\u0000-\u001f\u007f]+/g, " ");
    throw new TsnspawnError("image", `manifest is not valid JSON: ${detail}`, {
      cause: e,
    });
  }
  if (typeof body !== "object" || body === null) {
    throw new TsnspawnError("image", "manifest is not a JSON object");
  }
  const header = (contentType ?? "").split(";")[0].trim();
  const mediaType = typeof body.mediaType === "string" && body.mediaType !== ""
    ? body.mediaType
    : header;
  if (body.schemaVersion === 1 || MEDIA_TYPES_SCHEMA1.includes(mediaType)) {
    throw new TsnspawnError(
      "image",
      "image uses Docker manifest schema 1, which is deprecated and not supported",
      { hint: "push the image again with a current tool (docker, podman, skopeo)" },
    );
  }
  if (body.schemaVersion !== 2) {
    throw new TsnspawnError("image", `manifest has schemaVersion ${body.schemaVersion}`, {
      hint: "only schema version 2 (OCI and Docker v2) is supported",
    });
  }
  const isIndex = mediaType === MEDIA_TYPE_OCI_INDEX ||
    mediaType === MEDIA_TYPE_DOCKER_MANIFEST_LIST ||
    ((mediaType === "" || mediaType === "application/json") && Array.isArray(body.manifests));
  if (isIndex) {
    if (!Array.isArray(body.manifests)) {
      throw new TsnspawnError("image", "image index has no manifests list");
    }
    for (const d of body.manifests) checkDescriptor(d, "index entry");
    return {
      kind: "index",
      mediaType: mediaType || MEDIA_TYPE_OCI_INDEX,
      index: body as unknown as OciIndex,
    };
  }
  const isManifest = mediaType === MEDIA_TYPE_OCI_MANIFEST ||
    mediaType === MEDIA_TYPE_DOCKER_MANIFEST ||
    ((mediaType === "" || mediaType === "application/json") && typeof body.config === "object");
  if (!isManifest) {
    throw new TsnspawnError("image", `unsupported manifest media type "${mediaType}"`, {
      hint: "tsnspawn reads OCI and Docker schema 2 images",
    });
  }
  checkDescriptor(body.config, "config");
  if (!Array.isArray(body.layers)) throw new TsnspawnError("image", "manifest has no layers list");
  for (const d of body.layers) checkDescriptor(d, "layer");
  return {
    kind: "manifest",
    mediaType: mediaType || MEDIA_TYPE_OCI_MANIFEST,
    manifest: body as unknown as OciManifest,
  };
}

/**
 * Checks a descriptor's shape: a sha256 digest (the only algorithm the store
 * addresses by) and a non-negative integer size.
 * @throws {TsnspawnError} "image".
 */
export function checkDescriptor(d: unknown, what: string): OciDescriptor {
  const desc = d as OciDescriptor;
  if (typeof desc !== "object" || desc === null) {
    throw new TsnspawnError("image", `manifest ${what} is not an object`);
  }
  if (typeof desc.digest !== "string" || !/^sha256:[a-f0-9]{64}$/.test(desc.digest)) {
    throw new TsnspawnError(
      "image",
      `manifest ${what} has an unsupported digest "${desc.digest}"`,
      {
        hint: "only sha256 digests are supported",
      },
    );
  }
  if (!Number.isSafeInteger(desc.size) || desc.size < 0) {
    throw new TsnspawnError("image", `manifest ${what} ${desc.digest} has an invalid size`);
  }
  return desc;
}

/** How a layer blob is compressed. */
export type Compression = "gzip" | "zstd" | "none";

/**
 * The compression of a layer from its media type (media-types.md; Docker's
 * foreign layers are gzip too).
 * @throws {TsnspawnError} "image" for a media type that is not a layer.
 */
export function layerCompression(mediaType: string): Compression {
  switch (mediaType) {
    case MEDIA_TYPE_OCI_LAYER:
    case "application/vnd.oci.image.layer.nondistributable.v1.tar":
      return "none";
    case MEDIA_TYPE_OCI_LAYER_GZIP:
    case MEDIA_TYPE_DOCKER_LAYER_GZIP:
    case "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip":
    case "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip":
      return "gzip";
    case MEDIA_TYPE_OCI_LAYER_ZSTD:
    case "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd":
      return "zstd";
  }
  throw new TsnspawnError("image", `unsupported layer media type "${mediaType}"`, {
    hint: "layers must be tar archives, uncompressed, gzip or zstd",
  });
}

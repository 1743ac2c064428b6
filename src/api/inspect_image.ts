/**
 * Images in Docker's JSON (pure): the entries of `GET /images/json` and the
 * document of `GET /images/{name}/json`, from the stored image
 * ({@link ImageFacts}: image/store.ts `inspectImage` gives its id, config,
 * tags and size; the caller puts the tags in familiar form).
 *
 * Docker's shapes at API 1.44: the list has `Id`, `ParentId` "",
 * `RepoTags`, `RepoDigests`, `Created` (unix seconds), `Size`,
 * `SharedSize` and `Containers` -1 ("not computed"), `Labels`; inspect
 * adds the config, the platform, `RootFS` and — still at 1.44, removed in
 * 1.45 — `ContainerConfig`, without which compose 1.29 crashes on recreate
 * (KeyError 'ContainerConfig', docker/compose#11693). `VirtualSize` is left
 * out (gone from 1.44). An untagged image lists `<none>`-less: empty arrays.
 *
 * References: Docker Engine API v1.44 (ImageSummary, ImageInspect);
 * OCI image-spec config.md; moby v28.2.2 daemon/images/image_inspect.go,
 * docs/api/version-history.md (1.44, 1.45); research notes
 * /work/shared/research/docker-api.md §1.2, §4 "Image inspect", §6 rows 19–20.
 */
import { formatDockerTime, nanosOfIso, unixSeconds, ZERO_TIME } from "./docker_time.ts";

/** The runtime part of an image config (OCI `config`; oci/types.ts OciRunConfig fits). */
export interface ImageRunConfig {
  User?: string;
  ExposedPorts?: Record<string, unknown>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, unknown>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
}

/** What an image's Docker JSON is made from. */
export interface ImageFacts {
  /** "sha256:..." of the config. */
  id: string;
  /** Familiar tags: `busybox:latest`. */
  repoTags: readonly string[];
  /** Familiar digest references: `busybox@sha256:...` (the manifest digest under each repository). */
  repoDigests: readonly string[];
  /** The OCI image config (oci/types.ts OciImageConfig fits). */
  config: {
    created?: string;
    author?: string;
    architecture: string;
    os: string;
    variant?: string;
    config?: ImageRunConfig;
    rootfs: { type: string; diff_ids: string[] };
  };
  /** Bytes of the unpacked layers. */
  size: number;
  /** Layer directories, topmost first (GraphDriver data), when known. */
  layerDirs?: readonly string[];
}

/** The creation time as nanoseconds, or null when the config has none or a bad one. */
function createdNanos(facts: ImageFacts): bigint | null {
  if (!facts.config.created) return null;
  try {
    return nanosOfIso(facts.config.created);
  } catch {
    return null;
  }
}

/** An entry of `GET /images/json`. */
export function formatImageSummary(facts: ImageFacts): Record<string, unknown> {
  const created = createdNanos(facts);
  return {
    Id: facts.id,
    ParentId: "",
    RepoTags: [...facts.repoTags],
    RepoDigests: [...facts.repoDigests],
    Created: created === null ? 0 : unixSeconds(created),
    Size: facts.size,
    SharedSize: -1,
    Labels: facts.config.config?.Labels ?? null,
    Containers: -1,
  };
}

/** An image's runtime config in the shape of a container's `Config`. */
function formatRunConfig(run: ImageRunConfig | undefined): Record<string, unknown> {
  return {
    Hostname: "",
    Domainname: "",
    User: run?.User ?? "",
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    ExposedPorts: run?.ExposedPorts ?? null,
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    Env: run?.Env ?? null,
    Cmd: run?.Cmd ?? null,
    Image: "",
    Volumes: run?.Volumes ?? null,
    WorkingDir: run?.WorkingDir ?? "",
    Entrypoint: run?.Entrypoint ?? null,
    OnBuild: null,
    Labels: run?.Labels ?? null,
    ...(run?.StopSignal ? { StopSignal: run.StopSignal } : {}),
  };
}

/** The document of `GET /images/{name}/json`. */
export function formatImageInspect(facts: ImageFacts): Record<string, unknown> {
  const created = createdNanos(facts);
  const run = formatRunConfig(facts.config.config);
  const result: Record<string, unknown> = {
    Id: facts.id,
    RepoTags: [...facts.repoTags],
    RepoDigests: [...facts.repoDigests],
    Parent: "",
    Comment: "",
    Created: created === null ? ZERO_TIME : formatDockerTime(created),
    Container: "",
    // compose 1.29 reads ContainerConfig.Volumes when it recreates a container.
    ContainerConfig: run,
    DockerVersion: "",
    Author: facts.config.author ?? "",
    Config: run,
    Architecture: facts.config.architecture,
    Os: facts.config.os,
    Size: facts.size,
    GraphDriver: {
      Name: "overlay",
      Data: facts.layerDirs ? { LowerDir: facts.layerDirs.join(":") } : null,
    },
    RootFS: { Type: facts.config.rootfs.type, Layers: [...facts.config.rootfs.diff_ids] },
    Metadata: { LastTagTime: ZERO_TIME },
  };
  if (facts.config.variant) result.Variant = facts.config.variant;
  return result;
}

/** One item of `DELETE /images/{name}`'s answer. */
export type ImageDeleteItem = { Untagged: string } | { Deleted: string };

/** The answer to `DELETE /images/{name}`: the untagged references, then the deleted IDs. */
export function formatImageDelete(
  untagged: readonly string[],
  deleted: readonly string[],
): ImageDeleteItem[] {
  return [...untagged.map((u) => ({ Untagged: u })), ...deleted.map((d) => ({ Deleted: d }))];
}

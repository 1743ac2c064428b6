/**
 * Types and media types of the OCI image format that tsnspawn reads and
 * writes (pure, no code). Specs: opencontainers/image-spec descriptor.md,
 * manifest.md, config.md, image-index.md.
 */

/** OCI image manifest. */
export const MEDIA_TYPE_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
/** OCI image index (multi-platform). */
export const MEDIA_TYPE_OCI_INDEX = "application/vnd.oci.image.index.v1+json";
/** OCI image configuration. */
export const MEDIA_TYPE_OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
/** Uncompressed layer tar. */
export const MEDIA_TYPE_OCI_LAYER = "application/vnd.oci.image.layer.v1.tar";
/** gzip-compressed layer tar. */
export const MEDIA_TYPE_OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
/** Docker schema 2 manifest (what Docker Hub serves by default). */
export const MEDIA_TYPE_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
/** Docker manifest list. */
export const MEDIA_TYPE_DOCKER_MANIFEST_LIST =
  "application/vnd.docker.distribution.manifest.list.v2+json";
/** Docker image config. */
export const MEDIA_TYPE_DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
/** Docker gzip layer. */
export const MEDIA_TYPE_DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/** A content descriptor (descriptor.md). */
export interface OciDescriptor {
  mediaType: string;
  /** "sha256:<hex>". */
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: OciPlatform;
}

/** Platform of an index entry (image-index.md). */
export interface OciPlatform {
  architecture: string;
  os: string;
  variant?: string;
  "os.version"?: string;
  "os.features"?: string[];
}

/** Image manifest (manifest.md). */
export interface OciManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: OciDescriptor;
  /** Base layer first. */
  layers: OciDescriptor[];
  subject?: OciDescriptor;
  annotations?: Record<string, string>;
}

/** Image index (image-index.md). */
export interface OciIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: OciDescriptor[];
  annotations?: Record<string, string>;
}

/** The execution defaults of an image (config.md, "config" field). */
export interface OciRunConfig {
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  /** "NAME=value" strings. */
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  /** Docker's HEALTHCHECK (durations in nanoseconds): a container's health check by default. */
  Healthcheck?: {
    Test?: string[];
    Interval?: number;
    Timeout?: number;
    StartPeriod?: number;
    Retries?: number;
  };
}

/** One history entry (config.md). */
export interface OciHistory {
  created?: string;
  author?: string;
  created_by?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** Image configuration (config.md). Its sha256 digest is the image id. */
export interface OciImageConfig {
  /** RFC 3339 time. */
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  config?: OciRunConfig;
  rootfs: {
    type: "layers";
    /** sha256 of each uncompressed layer tar, base layer first. */
    diff_ids: string[];
  };
  history?: OciHistory[];
}

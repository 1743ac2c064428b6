/**
 * JSON progress messages (pure): what `POST /images/create` (pull) and
 * `POST /build` stream, one JSON object per message followed by "\r\n", in
 * a chunked `application/json` response.
 *
 * The docker CLI renders per-`id` lines from `status` and `progressDetail`
 * and exits 1 on any `errorDetail` (printing its message); docker-py and
 * compose read `stream`, `status` and `error`. A pull that renders like
 * docker's says "Pulling from library/busybox" (id = the tag), then per
 * layer "Pulling fs layer", "Downloading" (with progress), "Verifying
 * Checksum", "Download complete", "Extracting", "Pull complete", then
 * "Digest: sha256:…" and "Status: Downloaded newer image for busybox:latest"
 * (or "Image is up to date for …"). A classic build streams its output in
 * `stream` and must end with both `{"aux":{"ID":"sha256:…"}}` (what
 * `--iidfile` reads) and "Successfully built <12 hex>" (what compose 1.29's
 * regex reads), then "Successfully tagged …".
 *
 * References: Docker Engine API v1.44 (`POST /images/create`, `POST /build`);
 * moby v28.2.2 pkg/jsonmessage/jsonmessage.go, pkg/streamformatter;
 * go-units size.go (HumanSize); research notes
 * /work/shared/research/docker-api.md §3.6.
 */

/** moby's JSONMessage; absent members are left out as Go's `omitempty` does. */
export interface JsonMessage {
  status?: string;
  /** A layer's short ID, or the tag for "Pulling from". */
  id?: string;
  progressDetail?: { current?: number; total?: number };
  /** The preformatted bar ("[==>   ]  1.2MB/3.4MB") older clients print as is. */
  progress?: string;
  /** Build output text. */
  stream?: string;
  aux?: Record<string, unknown>;
  errorDetail?: { code?: number; message: string };
  /** The legacy error string, sent together with errorDetail. */
  error?: string;
}

/** One message as written to the stream: its JSON and "\r\n" (moby's streamNewline). */
export function formatJsonMessage(message: JsonMessage): string {
  return `${JSON.stringify(message)}\r\n`;
}

/** Parses a progress stream back into messages (tests, clients). */
export function parseJsonMessages(text: string): JsonMessage[] {
  return text.split(/\r?\n/).filter((line) => line.trim() !== "").map((line) => JSON.parse(line));
}

/** go-units HumanSize: decimal units, four significant digits ("1.2MB", "512B"). */
export function formatHumanSize(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
  let size = bytes;
  let unit = 0;
  while (size >= 1000 && unit < units.length - 1) {
    size /= 1000;
    unit++;
  }
  return `${Number(size.toPrecision(4))}${units[unit]}`;
}

/** moby's JSONProgress.String: up to 50 '=' (2 % each), '>', padding, then current/total. */
export function formatProgressBar(current: number, total: number): string {
  if (current <= 0 && total <= 0) return "";
  if (total <= 0) return formatHumanSize(current).padStart(8);
  const filled = Math.min(50, Math.floor(Math.floor((current / total) * 100) / 2));
  const bar = `[${"=".repeat(filled)}>${" ".repeat(50 - filled)}] `;
  return `${bar}${formatHumanSize(current).padStart(8)}/${formatHumanSize(total)}`;
}

/** The short ID the CLI shows for a layer: 12 hex characters of its digest. */
export function shortLayerId(digest: string): string {
  return digest.replace(/^sha256:/, "").slice(0, 12);
}

/** "Pulling from library/busybox" (the repository path) with the tag as id. */
export function pullingFrom(repositoryPath: string, tag: string): JsonMessage {
  return { status: `Pulling from ${repositoryPath}`, id: tag };
}

/** The per-layer statuses of a pull, in order. */
export type LayerStatus =
  | "Pulling fs layer"
  | "Waiting"
  | "Downloading"
  | "Verifying Checksum"
  | "Download complete"
  | "Extracting"
  | "Pull complete"
  | "Already exists";

/** A layer's status line; with byte counts for Downloading and Extracting. */
export function layerProgress(
  digest: string,
  status: LayerStatus,
  bytes?: { current: number; total: number },
): JsonMessage {
  if (bytes === undefined) return { status, progressDetail: {}, id: shortLayerId(digest) };
  return {
    status,
    progressDetail: { current: bytes.current, total: bytes.total },
    progress: formatProgressBar(bytes.current, bytes.total),
    id: shortLayerId(digest),
  };
}

/** The end of a pull: the manifest digest, then whether anything was new. */
export function pullSummary(
  manifestDigest: string,
  familiarReference: string,
  downloaded: boolean,
): JsonMessage[] {
  return [
    { status: `Digest: ${manifestDigest}` },
    {
      status: downloaded
        ? `Status: Downloaded newer image for ${familiarReference}`
        : `Status: Image is up to date for ${familiarReference}`,
    },
  ];
}

/** An error inside the stream (once headers were sent): errorDetail and the legacy error string. */
export function streamError(message: string): JsonMessage {
  return { errorDetail: { message }, error: message };
}

/** Build output: one `stream` message per chunk of text. */
export function buildOutput(text: string): JsonMessage {
  return { stream: text };
}

/** The end of a classic build: aux ID (for --iidfile), "Successfully built", then each tag. */
export function buildResult(imageId: string, familiarTags: readonly string[]): JsonMessage[] {
  const hex = imageId.replace(/^sha256:/, "");
  return [
    { aux: { ID: `sha256:${hex}` } },
    { stream: `Successfully built ${hex.slice(0, 12)}\n` },
    ...familiarTags.map((tag) => ({ stream: `Successfully tagged ${tag}\n` })),
  ];
}

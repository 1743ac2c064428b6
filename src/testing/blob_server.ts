/**
 * Test fixture: a registry that serves blobs only (`GET /v2/<path>/blobs/<digest>`,
 * with `Range: bytes=N-`), on a free loopback port, for the unit tests of
 * the layer download. Used by tests only; tests/registry_fixture.ts runs a
 * real registry for the integration tests.
 */
import { join } from "../path_util.ts";
import { sha256Digest } from "../oci/digest.ts";
import type { LayerDownload } from "../registry/layer_download.ts";
import { MEDIA_TYPE_OCI_LAYER_GZIP, type OciDescriptor } from "../oci/types.ts";
import { RegistryClient, type RegistrySession } from "../registry/client.ts";

/** A running blob server; `close()` it. */
export interface BlobServer {
  /** "127.0.0.1:<port>" */
  domain: string;
  /** A session of an anonymous client of this server. */
  session: RegistrySession;
  /** Serves `bytes` under `digest` (default: their sha256); returns the layer descriptor. */
  add(bytes: Uint8Array, options?: { digest?: string; mediaType?: string }): Promise<OciDescriptor>;
  /** `Range` headers received, "none" for requests without one. */
  ranges: string[];
  /** Whether a response body was cancelled by the client before its end. */
  cancelled: boolean;
  close(): Promise<void>;
}

/** Starts a {@link BlobServer}. */
export function startBlobServer(): BlobServer {
  const blobs = new Map<string, Uint8Array>();
  const state = { ranges: [] as string[], cancelled: false };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const digest = /\/blobs\/(sha256:[a-f0-9]{64})$/.exec(new URL(req.url).pathname)?.[1];
    const blob = digest && blobs.get(digest);
    if (!blob) return new Response("not found", { status: 404 });
    const range = req.headers.get("range");
    state.ranges.push(range ?? "none");
    const start = range ? Number(/^bytes=(\d+)-$/.exec(range)?.[1] ?? 0) : 0;
    let offset = start;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (offset >= blob.length) return controller.close();
        controller.enqueue(blob.slice(offset, offset + 65536));
        offset += 65536;
      },
      cancel() {
        state.cancelled = true;
      },
    });
    const headers: Record<string, string> = { "content-length": String(blob.length - start) };
    if (range) headers["content-range"] = `bytes ${start}-${blob.length - 1}/${blob.length}`;
    return new Response(body, { status: range ? 206 : 200, headers });
  });
  const domain = `127.0.0.1:${server.addr.port}`;
  return {
    domain,
    session: new RegistryClient(domain).session(),
    async add(bytes, options = {}) {
      const digest = options.digest ?? await sha256Digest(bytes);
      blobs.set(digest, bytes);
      return {
        mediaType: options.mediaType ?? MEDIA_TYPE_OCI_LAYER_GZIP,
        digest,
        size: bytes.length,
      };
    },
    get ranges() {
      return state.ranges;
    },
    get cancelled() {
      return state.cancelled;
    },
    close: () => server.shutdown(),
  };
}

/** Runs `fn` with a blob server and a scratch directory, then removes both. */
export async function withBlobServer(
  fn: (server: BlobServer, dir: string) => Promise<void>,
): Promise<void> {
  const server = startBlobServer();
  const dir = await Deno.makeTempDir({ prefix: "tsnspawn-blobs-" });
  try {
    await fn(server, dir);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** A download of `layer` from `server` into `<dir>/<name>` (created). */
export function layerJob(
  server: BlobServer,
  dir: string,
  layer: OciDescriptor,
  name = "t",
): LayerDownload {
  const target = join(dir, name);
  Deno.mkdirSync(target);
  return {
    session: server.session,
    path: "test/layer",
    scope: "repository:test/layer:pull",
    layer,
    partPath: join(dir, `${name}.part`),
    target,
    context: `layer ${name}`,
  };
}

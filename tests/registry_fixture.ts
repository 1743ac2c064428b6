/**
 * Test fixtures for the registry tests: a real registry (Debian's
 * `docker-registry`, the distribution registry 2.8) started on 127.0.0.1 with
 * a random free port, its config and storage on a private tmpfs; optional
 * htpasswd Basic auth, or Bearer token auth served by a small token server
 * written here (Deno.serve on 127.0.0.1, RS256 JWTs with an x5c chain the
 * registry trusts through `rootcertbundle`); plus helpers that build images
 * (busybox base from examples/busybox-rootfs.sh, small tar layers) and push
 * them with plain distribution API calls, so tests can craft broken ones.
 *
 * Everything lives on a tmpfs mounted by the fixture and is torn down in
 * `finally`: the registry process (by its PID), the token server, the mount.
 * Needs root (mount) and the packages docker-registry, apache2-utils, openssl.
 */
import { join } from "@std/path";
import { createHash } from "node:crypto";
import { createTar, type TarWriteHeader } from "../src/image/tar.ts";
import { REPO } from "./helpers.ts";

/** Runs a program, throwing with its stderr on failure; returns stdout. */
export function sh(
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string } = {},
): string {
  const out = new Deno.Command(cmd, { args, env: opts.env, cwd: opts.cwd, stdin: "null" })
    .outputSync();
  if (!out.success) {
    throw new Error(
      `${cmd} ${args.join(" ")}: exit ${out.code}: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}

/** A tmpfs mounted on a fresh temp dir, removed after `fn`. */
export async function withTmpfs<T>(fn: (dir: string) => Promise<T>, size = "1g"): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "tsnspawn-regtest-" });
  sh("mount", ["-t", "tmpfs", "-o", `size=${size},mode=0755`, "tmpfs", dir]);
  try {
    return await fn(dir);
  } finally {
    try {
      sh("umount", [dir]);
    } catch {
      sh("umount", ["-l", dir]);
    }
    await Deno.remove(dir, { recursive: true });
  }
}

/** A free TCP port on 127.0.0.1 (bound then released). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

export function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** A running registry. */
export interface Registry {
  /** "127.0.0.1:PORT", the domain in references. */
  domain: string;
  /** Filesystem storage root of the registry. */
  storage: string;
  /** Users accepted (Basic and token auth). */
  users: Record<string, string>;
  auth: "none" | "basic" | "token";
  /** Authorization header value for `user` (Basic, or a Bearer token for `scope`). */
  authorization(user: string, scope: string): Promise<string | undefined>;
  /** Path of a blob's data file in the storage (to tamper with it). */
  blobDataPath(digest: string): string;
  /** Requests the token server saw (token auth). */
  tokenRequests: URL[];
}

/** Options of {@link withRegistry}. */
export interface RegistryOptions {
  auth?: "none" | "basic" | "token";
  users?: Record<string, string>;
}

async function waitListening(url: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const r = await fetch(url);
      await r.body?.cancel();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`registry at ${url} did not come up: ${e}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function b64url(bytes: Uint8Array | string): string {
  const b = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  return btoa(String.fromCharCode(...b)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function pemToDer(pem: string): Uint8Array<ArrayBuffer> {
  const b64 = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

/** Starts a registry (and token server) in a tmpfs dir below `base`; runs `fn`; stops them. */
export async function withRegistry<T>(
  base: string,
  options: RegistryOptions,
  fn: (registry: Registry) => Promise<T>,
): Promise<T> {
  const auth = options.auth ?? "none";
  const users = options.users ?? { alice: "s3cret" };
  const dir = await Deno.makeTempDir({ dir: base, prefix: "registry-" });
  const storage = join(dir, "storage");
  await Deno.mkdir(storage);
  const port = freePort();
  const domain = `127.0.0.1:${port}`;
  let authYaml = "";
  let server: Deno.HttpServer | undefined;
  const tokenRequests: URL[] = [];
  let signToken: ((user: string | undefined, scopes: string[]) => Promise<string>) | undefined;
  if (auth === "basic") {
    const lines = Object.entries(users).map(([u, p]) => sh("htpasswd", ["-Bbn", u, p]).trim());
    await Deno.writeTextFile(join(dir, "htpasswd"), lines.join("\n") + "\n");
    authYaml = `auth:\n  htpasswd:\n    realm: test-realm\n    path: ${join(dir, "htpasswd")}\n`;
  } else if (auth === "token") {
    sh("openssl", [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=tsnspawn-test-token",
      "-keyout",
      join(dir, "key.pem"),
      "-out",
      join(dir, "cert.pem"),
    ]);
    const key = await crypto.subtle.importKey(
      "pkcs8",
      pemToDer(await Deno.readTextFile(join(dir, "key.pem"))),
      { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const certDer = pemToDer(await Deno.readTextFile(join(dir, "cert.pem")));
    signToken = async (user, scopes) => {
      const now = Math.floor(Date.now() / 1000);
      const access = scopes.flatMap((s) => {
        const [type, ...rest] = s.split(":");
        const actions = rest.pop()!.split(",");
        // Anonymous users may pull only.
        const allowed = user ? actions : actions.filter((a) => a === "pull");
        return [{ type, name: rest.join(":"), actions: allowed }];
      });
      const header = { alg: "RS256", typ: "JWT", x5c: [btoa(String.fromCharCode(...certDer))] };
      const claims = {
        iss: "tsnspawn-test-issuer",
        sub: user ?? "",
        aud: "tsnspawn-test-registry",
        exp: now + 300,
        nbf: now - 10,
        iat: now,
        jti: crypto.randomUUID(),
        access,
      };
      const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
      const sig = new Uint8Array(
        await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, new TextEncoder().encode(input)),
      );
      return `${input}.${b64url(sig)}`;
    };
    const tokenPort = freePort();
    server = Deno.serve(
      { hostname: "127.0.0.1", port: tokenPort, onListen: () => {} },
      async (req) => {
        const url = new URL(req.url);
        tokenRequests.push(url);
        let user: string | undefined;
        const header = req.headers.get("authorization");
        if (header?.startsWith("Basic ")) {
          const [u, p] = atob(header.slice(6)).split(":");
          if (users[u] !== p) return new Response("bad credentials", { status: 401 });
          user = u;
        }
        const token = await signToken!(user, url.searchParams.getAll("scope"));
        return Response.json({ token, expires_in: 300, issued_at: new Date().toISOString() });
      },
    );
    authYaml =
      `auth:\n  token:\n    realm: http://127.0.0.1:${tokenPort}/token\n    service: tsnspawn-test-registry\n` +
      `    issuer: tsnspawn-test-issuer\n    rootcertbundle: ${join(dir, "cert.pem")}\n`;
  }
  const config = `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${storage}
  delete:
    enabled: true
http:
  addr: ${domain}
${authYaml}`;
  await Deno.writeTextFile(join(dir, "config.yml"), config);
  const child = new Deno.Command("docker-registry", {
    args: ["serve", join(dir, "config.yml")],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = child.stderr.pipeTo(new WritableStream());
  try {
    await waitListening(`http://${domain}/v2/`);
    const registry: Registry = {
      domain,
      storage,
      users,
      auth,
      tokenRequests,
      blobDataPath: (digest) =>
        join(
          storage,
          "docker/registry/v2/blobs/sha256",
          digest.slice(7, 9),
          digest.slice(7),
          "data",
        ),
      authorization: async (user, scope) => {
        if (auth === "basic") return `Basic ${btoa(`${user}:${users[user]}`)}`;
        if (auth === "token") return `Bearer ${await signToken!(user, [scope])}`;
        return undefined;
      },
    };
    return await fn(registry);
  } finally {
    try {
      child.kill("SIGTERM");
    } catch { /* exited */ }
    await child.status;
    await stderr.catch(() => {});
    await server?.shutdown();
  }
}

// ---------------------------------------------------------------- images

/** A layer to push: tar bytes and how to compress them. */
export interface LayerSpec {
  tar: Uint8Array;
  compression?: "gzip" | "zstd" | "none";
}

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function compress(layer: LayerSpec): Promise<{ blob: Uint8Array; mediaType: string }> {
  switch (layer.compression ?? "gzip") {
    case "none":
      return { blob: layer.tar, mediaType: "application/vnd.oci.image.layer.v1.tar" };
    case "gzip":
      return {
        blob: await gzip(layer.tar),
        mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
      };
    case "zstd": {
      const child = new Deno.Command("zstd", {
        args: ["-q", "-c", "-"],
        stdin: "piped",
        stdout: "piped",
      }).spawn();
      const writer = child.stdin.getWriter();
      await writer.write(layer.tar);
      await writer.close();
      const out = await child.output();
      return { blob: out.stdout, mediaType: "application/vnd.oci.image.layer.v1.tar+zstd" };
    }
  }
}

/** Options of {@link pushRaw}. */
export interface PushRawOptions {
  /** User to authenticate as (auth registries). */
  user?: string;
  /** Docker schema 2 media types instead of OCI. */
  docker?: boolean;
  /** Config fields ("config" section: Cmd, Env...). */
  runConfig?: Record<string, unknown>;
  /** Wrap the manifest in an index with these extra platforms (the real one is linux/amd64). */
  index?: boolean;
}

/** What {@link pushRaw} pushed. */
export interface PushedImage {
  manifestDigest: string;
  configDigest: string;
  layerDigests: string[];
  diffIds: string[];
  indexDigest?: string;
}

/**
 * Pushes an image made of `layers` with plain distribution API calls (no
 * tsnspawn code involved), so tests control every byte.
 */
export async function pushRaw(
  registry: Registry,
  repo: string,
  tag: string,
  layers: LayerSpec[],
  options: PushRawOptions = {},
): Promise<PushedImage> {
  const scope = `repository:${repo}:pull,push`;
  const headers = async (): Promise<Record<string, string>> => {
    const a = options.user ? await registry.authorization(options.user, scope) : undefined;
    return a ? { authorization: a } : {};
  };
  const base = `http://${registry.domain}/v2/${repo}`;
  const putBlob = async (bytes: Uint8Array): Promise<string> => {
    const digest = sha256(bytes);
    const start = await fetch(`${base}/blobs/uploads/`, {
      method: "POST",
      headers: await headers(),
    });
    await start.body?.cancel();
    if (start.status !== 202) throw new Error(`upload start: ${start.status}`);
    const url = new URL(start.headers.get("location")!, `http://${registry.domain}`);
    url.searchParams.set("digest", digest);
    const put = await fetch(url, {
      method: "PUT",
      headers: { ...(await headers()), "content-type": "application/octet-stream" },
      body: bytes as Uint8Array<ArrayBuffer>,
    });
    await put.body?.cancel();
    if (put.status !== 201) throw new Error(`upload ${digest}: ${put.status}`);
    return digest;
  };
  const descriptors = [];
  const diffIds = [];
  for (const layer of layers) {
    const { blob, mediaType } = await compress(layer);
    const digest = await putBlob(blob);
    descriptors.push({
      mediaType: options.docker ? "application/vnd.docker.image.rootfs.diff.tar.gzip" : mediaType,
      digest,
      size: blob.length,
    });
    diffIds.push(sha256(layer.tar));
  }
  const config = {
    created: "2026-01-01T00:00:00Z",
    architecture: "amd64",
    os: "linux",
    config: { Env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["/bin/sh"], ...options.runConfig },
    rootfs: { type: "layers", diff_ids: diffIds },
    history: layers.map(() => ({ created: "2026-01-01T00:00:00Z", created_by: "test" })),
  };
  const configBytes = new TextEncoder().encode(JSON.stringify(config));
  const configDigest = await putBlob(configBytes);
  const manifestType = options.docker
    ? "application/vnd.docker.distribution.manifest.v2+json"
    : "application/vnd.oci.image.manifest.v1+json";
  const manifest = {
    schemaVersion: 2,
    mediaType: manifestType,
    config: {
      mediaType: options.docker
        ? "application/vnd.docker.container.image.v1+json"
        : "application/vnd.oci.image.config.v1+json",
      digest: configDigest,
      size: configBytes.length,
    },
    layers: descriptors,
  };
  const manifestBytes = new TextEncoder().encode(JSON.stringify(manifest));
  const manifestDigest = sha256(manifestBytes);
  const putManifest = async (reference: string, bytes: Uint8Array, type: string) => {
    const r = await fetch(`${base}/manifests/${reference}`, {
      method: "PUT",
      headers: { ...(await headers()), "content-type": type },
      body: bytes as Uint8Array<ArrayBuffer>,
    });
    const text = await r.text();
    if (r.status !== 201) throw new Error(`manifest ${reference}: ${r.status} ${text}`);
  };
  let indexDigest: string | undefined;
  if (options.index) {
    await putManifest(manifestDigest, manifestBytes, manifestType);
    const index = {
      schemaVersion: 2,
      mediaType: options.docker
        ? "application/vnd.docker.distribution.manifest.list.v2+json"
        : "application/vnd.oci.image.index.v1+json",
      manifests: [
        // An arm64 entry pointing at the same manifest: only its platform matters here.
        {
          mediaType: manifestType,
          digest: manifestDigest,
          size: manifestBytes.length,
          platform: { os: "linux", architecture: "arm64", variant: "v8" },
        },
        {
          mediaType: manifestType,
          digest: manifestDigest,
          size: manifestBytes.length,
          platform: { os: "linux", architecture: "amd64" },
        },
      ],
    };
    const indexBytes = new TextEncoder().encode(JSON.stringify(index));
    indexDigest = sha256(indexBytes);
    await putManifest(tag, indexBytes, index.mediaType);
  } else {
    await putManifest(tag, manifestBytes, manifestType);
  }
  return {
    manifestDigest,
    configDigest,
    layerDigests: descriptors.map((d) => d.digest),
    diffIds,
    indexDigest,
  };
}

/** The busybox rootfs tarball (examples/busybox-rootfs.sh), built once per process into `dir`. */
export function busyboxTar(dir: string): Uint8Array {
  const path = join(dir, "busybox-rootfs.tar");
  try {
    return Deno.readFileSync(path);
  } catch {
    sh("sh", [join(REPO, "examples/busybox-rootfs.sh"), path]);
    return Deno.readFileSync(path);
  }
}

/** A layer tar from entries (createTar with sensible defaults: root-owned, mtime fixed). */
export function layerTar(
  entries: { header: TarWriteHeader; data?: string | Uint8Array }[],
): Uint8Array {
  return createTar(entries.map(({ header, data }) => ({
    header: {
      mode: header.type === "dir" ? 0o755 : 0o644,
      mtime: 1_700_000_000,
      ...header,
    },
    data,
  })));
}

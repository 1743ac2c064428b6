import { assert, assertEquals, assertRejects } from "@std/assert";
import { join } from "@std/path";
import { gzipSync } from "node:zlib";
import { TsnspawnError } from "./errors.ts";
import type { LayerDownload } from "./layer_download.ts";
import { LayerWorkers } from "./layer_worker.ts";
import type { OciDescriptor } from "./oci_types.ts";
import { type BlobServer, startBlobServer } from "./testing/blob_server.ts";
import { createTar } from "./tar.ts";

/** 3 MiB that do not compress (getRandomValues fills at most 64 KiB per call). */
const BIG = new Uint8Array(3 << 20);
for (let i = 0; i < BIG.length; i += 65536) crypto.getRandomValues(BIG.subarray(i, i + 65536));

async function withServer(fn: (server: BlobServer, dir: string) => Promise<void>): Promise<void> {
  const server = startBlobServer();
  const dir = await Deno.makeTempDir({ prefix: "tsnspawn-worker-" });
  try {
    await fn(server, dir);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function job(server: BlobServer, dir: string, layer: OciDescriptor, name: string): LayerDownload {
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

Deno.test("one worker takes several layers at once and reports their progress", async () => {
  await withServer(async (server, dir) => {
    const workers = new LayerWorkers(1);
    try {
      const layers = await Promise.all(
        [0, 1, 2].map((i) =>
          server.add(
            new Uint8Array(gzipSync(createTar([
              { header: { path: `f${i}`, type: "file" }, data: `${i}` },
              { header: { path: "big.bin", type: "file" }, data: BIG },
            ]))),
          )
        ),
      );
      const progress: number[][] = [[], [], []];
      const results = await Promise.all(
        layers.map((layer, i) =>
          workers.pull(job(server, dir, layer, `t${i}`), (n) => progress[i].push(n))
        ),
      );
      for (const [i, result] of results.entries()) {
        assertEquals(result.entries, 2);
        assertEquals(Deno.readTextFileSync(join(dir, `t${i}/f${i}`)), `${i}`);
        assertEquals(Deno.readFileSync(join(dir, `t${i}/big.bin`)), BIG);
        assertEquals(progress[i].at(-1), layers[i].size);
        assert(progress[i].every((n, k) => k === 0 || n > progress[i][k - 1]), "increasing");
      }
    } finally {
      workers.close();
    }
  });
});

Deno.test("errors come back from the worker with their code, message and hint", async () => {
  await withServer(async (server, dir) => {
    const workers = new LayerWorkers(2);
    try {
      const evil = await server.add(
        new Uint8Array(gzipSync(createTar([
          { header: { path: "../../evil", type: "file" }, data: "x" },
        ]))),
      );
      const bad = await workers.pull(job(server, dir, evil, "evil")).catch((e) => e);
      assert(bad instanceof TsnspawnError);
      assertEquals(bad.code, "image");
      assert(bad.message.startsWith('layer evil: layer entry "../../evil"'), bad.message);
      assert(bad.hint?.includes("malformed or malicious"), bad.hint);

      const missing = { ...evil, digest: `sha256:${"0".repeat(64)}` };
      const e = await assertRejects(
        () => workers.pull(job(server, dir, missing, "missing")),
        TsnspawnError,
      );
      assertEquals(e.code, "not-found");
      assert(e.message.startsWith(`registry ${server.domain}: blob sha256:000`), e.message);
    } finally {
      workers.close();
    }
  });
});

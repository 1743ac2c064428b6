import { assert, assertEquals, assertRejects } from "@std/assert";
import { join } from "@std/path";
import { gzipSync } from "node:zlib";
import { TsnspawnError } from "../errors.ts";
import { LayerWorkers } from "./layer_worker.ts";
import { layerJob, withBlobServer } from "../testing/blob_server.ts";
import { createTar } from "../image/tar.ts";

/** 3 MiB that do not compress (getRandomValues fills at most 64 KiB per call). */
const BIG = new Uint8Array(3 << 20);
for (let i = 0; i < BIG.length; i += 65536) crypto.getRandomValues(BIG.subarray(i, i + 65536));

Deno.test("one worker takes several layers at once and reports their progress", async () => {
  await withBlobServer(async (server, dir) => {
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
          workers.pull(layerJob(server, dir, layer, `t${i}`), (n) => progress[i].push(n))
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
  await withBlobServer(async (server, dir) => {
    const workers = new LayerWorkers(2);
    try {
      const evil = await server.add(
        new Uint8Array(gzipSync(createTar([
          { header: { path: "../../evil", type: "file" }, data: "x" },
        ]))),
      );
      const bad = await workers.pull(layerJob(server, dir, evil, "evil")).catch((e) => e);
      assert(bad instanceof TsnspawnError);
      assertEquals(bad.code, "image");
      assert(bad.message.startsWith('layer evil: layer entry "../../evil"'), bad.message);
      assert(bad.hint?.includes("malformed or malicious"), bad.hint);

      const missing = { ...evil, digest: `sha256:${"0".repeat(64)}` };
      const e = await assertRejects(
        () => workers.pull(layerJob(server, dir, missing, "missing")),
        TsnspawnError,
      );
      assertEquals(e.code, "not-found");
      assert(e.message.startsWith(`registry ${server.domain}: blob sha256:000`), e.message);
    } finally {
      workers.close();
    }
  });
});

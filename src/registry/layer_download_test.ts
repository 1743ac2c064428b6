import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { join } from "@std/path";
import { gzipSync, zstdCompressSync } from "node:zlib";
import { TsnspawnError } from "../errors.ts";
import { downloadLayer } from "./layer_download.ts";
import { unpackLayer } from "../image/layer_unpack.ts";
import { MEDIA_TYPE_OCI_LAYER } from "../oci/types.ts";
import { MEDIA_TYPE_OCI_LAYER_ZSTD } from "../oci/manifest.ts";
import { layerJob, withBlobServer } from "../testing/blob_server.ts";
import { createTar, type TarWriteHeader } from "../image/tar.ts";
import { lexists } from "../testing/files.ts";

/** 2 MiB that do not compress (getRandomValues fills at most 64 KiB per call). */
const BIG = new Uint8Array(2 << 20);
for (let i = 0; i < BIG.length; i += 65536) crypto.getRandomValues(BIG.subarray(i, i + 65536));

function layerTar(extra: { header: TarWriteHeader; data?: string | Uint8Array }[] = []) {
  return createTar([
    { header: { path: "etc", type: "dir", mode: 0o755 } },
    { header: { path: "etc/hostname", type: "file", mode: 0o644 }, data: "box\n" },
    { header: { path: "big.bin", type: "file", mode: 0o600 }, data: BIG },
    ...extra,
  ]);
}

Deno.test("gzip, zstd and plain layers unpack as from the tar itself; the part file goes", async () => {
  await withBlobServer(async (server, dir) => {
    const tar = layerTar();
    const want = await unpackLayer(ReadableStream.from([tar]), target(dir, "want"));
    const blobs: [string, Uint8Array, string][] = [
      ["gzip", new Uint8Array(gzipSync(tar)), "application/vnd.oci.image.layer.v1.tar+gzip"],
      ["zstd", new Uint8Array(zstdCompressSync(tar)), MEDIA_TYPE_OCI_LAYER_ZSTD],
      ["none", tar, MEDIA_TYPE_OCI_LAYER],
    ];
    for (const [name, blob, mediaType] of blobs) {
      const layer = await server.add(blob, { mediaType });
      const bytes: number[] = [];
      const got = await downloadLayer(layerJob(server, dir, layer, name), (n) => bytes.push(n));
      assertEquals(got, want, name);
      assertEquals(Deno.readFileSync(join(dir, name, "big.bin")), BIG, name);
      assertEquals(bytes.at(-1), blob.length, name);
      assert(!lexists(join(dir, `${name}.part`)), `${name}: the part file is removed`);
    }
  });
});

Deno.test("a part file left by a killed pull is replayed, the rest comes with Range", async () => {
  await withBlobServer(async (server, dir) => {
    const blob = new Uint8Array(gzipSync(layerTar()));
    const layer = await server.add(blob);
    const download = layerJob(server, dir, layer);
    Deno.writeFileSync(download.partPath, blob.subarray(0, 100_000));
    const got = await downloadLayer(download);
    assertEquals(got.size, BIG.length + 4);
    assertEquals(server.ranges, ["bytes=100000-"]);
  });
});

Deno.test("a damaged blob: its digest is the error, not what the decompressor made of it", async () => {
  await withBlobServer(async (server, dir) => {
    const blob = new Uint8Array(gzipSync(layerTar()));
    const damaged = blob.slice();
    damaged.fill(0x55, 1000, 3000);
    const { digest } = await server.add(blob);
    const layer = await server.add(damaged, { digest });
    const e = await assertRejects(() => downloadLayer(layerJob(server, dir, layer)), TsnspawnError);
    assertStringIncludes(e.message, `blob ${layer.digest}: digest mismatch`);
  });
});

Deno.test("an intact but malicious layer: the entry is named, after the context", async () => {
  await withBlobServer(async (server, dir) => {
    const tar = layerTar([{ header: { path: "../../evil", type: "file" }, data: "x" }]);
    const layer = await server.add(new Uint8Array(gzipSync(tar)));
    const download = layerJob(server, dir, layer);
    const e = await assertRejects(() => downloadLayer(download), TsnspawnError);
    assert(e.message.startsWith('layer t: layer entry "../../evil"'), e.message);
    assert(!lexists(join(dir, "evil")) && !lexists(join(dir, "../evil")));
    assert(!lexists(download.partPath), "the blob was read to its end and verified");
  });
});

function target(dir: string, name: string): string {
  const path = join(dir, name);
  Deno.mkdirSync(path);
  return path;
}

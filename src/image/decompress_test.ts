import { assert, assertEquals, assertThrows } from "@std/assert";
import { gzipSync, zstdCompressSync } from "node:zlib";
import { TsnspawnError } from "../errors.ts";
import { createDecoder, decompress } from "./decompress.ts";
import type { Compression } from "../oci/manifest.ts";
import { concatBytes } from "../bytes.ts";

/** Bytes that compress, but not to nothing: 3 MiB of a short-period pattern with noise. */
const DATA = new Uint8Array(3 << 20).map((_, i) => (i % 7919 === 0 ? i >> 8 : i % 97) & 0xff);

function chunks(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.slice(i, i + size));
  return out;
}

/** Decodes `blob` fed in chunks of `size` bytes. */
function decode(compression: Compression, blob: Uint8Array, size: number): Uint8Array {
  const decoder = createDecoder(compression);
  const out: Uint8Array[] = [];
  try {
    for (const chunk of chunks(blob, size)) decoder.push(chunk, (piece) => out.push(piece.slice()));
    decoder.finish();
  } finally {
    decoder.close();
  }
  return concatBytes(out);
}

const COMPRESS: Record<"gzip" | "zstd", (bytes: Uint8Array) => Uint8Array> = {
  gzip: (bytes) => new Uint8Array(gzipSync(bytes)),
  zstd: (bytes) => new Uint8Array(zstdCompressSync(bytes)),
};

for (const compression of ["gzip", "zstd"] as const) {
  Deno.test(`${compression}: any chunking decodes to the same bytes`, () => {
    const blob = COMPRESS[compression](DATA);
    for (const size of [1 << 20, 65536, 4093, 7]) {
      if (size === 7 && blob.length > 200_000) continue; // too slow for a unit test
      assertEquals(decode(compression, blob, size), DATA, `chunks of ${size}`);
    }
    const small = DATA.subarray(0, 150_000);
    assertEquals(decode(compression, COMPRESS[compression](small), 7), small);
  });

  Deno.test(`${compression}: concatenated members/frames are one stream`, () => {
    const [a, b] = [DATA.subarray(0, 1000), DATA.subarray(1000, 300_000)];
    const blob = concatBytes([COMPRESS[compression](a), COMPRESS[compression](b)]);
    assertEquals(decode(compression, blob, 4096), DATA.subarray(0, 300_000));
  });

  Deno.test(`${compression}: truncated or corrupt data fails cleanly`, () => {
    const blob = COMPRESS[compression](DATA);
    const truncated = assertThrows(
      () => decode(compression, blob.subarray(0, blob.length - 10), 65536),
      TsnspawnError,
    );
    assertEquals(truncated.code, "image");
    assert(truncated.message.startsWith(`${compression} data is corrupt`), truncated.message);
    assertThrows(() => decode(compression, new Uint8Array(0), 1), TsnspawnError);
    const garbage = blob.slice();
    garbage.fill(0x55, 20, 2000);
    assertThrows(() => decode(compression, garbage, 65536), TsnspawnError);
  });
}

Deno.test("decompress() as a stream, for consumers that want one", async () => {
  const blob = COMPRESS.gzip(DATA);
  const stream = ReadableStream.from(chunks(blob, 100_000));
  const out = new Uint8Array(await new Response(decompress(stream, "gzip")).arrayBuffer());
  assertEquals(out, DATA);
  const plain = ReadableStream.from(chunks(DATA, 100_000));
  assertEquals(new Uint8Array(await new Response(decompress(plain, "none")).arrayBuffer()), DATA);
});

/**
 * Layer blobs to tar bytes (effects: FFI to zlib and libzstd).
 *
 * A `Decoder` takes the compressed bytes chunk by chunk and hands out the
 * decompressed bytes synchronously, from one reused buffer, so the layer
 * unpacker hashes, parses and writes them without a copy, a stream or a
 * promise in between. gzip goes through zlib (`libz.so.1`, essential in
 * Debian), zstd through libzstd (`libzstd.so.1`, a pre-dependency of
 * Debian's systemd): both decode several times faster than Deno's
 * `DecompressionStream`, which has no zstd at all. Concatenated gzip members
 * and zstd frames are read as one stream, like Go's readers do. Media types
 * → compression: oci/manifest.ts.
 *
 * References: zlib.h (inflateInit2, inflate, inflateReset, inflateEnd);
 * zstd.h ("Streaming decompression").
 */
import { addressOf } from "../../ffi/libc.ts";
import { TsnspawnError } from "../errors.ts";
import type { Compression } from "../oci/manifest.ts";

/** Decompresses a stream given in chunks (see the module comment). */
export interface Decoder {
  /** Decodes `chunk`; `out` gets the output in pieces valid only until it returns. */
  push(chunk: Uint8Array, out: (piece: Uint8Array) => void): void;
  /** The input ended: throws unless the compressed data was complete; frees the decoder. */
  finish(): void;
  /** Frees the decoder (after a failure; a no-op after `finish`). */
  close(): void;
}

/** Output buffer size: large writes, few calls. */
const OUT_SIZE = 256 * 1024;

function corrupt(format: string, why: string): TsnspawnError {
  return new TsnspawnError("image", `${format} data is corrupt: ${why}`, {
    hint: "the layer blob is damaged or malformed",
  });
}

// ------------------------------------------------------------------ gzip

const ZLIB = {
  // const char *zlibVersion(void);
  zlibVersion: { parameters: [], result: "pointer" },
  // int inflateInit2_(z_streamp strm, int windowBits, const char *version, int stream_size);
  inflateInit2_: { parameters: ["buffer", "i32", "buffer", "i32"], result: "i32" },
  // int inflate(z_streamp strm, int flush);
  inflate: { parameters: ["buffer", "i32"], result: "i32" },
  // int inflateReset(z_streamp strm);
  inflateReset: { parameters: ["buffer"], result: "i32" },
  // int inflateEnd(z_streamp strm);
  inflateEnd: { parameters: ["buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

let zlib: Deno.DynamicLibrary<typeof ZLIB>["symbols"] | undefined;

const Z_OK = 0;
const Z_STREAM_END = 1;
const Z_BUF_ERROR = -5;
/** windowBits: 15 (32 KiB window) + 16 (gzip wrapper, not zlib's). */
const GZIP_WINDOW_BITS = 15 + 16;
/** sizeof(z_stream) and its fields' offsets on x86_64 (zlib.h). */
const Z_STREAM_SIZE = 112;
const NEXT_IN = 0;
const AVAIL_IN = 8;
const NEXT_OUT = 24;
const AVAIL_OUT = 32;
const MSG = 48;

class GzipDecoder implements Decoder {
  readonly #lib = zlib ??= Deno.dlopen("libz.so.1", ZLIB).symbols;
  // zlib's state points back at the z_stream, so it must never move: an
  // ArrayBuffer's memory does not (V8 moves only small on-heap typed arrays).
  readonly #stream = new Uint8Array(new ArrayBuffer(Z_STREAM_SIZE));
  readonly #fields = new DataView(this.#stream.buffer);
  readonly #out = new Uint8Array(new ArrayBuffer(OUT_SIZE));
  #open = false;
  /** A gzip member just ended; more input starts another. */
  #memberEnded = false;

  constructor() {
    const lib = this.#lib;
    const version = `${Deno.UnsafePointerView.getCString(lib.zlibVersion()!)}\0`;
    const result = lib.inflateInit2_(
      this.#stream,
      GZIP_WINDOW_BITS,
      new TextEncoder().encode(version),
      Z_STREAM_SIZE,
    );
    if (result !== Z_OK) throw corrupt("gzip", `inflateInit2 failed (${result})`);
    this.#open = true;
  }

  push(chunk: Uint8Array, out: (piece: Uint8Array) => void): void {
    const fields = this.#fields;
    let input = chunk;
    for (;;) {
      if (this.#memberEnded) {
        if (input.length === 0) return;
        this.#lib.inflateReset(this.#stream); // the next member of a multi-member file
        this.#memberEnded = false;
      }
      // The pointers are set before every call: V8 may move `input` between calls.
      fields.setBigUint64(NEXT_IN, addressOf(input), true);
      fields.setUint32(AVAIL_IN, input.length, true);
      fields.setBigUint64(NEXT_OUT, addressOf(this.#out), true);
      fields.setUint32(AVAIL_OUT, OUT_SIZE, true);
      const result = this.#lib.inflate(this.#stream, 0);
      const produced = OUT_SIZE - fields.getUint32(AVAIL_OUT, true);
      input = input.subarray(input.length - fields.getUint32(AVAIL_IN, true));
      if (produced > 0) out(this.#out.subarray(0, produced));
      if (result === Z_STREAM_END) {
        this.#memberEnded = true;
      } else if (result === Z_BUF_ERROR || (result === Z_OK && input.length === 0)) {
        // Needs more input, unless the output buffer was full (more is pending).
        if (produced < OUT_SIZE) return;
      } else if (result !== Z_OK) {
        const message = fields.getBigUint64(MSG, true);
        throw corrupt(
          "gzip",
          message === 0n
            ? `inflate failed (${result})`
            : Deno.UnsafePointerView.getCString(Deno.UnsafePointer.create(message)!),
        );
      }
    }
  }

  finish(): void {
    const complete = this.#memberEnded;
    this.close();
    if (!complete) throw corrupt("gzip", "unexpected end of data");
  }

  close(): void {
    if (this.#open) this.#lib.inflateEnd(this.#stream);
    this.#open = false;
  }
}

// ------------------------------------------------------------------ zstd

const ZSTD = {
  // ZSTD_DStream *ZSTD_createDStream(void);
  ZSTD_createDStream: { parameters: [], result: "pointer" },
  // size_t ZSTD_freeDStream(ZSTD_DStream *zds);
  ZSTD_freeDStream: { parameters: ["pointer"], result: "usize" },
  // size_t ZSTD_decompressStream(ZSTD_DStream *zds, ZSTD_outBuffer *output, ZSTD_inBuffer *input);
  ZSTD_decompressStream: { parameters: ["pointer", "buffer", "buffer"], result: "usize" },
  // unsigned ZSTD_isError(size_t code);
  ZSTD_isError: { parameters: ["usize"], result: "u32" },
  // const char *ZSTD_getErrorName(size_t code);
  ZSTD_getErrorName: { parameters: ["usize"], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

let zstd: Deno.DynamicLibrary<typeof ZSTD>["symbols"] | undefined;

class ZstdDecoder implements Decoder {
  readonly #lib = zstd ??= Deno.dlopen("libzstd.so.1", ZSTD).symbols;
  #stream: Deno.PointerObject | null;
  /** ZSTD_inBuffer and ZSTD_outBuffer: { pointer, size, pos }, 8 bytes each. */
  readonly #in = new DataView(new ArrayBuffer(24));
  readonly #outFields = new DataView(new ArrayBuffer(24));
  readonly #out = new Uint8Array(new ArrayBuffer(OUT_SIZE));
  /** The last call's hint: 0 when a frame was completely decoded and flushed. */
  #pending = 1n;

  constructor() {
    this.#stream = this.#lib.ZSTD_createDStream();
    if (this.#stream === null) throw corrupt("zstd", "ZSTD_createDStream failed");
  }

  push(chunk: Uint8Array, out: (piece: Uint8Array) => void): void {
    const lib = this.#lib;
    const input = this.#in;
    const output = this.#outFields;
    input.setBigUint64(8, BigInt(chunk.length), true);
    input.setBigUint64(16, 0n, true);
    for (;;) {
      // The pointers are set before every call: V8 may move `chunk` between calls.
      input.setBigUint64(0, addressOf(chunk), true);
      output.setBigUint64(0, addressOf(this.#out), true);
      output.setBigUint64(8, BigInt(OUT_SIZE), true);
      output.setBigUint64(16, 0n, true);
      const result = BigInt(lib.ZSTD_decompressStream(this.#stream, output, input));
      if (lib.ZSTD_isError(result)) {
        throw corrupt("zstd", Deno.UnsafePointerView.getCString(lib.ZSTD_getErrorName(result)!));
      }
      this.#pending = result;
      const produced = Number(output.getBigUint64(16, true));
      if (produced > 0) out(this.#out.subarray(0, produced));
      // Done with the chunk once it is consumed and nothing is left to flush
      // (a full output buffer may hide more, unless the frame just ended).
      const consumedAll = input.getBigUint64(16, true) === BigInt(chunk.length);
      if (consumedAll && (produced < OUT_SIZE || result === 0n)) return;
    }
  }

  finish(): void {
    const complete = this.#pending === 0n;
    this.close();
    if (!complete) throw corrupt("zstd", "unexpected end of data");
  }

  close(): void {
    if (this.#stream !== null) this.#lib.ZSTD_freeDStream(this.#stream);
    this.#stream = null;
  }
}

// ------------------------------------------------------------------ uncompressed

const PLAIN: Decoder = {
  push: (chunk, out) => out(chunk),
  finish: () => {},
  close: () => {},
};

/** A decoder for `compression`; `finish` or `close` it. */
export function createDecoder(compression: Compression): Decoder {
  switch (compression) {
    case "none":
      return PLAIN;
    case "gzip":
      return new GzipDecoder();
    case "zstd":
      return new ZstdDecoder();
  }
}

/** Turns a compressed blob stream into the tar stream (for consumers that want a stream). */
export function decompress(
  stream: ReadableStream<Uint8Array>,
  compression: Compression,
): ReadableStream<Uint8Array> {
  if (compression === "none") return stream;
  const reader = stream.getReader();
  let decoder: Decoder | undefined;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        decoder ??= createDecoder(compression);
        const { done, value } = await reader.read();
        if (done) {
          decoder.finish();
          controller.close();
        } else {
          decoder.push(value, (piece) => controller.enqueue(piece.slice()));
        }
      } catch (e) {
        decoder?.close();
        await reader.cancel(e).catch(() => {});
        controller.error(e);
      }
    },
    async cancel(reason) {
      decoder?.close();
      await reader.cancel(reason);
    },
  });
}

/**
 * sha256 content digests ("sha256:<hex>", image-spec descriptor.md "Digests").
 *
 * Whole buffers (manifests, configs) go through WebCrypto. Streams (layer
 * blobs, layer tars) need an incremental hash, which WebCrypto lacks: they
 * use libcrypto's EVP interface through FFI (OpenSSL 3; libssl3 is a
 * pre-dependency of Debian's systemd package, so it is always there). It is
 * as fast as `node:crypto` (SHA extensions), but `node:crypto` would load
 * Deno's Node compatibility layer, ~20 ms per thread that hashes.
 *
 * Man pages: EVP_DigestInit(3ssl).
 */

const SYMBOLS = {
  // EVP_MD_CTX *EVP_MD_CTX_new(void);
  EVP_MD_CTX_new: { parameters: [], result: "pointer" },
  // void EVP_MD_CTX_free(EVP_MD_CTX *ctx);
  EVP_MD_CTX_free: { parameters: ["pointer"], result: "void" },
  // const EVP_MD *EVP_sha256(void);
  EVP_sha256: { parameters: [], result: "pointer" },
  // int EVP_DigestInit_ex(EVP_MD_CTX *ctx, const EVP_MD *type, ENGINE *impl);
  EVP_DigestInit_ex: { parameters: ["pointer", "pointer", "pointer"], result: "i32" },
  // int EVP_DigestUpdate(EVP_MD_CTX *ctx, const void *d, size_t cnt);
  EVP_DigestUpdate: { parameters: ["pointer", "buffer", "usize"], result: "i32" },
  // int EVP_DigestFinal_ex(EVP_MD_CTX *ctx, unsigned char *md, unsigned int *s);
  EVP_DigestFinal_ex: { parameters: ["pointer", "buffer", "pointer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

let symbols: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] | undefined;
function libcrypto() {
  symbols ??= Deno.dlopen("libcrypto.so.3", SYMBOLS).symbols;
  return symbols;
}

/** An incremental sha256. */
export interface StreamingHash {
  update(chunk: Uint8Array): void;
  /** "sha256:<hex>" of everything given to `update`; call it once, last. */
  digest(): string;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function checkEvp(call: string, result: number): void {
  if (result !== 1) throw new Error(`libcrypto: ${call} failed`);
}

/** "sha256:<hex>" of `bytes`. */
export async function sha256Digest(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return `sha256:${hex(new Uint8Array(digest))}`;
}

/** "sha256:<hex>" of `bytes`, synchronously. */
export function sha256DigestSync(bytes: Uint8Array): string {
  const hash = createSha256();
  hash.update(bytes);
  return hash.digest();
}

/** Frees the native context of a hash dropped before its digest (a failed download). */
const abandoned = new FinalizationRegistry<Deno.PointerObject>((context) =>
  libcrypto().EVP_MD_CTX_free(context)
);

/** A new incremental sha256. */
export function createSha256(): StreamingHash {
  const lib = libcrypto();
  let context: Deno.PointerObject | null = lib.EVP_MD_CTX_new();
  if (context === null) throw new Error("libcrypto: EVP_MD_CTX_new failed");
  checkEvp("EVP_DigestInit_ex", lib.EVP_DigestInit_ex(context, lib.EVP_sha256(), null));
  const live = () => {
    if (context === null) throw new Error("sha256: used after digest()");
    return context;
  };
  const hash: StreamingHash = {
    update(chunk) {
      const data = chunk as Uint8Array<ArrayBuffer>;
      checkEvp("EVP_DigestUpdate", lib.EVP_DigestUpdate(live(), data, BigInt(data.length)));
    },
    digest() {
      const md = new Uint8Array(32);
      const done = live();
      abandoned.unregister(hash);
      context = null;
      try {
        checkEvp("EVP_DigestFinal_ex", lib.EVP_DigestFinal_ex(done, md, null));
      } finally {
        lib.EVP_MD_CTX_free(done);
      }
      return `sha256:${hex(md)}`;
    },
  };
  abandoned.register(hash, context, hash);
  return hash;
}

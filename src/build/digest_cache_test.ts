import { assertEquals } from "@std/assert";
import { join } from "@std/path";
import { DigestCache, fileIdentity, MIN_SIZE } from "./digest_cache.ts";

Deno.test("remembered digests: only unchanged, big, not-just-written files", () => {
  const dir = Deno.makeTempDirSync({ prefix: "digest-cache-" });
  try {
    const file = join(dir, "big.bin");
    Deno.writeFileSync(file, new Uint8Array(MIN_SIZE));
    const st = Deno.statSync(file);
    const store = join(dir, "file-digests.json");
    const cache = DigestCache.load(store);
    // Hashed right after it was written: racy, not remembered.
    cache.record(st, "sha256:a", st.ctime!.getTime() + 500);
    assertEquals(cache.lookup(st), undefined);
    // Hashed well after its last change: remembered, and kept across loads.
    cache.record(st, "sha256:b", st.ctime!.getTime() + 5000);
    assertEquals(cache.lookup(st), "sha256:b");
    cache.save();
    assertEquals(DigestCache.load(store).lookup(st), "sha256:b");
    // Any write moves the change time: the old entry no longer matches.
    Deno.writeFileSync(file, new Uint8Array(MIN_SIZE).fill(1));
    const changed = Deno.statSync(file);
    if (fileIdentity(changed) !== fileIdentity(st)) {
      assertEquals(DigestCache.load(store).lookup(changed), undefined);
    }
    // Small files are always hashed.
    const small = join(dir, "small");
    Deno.writeTextFileSync(small, "x");
    const sst = Deno.statSync(small);
    cache.record(sst, "sha256:c", sst.ctime!.getTime() + 5000);
    assertEquals(cache.lookup(sst), undefined);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

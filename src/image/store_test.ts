/**
 * Image store tests. Root only: they mount a tmpfs as TSNSPAWN_ROOT and build
 * a busybox rootfs from Debian's busybox-static (`apt-get install -y
 * busybox-static`).
 */
import { assert, assertEquals, assertNotEquals, assertRejects, assertThrows } from "@std/assert";
import { join } from "@std/path";
import { TsnspawnError } from "../errors.ts";
import {
  importRootfsTarball,
  isAncestorConfig,
  listImages,
  pruneImages,
  removeImage,
  resolveImage,
  storePaths,
  tagImage,
} from "./store.ts";
import { createTar } from "./tar.ts";
import type { OciImageConfig } from "../oci/types.ts";

const BUSYBOX = ["/bin/busybox", "/usr/bin/busybox"].find((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});

function run(cmd: string, ...args: string[]): string {
  const out = new Deno.Command(cmd, { args }).outputSync();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

interface Fixture {
  dir: string;
  tarGz: string;
  tar: string;
}

/** A tmpfs as TSNSPAWN_ROOT with busybox rootfs tarballs (plain and gzip) next to it. */
async function withStore(fn: (f: Fixture) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tsnspawn-store-" });
  run("mount", "-t", "tmpfs", "tmpfs", dir);
  const previous = Deno.env.get("TSNSPAWN_ROOT");
  try {
    const rootfs = join(dir, "rootfs");
    for (const d of ["bin", "sbin", "usr/bin", "usr/sbin", "tmp"]) {
      await Deno.mkdir(join(rootfs, d), { recursive: true });
    }
    await Deno.chmod(join(rootfs, "tmp"), 0o1777);
    await Deno.copyFile(BUSYBOX!, join(rootfs, "bin/busybox"));
    await Deno.chmod(join(rootfs, "bin/busybox"), 0o755);
    run("chroot", rootfs, "/bin/busybox", "--install", "-s");
    const tar = join(dir, "rootfs.tar");
    const tarGz = join(dir, "rootfs.tar.gz");
    run("tar", "--numeric-owner", "-C", rootfs, "-cf", tar, ".");
    run("tar", "--numeric-owner", "-C", rootfs, "-czf", tarGz, ".");
    Deno.env.set("TSNSPAWN_ROOT", join(dir, "root"));
    await fn({ dir, tar, tarGz });
  } finally {
    if (previous === undefined) Deno.env.delete("TSNSPAWN_ROOT");
    else Deno.env.set("TSNSPAWN_ROOT", previous);
    // Lazy: a mount still busy (a test's open file) must not outlive the run.
    run("umount", "-l", dir);
    await Deno.remove(dir, { recursive: true });
  }
}

function names(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  } catch {
    return [];
  }
}

const opts = { ignore: Deno.uid() !== 0 || BUSYBOX === undefined };

Deno.test({
  name: "import a busybox rootfs, resolve it, run it, list it",
  ...opts,
  fn: () =>
    withStore(async ({ tarGz, tar }) => {
      const id = await importRootfsTarball(tarGz, "busybox", { env: ["FOO=bar"] });
      assert(/^sha256:[a-f0-9]{64}$/.test(id));
      const image = resolveImage("busybox");
      assertEquals(image.reference, "docker.io/library/busybox:latest");
      assertEquals(image.id, id);
      assertEquals(image.config.os, "linux");
      assertEquals(image.config.config?.Cmd, ["/bin/sh"]);
      assertEquals(image.config.config?.Env, [
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "FOO=bar",
      ]);
      assertEquals(image.lowerDirs.length, 1);
      const [diff] = image.lowerDirs;
      const diffId = image.config.rootfs.diff_ids[0];
      assertEquals(diff, join(storePaths().layers, diffId.slice(7), "diff"));
      // The layer blob is the uncompressed tar: its digest is the diff_id.
      assertEquals(
        await Deno.readFile(join(storePaths().blobs, diffId.slice(7))),
        await Deno.readFile(tar),
      );
      // The unpacked tree.
      assertEquals(Deno.statSync(join(diff, "bin/busybox")).mode! & 0o7777, 0o755);
      assertEquals(Deno.readLinkSync(join(diff, "bin/sh")), "/bin/busybox");
      assertEquals(Deno.statSync(join(diff, "tmp")).mode! & 0o7777, 0o1777);
      assertEquals(
        run("chroot", diff, "/bin/sh", "-c", "echo hello from $(basename $0)").trim(),
        "hello from sh",
      );
      // Other ways to name it.
      assertEquals(resolveImage(id).id, id);
      assertEquals(resolveImage(id.slice(7, 19)).id, id);
      assertEquals(resolveImage("docker.io/library/busybox:latest").id, id);
      assertEquals(resolveImage(`busybox@${image.manifestDigest}`).id, id);
      const rows = listImages();
      assertEquals(rows.length, 1);
      assertEquals([rows[0].repository, rows[0].tag, rows[0].id], ["busybox", "latest", id]);
      assert(rows[0].size > 500_000, `size ${rows[0].size}`);
      // Not found.
      const e = assertThrows(() => resolveImage("alpine"), TsnspawnError);
      assertEquals([e.code, e.message], ["not-found", "image alpine: not found"]);
      assert(e.hint?.includes("tsnspawn import"));
    }),
});

Deno.test({
  name: "importing twice shares the layer; remove deletes only what nothing uses",
  ...opts,
  fn: () =>
    withStore(async ({ tarGz, tar }) => {
      const a = await importRootfsTarball(tarGz, "busybox");
      const b = await importRootfsTarball(tar, "localhost:5000/tools/bb:1.0", {
        cmd: ["/bin/ls"],
        workingDir: "/tmp",
      });
      assertNotEquals(a, b);
      const p = storePaths();
      assertEquals(names(p.layers).length, 1);
      assertEquals(
        resolveImage("localhost:5000/tools/bb:1.0").lowerDirs,
        resolveImage("busybox").lowerDirs,
      );
      assertEquals(resolveImage("localhost:5000/tools/bb:1.0").config.config?.WorkingDir, "/tmp");
      assertEquals(listImages().map((r) => r.repository).sort(), [
        "busybox",
        "localhost:5000/tools/bb",
      ]);

      const r1 = await removeImage("localhost:5000/tools/bb:1.0");
      assertEquals(r1.untagged, ["localhost:5000/tools/bb:1.0"]);
      assertEquals(names(p.layers).length, 1, "layer still used by busybox");
      assertEquals(r1.deleted.length, 2, "its manifest and config");
      await removeImage("busybox");
      assertEquals(names(p.layers), []);
      assertEquals(names(p.blobs), []);
      assertEquals(listImages(), []);
      assertEquals(names(join(Deno.env.get("TSNSPAWN_ROOT")!, "tmp")), []);
      const e = await assertRejects(() => removeImage("busybox"), TsnspawnError);
      assertEquals(e.code, "not-found");
    }),
});

Deno.test({
  name: "tags, removal by id, images in use",
  ...opts,
  fn: () =>
    withStore(async ({ tar }) => {
      const id = await importRootfsTarball(tar, "busybox");
      assertEquals(await tagImage("busybox", "mine/bb:v1"), "docker.io/mine/bb:v1");
      assertEquals(resolveImage("mine/bb:v1").id, id);
      let e = await assertRejects(() => removeImage(id.slice(7, 15)), TsnspawnError);
      assertEquals(e.code, "conflict");
      await removeImage("mine/bb:v1");
      e = await assertRejects(
        () => removeImage("busybox", { isInUse: (x) => x === id }),
        TsnspawnError,
      );
      assertEquals(e.code, "conflict");
      assert(e.message.includes("in use"));
      // --force while in use: untagged, content kept.
      await removeImage("busybox", { force: true, isInUse: () => true });
      assertThrows(() => resolveImage("busybox"), TsnspawnError);
      const kept = resolveImage(id);
      assertEquals(kept.reference, undefined);
      assert(Deno.statSync(kept.lowerDirs[0]).isDirectory);
      assertEquals(listImages().map((r) => [r.repository, r.tag]), [["<none>", "<none>"]]);
      assertEquals(await pruneImages(() => true), []);
      assert((await pruneImages(() => false)).length >= 3);
      assertEquals(names(storePaths().layers), []);
      // Tag by id, and --force on several tags.
      const id2 = await importRootfsTarball(tar, "a");
      await tagImage(id2, "b");
      await removeImage(id2, { force: true });
      assertEquals(listImages(), []);
    }),
});

Deno.test({
  name: "concurrent imports of the same tarball both succeed",
  ...opts,
  fn: () =>
    withStore(async ({ tar, tarGz }) => {
      const ids = await Promise.all([
        importRootfsTarball(tar, "one"),
        importRootfsTarball(tarGz, "two"),
        importRootfsTarball(tar, "three"),
      ]);
      assertEquals(ids.map((id) => resolveImage(id).id), ids);
      assertEquals(names(storePaths().layers).length, 1);
      assertEquals(listImages().length, 3);
      for (const name of ["one", "two", "three"]) {
        assertEquals(
          Deno.readLinkSync(join(resolveImage(name).lowerDirs[0], "bin/ls")),
          "/bin/busybox",
        );
      }
      // And from separate processes (real flock contention).
      const code = `import { importRootfsTarball } from "${new URL(
        "./store.ts",
        import.meta.url,
      )}";
        await importRootfsTarball(Deno.args[0], Deno.args[1]);`;
      const deno = Deno.execPath();
      const children = ["p1", "p2", "p3"].map((name) =>
        new Deno.Command(deno, { args: ["eval", "--quiet", code, tar, name], stderr: "piped" })
          .output()
      );
      for (const out of await Promise.all(children)) {
        assert(out.success, new TextDecoder().decode(out.stderr));
      }
      assertEquals(listImages().length, 6);
      assertEquals(names(storePaths().layers).length, 1);
    }),
});

Deno.test({
  name: "a crash after the unpack leaves no partial layer or tag",
  ...opts,
  fn: () =>
    withStore(async ({ tar, dir }) => {
      const e = await assertRejects(
        () =>
          importRootfsTarball(tar, "busybox", {
            afterUnpack: () => {
              throw new Error("simulated crash");
            },
          }),
        Error,
      );
      assertEquals(e.message, "simulated crash");
      assertEquals(names(storePaths().layers), []);
      assertEquals(names(storePaths().blobs), []);
      assertEquals(listImages(), []);
      assertEquals(names(join(Deno.env.get("TSNSPAWN_ROOT")!, "tmp")), []);
      // Malicious and broken tarballs are refused the same way.
      const evil = join(dir, "evil.tar");
      await Deno.writeFile(
        evil,
        createTar([{ header: { path: "../../etc/x", type: "file" }, data: "x" }]),
      );
      const bad = await assertRejects(() => importRootfsTarball(evil, "evil"), TsnspawnError);
      assertEquals(bad.code, "image");
      assert(bad.message.includes("escapes the layer root"), bad.message);
      const truncated = join(dir, "truncated.tar");
      await Deno.writeFile(truncated, (await Deno.readFile(tar)).slice(0, 100_000));
      const t = await assertRejects(() => importRootfsTarball(truncated, "t"), TsnspawnError);
      assert(t.message.includes("unexpected end of archive"), t.message);
      const missing = await assertRejects(
        () => importRootfsTarball(join(dir, "nope.tar"), "x"),
        TsnspawnError,
      );
      assertEquals(missing.code, "not-found");
      const xz = join(dir, "x.tar.xz");
      await Deno.writeFile(xz, new Uint8Array([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0, 0, 0]));
      assertEquals(
        (await assertRejects(() => importRootfsTarball(xz, "x"), TsnspawnError)).code,
        "invalid",
      );
      assertEquals(
        (await assertRejects(() => importRootfsTarball(tar, "Bad"), TsnspawnError)).code,
        "invalid",
      );
      assertEquals(names(storePaths().layers), []);
      assertEquals(listImages(), []);
    }),
});

Deno.test("isAncestorConfig: a build step's image is an ancestor of the images built on it", () => {
  const history = (n: number) =>
    Array.from(
      { length: n },
      (_, i) => ({ created: `2026-01-0${i + 1}T00:00:00Z`, created_by: `step ${i}` }),
    );
  const config = (layers: string[], steps: number): OciImageConfig => ({
    architecture: "amd64",
    os: "linux",
    rootfs: { type: "layers", diff_ids: layers },
    history: history(steps),
  });
  const base = config(["sha256:a"], 1);
  const final = config(["sha256:a", "sha256:b"], 3);
  assertEquals(isAncestorConfig(base, final), true);
  assertEquals(isAncestorConfig(config(["sha256:a"], 2), final), true, "a metadata step");
  assertEquals(isAncestorConfig(final, final), true);
  assertEquals(isAncestorConfig(final, base), false);
  assertEquals(isAncestorConfig(config(["sha256:c"], 1), final), false);
  const other = config(["sha256:a"], 2);
  other.history![1].created_by = "another step";
  assertEquals(isAncestorConfig(other, final), false);
});

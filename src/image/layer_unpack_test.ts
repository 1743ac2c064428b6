import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { join } from "@std/path";
import { TsnspawnError } from "../errors.ts";
import { normalizeEntryPath, unpackLayer } from "./layer_unpack.ts";
import { createTar, type TarWriteHeader } from "./tar.ts";
import { lexists } from "../testing/files.ts";

type Entry = { header: TarWriteHeader; data?: string };

function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new Blob([bytes as Uint8Array<ArrayBuffer>]).stream();
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tsnspawn-unpack-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function unpack(dir: string, name: string, entries: Entry[]) {
  const target = join(dir, name);
  await Deno.mkdir(target);
  const result = await unpackLayer(streamOf(createTar(entries)), target);
  return { target, result };
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function getxattr(path: string, name: string): string {
  const script =
    "import os,sys; sys.stdout.buffer.write(os.getxattr(sys.argv[1], sys.argv[2], follow_symlinks=False))";
  const out = new Deno.Command("python3", { args: ["-c", script, path, name] }).outputSync();
  if (!out.success) return "";
  return new TextDecoder().decode(out.stdout);
}

Deno.test("normalizeEntryPath confines paths to the root", () => {
  assertEquals(normalizeEntryPath("./a/b/"), ["a", "b"]);
  assertEquals(normalizeEntryPath("/abs//x/./y"), ["abs", "x", "y"]);
  assertEquals(normalizeEntryPath("a/../b"), ["b"]);
  assertEquals(normalizeEntryPath("./"), []);
  for (const bad of ["..", "../x", "a/../../x", "/../etc/passwd"]) {
    const e = assertThrows(() => normalizeEntryPath(bad), TsnspawnError);
    assert(e.message.includes("escapes the layer root"), e.message);
  }
});

Deno.test("path traversal is refused, absolute paths land inside", async () => {
  await withDir(async (dir) => {
    for (const path of ["../evil", "a/../../evil"]) {
      const e = await assertRejects(
        () => unpack(dir, `t${path.length}`, [{ header: { path, type: "file" }, data: "x" }]),
        TsnspawnError,
      );
      assert(e.message.includes("escapes the layer root"), e.message);
    }
    assert(!lexists(join(dir, "evil")));
    const { target } = await unpack(dir, "abs", [{
      header: { path: "/etc/passwd", type: "file", mode: 0o644 },
      data: "root",
    }]);
    assertEquals(await Deno.readTextFile(join(target, "etc/passwd")), "root");
  });
});

Deno.test("nothing is written through a symlink", async () => {
  await withDir(async (dir) => {
    const outside = join(dir, "outside");
    await Deno.mkdir(outside);
    await Deno.writeTextFile(join(outside, "keep"), "original");
    const cases: Entry[][] = [
      [{ header: { path: "link", type: "symlink", linkname: outside } }, {
        header: { path: "link/evil", type: "file" },
        data: "x",
      }],
      [{ header: { path: "up", type: "symlink", linkname: "../outside" } }, {
        header: { path: "up/evil", type: "file" },
        data: "x",
      }],
      [{ header: { path: "d", type: "symlink", linkname: outside } }, {
        header: { path: "d/x/y", type: "dir" },
      }],
    ];
    for (const [i, entries] of cases.entries()) {
      const e = await assertRejects(() => unpack(dir, `case${i}`, entries), TsnspawnError);
      assert(e.message.includes("refusing to write through it"), e.message);
    }
    assertEquals([...Deno.readDirSync(outside)].map((e) => e.name), ["keep"]);
    // A later file entry replaces a symlink instead of following it.
    const { target } = await unpack(dir, "replace", [
      { header: { path: "f", type: "symlink", linkname: join(outside, "keep") } },
      { header: { path: "f", type: "file", mode: 0o644 }, data: "new" },
    ]);
    assertEquals(await Deno.readTextFile(join(outside, "keep")), "original");
    assertEquals(await Deno.readTextFile(join(target, "f")), "new");
    assert(!Deno.lstatSync(join(target, "f")).isSymlink);
    // symlinks themselves may point anywhere
    const { target: t2 } = await unpack(dir, "anywhere", [{
      header: { path: "l", type: "symlink", linkname: "/etc/shadow" },
    }]);
    assertEquals(Deno.readLinkSync(join(t2, "l")), "/etc/shadow");
  });
});

Deno.test("hard links must target an earlier entry of the layer", async () => {
  await withDir(async (dir) => {
    for (const [i, linkname] of ["/etc/passwd", "../x", "later"].entries()) {
      const e = await assertRejects(
        () =>
          unpack(dir, `h${i}`, [
            { header: { path: "h", type: "hardlink", linkname } },
            { header: { path: "later", type: "file" }, data: "x" },
          ]),
        TsnspawnError,
      );
      assert(/not an earlier entry|escapes/.test(e.message), e.message);
    }
    // A link whose target's directory was later replaced by a symlink is refused.
    const e = await assertRejects(
      () =>
        unpack(dir, "hs", [
          { header: { path: "d/f", type: "file" }, data: "x" },
          { header: { path: "d", type: "symlink", linkname: "/etc" } },
          { header: { path: "h", type: "hardlink", linkname: "d/f" } },
        ]),
      TsnspawnError,
    );
    assert(e.message.includes("refusing to write through it"), e.message);
    const { target } = await unpack(dir, "ok", [
      { header: { path: "a/file", type: "file", mode: 0o640 }, data: "shared" },
      { header: { path: "b/link", type: "hardlink", linkname: "./a/file" } },
    ]);
    assertEquals(
      Deno.statSync(join(target, "a/file")).ino,
      Deno.statSync(join(target, "b/link")).ino,
    );
    assertEquals(Deno.statSync(join(target, "a/file")).nlink, 2);
  });
});

Deno.test("metadata: modes incl. setuid, ownership, mtimes, devices, fifos, xattrs, long names, PAX", async () => {
  await withDir(async (dir) => {
    const long = `${"n".repeat(150)}/${"m".repeat(150)}`;
    const { target, result } = await unpack(dir, "meta", [
      { header: { path: "./", type: "dir", mode: 0o755, uid: 0, gid: 0, mtime: 100 } },
      { header: { path: "bin", type: "dir", mode: 0o711, uid: 1, gid: 2, mtime: 5000 } },
      {
        header: { path: "bin/su", type: "file", mode: 0o4755, uid: 0, gid: 0, mtime: 1700000000 },
        data: "su",
      },
      {
        header: { path: "bin/sg", type: "file", mode: 0o2755, uid: 1000, gid: 1001, mtime: 1 },
        data: "",
      },
      { header: { path: "tmp", type: "dir", mode: 0o1777 } },
      {
        header: {
          path: "bin/sh",
          type: "symlink",
          linkname: "busybox",
          uid: 7,
          gid: 8,
          mtime: 123,
        },
      },
      { header: { path: "dev/null", type: "char", mode: 0o666, devmajor: 1, devminor: 3 } },
      {
        header: { path: "dev/loop0", type: "block", mode: 0o660, devmajor: 7, devminor: 0, gid: 6 },
      },
      { header: { path: "dev/big", type: "char", mode: 0o600, devmajor: 300, devminor: 70000 } },
      { header: { path: "run/fifo", type: "fifo", mode: 0o620 } },
      {
        header: { path: long, type: "file", mode: 0o600, uid: 3000000, gid: 3000001 },
        data: "deep",
      },
      {
        header: {
          path: "caps",
          type: "file",
          mode: 0o755,
          xattrs: { "user.test": "hello", "trusted.t": "v" },
        },
        data: "",
      },
    ]);
    assertEquals(result.entries, 12);
    assertEquals(result.size, 2 + 4);
    const su = Deno.lstatSync(join(target, "bin/su"));
    assertEquals(su.mode! & 0o7777, 0o4755);
    assertEquals(su.mtime!.getTime(), 1700000000 * 1000);
    const sg = Deno.lstatSync(join(target, "bin/sg"));
    assertEquals([sg.mode! & 0o7777, sg.uid, sg.gid], [0o2755, 1000, 1001]);
    const bin = Deno.lstatSync(join(target, "bin"));
    assertEquals([bin.mode! & 0o7777, bin.uid, bin.gid, bin.mtime!.getTime()], [
      0o711,
      1,
      2,
      5000000,
    ]);
    assertEquals(Deno.lstatSync(join(target, "tmp")).mode! & 0o7777, 0o1777);
    assertEquals(Deno.lstatSync(target).mtime!.getTime(), 100000);
    const sh = Deno.lstatSync(join(target, "bin/sh"));
    assert(sh.isSymlink);
    assertEquals([sh.uid, sh.gid, sh.mtime!.getTime()], [7, 8, 123000]);
    const nul = Deno.lstatSync(join(target, "dev/null"));
    assert(nul.isCharDevice);
    assertEquals([nul.mode! & 0o7777, nul.rdev], [0o666, (1 << 8) | 3]);
    assert(Deno.lstatSync(join(target, "dev/loop0")).isBlockDevice);
    const big = new Deno.Command("stat", { args: ["-c", "%Hr %Lr", join(target, "dev/big")] })
      .outputSync();
    assertEquals(new TextDecoder().decode(big.stdout).trim(), "300 70000");
    const fifo = Deno.lstatSync(join(target, "run/fifo"));
    assert(fifo.isFifo);
    assertEquals(fifo.mode! & 0o7777, 0o620);
    assertEquals(
      Deno.lstatSync(join(target, "dev")).mode! & 0o7777,
      0o755,
      "implicit parents are 0755",
    );
    const deep = Deno.lstatSync(join(target, long));
    assertEquals([deep.uid, deep.gid], [3000000, 3000001]);
    assertEquals(await Deno.readTextFile(join(target, long)), "deep");
    assertEquals(getxattr(join(target, "caps"), "user.test"), "hello");
    assertEquals(getxattr(join(target, "caps"), "trusted.t"), "v");
    assertEquals(
      getxattr(join(target, "caps"), "trusted.overlay.redirect"),
      "",
      "overlay xattrs are dropped",
    );
  });
});

Deno.test("diff_id is the sha256 of the uncompressed stream, also through gzip", async () => {
  await withDir(async (dir) => {
    const tar = createTar([{ header: { path: "a", type: "file" }, data: "a".repeat(10000) }]);
    const padded = new Uint8Array(tar.length + 4096);
    padded.set(tar); // trailing zeros after the end marker are part of the digest
    const seen: number[] = [];
    const target = join(dir, "gz");
    await Deno.mkdir(target);
    const gz = streamOf(padded).pipeThrough(
      new CompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>,
    );
    const result = await unpackLayer(
      gz.pipeThrough(
        new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>,
      ),
      target,
      {
        onData: (c) => seen.push(c.length),
      },
    );
    assertEquals(result.diffId, `sha256:${await sha256(padded)}`);
    assertEquals(seen.reduce((a, b) => a + b, 0), padded.length);
  });
});

Deno.test("absurd sizes are refused before reading", async () => {
  await withDir(async (dir) => {
    const target = join(dir, "big");
    await Deno.mkdir(target);
    const tar = createTar([{ header: { path: "a", type: "file" }, data: "a".repeat(2000) }]);
    const e = await assertRejects(
      () => unpackLayer(streamOf(tar), target, { maxEntrySize: 1000 }),
      TsnspawnError,
    );
    assert(e.message.includes("exceeds the limit"), e.message);
    assert(!lexists(join(target, "a")));
  });
});

Deno.test("OCI whiteouts become overlayfs whiteouts", async () => {
  await withDir(async (dir) => {
    const { target: lower } = await unpack(dir, "lower", [
      { header: { path: "a", type: "file", mode: 0o644 }, data: "a" },
      { header: { path: "keep", type: "file", mode: 0o644 }, data: "k" },
      { header: { path: "d/x", type: "file", mode: 0o644 }, data: "x" },
      { header: { path: "d/y", type: "file", mode: 0o644 }, data: "y" },
    ]);
    const { target: upper } = await unpack(dir, "upper", [
      { header: { path: ".wh.a", type: "file" }, data: "" },
      { header: { path: "d/", type: "dir", mode: 0o755 } },
      { header: { path: "d/.wh..wh..opq", type: "file" }, data: "" },
      { header: { path: "d/z", type: "file", mode: 0o644 }, data: "z" },
      { header: { path: ".wh..wh.plnk", type: "dir" } },
    ]);
    const wh = Deno.lstatSync(join(upper, "a"));
    assert(wh.isCharDevice);
    assertEquals(wh.rdev, 0);
    assert(!lexists(join(upper, ".wh.a")));
    assert(!lexists(join(upper, ".wh..wh.plnk")));
    assert(!lexists(join(upper, "d/.wh..wh..opq")));
    assertEquals(getxattr(join(upper, "d"), "trusted.overlay.opaque"), "y");
    const merged = join(dir, "merged");
    await Deno.mkdir(merged);
    const mount = new Deno.Command("mount", {
      args: ["-t", "overlay", "overlay", "-o", `lowerdir=${upper}:${lower}`, merged],
    }).outputSync();
    assert(mount.success, new TextDecoder().decode(mount.stderr));
    try {
      assertEquals([...Deno.readDirSync(merged)].map((e) => e.name).sort(), ["d", "keep"]);
      assertEquals([...Deno.readDirSync(join(merged, "d"))].map((e) => e.name), ["z"]);
    } finally {
      new Deno.Command("umount", { args: [merged] }).outputSync();
    }
  });
});

Deno.test("unpacks what GNU tar writes (test peer), with a root entry and hard links", async () => {
  await withDir(async (dir) => {
    const src = join(dir, "src");
    await Deno.mkdir(join(src, "etc"), { recursive: true });
    await Deno.writeTextFile(join(src, "etc/os"), "debian");
    await Deno.link(join(src, "etc/os"), join(src, "etc/os2"));
    await Deno.symlink("os", join(src, "etc/link"));
    await Deno.chmod(join(src, "etc"), 0o750);
    const tarPath = join(dir, "l.tar");
    const r = new Deno.Command("tar", { args: ["--format=posix", "-C", src, "-cf", tarPath, "."] })
      .outputSync();
    assert(r.success);
    const target = join(dir, "out");
    await Deno.mkdir(target);
    const result = await unpackLayer((await Deno.open(tarPath)).readable, target);
    assertEquals(result.diffId, `sha256:${await sha256(await Deno.readFile(tarPath))}`);
    assertEquals(await Deno.readTextFile(join(target, "etc/os2")), "debian");
    assertEquals(
      Deno.statSync(join(target, "etc/os")).ino,
      Deno.statSync(join(target, "etc/os2")).ino,
    );
    assertEquals(Deno.readLinkSync(join(target, "etc/link")), "os");
    assertEquals(Deno.statSync(join(target, "etc")).mode! & 0o777, 0o750);
  });
});

Deno.test("ownership: a repeated directory keeps the last owner; a setgid target hands down its group", async () => {
  await withDir(async (dir) => {
    const { target } = await unpack(dir, "again", [
      { header: { path: "d", type: "dir", mode: 0o755, uid: 1000, gid: 1000 } },
      { header: { path: "d/f", type: "file", mode: 0o644, uid: 0, gid: 0 }, data: "f" },
      { header: { path: "d", type: "dir", mode: 0o755, uid: 0, gid: 0 } },
      { header: { path: "l", type: "symlink", linkname: "d/f", uid: 0, gid: 0 } },
    ]);
    for (const path of ["d", "d/f", "l"]) {
      const st = Deno.lstatSync(join(target, path));
      assertEquals([st.uid, st.gid], [0, 0], path);
    }

    const setgid = join(dir, "setgid");
    Deno.mkdirSync(setgid);
    Deno.chownSync(setgid, 0, 4321);
    Deno.chmodSync(setgid, 0o2755);
    await unpackLayer(
      streamOf(createTar([
        { header: { path: "sub/f", type: "file", mode: 0o644, uid: 0, gid: 0 }, data: "f" },
        { header: { path: "g", type: "file", mode: 0o644, uid: 0, gid: 4321 }, data: "g" },
      ])),
      setgid,
    );
    assertEquals(
      Deno.statSync(join(setgid, "sub/f")).gid,
      0,
      "chowned back to the archive's group",
    );
    assertEquals(Deno.statSync(join(setgid, "g")).gid, 4321);
  });
});

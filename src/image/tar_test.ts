import { assert, assertEquals, assertRejects } from "@std/assert";
import { join } from "@std/path";
import { TsnspawnError } from "../errors.ts";
import {
  createTar,
  encodePaxRecords,
  parsePaxRecords,
  readTar,
  type TarHeader,
  TarWriter,
} from "./tar.ts";

function streamOf(bytes: Uint8Array, chunk = 1000): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + chunk));
      offset += chunk;
    },
  });
}

interface Read {
  header: TarHeader;
  data: string;
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Read[]> {
  const out: Read[] = [];
  for await (const { header, body } of readTar(stream)) {
    const parts: Uint8Array[] = [];
    for await (const piece of body) parts.push(piece.slice());
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      all.set(p, o);
      o += p.length;
    }
    out.push({ header, data: new TextDecoder().decode(all) });
  }
  return out;
}

const LONG = `${"d".repeat(120)}/${"e".repeat(90)}/${"f".repeat(120)}`;

Deno.test("writer and reader round-trip every entry type, long names and xattrs", async () => {
  const tar = createTar([
    { header: { path: "dir", type: "dir", mode: 0o755, uid: 1, gid: 2, mtime: 1000 } },
    {
      header: {
        path: "dir/file",
        type: "file",
        mode: 0o4755,
        mtime: 1234567890,
        uname: "u",
        gname: "g",
      },
      data: "hello",
    },
    {
      header: { path: LONG, type: "file", mode: 0o600, uid: 3000000, gid: 5 },
      data: "x".repeat(1500),
    },
    { header: { path: "ünïcode", type: "symlink", linkname: "l".repeat(150) } },
    { header: { path: "hard", type: "hardlink", linkname: "dir/file" } },
    { header: { path: "null", type: "char", mode: 0o666, devmajor: 1, devminor: 3 } },
    { header: { path: "loop", type: "block", devmajor: 7, devminor: 0 } },
    { header: { path: "pipe", type: "fifo", mode: 0o644 } },
    {
      header: {
        path: "caps",
        type: "file",
        xattrs: { "security.capability": new Uint8Array([1, 0, 0, 2]), "user.a": "b" },
      },
      data: "",
    },
  ]);
  for (const chunk of [1, 7, 512, 100000]) {
    const got = await readAll(streamOf(tar, chunk));
    assertEquals(got.map((e) => [e.header.path, e.header.type]), [
      ["dir/", "dir"],
      ["dir/file", "file"],
      [LONG, "file"],
      ["ünïcode", "symlink"],
      ["hard", "hardlink"],
      ["null", "char"],
      ["loop", "block"],
      ["pipe", "fifo"],
      ["caps", "file"],
    ]);
    assertEquals(got[1].data, "hello");
    assertEquals(got[1].header.mode, 0o4755);
    assertEquals(got[1].header.mtime, 1234567890);
    assertEquals([got[1].header.uname, got[1].header.gname], ["u", "g"]);
    assertEquals(got[2].data, "x".repeat(1500));
    assertEquals(got[2].header.uid, 3000000);
    assertEquals(got[3].header.linkname, "l".repeat(150));
    assertEquals(got[4].header.linkname, "dir/file");
    assertEquals([got[5].header.devmajor, got[5].header.devminor], [1, 3]);
    assertEquals(got[8].header.xattrs["security.capability"], new Uint8Array([1, 0, 0, 2]));
    assertEquals(new TextDecoder().decode(got[8].header.xattrs["user.a"]), "b");
  }
});

Deno.test("unread bodies are skipped", async () => {
  const tar = createTar([
    { header: { path: "a", type: "file" }, data: "a".repeat(3000) },
    { header: { path: "b", type: "file" }, data: "b" },
  ]);
  const paths: string[] = [];
  for await (const { header } of readTar(streamOf(tar, 100))) paths.push(header.path);
  assertEquals(paths, ["a", "b"]);
});

Deno.test("PAX records: lengths include themselves", () => {
  for (const n of [0, 1, 85, 86, 87, 990, 995, 1000]) {
    const value = new TextEncoder().encode("v".repeat(n));
    const encoded = encodePaxRecords([["path", value]]);
    assertEquals(parsePaxRecords(encoded).get("path"), value);
  }
});

async function corruptError(bytes: Uint8Array): Promise<TsnspawnError> {
  return await assertRejects(() => readAll(streamOf(bytes)), TsnspawnError);
}

Deno.test("corrupt and truncated archives fail clearly", async () => {
  const tar = createTar([{ header: { path: "a", type: "file" }, data: "a".repeat(700) }]);
  const flipped = tar.slice();
  flipped[10] ^= 0xff;
  assert((await corruptError(flipped)).message.includes("checksum mismatch"));
  assert((await corruptError(tar.slice(0, 600))).message.includes("unexpected end of archive"));
  assert(
    (await corruptError(tar.slice(0, 300))).message.includes("unexpected end of archive in header"),
  );
  const e = await corruptError(new TextEncoder().encode("x".repeat(512)));
  assertEquals(e.code, "image");
  // A PAX header that announces an absurd size.
  const big = createTar([{ header: { path: "p".repeat(200), type: "file" }, data: "" }]);
  const view = big.slice();
  // the first block is the PAX header: rewrite its size field and checksum
  view.set(new TextEncoder().encode("77777777777\0"), 124);
  view.fill(0x20, 148, 156);
  const sum = view.subarray(0, 512).reduce((a, b) => a + b, 0);
  view.set(new TextEncoder().encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
  assert((await corruptError(view)).message.includes("too large"));
});

Deno.test("fuzz: random corruption only raises TsnspawnError", async () => {
  const tar = createTar([
    { header: { path: LONG, type: "file", xattrs: { "user.x": "y" } }, data: "abc" },
    { header: { path: "l", type: "symlink", linkname: "target" } },
  ]);
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = 0; i < 2000; i++) {
    const bytes = tar.slice(0, Math.floor(rand() * tar.length) + 1);
    for (let j = 0; j < 3; j++) bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
    try {
      await readAll(streamOf(bytes, 97));
    } catch (e) {
      if (!(e instanceof TsnspawnError)) throw e;
    }
  }
});

Deno.test("reads what GNU tar writes (gnu and pax formats) and GNU tar reads what we write", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const src = join(dir, "src");
    await Deno.mkdir(join(src, LONG), { recursive: true });
    await Deno.writeTextFile(join(src, LONG, "f"), "content");
    await Deno.symlink("t".repeat(150), join(src, "longlink"));
    await Deno.writeTextFile(join(src, "x"), "xattr");
    for (const format of ["gnu", "posix"]) {
      const out = join(dir, `${format}.tar`);
      const r = await new Deno.Command("tar", {
        args: [`--format=${format}`, "-C", src, "-cf", out, "."],
      }).output();
      assert(r.success, new TextDecoder().decode(r.stderr));
      const got = await readAll((await Deno.open(out)).readable);
      const byPath = new Map(got.map((e) => [e.header.path, e]));
      assertEquals(byPath.get(`./${LONG}/f`)?.data, "content", format);
      assertEquals(byPath.get("./longlink")?.header.linkname, "t".repeat(150));
      assertEquals(byPath.get("./x")?.data, "xattr");
    }
    const ours = join(dir, "ours.tar");
    const file = await Deno.open(ours, { write: true, create: true });
    const writer = new TarWriter(file.writable);
    await writer.add({ path: LONG, type: "dir", mode: 0o755 });
    await writer.add(
      { path: `${LONG}/file`, type: "file", mode: 0o644, size: 3 },
      streamOf(new TextEncoder().encode("abc"), 1),
    );
    await writer.add({ path: "sl", type: "symlink", linkname: "s".repeat(200) });
    await writer.close();
    const list = await new Deno.Command("tar", { args: ["-tvf", ours] }).output();
    assert(list.success, new TextDecoder().decode(list.stderr));
    const text = new TextDecoder().decode(list.stdout);
    assert(text.includes(`${LONG}/file`), text);
    assert(text.includes("s".repeat(200)), text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** `diff` and the packer's exclusions, on plain directories (no root needed). */
import { assertEquals } from "@std/assert";
import { listLayerChanges } from "./layer_diff.ts";
import { packDirectories } from "./layer_pack.ts";
import { readTar } from "./tar.ts";

function tree(root: string, files: Record<string, string | null>): void {
  for (const [path, content] of Object.entries(files)) {
    const abs = `${root}/${path}`;
    if (content === null) Deno.mkdirSync(abs, { recursive: true });
    else {
      Deno.mkdirSync(abs.slice(0, abs.lastIndexOf("/")), { recursive: true });
      Deno.writeTextFileSync(abs, content);
    }
  }
}

Deno.test("diff lists A/C, skips excluded placeholders and untouched image dirs", () => {
  const dir = Deno.makeTempDirSync({ dir: "/dev/shm" });
  try {
    tree(`${dir}/lower`, { "etc/passwd": "x", "bin/sh": "x", "srv": null });
    tree(`${dir}/upper`, {
      "etc/hosts": "",
      "etc/passwd": "changed",
      "bin": null,
      "data/vol": null,
      "data/mine/file": "kept",
      "new": "x",
    });
    const exclude = new Set(["/etc/hosts", "/data", "/data/vol"]);
    assertEquals(
      listLayerChanges(`${dir}/upper`, [`${dir}/lower`], exclude).map((c) => `${c.kind} ${c.path}`),
      ["A /data", "A /data/mine", "A /data/mine/file", "C /etc", "C /etc/passwd", "A /new"],
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("the packer leaves excluded paths out; flattened, the image's version shows", async () => {
  const dir = Deno.makeTempDirSync({ dir: "/dev/shm" });
  try {
    tree(`${dir}/lower`, { "etc/machine-id": "image\n" });
    tree(`${dir}/upper`, { "etc/machine-id": "mine\n", "etc/hosts": "", "keep": "k" });
    const exclude = new Set(["etc/machine-id", "etc/hosts"]);
    const list = async (dirs: string[], mode: "layer" | "flatten") => {
      const chunks: Uint8Array[] = [];
      await packDirectories(dirs, new WritableStream({ write: (c) => void chunks.push(c) }), {
        mode,
        exclude,
      });
      const names: string[] = [];
      const contents: Record<string, string> = {};
      for await (const { header, body } of readTar(new Blob(chunks as BlobPart[]).stream())) {
        names.push(header.path);
        let text = "";
        for await (const piece of body) text += new TextDecoder().decode(piece);
        contents[header.path] = text;
      }
      return { names, contents };
    };
    assertEquals((await list([`${dir}/upper`], "layer")).names, ["etc/", "keep"]);
    const flat = await list([`${dir}/upper`, `${dir}/lower`], "flatten");
    assertEquals(flat.names, ["etc/", "etc/machine-id", "keep"]);
    assertEquals(flat.contents["etc/machine-id"], "image\n");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

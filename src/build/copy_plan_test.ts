/**
 * COPY/ADD planning over a real context directory and image layers (no
 * root): sources, globs, .dockerignore, targets, owners, content for the
 * cache key; archive detection.
 */
import { assertEquals, assertThrows } from "@std/assert";
import { join } from "@std/path";
import { TsnspawnError } from "../errors.ts";
import { createTar } from "../image/tar.ts";
import { parseContainerfile } from "./containerfile.ts";
import {
  compressionOf,
  type CopyPlan,
  isArchive,
  isTarHeader,
  planContent,
  planCopy,
  urlFileName,
} from "./copy_plan.ts";
import { compileIgnore, parseIgnoreFile } from "./ignore.ts";
import type { AddInstruction, CopyInstruction } from "./instructions.ts";
import { contextTree, expandSource, resolveNode, stackTree } from "./source_tree.ts";
import { resolveInstruction } from "./substitute_instruction.ts";
import { contentDigest } from "./cache_key.ts";

interface Fixture {
  context: string;
  layer: string;
}

function withFixture(fn: (f: Fixture) => void | Promise<void>): () => Promise<void> {
  return async () => {
    const base = Deno.makeTempDirSync({ prefix: "copy-plan-" });
    const context = join(base, "context");
    const layer = join(base, "layer");
    const files: Record<string, string> = {
      "a.txt": "a\n",
      "b.txt": "b\n",
      "c.log": "c\n",
      "dir/one": "1\n",
      "dir/sub/two": "2\n",
      "dir/tmp/skip": "x\n",
    };
    for (const [name, text] of Object.entries(files)) {
      Deno.mkdirSync(join(context, name, ".."), { recursive: true });
      Deno.writeTextFileSync(join(context, name), text);
    }
    Deno.symlinkSync("a.txt", join(context, "link"));
    Deno.symlinkSync("../../..", join(context, "dir/escape"));
    Deno.writeTextFileSync(join(context, ".dockerignore"), "*.log\ndir/tmp\n");
    // The image: /usr/lib, /lib -> usr/lib, /etc/passwd, /app (a directory).
    Deno.mkdirSync(join(layer, "usr/lib"), { recursive: true });
    Deno.symlinkSync("usr/lib", join(layer, "lib"));
    Deno.mkdirSync(join(layer, "etc"));
    Deno.writeTextFileSync(join(layer, "etc/passwd"), "app:x:1000:1000::/:/bin/sh\n");
    Deno.mkdirSync(join(layer, "app"));
    try {
      await fn({ context, layer });
    } finally {
      Deno.removeSync(base, { recursive: true });
    }
  };
}

function instruction(line: string): CopyInstruction | AddInstruction {
  const file = parseContainerfile(`FROM scratch\n${line}\n`);
  return resolveInstruction(file.instructions[1], () => undefined) as CopyInstruction;
}

function plan(f: Fixture, line: string, workdir = "/"): CopyPlan {
  const matcher = compileIgnore(
    parseIgnoreFile(Deno.readTextFileSync(join(f.context, ".dockerignore"))),
  );
  const copy = instruction(line);
  const dest = copy.dest.startsWith("/") ? copy.dest : `${workdir}/${copy.dest}`;
  return planCopy(copy, {
    tree: contextTree(f.context, matcher),
    fromContext: true,
    layers: [f.layer],
    destination: { path: dest.replace(/\/+$/, "") || "/", directory: copy.dest.endsWith("/") },
  });
}

const targets = (p: CopyPlan) => p.items.map((i) => `${i.kind} ${i.target}`);

Deno.test(
  "COPY targets: a file, into a directory, a directory's contents, several sources",
  withFixture(async (f) => {
    assertEquals(targets(plan(f, "COPY a.txt /x")), ["node /x"]);
    assertEquals(targets(plan(f, "COPY a.txt /x/")), ["node /x/a.txt"]);
    // An existing directory takes the file inside it, with or without the slash.
    assertEquals(targets(plan(f, "COPY a.txt /app")), ["node /app/a.txt"]);
    assertEquals(targets(plan(f, "COPY dir /d")), ["node /d"]);
    assertEquals(targets(plan(f, "COPY a.txt b.txt /m/")), ["node /m/a.txt", "node /m/b.txt"]);
    assertEquals(targets(plan(f, "COPY *.txt /g/")), ["node /g/a.txt", "node /g/b.txt"]);
    // Symlinks in the destination's directories are followed inside the image.
    assertEquals(targets(plan(f, "COPY a.txt /lib/")), ["node /usr/lib/a.txt"]);
    assertEquals(targets(plan(f, "COPY a.txt /lib/x")), ["node /usr/lib/x"]);
    // A source named through a symlink keeps its name, with the target's content.
    const linked = plan(f, "COPY link /l/");
    assertEquals(targets(linked), ["node /l/link"]);
    assertEquals((await planContent(linked))[0].size, 2);
    assertThrows(() => plan(f, "COPY a.txt b.txt /file"), TsnspawnError, "directory destination");
  }),
);

Deno.test(
  "COPY sources: .dockerignore hides files, globs must match, nothing escapes",
  withFixture(async (f) => {
    assertThrows(
      () => plan(f, "COPY c.log /x"),
      TsnspawnError,
      "c.log: not found in the build context",
    );
    assertThrows(
      () => plan(f, "COPY *.md /x/"),
      TsnspawnError,
      "no files in the build context match *.md",
    );
    const dir = plan(f, "COPY dir /d");
    const paths = (await planContent(dir)).map((e) => e.path);
    assertEquals(paths, ["/d", "/d/escape", "/d/one", "/d/sub", "/d/sub/two"]);
    // ../ and a symlink out of the context both stay inside it.
    const matcher = compileIgnore([]);
    const tree = contextTree(f.context, matcher);
    assertEquals(expandSource(tree, "../../a.txt")[0].path, "/a.txt");
    assertEquals(resolveNode(tree, "dir/escape/a.txt", true)?.abs, join(f.context, "a.txt"));
  }),
);

Deno.test(
  "COPY owners and modes: root for the context, --chown by name, --chmod on files",
  withFixture(async (f) => {
    const plain = await planContent(plan(f, "COPY dir /d"));
    assertEquals(plain.every((e) => e.uid === 0 && e.gid === 0), true);
    const owned = await planContent(plan(f, "COPY --chown=app --chmod=700 dir /d"));
    assertEquals(owned.every((e) => e.uid === 1000 && e.gid === 1000), true);
    assertEquals(owned.find((e) => e.path === "/d/one")?.mode, 0o700);
    assertEquals(
      owned.find((e) => e.path === "/d/sub")?.mode,
      plain.find((e) => e.path === "/d/sub")?.mode,
    );
    // The content digest ignores times, not content.
    const before = await contentDigest(plain);
    Deno.utimeSync(join(f.context, "dir/one"), 1, 1);
    assertEquals(await contentDigest(await planContent(plan(f, "COPY dir /d"))), before);
    Deno.writeTextFileSync(join(f.context, "dir/one"), "changed\n");
    assertEquals(
      (await contentDigest(await planContent(plan(f, "COPY dir /d")))) === before,
      false,
    );
  }),
);

Deno.test(
  "COPY --from a layer stack keeps owners; ADD of a URL is a 0600 file",
  withFixture(async (f) => {
    Deno.chmodSync(join(f.layer, "etc/passwd"), 0o600);
    const from = planCopy(instruction("COPY /etc /e"), {
      tree: stackTree([f.layer], "stage 0"),
      fromContext: false,
      layers: [f.layer],
      destination: { path: "/e", directory: false },
    });
    assertEquals(from.owner, null);
    assertEquals((await planContent(from)).find((e) => e.path === "/e/passwd")?.mode, 0o600);
    const add = plan(
      f,
      "ADD --checksum=sha256:" + "a".repeat(64) + " http://127.0.0.1/dl/file.tgz /downloads/",
    );
    assertEquals(targets(add), ["url /downloads/file.tgz"]);
    assertEquals((await planContent(add))[0], {
      path: "/downloads/file.tgz",
      type: "file",
      mode: 0o600,
      uid: 0,
      gid: 0,
      digest: "sha256:" + "a".repeat(64),
    });
    assertThrows(
      () => plan(f, "ADD --checksum=sha256:" + "a".repeat(64) + " a.txt /x"),
      TsnspawnError,
      "needs a URL",
    );
  }),
);

Deno.test(
  "ADD recognizes archives by content; URLs name their file",
  withFixture((f) => {
    const tar = createTar([{ header: { path: "x", type: "file", mode: 0o644 }, data: "x" }]);
    assertEquals(isTarHeader(tar.subarray(0, 512)), true);
    assertEquals(isTarHeader(new TextEncoder().encode("plain text".padEnd(512, " "))), false);
    assertEquals(compressionOf(new Uint8Array([0x1f, 0x8b, 8])), "gzip");
    assertEquals(compressionOf(new Uint8Array([0x28, 0xb5, 0x2f, 0xfd])), "zstd");
    assertEquals(compressionOf(new TextEncoder().encode("BZh9")), "bzip2");
    assertEquals(compressionOf(new Uint8Array([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0])), "xz");
    Deno.writeFileSync(join(f.context, "pkg.tar"), tar);
    assertEquals(isArchive(join(f.context, "pkg.tar")), true);
    assertEquals(isArchive(join(f.context, "a.txt")), false);
    assertEquals(targets(plan(f, "ADD pkg.tar /opt/")), ["archive /opt"]);
    assertEquals(targets(plan(f, "ADD --unpack=false pkg.tar /opt/")), ["node /opt/pkg.tar"]);
    assertEquals(urlFileName("https://example.com/a/b/tool%20x.tgz?v=1"), "tool x.tgz");
    assertEquals(urlFileName("https://example.com/"), "");
  }),
);

Deno.test(
  "COPY --parents, --exclude and ADD --keep-git-dir are refused, not ignored",
  withFixture((f) => {
    assertThrows(
      () => plan(f, "COPY --parents a.txt /x/"),
      TsnspawnError,
      "COPY --parents is not supported",
    );
    assertThrows(() => plan(f, "COPY --exclude=*.txt dir /x/"), TsnspawnError, "--exclude");
    assertThrows(
      () => plan(f, "ADD --keep-git-dir=true https://example.com/r.git /src"),
      TsnspawnError,
      "--keep-git-dir",
    );
    assertEquals(targets(plan(f, "COPY --link a.txt /x")), ["node /x"]);
  }),
);

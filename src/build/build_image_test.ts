/**
 * The build operation without containers (root only: a tmpfs store): a
 * context sent as a tar stream, COPY and metadata steps on scratch, the
 * events reported, the cache on a second build, the image in the store.
 * RUN steps need systemd: tests/build_test.ts.
 */
import { assertEquals, assertRejects } from "@std/assert";
import { join } from "@std/path";
import { TsnspawnError } from "../errors.ts";
import { createTar } from "../image/tar.ts";
import { inspectImage } from "../image/store.ts";
import { buildImageFromArchive } from "./build_image.ts";
import type { BuildEvent } from "./events.ts";

function run(cmd: string, ...args: string[]): void {
  const out = new Deno.Command(cmd, { args }).outputSync();
  if (!out.success) throw new Error(`${cmd}: ${new TextDecoder().decode(out.stderr)}`);
}

const CONTAINERFILE = `FROM scratch AS files
COPY data/ /data/
FROM scratch
ARG VERSION=1
COPY --from=files /data /copied
COPY <<EOF /version
v\${VERSION}
EOF
LABEL org.example.version=\${VERSION}
CMD ["/nothing"]
`;

function context(text: string): ReadableStream<Uint8Array> {
  const tar = createTar([
    { header: { path: "Dockerfile", type: "file", mode: 0o644 }, data: text },
    { header: { path: "data/", type: "dir", mode: 0o755 } },
    { header: { path: "data/a.txt", type: "file", mode: 0o640, mtime: 10 }, data: "a\n" },
  ]);
  return ReadableStream.from([tar]);
}

Deno.test({
  name: "buildImageFromArchive: a context stream, events, the cache, the stored image",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "tsnspawn-build-" });
    run("mount", "-t", "tmpfs", "tmpfs", dir);
    const previous = Deno.env.get("TSNSPAWN_ROOT");
    Deno.env.set("TSNSPAWN_ROOT", join(dir, "root"));
    try {
      const events: BuildEvent[] = [];
      const services = { systemd: () => Promise.reject(new Error("no RUN step here")) };
      const first = await buildImageFromArchive(
        context(CONTAINERFILE),
        { tags: ["example:1"], timestamp: 0 },
        (e) => events.push(e),
        services,
      );
      assertEquals(first.tags, ["docker.io/library/example:1"]);
      assertEquals(events.filter((e) => e.kind === "built").length, 6);
      assertEquals(events.at(-1), { kind: "done", id: first.id, tags: first.tags });
      const image = inspectImage("example:1");
      assertEquals(image.id, first.id);
      assertEquals(image.config.rootfs.diff_ids.length, 2);
      assertEquals(image.config.config?.Labels, { "org.example.version": "1" });
      assertEquals(image.config.created, "1970-01-01T00:00:00.000Z");
      // Nothing changed: every step from the cache, the same image.
      const again: BuildEvent[] = [];
      const second = await buildImageFromArchive(
        context(CONTAINERFILE),
        { tags: ["example:1"], timestamp: 0 },
        (e) => again.push(e),
        services,
      );
      assertEquals(second.id, first.id);
      assertEquals(again.filter((e) => e.kind === "built").length, 0);
      assertEquals(again.filter((e) => e.kind === "cached").length, 6);
      // A changed build arg: the steps from its first use.
      const third: BuildEvent[] = [];
      await buildImageFromArchive(
        context(CONTAINERFILE),
        { buildArgs: { VERSION: "2" }, timestamp: 0 },
        (e) => third.push(e),
        services,
      );
      assertEquals(third.filter((e) => e.kind === "cached").length, 3);
      await assertRejects(
        () => buildImageFromArchive(context("FROM scratch\nBOGUS\n"), {}, () => {}, services),
        TsnspawnError,
        "Dockerfile:2: unknown instruction: BOGUS",
      );
      await assertRejects(
        () =>
          buildImageFromArchive(context(CONTAINERFILE), { dockerfile: "../x" }, () => {}, services),
        TsnspawnError,
        "outside the context",
      );
      assertEquals([...Deno.readDirSync(join(dir, "root", "tmp"))].map((e) => e.name), []);
    } finally {
      if (previous === undefined) Deno.env.delete("TSNSPAWN_ROOT");
      else Deno.env.set("TSNSPAWN_ROOT", previous);
      run("umount", "-l", dir);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/**
 * The merged view of layer directories (no root needed; the whiteout and
 * opaque-directory cases need root: mknod and trusted.* xattrs).
 */
import { assertEquals, assertThrows } from "@std/assert";
import { join } from "@std/path";
import { TsnspawnError } from "../errors.ts";
import {
  readStackText,
  resolveInStack,
  stackChild,
  stackReadDir,
  stackRoot,
} from "./layer_stack.ts";
import { lsetxattr, mknod, S_IFCHR } from "./layer_syscalls.ts";

/** Runs `fn` over two fresh layer dirs (removed afterwards). */
function withLayers(fn: (l: { top: string; bottom: string; all: string[] }) => void): () => void {
  return () => {
    const base = Deno.makeTempDirSync({ prefix: "layer-stack-" });
    try {
      fn(layers(base));
    } finally {
      Deno.removeSync(base, { recursive: true });
    }
  };
}

function layers(base: string): { top: string; bottom: string; all: string[] } {
  const top = join(base, "top");
  const bottom = join(base, "bottom");
  for (const dir of [top, bottom]) Deno.mkdirSync(dir);
  // bottom: /etc/passwd, /usr/lib/x, /lib -> usr/lib, /data/a, /file-then-dir
  Deno.mkdirSync(join(bottom, "etc"));
  Deno.writeTextFileSync(join(bottom, "etc/passwd"), "root:x:0:0::/root:/bin/sh\n");
  Deno.mkdirSync(join(bottom, "usr/lib"), { recursive: true });
  Deno.writeTextFileSync(join(bottom, "usr/lib/x"), "lower x\n");
  Deno.symlinkSync("usr/lib", join(bottom, "lib"));
  Deno.mkdirSync(join(bottom, "data"));
  Deno.writeTextFileSync(join(bottom, "data/a"), "a\n");
  Deno.writeTextFileSync(join(bottom, "shadowed"), "file below\n");
  // top: /usr/lib/y, /data/b, /shadowed as a directory, /abs -> /usr/lib
  Deno.mkdirSync(join(top, "usr/lib"), { recursive: true });
  Deno.writeTextFileSync(join(top, "usr/lib/y"), "upper y\n");
  Deno.mkdirSync(join(top, "data"));
  Deno.writeTextFileSync(join(top, "data/b"), "b\n");
  Deno.mkdirSync(join(top, "shadowed"));
  Deno.symlinkSync("/usr/lib", join(top, "abs"));
  return { top, bottom, all: [top, bottom] };
}

Deno.test(
  "a layer stack reads as overlayfs merges it",
  withLayers(({ all, top }) => {
    const root = stackRoot(all)!;
    assertEquals([...stackReadDir(root).keys()], ["abs", "data", "etc", "lib", "shadowed", "usr"]);
    const data = stackChild(root, "data")!;
    assertEquals([...stackReadDir(data).keys()], ["a", "b"]);
    // The topmost entry wins, and a directory over a file hides it.
    const shadowed = stackChild(root, "shadowed")!;
    assertEquals(shadowed.st.isDirectory, true);
    assertEquals(shadowed.dirs, [join(top, "shadowed")]);
    assertEquals(readStackText(all, "/etc/passwd"), "root:x:0:0::/root:/bin/sh\n");
    assertEquals(readStackText(all, "/etc/missing"), "");
  }),
);

Deno.test(
  "paths resolve through symlinks inside the stack, never above its root",
  withLayers(({ all }) => {
    assertEquals(resolveInStack(all, "/lib/x").path, "/usr/lib/x");
    assertEquals(readStackText(all, "/lib/y"), "upper y\n");
    assertEquals(resolveInStack(all, "/abs/../../../etc/passwd").path, "/etc/passwd");
    assertEquals(resolveInStack(all, "/lib", false).path, "/lib");
    // A missing tail is kept as written (what mkdir -p would make).
    const missing = resolveInStack(all, "/lib/new/dir");
    assertEquals(missing.path, "/usr/lib/new/dir");
    assertEquals(missing.entry, null);
    assertThrows(() => resolveInStack(all, "/etc/passwd/x"), TsnspawnError, "not a directory");
  }),
);

Deno.test({
  name: "whiteouts hide names below; an opaque directory hides the directories below (root)",
  ignore: Deno.uid() !== 0,
  fn: withLayers(({ top, all }) => {
    mknod(join(top, "etc"), S_IFCHR | 0o600, 0, 0); // a whiteout of /etc
    lsetxattr(join(top, "data"), "trusted.overlay.opaque", new TextEncoder().encode("y"));
    const root = stackRoot(all)!;
    assertEquals(stackChild(root, "etc"), null);
    assertEquals(readStackText(all, "/etc/passwd"), "");
    assertEquals([...stackReadDir(stackChild(root, "data")!).keys()], ["b"]);
  }),
});

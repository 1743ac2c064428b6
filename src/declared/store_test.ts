/**
 * The declared files on disk (src/declared/store.ts), without systemd: the
 * search directories' precedence and subdirectories, drop-ins in every
 * directory (`container.d` for every file, a dash prefix, the file's own),
 * finding a container by its file, ContainerName= or template instance,
 * and an unreadable file that does not stop the others.
 */
import { assert, assertEquals } from "@std/assert";
import { join } from "@std/path";
import {
  findContainerSource,
  readContainerDeclaration,
  readDeclaredSet,
  searchRoots,
} from "./store.ts";

const HOST = {
  hostname: "h",
  machineId: "0".repeat(32),
  bootId: "1".repeat(32),
  kernelRelease: "6",
};

function withDirs(fn: (first: string, second: string) => void): void {
  const dir = Deno.makeTempDirSync({ dir: "/dev/shm", prefix: "tsnspawn-store-test-" });
  const first = join(dir, "run");
  const second = join(dir, "etc");
  const previous = Deno.env.get("TSNSPAWN_UNIT_DIRS");
  try {
    Deno.mkdirSync(first);
    Deno.mkdirSync(second);
    Deno.env.set("TSNSPAWN_UNIT_DIRS", `${first}:${second}`);
    fn(first, second);
  } finally {
    if (previous === undefined) Deno.env.delete("TSNSPAWN_UNIT_DIRS");
    else Deno.env.set("TSNSPAWN_UNIT_DIRS", previous);
    Deno.removeSync(dir, { recursive: true });
  }
}

function write(path: string, text: string): void {
  Deno.mkdirSync(join(path, ".."), { recursive: true });
  Deno.writeTextFileSync(path, text);
}

Deno.test("store: search directories in precedence order, subdirectories, enabled/ skipped", () => {
  withDirs((first, second) => {
    assertEquals(searchRoots(), [first, second]);
    write(join(first, "web.container"), "[Container]\nImage=first\n");
    write(join(second, "web.container"), "[Container]\nImage=second\n");
    write(join(second, "apps", "db.container"), "[Container]\nImage=busybox\n");
    write(join(second, "enabled", "web.container"), "[Container]\nImage=mark\n");
    write(join(second, "app.pod"), "[Pod]\n");
    const set = readDeclaredSet(HOST);
    assertEquals(set.sources.map((s) => s.fileName), ["db.container", "web.container"]);
    assertEquals(set.sources[1].path, join(first, "web.container"));
    assertEquals(set.problems.map((p) => p.message), [".pod files are not supported"]);
  });
});

Deno.test("store: drop-ins from every directory, specific names hiding broad ones", () => {
  withDirs((first, second) => {
    write(join(second, "foo-bar.container"), "[Container]\nImage=busybox\nEnvironment=A=file\n");
    write(join(second, "container.d", "10-all.conf"), "[Container]\nEnvironment=ALL=1 A=all\n");
    write(join(first, "foo-.container.d", "20-foo.conf"), "[Container]\nEnvironment=FOO=1\n");
    write(join(second, "foo-bar.container.d", "10-all.conf"), "[Container]\nEnvironment=A=own\n");
    write(join(second, "foo-bar.container.d", "notes.txt"), "not a drop-in\n");
    const read = readContainerDeclaration("foo-bar")!;
    assertEquals(read.problems, []);
    assertEquals(read.declaration!.options.env, ["A=file", "A=own", "FOO=1"]);
  });
});

Deno.test("store: containers by file, ContainerName= and template instance; a broken file stays alone", () => {
  withDirs((_first, second) => {
    write(join(second, "web.container"), "[Container]\nImage=busybox\nContainerName=frontend\n");
    write(join(second, "job@.container"), "[Container]\nImage=busybox\nExec=echo %i\n");
    write(join(second, "bad.container"), "[Container]\nNope=1\n");
    Deno.symlinkSync("/nonexistent/x.container", join(second, "dangling.container"));
    const set = readDeclaredSet(HOST);
    assertEquals(set.problems.map((p) => [p.path, p.message]), [[
      join(second, "dangling.container"),
      "no such file",
    ]]);
    assertEquals(findContainerSource(set, "frontend")?.source.fileName, "web.container");
    assertEquals(findContainerSource(set, "web")?.source.fileName, "web.container");
    assertEquals(findContainerSource(set, "job@42"), {
      source: set.sources.find((s) => s.fileName === "job@.container")!,
      instance: "42",
    });
    assertEquals(findContainerSource(set, "nobody"), null);
    const job = readContainerDeclaration("job@42")!;
    assertEquals(job.declaration!.name, "job@42");
    assertEquals(job.declaration!.options.command, ["echo", "42"]);
    assert(
      readContainerDeclaration("bad")!.problems.some((p) =>
        p.message.includes("unknown key Nope=")
      ),
    );
    // The unreadable file does not stop the others.
    assertEquals(set.sources.map((s) => s.fileName), [
      "bad.container",
      "job@.container",
      "web.container",
    ]);
  });
});

/**
 * A real OS image for the machine tests: Debian 12 with systemd, made with
 * debootstrap(8) from Debian's archive (`--variant=minbase
 * --include=systemd,systemd-sysv,dbus`), as a rootfs tarball cached across
 * test runs under /var/cache/tsnspawn-tests (one file; building takes
 * ~40 s, importing it into a test host ~2 s). The file name carries a hash
 * of the recipe, so a changed recipe builds a new one. Building holds an
 * flock, so test files running at once build it once; it is built in
 * /dev/shm (tmpfs) and renamed into place complete.
 *
 * Also a broken OS image: busybox whose /sbin/init writes to the console
 * and exits 1.
 */
import { join } from "@std/path";
import { REPO, tsnspawnArgv } from "./helpers.ts";
import type { TestHost } from "./testhost.ts";

/** How the image is made; its hash names the cached tarball. */
export const OS_IMAGE_RECIPE = {
  suite: "bookworm",
  variant: "minbase",
  include: ["systemd", "systemd-sysv", "dbus"],
  mirror: "http://deb.debian.org/debian",
  /** Left out after the bootstrap: documentation nobody boots. */
  trim: ["usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale"],
};

/** Where the tarball is kept between runs. */
export const OS_IMAGE_CACHE = "/var/cache/tsnspawn-tests";

async function recipeHash(): Promise<string> {
  const bytes = new TextEncoder().encode(JSON.stringify(OS_IMAGE_RECIPE));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest.slice(0, 6), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    const tail = new TextDecoder().decode(out.stderr).split("\n").slice(-15).join("\n");
    throw new Error(`${cmd} ${args.join(" ")}: exit ${out.code}\n${tail}`);
  }
}

/** The cached Debian OS tarball, built first when missing. */
export async function debianOsTarball(): Promise<string> {
  const tarball = join(
    OS_IMAGE_CACHE,
    `debian-${OS_IMAGE_RECIPE.suite}-systemd-${await recipeHash()}.tar`,
  );
  Deno.mkdirSync(OS_IMAGE_CACHE, { recursive: true });
  const lock = await Deno.open(join(OS_IMAGE_CACHE, ".lock"), { create: true, write: true });
  try {
    await lock.lock(true);
    try {
      Deno.statSync(tarball);
      return tarball;
    } catch { /* build it */ }
    const work = Deno.makeTempDirSync({ dir: "/dev/shm", prefix: "tsnspawn-os-image-" });
    try {
      const root = join(work, "root");
      const r = OS_IMAGE_RECIPE;
      await run("debootstrap", [
        `--variant=${r.variant}`,
        `--include=${r.include.join(",")}`,
        r.suite,
        root,
        r.mirror,
      ]);
      for (const dir of r.trim) Deno.removeSync(join(root, dir), { recursive: true });
      const partial = `${tarball}.partial-${Deno.pid}`;
      await run("tar", ["--numeric-owner", "--xattrs", "-C", root, "-cf", partial, "."]);
      Deno.renameSync(partial, tarball);
    } finally {
      Deno.removeSync(work, { recursive: true });
    }
    return tarball;
  } finally {
    lock.close();
  }
}

/** Imports the Debian OS image into `host` as `name`. */
export async function importDebianOs(host: TestHost, name = "debian:12"): Promise<void> {
  const tarball = await debianOsTarball();
  await host.run(tsnspawnArgv(["import", tarball, name]), { check: true, timeoutMs: 120_000 });
}

/** Imports a broken OS image (/sbin/init says so on the console and exits 1) as `name`. */
export async function importBrokenOs(host: TestHost, name = "broken-os:1"): Promise<void> {
  const script = [
    "mkdir -p /tmp/broken-os/sbin",
    `printf '#!/bin/sh\\necho "init: cannot find the root file system" > /dev/console\\n` +
    `echo "init: giving up" >&2\\nexit 1\\n' > /tmp/broken-os/sbin/init`,
    "chmod 755 /tmp/broken-os/sbin/init",
    `sh ${REPO}/examples/busybox-rootfs.sh /tmp/broken-os.tar /tmp/broken-os`,
  ].join(" && ");
  await host.run(["sh", "-c", script], { check: true });
  await host.run(tsnspawnArgv(["import", "/tmp/broken-os.tar", name]), { check: true });
}

// `deno run -A tests/os_image.ts`: builds the tarball if needed and prints its path (bench/machines.sh).
if (import.meta.main) console.log(await debianOsTarball());

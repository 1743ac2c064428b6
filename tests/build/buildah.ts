/**
 * Building the same Containerfile with tsnspawn and with buildah (Debian's
 * `buildah`, installed by ./setup) inside one test host, and comparing the
 * results: the flattened root file systems (tests/build/rootfs_listing.ts:
 * path, type, mode, owner, size, content hash, symlink target), the config
 * fields docker defines, and the number of layers.
 *
 * Both start from the same base: the busybox image tsnspawn imported, saved
 * as an OCI archive and copied into buildah's store with skopeo, tagged
 * `localhost/busybox` in both. buildah builds with `--layers` (one layer per
 * RUN/COPY/ADD, as tsnspawn and docker) and `--format docker` (the OCI format
 * drops Healthcheck, OnBuild and Shell). The label `io.buildah.version`
 * buildah adds is left out of the comparison.
 */
import { assert, assertEquals } from "@std/assert";
import { dirname } from "@std/path";
import { type CoreHost, DENO, REPO } from "../helpers.ts";

/** A file of a test's build context: text, or text with a mode. */
export type ContextFile = string | { text: string; mode?: number } | { bytes: Uint8Array };

/** Writes a build context into the test host at `dir`. */
export function writeContext(
  core: CoreHost,
  dir: string,
  files: Record<string, ContextFile>,
): void {
  Deno.mkdirSync(core.host.path(dir), { recursive: true });
  for (const [name, file] of Object.entries(files)) {
    const path = core.host.path(`${dir}/${name}`);
    Deno.mkdirSync(dirname(path), { recursive: true });
    if (typeof file === "string") Deno.writeTextFileSync(path, file);
    else if ("bytes" in file) Deno.writeFileSync(path, file.bytes);
    else {
      Deno.writeTextFileSync(path, file.text);
      if (file.mode !== undefined) Deno.chmodSync(path, file.mode);
    }
  }
}

/** Gives buildah a store on tmpfs and the same busybox base as tsnspawn (`localhost/busybox`). */
export async function prepareBuildah(core: CoreHost): Promise<void> {
  await core.shOk(
    [
      "mkdir -p /var/lib/containers /run/containers",
      "mount -t tmpfs tmpfs /var/lib/containers",
      "mkdir -p /etc/containers",
      // Short names must not reach out to registries (there is no network).
      "printf 'unqualified-search-registries = []\\nshort-name-mode = \"disabled\"\\n' > /etc/containers/registries.conf",
    ].join(" && "),
  );
  await core.tsnOk(["tag", "busybox", "localhost/busybox:latest"]);
  await core.tsnOk(["save", "-o", "/tmp/busybox-oci.tar", "localhost/busybox:latest"]);
  await core.shOk(
    "skopeo copy --quiet oci-archive:/tmp/busybox-oci.tar containers-storage:localhost/busybox:latest",
  );
}

/** One entry of a flattened root file system (rootfs_listing.ts). */
export interface RootfsEntry {
  path: string;
  type: string;
  mode: string;
  uid: number;
  gid: number;
  size?: number;
  sha256?: string;
  link?: string;
}

async function listing(core: CoreHost, tar: string): Promise<RootfsEntry[]> {
  const out = await core.shOk(
    `${DENO} run -A --quiet ${REPO}/tests/build/rootfs_listing.ts ${tar}`,
  );
  return out.trim().split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
}

/** The flattened root file system of a tsnspawn image. */
export async function tsnspawnRootfs(core: CoreHost, image: string): Promise<RootfsEntry[]> {
  const name = `flat-${crypto.randomUUID().slice(0, 8)}`;
  await core.tsnOk(["create", "--name", name, "--network", "none", image, "true"]);
  await core.tsnOk(["export", name, "-o", `/tmp/${name}.tar`]);
  await core.tsnOk(["rm", name]);
  return await listing(core, `/tmp/${name}.tar`);
}

/**
 * The flattened root file system of a buildah image: the image itself
 * mounted (`podman image mount`, the same store), since `buildah from` would
 * run its ONBUILD triggers.
 */
export async function buildahRootfs(core: CoreHost, image: string): Promise<RootfsEntry[]> {
  const tar = `/tmp/buildah-${crypto.randomUUID().slice(0, 8)}.tar`;
  await core.shOk(
    `m=$(podman image mount ${image}) && tar --numeric-owner --xattrs -C "$m" -cf ${tar} . && ` +
      `podman image umount ${image} >/dev/null`,
  );
  return (await listing(core, tar)).filter((e) => !isBuildahPlaceholder(e));
}

/**
 * buildah 1.28 (Debian 12) commits the mount points of the files it
 * bind-mounts into RUN containers as empty mode-0700 files (fixed in later
 * buildah; docker never commits them, nor does tsnspawn): exactly these are
 * not compared.
 */
function isBuildahPlaceholder(entry: RootfsEntry): boolean {
  return ["/etc/hostname", "/etc/hosts", "/etc/resolv.conf"].includes(entry.path) &&
    entry.type === "file" && entry.size === 0 && entry.mode === "700";
}

/** The config fields compared (docker's image spec). */
export const CONFIG_FIELDS = [
  "User",
  "ExposedPorts",
  "Env",
  "Entrypoint",
  "Cmd",
  "Healthcheck",
  "Volumes",
  "WorkingDir",
  "Labels",
  "StopSignal",
  "OnBuild",
  "Shell",
] as const;

/** The compared fields of a config, with empty values and buildah's own label left out. */
export function comparableConfig(config: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of CONFIG_FIELDS) {
    let value = config[field];
    if (field === "Labels" && value && typeof value === "object") {
      const { "io.buildah.version": _, ...rest } = value as Record<string, string>;
      value = rest;
    }
    const empty = value === undefined || value === null || value === "" ||
      (Array.isArray(value) && value.length === 0) ||
      (typeof value === "object" && value !== null && Object.keys(value).length === 0);
    if (!empty) out[field] = value;
  }
  return out;
}

/** An image's config and layer count, from tsnspawn. */
export async function tsnspawnImage(
  core: CoreHost,
  image: string,
): Promise<{ config: Record<string, unknown>; layers: number; history: number }> {
  const [inspect] = JSON.parse(await core.tsnOk(["image", "inspect", image]));
  return {
    config: inspect.Config,
    layers: inspect.RootFS.diff_ids.length,
    history: inspect.History.length,
  };
}

/** An image's config and layer count, from buildah (docker format). */
export async function buildahImage(
  core: CoreHost,
  image: string,
): Promise<{ config: Record<string, unknown>; layers: number; history: number }> {
  const inspect = JSON.parse(await core.shOk(`buildah inspect --type image ${image}`));
  return {
    config: inspect.Docker.config,
    layers: inspect.Docker.rootfs.diff_ids.length,
    history: inspect.Docker.history.length,
  };
}

/** Lines of `a` and `b` that differ, as a readable diff (first 30). */
function diffEntries(ours: RootfsEntry[], theirs: RootfsEntry[]): string[] {
  const a = new Map(ours.map((e) => [e.path, JSON.stringify(e)]));
  const b = new Map(theirs.map((e) => [e.path, JSON.stringify(e)]));
  const lines: string[] = [];
  for (const path of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    if (a.get(path) === b.get(path)) continue;
    lines.push(`- tsnspawn: ${a.get(path) ?? "(none)"}\n  buildah:  ${b.get(path) ?? "(none)"}`);
  }
  return lines.slice(0, 30);
}

/** Builds `dir` with both tools as `localhost/<tag>` and asserts they agree. */
export async function compareBuilds(
  core: CoreHost,
  dir: string,
  tag: string,
  extra: { tsnspawn?: string[]; buildah?: string[] } = {},
): Promise<{ entries: RootfsEntry[]; config: Record<string, unknown> }> {
  const image = `localhost/${tag}:latest`;
  await core.tsnOk(["build", "-q", "-t", image, ...(extra.tsnspawn ?? []), dir]);
  const built = await core.sh(
    `buildah build --layers --format docker --pull=never -q -t ${image} ${
      (extra.buildah ?? []).join(" ")
    } ${dir}`,
  );
  assert(built.code === 0, `buildah build failed:\n${built.stdout}\n${built.stderr}`);
  const ours = await tsnspawnRootfs(core, image);
  const theirs = await buildahRootfs(core, image);
  const differences = diffEntries(ours, theirs);
  assert(
    differences.length === 0,
    `${tag}: the root file systems differ (${ours.length} against ${theirs.length} entries):\n${
      differences.join("\n")
    }`,
  );
  const mine = await tsnspawnImage(core, image);
  const other = await buildahImage(core, image);
  assertEquals(comparableConfig(mine.config), comparableConfig(other.config), `${tag}: config`);
  assertEquals(mine.layers, other.layers, `${tag}: number of layers`);
  return { entries: ours, config: mine.config };
}

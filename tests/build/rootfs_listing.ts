/**
 * Prints what a flattened root file system tarball holds, one JSON object
 * per entry, sorted by path: path, type, mode (octal), uid, gid, and for
 * files size and sha256, for symlinks the target. Times are left out. A hard
 * link is listed as the file it links to (tools differ in which path of a
 * link set carries the data). Runs inside a test host:
 *
 *   deno run -A tests/build/rootfs_listing.ts ROOTFS.tar
 *
 * Used by tests/build_compare_test.ts to compare tsnspawn's and buildah's
 * images of the same Containerfile.
 */
import { readTar } from "../../src/image/tar.ts";
import { createSha256 } from "../../src/oci/digest.ts";

interface Entry {
  path: string;
  type: string;
  mode: string;
  uid: number;
  gid: number;
  size?: number;
  sha256?: string;
  link?: string;
}

function clean(path: string): string {
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  return `/${parts.join("/")}`;
}

const entries = new Map<string, Entry>();
const file = await Deno.open(Deno.args[0]);
for await (const { header, body } of readTar(file.readable)) {
  const path = clean(header.path);
  if (path === "/") {
    for await (const _ of body) { /* drain */ }
    continue;
  }
  const entry: Entry = {
    path,
    type: header.type,
    mode: header.mode.toString(8),
    uid: header.uid,
    gid: header.gid,
  };
  if (header.type === "file") {
    const hash = createSha256();
    let size = 0;
    for await (const chunk of body) {
      hash.update(chunk);
      size += chunk.length;
    }
    entry.size = size;
    entry.sha256 = hash.digest();
  } else if (header.type === "symlink") {
    entry.link = header.linkname;
  } else if (header.type === "hardlink") {
    const target = entries.get(clean(header.linkname));
    if (target) Object.assign(entry, { type: "file", size: target.size, sha256: target.sha256 });
  }
  entries.set(path, entry);
}
const sorted = [...entries.values()].sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
console.log(sorted.map((e) => JSON.stringify(e)).join("\n"));

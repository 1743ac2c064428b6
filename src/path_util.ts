/**
 * POSIX path helpers for the modules that the container's own processes load
 * (shim, stage two, stop, cleanup, exec stage; src/runtime/graph_test.ts
 * checks what they reach) and for `pull`'s path (registry/pull.ts,
 * image/store.ts, registry/config.ts).
 *
 * Why not `@std/path`: it is an npm package (npm:deno-std), and loading an
 * npm module costs a Deno process milliseconds of npm resolution. The
 * container's start path runs three Deno processes, so their module graphs
 * stay free of npm packages. The rest of the command line side keeps using
 * `@std/path`. These functions behave like `@std/path/posix` for the paths
 * tsnspawn builds (absolute or relative POSIX paths, no file URLs except in
 * `fromFileUrl`); `src/path_util_test.ts` compares them.
 */

/** Normalizes a POSIX path: collapses `//`, resolves `.` and `..`, keeps a trailing `/`. */
export function normalize(path: string): string {
  if (path === "") return ".";
  const absolute = path.startsWith("/");
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!absolute) out.push("..");
      continue;
    }
    out.push(part);
  }
  let joined = out.join("/");
  if (!absolute && joined === "") joined = ".";
  if (joined !== "" && path.endsWith("/")) joined += "/";
  return absolute ? "/" + joined : joined;
}

/** Joins path segments with `/` and normalizes the result (empty segments are skipped). */
export function join(...paths: string[]): string {
  const parts = paths.filter((p) => p !== "");
  return parts.length === 0 ? "." : normalize(parts.join("/"));
}

/** The directory part of `path` ("." for a bare name, "/" for the root). */
export function dirname(path: string): string {
  if (path === "") return ".";
  let end = path.length;
  while (end > 1 && path[end - 1] === "/") end--; // trailing slashes
  const slash = path.lastIndexOf("/", end - 1);
  if (slash === -1) return ".";
  let dirEnd = slash;
  while (dirEnd > 0 && path[dirEnd - 1] === "/") dirEnd--;
  return dirEnd === 0 ? "/" : path.slice(0, dirEnd);
}

/** The last component of `path` (trailing slashes ignored). */
export function basename(path: string): string {
  let end = path.length;
  while (end > 1 && path[end - 1] === "/") end--;
  const trimmed = path.slice(0, end);
  if (trimmed === "/") return "/";
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}

/** The relative path from absolute `from` to absolute `to` ("" when equal). */
export function relative(from: string, to: string): string {
  const a = normalize(from).split("/").filter((p) => p !== "");
  const b = normalize(to).split("/").filter((p) => p !== "");
  let common = 0;
  while (common < a.length && common < b.length && a[common] === b[common]) common++;
  return [...a.slice(common).map(() => ".."), ...b.slice(common)].join("/");
}

/** The path of a `file:` URL (percent-decoded). */
export function fromFileUrl(url: string | URL): string {
  const u = url instanceof URL ? url : new URL(url);
  if (u.protocol !== "file:") throw new TypeError(`not a file URL: ${u.href}`);
  return decodeURIComponent(u.pathname.replace(/%(?![0-9A-Fa-f]{2})/g, "%25"));
}

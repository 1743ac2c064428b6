/**
 * Lexical path cleaning (pure), Go's path.Clean: the rule docker applies to
 * .dockerignore patterns, WORKDIR and copy destinations. `.` and empty
 * elements go, `..` removes the element before it (never above `/`), no
 * trailing slash; an empty result is `.`.
 */

/** Go's filepath.Clean for slash-separated paths. */
export function cleanPath(path: string): string {
  if (path === "") return ".";
  const rooted = path.startsWith("/");
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (parts.length > 0 && parts[parts.length - 1] !== "..") parts.pop();
      else if (!rooted) parts.push("..");
      continue;
    }
    parts.push(part);
  }
  const joined = parts.join("/");
  return rooted ? `/${joined}` : joined === "" ? "." : joined;
}

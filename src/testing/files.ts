/** File helpers for tests. */

/** Whether anything (a dangling symlink too) is at `path`. */
export function lexists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

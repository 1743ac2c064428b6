/**
 * Syntax of image references in FROM and --from (pure), the grammar of
 * distribution/reference: `[host[:port]/]path[:tag][@digest]` with lower-case
 * path components. Used to tell an image from a misspelt stage name before
 * anything is pulled; resolving and pulling is the image store's business.
 */

/** A syntactic docker image reference: [host[:port]/]path[:tag][@digest]. */
const COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const HOST =
  "(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*" +
  "|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?";
const REFERENCE = new RegExp(
  `^(?:${HOST}/)?${COMPONENT}(?:/${COMPONENT})*(?::\\w[\\w.-]{0,127})?` +
    "(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$",
  "u",
);

/** Whether `ref` is a syntactically valid image reference. */
export function isImageReference(ref: string): boolean {
  return ref.length <= 255 && REFERENCE.test(ref);
}

/**
 * `GET /images/json`: which images a listing shows and under which tags,
 * from `filters`, over facts the effectful half gathers (pure).
 *
 * Semantics are moby's (daemon/images/image_list.go): `reference` is a
 * `path.Match` glob against each tag or digest reference in familiar form
 * (`busybox:latest`) or against its name alone (`busybox`), and narrows the
 * listed RepoTags/RepoDigests to the matching ones; `dangling=true` lists only
 * untagged images and `dangling=false` only tagged ones; `label` must match
 * all given labels; `before`/`since` name an image whose creation time
 * bounds the list; `until` is a timestamp. Untagged images are listed unless
 * a `reference` or `dangling=false` filter is given.
 *
 * References: Docker Engine API v1.44 `GET /images/json`; moby v28.2.2
 * daemon/images/image_list.go, distribution/reference FamiliarMatch;
 * research notes /work/shared/research/docker-api.md §6 tier 1 row 19.
 */
import { noSuch } from "./errors.ts";
import {
  checkFilterKeys,
  filterBool,
  type Filters,
  filterValues,
  globToRegExp,
  hasFilter,
  labelsMatch,
} from "./filters.ts";
import { parseTimestamp } from "./request.ts";

/** The filters `GET /images/json` accepts (moby's acceptedImageFilterTags). */
export const IMAGE_FILTERS = [
  "before",
  "dangling",
  "label",
  "reference",
  "since",
  "until",
] as const;

/** What an image listing is filtered on. */
export interface ImageListFacts {
  /** "sha256:..." of the config. */
  id: string;
  /** Tags in familiar form: `busybox:latest`, `ghcr.io/a/b:1` (oci/reference.ts familiarName + tag). */
  repoTags: readonly string[];
  /** Digest references in familiar form: `busybox@sha256:...`. */
  repoDigests: readonly string[];
  /** Creation time from the image config, unix seconds (0 when unknown). */
  created: number;
  labels: Readonly<Record<string, string>> | null;
}

/** The listing request. */
export interface ImageListQuery {
  filters: Filters;
  /** For `until` durations ("10m"). */
  now: Date;
  /** Creation time (unix seconds) of the image a `before`/`since` value names, or undefined. */
  resolveCreated: (reference: string) => number | undefined;
}

/** The familiar name of a familiar reference: the tag or digest cut off. */
export function familiarNameOf(reference: string): string {
  const at = reference.indexOf("@");
  const withoutDigest = at === -1 ? reference : reference.slice(0, at);
  const slash = withoutDigest.lastIndexOf("/");
  const colon = withoutDigest.indexOf(":", slash + 1);
  return colon === -1 ? withoutDigest : withoutDigest.slice(0, colon);
}

/** `reference.FamiliarMatch`: the glob matches the whole reference or its name. */
export function referenceMatches(pattern: RegExp, reference: string): boolean {
  return pattern.test(reference) || pattern.test(familiarNameOf(reference));
}

/**
 * The images a listing shows, in the given order, each with its RepoTags and
 * RepoDigests narrowed by the `reference` filter. Throws a 400 for unknown
 * filters or bad values, a 404 for a `before`/`since` image that does not exist.
 */
export function selectImages<T extends ImageListFacts>(
  images: readonly T[],
  query: ImageListQuery,
): T[] {
  const { filters } = query;
  checkFilterKeys(filters, IMAGE_FILTERS);
  const danglingOnly = filterBool(filters, "dangling", false);
  const created = (reference: string) => {
    const time = query.resolveCreated(reference);
    if (time === undefined) throw noSuch("image", reference);
    return time;
  };
  // Several values AND together: the oldest `before`, the newest `since`.
  const bounds = [
    ...filterValues(filters, "before").map(created),
    ...filterValues(filters, "until").map((v) =>
      Number(parseTimestamp(v, query.now, "until") / 1_000_000_000n)
    ),
  ];
  const before = bounds.length > 0 ? Math.min(...bounds) : undefined;
  const sinces = filterValues(filters, "since").map(created);
  const since = sinces.length > 0 ? Math.max(...sinces) : undefined;
  const patterns = filterValues(filters, "reference").map(globToRegExp);

  const result: T[] = [];
  for (const image of images) {
    if (before !== undefined && !(image.created > 0 && image.created < before)) continue;
    if (since !== undefined && !(image.created > since)) continue;
    if (hasFilter(filters, "label") && !labelsMatch(filters, "label", image.labels)) continue;
    const keep = (reference: string) =>
      patterns.length === 0 || patterns.some((p) => referenceMatches(p, reference));
    const repoTags = image.repoTags.filter(keep);
    const repoDigests = image.repoDigests.filter(keep);
    if (repoTags.length === 0 && repoDigests.length === 0) {
      // Untagged (or no reference matched).
      if (patterns.length > 0) continue;
      if (hasFilter(filters, "dangling") && !danglingOnly) continue;
    } else if (danglingOnly && repoTags.length > 0) {
      continue;
    }
    result.push({ ...image, repoTags, repoDigests });
  }
  return result;
}

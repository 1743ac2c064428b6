/**
 * Image references, parsed and normalized the way docker does it (pure).
 *
 * Grammar (github.com/distribution/reference, `reference.go`):
 *
 *   reference        := name [ ":" tag ] [ "@" digest ]
 *   name             := [domain "/"] path-component ["/" path-component]*
 *   domain           := host [":" port-number]
 *   host             := domain-name | "[" IPv6address "]"
 *   domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
 *   path-component   := alpha-numeric [separator alpha-numeric]*
 *   alpha-numeric    := /[a-z0-9]+/
 *   separator        := /[_.]|__|[-]+/
 *   tag              := /[\w][\w.-]{0,127}/
 *   digest           := algorithm ":" hex   (sha256: 64 hex, sha512: 128 hex)
 *
 * Normalization (`normalize.go`): the first component is a domain only if it
 * contains "." or ":", is "localhost", or has an upper-case letter; otherwise
 * the domain is `docker.io`, and a single-component docker.io path gets the
 * `library/` prefix. `index.docker.io` is the same as `docker.io`. A reference
 * without tag and digest gets the tag `latest`. A name made only of 64 hex
 * digits is refused (it would be confused with an image id).
 */
import { TsnspawnError } from "../errors.ts";

/** A parsed, normalized image reference. */
export interface ImageReference {
  /** Registry host with optional port, e.g. "docker.io", "localhost:5000". */
  domain: string;
  /** Repository path below the domain, e.g. "library/busybox". */
  path: string;
  /** Tag; `latest` when neither tag nor digest was given. */
  tag?: string;
  /** Content digest, e.g. "sha256:<64 hex>". */
  digest?: string;
}

/** The default registry. */
export const DEFAULT_DOMAIN = "docker.io";
const LEGACY_DEFAULT_DOMAIN = "index.docker.io";
const OFFICIAL_REPO_PREFIX = "library/";
/** The tag given to references that have neither tag nor digest. */
export const DEFAULT_TAG = "latest";
const NAME_TOTAL_LENGTH_MAX = 255;

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[_.]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const IPV6_HOST = /^\[[a-fA-F0-9:]+\]$/;
const PORT = /^[0-9]+$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const ANCHORED_HEX_64 = /^[a-f0-9]{64}$/;
const DIGEST_LENGTHS: Record<string, number> = { sha256: 64, sha512: 128 };

function invalid(input: string, why: string): TsnspawnError {
  const shown = input.length > 300 ? `${input.slice(0, 300)}…` : input;
  return new TsnspawnError(
    "invalid",
    `image reference ${JSON.stringify(shown)}: ${why}`,
    { hint: "use NAME[:TAG][@DIGEST], e.g. busybox:latest or quay.io/org/app:1.2" },
  );
}

/** Checks "algorithm:hex"; returns why it is malformed, or undefined if fine. */
export function checkDigest(digest: string): string | undefined {
  const colon = digest.indexOf(":");
  if (colon <= 0) return `digest "${digest}" lacks an algorithm`;
  const algorithm = digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  const length = DIGEST_LENGTHS[algorithm];
  if (length === undefined) {
    return `unsupported digest algorithm "${algorithm}" (use sha256 or sha512)`;
  }
  if (hex.length !== length || !/^[a-f0-9]+$/.test(hex)) {
    return `${algorithm} digest must be ${length} lower-case hex digits`;
  }
  return undefined;
}

function checkDomain(domain: string): string | undefined {
  let host = domain;
  if (domain.startsWith("[")) {
    const end = domain.indexOf("]");
    if (end < 0) return `invalid registry "${domain}"`;
    host = domain.slice(0, end + 1);
    const rest = domain.slice(end + 1);
    if (!IPV6_HOST.test(host)) return `invalid registry "${domain}"`;
    if (rest !== "" && !(rest.startsWith(":") && PORT.test(rest.slice(1)))) {
      return `invalid registry port in "${domain}"`;
    }
    return undefined;
  }
  const colon = domain.indexOf(":");
  if (colon >= 0) {
    host = domain.slice(0, colon);
    if (!PORT.test(domain.slice(colon + 1))) {
      return `invalid registry port in "${domain}"`;
    }
  }
  if (!host.split(".").every((c) => DOMAIN_COMPONENT.test(c))) {
    return `invalid registry "${domain}"`;
  }
  return undefined;
}

/** Whether `input` is a valid image reference (what {@link parseReference} accepts). */
export function isValidReference(input: string): boolean {
  try {
    parseReference(input);
    return true;
  } catch {
    return false;
  }
}

/**
 * Parses and normalizes an image reference.
 *
 * @throws {TsnspawnError} code "invalid", naming the reference and the reason.
 */
export function parseReference(input: string): ImageReference {
  if (input === "") throw invalid(input, "empty");
  if (/\s/.test(input)) throw invalid(input, "contains white space");

  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    const why = checkDigest(digest);
    if (why) throw invalid(input, why);
  }

  // The tag follows the last ":" that comes after the last "/" (a ":" before
  // it belongs to a registry port).
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) {
      throw invalid(
        input,
        `invalid tag "${tag}" (letters, digits, "_", "." and "-", at most 128, not starting with "." or "-")`,
      );
    }
  }
  if (rest === "") throw invalid(input, "repository name is empty");
  if (rest.length > NAME_TOTAL_LENGTH_MAX) {
    throw invalid(input, `repository name longer than ${NAME_TOTAL_LENGTH_MAX} characters`);
  }

  let domain = DEFAULT_DOMAIN;
  let path = rest;
  const slash = rest.indexOf("/");
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (
      first.includes(".") || first.includes(":") || first === "localhost" ||
      first.toLowerCase() !== first
    ) {
      domain = first;
      path = rest.slice(slash + 1);
      const why = checkDomain(domain);
      if (why) throw invalid(input, why);
    }
  } else if (ANCHORED_HEX_64.test(rest)) {
    throw invalid(input, "a repository name cannot be a 64-digit hex string (that is an image id)");
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (path === "") throw invalid(input, "repository path is empty");
  if (path.toLowerCase() !== path) {
    throw invalid(input, "repository name must be lowercase");
  }
  for (const component of path.split("/")) {
    if (!PATH_COMPONENT.test(component)) {
      throw invalid(
        input,
        component === ""
          ? "repository path has an empty component"
          : `invalid repository component "${component}" (lower-case letters and digits, separated by ".", "_", "__" or "-")`,
      );
    }
  }
  if (domain === DEFAULT_DOMAIN && !path.includes("/")) {
    path = OFFICIAL_REPO_PREFIX + path;
  }
  if (domain.length + 1 + path.length > NAME_TOTAL_LENGTH_MAX) {
    throw invalid(input, `repository name longer than ${NAME_TOTAL_LENGTH_MAX} characters`);
  }
  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;
  const ref: ImageReference = { domain, path };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** The repository name, "domain/path", e.g. "docker.io/library/busybox". */
export function repositoryName(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** The fully qualified form, e.g. "docker.io/library/busybox:latest". */
export function formatReference(ref: ImageReference): string {
  return repositoryName(ref) + (ref.tag !== undefined ? `:${ref.tag}` : "") +
    (ref.digest !== undefined ? `@${ref.digest}` : "");
}

/** Parses and returns the fully qualified form ("busybox" → "docker.io/library/busybox:latest"). */
export function normalizeReference(input: string): string {
  return formatReference(parseReference(input));
}

/**
 * The short form for display, as docker shows it:
 * "docker.io/library/busybox:latest" → "busybox:latest",
 * "docker.io/user/app:1" → "user/app:1"; other registries are kept.
 */
export function familiarName(ref: ImageReference | string): string {
  const r = typeof ref === "string" ? parseReference(ref) : ref;
  let name = repositoryName(r);
  if (r.domain === DEFAULT_DOMAIN) {
    name = r.path.startsWith(OFFICIAL_REPO_PREFIX) &&
        !r.path.slice(OFFICIAL_REPO_PREFIX.length).includes("/")
      ? r.path.slice(OFFICIAL_REPO_PREFIX.length)
      : r.path;
  }
  return name + (r.tag !== undefined ? `:${r.tag}` : "") +
    (r.digest !== undefined ? `@${r.digest}` : "");
}

/**
 * Parses a reference an image is to be stored under (import, commit, tag):
 * NAME[:TAG], never a digest — a digest names content, it cannot be given
 * to new content. `action` words the error ("import under", "commit to").
 */
export function parseTagTarget(input: string, action: string): ImageReference {
  const ref = parseReference(input);
  if (ref.digest !== undefined) {
    throw new TsnspawnError("invalid", `image reference "${input}": cannot ${action} a digest`, {
      hint: "give NAME[:TAG]",
    });
  }
  return ref;
}

/**
 * `COPY/ADD --chown=user[:group]` to numeric ids (pure), with the stage's
 * /etc/passwd and /etc/group (passwd(5), group(5)).
 *
 * Spec: Dockerfile reference "COPY --chown": names are looked up in the
 * container's root file system's /etc/passwd and /etc/group, and the build
 * fails if a name is not found; numbers are taken as they are. Without a
 * group, a user name gets its primary group from /etc/passwd and a UID the
 * same number as GID (buildah's behaviour, which tests/build_compare_test.ts
 * checks; the Dockerfile reference says "the same numeric UID as the GID"
 * for both).
 */
import { TsnspawnError } from "../errors.ts";

const MAX_ID = 0xffffffff - 1;

/** The id of `name` in passwd(5) or group(5) text, or undefined. */
export function lookupId(text: string, name: string): number | undefined {
  return findEntry(text, (fields) => fields[0] === name)?.id;
}

/** The first passwd(5)/group(5) line `match` accepts: its id and (passwd) primary gid. */
function findEntry(
  text: string,
  match: (fields: string[]) => boolean,
): { id: number; gid?: number } | undefined {
  for (const line of text.split("\n")) {
    const fields = line.split(":");
    if (fields.length >= 3 && /^\d+$/u.test(fields[2]) && match(fields)) {
      return {
        id: Number(fields[2]),
        ...(/^\d+$/u.test(fields[3] ?? "") ? { gid: Number(fields[3]) } : {}),
      };
    }
  }
  return undefined;
}

function resolvePart(
  part: string,
  text: string,
  what: "user" | "group",
  spec: string,
): number {
  if (/^\d+$/u.test(part)) {
    const id = Number(part);
    if (id > MAX_ID) {
      throw new TsnspawnError("invalid", `--chown=${spec}: ${what} id ${part} is out of range`);
    }
    return id;
  }
  const id = lookupId(text, part);
  if (id === undefined) {
    const file = what === "user" ? "/etc/passwd" : "/etc/group";
    throw new TsnspawnError(
      "invalid",
      `--chown=${spec}: ${what} ${JSON.stringify(part)} is not in the image's ${file}`,
      { hint: `use a numeric id, or a ${what} that exists in the stage` },
    );
  }
  return id;
}

/** Resolves a --chown value; names need the stage's passwd and group texts ("" when absent). */
export function resolveChown(
  spec: string,
  passwd: string,
  group: string,
): { uid: number; gid: number } {
  const parts = spec.split(":");
  if (parts.length > 2 || parts.some((p) => p === "")) {
    throw new TsnspawnError("invalid", `--chown=${spec}: expected user[:group]`, {
      hint: "e.g. --chown=app:app or --chown=1000:1000",
    });
  }
  const uid = resolvePart(parts[0], passwd, "user", spec);
  if (parts.length === 2) return { uid, gid: resolvePart(parts[1], group, "group", spec) };
  if (/^\d+$/u.test(parts[0])) return { uid, gid: uid };
  return { uid, gid: findEntry(passwd, (fields) => fields[0] === parts[0])?.gid ?? uid };
}

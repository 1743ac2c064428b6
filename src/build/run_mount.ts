/**
 * `RUN --mount=...` specifications (pure): parsing the comma-separated
 * `key=value` list into a typed RunMount and printing it back.
 *
 * Spec: Dockerfile reference, "RUN --mount"
 * (https://docs.docker.com/reference/dockerfile/#run---mount), with BuildKit's
 * option names and defaults: type bind (default), cache or tmpfs; `target`
 * (also `dst`, `destination`); `source`/`src`; `from`; `ro`/`readonly`,
 * `rw`/`readwrite` (bind is read-only by default, cache and tmpfs writable);
 * cache `id`, `sharing`, `mode`, `uid`, `gid`; tmpfs `size`.
 *
 * Decision: `type=secret` and `type=ssh` are rejected — `tsnspawn build` has
 * no `--secret`/`--ssh` options to feed them. A `from` cannot hold variables
 * (BuildKit's rule: define an alias stage instead).
 */
import { TsnspawnError } from "../errors.ts";
import type { RunMount } from "./instructions.ts";

function problem(message: string, hint?: string): TsnspawnError {
  return new TsnspawnError("invalid", message, {
    hint: hint ??
      "write --mount=type=bind|cache|tmpfs,target=/path[,source=..][,from=stage][,ro|rw]",
  });
}

/** Fields of a CSV line (RFC 4180 quoting with double quotes). */
function csvFields(text: string): string[] {
  const fields: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field === "") quoted = true;
    else if (ch === ",") {
      fields.push(field);
      field = "";
    } else field += ch;
  }
  if (quoted) throw problem(`unterminated quote in --mount=${text}`);
  fields.push(field);
  return fields;
}

function parseBool(key: string, value: string): boolean {
  const lower = value.toLowerCase();
  if (["1", "t", "true"].includes(lower)) return true;
  if (["0", "f", "false"].includes(lower)) return false;
  throw problem(`invalid value for ${key}: ${value}`);
}

function parseUint(key: string, value: string, radix: 8 | 10): number {
  const pattern = radix === 8 ? /^[0-7]+$/u : /^\d+$/u;
  const number = pattern.test(value) ? parseInt(value, radix) : NaN;
  if (!Number.isSafeInteger(number) || number > 0xffffffff) {
    throw problem(`invalid value ${value} for ${key}`);
  }
  return number;
}

/** "64m", "1g", "512k", "1048576" → bytes (binary units, as docker's RAMInBytes). */
function parseSize(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?$/iu.exec(value);
  if (!match) throw problem(`invalid value for size: ${value}`);
  const power = " kmgtp".indexOf(match[2].toLowerCase() || " ");
  return Math.floor(Number(match[1]) * 1024 ** power);
}

const KEYS = [
  "type",
  "from",
  "source",
  "src",
  "target",
  "dst",
  "destination",
  "readonly",
  "ro",
  "readwrite",
  "rw",
  "id",
  "sharing",
  "mode",
  "uid",
  "gid",
  "size",
];

/** Parses the value of one `--mount=` option. */
export function parseRunMount(spec: string): RunMount {
  const mount: Partial<RunMount> & { type: RunMount["type"] } = { type: "bind" };
  let readOnly: boolean | undefined;
  for (const field of csvFields(spec)) {
    if (field === "") continue;
    const eq = field.indexOf("=");
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    const value = eq < 0 ? undefined : field.slice(eq + 1);
    if (value === undefined) {
      if (key === "ro" || key === "readonly") readOnly = true;
      else if (key === "rw" || key === "readwrite") readOnly = false;
      else throw problem(`invalid --mount field '${field}': it must be a key=value pair`);
      continue;
    }
    switch (key) {
      case "type": {
        const type = value.toLowerCase();
        if (type === "secret" || type === "ssh") {
          throw problem(
            `RUN --mount=type=${type} is not supported`,
            "tsnspawn build has no --secret or --ssh option; pass the file with COPY in an earlier stage instead",
          );
        }
        if (type !== "bind" && type !== "cache" && type !== "tmpfs") {
          throw problem(`unsupported mount type ${JSON.stringify(value)}`);
        }
        mount.type = type;
        break;
      }
      case "from":
        if (value.includes("$")) {
          throw problem(
            "--mount from= cannot use variables",
            "define a stage with FROM ${VAR} AS alias and mount from=alias",
          );
        }
        mount.from = value;
        break;
      case "source":
      case "src":
        mount.source = value;
        break;
      case "target":
      case "dst":
      case "destination":
        mount.target = value;
        break;
      case "readonly":
      case "ro":
        readOnly = parseBool(key, value);
        break;
      case "readwrite":
      case "rw":
        readOnly = !parseBool(key, value);
        break;
      case "id":
        mount.id = value;
        break;
      case "sharing": {
        const sharing = value.toLowerCase();
        if (sharing !== "shared" && sharing !== "private" && sharing !== "locked") {
          throw problem(
            `unsupported sharing value ${JSON.stringify(value)}`,
            "sharing is shared, private or locked",
          );
        }
        mount.sharing = sharing;
        break;
      }
      case "mode":
        mount.mode = parseUint(key, value, 8);
        break;
      case "uid":
        mount.uid = parseUint(key, value, 10);
        break;
      case "gid":
        mount.gid = parseUint(key, value, 10);
        break;
      case "size":
        mount.size = parseSize(value);
        break;
      default:
        throw problem(`unexpected key '${key}' in --mount`, `the keys are ${KEYS.join(", ")}`);
    }
  }
  return checkMount(mount, readOnly);
}

function checkMount(mount: Partial<RunMount> & { type: RunMount["type"] }, readOnly?: boolean) {
  if (!mount.target) throw problem("--mount needs a target");
  const cacheOnly = ["id", "sharing", "mode", "uid", "gid"] as const;
  for (const key of cacheOnly) {
    if (mount[key] !== undefined && mount.type !== "cache") {
      throw problem(`${key} is not allowed for ${mount.type} mounts`);
    }
  }
  if (mount.size !== undefined && mount.type !== "tmpfs") {
    throw problem(`size is not allowed for ${mount.type} mounts`);
  }
  if (mount.type === "tmpfs" && (mount.from !== undefined || mount.source !== undefined)) {
    throw problem("a tmpfs mount has no from or source");
  }
  return { ...mount, readOnly: readOnly ?? mount.type === "bind" } as RunMount;
}

/** The canonical `type=..,target=..` text of a mount (fixed key order). */
export function formatRunMount(mount: RunMount): string {
  const fields = [`type=${mount.type}`, `target=${mount.target}`];
  if (mount.source !== undefined) fields.push(`source=${mount.source}`);
  if (mount.from !== undefined) fields.push(`from=${mount.from}`);
  if (mount.id !== undefined) fields.push(`id=${mount.id}`);
  if (mount.sharing !== undefined) fields.push(`sharing=${mount.sharing}`);
  if (mount.mode !== undefined) fields.push(`mode=${mount.mode.toString(8)}`);
  if (mount.uid !== undefined) fields.push(`uid=${mount.uid}`);
  if (mount.gid !== undefined) fields.push(`gid=${mount.gid}`);
  if (mount.size !== undefined) fields.push(`size=${mount.size}`);
  if (mount.readOnly !== (mount.type === "bind")) fields.push(mount.readOnly ? "ro" : "rw");
  return fields.map((f) => /[",\s]/u.test(f) ? `"${f.replaceAll('"', '""')}"` : f).join(",");
}

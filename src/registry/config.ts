/**
 * Registry credentials and settings on disk (effects, with the lookups
 * themselves pure and exported for tests).
 *
 * Files:
 *   <config>/auth.json        written by `tsnspawn login`, mode 0600, in the
 *                             docker config format: {"auths": {"HOST": {"auth": base64(user:pass)}}}
 *   ~/.docker/config.json     read only: docker's and podman's logins are used too
 *   <config>/registries.json  {"insecure": ["HOST[:PORT]", ...]}: registries
 *                             reached over plain HTTP
 * <config> is $TSNSPAWN_ETC if set (tests), /etc/tsnspawn for root,
 * else ~/.config/tsnspawn. Credential helpers (`credsStore`) are not run.
 *
 * Reference: docker cli/config/configfile (the "auths" map and its keys,
 * Docker Hub's "https://index.docker.io/v1/").
 */
import { dirname, join } from "../path_util.ts";
import { TsnspawnError, withContext } from "../errors.ts";
import { registryHost } from "./protocol.ts";

/** A user name and password (or `<token>` and an identity token). */
export interface Credentials {
  username: string;
  password: string;
}

/** One entry of an "auths" map. */
export interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

/** The directory of tsnspawn's registry settings. */
export function configDir(): string {
  const override = Deno.env.get("TSNSPAWN_ETC");
  if (override) return override;
  if (Deno.uid() === 0) return "/etc/tsnspawn";
  return join(Deno.env.get("HOME") ?? "/root", ".config", "tsnspawn");
}

/** Path of the credentials file `login` writes. */
export function authFilePath(): string {
  return join(configDir(), "auth.json");
}

/**
 * The keys an "auths" map may use for `domain`, most specific first:
 * "host:port", "https://host:port", "http://host:port"; Docker Hub's
 * legacy "https://index.docker.io/v1/" for docker.io (pure).
 */
export function credentialKeys(domain: string): string[] {
  const keys = [domain, `https://${domain}`, `http://${domain}`];
  if (domain === "docker.io") {
    keys.push("https://index.docker.io/v1/", "index.docker.io", registryHost(domain));
  }
  return keys;
}

/** Finds the entry for `domain` in an "auths" map (keys may carry a path, e.g. "/v2/"). */
export function findAuthEntry(
  auths: Record<string, AuthEntry> | undefined,
  domain: string,
): AuthEntry | undefined {
  if (!auths) return undefined;
  for (const key of credentialKeys(domain)) {
    if (auths[key]) return auths[key];
  }
  for (const [key, entry] of Object.entries(auths)) {
    const bare = key.replace(/^https?:\/\//, "").replace(/\/.*$/, "");
    if (bare === domain) return entry;
  }
  return undefined;
}

/** Decodes an auth entry; undefined if it holds no usable credentials (pure). */
export function decodeAuthEntry(entry: AuthEntry): Credentials | undefined {
  if (entry.identitytoken) return { username: "<token>", password: entry.identitytoken };
  if (entry.username !== undefined && entry.password !== undefined) {
    return { username: entry.username, password: entry.password };
  }
  if (!entry.auth) return undefined;
  let text: string;
  try {
    text = new TextDecoder().decode(Uint8Array.from(atob(entry.auth), (c) => c.charCodeAt(0)));
  } catch {
    return undefined;
  }
  const colon = text.indexOf(":");
  if (colon <= 0) return undefined;
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** base64("user:pass") as docker stores it (pure). */
export function encodeAuth(credentials: Credentials): string {
  const bytes = new TextEncoder().encode(`${credentials.username}:${credentials.password}`);
  return btoa(String.fromCharCode(...bytes));
}

interface AuthFile {
  auths?: Record<string, AuthEntry>;
  [other: string]: unknown;
}

function readJsonFile<T>(path: string): T | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.PermissionDenied) {
      return undefined;
    }
    throw withContext(e, "system", `reading ${path}`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new TsnspawnError("invalid", `${path} is not valid JSON: ${(e as Error).message}`, {
      hint: "fix or remove the file",
      cause: e,
    });
  }
}

/** The stored credentials for `domain`: tsnspawn's own file first, then docker's. */
export function loadCredentials(domain: string): Credentials | undefined {
  const files = [authFilePath()];
  const home = Deno.env.get("HOME");
  if (home) files.push(join(home, ".docker", "config.json"));
  for (const file of files) {
    const entry = findAuthEntry(readJsonFile<AuthFile>(file)?.auths, domain);
    const credentials = entry && decodeAuthEntry(entry);
    if (credentials) return credentials;
  }
  return undefined;
}

function writeAuthFile(content: AuthFile): void {
  const path = authFilePath();
  Deno.mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    const file = Deno.openSync(tmp, { write: true, createNew: true, mode: 0o600 });
    try {
      file.writeSync(new TextEncoder().encode(JSON.stringify(content, null, 2) + "\n"));
      file.syncSync();
    } finally {
      file.close();
    }
    Deno.chmodSync(tmp, 0o600);
    Deno.renameSync(tmp, path);
  } catch (e) {
    try {
      Deno.removeSync(tmp);
    } catch { /* never created */ }
    throw withContext(e, "system", `writing ${path}`);
  }
}

/** Stores credentials for `domain` in tsnspawn's auth file (mode 0600). */
export function saveCredentials(domain: string, credentials: Credentials): void {
  const content = readJsonFile<AuthFile>(authFilePath()) ?? {};
  const auths = content.auths ?? {};
  for (const key of credentialKeys(domain)) delete auths[key];
  auths[domain] = { auth: encodeAuth(credentials) };
  writeAuthFile({ ...content, auths });
}

/** Removes the credentials for `domain`; returns whether there were any. */
export function removeCredentials(domain: string): boolean {
  const content = readJsonFile<AuthFile>(authFilePath());
  if (!content?.auths) return false;
  let removed = false;
  for (const key of Object.keys(content.auths)) {
    const bare = key.replace(/^https?:\/\//, "").replace(/\/.*$/, "");
    if (credentialKeys(domain).includes(key) || bare === domain) {
      delete content.auths[key];
      removed = true;
    }
  }
  if (removed) writeAuthFile(content);
  return removed;
}

/** Whether `registries.json` marks `domain` insecure (plain HTTP allowed). */
export function isMarkedInsecure(domain: string): boolean {
  const config = readJsonFile<{ insecure?: unknown }>(join(configDir(), "registries.json"));
  return Array.isArray(config?.insecure) && config.insecure.includes(domain);
}

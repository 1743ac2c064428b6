/**
 * The build context and the Containerfile (effects: reads files): which
 * Containerfile a build reads (`-f FILE`, else `Containerfile`, else
 * `Dockerfile` in the context; `-` reads it from stdin), which ignore file
 * applies (ignore.ts ignoreFileCandidates: buildah's order), and a context
 * sent as a tar stream (the Docker API's `POST /build` body) unpacked into a
 * flocked staging directory.
 */
import { TsnspawnError, withContext } from "../errors.ts";
import { join, normalize } from "../path_util.ts";
import {
  compileIgnore,
  ignoreFileCandidates,
  type IgnoreMatcher,
  parseIgnoreFile,
} from "./ignore.ts";
import { contextTree, emptyTree, type SourceTree } from "./source_tree.ts";
import { unpackLayer } from "../image/layer_unpack.ts";
import { makeStagingDir, releaseStaging } from "../staging.ts";
import { ensureStoreDirs } from "../image/store.ts";

/** A Containerfile's text and the name errors give it. */
export interface ContainerfileSource {
  text: string;
  /** As shown in `FILE:LINE` errors ("Containerfile", "-"). */
  name: string;
  /** Its path on the host, if it is a file (for per-file ignore files). */
  path?: string;
}

/** The context a build copies from. */
export interface BuildContext {
  /** The context directory, or null when there is none (`build -`). */
  dir: string | null;
  /** The ignore file used, if any. */
  ignoreFile?: string;
  matcher: IgnoreMatcher;
  tree: SourceTree;
}

/** An absolute, normalized path for `path` (relative to the current directory). */
function resolve(path: string): string {
  return normalize(path.startsWith("/") ? path : `${Deno.cwd()}/${path}`);
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function readText(path: string, what: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new TsnspawnError("not-found", `${what} ${path}: no such file`, {
        hint: "give the path with -f, or put a Containerfile or Dockerfile in the context",
      });
    }
    throw withContext(error, "system", `reading ${what} ${path}`);
  }
}

/**
 * Finds and reads the Containerfile: `file` (relative to the current
 * directory, as docker and buildah take -f, else to the context), else
 * `Containerfile` or `Dockerfile` in the context directory.
 */
export function readContainerfile(contextDir: string | null, file?: string): ContainerfileSource {
  if (file !== undefined) {
    // Relative to the current directory, as docker and buildah take -f; a
    // relative name found only in the context is taken from there (a
    // declared .build file's File=, run from another directory).
    let path = resolve(file);
    if (!file.startsWith("/") && contextDir !== null && !exists(path)) {
      const inContext = resolve(join(contextDir, file));
      if (exists(inContext)) path = inContext;
    }
    return { text: readText(path, "Containerfile"), name: file, path };
  }
  if (contextDir === null) {
    throw new TsnspawnError("usage", "no Containerfile: the context is -", {
      hint: "give the Containerfile on stdin ('tsnspawn build - < Containerfile')",
    });
  }
  for (const name of ["Containerfile", "Dockerfile"]) {
    const path = join(contextDir, name);
    try {
      return { text: Deno.readTextFileSync(path), name, path };
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) {
        throw withContext(error, "system", `reading ${path}`);
      }
    }
  }
  throw new TsnspawnError("not-found", `no Containerfile or Dockerfile in ${contextDir}`, {
    hint: "give the file with -f FILE",
  });
}

/** Opens the context directory (or none) with its ignore file. */
export function openContext(dir: string | null, containerfile?: ContainerfileSource): BuildContext {
  if (dir === null) return { dir, matcher: compileIgnore([]), tree: emptyTree() };
  const absolute = resolve(dir);
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(absolute);
  } catch {
    throw new TsnspawnError("not-found", `build context ${dir}: no such directory`, {
      hint: "give a directory, or - to build without a context",
    });
  }
  if (!info.isDirectory) {
    throw new TsnspawnError("invalid", `build context ${dir}: not a directory`, {
      hint: "give a directory, or - to build without a context",
    });
  }
  const candidates = ignoreFileCandidates(
    absolute,
    containerfile?.path ?? join(absolute, "Containerfile"),
  );
  for (const candidate of candidates) {
    let text: string;
    try {
      text = Deno.readTextFileSync(candidate);
    } catch {
      continue;
    }
    const name = candidate.slice(candidate.lastIndexOf("/") + 1);
    const matcher = compileIgnore(parseIgnoreFile(text), name);
    return { dir: absolute, ignoreFile: candidate, matcher, tree: contextTree(absolute, matcher) };
  }
  const matcher = compileIgnore([]);
  return { dir: absolute, matcher, tree: contextTree(absolute, matcher) };
}

/** A context unpacked from a tar stream; `dispose` removes it. */
export interface UnpackedContext {
  dir: string;
  dispose(): void;
}

/**
 * Unpacks a build context sent as a tar stream (the Docker API's body) into
 * a flocked staging directory (`tsnspawn check` removes it if we die).
 */
export async function unpackContext(stream: ReadableStream<Uint8Array>): Promise<UnpackedContext> {
  ensureStoreDirs();
  const staging = makeStagingDir("build-context-");
  const dir = join(staging, "context");
  const dispose = () => {
    try {
      Deno.removeSync(staging, { recursive: true });
    } catch { /* gone */ }
    releaseStaging(staging);
  };
  try {
    Deno.mkdirSync(dir, { mode: 0o755 });
    await unpackLayer(stream, dir);
  } catch (error) {
    dispose();
    throw withContext(error, "invalid", "unpacking the build context");
  }
  return { dir, dispose };
}

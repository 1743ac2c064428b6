/**
 * ExecStartPre= of a declared container's unit (`tsnspawn __prepare NAME`):
 * makes `<root>/containers/<name>/` match its `.container` file (with its
 * drop-ins; for `web@7`, the template `web@.container` with `%i` = 7)
 * before the shim reads its config.json.
 *
 * - The container is kept (with its writable layer) when it was made from
 *   the same declaration — the digest of its `create` command line, stored
 *   in declared.json — and from the same image. `Pull=always` pulls first,
 *   so a new image also makes a new container.
 * - Otherwise it is removed (its network lease given back) and created anew
 *   exactly as `tsnspawn create` would (src/ops/create.ts), pulling a
 *   missing image unless `Pull=never`.
 * - A container of that name that was not made from the declaration (no
 *   declared.json) is left alone and the start fails: it is the user's.
 *
 * Failures are printed as `tsnspawn: …` lines (the journal; `tsnspawn start`
 * shows them) and the exit status is 1, which fails the unit's start.
 */
import { TsnspawnError } from "../errors.ts";
import type { ContainerConfig } from "../container/config.ts";
import type { ContainerDeclaration } from "../declared/container.ts";
import { loadDeclaration } from "../declared/store.ts";
import { containerPaths } from "../paths.ts";
import { removeContainerDir, withContainerLock } from "../container/state.ts";
import { writeFileAtomic } from "../files.ts";
import { validateContainerName } from "../container/run_options.ts";

/** What declared.json holds. */
export interface DeclaredRecord {
  /** The declaration file. */
  source: string;
  /** sha256 of the declaration's `create` command line. */
  digest: string;
}

/** The digest that decides whether a declaration changed (sha256 hex of its create arguments). */
export async function declarationDigest(declaration: ContainerDeclaration): Promise<string> {
  const bytes = new TextEncoder().encode(JSON.stringify(declaration.createArgs));
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
}

function readJson<T>(path: string): T | null {
  try {
    return JSON.parse(Deno.readTextFileSync(path)) as T;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof SyntaxError) return null;
    throw error;
  }
}

/** The image ID the declaration's image has in the store now (after pulling for Pull=always), or null. */
async function currentImageId(declaration: ContainerDeclaration): Promise<string | null> {
  const { options } = declaration;
  if (options.image === undefined) return null;
  const { resolveImage } = await import("../image/store.ts");
  if (options.pull === "always") {
    const { pullWithProgress } = await import("../registry/progress_display.ts");
    const pulled = await pullWithProgress(options.image, {
      platform: options.platform,
      progressTo: "stderr",
    });
    return resolveImage(pulled.reference).id;
  }
  try {
    return resolveImage(options.image).id;
  } catch (error) {
    if (error instanceof TsnspawnError && error.code === "not-found") return null;
    throw error;
  }
}

/** Brings the container directory in line with the declaration; returns what it did. */
export async function prepareDeclaredContainer(
  name: string,
): Promise<"kept" | "created" | "replaced"> {
  const declaration = loadDeclaration(name);
  const paths = containerPaths(name);
  const digest = await declarationDigest(declaration);
  const config = readJson<ContainerConfig>(paths.config);
  let replaced = false;
  if (config) {
    const record = readJson<DeclaredRecord>(paths.declared);
    if (!record) {
      throw new TsnspawnError(
        "conflict",
        `container ${name}: exists but was not created from ${declaration.path}`,
        { hint: `remove it with 'tsnspawn rm -f ${name}' so the declaration can create it` },
      );
    }
    const imageId = await currentImageId(declaration);
    const sameImage = declaration.options.image === undefined || imageId === config.imageId;
    if (record.digest === digest && sameImage) return "kept";
    await withContainerLock(name, () => removeContainerDir(name));
    if (config.bridge) {
      const { releaseLease } = await import("../network/network_store.ts");
      releaseLease(config.bridge.network, config.id);
    }
    // A re-created container gets new anonymous volumes (podman's quadlet runs with --rm).
    const { removeAnonymousVolumes } = await import("../ops/volume.ts");
    removeAnonymousVolumes(config.volumes ?? []);
    replaced = true;
  }
  const { createContainer } = await import("../ops/create.ts");
  // `Pull=always` pulled above when the container existed; create pulls only when missing then.
  const options = config && declaration.options.pull === "always"
    ? { ...declaration.options, pull: "missing" as const }
    : declaration.options;
  await createContainer(options);
  const record: DeclaredRecord = { source: declaration.path, digest };
  writeFileAtomic(paths.declared, JSON.stringify(record, null, 2) + "\n");
  return replaced ? "replaced" : "created";
}

/** Entry of `__prepare NAME`; resolves to the exit status. */
export async function runPrepare(name: string): Promise<number> {
  try {
    const done = await prepareDeclaredContainer(validateContainerName(name));
    if (done !== "kept") console.error(`container ${name} ${done} from its declaration`);
    return 0;
  } catch (error) {
    console.error(`tsnspawn: ${error instanceof Error ? error.message : error}`);
    if (error instanceof TsnspawnError && error.hint) {
      console.error(`tsnspawn: hint: ${error.hint}`);
    }
    return 1;
  }
}

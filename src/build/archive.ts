/**
 * ADD of a local tar archive (effects): the archive is decompressed (gzip
 * and zstd in process, image/decompress.ts; bzip2 and xz through Debian's
 * `bzip2 -dc` and `xz -dc`, docker's set), unpacked by the layer unpacker
 * (image/layer_unpack.ts: no entry may escape, nothing is written through a
 * symlink) into a private directory, then merged into the target directory
 * of the layer tree: a directory merges with one already there, anything
 * else replaces what is there. Entries keep the archive's owners and modes
 * (`--chown` replaces the owner); whiteout entries mean nothing outside an
 * image layer and are dropped.
 */
import { TsnspawnError, withContext } from "../errors.ts";
import { join } from "../path_util.ts";
import { createDecoder } from "../image/decompress.ts";
import { unpackLayer } from "../image/layer_unpack.ts";
import { isOpaqueDir, isWhiteout } from "../image/layer_stack.ts";
import { lchown, lutimes } from "../image/layer_syscalls.ts";
import { cstring, libc } from "../../ffi/libc.ts";
import { compressionOf } from "./copy_plan.ts";

/** Options of {@link unpackArchive}. */
export interface ArchiveOptions {
  /** A directory for the private unpack (same file system as the target). */
  scratch: string;
  /** Owner of every entry (`--chown`), or null to keep the archive's. */
  owner: { uid: number; gid: number } | null;
  /** Every time, seconds (build --timestamp). */
  mtime?: number;
  /** Receives the directories whose metadata must be applied last. */
  record: (abs: string, attrs: { uid: number; gid: number; mode: number; mtime: number }) => void;
}

/** The archive as a stream of tar bytes. */
async function tarStream(path: string): Promise<ReadableStream<Uint8Array>> {
  const file = await Deno.open(path);
  const head = new Uint8Array(8);
  const n = (await file.read(head)) ?? 0;
  await file.seek(0, Deno.SeekMode.Start);
  const compression = compressionOf(head.subarray(0, n));
  if (compression === "none") return file.readable;
  if (compression === "gzip" || compression === "zstd") {
    const decoder = createDecoder(compression);
    const reader = file.readable.getReader();
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            decoder.finish();
            controller.close();
          } else {
            decoder.push(value, (piece) => controller.enqueue(piece.slice()));
          }
        } catch (error) {
          decoder.close();
          controller.error(error);
        }
      },
      cancel(reason) {
        decoder.close();
        return reader.cancel(reason);
      },
    });
  }
  file.close();
  const tool = compression === "bzip2" ? "bzip2" : "xz";
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(tool, { args: ["-dc", path], stdout: "piped", stderr: "null" })
      .spawn();
  } catch (error) {
    throw new TsnspawnError("not-found", `ADD ${path}: ${tool} is needed to unpack it`, {
      hint: `apt-get install ${tool === "xz" ? "xz-utils" : "bzip2"}`,
      cause: error,
    });
  }
  const status = child.status;
  const reader = child.stdout.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (!done) return controller.enqueue(value);
      if (!(await status).success) {
        controller.error(new TsnspawnError("invalid", `${tool} could not decompress ${path}`));
      } else controller.close();
    },
    cancel(reason) {
      child.kill();
      return reader.cancel(reason);
    },
  });
}

/** Unpacks the archive `path` into the directory `target` (see the module comment). */
export async function unpackArchive(
  path: string,
  target: string,
  options: ArchiveOptions,
): Promise<void> {
  const unpacked = join(options.scratch, `archive-${crypto.randomUUID()}`);
  Deno.mkdirSync(unpacked, { mode: 0o700 });
  try {
    await unpackLayer(await tarStream(path), unpacked);
  } catch (error) {
    throw withContext(
      error,
      error instanceof TsnspawnError ? error.code : "invalid",
      `ADD ${path}`,
    );
  }
  merge(unpacked, target, options);
  Deno.removeSync(unpacked, { recursive: true });
}

function lstatOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.lstatSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/** Moves the entries of `from` into `to`, directories merging (see the module comment). */
function merge(from: string, to: string, options: ArchiveOptions): void {
  for (const entry of Deno.readDirSync(from)) {
    const source = join(from, entry.name);
    const dest = join(to, entry.name);
    const st = Deno.lstatSync(source);
    if (isWhiteout(st)) continue;
    const existing = lstatOrNull(dest);
    if (st.isDirectory) {
      if (isOpaqueDir(source)) {
        libc().lremovexattr(cstring(source), cstring("trusted.overlay.opaque"));
      }
      const owner = options.owner ?? { uid: st.uid ?? 0, gid: st.gid ?? 0 };
      const mtime = options.mtime ?? Math.floor((st.mtime?.getTime() ?? 0) / 1000);
      if (existing?.isDirectory) {
        merge(source, dest, options);
      } else {
        if (existing) Deno.removeSync(dest, { recursive: true });
        Deno.renameSync(source, dest);
        applyBelow(dest, options);
      }
      options.record(dest, { ...owner, mode: (st.mode ?? 0o755) & 0o7777, mtime });
      continue;
    }
    if (existing) Deno.removeSync(dest, { recursive: existing.isDirectory });
    Deno.renameSync(source, dest);
    applyTo(dest, st, options);
  }
}

/** --chown and --timestamp for an entry that was moved in whole. */
function applyTo(path: string, st: Deno.FileInfo, options: ArchiveOptions): void {
  if (options.owner) {
    if (st.isSymlink) lchown(path, options.owner.uid, options.owner.gid);
    else {
      Deno.chownSync(path, options.owner.uid, options.owner.gid);
      Deno.chmodSync(path, (st.mode ?? 0) & 0o7777); // chown clears setuid/setgid
    }
  }
  if (options.mtime !== undefined) {
    if (st.isSymlink) lutimes(path, options.mtime);
    else Deno.utimeSync(path, options.mtime, options.mtime);
  }
}

/** applyTo for everything below a directory moved in whole (the directory itself is recorded). */
function applyBelow(dir: string, options: ArchiveOptions): void {
  for (const entry of Deno.readDirSync(dir)) {
    const path = join(dir, entry.name);
    const st = Deno.lstatSync(path);
    if (st.isDirectory) {
      if (isOpaqueDir(path)) libc().lremovexattr(cstring(path), cstring("trusted.overlay.opaque"));
      applyBelow(path, options);
      const owner = options.owner ?? { uid: st.uid ?? 0, gid: st.gid ?? 0 };
      options.record(path, {
        ...owner,
        mode: (st.mode ?? 0o755) & 0o7777,
        mtime: options.mtime ?? Math.floor((st.mtime?.getTime() ?? 0) / 1000),
      });
    } else if (isWhiteout(st)) {
      Deno.removeSync(path);
    } else {
      applyTo(path, st, options);
    }
  }
}

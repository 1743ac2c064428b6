/**
 * A RUN step (effects): an ordinary tsnspawn container of the image before
 * the step, created and started by the same operations as `tsnspawn run`
 * (ops/create.ts, ops/start.ts), so it gets the default isolation
 * (namespaces, Docker's capabilities, seccomp, no_new_privs) and the
 * build's network mode; the step's environment, user and working directory;
 * its output streamed to the reporter as it comes. Its writable layer then
 * becomes the step's layer through image/layer_commit.ts (what `commit`
 * uses: OCI whiteouts, the init layer left out), and the container is
 * removed (ops/remove.ts) whatever happened.
 *
 * The container's config names the build (`build: <id>`), and the build
 * holds `<root>/tmp/build-<id>.lock`: if the build dies, `tsnspawn check`
 * finds the container with a free lock and removes it, unit included.
 *
 * RUN --mount (Dockerfile reference "RUN --mount"): `bind` mounts a copy of
 * its source (the context, a stage or an image; read-only unless `rw`,
 * whose writes are dropped with the copy) and counts in the step's cache key
 * by content; `cache` mounts a directory kept under `<root>/build-cache-mounts/`
 * across builds (`sharing=locked` and `private` serialize its users with an
 * flock; `shared` does not); `tmpfs` mounts a tmpfs.
 */
import { TsnspawnError } from "../errors.ts";
import { RunStepError } from "./step_error.ts";
import { join } from "../path_util.ts";
import { containerPaths, stateRoot, unitName } from "../paths.ts";
import { createContainer } from "../ops/create.ts";
import { startContainerUnit, waitForExit } from "../ops/start.ts";
import { removeContainer } from "../ops/remove.ts";
import { layerExclusions } from "../ops/layer_exclusions.ts";
import type { Systemd } from "../systemd/bus.ts";
import type { ContainerOptions } from "../container/options.ts";
import type { TmpfsMount, VolumeMount } from "../container/config.ts";
import { parseUser, parseWorkingDir } from "../container/run_options.ts";
import { DOCKER_DEFAULT_CAPABILITIES, resolveCapabilities } from "../security/capabilities.ts";
import { type StagedLayer, stageWritableLayer } from "../image/layer_commit.ts";
import type { RunProcess } from "./stage_state.ts";
import type { RunMount } from "./instructions.ts";
import type { BuildReporter } from "./events.ts";
import { resolveNode } from "./source_tree.ts";
import type { MountSource } from "./step_error.ts";
import { writeCopyLayer } from "./copy_write.ts";

const SIGKILL = 9;
/** Output lines kept for the error of a failing step. */
const TAIL_LINES = 10;

export { RunStepError };

/** A RUN --mount made ready on the host. */
export interface PreparedMount {
  volume?: VolumeMount;
  tmpfs?: TmpfsMount;
  /** A lock held while the step runs (cache sharing=locked|private). */
  lock?: Deno.FsFile;
}

/** Cache mounts' directories. */
export function cacheMountDir(id: string): string {
  const hex = Array.from(new TextEncoder().encode(id), (b) => b.toString(16).padStart(2, "0"))
    .join("");
  return join(stateRoot(), "build-cache-mounts", hex.slice(0, 200));
}

/** Makes the host side of each RUN --mount (see the module comment). */
export async function prepareMounts(
  mounts: readonly RunMount[],
  sources: readonly (MountSource | undefined)[],
  scratch: string,
): Promise<PreparedMount[]> {
  const prepared: PreparedMount[] = [];
  for (const [i, mount] of mounts.entries()) {
    if (mount.type === "tmpfs") {
      prepared.push({
        tmpfs: {
          destination: mount.target,
          flags: ["nosuid", "nodev"],
          data: mount.size !== undefined ? `size=${mount.size}` : "",
        },
      });
    } else if (mount.type === "cache") {
      const dir = cacheMountDir(mount.id ?? mount.target);
      try {
        Deno.mkdirSync(dir, { recursive: true, mode: mount.mode ?? 0o755 });
        Deno.chownSync(dir, mount.uid ?? 0, mount.gid ?? 0);
        Deno.chmodSync(dir, mount.mode ?? 0o755);
      } catch (error) {
        if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      }
      let lock: Deno.FsFile | undefined;
      if (mount.sharing === "locked" || mount.sharing === "private") {
        lock = Deno.openSync(`${dir}.lock`, { write: true, create: true, mode: 0o600 });
        await lock.lock(true);
      }
      prepared.push({
        volume: { source: dir, destination: mount.target, readOnly: mount.readOnly },
        ...(lock ? { lock } : {}),
      });
    } else {
      const source = sources[i];
      if (!source) throw new Error(`RUN --mount ${i}: no source`);
      const node = resolveNode(source.tree, mount.source ?? "/", true);
      if (!node) {
        throw new TsnspawnError(
          "not-found",
          `RUN --mount source ${mount.source ?? "/"}: not found in ${source.tree.name}`,
        );
      }
      const copy = join(scratch, `mount-${i}`);
      Deno.mkdirSync(copy, { mode: 0o755 });
      const target = node.st.isDirectory ? "/" : "/file";
      await writeCopyLayer(
        {
          items: [{ kind: "node", tree: source.tree, node, target }],
          owner: null,
          chmod: null,
          layers: [],
          summaryKind: "multi",
        },
        copy,
        { downloads: new Map(), scratch },
      );
      prepared.push({
        volume: {
          source: node.st.isDirectory ? copy : join(copy, "file"),
          destination: mount.target,
          readOnly: mount.readOnly,
        },
      });
    }
  }
  return prepared;
}

/** What running a RUN step needs. */
export interface RunStepContext {
  systemd: Systemd;
  buildId: string;
  /** A unique container name for this step. */
  name: string;
  /** The image before the step. */
  imageId: string;
  /** bridge, none, host, or a network's name. */
  network: string;
  /** A private, flocked directory for the step's files. */
  scratch: string;
  reporter: BuildReporter;
  /** Every time in the layer (build --timestamp), seconds. */
  mtime?: number;
  signal?: AbortSignal;
}

/** The container request of a RUN step: `run --entrypoint "" -e… -u… -w… IMAGE argv`. */
export function stepContainerOptions(
  process: RunProcess,
  context: Pick<RunStepContext, "name" | "imageId" | "network" | "buildId">,
  volumes: VolumeMount[],
  tmpfs: TmpfsMount[],
): ContainerOptions {
  return {
    name: context.name,
    detach: false,
    autoRemove: false,
    interactive: false,
    tty: false,
    env: process.env,
    envFiles: [],
    workdir: parseWorkingDir(process.workdir),
    user: parseUser(process.user === "" ? "0" : process.user),
    volumes,
    resources: {},
    restart: { policy: "no", maxRetries: 0 },
    network: context.network,
    publish: [],
    publishAll: false,
    networkAliases: [],
    unsetEnv: [],
    capAdd: [],
    capDrop: [],
    capabilities: resolveCapabilities(DOCKER_DEFAULT_CAPABILITIES, [], []),
    init: false,
    security: {},
    privileged: false,
    readOnly: false,
    tmpfs,
    dryRun: false,
    image: context.imageId,
    entrypoint: "",
    command: process.argv,
    pull: "never",
    build: context.buildId,
    // A build step is no service: no labels, no health check (not even the image's).
    labels: {},
    labelFiles: [],
    annotations: {},
    health: {},
    noHealthcheck: true,
    extraHosts: [],
    expose: [],
    sysctls: {},
    ulimits: [],
    envHost: false,
    // A RUN step never boots the image's init (docker build runs it as a command).
    systemd: "false",
    boot: false,
  };
}

/**
 * Runs the process of a RUN step in a container and stages its layer in
 * `context.scratch`. Throws RunStepError when it exits non-zero, the abort
 * reason when the build is interrupted; the container is gone either way.
 */
export async function runStep(
  process: RunProcess,
  mounts: PreparedMount[],
  context: RunStepContext,
): Promise<StagedLayer> {
  const volumes: VolumeMount[] = [];
  const hereDocPaths = new Set(process.files.map((file) => file.path));
  for (const [i, file] of process.files.entries()) {
    const host = join(context.scratch, `file-${i}`);
    Deno.writeTextFileSync(host, file.content, { mode: file.mode });
    Deno.chmodSync(host, file.mode);
    volumes.push({ source: host, destination: file.path, readOnly: true });
  }
  volumes.push(...mounts.flatMap((m) => m.volume ? [m.volume] : []));
  const tmpfs = mounts.flatMap((m) => m.tmpfs ? [m.tmpfs] : []);
  const tail: string[] = [];
  const output = (text: string, stream: "stdout" | "stderr") => {
    tail.push(text);
    if (tail.length > TAIL_LINES) tail.shift();
    context.reporter({ kind: "output", stream, text });
  };
  context.signal?.throwIfAborted();
  const config = await createContainer(stepContainerOptions(process, context, volumes, tmpfs));
  const unit = unitName(config.name);
  const kill = () => {
    context.systemd.killUnit(unit, "all", SIGKILL).catch(() => {});
  };
  try {
    const started = await startContainerUnit(context.systemd, config, { attach: true, output });
    context.signal?.addEventListener("abort", kill);
    let status: number;
    try {
      status = await waitForExit(context.systemd, config, { ...started, watch: started.watch! });
    } finally {
      context.signal?.removeEventListener("abort", kill);
    }
    context.signal?.throwIfAborted();
    if (status !== 0) {
      throw new RunStepError(`the command returned a non-zero code: ${status}`, status, tail);
    }
    return await stageWritableLayer(containerPaths(config.name).upper, context.scratch, {
      // The init layer and the here-documents' files are left out; RUN
      // --mount targets stay, empty, as BuildKit leaves them.
      exclude: layerExclusions({
        ...config,
        volumes: config.volumes.filter((v) => hereDocPaths.has(v.destination)),
        tmpfs: [],
      }),
      ...(context.mtime !== undefined ? { mtime: context.mtime } : {}),
    });
  } finally {
    await removeContainer(context.systemd, config.name, true);
    for (const mount of mounts) mount.lock?.close();
  }
}

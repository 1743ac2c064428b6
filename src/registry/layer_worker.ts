/**
 * Downloading and unpacking layers on worker threads (effects): both ends.
 *
 * Each layer's whole job — the download with its part file and digest, the
 * decompression, the diff_id and the unpacking (registry/layer_download.ts) — runs
 * on a `Worker` thread, so layers proceed in parallel with each other while
 * the main thread only waits. The main thread's registry client hands its
 * auth over (`RegistrySession`), so a worker asks for no token the main
 * thread already has. A few workers at most: each costs its own runtime
 * (~15 ms to start, blocking the caller) and takes several layers at once;
 * a new layer goes to the worker with the fewest bytes to do, so a big
 * layer gets a thread of its own.
 *
 * Messages (`id` names a layer):
 *   main → worker  { id, job: LayerDownload, progress }   progress: report bytes
 *   worker → main  { id, bytes }                          bytes received so far
 *                  { id, done: UnpackResult } | { id, error: { code, message, hint } }
 *
 * This module is the workers' entry as well (it serves when it runs in a
 * worker); the downloading modules are imported by the workers only.
 */
import { type ErrorCode, TsnspawnError } from "../errors.ts";
import type { LayerDownload } from "./layer_download.ts";
import type { UnpackResult } from "../image/layer_unpack.ts";

/** Progress is reported at most once per this many bytes (and at the end). */
const PROGRESS_STEP = 1 << 20;

interface ToWorker {
  id: number;
  job: LayerDownload;
  progress: boolean;
}

interface ErrorData {
  code: ErrorCode;
  message: string;
  hint?: string;
}

type FromWorker =
  & { id: number }
  & (
    | { bytes: number }
    | { done: UnpackResult }
    | { error: ErrorData }
  );

/** A layer in progress, as the main side sees it. */
interface Job {
  onProgress?: (bytes: number) => void;
  finish(result: UnpackResult): void;
  fail(error: Error): void;
}

interface PoolWorker {
  worker: Worker;
  /** Compressed bytes of the layers it is working on. */
  load: number;
}

/** Worker threads that download and unpack layers; `close()` them when done. */
export class LayerWorkers {
  readonly #size: number;
  readonly #workers: PoolWorker[] = [];
  readonly #jobs = new Map<number, Job>();
  #nextId = 0;

  /** At most `size` workers, started on demand. */
  constructor(size: number) {
    this.#size = Math.max(1, size);
  }

  /** The worker for a layer of `bytes`: an idle one, a new one while allowed, else the least loaded. */
  #pick(bytes: number): PoolWorker {
    let chosen = this.#workers.find((w) => w.load === 0);
    if (!chosen && this.#workers.length < this.#size) {
      const worker = new Worker(import.meta.url, { type: "module", name: "layer download" });
      worker.onmessage = (event: MessageEvent<FromWorker>) => this.#receive(event.data);
      worker.onerror = (event) => {
        event.preventDefault();
        const error = new TsnspawnError("image", `a layer worker failed: ${event.message}`);
        for (const job of this.#jobs.values()) job.fail(error);
      };
      chosen = { worker, load: 0 };
      this.#workers.push(chosen);
    }
    chosen ??= this.#workers.reduce((a, b) => b.load < a.load ? b : a);
    chosen.load += bytes;
    return chosen;
  }

  #receive(message: FromWorker): void {
    const job = this.#jobs.get(message.id);
    if (!job) return;
    if ("bytes" in message) {
      job.onProgress?.(message.bytes);
    } else if ("done" in message) {
      job.finish(message.done);
    } else {
      const { code, message: text, hint } = message.error;
      job.fail(new TsnspawnError(code, text, { hint }));
    }
  }

  /** Runs `downloadLayer(job, onProgress)` on a worker (see registry/layer_download.ts). */
  async pull(job: LayerDownload, onProgress?: (bytes: number) => void): Promise<UnpackResult> {
    const id = this.#nextId++;
    const bytes = job.layer.size;
    const chosen = this.#pick(bytes);
    try {
      return await new Promise<UnpackResult>((finish, fail) => {
        this.#jobs.set(id, { onProgress, finish, fail });
        const message: ToWorker = { id, job, progress: onProgress !== undefined };
        chosen.worker.postMessage(message);
      });
    } finally {
      this.#jobs.delete(id);
      chosen.load -= bytes;
    }
  }

  /** Stops the workers (layers still in progress are abandoned). */
  close(): void {
    for (const { worker } of this.#workers) worker.terminate();
    this.#workers.length = 0;
  }
}

// ---------------------------------------------------------------- worker side

/** The worker: runs each job it is given; several may be in progress at once. */
function serve(): void {
  const scope = globalThis as unknown as {
    onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
    postMessage(message: FromWorker): void;
  };
  const run = async ({ id, job, progress }: ToWorker) => {
    let reported = 0;
    const onProgress = (bytes: number) => {
      if (bytes - reported < PROGRESS_STEP && bytes !== job.layer.size) return;
      reported = bytes;
      scope.postMessage({ id, bytes });
    };
    try {
      const { downloadLayer } = await import("./layer_download.ts");
      scope.postMessage({ id, done: await downloadLayer(job, progress ? onProgress : undefined) });
    } catch (e) {
      scope.postMessage({
        id,
        error: {
          code: e instanceof TsnspawnError ? e.code : "image",
          message: e instanceof Error ? e.message : String(e),
          hint: e instanceof TsnspawnError ? e.hint : undefined,
        },
      });
    }
  };
  scope.onmessage = (event) => void run(event.data);
}

// In a worker (this module is its entry): serve. Not `import.meta.main`: the
// bundle (tools/bundle.ts) makes that false in every chunk but mod.js.
if (typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope === "function") {
  serve();
}

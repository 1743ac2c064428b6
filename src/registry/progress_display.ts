/**
 * A pull's progress as text: per-layer progress bars on a terminal (bytes,
 * rate; redrawn in place) and plain lines otherwise (one per layer event),
 * for `tsnspawn pull`, the pull `run --pull` does, and a declared
 * container's pull in its ExecStartPre= (the journal gets the lines). The
 * pulling itself is pull.ts.
 */
import { formatBytes } from "../format.ts";
import { pullImage, type PullProgress, type PullResult } from "./pull.ts";
import type { OciDescriptor } from "../oci/types.ts";
import { parsePlatform } from "../oci/manifest.ts";

/** Options of the pull commands. */
export interface PullCommandOptions {
  quiet?: boolean;
  /** Where progress goes (default stdout; `run` uses stderr). */
  progressTo?: "stdout" | "stderr";
  platform?: string;
  insecure?: boolean;
}

interface LayerState {
  short: string;
  total: number;
  bytes: number;
  status: "waiting" | "downloading" | "done" | "exists";
  started: number;
}

/** One progress line: `abcdef123456: [=====>    ] 12.3M/45.6M 10M/s` (pure). */
export function formatProgressLine(
  short: string,
  bytes: number,
  total: number,
  elapsedMs: number,
  width = 30,
): string {
  const fraction = total > 0 ? Math.min(bytes / total, 1) : 1;
  const filled = Math.floor(fraction * width);
  const bar = "=".repeat(Math.max(filled - 1, 0)) +
    (filled > 0 ? (fraction >= 1 ? "=" : ">") : "") +
    " ".repeat(width - filled);
  const rate = elapsedMs > 0 ? `${formatBytes(Math.round(bytes / (elapsedMs / 1000)))}/s` : "";
  return `${short}: [${bar}] ${formatBytes(bytes)}/${formatBytes(total)} ${rate}`.trimEnd();
}

/** Renders pull progress to stdout. */
class PullDisplay implements PullProgress {
  #layers = new Map<string, LayerState>();
  #order: string[] = [];
  #drawn = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly #tty: boolean;
  readonly #out: typeof Deno.stdout | typeof Deno.stderr;

  constructor(out: typeof Deno.stdout | typeof Deno.stderr) {
    this.#out = out;
    this.#tty = out.isTerminal();
  }

  #print(line: string): void {
    this.#write(`${line}\n`);
  }

  #write(text: string): void {
    const bytes = new TextEncoder().encode(text);
    let written = 0;
    while (written < bytes.length) written += this.#out.writeSync(bytes.subarray(written));
  }

  #state(layer: OciDescriptor): LayerState {
    let s = this.#layers.get(layer.digest);
    if (!s) {
      s = {
        short: layer.digest.slice(7, 19),
        total: layer.size,
        bytes: 0,
        status: "waiting",
        started: performance.now(),
      };
      this.#layers.set(layer.digest, s);
      this.#order.push(layer.digest);
    }
    return s;
  }

  resolved(manifestDigest: string, layers: OciDescriptor[]): void {
    if (!this.#tty) this.#print(`Manifest ${manifestDigest}`);
    for (const layer of layers) this.#state(layer);
    if (this.#tty) this.#timer = setInterval(() => this.#draw(), 100);
  }

  layerExists(layer: OciDescriptor): void {
    const s = this.#state(layer);
    s.status = "exists";
    if (!this.#tty) this.#print(`${s.short}: already exists`);
  }

  layerBytes(layer: OciDescriptor, bytes: number): void {
    const s = this.#state(layer);
    if (s.status === "waiting") {
      s.status = "downloading";
      s.started = performance.now();
      if (!this.#tty) this.#print(`${s.short}: downloading ${formatBytes(s.total)}`);
    }
    s.bytes = bytes;
  }

  layerDone(layer: OciDescriptor): void {
    const s = this.#state(layer);
    s.status = "done";
    s.bytes = s.total;
    if (!this.#tty) {
      const seconds = (performance.now() - s.started) / 1000;
      this.#print(`${s.short}: pull complete (${formatBytes(s.total)} in ${seconds.toFixed(2)} s)`);
    }
  }

  #draw(): void {
    const now = performance.now();
    const lines = this.#order.map((digest) => {
      const s = this.#layers.get(digest)!;
      switch (s.status) {
        case "exists":
          return `${s.short}: already exists`;
        case "waiting":
          return `${s.short}: waiting`;
        case "done":
          return `${s.short}: pull complete`;
        default:
          return formatProgressLine(s.short, s.bytes, s.total, now - s.started);
      }
    });
    const up = this.#drawn > 0 ? `\x1b[${this.#drawn}A` : "";
    const text = up + lines.map((l) => `\x1b[2K${l}\n`).join("");
    this.#write(text);
    this.#drawn = lines.length;
  }

  /** Stops redrawing; draws the final state. */
  finish(): void {
    if (this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      this.#draw();
    }
  }
}

/**
 * Pulls `reference`, showing progress unless quiet; returns what was pulled.
 * Used by `tsnspawn pull` and by `run`/`create` for a missing image.
 */
export async function pullWithProgress(
  reference: string,
  options: PullCommandOptions,
): Promise<PullResult> {
  const display = options.quiet
    ? undefined
    : new PullDisplay(options.progressTo === "stderr" ? Deno.stderr : Deno.stdout);
  try {
    return await pullImage(reference, {
      platform: options.platform !== undefined ? parsePlatform(options.platform) : undefined,
      insecure: options.insecure,
      progress: display,
    });
  } finally {
    display?.finish();
  }
}

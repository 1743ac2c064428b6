/**
 * The byte streams of attach, logs and exec (pure): Docker's multiplexed
 * "stdcopy" framing for containers without a terminal, a decoder for it,
 * the media types, the hijack response heads, and log lines with timestamps.
 *
 * A frame is an 8-byte header — the stream (0 stdin, 1 stdout, 2 stderr,
 * 3 "systemerr", which the docker CLI turns into an error), three zero
 * bytes, the payload length as a big-endian uint32 — then the payload. A
 * container with a terminal sends raw bytes instead. Clients pick the
 * framing from the container's (or exec's) `Tty`, not from the content type,
 * but moby still sends `application/vnd.docker.multiplexed-stream` for
 * non-tty streams from API 1.42 on, `…raw-stream` otherwise.
 *
 * A hijacked connection (attach, exec start) answers `101 UPGRADED` with
 * `Connection: Upgrade` and `Upgrade: tcp` when the client asked to upgrade
 * (the docker CLI and docker-py always do, and the Go client refuses
 * anything else); without an Upgrade header moby answers `200 OK` with the
 * raw-stream type and hijacks all the same. Write the head in its own write:
 * docker-py loses bytes that arrive in the same packet (docker-py#2466).
 *
 * References: Docker Engine API v1.44 ("Attach to a container": stream
 * format); moby v28.2.2 pkg/stdcopy/stdcopy.go,
 * api/server/router/container/container_routes.go (postContainersAttach),
 * exec.go (postContainerExecStart), daemon/logger (timestamps); research notes
 * /work/shared/research/docker-api.md §0.4–0.6, §3.1–3.3, §7.3–7.5.
 */
import { formatDockerTime } from "./docker_time.ts";

/** Stream ids of the frame header. */
export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
/** An error from the daemon inside the stream (the CLI's StdCopy returns it as an error). */
export const SYSTEMERR = 3;
export type StreamId = typeof STDIN | typeof STDOUT | typeof STDERR | typeof SYSTEMERR;

/** Size of a frame header. */
export const FRAME_HEADER_SIZE = 8;

/** Media type of a raw (terminal) stream. */
export const RAW_STREAM = "application/vnd.docker.raw-stream";
/** Media type of a multiplexed stream (API ≥ 1.42). */
export const MULTIPLEXED_STREAM = "application/vnd.docker.multiplexed-stream";

/** The header of a frame carrying `length` bytes of `stream`. */
export function formatFrameHeader(stream: StreamId, length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > 0xffffffff) {
    throw new RangeError(`frame length ${length} is not a uint32`);
  }
  const header = new Uint8Array(FRAME_HEADER_SIZE);
  header[0] = stream;
  new DataView(header.buffer).setUint32(4, length);
  return header;
}

/** One frame: header and payload in one buffer (one write, one chunk). */
export function formatFrame(stream: StreamId, payload: Uint8Array | string): Uint8Array {
  const bytes = typeof payload === "string" ? new TextEncoder().encode(payload) : payload;
  const frame = new Uint8Array(FRAME_HEADER_SIZE + bytes.length);
  frame.set(formatFrameHeader(stream, bytes.length));
  frame.set(bytes, FRAME_HEADER_SIZE);
  return frame;
}

/** A decoded frame. */
export interface Frame {
  stream: StreamId;
  payload: Uint8Array;
}

/**
 * Decodes a multiplexed stream incrementally: push chunks as they come
 * (frames may span chunks), take the complete frames. A header with an
 * unknown stream id or non-zero padding is an error, as in moby's StdCopy.
 */
export class FrameDecoder {
  #buffer = new Uint8Array(0);

  /** Adds bytes; returns the frames they complete. */
  push(chunk: Uint8Array): Frame[] {
    const joined = new Uint8Array(this.#buffer.length + chunk.length);
    joined.set(this.#buffer);
    joined.set(chunk, this.#buffer.length);
    const frames: Frame[] = [];
    let offset = 0;
    while (joined.length - offset >= FRAME_HEADER_SIZE) {
      const stream = joined[offset];
      if (stream > SYSTEMERR || joined[offset + 1] || joined[offset + 2] || joined[offset + 3]) {
        throw new Error(
          `unrecognized stream frame header at byte ${offset}: ${joined.slice(offset, offset + 8)}`,
        );
      }
      const length = new DataView(joined.buffer, offset + 4, 4).getUint32(0);
      if (joined.length - offset - FRAME_HEADER_SIZE < length) break;
      const start = offset + FRAME_HEADER_SIZE;
      frames.push({ stream: stream as StreamId, payload: joined.slice(start, start + length) });
      offset = start + length;
    }
    this.#buffer = joined.slice(offset);
    return frames;
  }

  /** Bytes of an incomplete frame still held. */
  get pending(): number {
    return this.#buffer.length;
  }

  /** The end of the stream: an incomplete frame left is an error. */
  end(): void {
    if (this.#buffer.length > 0) {
      throw new Error(`stream ended inside a frame (${this.#buffer.length} bytes left)`);
    }
  }
}

/**
 * An empty stdout frame: changes nothing for the clients (a frame of
 * length 0 writes nothing), but a write to a client that went away fails,
 * which is how a quiet hijacked stream notices it (hijack.ts probe).
 */
export const EMPTY_FRAME: Uint8Array = formatFrameHeader(STDOUT, 0);

/** How often a quiet multiplexed stream is probed with {@link EMPTY_FRAME}. */
export const PROBE_INTERVAL_MS = 2000;

/** Decodes a whole multiplexed stream (tests, small answers). */
export function demultiplex(bytes: Uint8Array): Frame[] {
  const decoder = new FrameDecoder();
  const frames = decoder.push(bytes);
  decoder.end();
  return frames;
}

/** Joins the frames of one stream as text (tests). */
export function streamText(frames: readonly Frame[], stream: StreamId): string {
  const decoder = new TextDecoder();
  return frames.filter((f) => f.stream === stream).map((f) => decoder.decode(f.payload)).join("");
}

/** The media type of an attach, exec or logs stream at an API version. */
export function streamMediaType(tty: boolean, multiplexedAllowed: boolean): string {
  return !tty && multiplexedAllowed ? MULTIPLEXED_STREAM : RAW_STREAM;
}

/** How a hijack response starts. */
export interface HijackHeadOptions {
  /** The request carried an `Upgrade` header (then 101, else moby's 200 variant). */
  upgrade: boolean;
  /** The stream's `Tty`. */
  tty: boolean;
  /** API ≥ 1.42: the multiplexed media type may be named. */
  multiplexedAllowed: boolean;
  /** Extra headers (exec start copies the common ones: Api-Version, Server...). */
  headers?: Record<string, string>;
}

/**
 * The response head of a hijacked attach or exec start, ending with the
 * blank line. `101 UPGRADED` for an upgrade request; `200 OK` with the raw
 * type otherwise (what moby answers clients that do not ask to upgrade).
 */
export function formatHijackHead(options: HijackHeadOptions): string {
  const lines = options.upgrade
    ? [
      "HTTP/1.1 101 UPGRADED",
      `Content-Type: ${streamMediaType(options.tty, options.multiplexedAllowed)}`,
      "Connection: Upgrade",
      "Upgrade: tcp",
    ]
    : ["HTTP/1.1 200 OK", `Content-Type: ${RAW_STREAM}`];
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (/[\r\n]/.test(name + value)) throw new Error(`header ${name} holds a line break`);
    lines.push(`${name}: ${value}`);
  }
  return lines.join("\r\n") + "\r\n\r\n";
}

/**
 * An error after the connection was taken over but before the stream began
 * (moby's attach: status line, content type, the message).
 */
export function formatHijackError(status: number, reason: string, message: string): string {
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Type: ${RAW_STREAM}\r\n\r\n${message}\r\n`;
}

/** A log line as `docker logs` sends it: with `timestamps=1`, moby's fixed RFC 3339 time and a space. */
export function formatLogLine(line: string, timestampNs?: bigint): string {
  return timestampNs === undefined ? line : `${formatDockerTime(timestampNs, true)} ${line}`;
}

/**
 * A tar reader and a small tar writer (pure: bytes in, headers and bytes out;
 * extraction onto a file system lives in `image/layer_unpack.ts`).
 *
 * Reader: `TarParser` is a push parser (chunks in, synchronous calls out);
 * `readTar` wraps it as an async iterator of entries over a
 * `ReadableStream<Uint8Array>` (decompress first). Understands POSIX ustar (name +
 * prefix), GNU long names and long link names (type `L`/`K`), PAX extended
 * headers (`x`, and `g` as defaults for later entries) with the keys path,
 * linkpath, size, uid, gid, mtime, uname, gname and `SCHILY.xattr.*`. Entry
 * types: file, hardlink, symlink, char and block device, directory, fifo.
 * Every header checksum is verified; truncated or corrupt input raises a
 * `TsnspawnError("image", ...)`.
 *
 * Writer: ustar headers, with a PAX header in front when a name, link name,
 * number or xattr does not fit in ustar.
 *
 * Specs: POSIX.1-2008 pax(1) "ustar Interchange Format" and "pax Interchange
 * Format"; GNU tar manual "Basic Tar Format"; the OCI image-spec layer.md
 * (layers are tar archives in this format).
 */
import { TsnspawnError } from "../errors.ts";
import { concatBytes } from "../bytes.ts";

/** Size of a tar block. */
export const BLOCK_SIZE = 512;
/** Largest PAX/GNU meta entry the reader accepts (a long name is never this big). */
export const MAX_META_SIZE = 1 << 20;

/** The entry types tsnspawn understands. */
export type TarEntryType =
  | "file"
  | "hardlink"
  | "symlink"
  | "char"
  | "block"
  | "dir"
  | "fifo";

/** A decoded tar header (after PAX and GNU long name/link records are applied). */
export interface TarHeader {
  /** Path as stored in the archive (not normalized). */
  path: string;
  type: TarEntryType;
  /** Permission bits including setuid/setgid/sticky (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Number of content bytes (0 for everything but files). */
  size: number;
  /** Modification time in seconds since the epoch (may be fractional with PAX). */
  mtime: number;
  /** Symlink target or hard link target path. */
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
  /** Extended attributes from `SCHILY.xattr.<name>` PAX records. */
  xattrs: Record<string, Uint8Array>;
}

/** One archive member: its header and its content, which must be read before the next entry (or it is skipped). */
export interface TarEntry {
  header: TarHeader;
  /** Content chunks, `header.size` bytes in total. */
  body: AsyncIterable<Uint8Array>;
}

function corrupt(why: string): TsnspawnError {
  return new TsnspawnError("image", `tar archive is corrupt: ${why}`, {
    hint: "check that the file is a complete tar archive (plain or gzip)",
  });
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();

function decodeString(bytes: Uint8Array, what: string): string {
  let end = bytes.indexOf(0);
  if (end < 0) end = bytes.length;
  // Names are nearly always ASCII: decode those without a TextDecoder call.
  let ascii = "";
  for (let i = 0; i < end; i++) {
    if (bytes[i] >= 0x80) {
      try {
        return utf8.decode(bytes.subarray(0, end));
      } catch {
        throw corrupt(`${what} is not valid UTF-8`);
      }
    }
    ascii += String.fromCharCode(bytes[i]);
  }
  return ascii;
}

/** Parses a numeric header field: octal text, or GNU base-256 when the high bit is set. */
export function parseNumeric(field: Uint8Array, what: string): number {
  if (field.length > 0 && (field[0] & 0x80) !== 0) {
    if (field[0] === 0xff) throw corrupt(`negative ${what}`);
    let value = field[0] & 0x7f;
    for (let i = 1; i < field.length; i++) {
      value = value * 256 + field[i];
      if (value > Number.MAX_SAFE_INTEGER) throw corrupt(`${what} too large`);
    }
    return value;
  }
  // Fast path: octal digits, then NULs or spaces.
  let value = 0;
  let i = 0;
  while (i < field.length && field[i] >= 0x30 && field[i] <= 0x37) {
    value = value * 8 + field[i++] - 0x30;
  }
  if (i > 0 && (i === field.length || field[i] === 0 || field[i] === 0x20)) {
    while (i < field.length && field[i] === 0x20) i++;
    if (i === field.length || field[i] === 0) return value;
  }
  let text = "";
  for (const byte of field) {
    if (byte === 0) break;
    text += String.fromCharCode(byte);
  }
  text = text.trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) {
    throw corrupt(`${what} field ${JSON.stringify(text)} is not octal`);
  }
  return parseInt(text, 8);
}

/** The raw fields of a 512-byte header block. */
export interface RawHeader {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
}

/** Verifies the checksum of a header block (unsigned or historic signed sum). */
export function checksumOk(block: Uint8Array): boolean {
  const stored = parseNumeric(block.subarray(148, 156), "checksum");
  // The checksum field counts as eight spaces.
  let unsigned = 8 * 0x20;
  let high = 0; // bytes above 127: each counts 256 less in the signed sum
  for (let i = 0; i < BLOCK_SIZE; i++) {
    if (i === 148) i = 156;
    unsigned += block[i];
    if (block[i] > 127) high++;
  }
  return stored === unsigned || stored === unsigned - 256 * high;
}

/**
 * Decodes one header block; `null` for an all-zero block (end-of-archive
 * marker).
 */
export function parseHeaderBlock(block: Uint8Array): RawHeader | null {
  if (block.length !== BLOCK_SIZE) throw corrupt("short header block");
  if (block.every((b) => b === 0)) return null;
  if (!checksumOk(block)) throw corrupt("header checksum mismatch");
  const magic = String.fromCharCode(...block.subarray(257, 263));
  let name = decodeString(block.subarray(0, 100), "name");
  if (magic === "ustar\0") {
    const prefix = decodeString(block.subarray(345, 500), "name prefix");
    if (prefix !== "") name = `${prefix}/${name}`;
  }
  return {
    name,
    mode: parseNumeric(block.subarray(100, 108), "mode"),
    uid: parseNumeric(block.subarray(108, 116), "uid"),
    gid: parseNumeric(block.subarray(116, 124), "gid"),
    size: parseNumeric(block.subarray(124, 136), "size"),
    mtime: parseNumeric(block.subarray(136, 148), "mtime"),
    typeflag: block[156] === 0 ? "0" : String.fromCharCode(block[156]),
    linkname: decodeString(block.subarray(157, 257), "link name"),
    uname: decodeString(block.subarray(265, 297), "user name"),
    gname: decodeString(block.subarray(297, 329), "group name"),
    devmajor: parseNumeric(block.subarray(329, 337), "device major"),
    devminor: parseNumeric(block.subarray(337, 345), "device minor"),
  };
}

/** Parses PAX extended header records ("<len> <key>=<value>\n"...). Values stay bytes. */
export function parsePaxRecords(data: Uint8Array): Map<string, Uint8Array> {
  const records = new Map<string, Uint8Array>();
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break; // some writers pad with NULs
    const space = data.indexOf(0x20, pos);
    if (space < 0 || space - pos > 20) throw corrupt("PAX record without length");
    const lengthText = String.fromCharCode(...data.subarray(pos, space));
    if (!/^[0-9]+$/.test(lengthText)) throw corrupt("PAX record length is not a number");
    const length = parseInt(lengthText, 10);
    const end = pos + length;
    if (length <= space - pos + 1 || end > data.length || data[end - 1] !== 0x0a) {
      throw corrupt("PAX record length out of range");
    }
    const record = data.subarray(space + 1, end - 1);
    const eq = record.indexOf(0x3d);
    if (eq <= 0) throw corrupt("PAX record without key");
    const key = decodeString(record.subarray(0, eq), "PAX key");
    records.set(key, record.subarray(eq + 1));
    pos = end;
  }
  return records;
}

const TYPES: Record<string, TarEntryType> = {
  "0": "file",
  "7": "file", // contiguous file: a regular file everywhere that matters
  "1": "hardlink",
  "2": "symlink",
  "3": "char",
  "4": "block",
  "5": "dir",
  "6": "fifo",
};

function paxNumber(value: Uint8Array, key: string, fractional = false): number {
  const text = decodeString(value, `PAX ${key}`);
  const pattern = fractional ? /^-?[0-9]+(\.[0-9]+)?$/ : /^[0-9]+$/;
  if (!pattern.test(text)) throw corrupt(`PAX ${key} ${JSON.stringify(text)} is not a number`);
  const n = Number(text);
  if (!Number.isSafeInteger(Math.trunc(n))) throw corrupt(`PAX ${key} too large`);
  return n;
}

/** Applies PAX records to a header being built. */
function applyPax(h: TarHeader, records: Map<string, Uint8Array>): void {
  for (const [key, value] of records) {
    switch (key) {
      case "path":
        h.path = decodeString(value, "PAX path");
        break;
      case "linkpath":
        h.linkname = decodeString(value, "PAX linkpath");
        break;
      case "size":
        h.size = paxNumber(value, key);
        break;
      case "uid":
        h.uid = paxNumber(value, key);
        break;
      case "gid":
        h.gid = paxNumber(value, key);
        break;
      case "mtime":
        h.mtime = paxNumber(value, key, true);
        break;
      case "uname":
        h.uname = decodeString(value, "PAX uname");
        break;
      case "gname":
        h.gname = decodeString(value, "PAX gname");
        break;
      default:
        if (key.startsWith("SCHILY.xattr.")) {
          h.xattrs[key.slice("SCHILY.xattr.".length)] = value.slice();
        } else if (key.startsWith("GNU.sparse.")) {
          throw corrupt("GNU sparse files are not supported");
        } // atime, ctime, charset, comment, LIBARCHIVE.*: ignored
    }
  }
}

/** Receives what a {@link TarParser} finds, synchronously and in archive order. */
export interface TarSink {
  /** An entry starts; for files, its content follows through `data`. */
  entry(header: TarHeader): void;
  /** A piece of the current file's content: a view into the pushed chunk (copy it to keep it). */
  data(piece: Uint8Array): void;
  /** The current entry is complete (called for every entry, after its content). */
  end(): void;
}

function padding(size: number): number {
  return (BLOCK_SIZE - (size % BLOCK_SIZE)) % BLOCK_SIZE;
}

/**
 * A push parser: give it the archive's bytes in chunks of any size with
 * {@link push}, then call {@link finish}; it calls the sink as entries,
 * content and entry ends appear, without a promise per entry (a layer can
 * have hundreds of thousands of entries). Bytes after the end-of-archive
 * marker are ignored; the caller still reads them (digests cover the whole
 * stream).
 *
 * @throws {TsnspawnError} code "image" (from `push` and `finish`) on corrupt
 *   or truncated input; errors thrown by the sink pass through.
 */
export class TarParser {
  readonly #sink: TarSink;
  /** What the next bytes are. */
  #state: "header" | "meta" | "data" | "skip" | "end" = "header";
  /** Bytes still expected in the current state ("meta", "data", "skip"). */
  #left = 0;
  /** Padding that follows the current content. */
  #padding = 0;
  /** What is being read, for truncation errors. */
  #what = "header";
  /** A header block split across chunks. */
  readonly #block = new Uint8Array(BLOCK_SIZE);
  #blockFill = 0;
  /** The content of a PAX or GNU long name entry being collected. */
  #meta = new Uint8Array(0);
  #metaType = "";
  readonly #globalPax = new Map<string, Uint8Array>();
  #pax: Map<string, Uint8Array> | undefined;
  #longName: string | undefined;
  #longLink: string | undefined;

  constructor(sink: TarSink) {
    this.#sink = sink;
  }

  /** Parses the next bytes of the archive. */
  push(chunk: Uint8Array): void {
    let pos = 0;
    while (pos < chunk.length && this.#state !== "end") {
      const available = chunk.length - pos;
      switch (this.#state) {
        case "header": {
          if (this.#blockFill === 0 && available >= BLOCK_SIZE) {
            pos += BLOCK_SIZE;
            this.#header(chunk.subarray(pos - BLOCK_SIZE, pos));
            break;
          }
          const take = Math.min(BLOCK_SIZE - this.#blockFill, available);
          this.#block.set(chunk.subarray(pos, pos + take), this.#blockFill);
          this.#blockFill += take;
          pos += take;
          if (this.#blockFill === BLOCK_SIZE) {
            this.#blockFill = 0;
            this.#header(this.#block);
          }
          break;
        }
        case "meta": {
          const take = Math.min(this.#left, available);
          this.#meta.set(chunk.subarray(pos, pos + take), this.#meta.length - this.#left);
          this.#left -= take;
          pos += take;
          if (this.#left === 0) this.#metaDone();
          break;
        }
        case "data": {
          const take = Math.min(this.#left, available);
          this.#left -= take;
          pos += take;
          this.#sink.data(chunk.subarray(pos - take, pos));
          if (this.#left === 0) this.#contentDone();
          break;
        }
        case "skip": {
          const take = Math.min(this.#left, available);
          this.#left -= take;
          pos += take;
          if (this.#left === 0) this.#state = "header";
          break;
        }
      }
    }
  }

  /** The input ended: checks that the archive did not stop in the middle of something. */
  finish(): void {
    if (this.#state === "header" && this.#blockFill > 0) {
      throw corrupt("unexpected end of archive in header");
    }
    if (this.#state === "meta" || this.#state === "data" || this.#state === "skip") {
      throw corrupt(`unexpected end of archive in ${this.#what}`);
    }
    // EOF on a block boundary without the end marker is accepted, like Go's archive/tar.
    if (this.#pax || this.#longName !== undefined || this.#longLink !== undefined) {
      throw corrupt("archive ends after an extended header");
    }
  }

  /** Expects `size` bytes of content (`what` names them), then their padding. */
  #expect(state: "meta" | "data", size: number, what: string): void {
    this.#what = what;
    this.#padding = padding(size);
    this.#left = size;
    this.#state = state;
    if (size === 0) {
      if (state === "meta") this.#metaDone();
      else this.#contentDone();
    }
  }

  #contentDone(): void {
    this.#sink.end();
    this.#skipPadding();
  }

  #skipPadding(): void {
    this.#left = this.#padding;
    this.#state = this.#left > 0 ? "skip" : "header";
  }

  #header(block: Uint8Array): void {
    const raw = parseHeaderBlock(block);
    if (raw === null) {
      // First zero block of the end-of-archive marker; the second is
      // optional in practice, and whatever follows is ignored.
      if (this.#pax || this.#longName !== undefined || this.#longLink !== undefined) {
        throw corrupt("archive ends after an extended header");
      }
      this.#state = "end";
      return;
    }
    const meta = META_NAMES[raw.typeflag];
    if (meta !== undefined) {
      if (raw.size > MAX_META_SIZE) throw corrupt(`${meta} of ${raw.size} bytes is too large`);
      this.#metaType = raw.typeflag;
      this.#meta = new Uint8Array(raw.size);
      this.#expect("meta", raw.size, meta);
      return;
    }
    let type = TYPES[raw.typeflag];
    if (type === undefined) {
      throw corrupt(`unsupported entry type ${JSON.stringify(raw.typeflag)} for "${raw.name}"`);
    }
    const header: TarHeader = {
      path: this.#longName ?? raw.name,
      type,
      mode: raw.mode & 0o7777,
      uid: raw.uid,
      gid: raw.gid,
      size: raw.size,
      mtime: raw.mtime,
      linkname: this.#longLink ?? raw.linkname,
      uname: raw.uname,
      gname: raw.gname,
      devmajor: raw.devmajor,
      devminor: raw.devminor,
      xattrs: {},
    };
    if (this.#globalPax.size > 0) applyPax(header, this.#globalPax);
    if (this.#pax) applyPax(header, this.#pax);
    if (type === "file" && header.path.endsWith("/")) type = header.type = "dir";
    this.#pax = this.#longName = this.#longLink = undefined;
    // Only regular files carry data (as Go's archive/tar: other types' size is ignored).
    const size = type === "file" ? header.size : 0;
    if (type !== "file") header.size = 0;
    this.#sink.entry(header);
    this.#expect("data", size, `content of "${header.path}"`);
  }

  #metaDone(): void {
    const data = this.#meta;
    switch (this.#metaType) {
      case "x":
        this.#pax = parsePaxRecords(data);
        break;
      case "g":
        for (const [k, v] of parsePaxRecords(data)) this.#globalPax.set(k, v);
        break;
      case "L":
        this.#longName = decodeString(data, META_NAMES.L);
        break;
      case "K":
        this.#longLink = decodeString(data, META_NAMES.K);
        break;
    }
    this.#skipPadding();
  }
}

/** Entry types that describe the next entry rather than being one. */
const META_NAMES: Record<string, string> = {
  x: "PAX header",
  g: "PAX global header",
  L: "GNU long name",
  K: "GNU long link name",
};

/**
 * Reads a tar archive entry by entry (for consumers that want one entry at
 * a time; the layer unpacker uses {@link TarParser} directly). Each entry's
 * body must be consumed before asking for the next one; an unread body is
 * skipped. After the end-of-archive marker the rest of the stream is read
 * and discarded, so whatever observes the stream (a digest) sees all of it.
 *
 * @throws {TsnspawnError} code "image" on corrupt or truncated input.
 */
export async function* readTar(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<TarEntry> {
  /** Parsed but not yet consumed: a header, a content piece, or null for an entry's end. */
  const queue: (TarHeader | Uint8Array | null)[] = [];
  const parser = new TarParser({
    entry: (header) => queue.push(header),
    data: (piece) => queue.push(piece),
    end: () => queue.push(null),
  });
  const reader = stream.getReader();
  let finished = false;
  /** The next parsed item, reading more of the stream as needed; undefined at its end. */
  const next = async () => {
    while (queue.length === 0) {
      const { done, value } = await reader.read();
      if (done) {
        parser.finish();
        finished = true;
        return undefined;
      }
      parser.push(value);
    }
    return queue.shift();
  };
  try {
    for (let item = await next(); item !== undefined; item = await next()) {
      // The parser ends every entry (null) before the stream can end cleanly.
      let ended = false;
      const body = (async function* () {
        for (let piece = await next(); piece instanceof Uint8Array; piece = await next()) {
          yield piece;
        }
        ended = true;
      })();
      yield { header: item as TarHeader, body };
      while (!ended) ended = !((await next()) instanceof Uint8Array);
    }
  } finally {
    if (!finished) await reader.cancel().catch(() => {});
  }
}

// ---------------------------------------------------------------- writer

/** What the writer needs to know about an entry; omitted numbers are 0. */
export interface TarWriteHeader {
  path: string;
  type: TarEntryType;
  mode?: number;
  uid?: number;
  gid?: number;
  /** Content length for files. */
  size?: number;
  /** Seconds since the epoch (integer). */
  mtime?: number;
  linkname?: string;
  uname?: string;
  gname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Record<string, Uint8Array | string>;
}

const TYPEFLAGS: Record<TarEntryType, string> = {
  file: "0",
  hardlink: "1",
  symlink: "2",
  char: "3",
  block: "4",
  dir: "5",
  fifo: "6",
};

function putString(block: Uint8Array, offset: number, length: number, bytes: Uint8Array): void {
  block.set(bytes.subarray(0, length), offset);
}

/** Writes n as octal into a field of `length` bytes (length-1 digits + NUL); false if it does not fit. */
function putOctal(block: Uint8Array, offset: number, length: number, n: number): boolean {
  const text = Math.trunc(n).toString(8);
  if (n < 0 || text.length > length - 1) return false;
  putString(block, offset, length, utf8Encoder.encode(text.padStart(length - 1, "0")));
  return true;
}

/** Replaces what cannot go into a ustar field (NUL, non-ASCII) by "_". */
function asciiOnly(s: string): string {
  return [...s].map((c) => c > "\0" && c < "\x80" ? c : "_").join("");
}

function isAscii(bytes: Uint8Array): boolean {
  return bytes.every((b) => b > 0 && b < 0x80);
}

/** Splits a path into ustar prefix and name, or returns undefined if it cannot be. */
function splitUstarPath(path: Uint8Array): [Uint8Array, Uint8Array] | undefined {
  if (!isAscii(path)) return undefined;
  if (path.length <= 100) return [new Uint8Array(0), path];
  for (let i = path.length - 1; i > 0; i--) {
    if (path[i] !== 0x2f) continue;
    if (path.length - i - 1 > 100) return undefined;
    if (i <= 155 && path.length - i - 1 > 0) return [path.subarray(0, i), path.subarray(i + 1)];
  }
  return undefined;
}

/** Encodes PAX records, computing each record's self-inclusive length. */
export function encodePaxRecords(records: [string, Uint8Array][]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [key, value] of records) {
    const rest = utf8Encoder.encode(` ${key}=`);
    const bodyLength = rest.length + value.length + 1;
    let length = bodyLength + String(bodyLength).length;
    if (String(length).length !== String(bodyLength).length) {
      length = bodyLength + String(length).length;
    }
    const record = new Uint8Array(length);
    const prefix = utf8Encoder.encode(String(length));
    record.set(prefix, 0);
    record.set(rest, prefix.length);
    record.set(value, prefix.length + rest.length);
    record[length - 1] = 0x0a;
    parts.push(record);
  }
  return concatBytes(parts);
}

function ustarBlock(
  name: [Uint8Array, Uint8Array],
  typeflag: string,
  h: TarWriteHeader,
  size: number,
  linkname: Uint8Array,
  overflow: (key: string, value: string) => void,
): Uint8Array {
  const block = new Uint8Array(BLOCK_SIZE);
  putString(block, 0, 100, name[1]);
  putOctal(block, 100, 8, (h.mode ?? 0) & 0o7777);
  if (!putOctal(block, 108, 8, h.uid ?? 0)) overflow("uid", String(h.uid));
  if (!putOctal(block, 116, 8, h.gid ?? 0)) overflow("gid", String(h.gid));
  if (!putOctal(block, 124, 12, size)) overflow("size", String(size));
  if (!putOctal(block, 136, 12, h.mtime ?? 0)) overflow("mtime", String(Math.trunc(h.mtime ?? 0)));
  block[156] = typeflag.charCodeAt(0);
  putString(block, 157, 100, linkname);
  putString(block, 257, 8, utf8Encoder.encode("ustar\x0000"));
  const uname = utf8Encoder.encode(h.uname ?? "");
  const gname = utf8Encoder.encode(h.gname ?? "");
  if (uname.length > 32) overflow("uname", h.uname!);
  else putString(block, 265, 32, uname);
  if (gname.length > 32) overflow("gname", h.gname!);
  else putString(block, 297, 32, gname);
  putOctal(block, 329, 8, h.devmajor ?? 0);
  putOctal(block, 337, 8, h.devminor ?? 0);
  putString(block, 345, 155, name[0]);
  block.fill(0x20, 148, 156);
  const sum = block.reduce((a, b) => a + b, 0);
  putString(block, 148, 8, utf8Encoder.encode(sum.toString(8).padStart(6, "0") + "\0 "));
  return block;
}

/**
 * Encodes the header of one entry: a ustar block, preceded by a PAX header
 * when something does not fit in ustar. Directory paths get a trailing "/".
 */
export function encodeHeader(h: TarWriteHeader): Uint8Array {
  let path = h.path;
  if (h.type === "dir" && !path.endsWith("/")) path += "/";
  const size = h.type === "file" ? h.size ?? 0 : 0;
  const records: [string, Uint8Array][] = [];
  const overflow = (key: string, value: string) => records.push([key, utf8Encoder.encode(value)]);

  const pathBytes = utf8Encoder.encode(path);
  let name = splitUstarPath(pathBytes);
  if (name === undefined) {
    overflow("path", path);
    name = [new Uint8Array(0), utf8Encoder.encode(asciiOnly(path).slice(-100))];
  }
  let linkname = utf8Encoder.encode(h.linkname ?? "");
  if (linkname.length > 100 || !isAscii(linkname)) {
    overflow("linkpath", h.linkname!);
    linkname = new Uint8Array(0);
  }
  for (const [key, value] of Object.entries(h.xattrs ?? {})) {
    records.push([
      `SCHILY.xattr.${key}`,
      typeof value === "string" ? utf8Encoder.encode(value) : value,
    ]);
  }
  const main = ustarBlock(name, TYPEFLAGS[h.type], h, size, linkname, overflow);
  if (records.length === 0) return main;

  const paxData = encodePaxRecords(records);
  const base = path.replace(/\/+$/, "").split("/").pop() ?? "";
  const paxName = utf8Encoder.encode(
    asciiOnly(`PaxHeaders/${base}`).slice(0, 100),
  );
  const paxHeader = ustarBlock(
    [new Uint8Array(0), paxName],
    "x",
    { path: "", type: "file", mode: 0o644, mtime: h.mtime },
    paxData.length,
    new Uint8Array(0),
    () => {},
  );
  return concatBytes([paxHeader, paxData, new Uint8Array(padding(paxData.length)), main]);
}

/** Zero bytes that pad `size` bytes of content to a block boundary. */
export function encodePadding(size: number): Uint8Array {
  return new Uint8Array(padding(size));
}

/** The end-of-archive marker: two zero blocks. */
export function encodeEnd(): Uint8Array {
  return new Uint8Array(2 * BLOCK_SIZE);
}

/** Builds a whole archive in memory (tests, small archives). */
export function createTar(
  entries: { header: TarWriteHeader; data?: Uint8Array | string }[],
): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const { header, data } of entries) {
    const bytes = typeof data === "string" ? utf8Encoder.encode(data) : data ?? new Uint8Array(0);
    const size = header.type === "file" ? bytes.length : 0;
    parts.push(encodeHeader({ ...header, size }), bytes.subarray(0, size), encodePadding(size));
  }
  parts.push(encodeEnd());
  return concatBytes(parts);
}

/**
 * Streams an archive into a writable stream, entry by entry; `close()` writes
 * the end marker. The content given for a file must be exactly `size` bytes.
 */
export class TarWriter {
  #writer: WritableStreamDefaultWriter<Uint8Array>;

  constructor(sink: WritableStream<Uint8Array>) {
    this.#writer = sink.getWriter();
  }

  /** Adds one entry; `content` only for files. */
  async add(
    header: TarWriteHeader,
    content?: Uint8Array | AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>,
  ): Promise<void> {
    const size = header.type === "file"
      ? header.size ?? (content instanceof Uint8Array ? content.length : 0)
      : 0;
    await this.#writer.write(encodeHeader({ ...header, size }));
    let written = 0;
    if (content instanceof Uint8Array) {
      await this.#writer.write(content);
      written = content.length;
    } else if (content) {
      for await (const chunk of content as AsyncIterable<Uint8Array>) {
        written += chunk.length;
        if (written > size) break;
        await this.#writer.write(chunk);
      }
    }
    if (written !== size) {
      throw new TsnspawnError(
        "system",
        `tar entry "${header.path}": expected ${size} bytes of content, got ${written}`,
        {
          hint: "the file changed while it was being archived; retry",
        },
      );
    }
    await this.#writer.write(encodePadding(size));
  }

  /** Writes the end-of-archive marker and closes the sink. */
  async close(): Promise<void> {
    await this.#writer.write(encodeEnd());
    await this.#writer.close();
  }
}

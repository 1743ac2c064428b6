/**
 * A tar reader and a small tar writer (pure: bytes in, headers and bytes out;
 * extraction onto a file system lives in `layer_unpack.ts`).
 *
 * Reader: streams over a `ReadableStream<Uint8Array>` (pipe gzip through
 * `DecompressionStream("gzip")` first). Understands POSIX ustar (name +
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
import { TsnspawnError } from "./errors.ts";

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
  try {
    return utf8.decode(bytes.subarray(0, end));
  } catch {
    throw corrupt(`${what} is not valid UTF-8`);
  }
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
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK_SIZE; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : block[i];
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  return stored === unsigned || stored === signed;
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

/** Buffered reads of exact byte counts from a stream. */
class ByteSource {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #chunk: Uint8Array = new Uint8Array(0);
  #offset = 0;
  #eof = false;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  /** Makes bytes available; false at end of stream. */
  async #fill(): Promise<boolean> {
    while (this.#offset >= this.#chunk.length) {
      if (this.#eof) return false;
      const { done, value } = await this.#reader.read();
      if (done) {
        this.#eof = true;
        return false;
      }
      this.#chunk = value;
      this.#offset = 0;
    }
    return true;
  }

  /** Exactly n bytes; null when the stream ends before the first byte. */
  async readExact(n: number, what: string): Promise<Uint8Array | null> {
    const out = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      if (!(await this.#fill())) {
        if (got === 0) return null;
        throw corrupt(`unexpected end of archive in ${what}`);
      }
      const take = Math.min(n - got, this.#chunk.length - this.#offset);
      out.set(this.#chunk.subarray(this.#offset, this.#offset + take), got);
      this.#offset += take;
      got += take;
    }
    return out;
  }

  /** Yields exactly n bytes as chunks (views into the stream's buffers). */
  async *chunks(n: number, what: string): AsyncGenerator<Uint8Array> {
    let left = n;
    while (left > 0) {
      if (!(await this.#fill())) {
        throw corrupt(`unexpected end of archive in ${what}`);
      }
      const take = Math.min(left, this.#chunk.length - this.#offset);
      const piece = this.#chunk.subarray(this.#offset, this.#offset + take);
      this.#offset += take;
      left -= take;
      yield piece;
    }
  }

  async skip(n: number, what: string): Promise<void> {
    for await (const _ of this.chunks(n, what)) { /* discard */ }
  }

  /** Reads to the end of the stream (so a hash over it covers everything). */
  async drain(): Promise<void> {
    this.#offset = this.#chunk.length;
    while (await this.#fill()) this.#offset = this.#chunk.length;
  }

  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}

function padding(size: number): number {
  return (BLOCK_SIZE - (size % BLOCK_SIZE)) % BLOCK_SIZE;
}

async function readMeta(src: ByteSource, size: number, what: string): Promise<Uint8Array> {
  if (size > MAX_META_SIZE) throw corrupt(`${what} of ${size} bytes is too large`);
  const data = size === 0 ? new Uint8Array(0) : await src.readExact(size, what);
  if (data === null) throw corrupt(`unexpected end of archive in ${what}`);
  await src.skip(padding(size), what);
  return data;
}

/**
 * Reads a tar archive entry by entry. Each entry's body must be consumed
 * before asking for the next one; an unread body is skipped. After the
 * end-of-archive marker the rest of the stream is read and discarded, so
 * whatever observes the stream (a digest) sees all of it.
 *
 * @throws {TsnspawnError} code "image" on corrupt or truncated input.
 */
export async function* readTar(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<TarEntry> {
  const src = new ByteSource(stream);
  let finished = false;
  try {
    const globalPax = new Map<string, Uint8Array>();
    let pax: Map<string, Uint8Array> | undefined;
    let longName: string | undefined;
    let longLink: string | undefined;
    for (;;) {
      const block = await src.readExact(BLOCK_SIZE, "header");
      if (block === null) break; // EOF on a block boundary: accepted like Go's archive/tar
      const raw = parseHeaderBlock(block);
      if (raw === null) {
        // First zero block of the end-of-archive marker; the second is
        // optional in practice, trailing data is drained below.
        break;
      }
      switch (raw.typeflag) {
        case "x":
          pax = parsePaxRecords(await readMeta(src, raw.size, "PAX header"));
          continue;
        case "g":
          for (
            const [k, v] of parsePaxRecords(await readMeta(src, raw.size, "PAX global header"))
          ) {
            globalPax.set(k, v);
          }
          continue;
        case "L":
          longName = decodeString(await readMeta(src, raw.size, "GNU long name"), "GNU long name");
          continue;
        case "K":
          longLink = decodeString(
            await readMeta(src, raw.size, "GNU long link name"),
            "GNU long link name",
          );
          continue;
      }
      let type = TYPES[raw.typeflag];
      if (type === undefined) {
        throw corrupt(`unsupported entry type ${JSON.stringify(raw.typeflag)} for "${raw.name}"`);
      }
      const header: TarHeader = {
        path: longName ?? raw.name,
        type,
        mode: raw.mode & 0o7777,
        uid: raw.uid,
        gid: raw.gid,
        size: raw.size,
        mtime: raw.mtime,
        linkname: longLink ?? raw.linkname,
        uname: raw.uname,
        gname: raw.gname,
        devmajor: raw.devmajor,
        devminor: raw.devminor,
        xattrs: {},
      };
      applyPax(header, globalPax);
      if (pax) applyPax(header, pax);
      if (type === "file" && header.path.endsWith("/")) type = header.type = "dir";
      pax = longName = longLink = undefined;
      // Only regular files carry data (as Go's archive/tar: other types' size is ignored).
      const dataSize = type === "file" ? header.size : 0;
      if (type !== "file") header.size = 0;

      let left = dataSize;
      const body = (async function* () {
        for await (const piece of src.chunks(left, `content of "${header.path}"`)) {
          left -= piece.length;
          yield piece;
        }
      })();
      yield { header, body };
      await src.skip(left + padding(dataSize), `content of "${header.path}"`);
    }
    if (pax || longName !== undefined || longLink !== undefined) {
      throw corrupt("archive ends after an extended header");
    }
    await src.drain();
    finished = true;
  } finally {
    if (!finished) await src.cancel();
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
  return concat(parts);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
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
  return concat([paxHeader, paxData, new Uint8Array(padding(paxData.length)), main]);
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
  return concat(parts);
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

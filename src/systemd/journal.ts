/**
 * Container logs live in journald. This module reads them with journalctl(1):
 * `logs`, the last lines shown by `status` and in start errors, and the live
 * output of a foreground `run`.
 *
 * Every log line of a container carries the fields set by the unit's
 * LogExtraFields= (see systemd/unit_properties.ts): TSNSPAWN_CONTAINER=<name> and
 * TSNSPAWN_RUN=<id of this start>, so a foreground `run` follows exactly its
 * own output without racing the unit's start.
 *
 * The container's stderr is a journal stream of its own with priority "err"
 * (src/runtime/stage2.ts), its stdout has "info": `logs` and a foreground
 * `run` write each line to the stream it came from, as docker does.
 */

/** Options of `tsnspawn logs` (and of the Docker API's logs). */
export interface LogQuery {
  container: string;
  follow?: boolean;
  lines?: number;
  /** journalctl's --since (systemd.time(7): "1 hour ago", "@1700000000.5"). */
  since?: string;
  /** journalctl's --until. */
  until?: string;
}

/** The selection of a logs query: lines, times, the container's field (pure). */
function logsSelection(query: LogQuery): string[] {
  const args: string[] = [];
  if (query.lines !== undefined) args.push(`--lines=${query.lines}`);
  else args.push("--no-tail");
  if (query.since) args.push(`--since=${query.since}`);
  if (query.until) args.push(`--until=${query.until}`);
  args.push(`TSNSPAWN_CONTAINER=${query.container}`);
  return args;
}

/** journalctl arguments for `tsnspawn logs` (pure). */
export function logsArguments(query: LogQuery): string[] {
  return [
    "--no-pager",
    "--quiet",
    ...JSON_FIELDS,
    ...(query.follow ? ["--follow"] : []),
    ...logsSelection(query),
  ];
}

/** One line of a container's output as the journal has it. */
export interface LogLine {
  /** The line, without its newline. */
  text: string;
  stream: OutputStream;
  /** When journald received it, µs since the epoch. */
  realtimeUs: bigint;
}

/**
 * Reads a container's log lines (`query.follow` is ignored: see
 * {@link JournalFollower}), each to `onLine`; returns journalctl's exit code.
 */
export async function readLogs(
  query: LogQuery,
  onLine: (line: LogLine) => void,
): Promise<number> {
  const child = new Deno.Command("journalctl", {
    args: logsArguments({ ...query, follow: false }),
    stdin: "null",
    stdout: "piped",
  }).spawn();
  await forEachLine(child.stdout.getReader(), (line) => {
    const entry = parseEntry(line);
    if (entry) onLine(logLineOf(entry));
  });
  return (await child.status).code;
}

/**
 * Calls `onLine` with every line `reader` delivers (without the newline),
 * until its end or until `stopped()` says so (what was read then is dropped).
 */
async function forEachLine(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  onLine: (line: string) => void,
  stopped: () => boolean = () => false,
): Promise<void> {
  let pending = "";
  const decoder = new TextDecoder();
  while (true) {
    const { value, done } = await reader.read();
    if (done || stopped()) break;
    pending += decoder.decode(value, { stream: true });
    let newline: number;
    while ((newline = pending.indexOf("\n")) >= 0) {
      onLine(pending.slice(0, newline));
      pending = pending.slice(newline + 1);
    }
  }
  if (pending && !stopped()) onLine(pending);
}

/** Writes all of `text` to our stdout or stderr. */
export function writeOutput(text: string, stream: OutputStream): void {
  const bytes = new TextEncoder().encode(text);
  const file = stream === "stderr" ? Deno.stderr : Deno.stdout;
  let written = 0;
  while (written < bytes.length) written += file.writeSync(bytes.subarray(written));
}

/** journald's varlink socket (what `journalctl --sync` talks to). */
const JOURNAL_VARLINK_SOCKET = "/run/systemd/journal/io.systemd.journal";

/**
 * Asks journald to process everything queued so far, as `journalctl --sync`
 * does: the varlink call io.systemd.Journal.Synchronize, made here directly
 * (a foreground `run` does this on every exit; a journalctl process costs
 * more than the call). Falls back to `journalctl --sync` when the socket or
 * the call fails (another journald, not root).
 */
export async function syncJournal(): Promise<void> {
  if (await synchronizeOverVarlink()) return;
  await new Deno.Command("journalctl", { args: ["--sync"], stdout: "null", stderr: "null" })
    .output();
}

/** One varlink call of io.systemd.Journal.Synchronize; false if it did not succeed. */
async function synchronizeOverVarlink(): Promise<boolean> {
  let conn: Deno.UnixConn;
  try {
    conn = await Deno.connect({ transport: "unix", path: JOURNAL_VARLINK_SOCKET });
  } catch {
    return false;
  }
  try {
    const request = new TextEncoder().encode(
      JSON.stringify({ method: "io.systemd.Journal.Synchronize", parameters: {} }) + "\0",
    );
    let written = 0;
    while (written < request.length) written += await conn.write(request.subarray(written));
    // The reply is one JSON object terminated by NUL.
    const chunks: Uint8Array[] = [];
    const buffer = new Uint8Array(4096);
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) return false;
      const chunk = buffer.slice(0, n);
      chunks.push(chunk);
      if (chunk.includes(0)) break;
    }
    const text = new TextDecoder().decode(await new Blob(chunks as BlobPart[]).arrayBuffer());
    const reply = JSON.parse(text.slice(0, text.indexOf("\0")));
    return typeof reply === "object" && reply !== null && !("error" in reply);
  } catch {
    return false;
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

/**
 * journalctl arguments for entries as JSON, one per line, with the fields
 * we use (and the cursor and the realtime timestamp, always there); `--all`: fields over 4096 bytes
 * are printed, not replaced by null.
 */
const JSON_FIELDS = ["--output=json", "--output-fields=MESSAGE,PRIORITY", "--all"];

/** One journal entry as `journalctl -o json` prints it. */
export interface JournalEntry {
  __CURSOR: string;
  /** µs since the epoch, as a decimal string (always printed). */
  __REALTIME_TIMESTAMP?: string;
  MESSAGE?: string | number[] | null;
  PRIORITY?: string;
}

/** Where a container's line goes. */
export type OutputStream = "stdout" | "stderr";

/** The stream a line came from: priority err or worse is stderr's (PURE). */
export function streamOf(entry: JournalEntry): OutputStream {
  const priority = Number(entry.PRIORITY ?? 6);
  return priority <= 3 ? "stderr" : "stdout";
}

/** One line of `journalctl -o json`, or null for a blank or broken one. */
function parseEntry(line: string): JournalEntry | null {
  if (!line.trim()) return null;
  try {
    return JSON.parse(line) as JournalEntry;
  } catch {
    return null;
  }
}

/** A parsed entry as a {@link LogLine}. */
function logLineOf(entry: JournalEntry): LogLine {
  let realtimeUs = 0n;
  try {
    realtimeUs = BigInt(entry.__REALTIME_TIMESTAMP ?? "0");
  } catch { /* not a number: unknown time */ }
  return { text: messageText(entry), stream: streamOf(entry), realtimeUs };
}

function messageText(entry: JournalEntry): string {
  const message = entry.MESSAGE;
  if (message === undefined || message === null) return "";
  if (typeof message === "string") return message;
  return new TextDecoder().decode(new Uint8Array(message));
}

/** The messages of one field match, oldest first (after syncing). */
export async function readMessages(match: string, lines?: number): Promise<string[]> {
  await syncJournal();
  const args = ["--no-pager", "--quiet", "--output=cat"];
  args.push(lines === undefined ? "--no-tail" : `--lines=${lines}`);
  args.push(match);
  const output = await new Deno.Command("journalctl", { args, stderr: "null" }).output();
  const text = new TextDecoder().decode(output.stdout);
  return text.split("\n").filter((line, i, all) => line !== "" || i < all.length - 1);
}

/** The output of container `name` from now on, to our stdout and stderr (`attach`). */
export function followContainerOutput(name: string): JournalFollower {
  return new JournalFollower(
    ["--lines=0", `TSNSPAWN_CONTAINER=${name}`],
    (line) => writeOutput(line.text + "\n", line.stream),
    BigInt(Date.now()) * 1000n,
  );
}

/**
 * Follows journal entries (`selection`: journalctl's match and options,
 * e.g. `--lines=5 TSNSPAWN_CONTAINER=web`), each to `onLine`, until
 * cancelled or finished. Call `finish()` once the writer stopped (the
 * container's unit ended): it syncs the journal and passes on whatever the
 * follower has not reached yet, so nothing is lost to journalctl's delay.
 */
export class JournalFollower {
  #selection: string[];
  #match: string;
  #onLine: (line: LogLine) => void;
  #child: Deno.ChildProcess;
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #cursor: string | null = null;
  /** From-now followers: entries before this (µs since the epoch) are not theirs. */
  #since: bigint | null = null;
  #stopped = false;
  #pump: Promise<void>;

  /**
   * `selection` ends with the match (`FIELD=value`) that `finish` reads
   * after the cursor. `sinceUs` (µs since the epoch): a from-now follower
   * (`--lines=0`), whose `finish` before any entry reads from that time.
   */
  constructor(selection: string[], onLine: (line: LogLine) => void, sinceUs?: bigint) {
    this.#selection = selection;
    this.#match = selection[selection.length - 1];
    this.#onLine = onLine;
    this.#since = sinceUs ?? null;
    this.#child = new Deno.Command("journalctl", {
      args: ["--no-pager", "--quiet", "--follow", ...JSON_FIELDS, ...selection],
      stdout: "piped",
      stderr: "null",
      stdin: "null",
    }).spawn();
    this.#reader = this.#child.stdout.getReader();
    this.#pump = this.#consume();
  }

  async #consume(): Promise<void> {
    try {
      await forEachLine(this.#reader, (line) => this.#emit(line), () => this.#stopped);
    } catch {
      // The follower died; finish() reads the rest.
    }
  }

  #emit(line: string): void {
    const entry = parseEntry(line);
    if (!entry) return;
    this.#cursor = entry.__CURSOR;
    this.#onLine(logLineOf(entry));
  }

  /** Stops following and passes on the entries the follower had not reached. */
  async finish(): Promise<void> {
    await Promise.all([this.cancel(), syncJournal()]);
    const args = ["--no-pager", "--quiet", ...JSON_FIELDS];
    if (this.#cursor) args.push(`--after-cursor=${this.#cursor}`, this.#match);
    else if (this.#since !== null) {
      args.push(`--since=@${this.#since / 1_000_000n}`, this.#match);
    } else args.push(...this.#selection);
    const output = await new Deno.Command("journalctl", { args, stderr: "null" }).output();
    for (const line of new TextDecoder().decode(output.stdout).split("\n")) this.#emit(line);
  }

  /**
   * Stops following: what was passed on stays passed on (the cursor is where
   * `finish` goes on), anything journalctl still sends is dropped. journalctl
   * is killed but not waited for: unmapping its journal files as it exits
   * takes milliseconds.
   */
  async cancel(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    try {
      this.#child.kill("SIGTERM");
    } catch { /* already gone */ }
    this.#child.unref();
    await this.#reader.cancel().catch(() => {});
    await this.#pump;
  }
}

/** A {@link JournalFollower} of a container's log lines. */
export function followLogs(query: LogQuery, onLine: (line: LogLine) => void): JournalFollower {
  return new JournalFollower(logsSelection(query), onLine);
}

/**
 * Streams the output of one start of a container (TSNSPAWN_RUN=<runId>) to
 * `write` while it runs, each line with the stream it came from. It reads
 * the run's entries from the first, so it may be created once the unit is
 * starting. Call `finish()` after the unit stopped: it syncs the journal and
 * prints whatever the follower has not shown yet.
 */
export class RunOutputFollower extends JournalFollower {
  constructor(runId: string, write: (text: string, stream: OutputStream) => void) {
    super(["--no-tail", `TSNSPAWN_RUN=${runId}`], (line) => write(line.text + "\n", line.stream));
  }
}

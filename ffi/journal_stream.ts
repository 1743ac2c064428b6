/**
 * sd_journal_stream_fd(3) without libsystemd: a stream socket connected to
 * journald's stdout socket, after the header systemd itself sends for a
 * unit's output (src/core/execute.c, connect_journal_socket): identifier,
 * unit name, priority, level prefix, then no forwarding to syslog, kmsg or
 * the console. Every line written to the socket becomes a journal entry.
 *
 * journald honours the unit name of a root peer when the peer's cgroup names
 * no unit (journald-context.c), so the lines belong to the unit even when
 * the writer sits outside the unit's cgroups for a while.
 *
 * Man pages: sd_journal_stream_fd(3), systemd-journald.service(8), unix(7).
 */
import { check, libc } from "./libc.ts";
import { writeAll } from "./fifo.ts";
import { sockaddrUn } from "./unix_socket.ts";

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;

/** journald's socket for stdout streams. */
export const JOURNAL_STDOUT_SOCKET = "/run/systemd/journal/stdout";

/** What a journal stream says about its lines. */
export interface JournalStreamHeader {
  /** SYSLOG_IDENTIFIER= of every line. */
  identifier: string;
  /** The unit the lines belong to ("tsnspawn-web.service"). */
  unit: string;
  /** PRIORITY= of every line (3 = err, 6 = info). */
  priority: number;
  /** Whether a leading "<N>" sets a line's priority (and is cut off). */
  levelPrefix: boolean;
}

/** The header text (PURE). */
export function journalStreamHeader(header: JournalStreamHeader): string {
  for (const [key, value] of [["identifier", header.identifier], ["unit", header.unit]]) {
    if (value.includes("\n")) throw new RangeError(`journal stream ${key} has a newline`);
  }
  const flag = (on: boolean) => (on ? "1" : "0");
  // identifier, unit id, priority, level prefix, forward to syslog, to kmsg, to console
  return `${header.identifier}\n${header.unit}\n${header.priority}\n${
    flag(header.levelPrefix)
  }\n0\n0\n0\n`;
}

/** Opens a journal stream (close-on-exec; dup2 it where a process needs it). */
export function openJournalStream(
  header: JournalStreamHeader,
  socketPath = JOURNAL_STDOUT_SOCKET,
): number {
  const fd = check("socket", libc().socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), "AF_UNIX");
  try {
    const { sockaddr, length } = sockaddrUn(socketPath);
    check("connect", libc().connect(fd, sockaddr, length), socketPath);
    writeAll(fd, new TextEncoder().encode(journalStreamHeader(header)) as Uint8Array<ArrayBuffer>);
    return fd;
  } catch (error) {
    libc().close(fd);
    throw error;
  }
}

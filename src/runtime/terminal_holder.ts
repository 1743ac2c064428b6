/**
 * The terminal holder of a -t container (`tsnspawn __terminal NAME`): what
 * keeps a detached terminal alive, as podman's conmon does, but in a unit
 * of its own (`tsnspawn-terminal@NAME.service`, systemd/unit_properties.ts
 * planTerminalUnitProperties), never the container's: systemd owns the
 * container's lifetime, and the holder ending loses the terminal at most.
 * Containers without a terminal have none.
 *
 * What it does:
 * - listens on `<container dir>/tty.sock` (mode 0600, in the host's state
 *   dir: nothing of the container can reach it), then READY=1;
 * - takes the pty master the shim sends when the container starts
 *   (runtime/terminal_handoff.ts; from a root peer only), and puts it in
 *   its unit's fd store (FDSTORE=1): if the holder is killed, systemd
 *   restarts it (Restart=on-failure) and hands the master back, so the
 *   container never sees its terminal hang up;
 * - copies the terminal's output to its stdout, the journal, with the
 *   container's journal fields (`tsnspawn logs` shows it), to every
 *   attached client, and into a replay buffer of the run's last 64 KiB
 *   (`run -it` and `start -ai` attach once the unit started, and ask for
 *   it so that no output is lost);
 * - passes clients' input to the terminal and their window size to the
 *   master (the container gets SIGWINCH), from any client: several attach
 *   at once and see the same output;
 * - holds a slave fd of its own: a pty whose slave nobody has open reads
 *   EIO on its master, and an OS container's systemd opens and closes its
 *   console for each message; the container's end is systemd's to tell
 *   (BindsTo=: the holder is stopped with the container's unit), and then
 *   the clients are told ("E"). A restart policy's next start registers a
 *   new terminal.
 *
 * The holder is outside the container's PID, mount and network namespaces
 * and cgroups; the container only ever has the pty's slave.
 *
 * Man pages: pty(7), unix(7), sd_notify(3) (FDSTORE=1, READY=1),
 * sd_listen_fds(3) (fds handed back: $LISTEN_FDS, $LISTEN_FDNAMES).
 */
import { containerPaths } from "../paths.ts";
import { describeError } from "../errors.ts";
import { openNotifySocket } from "../../ffi/notify.ts";
import { closeFd } from "../../ffi/fifo.ts";
import { openPtyPeer, readAsync, setWindowSize, writeAllAsync } from "../../ffi/pty.ts";
import { acceptAsync, listenUnix, peerCredentials, receiveAsync } from "../../ffi/unix_socket.ts";
import {
  decodeSize,
  encodeFrame,
  FRAME_ATTACH,
  FRAME_END,
  FRAME_INPUT,
  FRAME_OUTPUT,
  FRAME_REGISTER,
  FRAME_WINSIZE,
  FrameDecoder,
} from "../container/terminal_protocol.ts";
import { NewlineNormalizer } from "./console_text.ts";

/** Output of the current run kept for clients that ask for it. */
const REPLAY_BYTES = 64 * 1024;
/** Output queued for a client that does not read before it is dropped. */
const CLIENT_BACKLOG_BYTES = 4 * 1024 * 1024;
/** The fd store name of the master. */
const FDNAME = "terminal";

/** One attached client. */
class Client {
  #queue: Promise<unknown> = Promise.resolve();
  #backlog = 0;
  closed = false;

  constructor(readonly fd: number, readonly onClose: (client: Client) => void) {}

  /** Queues a frame; a client too far behind is dropped. */
  send(frame: Uint8Array<ArrayBuffer>): void {
    if (this.closed) return;
    if (this.#backlog > CLIENT_BACKLOG_BYTES) {
      this.close();
      return;
    }
    this.#backlog += frame.length;
    this.#queue = this.#queue.then(async () => {
      if (this.closed) return;
      const ok = await writeAllAsync(this.fd, frame);
      this.#backlog -= frame.length;
      if (!ok) this.close();
    });
  }

  /** Closes after what is queued went out. */
  async finish(): Promise<void> {
    await this.#queue;
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeFd(this.fd);
    this.onClose(this);
  }
}

/** The holder's state. */
class Holder {
  master: number | null = null;
  /** Our own slave fd of `master` (see the module comment). */
  slave: number | null = null;
  clients = new Set<Client>();
  replay: Uint8Array[] = [];
  replayBytes = 0;
  notifier = openNotifySocket();
  #stdout = Deno.stdout;

  /** Takes a new master (a start of the container), stores it, and relays it. */
  adopt(master: number, stored: boolean): void {
    if (this.master !== null) closeFd(this.master);
    if (this.slave !== null) closeFd(this.slave);
    this.master = master;
    try {
      this.slave = openPtyPeer(master);
    } catch {
      this.slave = null;
    }
    this.replay = [];
    this.replayBytes = 0;
    if (!stored) {
      try {
        this.notifier?.send(`FDSTOREREMOVE=1\nFDNAME=${FDNAME}`);
        this.notifier?.sendFds(`FDSTORE=1\nFDNAME=${FDNAME}`, [master]);
      } catch (error) {
        console.error(
          `tsnspawn: terminal: cannot keep it in the fd store: ${describeError(error)}`,
        );
      }
    }
    void this.pump(master);
  }

  async pump(master: number): Promise<void> {
    const buffer = new Uint8Array(16384);
    const newlines = new NewlineNormalizer();
    for (;;) {
      const n = await readAsync(master, buffer);
      if (n === 0) break;
      const chunk = buffer.slice(0, n);
      this.replay.push(chunk);
      this.replayBytes += n;
      while (this.replayBytes > REPLAY_BYTES && this.replay.length > 1) {
        this.replayBytes -= this.replay.shift()!.length;
      }
      const frame = encodeFrame(FRAME_OUTPUT, chunk);
      for (const client of this.clients) client.send(frame);
      const text = newlines.push(chunk);
      for (let written = 0; written < text.length;) {
        written += await this.#stdout.write(text.subarray(written));
      }
    }
    // The pty is gone (a new start replaced it, or our own slave failed to open).
    if (this.master !== master) return;
    await this.end();
  }

  /** The container's terminal is gone: tells the clients and lets go of it. */
  async end(): Promise<void> {
    if (this.master !== null) closeFd(this.master);
    if (this.slave !== null) closeFd(this.slave);
    this.master = this.slave = null;
    const end = encodeFrame(FRAME_END, new Uint8Array());
    await Promise.all([...this.clients].map((client) => {
      client.send(end);
      return client.finish();
    }));
  }

  /** Serves one connection: the shim's registration, or a client. */
  async serve(fd: number): Promise<void> {
    const first = await receiveAsync(fd, 65536);
    if (!first || first.data.length === 0) {
      for (const extra of first?.fds ?? []) closeFd(extra);
      closeFd(fd);
      return;
    }
    const decoder = new FrameDecoder();
    let frames;
    try {
      frames = decoder.push(first.data);
    } catch {
      closeFd(fd);
      return;
    }
    if (frames[0]?.type === FRAME_REGISTER) {
      const [master, ...rest] = first.fds;
      for (const extra of rest) closeFd(extra);
      // Only root (the shim) hands in terminals.
      if (master === undefined || peerCredentials(fd).uid !== 0) {
        if (master !== undefined) closeFd(master);
        closeFd(fd);
        return;
      }
      this.adopt(master, false);
      await writeAllAsync(fd, new Uint8Array([1]));
      closeFd(fd);
      return;
    }
    for (const extra of first.fds) closeFd(extra);
    if (frames[0]?.type !== FRAME_ATTACH) {
      closeFd(fd);
      return;
    }
    const client = new Client(fd, (c) => this.clients.delete(c));
    let request: { replay?: boolean } = {};
    try {
      request = JSON.parse(new TextDecoder().decode(frames[0].payload));
    } catch { /* plain attach */ }
    if (request.replay) {
      for (const chunk of this.replay) client.send(encodeFrame(FRAME_OUTPUT, chunk));
    }
    if (this.master === null) {
      client.send(encodeFrame(FRAME_END, new Uint8Array()));
      await client.finish();
      return;
    }
    this.clients.add(client);
    await this.handle(frames.slice(1));
    const buffer = new Uint8Array(16384);
    while (!client.closed) {
      const n = await readAsync(fd, buffer);
      if (n === 0) break;
      let more;
      try {
        more = decoder.push(buffer.subarray(0, n));
      } catch {
        break;
      }
      await this.handle(more);
    }
    client.close();
  }

  /** Input and window sizes from a client, to the terminal. */
  async handle(frames: { type: number; payload: Uint8Array }[]): Promise<void> {
    for (const frame of frames) {
      const master = this.master;
      if (master === null) return;
      if (frame.type === FRAME_INPUT) {
        if (!await writeAllAsync(master, new Uint8Array(frame.payload))) return;
      } else if (frame.type === FRAME_WINSIZE) {
        const size = decodeSize(frame.payload);
        if (size) {
          try {
            setWindowSize(master, size);
          } catch { /* the terminal went away */ }
        }
      }
    }
  }
}

/** The master handed back by systemd after a restart ($LISTEN_FDS from the fd store). */
function storedMaster(): number | null {
  if (Number(Deno.env.get("LISTEN_PID")) !== Deno.pid) return null;
  const count = Number(Deno.env.get("LISTEN_FDS") ?? 0);
  const names = (Deno.env.get("LISTEN_FDNAMES") ?? "").split(":");
  let master: number | null = null;
  for (let i = 0; i < count; i++) {
    if (names[i] === FDNAME && master === null) master = 3 + i;
    else closeFd(3 + i);
  }
  return master;
}

/** Entry of `__terminal NAME`: runs until systemd stops it. */
export async function runTerminalHolder(name: string): Promise<number> {
  const holder = new Holder();
  let listener: number;
  try {
    listener = listenUnix(containerPaths(name).terminalSocket, 0o600);
  } catch (error) {
    console.error(`tsnspawn: terminal of ${name}: ${describeError(error)}`);
    return 1;
  }
  const master = storedMaster();
  if (master !== null) holder.adopt(master, true);
  holder.notifier?.send("READY=1");
  // Stopped with the container's unit: the pump has a moment for what the
  // terminal still holds, then the clients learn the container ended.
  Deno.addSignalListener("SIGTERM", () => {
    setTimeout(async () => {
      await holder.end();
      Deno.exit(0);
    }, holder.master === null ? 0 : 200);
  });
  for (;;) {
    const fd = await acceptAsync(listener);
    if (fd < 0) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    void holder.serve(fd).catch((error) => {
      console.error(`tsnspawn: terminal of ${name}: ${describeError(error)}`);
    });
  }
}

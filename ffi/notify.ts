/**
 * sd_notify(3) without libsystemd: a SOCK_DGRAM unix socket and one
 * sendto(2) to $NOTIFY_SOCKET (a path, or an abstract socket written "@name").
 *
 * Open the socket BEFORE unsharing a network namespace (abstract unix
 * sockets belong to a network namespace, and a socket keeps the namespace it
 * was created in) and before pivot_root: the socket is connect(2)ed when it
 * is opened, so later sends need no path lookup.
 *
 * Man pages: sd_notify(3), sd_notify_barrier(3), unix(7), sendto(2), sendmmsg(2).
 */
import { addressOf, check, libc } from "./libc.ts";
import { POLLHUP, POLLIN, pollOne } from "./fifo.ts";
import { sendWithAncillary, sockaddrUn } from "./unix_socket.ts";

export { sockaddrUn };

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const MSG_NOSIGNAL = 0x4000;

/** A datagram socket connected to nothing, ready to send to the notify socket. */
export interface NotifySocket {
  /** Sends one notification ("READY=1", "MAINPID=42\nREADY=1", ...). */
  send(state: string): void;
  /** Sends one notification with descriptors attached (FDSTORE=1). */
  sendFds(state: string, fds: number[]): void;
  /**
   * sd_notify_barrier(3): sends BARRIER=1 with the write end of a pipe and
   * waits until the manager closed it, which it does only after processing
   * every notification sent before. False on timeout.
   */
  barrier(timeoutMs: number): boolean;
  /**
   * Sends `state`, then a barrier, in one sendmmsg(2), and waits like
   * {@link barrier}. Both datagrams are queued before the manager reads the
   * first, so it handles the barrier right after `state` (its notify socket
   * goes before its run queue), not after what `state` made it do next: on
   * READY=1 systemd starts the units that want this one, and forks them
   * before it reads a barrier sent a moment later (~10 ms here). False on
   * timeout.
   */
  sendWithBarrier(state: string, timeoutMs: number): boolean;
  /** Closes the socket. */
  close(): void;
}

/**
 * Opens a socket for sd_notify to `address` (default $NOTIFY_SOCKET).
 * Returns null when there is no notify socket (not started by systemd).
 */
export function openNotifySocket(
  address: string | undefined = Deno.env.get("NOTIFY_SOCKET"),
): NotifySocket | null {
  if (!address) return null;
  const { sockaddr, length } = sockaddrUn(address);
  const fd = check("socket", libc().socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), "AF_UNIX");
  try {
    check("connect", libc().connect(fd, sockaddr, length), address);
  } catch (error) {
    libc().close(fd);
    throw error;
  }
  return {
    send(state: string) {
      const bytes = new TextEncoder().encode(state);
      check(
        "send",
        libc().sendto(fd, bytes, BigInt(bytes.length), MSG_NOSIGNAL, null, 0),
        address,
      );
    },
    sendFds(state: string, fds: number[]) {
      sendWithAncillary(fd, new TextEncoder().encode(state), { fds });
    },
    barrier(timeoutMs: number): boolean {
      return withBarrierPipe(timeoutMs, (writeEnd) => {
        const message = messageHeader("BARRIER=1", writeEnd);
        check("sendmsg", libc().sendmsg(fd, message.header, MSG_NOSIGNAL), address);
        void message.buffers; // alive until the call returned
      });
    },
    sendWithBarrier(state: string, timeoutMs: number): boolean {
      return withBarrierPipe(timeoutMs, (writeEnd) => {
        const messages = [messageHeader(state), messageHeader("BARRIER=1", writeEnd)];
        // struct mmsghdr: a msghdr, then unsigned int msg_len (set by the kernel), padded to 64.
        const vector = new Uint8Array(MMSGHDR_SIZE * messages.length);
        messages.forEach((m, i) => vector.set(m.header, i * MMSGHDR_SIZE));
        const sent = check(
          "sendmmsg",
          libc().sendmmsg(fd, vector, messages.length, MSG_NOSIGNAL),
          address,
        );
        if (sent !== messages.length) {
          throw new Error(`sendmmsg to ${address}: ${sent} of ${messages.length} datagrams sent`);
        }
        void messages; // buffers alive until the call returned
      });
    },
    close() {
      libc().close(fd);
    },
  };
}

const O_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;

/**
 * Runs `send` with the write end of a fresh pipe (to attach as a barrier),
 * closes our copy, and waits until the manager closed its copy too: the read
 * end then reports POLLHUP. False on timeout.
 */
function withBarrierPipe(timeoutMs: number, send: (writeEnd: number) => void): boolean {
  const pipe = new Int32Array(2);
  check("pipe2", libc().pipe2(new Uint8Array(pipe.buffer), O_CLOEXEC));
  try {
    send(pipe[1]);
    libc().close(pipe[1]);
    pipe[1] = -1;
    return (pollOne(pipe[0], POLLIN, timeoutMs) & POLLHUP) !== 0;
  } finally {
    libc().close(pipe[0]);
    if (pipe[1] >= 0) libc().close(pipe[1]);
  }
}

/** sizeof(struct mmsghdr) on x86_64: a 56-byte msghdr and msg_len, padded. */
const MMSGHDR_SIZE = 64;

/**
 * A struct msghdr for a connected socket carrying `text`, with one file
 * descriptor attached (SCM_RIGHTS) when `fdToSend` is given, and the buffers
 * it points into (keep them alive until the send returned). x86_64 layouts:
 * struct msghdr is 56 bytes (name, namelen, iov, iovlen, control,
 * controllen, flags), struct iovec 16, and a cmsghdr carrying one int is
 * CMSG_LEN(4) = 20 bytes in CMSG_SPACE(4) = 24.
 */
function messageHeader(
  text: string,
  fdToSend?: number,
): { header: Uint8Array<ArrayBuffer>; buffers: unknown[] } {
  const payload = new TextEncoder().encode(text);
  const iov = new BigUint64Array([addressOf(payload), BigInt(payload.length)]);
  const header = new Uint8Array(56);
  const m = new DataView(header.buffer);
  // msg_name stays NULL: the socket is connected.
  m.setBigUint64(16, addressOf(new Uint8Array(iov.buffer)), true);
  m.setBigUint64(24, 1n, true);
  const buffers: unknown[] = [payload, iov];
  if (fdToSend !== undefined) {
    const control = new Uint8Array(24);
    const cmsg = new DataView(control.buffer);
    cmsg.setBigUint64(0, 20n, true); // cmsg_len
    cmsg.setInt32(8, SOL_SOCKET, true); // cmsg_level
    cmsg.setInt32(12, SCM_RIGHTS, true); // cmsg_type
    cmsg.setInt32(16, fdToSend, true); // the descriptor
    m.setBigUint64(32, addressOf(control), true);
    m.setBigUint64(40, BigInt(control.length), true);
    buffers.push(control);
  }
  return { header, buffers };
}

/** sd_notify(state) to $NOTIFY_SOCKET; returns false when there is none. */
export function notify(state: string): boolean {
  const socket = openNotifySocket();
  if (!socket) return false;
  try {
    socket.send(state);
  } finally {
    socket.close();
  }
  return true;
}

/** The receiving side of a notify socket (what systemd does; used by tests). */
export interface NotifyListener {
  /** Waits up to `timeoutMs` for one datagram; null on timeout. */
  receive(timeoutMs: number): string | null;
  close(): void;
}

/** Binds a SOCK_DGRAM unix socket at `address` (a path or "@abstract") to receive notifications. */
export function listenNotifySocket(address: string): NotifyListener {
  const { sockaddr, length } = sockaddrUn(address);
  const fd = check("socket", libc().socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), "AF_UNIX");
  try {
    check("bind", libc().bind(fd, sockaddr, length), address);
  } catch (error) {
    libc().close(fd);
    throw error;
  }
  return {
    receive(timeoutMs: number) {
      if (!(pollOne(fd, POLLIN, timeoutMs) & POLLIN)) return null;
      const buffer = new Uint8Array(4096);
      const n = check("recv", libc().recv(fd, buffer, BigInt(buffer.length), 0), address);
      return new TextDecoder().decode(buffer.subarray(0, n));
    },
    close() {
      libc().close(fd);
    },
  };
}

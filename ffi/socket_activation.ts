/**
 * Socket activation (sd_listen_fds(3)): the sockets systemd passes to the
 * service it started for a socket unit, from fd 3 on, when $LISTEN_PID is
 * this process. They are marked close-on-exec (ioctl FIOCLEX) and the
 * variables removed, so no process we start inherits them.
 *
 * Man pages: sd_listen_fds(3), systemd.socket(5), ioctl(2) (FIOCLEX).
 */
import { check, libc } from "./libc.ts";

/** The first passed descriptor (SD_LISTEN_FDS_START). */
export const LISTEN_FDS_START = 3;

/** ioctl(FIOCLEX): set FD_CLOEXEC. */
const FIOCLEX = 0x5451;

/** The descriptors systemd passed to this process, or [] when it passed none. */
export function takeListenFds(): number[] {
  const pid = Deno.env.get("LISTEN_PID");
  const count = Number(Deno.env.get("LISTEN_FDS") ?? "0");
  for (const name of ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"]) Deno.env.delete(name);
  if (pid !== String(Deno.pid) || !Number.isInteger(count) || count <= 0) return [];
  const fds: number[] = [];
  for (let fd = LISTEN_FDS_START; fd < LISTEN_FDS_START + count; fd++) {
    check("ioctl", libc().ioctl_int(fd, BigInt(FIOCLEX), 0n), `FIOCLEX on fd ${fd}`);
    fds.push(fd);
  }
  return fds;
}

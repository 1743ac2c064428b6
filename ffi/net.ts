/**
 * Network interfaces of the calling thread's network namespace through
 * ioctl(2) on an AF_INET socket: flags (SIOCGIFFLAGS/SIOCSIFFLAGS, bring
 * `lo` or `eth0` up), the IPv4 address and netmask (SIOCSIFADDR,
 * SIOCSIFNETMASK) and a default route (SIOCADDRT). A few ioctls on one
 * socket cost microseconds, against milliseconds for an `ip` process.
 *
 * Man pages: netdevice(7), route(4) (struct rtentry).
 */
import { check, libc } from "./libc.ts";

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
export const SIOCGIFFLAGS = 0x8913;
export const SIOCSIFFLAGS = 0x8914;
export const IFF_UP = 0x1;
export const SIOCSIFADDR = 0x8916;
export const SIOCSIFNETMASK = 0x891c;
export const SIOCADDRT = 0x890b;
/** rtentry.rt_flags: route usable. */
export const RTF_UP = 0x1;
/** rtentry.rt_flags: destination is reached through a gateway. */
export const RTF_GATEWAY = 0x2;
/** sizeof(struct rtentry) on x86_64. */
const RTENTRY_SIZE = 120;
/** IFNAMSIZ. */
const IFNAMSIZ = 16;
/** sizeof(struct ifreq) on x86_64. */
const IFREQ_SIZE = 40;

/** Runs `action` with an AF_INET datagram socket of the caller's network namespace. */
function withSocket<T>(action: (fd: number) => T): T {
  const fd = check("socket", libc().socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), "AF_INET");
  try {
    return action(fd);
  } finally {
    libc().close(fd);
  }
}

/** A struct ifreq with `name` filled in. */
function ifreqFor(name: string): Uint8Array<ArrayBuffer> {
  const nameBytes = new TextEncoder().encode(name);
  if (nameBytes.length >= IFNAMSIZ) throw new RangeError(`Interface name too long: ${name}`);
  const ifreq = new Uint8Array(IFREQ_SIZE);
  ifreq.set(nameBytes, 0);
  return ifreq;
}

/** Writes a struct sockaddr_in (AF_INET, port 0, `address` in network order) at `offset`. */
function putSockaddrIn(buffer: Uint8Array<ArrayBuffer>, offset: number, address: number): void {
  const view = new DataView(buffer.buffer);
  view.setUint16(offset, AF_INET, true);
  view.setUint32(offset + 4, address >>> 0, false);
}

/** Sets IFF_UP on interface `name` in the caller's network namespace. */
export function interfaceUp(name = "lo"): void {
  withSocket((fd) => {
    // struct ifreq { char ifr_name[IFNAMSIZ]; union { short ifr_flags; ... }; }
    const ifreq = ifreqFor(name);
    const view = new DataView(ifreq.buffer);
    check("ioctl", libc().ioctl(fd, BigInt(SIOCGIFFLAGS), ifreq), `SIOCGIFFLAGS ${name}`);
    const flags = view.getUint16(IFNAMSIZ, true);
    view.setUint16(IFNAMSIZ, flags | IFF_UP, true);
    check("ioctl", libc().ioctl(fd, BigInt(SIOCSIFFLAGS), ifreq), `SIOCSIFFLAGS ${name}`);
  });
}

/**
 * Gives interface `name` the IPv4 `address` (a number, host order) with
 * netmask `mask` (the kernel adds the subnet route once the link is up).
 */
export function setInterfaceAddress(name: string, address: number, mask: number): void {
  withSocket((fd) => {
    const ifreq = ifreqFor(name);
    putSockaddrIn(ifreq, IFNAMSIZ, address);
    check("ioctl", libc().ioctl(fd, BigInt(SIOCSIFADDR), ifreq), `SIOCSIFADDR ${name}`);
    const maskReq = ifreqFor(name);
    putSockaddrIn(maskReq, IFNAMSIZ, mask);
    check("ioctl", libc().ioctl(fd, BigInt(SIOCSIFNETMASK), maskReq), `SIOCSIFNETMASK ${name}`);
  });
}

/** Adds the default route via `gateway` (a number, host order; must be on a connected subnet). */
export function addDefaultRoute(gateway: number): void {
  withSocket((fd) => {
    // struct rtentry (x86_64): rt_pad1 @0, rt_dst @8, rt_gateway @24, rt_genmask @40,
    // rt_flags @56, ..., rt_metric @80, rt_dev @88 (NULL: the kernel picks the device).
    const rt = new Uint8Array(RTENTRY_SIZE);
    putSockaddrIn(rt, 8, 0);
    putSockaddrIn(rt, 24, gateway);
    putSockaddrIn(rt, 40, 0);
    new DataView(rt.buffer).setUint16(56, RTF_UP | RTF_GATEWAY, true);
    check("ioctl", libc().ioctl(fd, BigInt(SIOCADDRT), rt), "SIOCADDRT default");
  });
}

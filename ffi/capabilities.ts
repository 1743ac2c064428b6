/**
 * Capabilities and related process attributes: capget(2)/capset(2) with the
 * version 3 (64-bit) structures, the bounding set (PR_CAPBSET_DROP), ambient
 * capabilities (PR_CAP_AMBIENT_CLEAR_ALL), PR_SET_NO_NEW_PRIVS and
 * PR_SET_KEEPCAPS.
 *
 * All of these are per thread: call them on the thread that will execve(2)
 * (Deno's main thread).
 *
 * Man pages: capabilities(7), capget(2), prctl(2).
 */
import { check, libc } from "./libc.ts";

/** _LINUX_CAPABILITY_VERSION_3: two 32-bit words per set. */
export const LINUX_CAPABILITY_VERSION_3 = 0x20080522;

export const PR_SET_KEEPCAPS = 8;
export const PR_CAPBSET_READ = 23;
export const PR_CAPBSET_DROP = 24;
export const PR_SET_NO_NEW_PRIVS = 38;
export const PR_GET_NO_NEW_PRIVS = 39;
export const PR_CAP_AMBIENT = 47;
export const PR_CAP_AMBIENT_CLEAR_ALL = 4;

/** The three capability sets of a thread, as 64-bit masks (bit N = capability N). */
export interface CapabilitySets {
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
}

function header(): Uint8Array<ArrayBuffer> {
  // struct __user_cap_header_struct { __u32 version; int pid; }  (pid 0 = this thread)
  const buffer = new Uint8Array(8);
  new DataView(buffer.buffer).setUint32(0, LINUX_CAPABILITY_VERSION_3, true);
  return buffer;
}

/** capget(2) of the calling thread. */
export function capget(): CapabilitySets {
  // struct __user_cap_data_struct { __u32 effective, permitted, inheritable; } [2]
  const data = new Uint8Array(24);
  check("capget", libc().capget(header(), data));
  const view = new DataView(data.buffer);
  const word = (offset: number) =>
    BigInt(view.getUint32(offset, true)) | (BigInt(view.getUint32(offset + 12, true)) << 32n);
  return { effective: word(0), permitted: word(4), inheritable: word(8) };
}

/** capset(2) of the calling thread. */
export function capset(sets: CapabilitySets): void {
  const data = new Uint8Array(24);
  const view = new DataView(data.buffer);
  const put = (offset: number, mask: bigint) => {
    view.setUint32(offset, Number(mask & 0xffffffffn), true);
    view.setUint32(offset + 12, Number((mask >> 32n) & 0xffffffffn), true);
  };
  put(0, sets.effective);
  put(4, sets.permitted);
  put(8, sets.inheritable);
  check("capset", libc().capset(header(), data));
}

/** prctl(PR_CAPBSET_DROP, cap): removes `cap` from the bounding set (needs CAP_SETPCAP). */
export function dropBoundingCapability(cap: number): void {
  check("prctl", libc().prctl(PR_CAPBSET_DROP, BigInt(cap), 0n, 0n, 0n), `PR_CAPBSET_DROP ${cap}`);
}

/** prctl(PR_CAPBSET_READ, cap): whether `cap` is in the bounding set. */
export function boundingHas(cap: number): boolean {
  return check(
    "prctl",
    libc().prctl(PR_CAPBSET_READ, BigInt(cap), 0n, 0n, 0n),
    `PR_CAPBSET_READ ${cap}`,
  ) === 1;
}

/** prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL). */
export function clearAmbientCapabilities(): void {
  check(
    "prctl",
    libc().prctl(PR_CAP_AMBIENT, BigInt(PR_CAP_AMBIENT_CLEAR_ALL), 0n, 0n, 0n),
    "PR_CAP_AMBIENT_CLEAR_ALL",
  );
}

/** prctl(PR_SET_NO_NEW_PRIVS, 1): execve can never grant privileges again. */
export function setNoNewPrivileges(): void {
  check("prctl", libc().prctl(PR_SET_NO_NEW_PRIVS, 1n, 0n, 0n, 0n), "PR_SET_NO_NEW_PRIVS");
}

/** prctl(PR_SET_KEEPCAPS, on): keep permitted capabilities across setuid from 0. */
export function setKeepCapabilities(on: boolean): void {
  check("prctl", libc().prctl(PR_SET_KEEPCAPS, on ? 1n : 0n, 0n, 0n, 0n), "PR_SET_KEEPCAPS");
}

/** The kernel's highest capability number (/proc/sys/kernel/cap_last_cap). */
export function kernelLastCapability(): number {
  return Number(Deno.readTextFileSync("/proc/sys/kernel/cap_last_cap").trim());
}

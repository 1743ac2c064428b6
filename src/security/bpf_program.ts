/**
 * The shape of a classic BPF program as the kernel takes it (linux/filter.h,
 * linux/bpf_common.h): what both the compiler (seccomp_bpf.ts) and the
 * installer (runtime/seccomp_apply.ts) need, in a module of its own so that
 * stage two, which only installs the program the shim compiled
 * (runtime/seccomp_program.ts), loads no compiler.
 *
 * Man pages: seccomp(2), bpf(4) (classic BPF).
 */

/** The longest classic BPF program the kernel accepts (linux/bpf_common.h). */
export const BPF_MAXINSNS = 4096;
/** sizeof(struct sock_filter): u16 code, u8 jt, u8 jf, u32 k. */
export const SOCK_FILTER_SIZE = 8;

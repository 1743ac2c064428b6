/**
 * The escape and abuse probe: runs INSIDE a container (the host's deno and
 * its libraries bind-mounted read-only, see battery_test.ts) and tries one
 * forbidden thing per check through raw system calls, reporting exactly
 * what the kernel answered: "ok" or the errno name, plus a detail.
 *
 * Self-contained on purpose (no imports): it runs from a read-only bind
 * mount with no module cache, under whatever seccomp filter and
 * capabilities the container got.
 *
 *   deno run -A probe.ts one NAME     one check, prints {"outcome","detail"}
 *   deno run -A probe.ts all NAME...  each check in its own child process
 *                                     (a check may chroot, unshare, or die),
 *                                     prints {NAME: {"outcome","detail"}}
 *
 * Every probe is built so that, when it is NOT refused, it does no harm to
 * the host: writes go to namespaced files (the container's own hostname),
 * device nodes are only opened read-only, reboot asks for a command a PID
 * namespace rejects (EINVAL), kexec asks to unload nothing, clocks are set
 * with an invalid time.
 *
 * Man pages: syscall(2) and the page of each call; x86_64 numbers from
 * asm/unistd_64.h.
 */

const SYS = {
  ptrace: 101,
  syslog: 103,
  personality: 135,
  pivot_root: 155,
  chroot: 161,
  acct: 163,
  mount: 165,
  umount2: 166,
  swapon: 167,
  reboot: 169,
  sethostname: 170,
  init_module: 175,
  clock_settime: 227,
  kexec_load: 246,
  add_key: 248,
  keyctl: 250,
  mknodat: 259,
  unshare: 272,
  perf_event_open: 298,
  open_by_handle_at: 304,
  setns: 308,
  bpf: 321,
  io_uring_setup: 425,
  socket: 41,
  openat: 257,
  close: 3,
  getpid: 39,
} as const;

const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  5: "EIO",
  6: "ENXIO",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  15: "ENOTBLK",
  16: "EBUSY",
  17: "EEXIST",
  19: "ENODEV",
  20: "ENOTDIR",
  22: "EINVAL",
  24: "EMFILE",
  25: "ENOTTY",
  28: "ENOSPC",
  30: "EROFS",
  38: "ENOSYS",
  95: "EOPNOTSUPP",
  97: "EAFNOSUPPORT",
  93: "EPROTONOSUPPORT",
  8: "ENOEXEC",
  61: "ENODATA",
  126: "ENOKEY",
  22_000: "?",
};

const libc = Deno.dlopen("libc.so.6", {
  syscall: { parameters: ["i64", "i64", "i64", "i64", "i64", "i64", "i64"], result: "i64" },
  __errno_location: { parameters: [], result: "pointer" },
}).symbols;

/** Result of one check. */
interface Outcome {
  outcome: string;
  detail?: string;
}

function errnoName(): string {
  const e = new Deno.UnsafePointerView(libc.__errno_location()!).getInt32();
  return ERRNO_NAMES[e] ?? `errno ${e}`;
}

/** Keeps buffers alive while the kernel reads them. */
const keep: unknown[] = [];

/** A pointer argument: a NUL-terminated string, a buffer, or NULL (0). */
function ptr(value: string | Uint8Array | null): bigint {
  if (value === null) return 0n;
  const bytes = typeof value === "string" ? new TextEncoder().encode(value + "\0") : value;
  keep.push(bytes);
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(bytes as Uint8Array<ArrayBuffer>)));
}

type Arg = number | bigint | string | Uint8Array | null;

function toArg(a: Arg): bigint {
  if (typeof a === "number") return BigInt(a);
  if (typeof a === "bigint") return a;
  return ptr(a);
}

/** Raw syscall: "ok" or the errno name; `value` is the return value. */
function sys(nr: number, ...args: Arg[]): { outcome: string; value: bigint } {
  const a = [...args, 0, 0, 0, 0, 0, 0].slice(0, 6).map(toArg);
  const r = libc.syscall(BigInt(nr), a[0], a[1], a[2], a[3], a[4], a[5]) as bigint;
  return { outcome: r === -1n ? errnoName() : "ok", value: r };
}

function outcomeOf(nr: number, ...args: Arg[]): Outcome {
  return { outcome: sys(nr, ...args).outcome };
}

const AT_FDCWD = -100;
const O_RDONLY = 0, O_WRONLY = 1, O_PATH = 0o10000000;

/** openat then close: "ok" or the errno name. */
function tryOpen(path: string, flags: number): Outcome {
  const r = sys(SYS.openat, AT_FDCWD, path, flags, 0);
  if (r.outcome === "ok") sys(SYS.close, Number(r.value));
  return { outcome: r.outcome };
}

function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major), mi = BigInt(minor);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) |
    (mi & 0xffn);
}

/** Where the test put a file on the host (outside every container). */
const HOST_MARKER = "/etc/tsnspawn-host-marker";
/** A network link the test created on the host. */
const HOST_LINK = "tsnhostmark0";

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Spawns `argv` with uid/gid 1000; resolves to its output. */
function runAs1000(argv: string[]): { code: number; stdout: string; stderr: string } {
  const out = new Deno.Command(argv[0], {
    args: argv.slice(1),
    uid: 1000,
    gid: 1000,
    stdin: "null",
  }).outputSync();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/** A /tmp directory for a check. */
function scratch(name: string): string {
  const dir = `/tmp/probe-${name}`;
  Deno.mkdirSync(dir, { recursive: true });
  return dir;
}

/** The checks, by name. Each returns what the kernel said. */
const CHECKS: Record<string, () => Outcome> = {
  // --- the mount table
  mount: () => outcomeOf(SYS.mount, "none", scratch("mount"), "tmpfs", 0, ""),
  umount: () => outcomeOf(SYS.umount2, "/etc/hostname", 0),
  "mount-proc": () => outcomeOf(SYS.mount, "proc", scratch("proc"), "proc", 0, null),
  "pivot-root": () => outcomeOf(SYS.pivot_root, ".", "."),
  // --- namespaces
  unshare: () => outcomeOf(SYS.unshare, 0x04000000), // CLONE_NEWUTS
  setns: () => {
    const fd = sys(SYS.openat, AT_FDCWD, "/proc/self/ns/uts", O_RDONLY, 0);
    if (fd.outcome !== "ok") return { outcome: fd.outcome, detail: "open /proc/self/ns/uts" };
    return outcomeOf(SYS.setns, Number(fd.value), 0);
  },
  sethostname: () => outcomeOf(SYS.sethostname, "evil", 4),
  // --- the kernel keyring
  keyctl: () => outcomeOf(SYS.keyctl, 1, 0), // KEYCTL_JOIN_SESSION_KEYRING, anonymous
  "add-key": () => outcomeOf(SYS.add_key, "user", "probe", "secret", 6, -2), // KEY_SPEC_PROCESS_KEYRING
  // --- other processes
  ptrace: () => {
    const child = new Deno.Command("/bin/sleep", { args: ["30"], uid: 1000, gid: 1000 }).spawn();
    try {
      return {
        ...outcomeOf(SYS.ptrace, 16, child.pid, 0, 0),
        detail: "PTRACE_ATTACH to a uid 1000 process",
      };
    } finally {
      child.kill("SIGKILL");
    }
  },
  // --- the machine
  kexec: () => outcomeOf(SYS.kexec_load, 0, 0, 0, 0), // unload: nothing to unload
  "init-module": () => outcomeOf(SYS.init_module, new Uint8Array(64), 64, ""),
  reboot: () => outcomeOf(SYS.reboot, 0xfee1dead, 672274793, 0), // CAD_OFF: a PID namespace says EINVAL
  swapon: () => outcomeOf(SYS.swapon, "/dev/null", 0),
  "clock-settime": () => {
    const ts = new BigInt64Array([BigInt(Math.floor(Date.now() / 1000)), 2_000_000_000n]); // invalid nsec
    return outcomeOf(SYS.clock_settime, 0, new Uint8Array(ts.buffer));
  },
  acct: () => outcomeOf(SYS.acct, null), // accounting off (it is off)
  syslog: () => outcomeOf(SYS.syslog, 10, null, 0), // SYSLOG_ACTION_SIZE_BUFFER
  // --- devices
  "mknod-block": () => {
    // mknod itself is allowed (CAP_MKNOD, as docker); opening is what the
    // device cgroup refuses. The block device is a real one of the host.
    const entries = [...Deno.readDirSync("/sys/dev/block")].map((e) => e.name).sort();
    const [major, minor] = (entries[0] ?? "7:0").split(":").map(Number);
    const path = `${scratch("mknod")}/blk`;
    try {
      Deno.removeSync(path);
    } catch { /* first time */ }
    const made = sys(SYS.mknodat, AT_FDCWD, path, 0o060600, makedev(major, minor));
    if (made.outcome !== "ok") return { outcome: made.outcome, detail: "mknod" };
    return { ...tryOpen(path, O_RDONLY), detail: `open of block device ${major}:${minor}` };
  },
  "dev-mem": () => {
    const path = `${scratch("mem")}/mem`;
    try {
      Deno.removeSync(path);
    } catch { /* first time */ }
    const made = sys(SYS.mknodat, AT_FDCWD, path, 0o020600, makedev(1, 1));
    if (made.outcome !== "ok") return { outcome: made.outcome, detail: "mknod" };
    return { ...tryOpen(path, O_RDONLY), detail: "open of /dev/mem (1:1)" };
  },
  "raw-socket": () => {
    const r = sys(SYS.socket, 2, 3, 1); // AF_INET, SOCK_RAW, IPPROTO_ICMP
    if (r.outcome === "ok") sys(SYS.close, Number(r.value));
    return { outcome: r.outcome };
  },
  "vsock-socket": () => {
    const r = sys(SYS.socket, 40, 1, 0); // AF_VSOCK: host/guest channel
    if (r.outcome === "ok") sys(SYS.close, Number(r.value));
    return { outcome: r.outcome };
  },
  // --- kernel interfaces in /proc and /sys
  "proc-sys-write": () => tryOpen("/proc/sys/kernel/hostname", O_WRONLY),
  "core-pattern-write": () => tryOpen("/proc/sys/kernel/core_pattern", O_WRONLY),
  "sysrq-trigger": () => tryOpen("/proc/sysrq-trigger", O_WRONLY),
  "sys-write": () => tryOpen("/sys/class/net/lo/mtu", O_WRONLY),
  kcore: () => {
    try {
      const bytes = Deno.readFileSync("/proc/kcore");
      return { outcome: bytes.length === 0 ? "empty" : "ok" };
    } catch (e) {
      return { outcome: e instanceof Deno.errors.NotFound ? "ENOENT" : String(e) };
    }
  },
  "proc-keys": () => {
    // Masked = /dev/null bound over it (a character device).
    try {
      const info = Deno.statSync("/proc/keys");
      return {
        outcome: info.isCharDevice ? "masked" : "ok",
        detail: info.isFile ? "proc file" : "",
      };
    } catch {
      return { outcome: "ENOENT" };
    }
  },
  "timer-list": () => {
    try {
      return { outcome: Deno.statSync("/proc/timer_list").isCharDevice ? "masked" : "ok" };
    } catch {
      return { outcome: "ENOENT" };
    }
  },
  // --- seccomp-only gates
  bpf: () => outcomeOf(SYS.bpf, 5, new Uint8Array(128), 128), // BPF_PROG_LOAD of nothing
  "perf-event-open": () => outcomeOf(SYS.perf_event_open, new Uint8Array(128), 0, -1, -1, 0),
  "open-by-handle": () => outcomeOf(SYS.open_by_handle_at, AT_FDCWD, new Uint8Array(16), 0),
  personality: () => {
    const r = sys(SYS.personality, 0x0040000); // ADDR_NO_RANDOMIZE
    sys(SYS.personality, 0); // back to PER_LINUX
    return { outcome: r.outcome };
  },
  "io-uring": () => {
    const r = sys(SYS.io_uring_setup, 1, new Uint8Array(120));
    if (r.outcome === "ok") sys(SYS.close, Number(r.value));
    return { outcome: r.outcome };
  },
  // --- seeing and reaching the host
  "host-processes": () => {
    const pids = [...Deno.readDirSync("/proc")].filter((e) => /^\d+$/.test(e.name));
    const init = Deno.readTextFileSync("/proc/1/comm").trim();
    const seen = init === "systemd" || pids.length > 20;
    return {
      outcome: seen ? "ok" : "hidden",
      detail: `${pids.length} processes, PID 1 is ${init}`,
    };
  },
  "host-files": () => ({ outcome: exists(HOST_MARKER) ? "ok" : "ENOENT" }),
  "proc-1-root": () => {
    // Every process's /proc/PID/root is the container's root.
    const pids = [...Deno.readDirSync("/proc")].filter((e) => /^\d+$/.test(e.name));
    const reached = pids.some((p) => exists(`/proc/${p.name}/root${HOST_MARKER}`));
    return { outcome: reached ? "ok" : "ENOENT", detail: `tried ${pids.length} /proc/PID/root` };
  },
  "dotdot-after-pivot": () => {
    // ".." of the root is the root: no way above it.
    Deno.chdir("/");
    for (let i = 0; i < 16; i++) Deno.chdir("..");
    const same = Deno.statSync(".").ino === Deno.statSync("/").ino;
    const reached = exists("../../../../.." + HOST_MARKER);
    return { outcome: reached || !same ? "ok" : "ENOENT" };
  },
  "inherited-fds": () => {
    // Nothing but stdio may come in from the runtime: an fd to a host
    // directory would allow openat(fd, "..") out of the container.
    const fds = [...Deno.readDirSync("/proc/self/fd")].map((e) => Number(e.name)).filter((n) =>
      n > 2
    );
    const outside: string[] = [];
    for (const fd of fds) {
      let target = "";
      try {
        target = Deno.readLinkSync(`/proc/self/fd/${fd}`);
      } catch {
        continue;
      }
      const r = sys(SYS.openat, fd, `../../../../../../..${HOST_MARKER}`, O_PATH, 0);
      if (r.outcome === "ok") {
        sys(SYS.close, Number(r.value));
        outside.push(`${fd} -> ${target}`);
      }
    }
    return { outcome: outside.length > 0 ? "ok" : "ENOENT", detail: outside.join(", ") };
  },
  "chroot-escape": () => {
    // The classic: chroot into a subdirectory, climb out with "..", chroot
    // ".". pivot_root detached the old root, so the top is the container's.
    const dir = scratch("chroot");
    const r = sys(SYS.chroot, dir);
    if (r.outcome !== "ok") return { outcome: r.outcome, detail: "chroot" };
    for (let i = 0; i < 32; i++) Deno.chdir("..");
    sys(SYS.chroot, ".");
    return { outcome: exists(HOST_MARKER) ? "ok" : "ENOENT" };
  },
  "cgroup-escape": () => {
    // Mount the cgroup2 hierarchy and move ourselves to its top: a cgroup
    // namespace makes that top the container's own cgroup.
    const dir = scratch("cgroup");
    const m = sys(SYS.mount, "cgroup2", dir, "cgroup2", 0, null);
    if (m.outcome !== "ok") return { outcome: m.outcome, detail: "mount cgroup2" };
    const entries = [...Deno.readDirSync(dir)].map((e) => e.name);
    const host = entries.includes("system.slice") || entries.includes("machine.slice");
    try {
      Deno.writeTextFileSync(`${dir}/cgroup.procs`, `${Number(sys(SYS.getpid).value)}\n`);
    } catch (e) {
      return { outcome: host ? "ok" : "EACCES", detail: String(e) };
    }
    return { outcome: host ? "ok" : "own-tree", detail: `top holds ${entries.length} entries` };
  },
  "host-network": () => {
    // The test host has a dummy link by this name; the container must not see it.
    const links = [...Deno.readDirSync("/sys/class/net")].map((e) => e.name);
    return { outcome: links.includes(HOST_LINK) ? "ok" : "hidden", detail: links.join(",") };
  },
  // --- resources
  "fork-bomb": () => {
    const children: Deno.ChildProcess[] = [];
    let outcome = "ok";
    try {
      for (let i = 0; i < 150; i++) {
        children.push(
          new Deno.Command("/bin/sleep", { args: ["30"], stdout: "null", stderr: "null" }).spawn(),
        );
      }
    } catch (e) {
      outcome = String(e).includes("Resource temporarily unavailable") ? "EAGAIN" : String(e);
    }
    for (const c of children) c.kill("SIGKILL");
    return { outcome, detail: `${children.length} children` };
  },
  "memory-hog": () => {
    const code =
      "const a=[];for(let i=0;i<24;i++){a.push(new Uint8Array(16<<20).fill(1));}console.log('survived')";
    const out = new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    const survived = new TextDecoder().decode(out.stdout).includes("survived");
    return {
      outcome: survived ? "ok" : out.signal ?? `exit ${out.code}`,
      detail: "384 MiB in 16 MiB arrays",
    };
  },
  "setuid-gain": () => {
    // A setuid-root copy of busybox run by uid 1000: `su` refuses to work
    // unless it got euid 0 from the set-user-ID bit.
    const dir = scratch("suid");
    Deno.copyFileSync("/bin/busybox", `${dir}/busybox`);
    Deno.chmodSync(`${dir}/busybox`, 0o4755);
    Deno.chmodSync(dir, 0o755);
    const r = runAs1000([`${dir}/busybox`, "su", "-c", "true", "root"]);
    const refused = r.stderr.includes("must be suid");
    return { outcome: refused ? "no-gain" : "ok", detail: r.stderr.trim().split("\n").pop() };
  },
};

/** The names of every check. */
export const CHECK_NAMES = Object.keys(CHECKS);

function runOne(name: string): Outcome {
  const check = CHECKS[name];
  if (!check) return { outcome: "unknown-check" };
  try {
    return check();
  } catch (error) {
    return { outcome: "threw", detail: String(error) };
  }
}

if (import.meta.main) {
  const [mode, ...names] = Deno.args;
  if (mode === "one") {
    console.log(JSON.stringify(runOne(names[0])));
  } else if (mode === "all") {
    const results: Record<string, Outcome> = {};
    for (const name of names.length > 0 ? names : CHECK_NAMES) {
      const out = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--no-config",
          "--quiet",
          new URL(import.meta.url).pathname,
          "one",
          name,
        ],
        stdout: "piped",
        stderr: "piped",
      }).outputSync();
      const text = new TextDecoder().decode(out.stdout).trim().split("\n").pop() ?? "";
      try {
        results[name] = JSON.parse(text);
      } catch {
        const err = new TextDecoder().decode(out.stderr).trim().slice(-200);
        results[name] = {
          outcome: out.signal ? `killed:${out.signal}` : `exit ${out.code}`,
          detail: err,
        };
      }
    }
    console.log(JSON.stringify(results));
  } else {
    console.error("usage: probe.ts one NAME | all [NAME...]");
    Deno.exit(2);
  }
}

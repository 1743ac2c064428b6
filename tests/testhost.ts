/**
 * tests/testhost.ts — a throwaway *real* systemd host for tests and the demo.
 *
 * Boots the machine's own systemd 252 as PID 1 of fresh namespaces, on top of
 * an overlay of the real root, so that tests get a genuine systemd, D-Bus
 * (dbus.socket) and journald without touching the machine.
 *
 * ## What it owns (per host, `<id>` = `<runner pid>-<random>`)
 * - A tmpfs mounted at `/tmp/tsnspawn-testhost-<id>` ("base"), holding the
 *   boot log, the overlay upper/work dirs, and the default state dirs.
 * - A cgroup `tsnspawn-testhost-<id>` in every hierarchy mounted under
 *   /sys/fs/cgroup (all v1 hierarchies and the unified v2 one), created below
 *   the runner's own cgroup. cpuset.cpus/cpuset.mems are copied from the parent
 *   before any task is moved in.
 * - The processes it started: `unshare` (a child of the runner) and its child,
 *   the host's PID 1 (systemd). Everything inside dies with that PID 1.
 *
 * ## Recipe (per boot)
 * 1. create the cgroups; pre-populate the overlay *upper* dir (on the base
 *    tmpfs) with /etc/systemd/system/{tsnspawn-test.target, default.target,
 *    masks}, masked generators, journald Storage=volatile, /etc/hostname.
 * 2. `setsid sh start.sh`: the shell moves itself into the cgroups, then execs
 *    `unshare --mount --pid --fork --cgroup --uts --ipc --net --kill-child`
 *    (the cgroup namespace root is therefore our own group).
 * 3. `init.sh` (PID 1 of the new pid ns): make mounts private, mount
 *    overlay(lower=/, upper/work on tmpfs), fresh /proc (with /proc/sys
 *    read-only except /proc/sys/net), read-only /sys, a tmpfs on /sys/fs/cgroup
 *    with every hierarchy mounted fresh (the cgroup ns makes our groups look
 *    like roots), a minimal tmpfs /dev (null, zero, full, random, urandom, tty,
 *    new devpts instance, shm, mqueue; /dev/console = base/console.log), tmpfs /run
 *    and /tmp, and binds: the repo at the same path, the state dir at
 *    /var/lib/tsnspawn, the etc dir at /etc/tsnspawn (+ extra binds).
 *    Then `pivot_root`, detach the old root, and
 *    `exec env -i container=other /lib/systemd/systemd`.
 * 4. readiness: poll `systemctl is-system-running` through
 *    `nsenter -t PID -m -u -i -n -p -C -r` until `running`/`degraded`.
 *
 * ## Hazards (real ones)
 * - NEVER boot systemd against the real root: its boot units would wipe the
 *   machine's /tmp etc. Everything the host writes lands on the tmpfs upper
 *   dir, except the explicitly bound dirs (repo, state, etc, extra binds).
 * - overlayfs cannot use an overlay as upper dir, so the container store
 *   (/var/lib/tsnspawn) and /etc/tsnspawn must be real dirs bound in.
 * - Only the units in tsnspawn-test.target (dbus.socket, journald + sockets,
 *   and opt-in `wants`) are started; tmpfiles, udev, getty, networkd, logind,
 *   remount-fs, sysctl, modules-load, timers, … are masked and all generators
 *   are disabled.
 * - The booting process runs in its own session (setsid) so a terminal ^C is
 *   not delivered to systemd (SIGINT to PID 1 = ctrl-alt-del = reboot).
 * - Processes started with {@link TestHost.run} are moved into the host's
 *   `init.scope` cgroups first, so they are inside the cgroup namespace and
 *   e.g. `systemd-run --scope` works.
 * - Teardown (normal end, thrown error via {@link withTestHost}, SIGINT/SIGTERM
 *   of the runner): SIGKILL our PID 1 (only PIDs we started), wait for it,
 *   rmdir the cgroups depth-first (systemd creates init.scope, system.slice…),
 *   unmount the base tmpfs (lazily if needed) and remove its mount point.
 *   If the runner itself is SIGKILLed, `deno run -A tests/testhost.ts cleanup`
 *   removes leftovers of dead runners.
 * - Temporary data lives on tmpfs only (the root fs is a slow ext4).
 *
 * ## Use from a test
 * ```ts
 * import { isRoot, withTestHost } from "./testhost.ts";
 * Deno.test({ name: "x", ignore: !isRoot(), fn: () =>
 *   withTestHost({}, async (host) => {
 *     const r = await host.run(["systemctl", "is-system-running"], { check: true });
 *     await host.run(["node_modules/.bin/deno", "run", "-A", "src/main.ts"], { cwd: host.repoDir });
 *     Deno.readTextFileSync(host.path("/run/some/file")); // via /proc/<pid>/root
 *   }) });
 * ```
 * Boot takes ~150-200 ms; a graceful `powerOff()` ~100 ms. On a boot timeout
 * the error carries pending jobs, the journal and the boot log.
 * `run({timeoutMs})` SIGKILLs the runner-side nsenter only; a process inside
 * that outlives it dies with the host.
 *
 * ## CLI
 * ```
 * deno run -A tests/testhost.ts run [opts] -- CMD...   boot, run CMD inside with
 *                                                     inherited stdio, tear down,
 *                                                     exit with CMD's code
 * deno run -A tests/testhost.ts shell [opts]           same with CMD = bash -l
 * deno run -A tests/testhost.ts boot [opts]            boot and stay up until
 *                                                     ^C / SIGTERM; prints PID
 * deno run -A tests/testhost.ts cleanup                remove leftovers of dead
 *                                                     runners
 * opts: --state DIR (bound at /var/lib/tsnspawn)  --etc DIR (at /etc/tsnspawn)
 *       --repo DIR (default: this repo)  --want UNIT (repeatable)
 *       --cwd DIR (default: repo)  --timeout SECONDS (boot, default 30)
 *       --quiet (no boot timing on stderr)
 * ```
 *
 * @module
 */

import { dirname, fromFileUrl, join, resolve } from "@std/path";
import { parseArgs } from "@std/cli/parse-args";

/** A directory bound into the host at `target`. */
export interface TestHostBind {
  /** Host path (must exist). */
  source: string;
  /** Path inside the test host (created if missing). */
  target: string;
  /** Bind read-only. */
  readOnly?: boolean;
}

/** Options for {@link TestHost.create}, {@link startTestHost}, {@link withTestHost}. */
export interface TestHostOptions {
  /** Repository dir bound at the same path inside. Default: this repo. */
  repoDir?: string;
  /** Real dir bound at /var/lib/tsnspawn. Default: fresh dir on the base tmpfs (kept across reboots of this host). */
  stateDir?: string;
  /** Real dir bound at /etc/tsnspawn. Default: fresh dir on the base tmpfs (kept across reboots of this host). */
  etcDir?: string;
  /** Extra units pulled in by the default target, e.g. `["systemd-machined.service"]`. */
  wants?: string[];
  /** Extra binds. */
  binds?: TestHostBind[];
  /** Boot timeout in ms (default 30000). */
  bootTimeoutMs?: number;
  /** Hostname inside (default `testhost`). */
  hostname?: string;
  /**
   * Extra unit files installed in /etc/systemd/system inside (on the overlay,
   * so per boot): file name -> content, e.g. `{"foo.service": "[Service]\n..."}`.
   * Add the name to `wants` to start it at boot.
   */
  units?: Record<string, string>;
}

/** Options for {@link TestHost.run} and friends. */
export interface TestHostRunOptions {
  /** Working directory inside (default `/`). */
  cwd?: string;
  /** Extra environment (PATH, HOME, LANG are always set unless overridden). */
  env?: Record<string, string>;
  /** Data fed to stdin (default: no stdin). */
  stdin?: string | Uint8Array;
  /** Kill the command (SIGKILL) after this many ms. */
  timeoutMs?: number;
  /** Throw if the exit code is not 0. */
  check?: boolean;
}

/** Options for {@link TestHost.spawn}. */
export interface TestHostSpawnOptions {
  cwd?: string;
  env?: Record<string, string>;
  stdin?: "inherit" | "piped" | "null";
  stdout?: "inherit" | "piped" | "null";
  stderr?: "inherit" | "piped" | "null";
}

/** Result of {@link TestHost.run}. */
export interface TestHostRunResult {
  code: number;
  success: boolean;
  stdout: string;
  stderr: string;
}

const PATH_ENV = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const CGROUP_ROOT = "/sys/fs/cgroup";
const NAME_PREFIX = "tsnspawn-testhost-";
const TARGET = "tsnspawn-test.target";
const SYSTEMD = "/lib/systemd/systemd";

/** Units pulled in by the default target (plus `wants`). */
const BASE_WANTS = [
  "dbus.socket",
  "systemd-journald.socket",
  "systemd-journald-dev-log.socket",
  "systemd-journald.service",
];

/** Units masked inside: anything that touches hardware, wipes things, or is just slow. */
const MASKED_UNITS = [
  // sysinit.target.wants
  "dev-hugepages.mount",
  "dev-mqueue.mount",
  "kmod-static-nodes.service",
  "proc-sys-fs-binfmt_misc.automount",
  "proc-sys-fs-binfmt_misc.mount",
  "sys-fs-fuse-connections.mount",
  "sys-kernel-config.mount",
  "sys-kernel-debug.mount",
  "sys-kernel-tracing.mount",
  "systemd-ask-password-console.path",
  "systemd-ask-password-wall.path",
  "systemd-binfmt.service",
  "systemd-firstboot.service",
  "systemd-journal-flush.service",
  "systemd-machine-id-commit.service",
  "systemd-modules-load.service",
  "systemd-pcrphase-sysinit.service",
  "systemd-pcrphase.service",
  "systemd-pcrphase-initrd.service",
  "systemd-random-seed.service",
  "systemd-repart.service",
  "systemd-sysctl.service",
  "systemd-sysusers.service",
  "systemd-tmpfiles-setup-dev.service",
  "systemd-tmpfiles-setup.service",
  "systemd-tmpfiles-clean.timer",
  "systemd-tmpfiles-clean.service",
  "systemd-update-utmp.service",
  "systemd-update-utmp-runlevel.service",
  "systemd-pstore.service",
  "systemd-timesyncd.service",
  "systemd-hwdb-update.service",
  "systemd-journal-catalog-update.service",
  "systemd-update-done.service",
  "ldconfig.service",
  "systemd-boot-system-token.service",
  "systemd-boot-update.service",
  "systemd-remount-fs.service",
  "systemd-fsck-root.service",
  "systemd-journald-audit.socket",
  "systemd-initctl.socket",
  "systemd-vconsole-setup.service",
  "systemd-quotacheck.service",
  "systemd-rfkill.service",
  "systemd-rfkill.socket",
  "systemd-backlight@.service",
  "systemd-oomd.service",
  "systemd-oomd.socket",
  "systemd-homed.service",
  "systemd-userdbd.service",
  "systemd-userdbd.socket",
  // udev
  "systemd-udevd.service",
  "systemd-udevd-control.socket",
  "systemd-udevd-kernel.socket",
  "systemd-udev-trigger.service",
  "systemd-udev-settle.service",
  // logins, consoles, network
  "getty.target",
  "getty@.service",
  "serial-getty@.service",
  "console-getty.service",
  "container-getty@.service",
  "systemd-logind.service",
  "systemd-networkd.service",
  "systemd-networkd.socket",
  "systemd-networkd-wait-online.service",
  "systemd-resolved.service",
  "networking.service",
  "ifupdown-pre.service",
  "swap.target",
  "tmp.mount",
  "remote-fs.target",
  // timers and random services of this machine
  "apt-daily.timer",
  "apt-daily-upgrade.timer",
  "dpkg-db-backup.timer",
  "e2scrub_all.timer",
  "e2scrub_reap.service",
  "fstrim.timer",
  "man-db.timer",
  "postgresql.service",
  "cron.service",
  "ssh.service",
  "rsyslog.service",
];

// ---------------------------------------------------------------------------
// small helpers

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function fail(what: string, detail: unknown): never {
  const msg = detail instanceof Error ? detail.message : String(detail);
  throw new Error(`test host: ${what}: ${msg}`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Single-quote for /bin/sh. */
function q(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function pidAlive(pid: number): boolean {
  return exists(`/proc/${pid}`);
}

function randomHex(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)))
    .map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Run a host-side helper command; throws on failure. */
async function hostCmd(what: string, cmd: string, args: string[]): Promise<string> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" })
      .output();
  } catch (e) {
    fail(what, e);
  }
  if (!out.success) {
    fail(what, `${cmd} ${args.join(" ")}: exit ${out.code}: ${decoder.decode(out.stderr).trim()}`);
  }
  return decoder.decode(out.stdout);
}

/** True if `path` is a mount point in the runner's mount namespace. */
function isMountPoint(path: string): boolean {
  const text = Deno.readTextFileSync("/proc/self/mountinfo");
  return text.split("\n").some((l) => unescapeMountPath(l.split(" ")[4] ?? "") === path);
}

function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
}

// ---------------------------------------------------------------------------
// cgroups

/** One cgroup hierarchy mounted under /sys/fs/cgroup. */
interface Hierarchy {
  /** Mount point on the host, e.g. /sys/fs/cgroup/memory. */
  mountPoint: string;
  /** Path relative to /sys/fs/cgroup, e.g. "memory" or "unified". */
  rel: string;
  fsType: "cgroup" | "cgroup2";
  /** Mount options to use for a fresh mount inside, e.g. "rw,memory". */
  options: string;
  /** The runner's own cgroup dir in this hierarchy (host path). */
  ownDir: string;
}

/** Discover the cgroup hierarchies and the runner's own cgroup in each. */
function discoverHierarchies(): Hierarchy[] {
  const self = Deno.readTextFileSync("/proc/self/cgroup").trim().split("\n").map((l) => {
    const [, ctrls, ...rest] = l.split(":");
    return { ctrls: ctrls ? ctrls.split(",") : [], path: rest.join(":") };
  });
  const result: Hierarchy[] = [];
  for (const line of Deno.readTextFileSync("/proc/self/mountinfo").split("\n")) {
    if (!line) continue;
    const [pre, post] = line.split(" - ");
    const f = pre.split(" ");
    const [fsType, , superOpts] = post.split(" ");
    const mountPoint = unescapeMountPath(f[4]);
    if (fsType !== "cgroup" && fsType !== "cgroup2") continue;
    if (!mountPoint.startsWith(CGROUP_ROOT + "/")) continue;
    const mountRoot = unescapeMountPath(f[3]);
    const opts = superOpts.split(",");
    let own: string | undefined;
    if (fsType === "cgroup2") {
      own = self.find((s) => s.ctrls.length === 0)?.path;
    } else {
      own = self.find((s) => s.ctrls.length > 0 && s.ctrls.every((c) => opts.includes(c)))?.path;
    }
    if (own === undefined) continue; // not ours (e.g. a hierarchy we're not part of)
    let relOwn = own;
    if (mountRoot !== "/" && relOwn.startsWith(mountRoot)) relOwn = relOwn.slice(mountRoot.length);
    result.push({
      mountPoint,
      rel: mountPoint.slice(CGROUP_ROOT.length + 1),
      fsType,
      options: opts.filter((o) => o !== "ro").join(","),
      ownDir: join(mountPoint, relOwn),
    });
  }
  if (result.length === 0) fail("cgroups", "no cgroup hierarchy mounted under /sys/fs/cgroup");
  return result;
}

/** rmdir a cgroup and all its children, depth first. Retries EBUSY for a while. */
async function removeCgroupTree(dir: string, deadline: number): Promise<void> {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  for (const e of entries) {
    if (e.isDirectory) await removeCgroupTree(join(dir, e.name), deadline);
  }
  for (;;) {
    try {
      Deno.removeSync(dir); // rmdir(2): never recursive on cgroupfs
      return;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return;
      if (Date.now() > deadline) fail(`removing cgroup ${dir}`, e);
      await sleep(20);
    }
  }
}

/** All PIDs in a cgroup tree. */
function cgroupPids(dir: string): number[] {
  const pids: number[] = [];
  const walk = (d: string) => {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(d)];
    } catch {
      return;
    }
    try {
      for (const p of Deno.readTextFileSync(join(d, "cgroup.procs")).split("\n")) {
        if (p) pids.push(Number(p));
      }
    } catch { /* gone */ }
    for (const e of entries) if (e.isDirectory) walk(join(d, e.name));
  };
  walk(dir);
  return pids;
}

// ---------------------------------------------------------------------------
// the host

/** Every host that may own resources; torn down on SIGINT/SIGTERM. */
const liveHosts = new Set<TestHost>();
let signalsInstalled = false;
/** When set, the CLI lets a foreground command handle ^C itself. */
let ignoreSigint = false;

const onSigint = () => void onSignal("SIGINT");
const onSigterm = () => void onSignal("SIGTERM");

async function onSignal(sig: "SIGINT" | "SIGTERM"): Promise<void> {
  if (sig === "SIGINT" && ignoreSigint) return;
  console.error(`test host: ${sig}: tearing down ${liveHosts.size} host(s)`);
  await disposeAllTestHosts();
  Deno.exit(sig === "SIGINT" ? 130 : 143);
}

function trackHost(h: TestHost): void {
  liveHosts.add(h);
  if (!signalsInstalled) {
    Deno.addSignalListener("SIGINT", onSigint);
    Deno.addSignalListener("SIGTERM", onSigterm);
    signalsInstalled = true;
  }
}

function untrackHost(h: TestHost): void {
  liveHosts.delete(h);
  if (liveHosts.size === 0 && signalsInstalled) {
    Deno.removeSignalListener("SIGINT", onSigint);
    Deno.removeSignalListener("SIGTERM", onSigterm);
    signalsInstalled = false;
  }
}

/** Tear down every host created by this process (used by signal handlers). */
export async function disposeAllTestHosts(): Promise<void> {
  await Promise.allSettled([...liveHosts].map((h) => h.dispose()));
}

/**
 * A throwaway systemd host. Create with {@link TestHost.create} (+ {@link TestHost.boot}),
 * {@link startTestHost} or {@link withTestHost}; always {@link TestHost.dispose}.
 */
export class TestHost {
  /** Unique id `<runner pid>-<random>`. */
  readonly id: string;
  /** Name used for the base dir and cgroups: `tsnspawn-testhost-<id>`. */
  readonly name: string;
  /** Base tmpfs mount point on the host. */
  readonly baseDir: string;
  /** Repo dir, bound at the same path inside. */
  readonly repoDir: string;
  /** Real dir bound at /var/lib/tsnspawn. */
  readonly stateDir: string;
  /** Real dir bound at /etc/tsnspawn. */
  readonly etcDir: string;
  /** Boot log (stdout/stderr of unshare, init.sh and systemd), on the base tmpfs. */
  readonly logFile: string;
  /** What systemd wrote to /dev/console during the current/last boot (truncated per boot). */
  readonly consoleLog: string;
  /** Duration of the last successful boot in ms. */
  lastBootMs = 0;

  readonly #opts: TestHostOptions;
  #hierarchies: Hierarchy[] = [];
  #child: Deno.ChildProcess | null = null;
  #childStatus: Promise<Deno.CommandStatus> | null = null;
  #pid = 0;
  #supervisorPid = 0;
  #mounted = false;
  #disposed = false;
  #disposing: Promise<void> | null = null;
  #boots = 0;

  private constructor(opts: TestHostOptions) {
    this.#opts = opts;
    this.id = `${Deno.pid}-${randomHex(4)}`;
    this.name = NAME_PREFIX + this.id;
    this.baseDir = `/tmp/${this.name}`;
    this.repoDir = Deno.realPathSync(
      opts.repoDir ?? resolve(dirname(fromFileUrl(import.meta.url)), ".."),
    );
    this.stateDir = opts.stateDir ? resolve(opts.stateDir) : join(this.baseDir, "state");
    this.etcDir = opts.etcDir ? resolve(opts.etcDir) : join(this.baseDir, "etc");
    this.logFile = join(this.baseDir, "boot.log");
    this.consoleLog = join(this.baseDir, "console.log");
  }

  /** Host PID of the test host's PID 1 (systemd); 0 when not booted. */
  get pid(): number {
    return this.#pid;
  }

  /** Host PID of the `unshare` process (our direct child, parent of {@link pid}); 0 when not booted. */
  get supervisorPid(): number {
    return this.#supervisorPid;
  }

  /** True while the host's PID 1 is alive. */
  get running(): boolean {
    return this.#pid !== 0 && pidAlive(this.#pid);
  }

  /**
   * Host path of `inside` (an absolute path inside the test host) via
   * `/proc/<pid>/root`, e.g. `host.path("/run/dbus/system_bus_socket")` to talk
   * to the host's system bus from the runner.
   */
  path(inside: string): string {
    if (!this.running) fail("path", "host is not running");
    return `/proc/${this.#pid}/root${inside.startsWith("/") ? "" : "/"}${inside}`;
  }

  /** Host paths of this host's cgroup in every hierarchy. */
  get cgroupDirs(): string[] {
    return this.#hierarchies.map((h) => join(h.ownDir, this.name));
  }

  /** Prepare a host (base tmpfs, state dirs) without booting it. */
  static async create(opts: TestHostOptions = {}): Promise<TestHost> {
    if (Deno.uid() !== 0) fail("create", "must run as root");
    const h = new TestHost(opts);
    trackHost(h);
    try {
      await h.#setupBase();
    } catch (e) {
      await h.dispose();
      throw e;
    }
    return h;
  }

  async #setupBase(): Promise<void> {
    Deno.mkdirSync(this.baseDir, { recursive: true });
    await hostCmd("mounting base tmpfs", "mount", [
      "-t",
      "tmpfs",
      "-o",
      "mode=700",
      this.name,
      this.baseDir,
    ]);
    this.#mounted = true;
    Deno.mkdirSync(this.stateDir, { recursive: true });
    Deno.mkdirSync(this.etcDir, { recursive: true });
    Deno.writeTextFileSync(this.logFile, "");
  }

  /** Boot systemd and wait until `systemctl is-system-running` says running/degraded. */
  async boot(): Promise<void> {
    if (this.#disposed) fail("boot", "host was disposed");
    if (this.#child) fail("boot", "already booted");
    const t0 = performance.now();
    this.#boots++;
    try {
      this.#hierarchies = discoverHierarchies();
      this.#createCgroups();
      const bootDir = join(this.baseDir, "boot");
      this.#prepareUpper(join(bootDir, "upper"));
      Deno.mkdirSync(join(bootDir, "work"));
      Deno.mkdirSync(join(bootDir, "root"));
      Deno.writeTextFileSync(join(bootDir, "start.sh"), this.#startScript(bootDir));
      Deno.writeTextFileSync(join(bootDir, "init.sh"), this.#initScript(bootDir));
      Deno.writeTextFileSync(this.logFile, `=== boot ${this.#boots} ===\n`, { append: true });
      Deno.writeTextFileSync(this.consoleLog, "");

      this.#child = new Deno.Command("setsid", {
        args: ["/bin/sh", join(bootDir, "start.sh")],
        stdin: "null",
        stdout: "null",
        stderr: "null",
        clearEnv: true,
        env: { PATH: PATH_ENV },
      }).spawn();
      this.#childStatus = this.#child.status;
      this.#supervisorPid = this.#child.pid;
      await this.#waitReady(t0);
      await this.#checkWants();
    } catch (e) {
      await this.#stop(true).catch(() => {});
      throw e;
    }
    this.lastBootMs = performance.now() - t0;
  }

  #createCgroups(): void {
    for (const h of this.#hierarchies) {
      const dir = join(h.ownDir, this.name);
      try {
        Deno.mkdirSync(dir);
      } catch (e) {
        if (!(e instanceof Deno.errors.AlreadyExists)) fail(`creating cgroup ${dir}`, e);
      }
      if (exists(join(dir, "cpuset.cpus"))) {
        for (const f of ["cpuset.cpus", "cpuset.mems"]) {
          const v = Deno.readTextFileSync(join(h.ownDir, f)).trim();
          try {
            Deno.writeTextFileSync(join(dir, f), v);
          } catch (e) {
            fail(`writing ${f}`, e);
          }
        }
      }
    }
  }

  /** Pre-populate the overlay upper dir with the boot configuration. */
  #prepareUpper(upper: string): void {
    Deno.mkdirSync(upper, { recursive: true, mode: 0o755 });
    const mkdirLike = (rel: string) => {
      let cur = "";
      for (const part of rel.split("/").filter(Boolean)) {
        cur += "/" + part;
        const p = upper + cur;
        if (exists(p)) continue;
        let mode = 0o755;
        try {
          mode = Deno.statSync(cur).mode! & 0o7777;
        } catch { /* not in lower */ }
        Deno.mkdirSync(p);
        Deno.chmodSync(p, mode);
      }
    };
    const sys = "/etc/systemd/system";
    mkdirLike(sys);
    mkdirLike("/etc/systemd/system-generators");
    mkdirLike("/etc/systemd/system.conf.d");
    mkdirLike("/etc/systemd/journald.conf.d");
    const wants = [...BASE_WANTS, ...(this.#opts.wants ?? [])];
    Deno.writeTextFileSync(
      upper + `${sys}/${TARGET}`,
      `[Unit]\nDescription=tsnspawn test host\nWants=${wants.join(" ")}\n` +
        `After=${wants.join(" ")}\nAllowIsolate=yes\n`,
    );
    Deno.symlinkSync(TARGET, upper + `${sys}/default.target`);
    const wanted = new Set(wants);
    for (const unit of MASKED_UNITS) {
      if (wanted.has(unit)) continue;
      Deno.symlinkSync("/dev/null", upper + `${sys}/${unit}`);
    }
    // Units the machine itself enabled (podman.socket, timers, ...) are wanted
    // by its default.target, which is our target here: mask them too, so the
    // host runs only what it asks for.
    for (const dir of readDirNames(sys).filter((d) => /\.(wants|requires)$/.test(d))) {
      for (const unit of readDirNames(`${sys}/${dir}`)) {
        if (wanted.has(unit) || unit.includes("@") || exists(upper + `${sys}/${unit}`)) continue;
        Deno.symlinkSync("/dev/null", upper + `${sys}/${unit}`);
      }
    }
    for (const gen of readDirNames("/lib/systemd/system-generators")) {
      Deno.symlinkSync("/dev/null", upper + `/etc/systemd/system-generators/${gen}`);
    }
    Deno.writeTextFileSync(
      upper + "/etc/systemd/system.conf.d/tsnspawn-testhost.conf",
      "[Manager]\nDefaultTimeoutStopSec=5s\nDefaultTimeoutStartSec=30s\nShowStatus=no\n",
    );
    Deno.writeTextFileSync(
      upper + "/etc/systemd/journald.conf.d/tsnspawn-testhost.conf",
      "[Journal]\nStorage=volatile\nForwardToConsole=no\nForwardToSyslog=no\nForwardToWall=no\n",
    );
    for (const [unit, content] of Object.entries(this.#opts.units ?? {})) {
      if (unit.includes("/")) fail("boot", `bad unit file name ${unit}`);
      const p = upper + `${sys}/${unit}`;
      try {
        Deno.removeSync(p); // may replace a mask
      } catch { /* none */ }
      Deno.writeTextFileSync(p, content);
    }
    Deno.writeTextFileSync(upper + "/etc/hostname", (this.#opts.hostname ?? "testhost") + "\n");
  }

  /** Host-namespace part: join our cgroups, then unshare. */
  #startScript(bootDir: string): string {
    const lines = [
      `exec >>${q(this.logFile)} 2>&1 </dev/null`,
      ...this.#hierarchies.map((h) =>
        `echo $$ > ${q(join(h.ownDir, this.name, "cgroup.procs"))} || exit 125`
      ),
      `exec unshare --mount --pid --fork --cgroup --uts --ipc --net --kill-child --propagation private -- /bin/sh ${
        q(join(bootDir, "init.sh"))
      }`,
    ];
    return lines.join("\n") + "\n";
  }

  /** PID 1 of the new namespaces: build the root, pivot, exec systemd. */
  #initScript(bootDir: string): string {
    const R = join(bootDir, "root");
    const r = (p: string) => q(R + p);
    const L: string[] = ["set -eu", "mount --make-rprivate /"];
    L.push(
      `mount -t overlay -o ${q(`lowerdir=/,upperdir=${bootDir}/upper,workdir=${bootDir}/work`)} ${
        q(this.name)
      } ${q(R)}`,
    );
    // /proc, with /proc/sys read-only except the (private) network part
    L.push(`mount -t proc -o nosuid,nodev,noexec proc ${r("/proc")}`);
    L.push(`mount --bind ${r("/proc/sys")} ${r("/proc/sys")}`);
    L.push(`mount --bind ${r("/proc/sys/net")} ${r("/proc/sys/net")}`);
    L.push(`mount -o remount,bind,ro ${r("/proc/sys")}`);
    L.push(
      `if [ -e ${r("/proc/sysrq-trigger")} ]; then mount --bind ${r("/proc/sysrq-trigger")} ${
        r("/proc/sysrq-trigger")
      }; ` +
        `mount -o remount,bind,ro ${r("/proc/sysrq-trigger")}; fi`,
    );
    // /sys read-only, cgroups fresh (the cgroup ns makes our groups the roots)
    L.push(`mount -t sysfs -o ro,nosuid,nodev,noexec sysfs ${r("/sys")}`);
    L.push(`mount -t tmpfs -o mode=755,nosuid,nodev,noexec tmpfs ${r("/sys/fs/cgroup")}`);
    for (const h of this.#hierarchies) {
      const mp = r(`/sys/fs/cgroup/${h.rel}`);
      L.push(`mkdir -p ${mp}`);
      L.push(`mount -t ${h.fsType} -o ${q(h.options)} ${h.fsType} ${mp}`);
    }
    for (const e of safeReadDir(CGROUP_ROOT)) {
      if (e.isSymlink) {
        L.push(
          `ln -s ${q(Deno.readLinkSync(join(CGROUP_ROOT, e.name)))} ${
            r(`/sys/fs/cgroup/${e.name}`)
          }`,
        );
      }
    }
    // minimal /dev
    L.push(`mount -t tmpfs -o mode=755,nosuid,size=4m tmpfs ${r("/dev")}`);
    for (const n of ["null", "zero", "full", "random", "urandom", "tty"]) {
      L.push(`touch ${r(`/dev/${n}`)}`, `mount --bind /dev/${n} ${r(`/dev/${n}`)}`);
    }
    // /dev/console is the console log on the base tmpfs (systemd's status output)
    L.push(`touch ${r("/dev/console")}`, `mount --bind ${q(this.consoleLog)} ${r("/dev/console")}`);
    L.push(`mkdir ${r("/dev/pts")} ${r("/dev/shm")} ${r("/dev/mqueue")}`);
    L.push(`mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts ${r("/dev/pts")}`);
    L.push(`ln -s pts/ptmx ${r("/dev/ptmx")}`);
    L.push(`mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs ${r("/dev/shm")}`);
    L.push(`mount -t mqueue -o nosuid,nodev,noexec mqueue ${r("/dev/mqueue")}`);
    L.push(`ln -s /proc/self/fd ${r("/dev/fd")}`);
    for (const [i, n] of ["stdin", "stdout", "stderr"].entries()) {
      L.push(`ln -s /proc/self/fd/${i} ${r(`/dev/${n}`)}`);
    }
    // volatile /run and /tmp
    L.push(`mount -t tmpfs -o mode=755,nosuid,nodev tmpfs ${r("/run")}`);
    L.push(`mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs ${r("/tmp")}`);
    // binds (after the tmpfs mounts, so binds below /tmp or /run work)
    const binds: TestHostBind[] = [
      { source: this.repoDir, target: this.repoDir },
      { source: this.stateDir, target: "/var/lib/tsnspawn" },
      { source: this.etcDir, target: "/etc/tsnspawn" },
      ...(this.#opts.binds ?? []),
    ];
    for (const b of binds) {
      const t = r(b.target);
      L.push(`mkdir -p ${t}`, `mount --bind ${q(b.source)} ${t}`);
      if (b.readOnly) L.push(`mount -o remount,bind,ro ${t}`);
    }
    // pivot and exec systemd
    L.push(`mkdir -p ${r("/.testhost-oldroot")}`);
    L.push(`cd ${q(R)}`);
    L.push(`pivot_root . .testhost-oldroot`);
    L.push(`cd /`);
    L.push(`umount -l /.testhost-oldroot`);
    L.push(`rmdir /.testhost-oldroot`);
    // last line of defence: never exec systemd on anything but our overlay
    L.push(
      `[ "$(stat -f -c %T /)" = overlayfs ] || { echo "root is not the overlay" >&2; exit 99; }`,
    );
    L.push(`exec env -i container=other PATH=${q(PATH_ENV)} ${SYSTEMD}`);
    return L.join("\n") + "\n";
  }

  async #waitReady(t0: number): Promise<void> {
    const timeout = this.#opts.bootTimeoutMs ?? 30000;
    const deadline = t0 + timeout;
    let exited = false;
    this.#childStatus!.then(() => exited = true);
    const childPid = this.#child!.pid;
    // 1. find PID 1 of the new pid namespace: unshare's child, once it is systemd
    while (!this.#pid) {
      if (exited) fail("boot", `boot process exited early; log:\n${this.logTail()}`);
      if (performance.now() > deadline) {
        fail("boot", `timeout waiting for systemd to start; log:\n${this.logTail()}`);
      }
      const kid = readChildren(childPid)[0];
      if (kid) {
        let exe = "";
        try {
          exe = Deno.readLinkSync(`/proc/${kid}/exe`);
        } catch { /* racing */ }
        if (exe.endsWith("/systemd/systemd")) {
          this.#pid = kid;
          break;
        }
      }
      await sleep(5);
    }
    // 2. poll is-system-running
    let state = "";
    while (true) {
      if (exited) fail("boot", `systemd exited during boot; log:\n${this.logTail()}`);
      if (performance.now() > deadline) {
        const diag = async (cmd: string[]) =>
          (await this.run(cmd, { timeoutMs: 3000 }).catch(() => null))?.stdout.trim() || "(none)";
        const jobs = await diag(["systemctl", "list-jobs", "--no-legend", "--plain"]);
        const journal = await diag(["journalctl", "-b", "--no-pager", "-n", "40"]);
        fail(
          "boot",
          `timeout after ${timeout} ms, is-system-running=${
            state || "?"
          }\n--- pending jobs:\n${jobs}\n` +
            `--- journal:\n${journal}\n${this.logTail()}`,
        );
      }
      const r = await this.run(["systemctl", "is-system-running"]).catch(() => null);
      state = r?.stdout.trim() ?? "";
      if (state === "running") return;
      if (state === "degraded") {
        const f = await this.run(["systemctl", "--failed", "--no-legend", "--plain"]);
        console.error(`test host: booted degraded; failed units:\n${f.stdout}`);
        return;
      }
      await sleep(state === "" ? 10 : 20);
    }
  }

  /** Opt-in units must exist: systemd silently ignores Wants= on unknown units. */
  async #checkWants(): Promise<void> {
    for (const unit of this.#opts.wants ?? []) {
      const r = await this.run(["systemctl", "show", "-P", "LoadState", unit]);
      const state = r.stdout.trim();
      if (state !== "loaded") {
        fail("boot", `wanted unit ${unit} is ${state || "unknown"} (not installed?)`);
      }
    }
  }

  /** Last lines of the boot log and of the console log (for error messages). */
  logTail(lines = 40): string {
    const tail = (f: string) => {
      try {
        return Deno.readTextFileSync(f).trimEnd().split("\n").slice(-lines).join("\n");
      } catch {
        return "(none)";
      }
    };
    return `--- ${this.logFile}:\n${tail(this.logFile)}\n--- ${this.consoleLog}:\n${
      tail(this.consoleLog)
    }`;
  }

  /** Build the host command line that runs `cmd` inside all namespaces of PID 1, joined to init.scope cgroups. */
  #commandFor(cmd: string[], cwd: string): { prog: string; args: string[] } {
    if (!this.running) fail("run", "host is not running");
    if (cmd.length === 0) fail("run", "empty command");
    const groups = this.cgroupDirs;
    // systemd creates/trims init.scope per hierarchy as controllers get
    // realized, so decide at the last moment, falling back to the group root.
    const script = 'while [ "$1" != -- ]; do ' +
      '{ echo $$ > "$1/init.scope/cgroup.procs"; } 2>/dev/null || echo $$ > "$1/cgroup.procs" || exit 125; ' +
      'shift; done; shift; exec "$@"';
    return {
      prog: "/bin/sh",
      args: [
        "-c",
        script,
        "sh",
        ...groups,
        "--",
        "nsenter",
        "-t",
        String(this.#pid),
        "-m",
        "-u",
        "-i",
        "-n",
        "-p",
        "-C",
        "-r",
        "-w",
        "--",
        // nsenter --wd=DIR would open DIR in the *runner's* mount namespace
        // (unreachable cwd inside: getcwd() fails), so chdir once inside.
        "/bin/sh",
        "-c",
        'cd -- "$1" || exit 125; shift; exec "$@"',
        "sh",
        cwd,
        ...cmd,
      ],
    };
  }

  #env(extra?: Record<string, string>): Record<string, string> {
    return { PATH: PATH_ENV, HOME: "/root", LANG: "C.UTF-8", USER: "root", ...extra };
  }

  /** Run `cmd` inside the host and collect its output. */
  async run(cmd: string[], opts: TestHostRunOptions = {}): Promise<TestHostRunResult> {
    const { prog, args } = this.#commandFor(cmd, opts.cwd ?? "/");
    const child = new Deno.Command(prog, {
      args,
      clearEnv: true,
      env: this.#env(opts.env),
      stdin: opts.stdin !== undefined ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (opts.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
      }, opts.timeoutMs);
    }
    try {
      if (opts.stdin !== undefined) {
        const w = child.stdin.getWriter();
        await w.write(typeof opts.stdin === "string" ? encoder.encode(opts.stdin) : opts.stdin)
          .catch(() => {});
        await w.close().catch(() => {});
      }
      const out = await child.output();
      const res = {
        code: out.code,
        success: out.success,
        stdout: decoder.decode(out.stdout),
        stderr: decoder.decode(out.stderr),
      };
      if (opts.check && !res.success) {
        fail(
          `run ${JSON.stringify(cmd)}`,
          `exit ${res.code}\nstdout: ${res.stdout}\nstderr: ${res.stderr}`,
        );
      }
      return res;
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }

  /** Spawn `cmd` inside the host (streaming variant); the caller owns the child. */
  spawn(cmd: string[], opts: TestHostSpawnOptions = {}): Deno.ChildProcess {
    const { prog, args } = this.#commandFor(cmd, opts.cwd ?? "/");
    return new Deno.Command(prog, {
      args,
      clearEnv: true,
      env: this.#env(opts.env),
      stdin: opts.stdin ?? "null",
      stdout: opts.stdout ?? "piped",
      stderr: opts.stderr ?? "piped",
    }).spawn();
  }

  /** Run `cmd` inside with inherited stdio (for the demo); returns the exit code. */
  async runInherit(
    cmd: string[],
    opts: { cwd?: string; env?: Record<string, string> } = {},
  ): Promise<number> {
    const child = this.spawn(cmd, {
      ...opts,
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    });
    return (await child.status).code;
  }

  /**
   * Power the host off. `kill=false`: `systemctl poweroff` and wait (SIGKILL
   * after 20 s); `kill=true`: SIGKILL PID 1 right away. Removes the boot's
   * cgroups and overlay upper dir; state/etc dirs are kept for {@link boot}.
   */
  async powerOff(kill = false): Promise<void> {
    await this.#stop(kill);
  }

  async #stop(kill: boolean): Promise<void> {
    const errors: unknown[] = [];
    if (this.#child) {
      if (!kill && this.running) {
        await this.run(["systemctl", "poweroff", "--no-block"], { timeoutMs: 5000 }).catch(
          () => {},
        );
        const done = await Promise.race([
          this.#childStatus!.then(() => true),
          sleep(20000).then(() => false),
        ]);
        if (!done) kill = true;
      }
      if (this.#pid && pidAlive(this.#pid)) {
        try {
          Deno.kill(this.#pid, "SIGKILL"); // our PID 1: the kernel kills the whole pid namespace
        } catch { /* gone */ }
      }
      // unshare exits once its child (PID 1) is gone; --kill-child covers the reverse.
      const done = await Promise.race([
        this.#childStatus!.then(() => true),
        sleep(10000).then(() => false),
      ]);
      if (!done) {
        try {
          this.#child.kill("SIGKILL");
        } catch { /* gone */ }
        await this.#childStatus;
      }
      this.#child = null;
      this.#childStatus = null;
      this.#pid = 0;
      this.#supervisorPid = 0;
    }
    // cgroups: wait until empty, then rmdir depth-first
    const deadline = Date.now() + 10000;
    for (const dir of this.cgroupDirs) {
      while (cgroupPids(dir).length > 0 && Date.now() < deadline) await sleep(10);
      try {
        await removeCgroupTree(dir, deadline);
      } catch (e) {
        errors.push(e);
      }
    }
    try {
      Deno.removeSync(join(this.baseDir, "boot"), { recursive: true });
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) errors.push(e);
    }
    if (errors.length) fail("teardown", errors.map((e) => (e as Error).message).join("; "));
  }

  /** Tear everything down: processes, cgroups, base tmpfs. Idempotent; concurrent calls share one teardown. */
  dispose(): Promise<void> {
    this.#disposing ??= this.#dispose();
    return this.#disposing;
  }

  async #dispose(): Promise<void> {
    this.#disposed = true;
    const errors: string[] = [];
    try {
      await this.#stop(true);
    } catch (e) {
      errors.push((e as Error).message);
    }
    if (this.#mounted) {
      try {
        await hostCmd("unmounting base", "umount", [this.baseDir]);
      } catch {
        try {
          await hostCmd("unmounting base (lazy)", "umount", ["-l", this.baseDir]);
        } catch (e) {
          errors.push((e as Error).message);
        }
      }
      this.#mounted = isMountPoint(this.baseDir);
    }
    if (!this.#mounted) {
      try {
        Deno.removeSync(this.baseDir); // now an empty mount point dir
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) errors.push(`removing ${this.baseDir}: ${e}`);
      }
    }
    untrackHost(this);
    if (errors.length) fail("dispose", errors.join("; "));
  }

  /** `await using host = await startTestHost()` support. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}

function readDirNames(dir: string): string[] {
  return safeReadDir(dir).map((e) => e.name);
}

function safeReadDir(dir: string): Deno.DirEntry[] {
  try {
    return [...Deno.readDirSync(dir)];
  } catch {
    return [];
  }
}

function readChildren(pid: number): number[] {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`).trim().split(/\s+/).filter(
      Boolean,
    ).map(Number);
  } catch {
    return [];
  }
}

/** Create and boot a host. The caller must `dispose()` it (or use {@link withTestHost}). */
export async function startTestHost(opts: TestHostOptions = {}): Promise<TestHost> {
  const h = await TestHost.create(opts);
  try {
    await h.boot();
  } catch (e) {
    await h.dispose().catch(() => {});
    throw e;
  }
  return h;
}

/** Boot a host, run `fn`, and always tear the host down (also if `fn` throws). */
export async function withTestHost<T>(
  opts: TestHostOptions,
  fn: (host: TestHost) => Promise<T>,
): Promise<T> {
  const h = await startTestHost(opts);
  let result: T;
  try {
    result = await fn(h);
  } catch (e) {
    await h.dispose().catch((d) => console.error(String(d)));
    throw e;
  }
  await h.dispose();
  return result;
}

/**
 * Describe what is left of the host named `name` (`tsnspawn-testhost-<id>`),
 * or of any test host when `name` is omitted: mounts in the runner's
 * /proc/self/mountinfo, cgroup dirs below the runner's cgroups and below the
 * hierarchy roots, processes whose cgroup or command line mentions it, and the
 * base dir. Empty when everything was torn down.
 */
export function findTestHostLeftovers(name: string = NAME_PREFIX): string[] {
  const found: string[] = [];
  for (const line of Deno.readTextFileSync("/proc/self/mountinfo").split("\n")) {
    if (line.includes(name)) found.push(`mount: ${line}`);
  }
  const dirs = new Set<string>();
  for (const h of discoverHierarchies()) dirs.add(h.ownDir).add(h.mountPoint);
  for (const d of dirs) {
    for (const e of safeReadDir(d)) {
      if (e.isDirectory && e.name.startsWith(name)) found.push(`cgroup: ${join(d, e.name)}`);
    }
  }
  for (const e of safeReadDir("/proc")) {
    if (!/^\d+$/.test(e.name) || Number(e.name) === Deno.pid) continue;
    let cg = "", cmdline = "";
    try {
      cg = Deno.readTextFileSync(`/proc/${e.name}/cgroup`);
      cmdline = Deno.readTextFileSync(`/proc/${e.name}/cmdline`).replaceAll("\0", " ");
    } catch {
      continue; // exited meanwhile
    }
    if (cg.includes(name) || cmdline.includes(name)) {
      found.push(`process ${e.name}: ${cmdline.trim()}`);
    }
  }
  for (const e of safeReadDir("/tmp")) {
    if (e.name.startsWith(name)) found.push(`dir: /tmp/${e.name}`);
  }
  return found;
}

/** True when running as root (test hosts need root). */
export function isRoot(): boolean {
  return Deno.uid() === 0;
}

/**
 * Remove leftovers of runners that died without teardown (e.g. SIGKILL):
 * for every `tsnspawn-testhost-<pid>-<rand>` whose runner pid is dead, SIGKILL
 * the processes in its cgroups (they are ours: PID 1 of a test host and its
 * descendants), rmdir the cgroups, unmount and remove the base dir.
 * Returns the names cleaned up.
 */
export async function cleanupStaleTestHosts(): Promise<string[]> {
  const stale = new Set<string>();
  const isStale = (name: string) => {
    const m = name.match(/^tsnspawn-testhost-(\d+)-[0-9a-f]+$/);
    return m !== null && Number(m[1]) !== Deno.pid && !pidAlive(Number(m[1]));
  };
  const hier = discoverHierarchies();
  const groups: string[] = [];
  for (const h of hier) {
    for (const e of safeReadDir(h.ownDir)) {
      if (e.isDirectory && isStale(e.name)) {
        stale.add(e.name);
        groups.push(join(h.ownDir, e.name));
      }
    }
  }
  for (const e of safeReadDir("/tmp")) if (e.isDirectory && isStale(e.name)) stale.add(e.name);
  // kill PID 1 of each stale host (a process in the pid-ns root cgroup whose parent is unshare)
  for (const g of groups) {
    for (const pid of cgroupPids(g)) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch { /* gone */ }
    }
  }
  const deadline = Date.now() + 10000;
  for (const g of groups) {
    while (cgroupPids(g).length > 0 && Date.now() < deadline) await sleep(10);
    await removeCgroupTree(g, deadline);
  }
  for (const name of stale) {
    const base = `/tmp/${name}`;
    if (isMountPoint(base)) await hostCmd("unmounting stale base", "umount", ["-l", base]);
    try {
      Deno.removeSync(base);
    } catch { /* not there */ }
  }
  return [...stale];
}

// ---------------------------------------------------------------------------
// CLI

async function main(argv: string[]): Promise<number> {
  const dd = argv.indexOf("--");
  const own = dd >= 0 ? argv.slice(0, dd) : argv;
  const rest = dd >= 0 ? argv.slice(dd + 1) : [];
  const a = parseArgs(own, {
    string: ["state", "etc", "repo", "want", "cwd", "timeout"],
    boolean: ["quiet", "help"],
    collect: ["want"],
    alias: { h: "help" },
  });
  const sub = String(a._[0] ?? "");
  const usage = "usage: testhost.ts run [opts] -- CMD... | shell [opts] | boot [opts] | cleanup\n" +
    "opts: --state DIR --etc DIR --repo DIR --want UNIT --cwd DIR --timeout SEC --quiet";
  if (a.help || !sub) {
    console.log(usage);
    return a.help ? 0 : 2;
  }
  if (sub === "cleanup") {
    const names = await cleanupStaleTestHosts();
    console.log(names.length ? `cleaned: ${names.join(" ")}` : "nothing to clean");
    return 0;
  }
  if (!["run", "shell", "boot"].includes(sub)) {
    console.error(usage);
    return 2;
  }
  const opts: TestHostOptions = {
    stateDir: a.state,
    etcDir: a.etc,
    repoDir: a.repo,
    wants: (a.want as string[] | undefined) ?? [],
    bootTimeoutMs: a.timeout ? Number(a.timeout) * 1000 : undefined,
  };
  const host = await startTestHost(opts);
  try {
    if (!a.quiet) {
      console.error(
        `test host ${host.name}: booted in ${host.lastBootMs.toFixed(0)} ms, PID 1 = ${host.pid}`,
      );
    }
    const cwd = a.cwd ?? host.repoDir;
    if (sub === "boot") {
      console.log(
        `nsenter -t ${host.pid} -m -u -i -n -p -C -r -w -- bash -lc ${
          q(`cd ${q(cwd)} && exec bash -l`)
        }`,
      );
      console.error("press ^C to tear down");
      await new Promise(() => {}); // the signal handler tears down and exits
    }
    const cmd = sub === "shell" ? ["bash", "-l"] : rest;
    if (cmd.length === 0) {
      console.error("run: missing command after --");
      return 2;
    }
    // ^C goes to the foreground command (same process group); we tear down
    // after it exits. SIGTERM still tears down right away.
    ignoreSigint = true;
    const term = Deno.env.get("TERM");
    return await host.runInherit(cmd, { cwd, env: term ? { TERM: term } : {} });
  } finally {
    await host.dispose();
  }
}

if (import.meta.main) {
  let code: number;
  try {
    code = await main(Deno.args);
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    code = 1;
  }
  Deno.exit(code);
}

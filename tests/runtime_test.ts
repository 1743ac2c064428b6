/**
 * Runtime integration tests without systemd: the shim is run directly, with
 * a fake $NOTIFY_SOCKET we listen on, against a tiny busybox image built on
 * a tmpfs. Needs root, /bin/busybox (Debian busybox-static) and overlayfs;
 * skipped (ignored) otherwise.
 *
 * Set TSNSPAWN_TEST_DEBUG=1 to see the containers' output.
 *
 * The test process makes itself a child subreaper (during each test only):
 * after READY=1 the shim
 * exits and the container's PID 1 is reparented to us, so we can wait for it
 * and check that its exit status is the command's (under systemd, systemd
 * plays that role).
 */
import { testContainerConfig } from "../src/testing/container_config.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import type { ContainerConfig, VolumeMount } from "../src/container/config.ts";
import { containerPaths } from "../src/paths.ts";
import { selfCommand } from "../src/self_exec.ts";
import { DOCKER_DEFAULT_CAPABILITIES } from "../src/security/capabilities.ts";
import { spawnExecStage } from "../src/runtime/exec_stage.ts";
import { openInRoot } from "../ffi/open_in_root.ts";
import { libc } from "../ffi/libc.ts";
import { listenNotifySocket } from "../ffi/notify.ts";
import { MNT_DETACH, mount, umount2 } from "../ffi/mount.ts";
import { type ExitStatus, kill, waitPid } from "../ffi/process.ts";
import { closePty, openPty, openPtyPeer } from "../ffi/pty.ts";
import { acceptAsync, listenUnix, receiveAsync } from "../ffi/unix_socket.ts";
import { closeFd, O_NOCTTY, O_RDWR, POLLIN, pollOne, readFd, writeAll } from "../ffi/fifo.ts";
import { runCleanup } from "../src/runtime/cleanup.ts";

const BUSYBOX = "/bin/busybox";
const PR_SET_CHILD_SUBREAPER = 36;
/** Docker's default bounding/effective set (CAP_CHOWN ... CAP_SETFCAP). */
const DOCKER_DEFAULT_MASK = "00000000a80425fb";

function canRun(): boolean {
  if (Deno.build.os !== "linux" || Deno.uid() !== 0) return false;
  try {
    Deno.statSync(BUSYBOX);
    return Deno.readTextFileSync("/proc/filesystems").includes("overlay");
  } catch {
    return false;
  }
}
const ignore = !canRun();

/** A tmpfs holding an image layer, a state root and scratch dirs. */
interface Lab {
  base: string;
  layer: string;
  root: string;
}

async function withLab(fn: (lab: Lab) => Promise<void>): Promise<void> {
  const base = Deno.makeTempDirSync({ prefix: "tsnspawn-rt-" });
  mount("tmpfs", base, "tmpfs", 0, "mode=755");
  // Only while our test runs: other test files must not inherit orphans.
  assertEquals(libc().prctl(PR_SET_CHILD_SUBREAPER, 1n, 0n, 0n, 0n), 0);
  try {
    const layer = `${base}/layer`;
    for (const dir of ["bin", "etc", "proc", "sys", "dev", "tmp", "root", "data"]) {
      Deno.mkdirSync(`${layer}/${dir}`, { recursive: true });
    }
    Deno.copyFileSync(BUSYBOX, `${layer}/bin/busybox`);
    Deno.chmodSync(`${layer}/bin/busybox`, 0o755);
    const list = new Deno.Command(BUSYBOX, { args: ["--list"] }).outputSync();
    for (const applet of new TextDecoder().decode(list.stdout).split("\n")) {
      if (applet && applet !== "busybox") Deno.symlinkSync("busybox", `${layer}/bin/${applet}`);
    }
    Deno.writeTextFileSync(`${layer}/etc/passwd`, "root:x:0:0:root:/root:/bin/sh\n");
    Deno.writeTextFileSync(`${layer}/bin/not-executable`, "#!/bin/sh\n");
    const root = `${base}/state`;
    Deno.mkdirSync(root);
    await fn({ base, layer, root });
  } finally {
    libc().prctl(PR_SET_CHILD_SUBREAPER, 0n, 0n, 0n, 0n);
    // Everything mounted for a container lives in its own mount namespace;
    // only our tmpfs is ours to remove.
    umount2(base, MNT_DETACH);
    Deno.removeSync(base, { recursive: true });
    const left = Deno.readTextFileSync("/proc/self/mountinfo").split("\n").filter((l) =>
      l.includes(base)
    );
    assertEquals(left, [], "mounts left on the host");
  }
}

function makeConfig(lab: Lab, name: string, overrides: Partial<ContainerConfig>): ContainerConfig {
  return testContainerConfig({
    name,
    id: "0123456789abcdef".repeat(4),
    created: new Date().toISOString(),
    image: null,
    imageId: null,
    lowerDirs: [lab.layer],
    command: ["/bin/sh", "-c", "true"],
    env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"],
    hostname: "testbox",
    capabilities: [...DOCKER_DEFAULT_CAPABILITIES],
    ...overrides,
  });
}

function writeContainer(lab: Lab, config: ContainerConfig): void {
  const paths = containerPaths(config.name, lab.root);
  for (const dir of [paths.upper, paths.work, paths.rootfs, paths.etc]) {
    Deno.mkdirSync(dir, { recursive: true });
  }
  Deno.writeTextFileSync(paths.config, JSON.stringify(config));
}

interface Started {
  /** The shim's exit status. */
  shimCode: number;
  /** The sd_notify message, if any. */
  notify: string | null;
  /** Stage two's PID (from MAINPID=). */
  pid: number | null;
  /** Combined output of shim and container, available once `done` resolves. */
  done: Promise<{ stdout: string; stderr: string; exit: ExitStatus | null }>;
}

/** Waits for a reparented child to end, reaping it. */
async function waitForExit(pid: number, timeoutMs = 20_000): Promise<ExitStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = waitPid(pid, true);
    if (status) return status;
    if (Date.now() > deadline) {
      kill(pid, 9);
      throw new Error(`container PID ${pid} did not exit`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Runs the shim for `config` as systemd would, minus systemd. */
async function start(
  lab: Lab,
  config: ContainerConfig,
  tty?: string,
  extraEnv: Record<string, string> = {},
): Promise<Started> {
  writeContainer(lab, config);
  const socketPath = `${lab.base}/notify-${config.name}.sock`;
  const listener = listenNotifySocket(socketPath);
  let [program, ...args] = selfCommand("__shim", [config.name]);
  if (tty) {
    // stdio on the terminal, as systemd's TTYPath= would do
    args = ["-c", 'exec "$@" <"$TTY" >"$TTY" 2>&1', "sh", program, ...args];
    program = "/bin/sh";
  }
  const shim = new Deno.Command(program, {
    args,
    cwd: "/", // like systemd: the import map must not depend on the cwd
    env: {
      TSNSPAWN_ROOT: lab.root,
      NOTIFY_SOCKET: socketPath,
      ...(tty ? { TTY: tty } : {}),
      ...extraEnv,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = shim.stdout.text();
  const stderr = shim.stderr.text();
  const timer = setTimeout(() => shim.kill("SIGKILL"), 30_000);
  // Receive like systemd while the shim runs: stage two waits on a barrier
  // (BARRIER=1 with a pipe fd), released when the message is consumed.
  const messages: string[] = [];
  let running = true;
  const drain = (async () => {
    while (running) {
      for (let m = listener.receive(0); m !== null; m = listener.receive(0)) messages.push(m);
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  const status = await shim.status;
  running = false;
  await drain;
  clearTimeout(timer);
  for (let m = listener.receive(0); m !== null; m = listener.receive(0)) messages.push(m);
  listener.close();
  const notify = status.code === 0 ? messages.find((m) => m.includes("MAINPID=")) ?? null : null;
  const pid = notify ? Number(/MAINPID=(\d+)/.exec(notify)?.[1]) : null;
  const done = (async () => {
    const exit = pid ? await waitForExit(pid) : null;
    return { stdout: await stdout, stderr: await stderr, exit };
  })();
  return { shimCode: status.code, notify, pid, done };
}

/** Runs a shell script in a container; returns its output and exit. */
async function runScript(
  lab: Lab,
  name: string,
  script: string,
  overrides: Partial<ContainerConfig> = {},
) {
  const started = await start(
    lab,
    makeConfig(lab, name, { command: ["/bin/sh", "-c", script], ...overrides }),
  );
  const result = await started.done;
  assertEquals(started.shimCode, 0, `shim failed: ${result.stderr}`);
  if (Deno.env.get("TSNSPAWN_TEST_DEBUG")) console.log(result.stdout, result.stderr);
  return { ...started, ...result };
}

/** What a pty master has to read now (\r\n as \n). */
function readAvailable(master: number): string {
  let output = "";
  const buffer = new Uint8Array(4096);
  while (pollOne(master, POLLIN, 200) & POLLIN) {
    const n = readFd(master, buffer);
    if (!n) break;
    output += new TextDecoder().decode(buffer.subarray(0, n));
  }
  return output.replaceAll("\r", "");
}

function field(output: string, key: string): string | undefined {
  return new RegExp(`^${key}[=:][ \\t]*(.*)$`, "m").exec(output)?.[1]?.trim();
}

Deno.test({
  name: "runtime: PID 1, hostname, masks, capabilities, loopback, upper layer, exit status",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withLab(async (lab) => {
      const script = [
        "echo pid=$$",
        "echo hostname=$(hostname)",
        "echo pids=$(ls /proc | grep -E '^[0-9]+$' | tr '\\n' ' ')",
        "grep -E '^(CapBnd|CapEff|CapPrm|CapInh|NoNewPrivs)' /proc/self/status",
        "echo keys=$(wc -c < /proc/keys)",
        "echo timerlist=$(wc -c < /proc/timer_list)",
        "echo firmware=$(ls /sys/firmware | wc -l)",
        "echo romounts=$(awk '$5 ~ /^\\/proc\\/(sys|irq|bus|fs)$/ && $6 ~ /^ro,/ {print $5}' /proc/self/mountinfo | sort | tr '\\n' ' ')",
        "if echo x > /proc/sys/kernel/hostname 2>/dev/null; then echo procsys=rw; else echo procsys=ro; fi",
        "echo lo=$(cat /sys/class/net/lo/flags)",
        "echo etchostname=$(cat /etc/hostname)",
        "echo devnull=$(ls -l /dev/null | cut -c1-10)",
        "echo ptmx=$(readlink /dev/ptmx)",
        "if touch /sys/x 2>/dev/null; then echo sys=rw; else echo sys=ro; fi",
        "echo hello > /written",
        "echo cwd=$(pwd)",
        "exit 3",
      ].join("; ");
      const r = await runScript(lab, "basics", script);
      assertMatch(r.notify!, /^MAINPID=\d+\nREADY=1$/);
      assertEquals(field(r.stdout, "pid"), "1");
      assertEquals(field(r.stdout, "hostname"), "testbox");
      const pids = field(r.stdout, "pids")!.split(" ").map(Number);
      assert(
        pids.includes(1) && pids.length <= 6, /* sh, ls, grep, tr and the subshell */
        `unexpected processes: ${pids}`,
      );
      assertEquals(field(r.stdout, "CapBnd"), DOCKER_DEFAULT_MASK);
      assertEquals(field(r.stdout, "CapEff"), DOCKER_DEFAULT_MASK);
      assertEquals(field(r.stdout, "CapPrm"), DOCKER_DEFAULT_MASK);
      assertEquals(field(r.stdout, "CapInh"), "0000000000000000");
      assertEquals(field(r.stdout, "NoNewPrivs"), "1");
      // This kernel may lack /proc/kcore and /proc/sysrq-trigger: check what exists.
      assertEquals(field(r.stdout, "keys"), "0");
      assertEquals(field(r.stdout, "timerlist"), "0");
      assertEquals(field(r.stdout, "firmware"), "0");
      assertEquals(field(r.stdout, "romounts"), "/proc/bus /proc/fs /proc/irq /proc/sys");
      assertEquals(field(r.stdout, "procsys"), "ro");
      assertEquals(field(r.stdout, "lo"), "0x9"); // IFF_UP | IFF_LOOPBACK
      assertEquals(field(r.stdout, "etchostname"), "testbox");
      assertEquals(field(r.stdout, "devnull"), "crw-rw-rw-");
      assertEquals(field(r.stdout, "ptmx"), "pts/ptmx");
      assertEquals(field(r.stdout, "sys"), "ro");
      assertEquals(field(r.stdout, "cwd"), "/");
      assertEquals(r.exit, { code: 3, signal: null });
      const paths = containerPaths("basics", lab.root);
      assertEquals(Deno.readTextFileSync(`${paths.upper}/written`), "hello\n");
      // Nothing but stdio reaches the command (our test runner leaks fds into us).
      const ls = await start(
        lab,
        makeConfig(lab, "fds", { command: ["/bin/ls", "/proc/self/fd/"] }),
      );
      const listed = (await ls.done).stdout.split("\n").filter((l) => l !== "");
      assertEquals(listed, ["0", "1", "2", "3"], "descriptors leaked (3 is ls's own)");
      // the start FIFO is gone once the container started
      assertEquals(Deno.readDirSync(paths.dir).some((e) => e.name === "start.fifo"), false);
    }),
});

Deno.test({
  name: "runtime: --user 1000:1000 runs without capabilities; workdir is created",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withLab(async (lab) => {
      const r = await runScript(
        lab,
        "user",
        "echo uid=$(id -u); echo gid=$(id -g); echo groups=$(id -G); echo cwd=$(pwd); grep -E '^Cap(Eff|Prm|Bnd)' /proc/self/status",
        { user: { uid: 1000, gid: 1000 }, workingDir: "/work/dir" },
      );
      assertEquals(field(r.stdout, "uid"), "1000");
      assertEquals(field(r.stdout, "gid"), "1000");
      assertEquals(field(r.stdout, "groups"), "1000");
      assertEquals(field(r.stdout, "cwd"), "/work/dir");
      assertEquals(field(r.stdout, "CapEff"), "0000000000000000");
      assertEquals(field(r.stdout, "CapPrm"), "0000000000000000");
      assertEquals(field(r.stdout, "CapBnd"), DOCKER_DEFAULT_MASK);
      assertEquals(r.exit, { code: 0, signal: null });
    }),
});

Deno.test({
  name: "runtime: volumes, read-only and read-write",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withLab(async (lab) => {
      Deno.mkdirSync(`${lab.base}/ro`);
      Deno.mkdirSync(`${lab.base}/rw`);
      Deno.writeTextFileSync(`${lab.base}/ro/seen`, "from host\n");
      Deno.writeTextFileSync(`${lab.base}/file.txt`, "a file\n");
      const volumes: VolumeMount[] = [
        { source: `${lab.base}/ro`, destination: "/data/ro", readOnly: true },
        { source: `${lab.base}/rw`, destination: "/data/rw", readOnly: false },
        { source: `${lab.base}/file.txt`, destination: "/etc/file.txt", readOnly: true },
      ];
      const r = await runScript(
        lab,
        "volumes",
        [
          "echo seen=$(cat /data/ro/seen)",
          "if touch /data/ro/x 2>/dev/null; then echo ro=writable; else echo ro=refused; fi",
          "echo written > /data/rw/out && echo rw=ok",
          "echo file=$(cat /etc/file.txt)",
        ].join("; "),
        { volumes },
      );
      assertEquals(field(r.stdout, "seen"), "from host");
      assertEquals(field(r.stdout, "ro"), "refused");
      assertEquals(field(r.stdout, "rw"), "ok");
      assertEquals(field(r.stdout, "file"), "a file");
      assertEquals(Deno.readTextFileSync(`${lab.base}/rw/out`), "written\n");
    }),
});

Deno.test({
  name: "runtime: start failures are reported by the shim (exit 1, clear message)",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withLab(async (lab) => {
      const cases: [string, string[], RegExp][] = [
        [
          "notfound",
          ["nosuchcommand", "x"],
          /stage two: command nosuchcommand: not found in the container's PATH/,
        ],
        [
          "nofile",
          ["/bin/nosuch"],
          /stage two: command \/bin\/nosuch: no such file in the container/,
        ],
        [
          "noexec",
          ["/bin/not-executable"],
          /stage two: command \/bin\/not-executable: permission denied/,
        ],
      ];
      for (const [name, command, expected] of cases) {
        const started = await start(lab, makeConfig(lab, name, { command }));
        const result = await started.done;
        assertEquals(started.shimCode, 1, name);
        assertEquals(started.notify, null);
        assertMatch(result.stderr, expected);
      }
      // A broken config: bad working directory is created, but a volume source that is missing is not.
      const started = await start(
        lab,
        makeConfig(lab, "badvolume", {
          volumes: [{ source: `${lab.base}/missing`, destination: "/x", readOnly: false }],
        }),
      );
      const result = await started.done;
      assertEquals(started.shimCode, 1);
      assertStringIncludes(result.stderr, "cannot start: mount step");
      assertStringIncludes(result.stderr, `${lab.base}/missing`);
    }),
});

Deno.test({
  name: "runtime: --init runs tini as PID 1; network host keeps the host's interfaces",
  ignore: ignore || (() => {
    try {
      Deno.statSync("/usr/bin/tini-static");
      return false;
    } catch {
      return true;
    }
  })(),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withLab(async (lab) => {
      const r = await runScript(
        lab,
        "init",
        "echo init=$(tr '\\0' ' ' < /proc/1/cmdline); echo me=$$; echo nets=$(ls /sys/class/net | wc -l); exit 7",
        { init: true, network: "host" },
      );
      assertStringIncludes(field(r.stdout, "init")!, "/dev/init -- /bin/sh -c");
      assert(field(r.stdout, "me") !== "1");
      const hostNets = [...Deno.readDirSync("/sys/class/net")].length;
      assertEquals(Number(field(r.stdout, "nets")), hostNets);
      assertEquals(r.exit, { code: 7, signal: null });
    }),
});

Deno.test({
  name: "runtime: exec enters a running container",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withLab(async (lab) => {
      Deno.mkdirSync(`${lab.base}/sync`);
      const started = await start(
        lab,
        makeConfig(lab, "exectarget", {
          command: ["/bin/sh", "-c", "while [ ! -e /sync/stop ]; do sleep 0.05; done; exit 5"],
          volumes: [{ source: `${lab.base}/sync`, destination: "/sync", readOnly: false }],
        }),
      );
      assertEquals(started.shimCode, 0);
      try {
        const child = spawnExecStage({
          pid: started.pid!,
          command: [
            "sh",
            "-c",
            "echo pid=$$; echo hostname=$(hostname); echo one=$(tr '\\0' ' ' < /proc/1/cmdline); echo uid=$(id -u); grep CapEff /proc/self/status; echo root=$(ls /sync)",
          ],
          env: ["PATH=/bin"],
          user: { uid: 0, gid: 0 },
          workingDir: "/sync",
          capabilities: [...DOCKER_DEFAULT_CAPABILITIES],
          noNewPrivileges: true,
        }, { stdin: "null", stdout: "piped", stderr: "piped" });
        const out = await child.output();
        const stdout = new TextDecoder().decode(out.stdout);
        assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
        assert(Number(field(stdout, "pid")) > 1);
        assertEquals(field(stdout, "hostname"), "testbox");
        assertStringIncludes(field(stdout, "one")!, "/bin/sh -c while");
        assertEquals(field(stdout, "CapEff"), DOCKER_DEFAULT_MASK);

        const missing = spawnExecStage({
          pid: started.pid!,
          command: ["nosuch"],
          env: ["PATH=/bin"],
          user: { uid: 0, gid: 0 },
          workingDir: "/",
          capabilities: [],
          noNewPrivileges: true,
        }, { stdin: "null", stdout: "piped", stderr: "piped" });
        const failed = await missing.output();
        assertEquals(failed.code, 127);
        assertStringIncludes(
          new TextDecoder().decode(failed.stderr),
          "not found in the container's PATH",
        );

        // with a terminal of the container's devpts: the command opens it as
        // fds 0-2, in a session of its own whose controlling terminal it is
        const pty = openPty(openInRoot(started.pid!, "/dev/pts/ptmx", O_RDWR | O_NOCTTY));
        assertMatch(pty.slavePath, /^\/dev\/pts\/\d+$/);
        const slave = openPtyPeer(pty.master);
        try {
          const withTty = spawnExecStage({
            pid: started.pid!,
            command: [
              "sh",
              "-c",
              "[ -t 0 ] && [ -t 1 ] && echo istty=yes; echo sid=$(cut -d' ' -f6,7 /proc/self/stat)",
            ],
            env: ["PATH=/bin"],
            user: { uid: 0, gid: 0 },
            workingDir: "/",
            terminal: pty.slavePath,
            capabilities: [],
            noNewPrivileges: true,
          }, { stdin: "null", stdout: "null", stderr: "null" });
          assertEquals((await withTty.status).code, 0);
          const output = readAvailable(pty.master);
          assertEquals(field(output, "istty"), "yes");
          const [sid, ttyNr] = field(output, "sid")!.split(" ");
          assert(Number(sid) > 1 && Number(ttyNr) !== 0, output);
        } finally {
          closeFd(slave);
          closePty(pty.master);
        }
      } finally {
        Deno.writeTextFileSync(`${lab.base}/sync/stop`, "");
      }
      const result = await started.done;
      assertEquals(result.exit, { code: 5, signal: null });
    }),
});

Deno.test({
  name:
    "runtime: --tty: a pty of the container's devpts, handed to the holder, is /dev/console and PID 1's controlling terminal",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withLab(async (lab) => {
      const config = makeConfig(lab, "tty", {
        tty: true,
        command: [
          "/bin/sh",
          "-c",
          "[ -t 0 ] && echo istty=$(tty); echo stat=$(cut -d' ' -f6,7 /proc/1/stat); " +
          "[ -c /dev/console ] && echo console=yes; stty size; exit 4",
        ],
      });
      // Play the terminal holder (runtime/terminal_holder.ts): take the master the shim sends.
      Deno.mkdirSync(containerPaths("tty", lab.root).dir, { recursive: true });
      const listener = listenUnix(containerPaths("tty", lab.root).terminalSocket);
      const handed = (async () => {
        const conn = await acceptAsync(listener);
        const message = await receiveAsync(conn);
        writeAll(conn, new Uint8Array([1]));
        closeFd(conn);
        return message!.fds[0];
      })();
      const started = await start(lab, config, undefined, { TSNSPAWN_TTY_SIZE: "33x77" });
      const master = await handed;
      // Hold a slave fd so the master never reads EIO; read after the exit.
      const slave = openPtyPeer(master);
      try {
        const result = await started.done;
        const output = readAvailable(master);
        assertEquals(started.shimCode, 0, result.stderr);
        assertEquals(result.exit, { code: 4, signal: null });
        // The container's own devpts: its first pty.
        assertEquals(field(output, "istty"), "/dev/console");
        const [session, ttyNr] = field(output, "stat")!.split(" ");
        assertEquals(session, "1");
        assert(Number(ttyNr) !== 0, "PID 1 has no controlling terminal");
        assertEquals(field(output, "console"), "yes");
        assertStringIncludes(output, "33 77");
      } finally {
        closeFd(slave);
        closePty(master);
        closeFd(listener);
      }
    }),
});

Deno.test({
  name: "runtime: cleanup records the exit, detaches stale mounts, removes --rm containers",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withLab(async (lab) => {
      const saved = { ...Deno.env.toObject() };
      const keep = makeConfig(lab, "keep", {});
      const gone = makeConfig(lab, "gone", { autoRemove: true });
      writeContainer(lab, keep);
      writeContainer(lab, gone);
      const keepPaths = containerPaths("keep", lab.root);
      mount("tmpfs", keepPaths.rootfs, "tmpfs", 0, null); // a stale mount
      try {
        Deno.env.set("TSNSPAWN_ROOT", lab.root);
        Deno.env.set("EXIT_CODE", "exited");
        Deno.env.set("EXIT_STATUS", "3");
        Deno.env.set("SERVICE_RESULT", "exit-code");
        assertEquals(await runCleanup("keep"), 0);
        assertEquals(await runCleanup("keep"), 0); // idempotent
        assertEquals(await runCleanup("gone"), 0);
        assertEquals(await runCleanup("gone"), 0); // already gone
        assertEquals(await runCleanup("never-existed"), 0);
      } finally {
        for (const key of ["TSNSPAWN_ROOT", "EXIT_CODE", "EXIT_STATUS", "SERVICE_RESULT"]) {
          if (key in saved) Deno.env.set(key, saved[key]);
          else Deno.env.delete(key);
        }
      }
      const record = JSON.parse(Deno.readTextFileSync(keepPaths.state));
      assertEquals(record.exitCode, "exited");
      assertEquals(record.exitStatus, "3");
      assertEquals(record.serviceResult, "exit-code");
      assert(!Number.isNaN(Date.parse(record.finishedAt)));
      assert(!Deno.readTextFileSync("/proc/self/mountinfo").includes(keepPaths.rootfs));
      assertEquals([...Deno.readDirSync(`${lab.root}/containers`)].map((e) => e.name), ["keep"]);
    }),
});

Deno.test({
  name: "runtime: an image of 200 layers mounts (lowerdir+ through the new mount API)",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withLab(async (lab) => {
      // 199 small layers above the busybox layer, each adding /layers/N; the
      // topmost also replaces /layers/0's content, to check the order. With
      // 64-hex-long directory names the classic mount data cannot hold them.
      const layers: string[] = [];
      for (let i = 1; i < 200; i++) {
        const dir = `${lab.base}/layers/${String(i).padStart(64, "0")}`;
        Deno.mkdirSync(`${dir}/layers`, { recursive: true });
        Deno.writeTextFileSync(`${dir}/layers/${i}`, `${i}\n`);
        layers.unshift(dir);
      }
      Deno.writeTextFileSync(`${layers[0]}/layers/0`, "top\n");
      Deno.mkdirSync(`${lab.layer}/layers`, { recursive: true });
      Deno.writeTextFileSync(`${lab.layer}/layers/0`, "bottom\n");
      const r = await runScript(
        lab,
        "many",
        "echo count=$(ls /layers | wc -l); echo zero=$(cat /layers/0); echo mid=$(cat /layers/100)",
        { lowerDirs: [...layers, lab.layer] },
      );
      assertEquals(field(r.stdout, "count"), "200");
      assertEquals(field(r.stdout, "zero"), "top");
      assertEquals(field(r.stdout, "mid"), "100");
    }),
});

/**
 * The escape and abuse battery: a root process inside a default container
 * tries ~45 things a container must not do (mount, unshare, keyrings,
 * ptrace, kexec, modules, reboot, swap, clocks, devices, raw sockets,
 * kernel files, the host's processes, files, network, cgroups, the pids and
 * memory limits, setuid binaries), each through a raw system call in
 * `probe.ts`, and each must be refused.
 *
 * A check that always says "refused" proves nothing, so each one also runs
 * once with the feature relaxed (`--cap-add`, `--security-opt
 * seccomp=unconfined`, `--privileged`, a higher limit, `--network host`,
 * `no-new-privileges=false`) or, for what no option relaxes (the PID and
 * mount namespaces, pivot_root), on the test host outside any container; the
 * relaxed outcome must differ. Kernel files this kernel does not have
 * (/proc/sysrq-trigger, /proc/kcore on 6.18 without CONFIG_PROC_KCORE) are
 * reported as absent rather than passed as refused.
 *
 * The probe is a Deno script: the host's deno binary, its libraries and the
 * probe are bind-mounted read-only into the busybox container (-v ...:ro),
 * so no C program of our own is needed and each check gets the exact errno.
 */
import { assert, assertEquals, assertNotEquals } from "@std/assert";
import {
  CoreHost,
  DENO,
  DENO_PROBE_VOLUMES as PROBE_VOLUMES,
  REPO,
  withCoreHost,
} from "../helpers.ts";
import { isRoot } from "../testhost.ts";

/** One check: what it expects by default and how to relax it. */
interface Check {
  /** Probe name (probe.ts). */
  name: string;
  /** What a refusal looks like (outcomes). */
  refused: string[];
  /** Options used for both runs (e.g. a pids limit). */
  base?: string[];
  /** Options of the relaxed run, or "host": run the probe outside any container. */
  relax: string[] | "host";
  /** Why it matters, for the failure message. */
  why: string;
}

const SYS_ADMIN = ["--cap-add", "SYS_ADMIN"];
const UNCONFINED = ["--security-opt", "seccomp=unconfined"];

/** The battery (tests/security/README in the module comment above). */
export const CHECKS: readonly Check[] = [
  { name: "mount", refused: ["EPERM"], relax: SYS_ADMIN, why: "mount a file system" },
  { name: "umount", refused: ["EPERM"], relax: SYS_ADMIN, why: "uncover what a mount hides" },
  { name: "mount-proc", refused: ["EPERM"], relax: SYS_ADMIN, why: "mount another procfs" },
  {
    name: "pivot-root",
    refused: ["EPERM"],
    relax: [...SYS_ADMIN, ...UNCONFINED],
    why: "change the root",
  },
  { name: "unshare", refused: ["EPERM"], relax: SYS_ADMIN, why: "make new namespaces" },
  { name: "setns", refused: ["EPERM"], relax: SYS_ADMIN, why: "enter namespaces" },
  { name: "sethostname", refused: ["EPERM"], relax: SYS_ADMIN, why: "change a hostname" },
  {
    name: "keyctl",
    refused: ["EPERM"],
    relax: UNCONFINED,
    why: "the kernel keyring is not namespaced",
  },
  {
    name: "add-key",
    refused: ["EPERM"],
    relax: UNCONFINED,
    why: "the kernel keyring is not namespaced",
  },
  {
    name: "ptrace",
    refused: ["EPERM"],
    relax: ["--cap-add", "SYS_PTRACE"],
    why: "trace another user's process",
  },
  {
    name: "kexec",
    refused: ["EPERM"],
    relax: ["--cap-add", "SYS_BOOT", ...UNCONFINED],
    why: "load a new kernel",
  },
  {
    name: "init-module",
    refused: ["EPERM"],
    relax: ["--cap-add", "SYS_MODULE"],
    why: "load a kernel module",
  },
  { name: "reboot", refused: ["EPERM"], relax: ["--cap-add", "SYS_BOOT"], why: "reboot" },
  { name: "swapon", refused: ["EPERM"], relax: [...SYS_ADMIN, ...UNCONFINED], why: "add swap" },
  {
    name: "clock-settime",
    refused: ["EPERM"],
    relax: ["--cap-add", "SYS_TIME"],
    why: "set the host's clock",
  },
  {
    name: "acct",
    refused: ["EPERM"],
    relax: ["--cap-add", "SYS_PACCT"],
    why: "process accounting",
  },
  {
    name: "syslog",
    refused: ["EPERM"],
    relax: ["--cap-add", "SYSLOG"],
    why: "read the kernel log",
  },
  {
    name: "mknod-block",
    refused: ["EPERM"],
    relax: ["--privileged"],
    why: "open a host block device",
  },
  { name: "dev-mem", refused: ["EPERM"], relax: ["--privileged"], why: "open /dev/mem" },
  {
    name: "raw-socket",
    refused: ["EPERM"],
    base: ["--cap-drop", "NET_RAW"],
    relax: ["--cap-add", "NET_RAW"],
    why: "raw sockets without NET_RAW",
  },
  {
    name: "vsock-socket",
    refused: ["EPERM"],
    relax: UNCONFINED,
    why: "AF_VSOCK reaches the hypervisor",
  },
  { name: "proc-sys-write", refused: ["EROFS"], relax: ["--privileged"], why: "write /proc/sys" },
  {
    name: "core-pattern-write",
    refused: ["EROFS"],
    relax: ["--privileged"],
    why: "core_pattern runs a host program",
  },
  { name: "sysrq-trigger", refused: ["EROFS"], relax: ["--privileged"], why: "magic SysRq" },
  { name: "sys-write", refused: ["EROFS"], relax: ["--privileged"], why: "write /sys" },
  { name: "kcore", refused: ["empty"], relax: ["--privileged"], why: "read the host's memory" },
  { name: "proc-keys", refused: ["masked"], relax: ["--privileged"], why: "/proc/keys lists keys" },
  {
    name: "timer-list",
    refused: ["masked"],
    relax: ["--privileged"],
    why: "/proc/timer_list leaks host tasks",
  },
  { name: "bpf", refused: ["EPERM"], relax: SYS_ADMIN, why: "load BPF programs" },
  {
    name: "perf-event-open",
    refused: ["EPERM"],
    relax: UNCONFINED,
    why: "perf events observe the host",
  },
  {
    name: "open-by-handle",
    refused: ["EPERM"],
    relax: ["--cap-add", "DAC_READ_SEARCH"],
    why: "shocker escape",
  },
  { name: "personality", refused: ["EPERM"], relax: UNCONFINED, why: "turn off ASLR" },
  { name: "io-uring", refused: ["EPERM"], relax: UNCONFINED, why: "io_uring bypasses seccomp" },
  { name: "host-processes", refused: ["hidden"], relax: "host", why: "see host processes" },
  { name: "host-files", refused: ["ENOENT"], relax: "host", why: "see host files" },
  { name: "proc-1-root", refused: ["ENOENT"], relax: "host", why: "escape through /proc/PID/root" },
  { name: "dotdot-after-pivot", refused: ["ENOENT"], relax: "host", why: "'..' above the root" },
  { name: "inherited-fds", refused: ["ENOENT"], relax: "host", why: "escape through an open fd" },
  { name: "chroot-escape", refused: ["ENOENT"], relax: "host", why: "chroot and climb out" },
  { name: "cgroup-escape", refused: ["EPERM"], relax: "host", why: "move to another cgroup" },
  {
    name: "host-network",
    refused: ["hidden"],
    relax: ["--network", "host"],
    why: "see the host's network",
  },
  {
    name: "fork-bomb",
    refused: ["EAGAIN"],
    base: ["--pids-limit", "40"],
    relax: ["--pids-limit", "1000"],
    why: "a fork bomb is held by the pids limit",
  },
  {
    name: "memory-hog",
    refused: ["SIGKILL"],
    base: ["--memory", "192m"],
    relax: ["--memory", "2g"],
    why: "a memory hog is held by the memory limit",
  },
  {
    name: "setuid-gain",
    refused: ["no-gain"],
    relax: ["--security-opt", "no-new-privileges=false"],
    why: "no_new_privs stops setuid binaries",
  },
];

/** Kernel files this kernel may lack: both runs say ENOENT. */
const MAYBE_ABSENT = new Set(["sysrq-trigger", "kcore"]);

interface Outcome {
  outcome: string;
  detail?: string;
}

/** Runs the probe's checks in one container with `options`. */
async function probeInContainer(
  core: CoreHost,
  options: string[],
  names: string[],
): Promise<Record<string, Outcome>> {
  const result = await core.tsn([
    "run",
    "--rm",
    ...PROBE_VOLUMES,
    ...options,
    "busybox",
    "/opt/deno",
    "run",
    "-A",
    "--no-config",
    "--quiet",
    "/probe/probe.ts",
    "all",
    ...names,
  ], { timeoutMs: 180_000 });
  const line = result.stdout.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line);
  } catch {
    throw new Error(
      `probe with ${options.join(" ")} exited ${result.code}:\n${result.stdout}\n${result.stderr}`,
    );
  }
}

/** Runs one check on the test host itself, with fd 7 open on / (an inherited directory fd). */
async function probeOnHost(core: CoreHost, name: string): Promise<Outcome> {
  const out = await core.shOk(
    `exec 7</; cd /tmp && ${DENO} run -A --no-config --quiet ${REPO}/tests/security/probe.ts one ${name}`,
  );
  return JSON.parse(out.trim().split("\n").pop()!);
}

/** Groups checks by their option list, so each distinct container runs once. */
function groupBy(
  entries: { name: string; options: string[] }[],
): Map<string, { options: string[]; names: string[] }> {
  const groups = new Map<string, { options: string[]; names: string[] }>();
  for (const e of entries) {
    const key = e.options.join(" ");
    const g = groups.get(key) ?? { options: e.options, names: [] };
    g.names.push(e.name);
    groups.set(key, g);
  }
  return groups;
}

Deno.test({
  name:
    "security battery: a root process in a default container is refused, and every check can fail",
  ignore: !isRoot(),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: (t) =>
    withCoreHost(async (core) => {
      assert(CHECKS.length >= 30, `${CHECKS.length} checks`);
      await core.shOk(
        "echo marker > /etc/tsnspawn-host-marker; ip link add tsnhostmark0 type bridge",
      );
      const hostname = (await core.shOk("hostname")).trim();

      const strict = groupBy(CHECKS.map((c) => ({ name: c.name, options: c.base ?? [] })));
      const relaxed = groupBy(
        CHECKS.filter((c) => c.relax !== "host").map((c) => ({
          name: c.name,
          options: [...(c.base ?? []), ...(c.relax as string[])],
        })),
      );
      const defaults: Record<string, Outcome> = {};
      const loose: Record<string, Outcome> = {};
      for (const g of strict.values()) {
        Object.assign(defaults, await probeInContainer(core, g.options, g.names));
      }
      for (const g of relaxed.values()) {
        Object.assign(loose, await probeInContainer(core, g.options, g.names));
      }
      for (
        const c of CHECKS.filter((c) => c.relax === "host")
      ) {
        loose[c.name] = await probeOnHost(core, c.name);
      }

      // Even with CAP_SYS_ADMIN the container only ever changed its own UTS namespace.
      assertEquals((await core.shOk("hostname")).trim(), hostname, "the host's hostname changed");
      await core.shOk("rm -f /etc/tsnspawn-host-marker; ip link del tsnhostmark0");

      for (const c of CHECKS) {
        await t.step(`${c.name}: ${c.why}`, () => {
          const got = defaults[c.name];
          const relaxedGot = loose[c.name];
          const label = c.relax === "host"
            ? "on the host"
            : `with ${[...(c.base ?? []), ...c.relax].join(" ")}`;
          if (MAYBE_ABSENT.has(c.name) && got?.outcome === "ENOENT") {
            // Honest: this kernel has no such file, so there is nothing to refuse or relax.
            assertEquals(
              relaxedGot?.outcome,
              "ENOENT",
              `${c.name} absent by default but present ${label}`,
            );
            console.log(
              `  ${c.name}: absent on this kernel (${Deno.osRelease()}), masked if present`,
            );
            return;
          }
          assert(
            c.refused.includes(got?.outcome),
            `${c.name} (${c.why}) was not refused: ${JSON.stringify(got)}, expected ${
              c.refused.join("|")
            }`,
          );
          assertNotEquals(
            relaxedGot?.outcome,
            got.outcome,
            `${c.name}: relaxed ${label} it still says ${
              JSON.stringify(relaxedGot)
            }: the check cannot fail`,
          );
        });
      }
    }),
});

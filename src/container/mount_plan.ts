/**
 * The container's filesystem as a plan: `planRootfs(config, paths)` turns a
 * ContainerConfig into the ordered lists of mount operations the shim and
 * stage two perform, as plain data (pure: no system access).
 * `src/runtime/apply_mounts.ts` executes them.
 *
 * Three lists, in this order:
 * - `beforePivot`: the shim builds the tree under the merged root (overlay,
 *   /dev, /sys, /etc files, volumes) in the container's mount namespace,
 *   while stage two boots (src/runtime/rootfs.ts);
 * - `procfs`: stage two mounts /proc, still before pivot_root: procfs shows
 *   the PID namespace of the process that mounts it, and stage two is PID 1
 *   of the container's (the shim is outside it);
 * - `afterPivot`: stage two masks and write-protects kernel files once /proc
 *   is the container's (inside the new root, after pivot_root).
 *
 * Paths: every `target`/`path` is a path IN THE CONTAINER ("/proc"). Before
 * pivot_root the applier resolves it under `root` (the merged root on the
 * host) without letting symlinks in the image escape; after pivot_root it is
 * used as is. `source`, `lowerDirs`, `upperDir`, `workDir` and `hostPath` are
 * host paths.
 *
 * Mount points are created by the applier when missing (directories for
 * filesystems and directory binds, empty files for file binds); creating one
 * in the image lands in the container's upper layer, as with docker.
 *
 * systemd mode (OS containers, config.systemd) adds what systemd needs to
 * boot without CAP_SYS_ADMIN, since it can mount nothing itself: tmpfs /run,
 * /run/lock, /tmp (exec allowed) and /var/log/journal (when the image has
 * none), /run/host/container-manager (systemd.io/CONTAINER_INTERFACE), the
 * container's own /etc/machine-id, a console pty of its own devpts on
 * /dev/console (without -t; with -t the terminal is the console), and its
 * cgroup subtree writable: a tmpfs /sys/fs/cgroup holding a bind of the
 * unit's cgroup in every hierarchy, read-write for name=systemd and the
 * unified one (cgroup v1 hybrid), read-only for the controllers, or one bind
 * of the unit's cgroup2 on v2 (the cgroup namespace makes each bind's root
 * "/" inside). The unit's cgroups are a runtime fact ({@link CgroupView}).
 *
 * References: the OCI runtime spec defaults (config-linux.md: default
 * filesystems and devices), moby's default masked/read-only paths
 * (oci/defaults.go), mount(2), overlayfs docs (filesystems/overlayfs.rst),
 * systemd.io/CONTAINER_INTERFACE, podman's setupSystemd (the tmpfs set).
 */
import type { ContainerConfig, MountFlag } from "./config.ts";
import { type ContainerPaths, networkPaths } from "../paths.ts";
import { dirname } from "../path_util.ts";

/** One step of the plan. `why` says what it is for (shown by --dry-run and in errors). */
export type MountOp =
  /** mount --make-rprivate /: nothing we mount propagates back to the host. */
  | { op: "makePrivate"; why: string }
  /** overlay of lowerDirs (topmost first) + upper/work, mounted as the container's root. */
  | { op: "overlay"; lowerDirs: string[]; upperDir: string; workDir: string; why: string }
  /**
   * bind mount of a host path; `targetKind` says what mount point to create
   * ("likeSource": a file if the source is not a directory).
   */
  | {
    op: "bind";
    source: string;
    target: string;
    recursive: boolean;
    targetKind: "dir" | "file" | "likeSource";
    why: string;
  }
  /**
   * MS_BIND|MS_REMOUNT|MS_RDONLY of an existing mount, keeping its nosuid/nodev/noexec;
   * `recursive`: every mount below it too (mount_setattr).
   */
  | { op: "remountReadOnly"; target: string; recursive?: boolean; why: string }
  /** tmpfs; `ifMissing`: only when nothing exists at `target` in the image (the mount point is made then). */
  | {
    op: "tmpfs";
    target: string;
    flags: MountFlag[];
    data: string;
    ifMissing?: boolean;
    why: string;
  }
  /** A file in the container (a path IN the container) with `content`, replacing what is there. */
  | { op: "writeFile"; path: string; content: string; mode: number; why: string }
  /**
   * A pty of the container's own devpts whose slave is bound here (the
   * console of an OS container without -t); the caller keeps the master.
   */
  | { op: "consolePty"; target: string; why: string }
  | { op: "proc"; target: string; flags: MountFlag[]; why: string }
  | { op: "sysfs"; target: string; flags: MountFlag[]; why: string }
  | { op: "devpts"; target: string; flags: MountFlag[]; data: string; why: string }
  | { op: "mqueue"; target: string; flags: MountFlag[]; why: string }
  /** mknod a character device, then chmod to `mode` (the umask would narrow it). */
  | { op: "mknod"; path: string; major: number; minor: number; mode: number; why: string }
  /** symlink `path` -> `linkTarget` (replacing nothing: skipped if `path` exists). */
  | { op: "symlink"; path: string; linkTarget: string; why: string }
  /** mkdir -p a directory in the container (e.g. the working directory). */
  | { op: "mkdir"; path: string; mode: number; why: string }
  /** Host file the container gets; written with `content`, or copied from `copyFrom`, if missing. */
  | { op: "ensureFile"; hostPath: string; content?: string; copyFrom?: string; why: string }
  /** Hide a kernel file or directory: /dev/null over files, a read-only tmpfs over directories. */
  | { op: "maskPath"; path: string; why: string }
  /** Bind a path onto itself and remount it read-only. Skipped if missing. */
  | { op: "readOnlyPath"; path: string; why: string }
  /**
   * `--privileged`: recreate every character and block device node of the
   * host's `/dev` (not pts/shm/mqueue) under `target`, same numbers and mode.
   */
  | { op: "hostDevices"; target: string; why: string }
  /**
   * A volume's copy-up: when the volume directory `source` (a host path) is
   * empty, copy what the image has at `target` into it (runtime/copy_up.ts).
   */
  | { op: "copyUp"; source: string; target: string; why: string };

/** What the shim and stage two do to the filesystem, in order. */
export interface RootfsPlan {
  /** The merged root on the host (the overlay's mount point and the new root). */
  root: string;
  /** The shim: host-side setup, in the container's mount namespace, before pivot_root. */
  beforePivot: MountOp[];
  /** Stage two, in the container's PID namespace, before pivot_root. */
  procfs: MountOp[];
  /** Inside the new root, after pivot_root and the old root's detach. */
  afterPivot: MountOp[];
}

/**
 * The unit's cgroups as the container is to see them (systemd mode): what
 * runtime/cgroups.ts finds at start. `entries` are the hierarchies below
 * /sys/fs/cgroup ("" = /sys/fs/cgroup itself is cgroup2: pure v2).
 */
export interface CgroupView {
  entries: {
    /** Name below /sys/fs/cgroup ("memory", "systemd", "unified"; "" = cgroup2 at /sys/fs/cgroup). */
    name: string;
    /** The unit's cgroup directory on the host (the bind source). */
    source: string;
    /** The container's systemd manages it (name=systemd, cgroup2); else read-only. */
    writable: boolean;
  }[];
  /** Symlinks of /sys/fs/cgroup ("cpu" -> "cpu,cpuacct"). */
  symlinks: { name: string; target: string }[];
}

/** Where the container's systemd sends sd_notify messages (read by the shim while it boots). */
export const BOOT_NOTIFY_SOCKET = "/run/host/notify";

/** Docker's default PATH when the image sets none. */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Where the host's tini lives (Debian package `tini`). */
export const HOST_TINI = "/usr/bin/tini-static";

/** Where `--init` puts tini in the container (like docker). */
export const CONTAINER_INIT = "/dev/init";

/** Kernel files hidden from the container (moby oci/defaults.go). */
export const MASKED_PATHS: readonly { path: string; why: string }[] = [
  { path: "/proc/acpi", why: "ACPI tables and controls of the host" },
  { path: "/proc/kcore", why: "the host's physical memory" },
  { path: "/proc/keys", why: "kernel keyrings of every namespace" },
  { path: "/proc/latency_stats", why: "host-wide latency tracing" },
  { path: "/proc/timer_list", why: "host timers, leaks addresses and tasks" },
  { path: "/proc/timer_stats", why: "host timer statistics" },
  { path: "/proc/sched_debug", why: "every host task and its scheduling" },
  { path: "/proc/scsi", why: "SCSI host controls" },
  { path: "/sys/firmware", why: "firmware tables (ACPI, EFI variables)" },
  { path: "/sys/devices/virtual/powercap", why: "energy counters (PLATYPUS side channel)" },
];

/** Kernel files the container may read but not write (moby oci/defaults.go). */
export const READONLY_PATHS: readonly { path: string; why: string }[] = [
  { path: "/proc/bus", why: "PCI/USB device configuration" },
  { path: "/proc/fs", why: "filesystem driver controls" },
  { path: "/proc/irq", why: "interrupt affinity of the host" },
  { path: "/proc/sys", why: "host sysctls (most are not namespaced)" },
  { path: "/proc/sysrq-trigger", why: "magic SysRq: reboot, crash the host" },
];

/**
 * Standard device nodes (OCI default devices). We mknod them on the
 * container's own /dev tmpfs instead of binding the host's: we are real root
 * in the initial user namespace so mknod works, the nodes do not depend on
 * the host's /dev, and their owner and mode are fixed (root, 0666). Access is
 * still governed by the devices cgroup of the unit.
 */
export const DEVICE_NODES: readonly {
  path: string;
  major: number;
  minor: number;
  why: string;
}[] = [
  { path: "/dev/null", major: 1, minor: 3, why: "discards writes" },
  { path: "/dev/zero", major: 1, minor: 5, why: "reads zeros" },
  { path: "/dev/full", major: 1, minor: 7, why: "writes fail with ENOSPC" },
  { path: "/dev/random", major: 1, minor: 8, why: "random bytes" },
  { path: "/dev/urandom", major: 1, minor: 9, why: "random bytes" },
  { path: "/dev/tty", major: 5, minor: 0, why: "the process's controlling terminal" },
];

/** Conventional /dev symlinks (OCI runtime spec). */
export const DEV_SYMLINKS: readonly { path: string; linkTarget: string; why: string }[] = [
  { path: "/dev/fd", linkTarget: "/proc/self/fd", why: "bash process substitution" },
  { path: "/dev/stdin", linkTarget: "/proc/self/fd/0", why: "standard input by name" },
  { path: "/dev/stdout", linkTarget: "/proc/self/fd/1", why: "standard output by name" },
  { path: "/dev/stderr", linkTarget: "/proc/self/fd/2", why: "standard error by name" },
  { path: "/dev/ptmx", linkTarget: "pts/ptmx", why: "the pty multiplexer of our devpts instance" },
];

/** The container's /etc/hosts when the CLI wrote none. */
export function defaultHosts(hostname: string): string {
  return [
    "127.0.0.1\tlocalhost",
    "::1\tlocalhost ip6-localhost ip6-loopback",
    `127.0.1.1\t${hostname}`,
    "",
  ].join("\n");
}

function depth(path: string): number {
  return path.split("/").filter((c) => c !== "").length;
}

/** The tmpfs mounts of systemd mode (podman's set; /tmp keeps exec, /var/log/journal only when absent). */
const SYSTEMD_TMPFS: readonly {
  destination: string;
  flags: MountFlag[];
  data: string;
  ifMissing?: boolean;
}[] = [
  { destination: "/run", flags: ["nosuid", "nodev"], data: "mode=755" },
  { destination: "/run/lock", flags: ["nosuid", "nodev", "noexec"], data: "mode=1777,size=5m" },
  { destination: "/tmp", flags: ["nosuid", "nodev"], data: "mode=1777" },
  {
    destination: "/var/log/journal",
    flags: ["nosuid", "nodev", "noexec"],
    data: "mode=2755",
    ifMissing: true,
  },
];

/** The cgroup part of systemd mode: the unit's subtree under /sys/fs/cgroup. */
function planCgroupMounts(view: CgroupView): MountOp[] {
  const ops: MountOp[] = [];
  const pureV2 = view.entries.find((e) => e.name === "");
  if (pureV2) {
    return [{
      op: "bind",
      source: pureV2.source,
      target: "/sys/fs/cgroup",
      recursive: false,
      targetKind: "dir",
      why: "the unit's cgroup2 subtree, the container's to manage (Delegate=yes)",
    }];
  }
  ops.push({
    op: "tmpfs",
    target: "/sys/fs/cgroup",
    flags: ["nosuid", "nodev", "noexec"],
    data: "mode=755",
    why: "cgroup v1 hybrid: one directory per hierarchy, as on the host",
  });
  for (const entry of view.entries) {
    const target = `/sys/fs/cgroup/${entry.name}`;
    ops.push({
      op: "bind",
      source: entry.source,
      target,
      recursive: false,
      targetKind: "dir",
      why: entry.writable
        ? `the unit's ${entry.name} cgroup subtree, the container's systemd's to manage`
        : `the unit's ${entry.name} cgroup, read-only (its limits are the host's)`,
    });
    if (!entry.writable) {
      ops.push({ op: "remountReadOnly", target, why: "controllers stay the host's" });
    }
  }
  for (const link of view.symlinks) {
    ops.push({
      op: "symlink",
      path: `/sys/fs/cgroup/${link.name}`,
      linkTarget: link.target,
      why: "the host's hierarchy aliases",
    });
  }
  ops.push({
    op: "remountReadOnly",
    target: "/sys/fs/cgroup",
    why: "the tmpfs itself is fixed; the binds below keep their own flags",
  });
  return ops;
}

/** The container's filesystem setup for `config`, in order. Pure. */
export function planRootfs(
  config: ContainerConfig,
  paths: ContainerPaths,
  cgroups?: CgroupView,
): RootfsPlan {
  const before: MountOp[] = [];
  const volumeTargets = new Set(config.volumes.map((v) => v.destination));
  const privileged = config.privileged === true;
  const tmpfsMounts = config.tmpfs ?? [];

  before.push(
    { op: "makePrivate", why: "no mount event may propagate back to the host" },
    {
      op: "overlay",
      lowerDirs: config.lowerDirs,
      upperDir: paths.upper,
      workDir: paths.work,
      why: "image layers read-only, container writes to its upper dir",
    },
    // Made while the root is writable (--read-only remounts it below).
    { op: "mkdir", path: "/proc", mode: 0o555, why: "mount point of the container's procfs" },
    {
      op: "tmpfs",
      target: "/dev",
      flags: ["nosuid", "strictatime"],
      data: "mode=755,size=65536k",
      why: "a private /dev: only the nodes we create (not nodev: it holds them)",
    },
    {
      op: "devpts",
      target: "/dev/pts",
      flags: ["nosuid", "noexec"],
      data: "newinstance,ptmxmode=0666,mode=0620,gid=5",
      why: "the container's own pty instance, not the host's ptys",
    },
    {
      op: "tmpfs",
      target: "/dev/shm",
      flags: ["nosuid", "nodev", "noexec"],
      data: `mode=1777,size=${
        config.shmSizeBytes !== undefined ? `${Math.ceil(config.shmSizeBytes / 1024)}k` : "65536k"
      }`,
      why: config.shmSizeBytes !== undefined
        ? "POSIX shared memory, --shm-size"
        : "POSIX shared memory, 64 MiB like docker",
    },
    {
      op: "mqueue",
      target: "/dev/mqueue",
      flags: ["nosuid", "nodev", "noexec"],
      why: "POSIX message queues of the container's IPC namespace",
    },
    privileged
      ? {
        op: "sysfs",
        target: "/sys",
        flags: ["nosuid", "nodev", "noexec"],
        why: "--privileged: read-write sysfs (it can reconfigure the host's devices)",
      }
      : {
        op: "sysfs",
        target: "/sys",
        flags: ["ro", "nosuid", "nodev", "noexec"],
        why: "read-only sysfs (shows the container's network namespace)",
      },
  );

  for (const node of DEVICE_NODES) {
    before.push({
      op: "mknod",
      path: node.path,
      major: node.major,
      minor: node.minor,
      mode: 0o666,
      why: node.why,
    });
  }
  if (privileged) {
    before.push({
      op: "hostDevices",
      target: "/dev",
      why: "--privileged: every host device, as docker gives (DevicePolicy=auto lets them open)",
    });
  }
  for (const link of DEV_SYMLINKS) {
    before.push({ op: "symlink", path: link.path, linkTarget: link.linkTarget, why: link.why });
  }
  // The terminal of -t (stage two makes it its stdin, stdout and stderr;
  // the terminal holder gets the master), or an OS container's console.
  if (config.tty || config.systemd) {
    before.push({
      op: "consolePty",
      target: "/dev/console",
      why: config.tty
        ? "the container's terminal, a pty of its own devpts (runc's console socket)"
        : "the console systemd writes to, a pty of the container's devpts",
    });
  }

  // Bridge mode: the network's shared hosts file (src/network/hosts_file.ts),
  // read-only: it names every container of the network, and one container
  // must not redirect another's names. Its state root is the container's.
  // With --add-host the container has a hosts file of its own: the
  // network's plus its lines, rewritten with the network's (network_store.ts).
  const hosts = config.network === "bridge" && config.bridge && config.extraHosts?.length
    ? {
      target: "/etc/hosts",
      hostPath: paths.hosts,
      content: defaultHosts(config.hostname),
      readOnly: true,
    }
    : config.network === "bridge" && config.bridge
    ? {
      target: "/etc/hosts",
      hostPath: networkPaths(config.bridge.network, dirname(dirname(paths.dir))).hosts,
      content: defaultHosts(config.hostname),
      readOnly: true,
    }
    : { target: "/etc/hosts", hostPath: paths.hosts, content: defaultHosts(config.hostname) };
  const etcFiles: {
    target: string;
    hostPath: string;
    content?: string;
    copyFrom?: string;
    readOnly?: boolean;
  }[] = [
    { target: "/etc/hostname", hostPath: paths.hostname, content: `${config.hostname}\n` },
    hosts,
    config.network === "host"
      ? { target: "/etc/resolv.conf", hostPath: paths.resolvConf, copyFrom: "/etc/resolv.conf" }
      : { target: "/etc/resolv.conf", hostPath: paths.resolvConf, content: "" },
  ];
  for (const file of etcFiles) {
    if (volumeTargets.has(file.target)) continue; // a -v onto it wins, like docker
    before.push(
      {
        op: "ensureFile",
        hostPath: file.hostPath,
        content: file.content,
        copyFrom: file.copyFrom,
        why: `the container's ${file.target}, kept outside the image`,
      },
      {
        op: "bind",
        source: file.hostPath,
        target: file.target,
        recursive: false,
        targetKind: "file",
        why: `${file.target} from the container's state dir`,
      },
    );
    if (file.readOnly) {
      before.push({
        op: "remountReadOnly",
        target: file.target,
        why: `${file.target} is shared by the network's containers`,
      });
    }
  }

  if (config.init) {
    before.push(
      {
        op: "bind",
        source: HOST_TINI,
        target: CONTAINER_INIT,
        recursive: false,
        targetKind: "file",
        why: "--init: tini reaps zombies and forwards signals as PID 1",
      },
      {
        op: "remountReadOnly",
        target: CONTAINER_INIT,
        why: "the container cannot alter the host's tini",
      },
    );
  }

  // --tz: the host's zone file as /etc/localtime, read-only (podman's --tz).
  if (config.timezone && !volumeTargets.has("/etc/localtime")) {
    before.push(
      {
        op: "bind",
        source: config.timezone === "local"
          ? "/etc/localtime"
          : `/usr/share/zoneinfo/${config.timezone}`,
        target: "/etc/localtime",
        recursive: false,
        targetKind: "file",
        why: `--tz ${config.timezone}`,
      },
      {
        op: "remountReadOnly",
        target: "/etc/localtime",
        why: "the host's zone file stays the host's",
      },
    );
  }

  // --read-only: /tmp and /run stay writable (podman's --read-only-tmpfs),
  // unless the user mounts something there. nosuid/nodev: a writable place
  // must not be where a setuid binary or a device node can be planted.
  const userTargets = new Set([...volumeTargets, ...tmpfsMounts.map((t) => t.destination)]);
  const tmpfsAll: (typeof tmpfsMounts[number] & { ifMissing?: boolean })[] = [...tmpfsMounts];
  if (config.systemd) {
    for (const tmpfs of SYSTEMD_TMPFS) {
      if (!userTargets.has(tmpfs.destination)) tmpfsAll.push({ ...tmpfs, flags: [...tmpfs.flags] });
    }
  }
  if (config.readOnlyRoot && config.readOnlyTmpfs !== false) {
    for (const [path, mode] of [["/tmp", "1777"], ["/run", "755"]]) {
      if (!userTargets.has(path) && !tmpfsAll.some((t) => t.destination === path)) {
        tmpfsAll.push({ destination: path, flags: ["nosuid", "nodev"], data: `mode=${mode}` });
      }
    }
  }

  // Parents before children: a volume at /a must not hide one at /a/b (nor a
  // tmpfs at /a a volume at /a/b). The sort is stable: same depth keeps order.
  type UserMount = { volume: ContainerConfig["volumes"][number] } | {
    tmpfs: (typeof tmpfsAll)[number];
  };
  const userMounts: UserMount[] = [
    ...config.volumes.map((volume) => ({ volume })),
    ...tmpfsAll.map((tmpfs) => ({ tmpfs })),
  ];
  const destinationOf = (m: UserMount) =>
    "volume" in m ? m.volume.destination : m.tmpfs.destination;
  userMounts.sort((a, b) => depth(destinationOf(a)) - depth(destinationOf(b)));
  for (const mount of userMounts) {
    if ("tmpfs" in mount) {
      before.push({
        op: "tmpfs",
        target: mount.tmpfs.destination,
        flags: mount.tmpfs.flags,
        data: mount.tmpfs.data,
        ...(mount.tmpfs.ifMissing ? { ifMissing: true } : {}),
        why: `tmpfs ${mount.tmpfs.destination}`,
      });
      continue;
    }
    const volume = mount.volume;
    if (volume.volume !== undefined && volume.copyUp !== false) {
      before.push({
        op: "copyUp",
        source: volume.source,
        target: volume.destination,
        why: `volume ${volume.volume}: the image's content, when the volume is empty`,
      });
    }
    before.push({
      op: "bind",
      source: volume.source,
      target: volume.destination,
      recursive: true,
      targetKind: "likeSource", // the plan is pure: the applier stats the source
      why: `volume ${volume.source}`,
    });
    if (volume.readOnly) {
      before.push({
        op: "remountReadOnly",
        target: volume.destination,
        recursive: true,
        why: "read-only volume, with every mount below its source",
      });
    }
  }

  if (config.systemd) {
    // After /run's tmpfs (ours, or a --tmpfs /run of the user's; create
    // refuses a volume there, which would put these files on the host).
    before.push({
      op: "writeFile",
      path: "/run/host/container-manager",
      content: "tsnspawn\n",
      mode: 0o444,
      why: "the container manager's name (systemd.io/CONTAINER_INTERFACE)",
    });
    // Each OS container its own machine id, whatever the image carries
    // (machine-id(5)). Written into its writable layer, not bound: systemd
    // would take a mount point for a transient id to commit, which needs a
    // mount namespace it cannot make (systemd-machine-id-commit.service).
    // commit, export and diff leave it out (container/init_layer.ts).
    before.push({
      op: "writeFile",
      path: "/etc/machine-id",
      content: `${config.id.slice(0, 32)}\n`,
      mode: 0o444,
      why: "the container's own machine id",
    });
    if (cgroups) before.push(...planCgroupMounts(cgroups));
  }

  // --sdnotify=container: the readiness relay's socket (runtime/notify_relay.ts)
  // at /run/notify/notify.sock, read-only (connecting needs no write); after
  // the tmpfs mounts, so a --read-only container's /run tmpfs does not hide it.
  if (config.sdnotify === "container") {
    before.push(
      {
        op: "bind",
        source: paths.notifyDir,
        target: "/run/notify",
        recursive: false,
        targetKind: "dir",
        why: "--sdnotify=container: $NOTIFY_SOCKET, relayed to systemd by the shim",
      },
      {
        op: "remountReadOnly",
        target: "/run/notify",
        why: "the container cannot replace the socket",
      },
    );
  }

  if (config.workingDir !== "/") {
    before.push({
      op: "mkdir",
      path: config.workingDir,
      mode: 0o755,
      why: "the working directory exists even if the image lacks it (like docker)",
    });
  }

  if (config.readOnlyRoot) {
    // Last: every mount point above was created in the upper layer first.
    // A bind remount changes this mount's flag only; the submounts (/proc,
    // /dev, volumes, tmpfs) keep theirs.
    before.push({ op: "remountReadOnly", target: "/", why: "--read-only root file system" });
  }

  // --privileged (docker): nothing masked, nothing read-only.
  const after: MountOp[] = privileged ? [] : [
    ...MASKED_PATHS.map((m): MountOp => ({ op: "maskPath", path: m.path, why: m.why })),
    ...READONLY_PATHS.map((r): MountOp => ({ op: "readOnlyPath", path: r.path, why: r.why })),
  ];

  const procfs: MountOp[] = [{
    op: "proc",
    target: "/proc",
    flags: ["nosuid", "nodev", "noexec"],
    why: "procfs of the container's PID namespace (stage two is its PID 1)",
  }];
  return { root: paths.rootfs, beforePivot: before, procfs, afterPivot: after };
}

/** The overlay mount options string for `lowerDirs`/`upperDir`/`workDir`. */
export function overlayOptions(
  lowerDirs: readonly string[],
  upperDir: string,
  workDir: string,
): string {
  return `lowerdir=${lowerDirs.join(":")},upperdir=${upperDir},workdir=${workDir}`;
}

/** One line per operation, for --dry-run and debugging. */
export function formatMountOp(op: MountOp): string {
  switch (op.op) {
    case "makePrivate":
      return "make-rprivate /";
    case "overlay":
      return `overlay / lower=${op.lowerDirs.join(":")} upper=${op.upperDir} work=${op.workDir}`;
    case "bind":
      return `bind${op.recursive ? " (rec)" : ""} ${op.source} -> ${op.target}`;
    case "remountReadOnly":
      return `remount ro${op.recursive ? " (rec)" : ""} ${op.target}`;
    case "tmpfs":
      return `tmpfs ${op.target} ${[...op.flags, op.data].join(",")}${
        op.ifMissing ? " (if missing)" : ""
      }`;
    case "devpts":
      return `${op.op} ${op.target} ${[...op.flags, op.data].join(",")}`;
    case "writeFile":
      return `write ${op.path}`;
    case "consolePty":
      return `console pty -> ${op.target}`;
    case "proc":
    case "sysfs":
    case "mqueue":
      return `${op.op} ${op.target} ${op.flags.join(",")}`;
    case "mknod":
      return `mknod ${op.path} c ${op.major} ${op.minor} ${op.mode.toString(8)}`;
    case "symlink":
      return `symlink ${op.path} -> ${op.linkTarget}`;
    case "mkdir":
      return `mkdir ${op.path}`;
    case "ensureFile":
      return `ensure ${op.hostPath}`;
    case "maskPath":
      return `mask ${op.path}`;
    case "readOnlyPath":
      return `read-only ${op.path}`;
    case "hostDevices":
      return `host devices -> ${op.target}`;
    case "copyUp":
      return `copy-up ${op.target} -> ${op.source}`;
  }
}

import { testContainerConfig } from "../testing/container_config.ts";
import { assert, assertEquals, assertThrows } from "@std/assert";
import type { ContainerConfig } from "./config.ts";
import { containerPaths } from "../paths.ts";
import {
  formatMountOp,
  MASKED_PATHS,
  type MountOp,
  overlayOptions,
  planRootfs,
  READONLY_PATHS,
} from "./mount_plan.ts";
import { overlayMountData, resolveInRoot } from "../runtime/apply_mounts.ts";

const paths = containerPaths("web", "/var/lib/tsnspawn");

function config(overrides: Partial<ContainerConfig> = {}): ContainerConfig {
  return testContainerConfig({
    image: "docker.io/library/alpine:latest",
    lowerDirs: ["/var/lib/tsnspawn/images/layers/2/diff", "/var/lib/tsnspawn/images/layers/1/diff"],
    command: ["/bin/sh"],
    ...overrides,
  });
}

/** The first op of kind `kind` matching `match`; fails the test if none. */
function pick<K extends MountOp["op"]>(
  ops: readonly MountOp[],
  kind: K,
  match: (op: Extract<MountOp, { op: K }>) => boolean = () => true,
): Extract<MountOp, { op: K }> {
  for (const op of ops) {
    if (op.op === kind && match(op as Extract<MountOp, { op: K }>)) {
      return op as Extract<MountOp, { op: K }>;
    }
  }
  throw new Error(`no ${kind} op`);
}

/** The target (or path) of each op, for order checks. */
function where(op: MountOp): string {
  switch (op.op) {
    case "makePrivate":
      return "(private)";
    case "overlay":
      return "/";
    case "ensureFile":
      return `host:${op.hostPath}`;
    case "mknod":
    case "symlink":
    case "mkdir":
    case "maskPath":
    case "readOnlyPath":
    case "writeFile":
      return op.path;
    default:
      return `${op.op}:${op.target}`;
  }
}

Deno.test("planRootfs: private first, then overlay, /dev before its children, /proc by stage two", () => {
  const plan = planRootfs(config(), paths);
  assertEquals(plan.root, paths.rootfs);
  const order = plan.beforePivot.map(where);
  assertEquals(order.slice(0, 9), [
    "(private)",
    "/",
    "/proc",
    "tmpfs:/dev",
    "devpts:/dev/pts",
    "tmpfs:/dev/shm",
    "mqueue:/dev/mqueue",
    "sysfs:/sys",
    "/dev/null",
  ]);
  const overlay = pick(plan.beforePivot, "overlay");
  assertEquals(overlay.lowerDirs, config().lowerDirs);
  assertEquals(overlay.upperDir, paths.upper);
  assertEquals(overlay.workDir, paths.work);
});

Deno.test("planRootfs: /dev, /sys and devpts have docker's flags", () => {
  const ops = planRootfs(config(), paths).beforePivot;
  const find = (target: string) => ops.find((o) => "target" in o && o.target === target)!;
  assertEquals(formatMountOp(find("/sys")), "sysfs /sys ro,nosuid,nodev,noexec");
  assertEquals(
    formatMountOp(find("/dev/pts")),
    "devpts /dev/pts nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5",
  );
  assertEquals(
    formatMountOp(find("/dev/shm")),
    "tmpfs /dev/shm nosuid,nodev,noexec,mode=1777,size=65536k",
  );
  assertEquals(formatMountOp(find("/dev")), "tmpfs /dev nosuid,strictatime,mode=755,size=65536k");
  assertEquals(
    planRootfs(config(), paths).procfs.map(formatMountOp),
    ["proc /proc nosuid,nodev,noexec"],
  );
});

Deno.test("planRootfs: standard device nodes and /dev symlinks", () => {
  const ops = planRootfs(config(), paths).beforePivot;
  const nodes = ops.filter((o) => o.op === "mknod").map((o) => formatMountOp(o));
  assertEquals(nodes, [
    "mknod /dev/null c 1 3 666",
    "mknod /dev/zero c 1 5 666",
    "mknod /dev/full c 1 7 666",
    "mknod /dev/random c 1 8 666",
    "mknod /dev/urandom c 1 9 666",
    "mknod /dev/tty c 5 0 666",
  ]);
  const links = ops.filter((o) => o.op === "symlink").map((o) => formatMountOp(o));
  assert(links.includes("symlink /dev/ptmx -> pts/ptmx"));
  assert(links.includes("symlink /dev/fd -> /proc/self/fd"));
  assert(links.includes("symlink /dev/stderr -> /proc/self/fd/2"));
});

Deno.test("planRootfs: masks and read-only paths come after pivot_root, and only there", () => {
  const plan = planRootfs(config(), paths);
  assertEquals(
    plan.afterPivot.filter((o) => o.op === "maskPath").map(where),
    MASKED_PATHS.map((m) => m.path),
  );
  assertEquals(
    plan.afterPivot.filter((o) => o.op === "readOnlyPath").map(where),
    READONLY_PATHS.map((m) => m.path),
  );
  for (
    const path of [
      "/proc/kcore",
      "/proc/keys",
      "/proc/timer_list",
      "/proc/sched_debug",
      "/sys/firmware",
      "/proc/acpi",
      "/proc/scsi",
    ]
  ) {
    assert(plan.afterPivot.some((o) => o.op === "maskPath" && o.path === path), path);
  }
  for (const path of ["/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs"]) {
    assert(plan.afterPivot.some((o) => o.op === "readOnlyPath" && o.path === path), path);
  }
  assert(!plan.beforePivot.some((o) => o.op === "maskPath" || o.op === "readOnlyPath"));
  assertEquals(plan.afterPivot.length, MASKED_PATHS.length + READONLY_PATHS.length);
});

Deno.test("planRootfs: /etc files are ensured then bound from the state dir", () => {
  const ops = planRootfs(config(), paths).beforePivot;
  const etc = ops.filter((o) =>
    (o.op === "bind" && o.target.startsWith("/etc/")) || o.op === "ensureFile"
  ).map((o) => formatMountOp(o));
  assertEquals(etc, [
    `ensure ${paths.hostname}`,
    `bind ${paths.hostname} -> /etc/hostname`,
    `ensure ${paths.hosts}`,
    `bind ${paths.hosts} -> /etc/hosts`,
    `ensure ${paths.resolvConf}`,
    `bind ${paths.resolvConf} -> /etc/resolv.conf`,
  ]);
  const hostname = pick(ops, "ensureFile", (o) => o.hostPath === paths.hostname);
  assertEquals(hostname.content, "aaaaaaaaaaaa\n");
  // network host: resolv.conf is the host's
  const host = planRootfs(config({ network: "host" }), paths).beforePivot;
  const resolv = pick(host, "ensureFile", (o) => o.hostPath === paths.resolvConf);
  assertEquals(resolv.copyFrom, "/etc/resolv.conf");
});

Deno.test("planRootfs: volumes bind recursively, parents first; read-only ones are remounted", () => {
  const ops = planRootfs(
    config({
      volumes: [
        { source: "/srv/a/b", destination: "/data/inner", readOnly: true },
        { source: "/srv/a", destination: "/data", readOnly: false },
        { source: "/srv/hosts", destination: "/etc/hosts", readOnly: true },
      ],
    }),
    paths,
  ).beforePivot;
  const volumeOps = ops.filter((o) =>
    (o.op === "bind" && o.why.startsWith("volume")) || o.op === "remountReadOnly"
  ).map((o) => formatMountOp(o));
  assertEquals(volumeOps, [
    "bind (rec) /srv/a -> /data",
    "bind (rec) /srv/a/b -> /data/inner",
    "remount ro (rec) /data/inner",
    "bind (rec) /srv/hosts -> /etc/hosts",
    "remount ro (rec) /etc/hosts",
  ]);
  // a volume onto /etc/hosts replaces tsnspawn's own file
  assert(!ops.some((o) => o.op === "bind" && o.source === paths.hosts));
  assert(ops.some((o) => o.op === "bind" && o.source === paths.hostname));
});

Deno.test("planRootfs: a pty of the container's devpts on /dev/console with -t or systemd", () => {
  for (const overrides of [{ tty: true }, { systemd: true }]) {
    const ops = planRootfs(config(overrides), paths).beforePivot;
    const at = ops.findIndex((o) => o.op === "consolePty" && o.target === "/dev/console");
    assert(at > ops.findIndex((o) => o.op === "devpts"), JSON.stringify(overrides));
  }
  const noTty = planRootfs(config(), paths).beforePivot;
  assert(!noTty.some((o) => "target" in o && o.target === "/dev/console"));
});

Deno.test("planRootfs systemd mode: tmpfs set, container manager, machine id, cgroup subtree", () => {
  const view = {
    entries: [
      { name: "memory", source: "/sys/fs/cgroup/memory/machine.slice/u.service", writable: false },
      { name: "systemd", source: "/sys/fs/cgroup/systemd/machine.slice/u.service", writable: true },
      { name: "unified", source: "/sys/fs/cgroup/unified/machine.slice/u.service", writable: true },
    ],
    symlinks: [{ name: "mem", target: "memory" }],
  };
  const ops = planRootfs(config({ systemd: true }), paths, view).beforePivot;
  const lines = ops.map(formatMountOp);
  const index = (line: string) => {
    const i = lines.indexOf(line);
    assert(i >= 0, `${line} in\n${lines.join("\n")}`);
    return i;
  };
  const run = index("tmpfs /run nosuid,nodev,mode=755");
  assert(index("tmpfs /run/lock nosuid,nodev,noexec,mode=1777,size=5m") > run);
  index("tmpfs /tmp nosuid,nodev,mode=1777");
  index("tmpfs /var/log/journal nosuid,nodev,noexec,mode=2755 (if missing)");
  assert(index("write /run/host/container-manager") > run);
  index("write /etc/machine-id");
  const cgroup = index("tmpfs /sys/fs/cgroup nosuid,nodev,noexec,mode=755");
  assert(
    index("bind /sys/fs/cgroup/systemd/machine.slice/u.service -> /sys/fs/cgroup/systemd") > cgroup,
  );
  index("bind /sys/fs/cgroup/unified/machine.slice/u.service -> /sys/fs/cgroup/unified");
  const memory = index(
    "bind /sys/fs/cgroup/memory/machine.slice/u.service -> /sys/fs/cgroup/memory",
  );
  assertEquals(lines[memory + 1], "remount ro /sys/fs/cgroup/memory");
  index("symlink /sys/fs/cgroup/mem -> memory");
  assertEquals(
    lines.filter((l) => l.startsWith("remount ro /sys/fs/cgroup")).at(-1),
    "remount ro /sys/fs/cgroup",
  );
  const manager = ops.find((o) => o.op === "writeFile" && o.path === "/run/host/container-manager");
  assertEquals(manager && "content" in manager ? manager.content : "", "tsnspawn\n");
  // Pure cgroup v2: one bind of the unit's subtree.
  const v2 = planRootfs(config({ systemd: true }), paths, {
    entries: [{ name: "", source: "/sys/fs/cgroup/machine.slice/u.service", writable: true }],
    symlinks: [],
  }).beforePivot.map(formatMountOp);
  assert(v2.includes("bind /sys/fs/cgroup/machine.slice/u.service -> /sys/fs/cgroup"));
  assert(!v2.some((l) => l.startsWith("tmpfs /sys/fs/cgroup")));
  // A user's --tmpfs /run wins; not an OS container: none of it.
  const own = planRootfs(
    config({ systemd: true, tmpfs: [{ destination: "/run", flags: [], data: "size=1m" }] }),
    paths,
  ).beforePivot.map(formatMountOp);
  assertEquals(own.filter((l) => l.startsWith("tmpfs /run ")), ["tmpfs /run size=1m"]);
  assert(!planRootfs(config(), paths).beforePivot.some((o) => o.op === "writeFile"));
});

Deno.test("planRootfs: --init binds tini read-only at /dev/init", () => {
  const ops = planRootfs(config({ init: true }), paths).beforePivot.map((o) => formatMountOp(o));
  const i = ops.indexOf("bind /usr/bin/tini-static -> /dev/init");
  assert(i > 0);
  assertEquals(ops[i + 1], "remount ro /dev/init");
  assert(ops.indexOf("tmpfs /dev nosuid,strictatime,mode=755,size=65536k") < i);
  assert(
    !planRootfs(config(), paths).beforePivot.some((o) => "target" in o && o.target === "/dev/init"),
  );
});

Deno.test("planRootfs: the working directory is created last, except /", () => {
  const ops = planRootfs(config({ workingDir: "/app/src" }), paths).beforePivot;
  assertEquals(formatMountOp(ops[ops.length - 1]), "mkdir /app/src");
  const mkdirs = planRootfs(config(), paths).beforePivot.filter((o) => o.op === "mkdir");
  assertEquals(mkdirs.map(formatMountOp), ["mkdir /proc"]);
});

Deno.test("overlayMountData: short options as is, long ones relative to a common parent", () => {
  const short = overlayMountData(["/l/1", "/l/2"], "/c/upper", "/c/work");
  assertEquals(short, { data: "lowerdir=/l/1:/l/2,upperdir=/c/upper,workdir=/c/work", cwd: null });
  const many = Array.from(
    { length: 45 },
    (_, i) => `/var/lib/tsnspawn/images/layers/${String(i).padStart(64, "0")}/diff`,
  );
  const long = overlayMountData(
    many,
    "/var/lib/tsnspawn/containers/x/upper",
    "/var/lib/tsnspawn/containers/x/work",
  );
  if (long === null) throw new Error("45 layers must fit in one page in the short form");
  assertEquals(long.cwd, "/var/lib/tsnspawn");
  assert(long.data.length <= 4095);
  assert(long.data.startsWith(`lowerdir=images/layers/${"0".repeat(64)}/diff:`));
  assert(long.data.endsWith(",upperdir=containers/x/upper,workdir=containers/x/work"));
  const tooMany = Array.from({ length: 400 }, (_, i) => `/l/${String(i).padStart(64, "0")}`);
  // Beyond a page even in short form: null, the runtime then uses lowerdir+ (new mount API).
  assertEquals(overlayMountData(tooMany, "/c/u", "/c/w"), null);
  assertEquals(overlayOptions(["/a"], "/u", "/w"), "lowerdir=/a,upperdir=/u,workdir=/w");
});

Deno.test("resolveInRoot: symlinks in the image cannot escape the root", () => {
  const root = Deno.makeTempDirSync();
  try {
    Deno.mkdirSync(`${root}/etc`);
    Deno.mkdirSync(`${root}/real`);
    Deno.symlinkSync("/etc/shadow", `${root}/etc/hosts`);
    Deno.symlinkSync("../../../../../tmp", `${root}/up`);
    Deno.symlinkSync("/real", `${root}/abs`);
    Deno.symlinkSync("loop", `${root}/loop`);
    assertEquals(resolveInRoot(root, "/etc/hosts"), `${root}/etc/shadow`);
    assertEquals(resolveInRoot(root, "/up/x"), `${root}/tmp/x`);
    assertEquals(resolveInRoot(root, "/abs/y"), `${root}/real/y`);
    assertEquals(resolveInRoot(root, "/../../z"), `${root}/z`);
    assertEquals(resolveInRoot(root, "/"), root);
    assertEquals(resolveInRoot(root, "/missing/a/../b"), `${root}/missing/b`);
    assertThrows(() => resolveInRoot(root, "/loop"));
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

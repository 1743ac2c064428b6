/**
 * Keeping the runtime out of the container's cgroup limits.
 *
 * The shim and stage two are Deno processes: ~10-20 MiB of memory and a
 * handful of threads each. Inside the unit's cgroup they would count
 * against the container's own MemoryMax=/TasksMax=, so `--memory 16m` or
 * `--pids-limit 10` would kill the runtime before the command ever ran. So,
 * as docker's shim does, the runtime works outside them:
 *
 *  1. the shim, started by systemd in the unit's cgroups, notes them and
 *     (when the container has limits: runtimeNeedsToLeave) moves itself to
 *     the root of every hierarchy (the root cgroup may hold
 *     processes on v1 and v2 alike); stage two, spawned after, is born there;
 *  2. stage two opens the unit's `cgroup.procs` files while the host's
 *     /sys/fs/cgroup is still visible (before pivot_root), and right before
 *     it announces itself to systemd it writes its PID into them, then
 *     unshares its cgroup namespace, so the container sees its unit's
 *     cgroup as its root (cgroup_namespaces(7)).
 *
 * Memory charged before the move stays with the old cgroup (charges do not
 * migrate: memory.move_charge_at_immigrate is 0, and v2 never moves them)
 * and is freed at execve; pids.max is checked at fork, not at migration.
 * So the limits apply exactly to the container's own processes.
 *
 * The unit's cgroup paths travel to stage two in $TSNSPAWN_CGROUPS.
 */
import { CLONE_NEWCGROUP, unshare } from "../../ffi/namespaces.ts";
import { closeFd, O_CLOEXEC, O_WRONLY, openFd, writeAll } from "../../ffi/fifo.ts";
import type { ResourceLimits } from "../container/config.ts";
import type { CgroupView } from "../container/mount_plan.ts";
import { TsnspawnError } from "../errors.ts";

/** The environment variable carrying the unit's cgroup paths to stage two. */
export const CGROUPS_ENV = "TSNSPAWN_CGROUPS";

/** A process's place in one cgroup hierarchy. */
export interface CgroupMembership {
  /** Absolute path of the hierarchy's mount point. */
  mount: string;
  /** Path of the cgroup below the mount point ("/" = the root). */
  path: string;
  /** A cgroup2 hierarchy (moves whole processes only; v1 also moves single threads). */
  unified?: boolean;
}

/** One line of /proc/PID/cgroup: "4:memory:/machine.slice/x.service". */
interface ProcCgroupLine {
  /** Controllers ("memory", "cpu,cpuacct", "name=systemd"); "" for cgroup2. */
  controllers: string;
  path: string;
}

function parseProcCgroup(text: string): ProcCgroupLine[] {
  const lines: ProcCgroupLine[] = [];
  for (const line of text.split("\n")) {
    const first = line.indexOf(":");
    const second = line.indexOf(":", first + 1);
    if (first < 0 || second < 0) continue;
    lines.push({ controllers: line.slice(first + 1, second), path: line.slice(second + 1) });
  }
  return lines;
}

/** cgroup and cgroup2 mounts from /proc/self/mountinfo: mount point → super options. */
function parseCgroupMounts(
  mountinfo: string,
): { point: string; type: string; options: string[] }[] {
  const mounts = [];
  for (const line of mountinfo.split("\n")) {
    const separator = line.indexOf(" - ");
    if (separator < 0) continue;
    const fields = line.slice(0, separator).split(" ");
    const [type, , superOptions] = line.slice(separator + 3).split(" ");
    if (type !== "cgroup" && type !== "cgroup2") continue;
    const point = fields[4].replace(/\\(\d{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
    mounts.push({ point, type, options: (superOptions ?? "").split(",") });
  }
  return mounts;
}

/**
 * Pairs each hierarchy of /proc/self/cgroup with a mount of it (PURE).
 * Hierarchies that are not mounted are skipped: nothing can move there.
 */
export function planMemberships(procCgroup: string, mountinfo: string): CgroupMembership[] {
  const mounts = parseCgroupMounts(mountinfo);
  const memberships: CgroupMembership[] = [];
  for (const { controllers, path } of parseProcCgroup(procCgroup)) {
    const mount = controllers === ""
      ? mounts.find((m) => m.type === "cgroup2")
      : mounts.find((m) =>
        m.type === "cgroup" && controllers.split(",").every((c) => m.options.includes(c))
      );
    if (mount) {
      memberships.push({
        mount: mount.point,
        path,
        ...(controllers === "" ? { unified: true } : {}),
      });
    }
  }
  return memberships;
}

/** Where the host mounts its cgroup hierarchies. */
const CGROUP_ROOT = "/sys/fs/cgroup";

/**
 * An OS container's view of its unit's cgroups (PURE): for each hierarchy
 * mounted under /sys/fs/cgroup, the unit's directory in it, read-write
 * where the container's systemd keeps its tree (name=systemd, cgroup2),
 * read-only for the controllers, whose limits are the host's. A v1
 * hierarchy where the unit has no cgroup of its own is left out (binding
 * an ancestor would show the host's tree). `symlinks` are the host's
 * aliases ("cpu" -> "cpu,cpuacct").
 */
export function planCgroupView(
  procCgroup: string,
  mountinfo: string,
  unit: string,
  symlinks: { name: string; target: string }[],
): CgroupView {
  const mounts = parseCgroupMounts(mountinfo);
  const entries: CgroupView["entries"] = [];
  for (const { controllers, path } of parseProcCgroup(procCgroup)) {
    const mount = controllers === ""
      ? mounts.find((m) => m.type === "cgroup2")
      : mounts.find((m) =>
        m.type === "cgroup" && controllers.split(",").every((c) => m.options.includes(c))
      );
    if (!mount) continue;
    let name: string;
    if (mount.point === CGROUP_ROOT) name = "";
    else if (mount.point.startsWith(CGROUP_ROOT + "/")) {
      name = mount.point.slice(CGROUP_ROOT.length + 1);
    } else continue;
    const writable = mount.type === "cgroup2" || mount.options.includes("name=systemd");
    if (!path.split("/").includes(unit)) {
      if (writable) {
        throw new TsnspawnError(
          "start-failed",
          `cgroup ${mount.point}: the unit ${unit} has no cgroup there`,
          {
            hint: "systemd places every unit in name=systemd and cgroup2; is this a systemd host?",
          },
        );
      }
      continue;
    }
    entries.push({ name, source: `${mount.point}${path === "/" ? "" : path}`, writable });
  }
  const names = new Set(entries.map((e) => e.name));
  return { entries, symlinks: symlinks.filter((l) => names.has(l.target)) };
}

/** The current process's unit cgroups as an OS container is to see them. */
export function currentCgroupView(unit: string): CgroupView {
  const symlinks: { name: string; target: string }[] = [];
  try {
    for (const entry of Deno.readDirSync(CGROUP_ROOT)) {
      if (entry.isSymlink) {
        symlinks.push({
          name: entry.name,
          target: Deno.readLinkSync(`${CGROUP_ROOT}/${entry.name}`),
        });
      }
    }
  } catch {
    // pure cgroup2: no aliases
  }
  return planCgroupView(
    Deno.readTextFileSync("/proc/self/cgroup"),
    Deno.readTextFileSync("/proc/self/mountinfo"),
    unit,
    symlinks,
  );
}

/** Where the calling process is now, in every mounted hierarchy. */
export function currentMemberships(): CgroupMembership[] {
  return planMemberships(
    Deno.readTextFileSync("/proc/self/cgroup"),
    Deno.readTextFileSync("/proc/self/mountinfo"),
  );
}

function procsFile({ mount, path }: CgroupMembership, file = "cgroup.procs"): string {
  return `${mount}${path === "/" ? "" : path}/${file}`;
}

/**
 * Shim: moves this process to the root of every hierarchy and returns where
 * it was (the unit's cgroups). Hierarchies that refuse are left as they are.
 */
export function leaveUnitCgroups(): CgroupMembership[] {
  const unit = currentMemberships();
  const pid = new TextEncoder().encode(String(Deno.pid));
  for (const membership of unit) {
    if (membership.path === "/") continue;
    try {
      Deno.writeFileSync(procsFile({ mount: membership.mount, path: "/" }), pid);
    } catch {
      // Stays in the unit's group there; the runtime then counts against it.
    }
  }
  return unit;
}

/** A prepared return into the unit's cgroups (stage two). */
export interface CgroupReturn {
  /** Writes our PID into the unit's cgroups, then unshares the cgroup namespace. */
  join(): void;
}

/**
 * Whether the runtime must work outside the unit's cgroups: only limits that
 * would bind it (memory, tasks, a CPU quota) make the moves worth their cost
 * (cgroup v1 migrations are slow, and there are many hierarchies).
 */
export function runtimeNeedsToLeave(resources: ResourceLimits, systemd = false): boolean {
  // An OS container's systemd manages its cgroup: the shim, which stays
  // while it boots, must not sit in its root (cgroup2 allows no process
  // there once controllers are enabled below).
  return systemd || resources.memoryMax !== undefined || resources.tasksMax !== undefined ||
    resources.cpuQuotaPerSecUSec !== undefined;
}

/**
 * Stage two, before pivot_root: opens the unit's cgroup.procs files from
 * $TSNSPAWN_CGROUPS (none when the shim stayed in them).
 */
export function prepareCgroupReturn(): CgroupReturn {
  const text = Deno.env.get(CGROUPS_ENV);
  const memberships = text ? JSON.parse(text) as CgroupMembership[] : [];
  const fds = memberships.filter((m) => m.path !== "/").map((m) =>
    openFd(procsFile(m), O_WRONLY | O_CLOEXEC)
  );
  return {
    join() {
      // "0" is the writing process itself.
      for (const fd of fds) {
        writeAll(fd, new TextEncoder().encode("0"));
        closeFd(fd);
      }
      // Always: the container's cgroup namespace is rooted at its unit's cgroups.
      unshare(CLONE_NEWCGROUP);
    },
  };
}

/** A prepared, temporary move of one thread into a running container's cgroups. */
export interface CgroupVisit {
  /**
   * Moves thread `tid` (default: the calling thread) into the container's
   * cgroups; on cgroup2, where threads do not move alone, its whole process.
   */
  enter(tid?: number): void;
  /** Moves the calling thread back to where it was, and closes the files. */
  leave(): void;
  /** Closes the files without moving anything. */
  close(): void;
}

/**
 * The exec stage: its child must be born in the container's cgroups (so
 * the limits hold from its first instruction, and a fork of it before any
 * move cannot escape them), but the exec stage itself, a Deno process with
 * a handful of threads, must not count against them while it waits. So only
 * the spawning thread visits: on cgroup v1 through `tasks` (one thread), on
 * cgroup2 through `cgroup.procs` (the whole process, for the moment of the
 * spawn; on a hybrid host that hierarchy holds no controllers).
 *
 * A migration on cgroup v1 waits for an RCU grace period the first time
 * (the threadgroup lock; ~15 ms here), later ones are quick. The CLI pays
 * it while the exec stage's Deno boots: it moves the stage's main thread
 * (its TID is its PID) right after spawning it; the stage's own enter()
 * then finds it there, and is what makes the move certain either way.
 *
 * Reads the container PID 1's cgroups (which must be `unit`'s: a PID that
 * ended and was reused meanwhile is refused) and ours, and opens both
 * sides' files now, while the host's /proc and /sys are what we see; the
 * writes later need no path. Hierarchies where we already are in its
 * cgroup are skipped.
 */
export function prepareCgroupVisit(containerPid: number, unit?: string): CgroupVisit {
  const mountinfo = Deno.readTextFileSync("/proc/self/mountinfo");
  const theirs = planMemberships(Deno.readTextFileSync(`/proc/${containerPid}/cgroup`), mountinfo);
  if (unit !== undefined && !theirs.some((m) => m.path.split("/").includes(unit))) {
    throw new TsnspawnError("not-found", `process ${containerPid}: not in ${unit}`, {
      hint: "the container stopped meanwhile; is it running?",
    });
  }
  const ours = planMemberships(Deno.readTextFileSync("/proc/self/cgroup"), mountinfo);
  const into: number[] = [];
  const back: number[] = [];
  const close = () => [...into, ...back].forEach(closeFd);
  try {
    for (const target of theirs) {
      const own = ours.find((m) => m.mount === target.mount);
      if (!own || own.path === target.path) continue;
      const file = target.unified ? "cgroup.procs" : "tasks";
      into.push(openFd(procsFile(target, file), O_WRONLY | O_CLOEXEC));
      back.push(openFd(procsFile(own, file), O_WRONLY | O_CLOEXEC));
    }
  } catch (error) {
    close();
    throw error;
  }
  const encode = (id: number) => new TextEncoder().encode(String(id));
  return {
    // "0": the writing thread (tasks) or process (cgroup.procs).
    enter(tid = 0) {
      for (const fd of into) writeAll(fd, encode(tid));
    },
    leave() {
      for (const fd of back) writeAll(fd, encode(0));
      close();
    },
    close,
  };
}

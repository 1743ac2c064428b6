/**
 * Where tsnspawn keeps its state. One root (default `/var/lib/tsnspawn`,
 * overridable with `TSNSPAWN_ROOT` so tests can point it elsewhere); every
 * path is derived here and nowhere else. Names must be validated before they
 * reach these functions.
 *
 * Layout:
 *   <root>/containers/<name>/config.json   ContainerConfig (atomic write)
 *   <root>/containers/<name>/state.json    last exit etc. (written by cleanup)
 *   <root>/containers/<name>/lock          flock per container
 *   <root>/containers/<name>/upper, work   the writable layer (overlay upper/work)
 *   <root>/containers/<name>/rootfs        mount point of the merged root (inside the container's mount ns only)
 *   <root>/containers/<name>/etc/{hostname,hosts,resolv.conf}  "init layer", bind-mounted
 *   <root>/containers/<name>/tty.sock       the terminal holder's socket (-t containers)
 *   <root>/containers/<name>/declared.json  digest of the .container file it was made from (declared containers)
 *   <root>/containers/<name>/seccomp.bpf    the seccomp program, compiled by the shim at each start (runtime/seccomp_program.ts)
 *   <root>/containers/<name>/scope          while an attached --rm run holds it in a scope: its PID 1 (runtime/attached.ts)
 *   <root>/images/...                       image store (see src/image/store.ts)
 *   <root>/tmp                              temp dirs, same filesystem, for rename()
 *   <root>/networks/lock                    flock: network create/rm (exclusive), published-port checks
 *   <root>/networks/<net>/config.json       NetworkConfig (subnet, bridge name, segment size)
 *   <root>/networks/<net>/leases.json       address leases of the network (written under <net>/lock)
 *   <root>/networks/<net>/hosts             /etc/hosts of every container on it (bind-mounted read-only, rewritten in place)
 *   <root>/networks/<net>/lock              flock: leases, hosts file, bridge creation
 *   <root>/volumes/lock                     flock: volume create/rm against containers taking them (src/volume/store.ts)
 *   <root>/volumes/<vol>/volume.json        VolumeConfig (labels, driver options, anonymous)
 *   <root>/volumes/<vol>/_data              the volume's content (bind-mounted into containers)
 *   <root>/volumes/<vol>/lock               flock: mounting a device-backed volume, copy-up
 *   <root>/containers/<name>/health.json    health check state (src/health/state.ts)
 *   <root>/containers/<name>/healthcheck.interval  the health timer's interval, read by the unit's ExecStartPre
 *   <root>/containers/<name>/notify/        --sdnotify: the readiness relay socket (bound at /run/notify in the container)
 *
 * Declared containers (src/systemd/container_unit.ts):
 *   /etc/tsnspawn/<name>.container          the declaration (`TSNSPAWN_CONFIG_DIR` overrides the dir)
 *   /etc/tsnspawn/enabled/<name>.container  symlink to ../<name>.container: started at boot (`tsnspawn enable`)
 */
import { join } from "./path_util.ts";

/** The state root. */
export function stateRoot(): string {
  return Deno.env.get("TSNSPAWN_ROOT") ?? "/var/lib/tsnspawn";
}

/** Directory holding all containers. */
export function containersDir(root = stateRoot()): string {
  return join(root, "containers");
}

/** Paths of one container. */
export interface ContainerPaths {
  dir: string;
  config: string;
  state: string;
  lock: string;
  upper: string;
  work: string;
  rootfs: string;
  etc: string;
  hostname: string;
  hosts: string;
  resolvConf: string;
  /** The terminal holder's socket of a -t container (runtime/terminal_holder.ts). */
  terminalSocket: string;
  /** Stage two reports start errors through this FIFO (crun-style). */
  startPipe: string;
  /** The shim tells stage two "root file system (and network) ready" through this FIFO. */
  setupPipe: string;
  /** A declared container: the digest of the declaration it was made from. */
  declared: string;
  /** Health check state (src/health/state.ts). */
  health: string;
  /** The health timer's interval (`30s`), read by the unit's ExecStartPre (src/health/timer.ts). */
  healthInterval: string;
  /** --sdnotify: the directory of the readiness relay socket (src/runtime/notify_relay.ts). */
  notifyDir: string;
  /**
   * While an attached `run --rm` runs the container in a transient scope
   * (src/runtime/attached.ts): the host PID of its PID 1 (a scope has no
   * MainPID); the unit is then `tsnspawn-<name>.scope`.
   */
  scope: string;
  /** The seccomp program the shim compiled for stage two (runtime/seccomp_program.ts). */
  seccomp: string;
}

/** Paths of the container called `name` (already validated). */
export function containerPaths(name: string, root = stateRoot()): ContainerPaths {
  return containerPathsAt(join(containersDir(root), name));
}

/** Paths of a container whose directory is `dir` (also used while staging). */
export function containerPathsAt(dir: string): ContainerPaths {
  const etc = join(dir, "etc");
  return {
    dir,
    config: join(dir, "config.json"),
    state: join(dir, "state.json"),
    lock: join(dir, "lock"),
    upper: join(dir, "upper"),
    work: join(dir, "work"),
    rootfs: join(dir, "rootfs"),
    etc,
    hostname: join(etc, "hostname"),
    hosts: join(etc, "hosts"),
    resolvConf: join(etc, "resolv.conf"),
    terminalSocket: join(dir, "tty.sock"),
    startPipe: join(dir, "start.fifo"),
    setupPipe: join(dir, "setup.fifo"),
    declared: join(dir, "declared.json"),
    health: join(dir, "health.json"),
    healthInterval: join(dir, "healthcheck.interval"),
    notifyDir: join(dir, "notify"),
    scope: join(dir, "scope"),
    seccomp: join(dir, "seccomp.bpf"),
  };
}

/** Directory of the image store. */
export function imagesDir(root = stateRoot()): string {
  return join(root, "images");
}

/** Scratch space on the same filesystem as the store (for atomic renames). */
export function tmpDir(root = stateRoot()): string {
  return join(root, "tmp");
}

/** The transient scope of a container run attached with --rm (src/runtime/attached.ts). */
export function scopeUnitName(name: string): string {
  return `tsnspawn-${name}.scope`;
}

/** The systemd unit name of a container. */
export function unitName(name: string): string {
  return `tsnspawn-${name}.service`;
}

/** Directory holding all networks. */
export function networksDir(root = stateRoot()): string {
  return join(root, "networks");
}

/** The lock serializing network create/rm and published-port checks. */
export function networksLock(root = stateRoot()): string {
  return join(networksDir(root), "lock");
}

/** Paths of one network. */
export interface NetworkPaths {
  dir: string;
  config: string;
  leases: string;
  hosts: string;
  lock: string;
}

/** Paths of the network called `name` (already validated). */
export function networkPaths(name: string, root = stateRoot()): NetworkPaths {
  const dir = join(networksDir(root), name);
  return {
    dir,
    config: join(dir, "config.json"),
    leases: join(dir, "leases.json"),
    hosts: join(dir, "hosts"),
    lock: join(dir, "lock"),
  };
}

/** Directory holding all named and anonymous volumes. */
export function volumesDir(root = stateRoot()): string {
  return join(root, "volumes");
}

/** The lock serializing volume create/rm against the containers that take volumes. */
export function volumesLock(root = stateRoot()): string {
  return join(volumesDir(root), "lock");
}

/** Paths of one volume. */
export interface VolumePaths {
  dir: string;
  config: string;
  /** The content, bind-mounted into containers (and the mount point of a device). */
  data: string;
  lock: string;
}

/** Paths of the volume called `name` (already validated). */
export function volumePaths(name: string, root = stateRoot()): VolumePaths {
  return volumePathsAt(join(volumesDir(root), name));
}

/** Paths of a volume whose directory is `dir` (also used while staging). */
export function volumePathsAt(dir: string): VolumePaths {
  return {
    dir,
    config: join(dir, "volume.json"),
    data: join(dir, "_data"),
    lock: join(dir, "lock"),
  };
}

/** Directory of declared containers (`<name>.container` files). */
export function declaredDir(): string {
  return Deno.env.get("TSNSPAWN_CONFIG_DIR") ?? "/etc/tsnspawn";
}

/** The declaration file of the container called `name` (already validated). */
export function declaredFile(name: string, dir = declaredDir()): string {
  return join(dir, `${name}.container`);
}

/**
 * The mark of an enabled declared container: a symlink to its file in
 * `<declared dir>/enabled/`. The generator hooks enabled containers into
 * their `[Install]` targets; keeping the mark beside the declarations (not in
 * /etc/systemd/system) makes it one piece of configuration with them.
 */
export function enabledMark(name: string, dir = declaredDir()): string {
  return join(dir, "enabled", `${name}.container`);
}

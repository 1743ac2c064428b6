/**
 * The keys of declared files (pure): one table per section, with
 * podman-systemd.unit(5)'s names. Every key quadlet knows is here, either
 * with what it becomes in tsnspawn, or in an "unsupported" table with the
 * reason (a file using one is refused with that reason, never silently
 * changed). `tsnspawn validate` reports keys in neither table as unknown.
 *
 * Value shapes:
 * - `value`: one value, the last assignment wins; empty = unset
 * - `list`: one item per assignment; an empty assignment resets the list
 * - `words`: quoted words (like `Environment=`), several per assignment; empty resets
 * - `flag`: a systemd boolean (yes/no/true/false/1/0/on/off)
 * - `argv`: quoted words replacing the previous assignment (Exec=)
 */

/** How a key's value is read (module comment). */
export type KeyShape = "value" | "list" | "words" | "flag" | "argv";

/** A supported key of `[Container]`. */
export interface ContainerKey {
  shape: KeyShape;
  /**
   * The `create` option it becomes (long name), "IMAGE"/"COMMAND" for the
   * positionals, or "" when the conversion treats it itself (container.ts).
   */
  option: string;
  /** The value is a host path: absolute, or relative to the file's directory. */
  hostPath?: boolean;
  /** One line for help and validate. */
  help: string;
}

/** The `[Container]` keys tsnspawn supports (podman-systemd.unit(5), and CPUs=, a tsnspawn key). */
export const CONTAINER_KEYS: Readonly<Record<string, ContainerKey>> = {
  AddCapability: {
    shape: "words",
    option: "cap-add",
    help: "capabilities to add (CAP_NET_ADMIN ... or ALL)",
  },
  AddHost: { shape: "list", option: "add-host", help: "NAME:ADDRESS line added to /etc/hosts" },
  Annotation: {
    shape: "words",
    option: "annotation",
    help: "KEY=VALUE ... stored with the container",
  },
  AutoUpdate: {
    shape: "value",
    option: "",
    help: "registry or local: updated by 'tsnspawn auto-update'",
  },
  ContainerName: {
    shape: "value",
    option: "",
    help: "the container's name (default: the file's); its unit follows it",
  },
  CPUs: {
    shape: "value",
    option: "cpus",
    help: "CPU limit in CPUs, e.g. 1.5 (CPUQuota=; a tsnspawn key)",
  },
  DNS: { shape: "list", option: "dns", help: "DNS server in resolv.conf" },
  DNSOption: { shape: "list", option: "dns-option", help: "resolv.conf option, e.g. ndots:2" },
  DNSSearch: { shape: "list", option: "dns-search", help: "DNS search domain ('.' = none)" },
  DropCapability: {
    shape: "words",
    option: "cap-drop",
    help: "capabilities to drop (CAP_CHOWN ... or ALL)",
  },
  Entrypoint: {
    shape: "value",
    option: "",
    help: 'program replacing the image\'s entrypoint; empty = none; JSON ["a","b"] = several words',
  },
  Environment: {
    shape: "words",
    option: "env",
    help: "KEY=VALUE ..., quoted like systemd's Environment=",
  },
  EnvironmentFile: {
    shape: "list",
    option: "env-file",
    hostPath: true,
    help: "file of KEY=VALUE lines (relative to this file's directory)",
  },
  EnvironmentHost: {
    shape: "flag",
    option: "env-host",
    help: "start from the environment of the unit's ExecStartPre",
  },
  Exec: {
    shape: "argv",
    option: "COMMAND",
    help: "command and arguments, quoted like ExecStart= (default: the image's)",
  },
  ExposeHostPort: {
    shape: "list",
    option: "expose",
    help: "PORT[-PORT][/PROTO] the container listens on (recorded)",
  },
  Group: { shape: "value", option: "", help: "group (name or number) to run as; needs User=" },
  HealthCmd: {
    shape: "value",
    option: "health-cmd",
    help: "health check command (JSON array = exec form; none = off)",
  },
  HealthInterval: {
    shape: "value",
    option: "health-interval",
    help: "time between health checks (default 30s; disable = none)",
  },
  HealthLogDestination: {
    shape: "value",
    option: "",
    help: "local (the only one: health.json in the container's directory)",
  },
  HealthMaxLogCount: {
    shape: "value",
    option: "health-max-log-count",
    help: "health check results kept (default 5)",
  },
  HealthMaxLogSize: {
    shape: "value",
    option: "health-max-log-size",
    help: "characters of output kept per result (default 500)",
  },
  HealthOnFailure: {
    shape: "value",
    option: "health-on-failure",
    help: "none, kill, restart or stop when unhealthy",
  },
  HealthRetries: {
    shape: "value",
    option: "health-retries",
    help: "consecutive failures before unhealthy (default 3)",
  },
  HealthStartPeriod: {
    shape: "value",
    option: "health-start-period",
    help: "failures during this time after start do not count",
  },
  HealthTimeout: {
    shape: "value",
    option: "health-timeout",
    help: "a health check running longer fails (default 30s)",
  },
  HostName: { shape: "value", option: "hostname", help: "hostname of the container" },
  HttpProxy: {
    shape: "flag",
    option: "",
    help: "false (tsnspawn never passes proxy variables into a container)",
  },
  Image: {
    shape: "value",
    option: "IMAGE",
    help: "image to run, or NAME.image / NAME.build of a declared file",
  },
  Label: { shape: "words", option: "label", help: "KEY=VALUE ... labels of the container" },
  LogDriver: { shape: "value", option: "", help: "journald (the only one: the unit's journal)" },
  Memory: { shape: "value", option: "memory", help: "memory limit, e.g. 512m (MemoryMax=)" },
  Mount: {
    shape: "list",
    option: "mount",
    help: "type=bind|volume|tmpfs,... (source=NAME.volume works)",
  },
  Network: {
    shape: "list",
    option: "network",
    help: "bridge, none, host, a network's name, or NAME.network",
  },
  NoNewPrivileges: {
    shape: "flag",
    option: "",
    help: "no_new_privs (tsnspawn's default is on; false turns it off)",
  },
  Notify: {
    shape: "value",
    option: "",
    help: "true: the container's READY=1 makes the unit started; healthy: its first passing check",
  },
  PidsLimit: {
    shape: "value",
    option: "pids-limit",
    help: "maximum number of tasks, -1 for unlimited (TasksMax=)",
  },
  PublishPort: {
    shape: "list",
    option: "publish",
    help: "[IP:][HOST:]CTR[/udp] port published on the host (bridge networks)",
  },
  Pull: {
    shape: "value",
    option: "pull",
    help: "when to pull the image: missing (default), always or never",
  },
  ReadOnly: { shape: "flag", option: "read-only", help: "read-only root file system" },
  ReadOnlyTmpfs: {
    shape: "flag",
    option: "",
    help: "with ReadOnly=: writable tmpfs on /tmp and /run (default true)",
  },
  ReloadCmd: {
    shape: "argv",
    option: "",
    help: "systemctl reload runs it in the container (ExecReload=)",
  },
  ReloadSignal: {
    shape: "value",
    option: "",
    help: "systemctl reload sends it to the container (ExecReload=)",
  },
  Rootfs: {
    shape: "value",
    option: "rootfs",
    hostPath: true,
    help: "root file system directory to run instead of an image",
  },
  RunInit: { shape: "flag", option: "init", help: "run a reaping init (tini) as PID 1" },
  SeccompProfile: {
    shape: "value",
    option: "",
    help: "unconfined, or a docker seccomp profile (JSON file)",
  },
  SecurityLabelDisable: {
    shape: "flag",
    option: "",
    help: "true: accepted, nothing to do (SELinux is not used)",
  },
  ShmSize: { shape: "value", option: "shm-size", help: "size of /dev/shm (default 64m)" },
  StopSignal: {
    shape: "value",
    option: "stop-signal",
    help: "signal that stops the container (default: the image's, or SIGTERM)",
  },
  StopTimeout: {
    shape: "value",
    option: "stop-timeout",
    help: "seconds between the stop signal and SIGKILL (default 10)",
  },
  Sysctl: { shape: "words", option: "sysctl", help: "NAME=VALUE ... namespaced kernel parameters" },
  Timezone: { shape: "value", option: "tz", help: "local, or a zone like Europe/Berlin" },
  Tmpfs: { shape: "list", option: "tmpfs", help: "PATH[:OPTS] tmpfs mount in the container" },
  Ulimit: { shape: "list", option: "ulimit", help: "NAME=SOFT[:HARD], e.g. nofile=1024:4096" },
  User: { shape: "value", option: "", help: "user (name or number) to run as" },
  VolatileTmp: {
    shape: "flag",
    option: "",
    help: "a tmpfs on /tmp (deprecated by quadlet: use Tmpfs=/tmp)",
  },
  Volume: {
    shape: "list",
    option: "volume",
    help: "HOST:CTR[:ro], NAME:CTR, NAME.volume:CTR or CTR (anonymous)",
  },
  WorkingDir: { shape: "value", option: "workdir", help: "working directory in the container" },
};

/** Reasons shared by several keys. */
const NO_USERNS = "tsnspawn has no user namespaces yet (README: Security)";
const PODMAN_ONLY = "it passes arguments to podman itself";
const NO_SELINUX = "tsnspawn does not use SELinux or AppArmor";

/** The `[Container]` keys quadlet has and tsnspawn does not, with the reason. */
export const UNSUPPORTED_CONTAINER_KEYS: Readonly<Record<string, string>> = {
  AddDevice:
    "tsnspawn passes no single device into a container (only --privileged gives the host's)",
  AppArmor: NO_SELINUX,
  CgroupsMode: "a container always runs in its own unit's cgroup (podman's split)",
  ContainersConfModule: "tsnspawn does not read containers.conf",
  GIDMap: NO_USERNS,
  GlobalArgs: PODMAN_ONLY,
  GroupAdd: "supplementary groups are not supported yet",
  HealthStartupCmd: "startup health checks are not supported: use HealthStartPeriod=",
  HealthStartupInterval: "startup health checks are not supported: use HealthStartPeriod=",
  HealthStartupRetries: "startup health checks are not supported: use HealthStartPeriod=",
  HealthStartupSuccess: "startup health checks are not supported: use HealthStartPeriod=",
  HealthStartupTimeout: "startup health checks are not supported: use HealthStartPeriod=",
  IP: "addresses are leased from the network's pool; a fixed address is not supported yet",
  IP6: "tsnspawn's networks are IPv4 only",
  LogOpt: "the unit's journal takes no log options (journald.conf(5) applies)",
  Mask: "the masked kernel paths are fixed (docker's list); --privileged unmasks all",
  NetworkAlias: "containers are known by name on their network; aliases are not supported yet",
  Pod: "tsnspawn has no pods: put the containers on one .network and order them with After=",
  PodmanArgs: PODMAN_ONLY,
  RemapGid: NO_USERNS,
  RemapUid: NO_USERNS,
  RemapUidSize: NO_USERNS,
  RemapUsers: NO_USERNS,
  Retry: "pulls retry on their own schedule (3 attempts with back-off)",
  RetryDelay: "pulls retry on their own schedule (3 attempts with back-off)",
  Secret: "tsnspawn has no secret store: use EnvironmentFile= or a read-only Volume=",
  SecurityLabelFileType: NO_SELINUX,
  SecurityLabelLevel: NO_SELINUX,
  SecurityLabelNested: NO_SELINUX,
  SecurityLabelType: NO_SELINUX,
  ServiceName: "a container's unit is always tsnspawn-<container>.service: use ContainerName=",
  StartWithPod: "tsnspawn has no pods",
  SubGIDMap: NO_USERNS,
  SubUIDMap: NO_USERNS,
  UIDMap: NO_USERNS,
  Unmask: "the masked kernel paths are fixed (docker's list); --privileged unmasks all",
  UserNS: NO_USERNS,
};

/** A supported key of `[Network]`, `[Volume]`, `[Image]` or `[Build]`. */
export interface ResourceKey {
  shape: KeyShape;
  help: string;
}

/** `[Network]` keys (podman-systemd.unit(5) "Network units"). */
export const NETWORK_KEYS: Readonly<Record<string, ResourceKey>> = {
  DisableDNS: {
    shape: "flag",
    help: "accepted: containers find each other through a hosts file, there is no DNS server",
  },
  Driver: { shape: "value", help: "bridge (the only driver)" },
  IPAMDriver: { shape: "value", help: "host-local (the only one: leases from the subnet)" },
  Label: { shape: "words", help: "KEY=VALUE ... (recorded in the unit only)" },
  NetworkDeleteOnStop: { shape: "flag", help: "remove the network when its unit stops" },
  NetworkName: { shape: "value", help: "the network's name (default: the file's)" },
  Subnet: { shape: "list", help: "IPv4 subnet in CIDR form (one)" },
  Gateway: {
    shape: "list",
    help: "the gateway: the subnet's first address (the only one tsnspawn uses)",
  },
};

/** `[Network]` keys tsnspawn does not support, with the reason. */
export const UNSUPPORTED_NETWORK_KEYS: Readonly<Record<string, string>> = {
  ContainersConfModule: "tsnspawn does not read containers.conf",
  DNS: "there is no DNS server on tsnspawn's networks: set DNS= on the containers",
  GlobalArgs: PODMAN_ONLY,
  IPRange: "a network leases from its whole subnet",
  IPv6: "tsnspawn's networks are IPv4 only",
  InterfaceName: "tsnspawn names its bridges itself (tsn0, tsn1, ...)",
  Internal:
    "every network reaches the outside through masquerading; isolated networks are not supported yet",
  Options: "bridge driver options are not supported",
  PodmanArgs: PODMAN_ONLY,
  ServiceName: "the unit is always tsnspawn-<file>-network.service",
};

/** `[Volume]` keys (podman-systemd.unit(5) "Volume units"). */
export const VOLUME_KEYS: Readonly<Record<string, ResourceKey>> = {
  Copy: { shape: "flag", help: "copy the image's content into the empty volume (default true)" },
  Device: {
    shape: "value",
    help: "what to mount: tmpfs, a host directory (Type=bind), a block device",
  },
  Driver: { shape: "value", help: "local (the only driver)" },
  GID: { shape: "value", help: "group of the volume's directory" },
  Group: { shape: "value", help: "gid= mount option (numeric)" },
  Label: { shape: "words", help: "KEY=VALUE ... labels of the volume" },
  Options: { shape: "value", help: "mount options (mount -o), e.g. size=64m" },
  Type: { shape: "value", help: "file system type of Device= (tmpfs, bind, ext4, ...)" },
  UID: { shape: "value", help: "owner of the volume's directory" },
  User: { shape: "value", help: "uid= mount option (numeric)" },
  VolumeName: { shape: "value", help: "the volume's name (default: the file's)" },
};

/** `[Volume]` keys tsnspawn does not support, with the reason. */
export const UNSUPPORTED_VOLUME_KEYS: Readonly<Record<string, string>> = {
  ContainersConfModule: "tsnspawn does not read containers.conf",
  GlobalArgs: PODMAN_ONLY,
  Image: "image volumes (Driver=image) are not supported",
  PodmanArgs: PODMAN_ONLY,
  ServiceName: "the unit is always tsnspawn-<file>-volume.service",
};

/** `[Image]` keys (podman-systemd.unit(5) "Image units"). */
export const IMAGE_KEYS: Readonly<Record<string, ResourceKey>> = {
  Arch: { shape: "value", help: "architecture to pull (default: the host's)" },
  Image: { shape: "value", help: "the image to pull" },
  ImageTag: { shape: "value", help: "the name containers use for it (Image=NAME.image)" },
  OS: { shape: "value", help: "operating system to pull (linux)" },
  Policy: { shape: "value", help: "always (default) or missing" },
  TLSVerify: { shape: "flag", help: "false allows plain HTTP to the registry" },
  Variant: { shape: "value", help: "architecture variant, e.g. v8" },
};

/** `[Image]` keys tsnspawn does not support, with the reason. */
export const UNSUPPORTED_IMAGE_KEYS: Readonly<Record<string, string>> = {
  AllTags: "a pull fetches one image",
  AuthFile: "credentials come from 'tsnspawn login' (and ~/.docker/config.json)",
  CertDir: "tsnspawn uses the system's CA certificates only",
  ContainersConfModule: "tsnspawn does not read containers.conf",
  Creds: "credentials come from 'tsnspawn login' (and ~/.docker/config.json)",
  DecryptionKey: "encrypted images are not supported",
  GlobalArgs: PODMAN_ONLY,
  PodmanArgs: PODMAN_ONLY,
  Retry: "pulls retry on their own schedule (3 attempts with back-off)",
  RetryDelay: "pulls retry on their own schedule (3 attempts with back-off)",
  ServiceName: "the unit is always tsnspawn-<file>-image.service",
};

/** `[Build]` keys: the options of `tsnspawn build` (issue 11) they become. */
export const BUILD_KEYS: Readonly<Record<string, ResourceKey & { option?: string }>> = {
  BuildArg: { shape: "words", option: "build-arg", help: "KEY=VALUE build arguments" },
  File: { shape: "value", option: "file", help: "the Containerfile (relative to the context)" },
  ForceRM: { shape: "flag", help: "true: accepted (a build always removes its step containers)" },
  ImageTag: {
    shape: "list",
    option: "tag",
    help: "names of the image (the first is what Image=NAME.build runs)",
  },
  Label: { shape: "words", option: "label", help: "KEY=VALUE labels of the image" },
  Network: {
    shape: "value",
    option: "network",
    help: "network of RUN steps: bridge, none, host, NAME.network",
  },
  Pull: { shape: "value", option: "pull", help: "missing, always or never" },
  SetWorkingDirectory: {
    shape: "value",
    help: "the context: a directory, or unit (this file's directory)",
  },
  Target: { shape: "value", option: "target", help: "the stage to build" },
};

/** `[Build]` keys tsnspawn does not support, with the reason. */
export const UNSUPPORTED_BUILD_KEYS: Readonly<Record<string, string>> = {
  Annotation: "tsnspawn build has no --annotation",
  Arch: "tsnspawn build builds for the host's platform",
  AuthFile: "credentials come from 'tsnspawn login'",
  ContainersConfModule: "tsnspawn does not read containers.conf",
  DNS: "tsnspawn build has no --dns",
  DNSOption: "tsnspawn build has no --dns-option",
  DNSSearch: "tsnspawn build has no --dns-search",
  Environment: "tsnspawn build has no --env: use ENV in the Containerfile",
  GlobalArgs: PODMAN_ONLY,
  GroupAdd: "tsnspawn build has no --group-add",
  IgnoreFile: "tsnspawn build reads .containerignore or .dockerignore of the context",
  PodmanArgs: PODMAN_ONLY,
  Retry: "pulls retry on their own schedule",
  RetryDelay: "pulls retry on their own schedule",
  Secret: "tsnspawn has no secret store",
  ServiceName: "the unit is always tsnspawn-<file>-build.service",
  TLSVerify: "tsnspawn build has no --tls-verify",
  Variant: "tsnspawn build builds for the host's platform",
  Volume: "tsnspawn build mounts nothing into RUN steps",
};

/**
 * `[Service]` keys tsnspawn sets itself for a container, and what to use
 * instead. Everything else in `[Service]` (and all of `[Unit]` and
 * `[Install]`) passes through.
 */
export const MANAGED_SERVICE_KEYS: Readonly<Record<string, string>> = {
  Type: "tsnspawn runs the container as Type=notify",
  NotifyAccess: "tsnspawn sets NotifyAccess=all",
  ExecStart: "use Exec= in [Container]",
  ExecStop: "use StopSignal= and StopTimeout= in [Container]",
  ExecStopPost: "tsnspawn's cleanup runs as ExecStopPost=",
  ExecReload: "use ReloadCmd= or ReloadSignal= in [Container]",
  KillMode: "tsnspawn sets KillMode=mixed",
  KillSignal: "use StopSignal= in [Container]",
  TimeoutStopSec: "use StopTimeout= in [Container]",
  Delegate: "tsnspawn delegates the container's cgroup",
  PIDFile: "the container's PID 1 is the main process",
  RemainAfterExit: "a container's unit ends with its PID 1",
  User: "use User= in [Container] (quadlet does not support [Service] User= either)",
  Group: "use Group= in [Container] (quadlet does not support [Service] Group= either)",
  DynamicUser:
    "a container runs as root on the host (quadlet does not support DynamicUser= either)",
  WorkingDirectory: "use WorkingDir= in [Container]",
  Environment: "use Environment= in [Container]",
  EnvironmentFile: "use EnvironmentFile= in [Container]",
  MemoryMax: "use Memory= in [Container]",
  CPUQuota: "use CPUs= in [Container]",
  TasksMax: "use PidsLimit= in [Container]",
};

/** `[Quadlet]` keys (podman-systemd.unit(5) "Quadlet section"). */
export const QUADLET_KEYS: Readonly<Record<string, ResourceKey>> = {
  DefaultDependencies: {
    shape: "flag",
    help: "false: no Wants=/After=network-online.target (default true)",
  },
};

/**
 * `[Unit]` keys whose values may name declared files (`After=db.container`):
 * quadlet translates them to the generated units (its unitDependencyKeys).
 */
export const DEPENDENCY_KEYS: readonly string[] = [
  "After",
  "Before",
  "BindsTo",
  "Conflicts",
  "OnFailure",
  "OnSuccess",
  "PartOf",
  "PropagatesReloadTo",
  "PropagatesStopTo",
  "ReloadPropagatedFrom",
  "Requires",
  "Requisite",
  "StopPropagatedFrom",
  "Upholds",
  "Wants",
];

/** Levenshtein distance (case-insensitive), for suggestions. */
function editDistance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length];
}

/** A hint naming the known key closest to a misspelt one, or listing them all. */
export function nearestKeyHint(key: string, known: readonly string[], section: string): string {
  const [best] = known.map((k) => ({ k, d: editDistance(k, key.slice(0, 64)) })).sort((x, y) =>
    x.d - y.d
  );
  return best && best.d <= Math.max(2, Math.floor(key.length / 4))
    ? `did you mean ${best.k}=?`
    : `the keys of [${section}] are ${known.map((k) => k + "=").join(" ")}`;
}

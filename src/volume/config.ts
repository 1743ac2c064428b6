/**
 * What a volume is (pure): its record (`volume.json`), its name rules, the
 * driver options of docker's `local` driver (`type`, `device`, `o`) and what
 * they mount, and labels. The store on disk is store.ts; the operations
 * every front end calls are src/ops/volume.ts.
 *
 * Semantics follow docker's local volume driver (docs.docker.com "docker
 * volume create", moby volume/local): without options a volume is a
 * directory; `--opt type=tmpfs --opt device=tmpfs --opt o=size=64m` a tmpfs,
 * `--opt type=none --opt device=/srv/x --opt o=bind` (or podman's
 * `type=bind`) a bind mount of a host directory, any other type a file
 * system on a device. Names as docker's: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
 */
import { TsnspawnError } from "../errors.ts";

/** Version of the volume.json schema. */
export const VOLUME_CONFIG_VERSION = 1;

/** The only driver: directories and mounts on this host. */
export const LOCAL_DRIVER = "local";

/** What `volume.json` holds. */
export interface VolumeConfig {
  version: typeof VOLUME_CONFIG_VERSION;
  name: string;
  /** Creation time, ISO 8601. */
  created: string;
  driver: typeof LOCAL_DRIVER;
  labels: Record<string, string>;
  /** Driver options as given (`type`, `device`, `o`; podman's `copy`/`nocopy`, `uid`, `gid`). */
  options: Record<string, string>;
  /** Made for one container (`-v /path`, the image's VOLUME): `rm -v` and `--rm` remove it. */
  anonymous: boolean;
}

/** A volume's mount on the host, from its driver options; null = a plain directory. */
export interface VolumeDeviceMount {
  /** mount(2) file system type ("tmpfs", "ext4"); "bind" for a bind mount. */
  type: string;
  /** The device, host directory (bind) or file system name (tmpfs). */
  device: string;
  /** mount(2) data: the `o` option without the flags below (and without `bind`). */
  data: string;
  /** MS_* flag names from `o` (ro, nosuid, nodev, noexec, ...). */
  flags: string[];
}

/** Driver options `volume create --opt` takes (docker's local driver, podman's extras). */
export const VOLUME_OPTIONS: Readonly<Record<string, string>> = {
  type: "file system type: tmpfs, bind (or none with o=bind), ext4, ...",
  device: "what to mount: tmpfs, a host directory for bind, a block device",
  o: "mount options, comma-separated (size=64m,uid=1000 for tmpfs; ro)",
  copy: "copy the image's content at the mount point into the empty volume (the default)",
  nocopy: "do not copy the image's content into the volume",
  uid: "owner of the volume's directory (numeric)",
  gid: "group of the volume's directory (numeric)",
};

/** mount(8) option words that are MS_* flags rather than file system data. */
const FLAG_WORDS = new Set([
  "ro",
  "rw",
  "nosuid",
  "suid",
  "nodev",
  "dev",
  "noexec",
  "exec",
  "noatime",
  "relatime",
  "strictatime",
  "sync",
]);

function invalid(message: string, hint?: string): TsnspawnError {
  return new TsnspawnError("invalid", message, hint ? { hint } : {});
}

const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** Longest volume name (a path component, with room for staging prefixes). */
export const MAX_VOLUME_NAME_LENGTH = 128;

/** Validates a volume name (docker's rule: two characters at least). */
export function validateVolumeName(name: string): string {
  if (!NAME_PATTERN.test(name) || name.length > MAX_VOLUME_NAME_LENGTH) {
    throw invalid(
      `volume name ${JSON.stringify(name.slice(0, 80))}: invalid`,
      `a volume name has 2 to ${MAX_VOLUME_NAME_LENGTH} characters: a letter or digit, then letters, digits, '_', '.' or '-'`,
    );
  }
  return name;
}

/** Whether `text` is a volume name rather than a path (`-v NAME:/path`). */
export function isVolumeName(text: string): boolean {
  return NAME_PATTERN.test(text) && text.length <= MAX_VOLUME_NAME_LENGTH;
}

/** Checks driver options: known keys, and a consistent mount (what {@link planVolumeMount} needs). */
export function validateVolumeOptions(options: Record<string, string>): Record<string, string> {
  for (const key of Object.keys(options)) {
    if (!Object.hasOwn(VOLUME_OPTIONS, key)) {
      throw invalid(
        `volume option ${JSON.stringify(key)}: unknown`,
        `the options are ${Object.keys(VOLUME_OPTIONS).join(", ")}`,
      );
    }
  }
  for (const key of ["uid", "gid"]) {
    if (options[key] !== undefined && !/^\d{1,10}$/.test(options[key])) {
      throw invalid(`volume option ${key}=${options[key]}: not a number`);
    }
  }
  planVolumeMount(options);
  return options;
}

/**
 * The mount a volume's options ask for (pure), or null for a plain
 * directory. Throws for options that do not make a mount: a type without a
 * device, or a device without a type.
 */
export function planVolumeMount(options: Record<string, string>): VolumeDeviceMount | null {
  const type = options.type;
  const device = options.device;
  const words = (options.o ?? "").split(",").filter((w) => w !== "");
  if (type === undefined && device === undefined) {
    if (words.length > 0) {
      throw invalid(
        "volume option o= needs type= and device=",
        "e.g. --opt type=tmpfs --opt device=tmpfs --opt o=size=64m",
      );
    }
    return null;
  }
  if (type === undefined || type === "" || device === undefined || device === "") {
    throw invalid(
      "volume options type= and device= go together",
      "e.g. --opt type=tmpfs --opt device=tmpfs, or --opt type=none --opt device=/srv/data --opt o=bind",
    );
  }
  const bind = type === "bind" || words.includes("bind") || words.includes("rbind");
  if (type === "none" && !bind) {
    throw invalid(
      "volume option type=none needs o=bind",
      "e.g. --opt type=none --opt device=/srv/data --opt o=bind",
    );
  }
  if (bind && !device.startsWith("/")) {
    throw invalid(`volume device ${JSON.stringify(device)}: a bind needs an absolute host path`);
  }
  if (/[\0\n]/.test(device) || /[\0\n]/.test(options.o ?? "")) {
    throw invalid("volume options: control characters are not allowed");
  }
  const flags = words.filter((w) => FLAG_WORDS.has(w));
  const data = words.filter((w) => !FLAG_WORDS.has(w) && w !== "bind" && w !== "rbind").join(",");
  return { type: bind ? "bind" : type, device, data, flags };
}

/** Whether a new, empty volume gets the image's content (`nocopy` turns it off). */
export function copiesUp(options: Record<string, string>): boolean {
  return options.nocopy === undefined;
}

/** A record for a new volume. */
export function planVolumeConfig(
  request: {
    name: string;
    labels?: Record<string, string>;
    options?: Record<string, string>;
    anonymous?: boolean;
  },
  now: Date,
): VolumeConfig {
  return {
    version: VOLUME_CONFIG_VERSION,
    name: validateVolumeName(request.name),
    created: now.toISOString(),
    driver: LOCAL_DRIVER,
    labels: { ...request.labels },
    options: validateVolumeOptions({ ...request.options }),
    anonymous: request.anonymous ?? false,
  };
}

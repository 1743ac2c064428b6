/**
 * The mounts of `POST /containers/create` (pure): `HostConfig.Binds`,
 * `HostConfig.Mounts`, `HostConfig.Tmpfs` and `Config.Volumes` → `--volume`
 * (host paths, named volumes `NAME:/path`, anonymous volumes `/path`),
 * `--mount type=volume` and `--tmpfs` of the CLI.
 *
 * `Binds` are moby's `SRC:DST[:MODE]`: an absolute SRC is a bind mount, any
 * other SRC a named volume, no SRC an anonymous volume. Modes: `ro`/`rw`;
 * `z`/`Z` (SELinux relabelling: none is ever applied here, as on a docker
 * host without SELinux), `rprivate`/`private` (what tsnspawn's bind mounts
 * are), and `consistent`/`cached`/`delegated` (macOS only) are accepted as
 * no-ops; `shared`/`slave` propagation is refused; `nocopy` is for volumes.
 * `Mounts` are the structured form (bind, volume, tmpfs). `Config.Volumes`
 * lists paths that get an anonymous volume unless another mount covers them
 * (compose sends its volumes' paths there too). Two mounts on one path are
 * moby's 400 "Duplicate mount point".
 *
 * References: Docker Engine API v1.44 (HostConfig.Binds, Mount,
 * ContainerConfig.Volumes); moby v28.2.2 volume/mounts/linux_parser.go;
 * research notes /work/shared/research/docker-api.md §2, §4.
 */
import { type BodyReader, isZeroValue } from "./body_fields.ts";
import { badRequest, unsupportedField } from "./errors.ts";
import type { PlanBuilder } from "./create_types.ts";

/** Bind modes accepted, and what each means here. */
const BIND_MODES: Record<string, "rw" | "ro" | "no-op" | "nocopy"> = {
  rw: "rw", // read-write (the default)
  ro: "ro", // read-only
  z: "no-op", // SELinux shared label: no labels are applied
  Z: "no-op", // SELinux private label: no labels are applied
  rprivate: "no-op", // the propagation tsnspawn's binds have
  private: "no-op", // no propagation either way
  consistent: "no-op", // macOS file sharing only
  cached: "no-op", // macOS file sharing only
  delegated: "no-op", // macOS file sharing only
  nocopy: "nocopy", // volumes: do not copy the image's files in
};

/** Bind propagation modes docker has and tsnspawn does not. */
const REFUSED_PROPAGATION = new Set(["shared", "rshared", "slave", "rslave"]);

/** Collects every mount point, refusing duplicates. */
class MountPoints {
  readonly #seen = new Set<string>();
  add(field: string, destination: string): string {
    if (!destination.startsWith("/")) {
      throw badRequest(
        `${field}: invalid mount config: mount path must be absolute: ${destination}`,
      );
    }
    const normal = "/" + destination.split("/").filter((p) => p !== "" && p !== ".").join("/");
    if (this.#seen.has(normal)) throw badRequest(`${field}: Duplicate mount point: ${normal}`);
    this.#seen.add(normal);
    return destination;
  }
  has(destination: string): boolean {
    return this.#seen.has(
      "/" + destination.split("/").filter((p) => p !== "" && p !== ".").join("/"),
    );
  }
}

/**
 * A named or anonymous ("" name) volume → the CLI's `-v NAME:/path[:ro,nocopy]`
 * or `-v /path`; an anonymous one with options is `--mount type=volume`
 * (docker's own form for that).
 */
function volume(
  plan: PlanBuilder,
  name: string,
  destination: string,
  readOnly: boolean,
  noCopy = false,
): void {
  if (name === "") {
    plan.options.push(
      readOnly || noCopy
        ? `--mount=type=volume,destination=${destination}${readOnly ? ",ro" : ""}${
          noCopy ? ",volume-nocopy" : ""
        }`
        : `--volume=${destination}`,
    );
    return;
  }
  const modes = [...(readOnly ? ["ro"] : []), ...(noCopy ? ["nocopy"] : [])];
  plan.options.push(
    `--volume=${name}:${destination}${modes.length > 0 ? `:${modes.join(",")}` : ""}`,
  );
}

/** One `Binds` entry. */
function mapBind(field: string, entry: string, points: MountPoints, plan: PlanBuilder): void {
  const parts = entry.split(":");
  if (parts.length > 3 || parts.some((p) => p === "")) {
    throw badRequest(`${field}: invalid volume specification: '${entry}'`);
  }
  if (parts.length === 1) {
    volume(plan, "", points.add(field, parts[0]), false);
    return;
  }
  const [source, destination, mode = ""] = parts;
  let readOnly = false;
  let noCopy = false;
  for (const word of mode.split(",").filter((w) => w !== "")) {
    if (REFUSED_PROPAGATION.has(word)) {
      throw unsupportedField(field, entry, `bind propagation ${word} is not supported`, "drop it");
    }
    const meaning = BIND_MODES[word];
    if (meaning === undefined) throw badRequest(`${field}: invalid mode: ${mode}`);
    if (meaning === "ro") readOnly = true;
    if (meaning === "nocopy") noCopy = true;
  }
  points.add(field, destination);
  if (source.startsWith("/")) {
    if (noCopy) throw badRequest(`${field}: invalid mode: ${mode}: nocopy is for volumes`);
    plan.options.push(`--volume=${source}:${destination}${readOnly ? ":ro" : ""}`);
  } else {
    volume(plan, source, destination, readOnly, noCopy);
  }
}

/** One `Mounts` entry. */
function mapMount(mount: BodyReader, points: MountPoints, plan: PlanBuilder): void {
  const type = mount.string("Type") ?? "";
  const target = mount.string("Target") ?? "";
  const source = mount.string("Source") ?? "";
  const readOnly = mount.boolean("ReadOnly") ?? false;
  mount.ignore("Consistency"); // macOS file sharing only
  if (target === "") {
    throw badRequest(`${mount.name("Target")}: invalid mount config: Target is required`);
  }
  points.add(mount.name("Target"), target);
  const bind = mount.child("BindOptions");
  const volumeOptions = mount.child("VolumeOptions");
  const tmpfs = mount.child("TmpfsOptions");
  for (
    const [options, kind] of [[bind, "bind"], [volumeOptions, "volume"], [tmpfs, "tmpfs"]] as const
  ) {
    if (kind !== type && options.unread().some(([, v]) => !isZeroValue(v))) {
      throw badRequest(`${options.path}: invalid mount config: only for mounts of type ${kind}`);
    }
  }
  if (type === "bind") {
    if (!source.startsWith("/")) {
      throw badRequest(
        `${mount.name("Source")}: invalid mount config: a bind source must be an absolute path`,
      );
    }
    bind.defaultOnly(
      "Propagation",
      "bind propagation is always rprivate here",
      (v) => v === undefined || v === "" || v === "rprivate" || v === "private",
    );
    bind.finish("only the default bind options are supported");
    plan.options.push(`--volume=${source}:${target}${readOnly ? ":ro" : ""}`);
  } else if (type === "volume") {
    volumeOptions.defaultOnly(
      "Labels",
      "a volume made on first use gets no labels here",
      isZeroValue,
      "create the volume first (POST /volumes/create, docker volume create --label)",
    );
    const driver = volumeOptions.child("DriverConfig");
    driver.defaultOnly(
      "Name",
      "only the local volume driver exists",
      (v) => v === undefined || v === "" || v === "local",
    );
    driver.defaultOnly(
      "Options",
      "a volume made on first use gets no driver options here",
      isZeroValue,
      "create the volume first (POST /volumes/create, docker volume create --opt)",
    );
    driver.finish("tsnspawn does not know this field");
    volumeOptions.defaultOnly("Subpath", "mounting a volume's subdirectory is not supported");
    const noCopy = volumeOptions.boolean("NoCopy") ?? false;
    volumeOptions.finish("tsnspawn does not know this field");
    volume(plan, source, target, readOnly, noCopy);
  } else if (type === "tmpfs") {
    if (source !== "") {
      throw badRequest(`${mount.name("Source")}: invalid mount config: a tmpfs has no source`);
    }
    const size = tmpfs.integer("SizeBytes") ?? 0;
    const mode = tmpfs.integer("Mode") ?? 0;
    tmpfs.defaultOnly(
      "Options",
      "raw tmpfs options are not supported",
      isZeroValue,
      "use SizeBytes and Mode",
    );
    tmpfs.finish("tsnspawn does not know this field");
    if (size < 0) throw badRequest(`${tmpfs.name("SizeBytes")}: invalid tmpfs size ${size}`);
    const words = [
      readOnly ? "ro" : "",
      size > 0 ? `size=${size}` : "",
      mode > 0 ? `mode=${mode.toString(8)}` : "",
    ];
    const options = words.filter((w) => w !== "").join(",");
    plan.options.push(`--tmpfs=${target}${options === "" ? "" : `:${options}`}`);
  } else {
    throw unsupportedField(
      mount.name("Type"),
      type,
      "only bind, volume and tmpfs mounts exist here",
    );
  }
  mount.finish("tsnspawn does not know this field");
}

/** `Binds`, `Mounts`, `Tmpfs`, `VolumeDriver`, `VolumesFrom` and `Config.Volumes`. */
export function mapMounts(config: BodyReader, host: BodyReader, plan: PlanBuilder): void {
  const points = new MountPoints();
  host.defaultOnly(
    "VolumeDriver",
    "only the local volume driver exists",
    (v) => v === undefined || v === "" || v === "local",
  );
  host.defaultOnly(
    "VolumesFrom",
    "sharing another container's volumes is not supported",
    isZeroValue,
    "name the volumes instead",
  );
  (host.strings("Binds") ?? []).forEach((entry, i) =>
    mapBind(`${host.name("Binds")}[${i}]`, entry, points, plan)
  );
  for (const mount of host.objects("Mounts")) mapMount(mount, points, plan);
  for (const [destination, options] of Object.entries(host.stringMap("Tmpfs") ?? {})) {
    points.add(`${host.name("Tmpfs")}.${destination}`, destination);
    plan.options.push(`--tmpfs=${destination}${options === "" ? "" : `:${options}`}`);
  }
  const volumes = config.child("Volumes");
  for (const [destination] of volumes.unread()) {
    volumes.value(destination);
    if (!points.has(destination)) {
      volume(plan, "", points.add(volumes.name(destination), destination), false);
    }
  }
}

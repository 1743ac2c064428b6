/**
 * Creating a container, for every front end (`tsnspawn create` and `run`, a
 * declared container's ExecStartPre=): validates a request against the image
 * and the host, plans the container (pure, plan.ts) and writes its directory
 * atomically (container/state.ts). Nothing is written before every check passed.
 */
import { join, resolve } from "@std/path";
import { TsnspawnError, withContext } from "../errors.ts";
import {
  BOOT_INITS,
  type ImageRuntimeConfig,
  planContainer,
  planImageVolumes,
  planInitLayer,
  requestFromRunOptions,
} from "../container/plan.ts";
import { parseKeyValues, parseLabelFile } from "../labels.ts";
import { formatDuration } from "../container/health_options.ts";
import { dropVolumes, takeVolumes } from "./volume.ts";
import { withVolumesLock } from "../volume/store.ts";
import { containerPaths } from "../paths.ts";
import { writeFileAtomic } from "../files.ts";
import type { ContainerConfig } from "../container/config.ts";
import type { ContainerOptions } from "../container/options.ts";
import {
  containerExists,
  createContainerDir,
  listContainerNames,
  loadContainer,
} from "../container/state.ts";
import { randomHex } from "../files.ts";
import {
  allocateLease,
  ensureNetworkStored,
  loadNetwork,
  readNetworkHosts,
  releaseLease,
  withExtraHosts,
} from "../network/network_store.ts";
import { runningPortOwners } from "../network/host_network.ts";
import {
  findPortClash,
  pickHostPorts,
  planPublishAll,
  portClashError,
} from "../network/published_ports.ts";
import { resolveImage } from "../image/store.ts";
import { existsInStack, readStackText } from "../image/layer_stack.ts";
import {
  formatUser,
  generateContainerName,
  homeOf,
  parseEnvFile,
  parseUser,
  resolveUser,
} from "../container/run_options.ts";
import { requireRoot } from "../errors.ts";
import { holdOperation, releaseStaging } from "../staging.ts";
import { planSeccompSetting } from "../security/options.ts";

/** The image or rootfs a container runs from. */
interface RootSource {
  image: string | null;
  imageId: string | null;
  lowerDirs: string[];
  config: ImageRuntimeConfig;
}

async function resolveRootSource(options: ContainerOptions): Promise<RootSource> {
  if (options.rootfs !== undefined) {
    const dir = resolve(options.rootfs);
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(dir);
    } catch {
      throw new TsnspawnError("not-found", `rootfs ${options.rootfs}: no such directory`, {
        hint: "give a directory holding a root file system, or an image name",
      });
    }
    if (!info.isDirectory) {
      throw new TsnspawnError("invalid", `rootfs ${options.rootfs}: not a directory`);
    }
    return { image: null, imageId: null, lowerDirs: [dir], config: {} };
  }
  if (!options.image) {
    throw new TsnspawnError("usage", "no image given", {
      hint: "tsnspawn run [OPTIONS] IMAGE [COMMAND...] or --rootfs DIR",
    });
  }
  // --pull: missing (default) pulls only when the image is not stored, always
  // pulls first, never only looks in the store. A dry run never pulls.
  const policy = options.dryRun ? "never" : options.pull ?? "missing";
  let image: ReturnType<typeof resolveImage> | undefined;
  if (policy !== "always") {
    try {
      image = resolveImage(options.image);
    } catch (error) {
      if (!(error instanceof TsnspawnError && error.code === "not-found") || policy === "never") {
        throw error;
      }
    }
  }
  if (image === undefined) {
    const { pullWithProgress } = await import("../registry/progress_display.ts");
    try {
      const pulled = await pullWithProgress(options.image, {
        platform: options.platform,
        progressTo: "stderr",
      });
      image = resolveImage(pulled.reference);
    } catch (error) {
      if (policy === "always") throw error;
      throw withContext(
        error,
        "not-found",
        `image ${options.image}: not in the store, and pulling it failed`,
      );
    }
  }
  return {
    image: image.reference ?? image.id,
    imageId: image.id,
    lowerDirs: image.lowerDirs,
    config: image.config.config ?? {},
  };
}

/** `--boot`: the image's init, as systemd-nspawn -b finds it. */
function findBootInit(source: RootSource): string {
  const init = BOOT_INITS.find((path) => existsInStack(source.lowerDirs, path));
  if (!init) {
    throw new TsnspawnError(
      "not-found",
      `--boot: the image has no init (looked for ${BOOT_INITS.join(", ")})`,
      { hint: "boot an image with systemd installed (e.g. Debian's systemd-sysv package)" },
    );
  }
  return init;
}

function readLabelFile(path: string): string[] {
  try {
    return parseLabelFile(Deno.readTextFileSync(path));
  } catch (error) {
    throw new TsnspawnError("not-found", `label file ${path}: cannot be read`, { cause: error });
  }
}

/** --tz NAME must be a zone of the host's zoneinfo (it is bind-mounted as /etc/localtime). */
function checkTimezone(zone: string): void {
  try {
    if (Deno.statSync(join("/usr/share/zoneinfo", zone)).isFile) return;
  } catch { /* reported below */ }
  throw new TsnspawnError("not-found", `timezone ${zone}: not in the host's /usr/share/zoneinfo`, {
    hint: "give a zone name like Europe/Berlin (package tzdata), or local",
  });
}

function readEnvFile(path: string): string[] {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    throw new TsnspawnError("not-found", `env file ${path}: cannot be read`, { cause: error });
  }
  return parseEnvFile(text, (key) => Deno.env.get(key));
}

/** A planned container: its config and init-layer files, nothing written yet. */
export interface ContainerPlan {
  config: ContainerConfig;
  initLayer: { hostname: string; hosts: string; resolvConf: string };
}

/** Validates a request against the host and the image and plans the container. */
export async function planNewContainer(options: ContainerOptions): Promise<ContainerPlan> {
  if (options.autoRemove && options.restart.policy !== "no") {
    throw new TsnspawnError("usage", "conflicting options: --restart and --rm", {
      hint: "a container that removes itself cannot be restarted; drop one of them",
    });
  }
  const source = await resolveRootSource(options);
  for (const volume of options.volumes) {
    if (volume.volume !== undefined) continue; // a volume: made or found at create
    try {
      Deno.statSync(volume.source);
    } catch {
      throw new TsnspawnError(
        "not-found",
        `volume ${volume.source}:${volume.destination}: the host path does not exist`,
        { hint: "create it first, or fix the path" },
      );
    }
  }
  // --env-host first, then env files, then -e, as podman applies them.
  const hostEnv = options.envHost
    ? Object.entries(Deno.env.toObject()).map(([k, v]) => `${k}=${v}`)
    : [];
  const env = [...hostEnv, ...options.envFiles.flatMap(readEnvFile), ...options.env];
  const labels = {
    ...parseKeyValues(options.labelFiles.flatMap(readLabelFile)),
    ...options.labels,
  };
  if (options.timezone && options.timezone !== "local") checkTimezone(options.timezone);
  const userSpec = options.user ?? (source.config.User ? parseUser(source.config.User) : null);
  const passwd = readStackText(source.lowerDirs, "/etc/passwd");
  const user = userSpec === null
    ? { uid: 0, gid: 0 }
    : resolveUser(userSpec, passwd, readStackText(source.lowerDirs, "/etc/group"));
  const home = homeOf(user.uid, passwd);
  const userText = options.user ? formatUser(options.user) : source.config.User || undefined;
  const request = requestFromRunOptions({ ...options, labels }, {
    name: options.name ?? generateContainerName(),
    image: source.image,
    imageId: source.imageId,
    lowerDirs: source.lowerDirs,
    env,
    user,
    ...(home !== undefined ? { home } : {}),
    ...(userText !== undefined ? { userSpec: userText } : {}),
    ...(options.boot ? { bootInit: findBootInit(source) } : {}),
  });
  // The image's VOLUMEs that no -v, --mount or --tmpfs covers become anonymous volumes.
  request.volumes = [
    ...request.volumes,
    ...planImageVolumes(source.config, [...request.volumes, ...options.tmpfs]),
  ];

  const config = planContainer(request, source.config, randomHex(32), new Date());
  if (options.publishAll) {
    const exposed = [
      ...Object.keys(source.config.ExposedPorts ?? {}),
      ...config.exposedPorts ?? [],
    ];
    const publish = planPublishAll(exposed, config.publish ?? []);
    if (publish.length > 0 && !config.bridge) {
      throw new TsnspawnError(
        "invalid",
        `-P publishes ${
          exposed.join(", ")
        }: that needs a bridge network, not --network ${config.network}`,
        { hint: "drop -P, or use the default network or one made with tsnspawn network create" },
      );
    }
    if (publish.length > 0) config.publish = publish;
  }
  // Random host ports (`-p 80`, `-p IP::80`, -P): picked now, kept by the container.
  if (config.publish?.some((p) => p.hostPort === 0) && !options.dryRun) {
    config.publish = pickHostPorts(config.publish, publishedPortsInUse(), hostPortIsFree);
  }
  if (config.bridge) checkBridgeNetwork(config);
  Object.assign(config, planSecurity(options));
  let hostResolv = "";
  try {
    hostResolv = Deno.readTextFileSync("/etc/resolv.conf");
  } catch { /* no resolver configured on the host */ }
  return { config, initLayer: planInitLayer(config, hostResolv) };
}

/**
 * The security fields of the config (seccomp, --privileged, --read-only,
 * --tmpfs), validated now so that a bad profile or a clashing mount point
 * fails `create`, not the unit's start. Fields at their default are left out.
 */
function planSecurity(options: ContainerOptions): Partial<ContainerConfig> {
  const destinations = new Set(options.volumes.map((v) => v.destination));
  for (const t of options.tmpfs) {
    if (destinations.has(t.destination)) {
      throw new TsnspawnError(
        "usage",
        `--tmpfs ${t.destination}: the path is already a mount point (-v or --tmpfs)`,
        {
          hint: "give each path in the container one mount",
        },
      );
    }
    destinations.add(t.destination);
  }
  const seccomp = planSeccompSetting(
    options.security.seccomp,
    options.privileged,
    options.capabilities,
    (path) => {
      try {
        return Deno.readTextFileSync(path);
      } catch (error) {
        throw new TsnspawnError("not-found", `seccomp profile ${path}: cannot be read`, {
          cause: error,
          hint: "give the path of a docker seccomp profile (JSON), or seccomp=unconfined",
        });
      }
    },
    Deno.osRelease(),
  );
  const fields: Partial<ContainerConfig> = { seccomp };
  if (options.privileged) fields.privileged = true;
  if (options.readOnly) fields.readOnlyRoot = true;
  if (options.tmpfs.length > 0) fields.tmpfs = options.tmpfs;
  return fields;
}

/** `PORT/PROTO` of every port some container publishes (running or not): not handed out again. */
function publishedPortsInUse(): Set<string> {
  const taken = new Set<string>();
  for (const name of listContainerNames()) {
    try {
      for (const port of loadContainer(name).publish ?? []) {
        taken.add(`${port.hostPort}/${port.protocol}`);
      }
    } catch { /* removed meanwhile */ }
  }
  return taken;
}

/** Whether nothing on the host listens on `port` (binding it now succeeds). */
function hostPortIsFree(port: number, protocol: "tcp" | "udp"): boolean {
  try {
    if (protocol === "tcp") Deno.listen({ hostname: "0.0.0.0", port }).close();
    else Deno.listenDatagram({ hostname: "0.0.0.0", port, transport: "udp" }).close();
    return true;
  } catch {
    return false;
  }
}

/**
 * Networking checks before anything is written: the network exists (the
 * default one always does), and no running container publishes a host port
 * this one wants (checked again, atomically, when it starts).
 */
function checkBridgeNetwork(config: ContainerConfig): void {
  loadNetwork(config.bridge!.network);
  const clash = config.publish ? findPortClash(config.publish, runningPortOwners(config.id)) : null;
  if (clash) throw portClashError(clash);
}

/** Validates, plans and writes a new container; returns its config. */
export async function createContainer(options: ContainerOptions): Promise<ContainerConfig> {
  requireRoot("create a container");
  const plan = await planNewContainer(options);
  // Volumes are taken and the directory written under the volumes lock: a
  // `volume rm` meanwhile either sees this container or comes after it.
  if (!plan.config.volumes.some((v) => v.volume !== undefined)) return writeContainer(plan);
  return withVolumesLock(() => {
    const { mounts, created } = takeVolumes(plan.config.volumes);
    plan.config.volumes = mounts;
    try {
      return writeContainer(plan);
    } catch (error) {
      dropVolumes(created);
      throw error;
    }
  });
}

/** Leases an address (bridge), then writes the container's directory. */
function writeContainer(plan: ContainerPlan): ContainerConfig {
  const bridge = plan.config.bridge;
  let operation: string | undefined;
  if (bridge) {
    // The address lease (network_store.ts): taken before the directory
    // appears, given back if the directory cannot be made.
    if (containerExists(plan.config.name)) {
      throw new TsnspawnError("conflict", `container name ${plan.config.name}: already in use`, {
        hint: `remove it with 'tsnspawn rm -f ${plan.config.name}' or choose another --name`,
      });
    }
    const network = ensureNetworkStored(bridge.network);
    // Held until the directory exists: `tsnspawn check` keeps a lease whose
    // container is still being made (src/staging.ts).
    operation = holdOperation(`lease-${plan.config.id}`);
    try {
      bridge.address = allocateLease(network, {
        container: plan.config.name,
        id: plan.config.id,
        hostname: plan.config.hostname,
        ...(bridge.aliases ? { aliases: bridge.aliases } : {}),
        ...(plan.config.extraHosts?.length ? { extraHosts: plan.config.extraHosts } : {}),
      });
      if (plan.config.extraHosts?.length) {
        plan.initLayer.hosts = withExtraHosts(
          readNetworkHosts(bridge.network),
          plan.config.extraHosts,
        );
      }
    } catch (error) {
      releaseStaging(operation);
      throw error;
    }
  }
  try {
    createContainerDir(plan.config, plan.initLayer);
  } catch (error) {
    if (bridge) releaseLease(bridge.network, plan.config.id);
    throw error;
  } finally {
    if (operation) releaseStaging(operation);
  }
  const health = plan.config.healthcheck;
  if (health && health.intervalMs > 0) {
    // Read by the unit's ExecStartPre, which starts the health timer (src/health/timer.ts).
    writeFileAtomic(
      containerPaths(plan.config.name).healthInterval,
      formatDuration(health.intervalMs) + "\n",
    );
  }
  return plan.config;
}

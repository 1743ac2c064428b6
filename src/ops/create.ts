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
  planInitLayer,
  requestFromRunOptions,
} from "../container/plan.ts";
import type { ContainerConfig } from "../container/config.ts";
import type { ContainerOptions } from "../container/options.ts";
import { containerExists, createContainerDir } from "../container/state.ts";
import { randomHex } from "../files.ts";
import {
  allocateLease,
  ensureNetworkStored,
  loadNetwork,
  releaseLease,
} from "../network/network_store.ts";
import { runningPortOwners } from "../network/host_network.ts";
import { findPortClash, portClashError } from "../network/published_ports.ts";
import { resolveImage } from "../image/store.ts";
import { existsInLayers } from "../image/layer_lookup.ts";
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

/** Reads a file of the container's root as the topmost layer has it. */
function readFromLayers(lowerDirs: string[], path: string): string {
  for (const dir of lowerDirs) {
    try {
      return Deno.readTextFileSync(join(dir, path));
    } catch { /* not in this layer */ }
  }
  return "";
}

/** `--boot`: the image's init, as systemd-nspawn -b finds it. */
function findBootInit(source: RootSource): string {
  const init = BOOT_INITS.find((path) => existsInLayers(source.lowerDirs, path));
  if (!init) {
    throw new TsnspawnError(
      "not-found",
      `--boot: the image has no init (looked for ${BOOT_INITS.join(", ")})`,
      { hint: "boot an image with systemd installed (e.g. Debian's systemd-sysv package)" },
    );
  }
  return init;
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
  // Env files first, then -e, as docker applies them.
  const env = [...options.envFiles.flatMap(readEnvFile), ...options.env];
  const userSpec = options.user ?? (source.config.User ? parseUser(source.config.User) : null);
  const passwd = readFromLayers(source.lowerDirs, "etc/passwd");
  const user = userSpec === null
    ? { uid: 0, gid: 0 }
    : resolveUser(userSpec, passwd, readFromLayers(source.lowerDirs, "etc/group"));
  const home = homeOf(user.uid, passwd);
  const userText = options.user ? formatUser(options.user) : source.config.User || undefined;
  const request = requestFromRunOptions(options, {
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

  const config = planContainer(request, source.config, randomHex(32), new Date());
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
      });
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
  return plan.config;
}

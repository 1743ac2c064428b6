/**
 * Which handler answers which route (routes.ts ids), and the answer for
 * the routes tsnspawn does not serve: 501 in Docker's format with the
 * reason, never a silent success.
 */
import type { ApiCall } from "./http.ts";
import type { ApiContext } from "./context.ts";
import type { Hijacked } from "./hijack.ts";
import type { Route } from "./routes.ts";
import { ApiError } from "./errors.ts";
import { events, info, ping, version } from "./system_handlers.ts";
import {
  createContainerCall,
  deleteContainerCall,
  inspectContainer,
  killContainerCall,
  listContainers,
  renameContainerCall,
  restartContainerCall,
  stopContainerCall,
} from "./container_handlers.ts";
import {
  attachContainerCall,
  logsContainerCall,
  resizeContainerCall,
  startContainerCall,
  waitContainerCall,
} from "./container_io.ts";
import {
  createExecCall,
  inspectExecCall,
  resizeExecCall,
  startExecCall,
  startExecHijacked,
} from "./exec_handlers.ts";
import {
  deleteImageCall,
  inspectImageCall,
  listImagesCall,
  pullImageCall,
  tagImageCall,
} from "./image_handlers.ts";
import { buildCall } from "./build_handlers.ts";
import {
  connectNetworkCall,
  createNetworkCall,
  deleteNetworkCall,
  disconnectNetworkCall,
  inspectNetworkCall,
  listNetworksCall,
} from "./network_handlers.ts";
import {
  createVolumeCall,
  deleteVolumeCall,
  inspectVolumeCall,
  listVolumesCall,
  pruneVolumesCall,
} from "./volume_handlers.ts";

/** A handler of an ordinary call. */
export type Handler = (call: ApiCall, api: ApiContext) => void | Promise<void>;

/** A handler of a hijacked call (it writes the 101 itself). */
export type HijackHandler = (
  connection: Hijacked,
  params: Record<string, string>,
  query: URLSearchParams,
  apiVersion: string,
  api: ApiContext,
) => Promise<void>;

/** Ordinary calls, by route id. */
export const HANDLERS: Readonly<Record<string, Handler>> = {
  "options": (call) => call.sendEmpty(200),
  "system.ping": ping,
  "system.version": version,
  "system.info": info,
  "system.events": events,
  "container.list": listContainers,
  "container.create": createContainerCall,
  "container.inspect": inspectContainer,
  "container.start": startContainerCall,
  "container.stop": stopContainerCall,
  "container.kill": killContainerCall,
  "container.restart": restartContainerCall,
  "container.wait": waitContainerCall,
  "container.resize": resizeContainerCall,
  "container.logs": logsContainerCall,
  "container.delete": deleteContainerCall,
  "container.rename": renameContainerCall,
  "exec.create": createExecCall,
  "exec.start": startExecCall,
  "exec.resize": resizeExecCall,
  "exec.inspect": inspectExecCall,
  "image.create": pullImageCall,
  "image.list": listImagesCall,
  "image.inspect": inspectImageCall,
  "image.delete": deleteImageCall,
  "image.tag": tagImageCall,
  "network.list": listNetworksCall,
  "network.inspect": inspectNetworkCall,
  "network.create": createNetworkCall,
  "network.connect": connectNetworkCall,
  "network.disconnect": disconnectNetworkCall,
  "network.delete": deleteNetworkCall,
  "volume.list": listVolumesCall,
  "volume.inspect": inspectVolumeCall,
  "volume.create": createVolumeCall,
  "volume.delete": deleteVolumeCall,
  "volume.prune": pruneVolumesCall,
  "build": buildCall,
};

/** Hijacked calls (with `Upgrade: tcp`), by route id. */
export const HIJACK_HANDLERS: Readonly<Record<string, HijackHandler>> = {
  "container.attach": attachContainerCall,
  "exec.start": (connection, params, _query, apiVersion, api) =>
    startExecHijacked(connection, params, apiVersion, api),
};

/** Why a route has no handler, for its 501. */
const REASONS: Readonly<Record<string, string>> = {
  "container.attach": "attaching needs an upgraded connection (Connection: Upgrade, Upgrade: tcp)",
  "container.attach.ws": "websocket attach is not supported; attach with Upgrade: tcp",
  "container.pause": "containers cannot be paused (no cgroup freezer is used)",
  "container.unpause": "containers cannot be paused (no cgroup freezer is used)",
  "container.stats": "resource statistics are not served; see tsnspawn status NAME",
  "container.top": "listing a container's processes is not served; see tsnspawn status NAME",
  "container.archive.get": "copying files out of a container is not supported",
  "container.archive.head": "copying files out of a container is not supported",
  "container.archive.put": "copying files into a container is not supported",
  "container.changes": "listing a container's file changes is not supported",
  "container.update": "changing a container's limits after create is not supported",
  "image.search": "searching registries is not supported",
  "image.history": "image history is not served; see tsnspawn image inspect",
  "system.df": "disk usage is not served",
  "network.prune": "pruning networks is not supported; remove them by name",
  "volume.update": "volumes have no updatable options",
  "build.prune":
    "the build cache is pruned with the images: docker image prune, tsnspawn image prune",
  "build.cancel": "builds cannot be cancelled through the API",
};

/** The 501 for a route without a handler. */
export function notServed(route: Route, method: string, path: string): ApiError {
  const reason = REASONS[route.id] ??
    (route.support === "unsupported"
      ? "tsnspawn has no such feature"
      : "this endpoint is not served by tsnspawn's API yet");
  return new ApiError(501, `${method} ${path}: not supported by tsnspawn: ${reason}`);
}

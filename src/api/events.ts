/**
 * `GET /events` (pure): event records for what happens to containers,
 * images, networks and volumes, their JSON, and the `filters`, `since` and
 * `until` of the request.
 *
 * An event is `{"status","id","from","Type","Action","Actor":{"ID",
 * "Attributes"},"scope":"local","time","timeNano"}`, one JSON object and
 * "\n" per chunk (clients must not get half an event: podman#15037,
 * aiodocker#405). `status`, `id` and `from` are deprecated but compose 1.29
 * reads `status` and `id`, so they are always sent for container and image
 * events, as moby does below API 1.52. A container event's attributes are
 * its labels plus `image` and `name` (compose's log printer only follows
 * events whose attributes carry `com.docker.compose.service`), with
 * `exitCode` on "die", `signal` on "kill", `oldName` on "rename".
 * `timeNano` exceeds 2^53 and is written from a bigint, digit for digit.
 *
 * Filters follow moby's daemon/events/filter.go: `type`, `scope` exact;
 * `event` exact (prefix for exec_create, exec_start and health_status, whose
 * actions carry a suffix); `container`, `network`, `volume`, `daemon` match
 * the actor's ID or name by prefix; `image` matches the image (with or
 * without tag) exactly; `label` matches the attributes.
 *
 * References: Docker Engine API v1.44 (`GET /events`, EventMessage);
 * moby v28.2.2 api/types/events/events.go, daemon/events.go,
 * daemon/events/filter.go, api/server/router/system/system_routes.go
 * (getEvents); research notes /work/shared/research/docker-api.md §3.5, §4.
 */
import { badRequest } from "./errors.ts";
import {
  checkFilterKeys,
  exactMatch,
  type Filters,
  filterValues,
  hasFilter,
  labelsMatch,
  prefixMatch,
} from "./filters.ts";
import { familiarNameOf } from "./image_filters.ts";
import { parseTimestamp } from "./request.ts";
import { unixSeconds } from "./docker_time.ts";

/** The filters `GET /events` accepts. */
export const EVENT_FILTERS = [
  "config",
  "container",
  "daemon",
  "event",
  "image",
  "label",
  "network",
  "node",
  "plugin",
  "scope",
  "secret",
  "service",
  "type",
  "volume",
] as const;

/** Kinds of objects tsnspawn reports events for. */
export type EventType = "container" | "image" | "network" | "volume" | "daemon";

/** One event, before it becomes JSON. */
export interface EventRecord {
  type: EventType;
  /** "create", "start", "die", "exec_create: sh -c ...", "pull", "connect"... */
  action: string;
  /** The container's or network's ID, the image reference, the volume's name. */
  actorId: string;
  attributes: Record<string, string>;
  /** Nanoseconds since the epoch. */
  timeNs: bigint;
}

/** What a container event says about its container. */
export interface EventContainer {
  id: string;
  /** Without the leading slash. */
  name: string;
  /** The image as the container names it (inspect's Config.Image). */
  image: string;
  labels: Readonly<Record<string, string>>;
}

/**
 * A container event: attributes are the labels, then `image` and `name`,
 * then `extra` (`exitCode` for die, `signal` for kill, `oldName` for rename).
 */
export function planContainerEvent(
  action: string,
  container: EventContainer,
  timeNs: bigint,
  extra: Record<string, string> = {},
): EventRecord {
  return {
    type: "container",
    action,
    actorId: container.id,
    attributes: { ...container.labels, image: container.image, name: container.name, ...extra },
    timeNs,
  };
}

/** An image event (pull, tag, untag, delete, import, load, push): the actor is the reference or ID. */
export function planImageEvent(action: string, reference: string, timeNs: bigint): EventRecord {
  return { type: "image", action, actorId: reference, attributes: { name: reference }, timeNs };
}

/** A network event (create, connect, disconnect, destroy); connect and disconnect name the container. */
export function planNetworkEvent(
  action: string,
  network: { id: string; name: string },
  timeNs: bigint,
  containerId?: string,
): EventRecord {
  const attributes: Record<string, string> = { name: network.name, type: "bridge" };
  if (containerId !== undefined) attributes.container = containerId;
  return { type: "network", action, actorId: network.id, attributes, timeNs };
}

/** A volume event (create, mount, unmount, destroy). */
export function planVolumeEvent(
  action: string,
  volume: string,
  timeNs: bigint,
  containerId?: string,
): EventRecord {
  const attributes: Record<string, string> = { driver: "local" };
  if (containerId !== undefined) attributes.container = containerId;
  return { type: "volume", action, actorId: volume, attributes, timeNs };
}

/** The event's JSON and "\n": one chunk of the `/events` stream. */
export function formatEventLine(record: EventRecord): string {
  const legacy: Record<string, string> = {};
  if (record.type === "container" || record.type === "image") {
    legacy.status = record.action;
    legacy.id = record.actorId;
    if (record.type === "container") legacy.from = record.attributes.image ?? "";
  }
  const json = JSON.stringify({
    ...legacy,
    Type: record.type,
    Action: record.action,
    Actor: { ID: record.actorId, Attributes: record.attributes },
    scope: "local",
    time: unixSeconds(record.timeNs),
  });
  return `${json.slice(0, -1)},"timeNano":${record.timeNs}}\n`;
}

/** Actions that carry a suffix (`exec_start: sh`), matched by prefix (moby#25798). */
const SUFFIXED_ACTIONS = ["health_status", "exec_create", "exec_start"];

/** The predicate of an `/events` filter; throws a 400 for an unknown filter key. */
export function planEventFilter(filters: Filters): (record: EventRecord) => boolean {
  checkFilterKeys(filters, EVENT_FILTERS);
  const fuzzyEvent = filterValues(filters, "event").some((v) => SUFFIXED_ACTIONS.includes(v));
  const byName = (type: EventType, record: EventRecord) =>
    prefixMatch(filters, type, record.actorId) ||
    prefixMatch(filters, type, record.attributes.name ?? "");
  const none = (key: string) => !hasFilter(filters, key) || filterValues(filters, key).length === 0;
  return (record) => {
    const action = fuzzyEvent
      ? prefixMatch(filters, "event", record.action)
      : exactMatch(filters, "event", record.action);
    if (!action || !exactMatch(filters, "type", record.type)) return false;
    if (!exactMatch(filters, "scope", "local")) return false;
    for (const type of ["container", "network", "volume", "daemon"] as const) {
      if (!byName(type, record)) return false;
    }
    // tsnspawn has no plugins, nodes, services, secrets or configs: such filters match nothing.
    for (const key of ["plugin", "node", "service", "secret", "config"]) {
      if (!none(key)) return false;
    }
    const image = record.type === "image"
      ? record.attributes.name ?? ""
      : record.attributes.image ?? "";
    const imageMatches = exactMatch(filters, "image", record.actorId) ||
      exactMatch(filters, "image", image) ||
      exactMatch(filters, "image", familiarNameOf(record.actorId)) ||
      exactMatch(filters, "image", familiarNameOf(image));
    return imageMatches && labelsMatch(filters, "label", record.attributes);
  };
}

/** The time window of an `/events` request (nanoseconds; absent = open). */
export interface EventWindow {
  sinceNs?: bigint;
  untilNs?: bigint;
}

/** `since` and `until` of the query; moby's 400 when until is before since. */
export function parseEventWindow(query: URLSearchParams, now: Date): EventWindow {
  const window: EventWindow = {};
  const since = query.get("since") ?? "";
  const until = query.get("until") ?? "";
  if (since !== "") window.sinceNs = parseTimestamp(since, now, "since");
  if (until !== "") window.untilNs = parseTimestamp(until, now, "until");
  if (
    window.sinceNs !== undefined && window.untilNs !== undefined && window.untilNs < window.sinceNs
  ) {
    throw badRequest(`\`since\` time (${since}) cannot be after \`until\` time (${until})`);
  }
  return window;
}

/** The event falls in the window (both ends included). */
export function inEventWindow(record: EventRecord, window: EventWindow): boolean {
  return (window.sinceNs === undefined || record.timeNs >= window.sinceNs) &&
    (window.untilNs === undefined || record.timeNs <= window.untilNs);
}

import { assertEquals, assertThrows } from "@std/assert";
import {
  type EventRecord,
  formatEventLine,
  inEventWindow,
  parseEventWindow,
  planContainerEvent,
  planEventFilter,
  planImageEvent,
  planNetworkEvent,
  planVolumeEvent,
} from "./events.ts";
import { parseFilters } from "./filters.ts";
import { parseRequestTarget } from "./request.ts";
import { ApiError } from "./errors.ts";

const T = 1_700_000_000_123_456_789n;
const WEB = {
  id: "4c53".repeat(16),
  name: "proj_web_1",
  image: "busybox",
  labels: {
    "com.docker.compose.project": "proj",
    "com.docker.compose.service": "web",
    "com.docker.compose.oneoff": "False",
  },
};
const COMPOSE: { requests: { path: string }[] } = JSON.parse(
  Deno.readTextFileSync(new URL("./testdata/compose_1.29.2.json", import.meta.url)),
);
const CLI: { captures: { command: string; requests: { path: string }[] }[] } = JSON.parse(
  Deno.readTextFileSync(new URL("./testdata/docker_cli_28.2.2_paths.json", import.meta.url)),
);

Deno.test("formatEventLine: docker's event with the legacy fields compose reads", () => {
  const line = formatEventLine(planContainerEvent("die", WEB, T, { exitCode: "3" }));
  assertEquals(line.endsWith("}\n"), true);
  assertEquals(line.split("\n").length, 2);
  // timeNano is written exactly (JSON.parse would round it: it exceeds 2^53).
  assertEquals(line.includes('"timeNano":1700000000123456789}'), true);
  const event = JSON.parse(line);
  assertEquals(event.status, "die");
  assertEquals(event.id, WEB.id);
  assertEquals(event.from, "busybox");
  assertEquals(event.Type, "container");
  assertEquals(event.Action, "die");
  assertEquals(event.Actor, {
    ID: WEB.id,
    Attributes: { ...WEB.labels, image: "busybox", name: "proj_web_1", exitCode: "3" },
  });
  assertEquals([event.scope, event.time], ["local", 1_700_000_000]);
  assertEquals(Object.keys(event), [
    "status",
    "id",
    "from",
    "Type",
    "Action",
    "Actor",
    "scope",
    "time",
    "timeNano",
  ]);
});

Deno.test("formatEventLine: image, network and volume events", () => {
  const image = JSON.parse(formatEventLine(planImageEvent("pull", "busybox:latest", T)));
  assertEquals([image.status, image.id, image.from], ["pull", "busybox:latest", undefined]);
  assertEquals(image.Actor.Attributes, { name: "busybox:latest" });
  const network = JSON.parse(
    formatEventLine(
      planNetworkEvent("connect", { id: "n".repeat(64), name: "proj_backend" }, T, WEB.id),
    ),
  );
  assertEquals([network.status, network.Type], [undefined, "network"]);
  assertEquals(network.Actor.Attributes, {
    name: "proj_backend",
    type: "bridge",
    container: WEB.id,
  });
  const volume = JSON.parse(formatEventLine(planVolumeEvent("create", "proj_dbdata", T)));
  assertEquals(volume.Actor, { ID: "proj_dbdata", Attributes: { driver: "local" } });
});

function matching(filters: string, records: EventRecord[]): string[] {
  const include = planEventFilter(parseFilters(filters));
  return records.filter(include).map((r) => `${r.type}:${r.action}`);
}

const RECORDS: EventRecord[] = [
  planContainerEvent("create", WEB, T),
  planContainerEvent("start", WEB, T),
  planContainerEvent("exec_start: sh -c true", WEB, T),
  planContainerEvent(
    "start",
    { id: "9".repeat(64), name: "other", image: "alpine:3", labels: {} },
    T,
  ),
  planImageEvent("pull", "busybox:latest", T),
  planNetworkEvent("connect", { id: "n".repeat(64), name: "proj_backend" }, T, WEB.id),
];

Deno.test("planEventFilter: compose 1.29's label filter in list form, from the capture", () => {
  const path = COMPOSE.requests.find((r) => r.path.includes("/events"))!.path;
  const filters = parseRequestTarget(path).query.get("filters");
  assertEquals(matching(filters!, RECORDS), [
    "container:create",
    "container:start",
    "container:exec_start: sh -c true",
  ]);
});

Deno.test("planEventFilter: the docker CLI's filters, from the capture", () => {
  const capture = CLI.captures.find((c) => c.command.startsWith("docker events"))!;
  const query = parseRequestTarget(capture.requests[0].path).query;
  // {"event":{"start":true},"label":{"a=b":true},"type":{"container":true}}
  const labelled = { ...WEB, labels: { a: "b" } };
  assertEquals(
    matching(query.get("filters")!, [...RECORDS, planContainerEvent("start", labelled, T)]),
    ["container:start"],
  );
  assertEquals(parseEventWindow(query, new Date()), {
    sinceNs: 1_700_000_000n * 1_000_000_000n,
    untilNs: 1_700_000_100n * 1_000_000_000n,
  });
});

Deno.test("planEventFilter: container, image, type, event, network", () => {
  assertEquals(matching('{"container":["proj_web"]}', RECORDS).length, 3);
  assertEquals(matching(`{"container":["${"9".repeat(12)}"]}`, RECORDS), ["container:start"]);
  assertEquals(matching('{"image":["busybox"]}', RECORDS), [
    "container:create",
    "container:start",
    "container:exec_start: sh -c true",
    "image:pull",
  ]);
  assertEquals(matching('{"image":["alpine"]}', RECORDS), ["container:start"]);
  assertEquals(matching('{"type":["image"]}', RECORDS), ["image:pull"]);
  assertEquals(matching('{"event":["exec_start"]}', RECORDS), ["container:exec_start: sh -c true"]);
  assertEquals(matching('{"event":["start"]}', RECORDS), ["container:start", "container:start"]);
  assertEquals(matching('{"network":["proj_backend"]}', RECORDS), ["network:connect"]);
  assertEquals(matching('{"service":["x"]}', RECORDS), []);
  assertEquals(matching('{"scope":["swarm"]}', RECORDS), []);
  assertThrows(
    () => planEventFilter(parseFilters('{"colour":["x"]}')),
    ApiError,
    "invalid filter 'colour'",
  );
});

Deno.test("parseEventWindow and inEventWindow", () => {
  const now = new Date(1_700_000_000_000);
  const window = parseEventWindow(new URLSearchParams("since=1699999900&until=1m"), now);
  assertEquals(
    inEventWindow(planImageEvent("pull", "x", 1_699_999_999n * 1_000_000_000n), window),
    false,
  );
  assertEquals(window.untilNs, 1_699_999_940n * 1_000_000_000n);
  assertEquals(parseEventWindow(new URLSearchParams(""), now), {});
  assertEquals(inEventWindow(planImageEvent("pull", "x", T), {}), true);
  assertThrows(
    () => parseEventWindow(new URLSearchParams("since=20&until=10"), now),
    ApiError,
    "cannot be after",
  );
});

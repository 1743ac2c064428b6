import { assertEquals, assertThrows } from "@std/assert";
import {
  type ContainerListFacts,
  type ContainerListQuery,
  selectContainers,
} from "./container_filters.ts";
import { parseFilters } from "./filters.ts";
import { ApiError } from "./errors.ts";

const hex = (c: string) => c.repeat(64);
const compose = (service: string, oneoff = "False") => ({
  "com.docker.compose.project": "proj",
  "com.docker.compose.service": service,
  "com.docker.compose.oneoff": oneoff,
});

/** Newest first, as listings come. */
const CONTAINERS: ContainerListFacts[] = [
  {
    id: hex("e"),
    name: "proj_web_1",
    labels: compose("web"),
    status: "running",
    exitCode: 0,
    started: true,
    imageId: "sha256:" + hex("1"),
    health: "healthy",
    networks: [{ name: "proj_backend", id: hex("9") }],
    mounts: [{ source: "/srv", destination: "/srv" }],
    ports: [{ privatePort: 80, publicPort: 8080, type: "tcp" }],
  },
  {
    id: hex("d"),
    name: "proj_db_1",
    labels: compose("db"),
    status: "exited",
    exitCode: 3,
    started: true,
    imageId: "sha256:" + hex("1"),
    health: "none",
    networks: [{ name: "proj_backend", id: hex("9") }],
    mounts: [{ name: "proj_dbdata", source: "/var/lib/x", destination: "/data" }],
    ports: [{ privatePort: 5432, type: "tcp" }],
  },
  {
    id: "c0" + hex("c").slice(2),
    name: "loose",
    labels: {},
    status: "created",
    exitCode: 0,
    started: false,
    imageId: "sha256:" + hex("2"),
    health: "none",
    networks: [{ name: "bridge", id: hex("8") }],
    mounts: [],
    ports: [],
  },
  {
    id: "c1" + hex("c").slice(2),
    name: "other",
    labels: { a: "b" },
    status: "running",
    exitCode: 0,
    started: true,
    imageId: "sha256:" + hex("2"),
    health: "starting",
    networks: [],
    mounts: [],
    ports: [{ privatePort: 53, publicPort: 53, type: "udp" }],
  },
];

const IMAGES: Record<string, string> = {
  busybox: "sha256:" + hex("1"),
  alpine: "sha256:" + hex("2"),
};

function names(filters: string, options: Partial<ContainerListQuery> = {}): string[] {
  return selectContainers(CONTAINERS, {
    all: false,
    limit: 0,
    filters: parseFilters(filters),
    resolveImageId: (ref) => IMAGES[ref] ?? (ref.startsWith("sha256:") ? ref : undefined),
    ...options,
  }).map((c) => c.name);
}

Deno.test("selectContainers: running only unless all, limit or a status filter", () => {
  assertEquals(names(""), ["proj_web_1", "other"]);
  assertEquals(names("", { all: true }), ["proj_web_1", "proj_db_1", "loose", "other"]);
  assertEquals(names("", { limit: 2 }), ["proj_web_1", "proj_db_1"]);
  assertEquals(names('{"status":["exited"]}'), ["proj_db_1"]);
  assertEquals(names('{"status":["created","exited"]}'), ["proj_db_1", "loose"]);
});

Deno.test("selectContainers: compose 1.29's label filters in list form", () => {
  const project = '{"label":["com.docker.compose.project=proj","com.docker.compose.oneoff=False"]}';
  assertEquals(names(project, { all: true }), ["proj_web_1", "proj_db_1"]);
  assertEquals(names(project), ["proj_web_1"]);
  assertEquals(
    names(
      '{"status": ["created", "exited"], "label": ["com.docker.compose.project=proj", "com.docker.compose.service=web", "com.docker.compose.oneoff=False"]}',
    ),
    [],
  );
  assertEquals(
    names('{"label":["com.docker.compose.project=proj","com.docker.compose.oneoff=True"]}'),
    [],
  );
  assertEquals(names('{"label":{"a":true}}', { all: true }), ["other"]);
});

Deno.test("selectContainers: name and id", () => {
  assertEquals(names('{"name":{"proj_db_1":true}}', { all: true }), ["proj_db_1"]);
  assertEquals(names('{"name":["/proj_db_1"]}', { all: true }), ["proj_db_1"]);
  assertEquals(names('{"name":["^proj_"]}', { all: true }), ["proj_web_1", "proj_db_1"]);
  assertEquals(names('{"id":["eee"]}'), ["proj_web_1"]);
  assertEquals(names(`{"id":["${hex("d")}"]}`, { all: true }), ["proj_db_1"]);
  // An ambiguous prefix names nothing, as moby's GetByPrefix.
  assertEquals(names('{"id":["c"]}', { all: true }), []);
  assertEquals(names('{"id":["c1"]}', { all: true }), ["other"]);
  assertEquals(names('{"id":["eee"],"name":["db"]}', { all: true }), []);
});

Deno.test("selectContainers: exited, health, volume, network, ports, ancestor, is-task", () => {
  assertEquals(names('{"exited":["3"]}', { all: true }), ["proj_db_1"]);
  assertEquals(names('{"exited":["0"]}', { all: true }), []);
  assertEquals(names('{"health":["healthy"]}'), ["proj_web_1"]);
  assertEquals(names('{"health":["none"]}', { all: true }), ["proj_db_1", "loose"]);
  assertEquals(names('{"volume":["proj_dbdata"]}', { all: true }), ["proj_db_1"]);
  assertEquals(names('{"volume":["/srv"]}', { all: true }), ["proj_web_1"]);
  assertEquals(names('{"network":["proj_backend"]}', { all: true }), ["proj_web_1", "proj_db_1"]);
  assertEquals(names('{"network":["8888"]}', { all: true }), ["loose"]);
  assertEquals(names('{"publish":["8080"]}'), ["proj_web_1"]);
  assertEquals(names('{"publish":["50-60/udp"]}'), ["other"]);
  assertEquals(names('{"expose":["5432/tcp"]}', { all: true }), ["proj_db_1"]);
  assertEquals(names('{"ancestor":["alpine"]}', { all: true }), ["loose", "other"]);
  assertEquals(names('{"ancestor":["missing"]}', { all: true }), []);
  assertEquals(names('{"is-task":["true"]}', { all: true }), []);
  assertEquals(names('{"is-task":["false"]}', { all: true }).length, 4);
  assertEquals(names('{"isolation":["default"]}').length, 2);
  assertEquals(names('{"isolation":["hyperv"]}').length, 0);
});

Deno.test("selectContainers: before and since cut the newest-first list", () => {
  assertEquals(names('{"before":["proj_db_1"]}', { all: true }), ["loose", "other"]);
  assertEquals(names('{"since":["loose"]}', { all: true }), ["proj_web_1", "proj_db_1"]);
  assertEquals(names(`{"since":["${hex("e")}"]}`, { all: true }), []);
  const error = assertThrows(() => names('{"before":["nope"]}'), ApiError);
  assertEquals(error.status, 404);
});

Deno.test("selectContainers: bad filters and values are 400s", () => {
  for (
    const [filters, message] of [
      ['{"colour":["x"]}', "invalid filter 'colour'"],
      ['{"status":["sleeping"]}', "invalid filter 'status=sleeping'"],
      ['{"health":["ok"]}', "invalid filter 'health=ok'"],
      ['{"exited":["x"]}', "invalid filter 'exited=x'"],
      ['{"publish":["0.0.0.0:80"]}', "should not contain ':'"],
      ['{"expose":["80-70"]}', "invalid port or range"],
      ['{"is-task":["maybe"]}', "invalid filter 'is-task"],
    ]
  ) {
    const error = assertThrows(() => names(filters), ApiError, message);
    assertEquals(error.status, 400);
  }
});

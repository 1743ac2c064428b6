import { assertEquals, assertThrows } from "@std/assert";
import {
  type NetworkListFacts,
  selectNetworks,
  selectVolumes,
  type VolumeListFacts,
} from "./resource_filters.ts";
import { parseFilters } from "./filters.ts";
import { ApiError } from "./errors.ts";
import { parseRequestTarget } from "./request.ts";

const NETWORKS: NetworkListFacts[] = [
  { id: "1".repeat(64), name: "bridge", driver: "bridge", labels: {}, containers: 0 },
  { id: "2".repeat(64), name: "host", driver: "host", labels: {}, containers: 0 },
  { id: "3".repeat(64), name: "none", driver: "null", labels: {}, containers: 0 },
  {
    id: "4".repeat(64),
    name: "proj_backend",
    driver: "bridge",
    labels: { "com.docker.compose.project": "proj" },
    containers: 2,
  },
  { id: "5".repeat(64), name: "spare", driver: "bridge", labels: {}, containers: 0 },
];

const names = (filters: string) =>
  selectNetworks(NETWORKS, parseFilters(filters)).map((n) => n.name);

Deno.test("selectNetworks: name, id, driver, label, type, dangling", () => {
  assertEquals(names("").length, 5);
  assertEquals(names('{"name":{"proj":true}}'), ["proj_backend"]);
  assertEquals(names('{"name":["^b"]}'), ["bridge"]);
  assertEquals(names('{"id":["44"]}'), ["proj_backend"]);
  assertEquals(names('{"driver":["bridge"]}'), ["bridge", "proj_backend", "spare"]);
  assertEquals(names('{"label":["com.docker.compose.project=proj"]}'), ["proj_backend"]);
  assertEquals(names('{"type":["builtin"]}'), ["bridge", "host", "none"]);
  assertEquals(names('{"type":["custom"]}'), ["proj_backend", "spare"]);
  assertEquals(names('{"dangling":["true"]}'), ["spare"]);
  assertEquals(names('{"dangling":["false"]}'), ["bridge", "host", "none", "proj_backend"]);
  assertEquals(names('{"scope":["swarm"]}'), []);
  assertThrows(() => names('{"type":["odd"]}'), ApiError, "invalid filter");
  assertThrows(() => names('{"colour":["x"]}'), ApiError, "invalid filter 'colour'");
});

Deno.test("selectVolumes: the docker CLI's label filter from the capture", () => {
  const capture: { captures: { command: string; requests: { path: string }[] }[] } = JSON.parse(
    Deno.readTextFileSync(new URL("./testdata/docker_cli_28.2.2_paths.json", import.meta.url)),
  );
  const path = capture.captures.find((c) => c.command === "docker volume ls --filter label=a")!
    .requests[0].path;
  const filters = parseFilters(parseRequestTarget(path).query.get("filters"));
  const volumes: VolumeListFacts[] = [
    { name: "proj_dbdata", driver: "local", labels: { a: "1" }, containers: 1 },
    { name: "loose", driver: "local", labels: {}, containers: 0 },
  ];
  assertEquals(selectVolumes(volumes, filters).map((v) => v.name), ["proj_dbdata"]);
  assertEquals(selectVolumes(volumes, parseFilters('{"dangling":["1"]}')).map((v) => v.name), [
    "loose",
  ]);
  assertEquals(selectVolumes(volumes, parseFilters('{"name":["db"]}')).map((v) => v.name), [
    "proj_dbdata",
  ]);
  assertEquals(selectVolumes(volumes, parseFilters('{"driver":["nfs"]}')), []);
  assertThrows(() => selectVolumes(volumes, parseFilters('{"id":["x"]}')), ApiError);
});

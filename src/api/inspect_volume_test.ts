/**
 * Volumes in Docker's JSON and the volume requests: what the docker CLI
 * and compose send, mapped onto ops/volume.ts's requests; refusals name
 * the field.
 */
import { assertEquals, assertThrows } from "@std/assert";
import { ApiError } from "./errors.ts";
import { parseFilters } from "./filters.ts";
import {
  formatVolume,
  formatVolumePrune,
  planVolumeCreate,
  planVolumePrune,
} from "./inspect_volume.ts";
import { selectVolumes, type VolumeListFacts } from "./resource_filters.ts";

Deno.test("volume create: compose's and the CLI's bodies", () => {
  // docker-compose 1.29.2 (recorded in testdata/compose_1.29.2.json).
  assertEquals(
    planVolumeCreate({
      Name: "proj_dbdata",
      Driver: null,
      DriverOpts: null,
      Labels: { "com.docker.compose.project": "proj", "com.docker.compose.volume": "dbdata" },
    }),
    {
      name: "proj_dbdata",
      labels: { "com.docker.compose.project": "proj", "com.docker.compose.volume": "dbdata" },
      options: {},
    },
  );
  // docker volume create --driver local --opt type=tmpfs --opt device=tmpfs --label a=b v1
  assertEquals(
    planVolumeCreate({
      Driver: "local",
      DriverOpts: { type: "tmpfs", device: "tmpfs" },
      Labels: { a: "b" },
      Name: "v1",
    }),
    { name: "v1", labels: { a: "b" }, options: { type: "tmpfs", device: "tmpfs" } },
  );
  // docker volume create (no name): a random one.
  assertEquals(planVolumeCreate({ Driver: "local", DriverOpts: {}, Labels: {}, Name: "" }), {
    labels: {},
    options: {},
  });
});

Deno.test("volume create: other drivers, cluster volumes and unknown fields are refused", () => {
  const refused = (body: Record<string, unknown>, field: string) => {
    const error = assertThrows(() => planVolumeCreate(body), ApiError);
    assertEquals(error.status, 400);
    assertEquals(error.message.startsWith(field), true, error.message);
  };
  refused({ Name: "v", Driver: "nfs" }, "Driver=");
  refused({ Name: "v", ClusterVolumeSpec: { Group: "g" } }, "ClusterVolumeSpec=");
  refused({ Name: "v", Size: 10 }, "Size=");
  assertThrows(() => planVolumeCreate({ Name: 3 }), ApiError, "Name");
});

Deno.test("volume JSON: Docker's fields, CreatedAt in seconds, Options null when none", () => {
  const volume = {
    Name: "data",
    Driver: "local",
    Mountpoint: "/var/lib/tsnspawn/volumes/data/_data",
    CreatedAt: "2024-01-01T00:00:00.123Z",
    Labels: { a: "b" },
    Options: {},
  };
  assertEquals(formatVolume(volume), {
    CreatedAt: "2024-01-01T00:00:00Z",
    Driver: "local",
    Labels: { a: "b" },
    Mountpoint: "/var/lib/tsnspawn/volumes/data/_data",
    Name: "data",
    Options: null,
    Scope: "local",
  });
  assertEquals(formatVolume({ ...volume, Options: { type: "tmpfs" } }).Options, { type: "tmpfs" });
});

Deno.test("volume ls filters: name, driver, label, dangling, in both forms", () => {
  const volumes: VolumeListFacts[] = [
    {
      name: "proj_db",
      driver: "local",
      labels: { "com.docker.compose.project": "proj" },
      containers: 1,
    },
    { name: "cache", driver: "local", labels: {}, containers: 0 },
  ];
  const names = (filters: string) =>
    selectVolumes(volumes, parseFilters(filters)).map((v) => v.name);
  assertEquals(names('{"label":{"com.docker.compose.project=proj":true}}'), ["proj_db"]);
  assertEquals(names('{"label":["com.docker.compose.project"]}'), ["proj_db"]);
  assertEquals(names('{"dangling":["true"]}'), ["cache"]);
  assertEquals(names('{"name":["^proj"]}'), ["proj_db"]);
  assertEquals(names('{"driver":["local"]}'), ["proj_db", "cache"]);
  assertEquals(names('{"driver":["nfs"]}'), []);
  assertThrows(() => names('{"bogus":["x"]}'), ApiError, "bogus");
});

Deno.test("volume prune: anonymous only unless all=true; labels; others refused", () => {
  assertEquals(planVolumePrune(parseFilters("")), { all: false });
  assertEquals(planVolumePrune(parseFilters('{"all":["true"]}')), { all: true });
  assertEquals(planVolumePrune(parseFilters('{"label":{"a=b":true}}')), {
    all: false,
    label: ["a=b"],
  });
  assertThrows(() => planVolumePrune(parseFilters('{"label!":["a"]}')), ApiError, "label!");
  assertThrows(() => planVolumePrune(parseFilters('{"all":["maybe"]}')), ApiError);
  assertEquals(formatVolumePrune(["a", "b"], 4096), {
    VolumesDeleted: ["a", "b"],
    SpaceReclaimed: 4096,
  });
});

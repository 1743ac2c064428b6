import { assertEquals, assertThrows } from "@std/assert";
import {
  formatNetwork,
  planNetworkConnect,
  planNetworkCreate,
  planNetworkDisconnect,
} from "./inspect_network.ts";
import { ApiError } from "./errors.ts";

const gateway = (subnet: string) => subnet.replace(/\.0\/\d+$/, ".1");

Deno.test("planNetworkCreate: compose 1.29's body (observed) maps to a name and its labels", () => {
  const body = {
    Name: "proj_backend",
    Driver: null,
    Options: null,
    IPAM: null,
    CheckDuplicate: true,
    Internal: false,
    Labels: {
      "com.docker.compose.project": "proj",
      "com.docker.compose.network": "backend",
      "com.docker.compose.version": "1.29.2",
    },
    EnableIPv6: false,
    Attachable: true,
  };
  assertEquals(planNetworkCreate(body, gateway), {
    name: "proj_backend",
    labels: {
      "com.docker.compose.project": "proj",
      "com.docker.compose.network": "backend",
      "com.docker.compose.version": "1.29.2",
    },
  });
});

Deno.test("planNetworkCreate: a subnet with its first address as gateway; the rest refused", () => {
  const ipam = (config: Record<string, unknown>) => ({
    Name: "n",
    IPAM: { Driver: "default", Config: [config] },
  });
  assertEquals(
    planNetworkCreate(ipam({ Subnet: "10.90.0.0/24", Gateway: "10.90.0.1" }), gateway).subnet,
    "10.90.0.0/24",
  );
  const refused = (body: Record<string, unknown>, field: string) => {
    const error = assertThrows(() => planNetworkCreate(body, gateway), ApiError);
    assertEquals(error.status, 400);
    assertEquals(error.message.startsWith(field), true, error.message);
  };
  refused(ipam({ Subnet: "10.90.0.0/24", Gateway: "10.90.0.9" }), "IPAM.Config[0].Gateway=");
  refused(ipam({ Subnet: "10.90.0.0/24", IPRange: "10.90.0.128/25" }), "IPAM.Config[0].IPRange=");
  refused(ipam({ Subnet: "fd00::/64" }), "IPAM.Config[0].Subnet=");
  refused({ Name: "n", Driver: "overlay" }, "Driver=");
  refused({ Name: "n", Internal: true }, "Internal=");
  refused({ Name: "n", EnableIPv6: true }, "EnableIPv6=");
  refused({ Name: "n", Options: { "com.docker.network.bridge.name": "br9" } }, "Options=");
  refused({ Name: "n", Something: 1 }, "Something=");
  refused({}, "Name:");
});

Deno.test("formatNetwork: the fields compose compares, containers by ID", () => {
  const json = formatNetwork({
    id: "a".repeat(64),
    name: "proj_backend",
    driver: "bridge",
    created: "2026-12-03T12:00:00.5Z",
    subnet: "10.89.0.0/16",
    gateway: "10.89.0.1",
    labels: { "com.docker.compose.project": "proj" },
    containers: [{ id: "b".repeat(64), name: "proj_db_1", address: "10.89.0.2", prefixLength: 16 }],
  });
  assertEquals(json.Driver, "bridge");
  assertEquals(json.Options, {});
  assertEquals(json.Internal, false);
  assertEquals(json.EnableIPv6, false);
  assertEquals(json.IPAM, {
    Driver: "default",
    Options: null,
    Config: [{ Subnet: "10.89.0.0/16", Gateway: "10.89.0.1" }],
  });
  assertEquals(json.Created, "2026-12-03T12:00:00.5Z");
  assertEquals(
    (json.Containers as Record<string, { IPv4Address: string }>)["b".repeat(64)].IPv4Address,
    "10.89.0.2/16",
  );
});

Deno.test("planNetworkConnect and Disconnect: compose's bodies", () => {
  assertEquals(
    planNetworkConnect({
      Container: "abc",
      EndpointConfig: { Aliases: ["2b9f866c0651", "db"], IPAMConfig: {} },
    }),
    { container: "abc", aliases: ["2b9f866c0651", "db"] },
  );
  assertEquals(planNetworkDisconnect({ Container: "abc" }), { container: "abc", force: false });
  assertThrows(
    () =>
      planNetworkConnect({
        Container: "abc",
        EndpointConfig: { IPAMConfig: { IPv4Address: "10.0.0.5" } },
      }),
    ApiError,
    "static addresses",
  );
});

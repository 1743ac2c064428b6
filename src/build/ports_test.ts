import { assertEquals, assertThrows } from "@std/assert";
import { TsnspawnError } from "../errors.ts";
import { normalizeExposedPort } from "./ports.ts";

Deno.test("ports are normalised to port/proto", () => {
  assertEquals(normalizeExposedPort("80"), ["80/tcp"]);
  assertEquals(normalizeExposedPort("53/UDP"), ["53/udp"]);
  assertEquals(normalizeExposedPort("9/sctp"), ["9/sctp"]);
  assertEquals(normalizeExposedPort("8000-8002"), ["8000/tcp", "8001/tcp", "8002/tcp"]);
  assertEquals(normalizeExposedPort("80/"), ["80/tcp"]);
  assertEquals(normalizeExposedPort("127.0.0.1:8080:80/tcp"), ["80/tcp"]);
  assertEquals(normalizeExposedPort("0"), ["0/tcp"]);
});

Deno.test("bad ports", () => {
  for (const spec of ["", "/tcp", "http", "80/xyz", "70000", "90-80", "-1", "8o"]) {
    assertThrows(() => normalizeExposedPort(spec), TsnspawnError, "invalid port", spec);
  }
});

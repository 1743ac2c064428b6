import { assertEquals, assertThrows } from "@std/assert";
import { BodyReader, isZeroValue } from "./body_fields.ts";
import { ApiError } from "./errors.ts";

Deno.test("isZeroValue: Go's zero values over JSON", () => {
  for (const zero of [null, undefined, false, 0, "", [], {}, { a: null, b: [], c: { d: 0 } }]) {
    assertEquals(isZeroValue(zero), true, JSON.stringify(zero));
  }
  for (const value of [true, 1, -1, "x", [0], [""], { a: 1 }, { a: { b: "x" } }]) {
    assertEquals(isZeroValue(value), false, JSON.stringify(value));
  }
});

Deno.test("BodyReader: typed getters name the field; null reads as absent", () => {
  const body = new BodyReader(
    { Memory: 5, Tty: null, Env: ["A=1"], Labels: { a: "b" } },
    "HostConfig",
  );
  assertEquals(body.integer("Memory"), 5);
  assertEquals(body.boolean("Tty"), undefined);
  assertEquals(body.strings("Env"), ["A=1"]);
  assertEquals(body.stringMap("Labels"), { a: "b" });
  assertEquals(body.string("Absent"), undefined);
  assertThrows(
    () => body.string("Memory"),
    ApiError,
    "HostConfig.Memory: expected a string, not 5",
  );
  assertThrows(
    () => new BodyReader({ x: [1] }).strings("x"),
    ApiError,
    "x: expected an array of strings",
  );
  assertThrows(() => new BodyReader({ x: 1.5 }).integer("x"), ApiError, "expected an integer");
  assertThrows(() => new BodyReader([], "Config"), ApiError, "Config: expected a JSON object");
  const nested = new BodyReader({ Mounts: [{ Type: "bind" }, null] }, "HostConfig").objects(
    "Mounts",
  );
  assertEquals(nested.map((m) => m.path), ["HostConfig.Mounts[0]", "HostConfig.Mounts[1]"]);
  assertEquals(nested[0].string("Type"), "bind");
});

Deno.test("BodyReader: names match in any case, as Go's encoding/json", () => {
  const body = new BodyReader({ image: "busybox", HOSTCONFIG: {} });
  assertEquals(body.string("Image"), "busybox");
  assertEquals(body.child("HostConfig").path, "HostConfig");
  body.finish("unknown");
});

Deno.test("BodyReader: finish refuses unread fields that are not zero", () => {
  const body = new BodyReader({ Known: 1, Zero: { a: [] }, New: "x" }, "HostConfig");
  body.integer("Known");
  assertEquals(body.unread().map(([k]) => k), ["Zero", "New"]);
  const error = assertThrows(() => body.finish("tsnspawn does not know this field"), ApiError);
  assertEquals(error.status, 400);
  assertEquals(
    error.message,
    'HostConfig.New="x": not supported by tsnspawn: tsnspawn does not know this field',
  );
  const quiet = new BodyReader({ Zero: 0, Ignored: "whatever" });
  quiet.ignore("Ignored");
  quiet.finish("x");
});

Deno.test("BodyReader.defaultOnly: the default passes, anything else is named", () => {
  const body = new BodyReader({ IpcMode: "host", Runtime: "runc", ShmSize: 0 }, "HostConfig");
  body.defaultOnly("ShmSize", "no");
  body.defaultOnly("Runtime", "no", (v) => v === undefined || v === "runc");
  assertThrows(
    () => body.defaultOnly("IpcMode", "private only", (v) => v === undefined || v === "private"),
    ApiError,
    'HostConfig.IpcMode="host": not supported by tsnspawn: private only',
  );
});

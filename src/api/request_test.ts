import { assertEquals, assertThrows } from "@std/assert";
import {
  checkJsonContentType,
  parseDockerBool,
  parseJsonObject,
  parseRegistryAuth,
  parseRequestTarget,
  parseTail,
  parseTimestamp,
  planPullReference,
  queryBool,
  queryInt,
  queryJson,
} from "./request.ts";
import { ApiError } from "./errors.ts";

const q = (text: string) => new URLSearchParams(text);

Deno.test("parseRequestTarget keeps the path encoded and decodes the query (+ is a space)", () => {
  const { path, query } = parseRequestTarget(
    "/v1.44/containers/json?limit=-1&all=0&filters=%7B%22label%22%3A+%5B%22a%3Db%22%5D%7D",
  );
  assertEquals(path, "/v1.44/containers/json");
  assertEquals(query.get("filters"), '{"label": ["a=b"]}');
  assertEquals(parseRequestTarget("/_ping").query.toString(), "");
});

Deno.test("booleans as moby's BoolValue: docker-py's True/False, the CLI's 1", () => {
  for (const text of ["", "0", "no", "false", "False", "FALSE", "none", " 0 "]) {
    assertEquals(parseDockerBool(text), false, text);
  }
  for (const text of ["1", "true", "True", "yes", "on", "anything"]) {
    assertEquals(parseDockerBool(text), true, text);
  }
  // docker-compose: DELETE ...?v=False&link=False&force=False
  const compose = q("v=False&link=False&force=False");
  assertEquals(queryBool(compose, "force"), false);
  assertEquals(queryBool(q("force=1"), "force"), true);
  assertEquals(queryBool(q(""), "stream", true), true);
  assertEquals(queryBool(q("stream="), "stream", true), false);
});

Deno.test("queryInt: decimal integers in range, 400 naming the parameter", () => {
  assertEquals(queryInt(q("t=10"), "t"), 10);
  assertEquals(queryInt(q("limit=-1"), "limit", 0), -1);
  assertEquals(queryInt(q(""), "t"), undefined);
  assertEquals(queryInt(q("t="), "t", 10), 10);
  const error = assertThrows(() => queryInt(q("h=abc"), "h", 0, { min: 0, max: 65535 }), ApiError);
  assertEquals(error.status, 400);
  assertEquals(error.message, 'invalid value for h: "abc" is not an integer from 0 to 65535');
  assertThrows(() => queryInt(q("h=70000"), "h", 0, { min: 0, max: 65535 }), ApiError);
  assertThrows(() => queryInt(q("t=1.5"), "t"), ApiError, "invalid value for t");
});

Deno.test("queryJson is lenient with empty values, strict with syntax", () => {
  assertEquals(queryJson(q("cachefrom=[]"), "cachefrom"), []);
  assertEquals(queryJson(q("buildargs="), "buildargs"), undefined);
  assertEquals(queryJson(q(""), "filters"), undefined);
  assertThrows(() => queryJson(q("filters={x"), "filters"), ApiError, "query parameter filters");
});

Deno.test("JSON bodies: content type, objects only, empty as asked", () => {
  checkJsonContentType("application/json", 10);
  checkJsonContentType("application/json; charset=utf-8", 10);
  checkJsonContentType(null, 0);
  assertThrows(() => checkJsonContentType("text/plain", 5), ApiError, "must be 'application/json'");
  assertThrows(() => checkJsonContentType(null, 5), ApiError);
  assertEquals(parseJsonObject('{"Image":"busybox"}'), { Image: "busybox" });
  assertEquals(parseJsonObject("", { emptyIsObject: true }), {});
  assertEquals(parseJsonObject("null", { emptyIsObject: true }), {});
  assertThrows(() => parseJsonObject(""), ApiError, "empty");
  assertThrows(() => parseJsonObject("[1]"), ApiError, "must be an object");
  assertThrows(() => parseJsonObject("{"), ApiError, "invalid JSON");
});

Deno.test("parseTail: all, negative and garbage mean every line", () => {
  assertEquals(parseTail("all"), undefined);
  assertEquals(parseTail(null), undefined);
  assertEquals(parseTail("-1"), undefined);
  assertEquals(parseTail("x"), undefined);
  assertEquals(parseTail("5"), 5);
  assertEquals(parseTail("0"), 0);
});

Deno.test("parseTimestamp: unix seconds, RFC 3339, durations back from now", () => {
  const now = new Date("2026-01-02T03:04:05Z");
  const nowNs = BigInt(now.getTime()) * 1_000_000n;
  assertEquals(parseTimestamp("1700000000", now), 1_700_000_000_000_000_000n);
  assertEquals(parseTimestamp("1700000000.5", now), 1_700_000_000_500_000_000n);
  assertEquals(parseTimestamp("1700000000.000000001", now), 1_700_000_000_000_000_001n);
  assertEquals(parseTimestamp("10m", now), nowNs - 600_000_000_000n);
  assertEquals(parseTimestamp("1h30m", now), nowNs - 5_400_000_000_000n);
  assertEquals(parseTimestamp("1.5s", now), nowNs - 1_500_000_000n);
  assertEquals(parseTimestamp("2026-01-02", now), BigInt(Date.UTC(2026, 0, 2)) * 1_000_000n);
  assertEquals(
    parseTimestamp("2026-01-02T03:04:05.25+01:00", now),
    BigInt(Date.UTC(2026, 0, 2, 2, 4, 5)) * 1_000_000n + 250_000_000n,
  );
  assertEquals(
    parseTimestamp("2026-01-02T03:04", now),
    BigInt(Date.UTC(2026, 0, 2, 3, 4)) * 1_000_000n,
  );
  const error = assertThrows(() => parseTimestamp("yesterday", now, "until"), ApiError);
  assertEquals(error.message, 'invalid value for until: "yesterday" is not a timestamp');
});

Deno.test("parseRegistryAuth: base64url JSON; e30= and garbage mean none", () => {
  assertEquals(parseRegistryAuth("e30="), undefined);
  assertEquals(parseRegistryAuth(null), undefined);
  assertEquals(parseRegistryAuth("!!!"), undefined);
  const header = btoa(JSON.stringify({
    username: "u",
    password: "p?>",
    serveraddress: "127.0.0.1:5000",
  })).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  assertEquals(parseRegistryAuth(header), {
    username: "u",
    password: "p?>",
    serveraddress: "127.0.0.1:5000",
  });
});

Deno.test("planPullReference joins fromImage and tag as moby does", () => {
  assertEquals(planPullReference(q("fromImage=docker.io%2Flibrary%2Falpine&tag=3.20")), {
    reference: "docker.io/library/alpine:3.20",
  });
  assertEquals(planPullReference(q("fromImage=ghcr.io%2Fa%2Fb&tag=1")).reference, "ghcr.io/a/b:1");
  assertEquals(planPullReference(q("fromImage=busybox")).reference, "busybox");
  assertEquals(planPullReference(q("fromImage=busybox:1&tag=2")).reference, "busybox:2");
  assertEquals(
    planPullReference(q("fromImage=registry.local:5000/x&tag=2")).reference,
    "registry.local:5000/x:2",
  );
  assertEquals(
    planPullReference(q("fromImage=busybox&tag=sha256:" + "a".repeat(64))).reference,
    "busybox@sha256:" + "a".repeat(64),
  );
  assertEquals(planPullReference(q("fromImage=busybox&platform=linux%2Farm64")), {
    reference: "busybox",
    platform: "linux/arm64",
  });
  const error = assertThrows(() => planPullReference(q("fromSrc=-&repo=x")), ApiError);
  assertEquals(error.status, 501);
});

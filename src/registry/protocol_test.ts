import { assert, assertEquals, assertThrows } from "@std/assert";
import { TsnspawnError } from "../errors.ts";
import {
  backoffMs,
  isLoopbackRegistry,
  parseContentRange,
  parseTokenResponse,
  parseWwwAuthenticate,
  registryBaseUrl,
  registryErrorText,
  repositoryScope,
  tokenRequestUrl,
} from "./protocol.ts";

Deno.test("WWW-Authenticate: Docker Hub style Bearer challenge", () => {
  const [c] = parseWwwAuthenticate(
    'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"',
  );
  assertEquals(c, {
    scheme: "bearer",
    params: {
      realm: "https://auth.docker.io/token",
      service: "registry.docker.io",
      scope: "repository:library/busybox:pull",
    },
  });
});

Deno.test("WWW-Authenticate: several challenges, token params, escapes, junk", () => {
  const cs = parseWwwAuthenticate(
    'Basic realm="a \\"quoted\\" realm", Bearer realm=https://t/x, error="invalid_token"',
  );
  assertEquals(cs.map((c) => c.scheme), ["basic", "bearer"]);
  assertEquals(cs[0].params.realm, 'a "quoted" realm');
  assertEquals(cs[1].params, { realm: "https://t/x", error: "invalid_token" });
  assertEquals(parseWwwAuthenticate(""), []);
  assertEquals(parseWwwAuthenticate("=,,;"), []);
  // Random input never throws.
  for (let i = 0; i < 500; i++) {
    const s = Array.from(
      { length: 30 },
      () => String.fromCharCode(32 + Math.floor(Math.random() * 95)),
    ).join("");
    parseWwwAuthenticate(s);
  }
});

Deno.test("token request URL and token response", () => {
  const url = tokenRequestUrl(
    { scheme: "bearer", params: { realm: "http://127.0.0.1:9/token", service: "reg" } },
    ["repository:a/b:pull,push"],
  );
  assertEquals(url, "http://127.0.0.1:9/token?service=reg&scope=repository%3Aa%2Fb%3Apull%2Cpush");
  assertThrows(
    () => tokenRequestUrl({ scheme: "bearer", params: {} }, []),
    TsnspawnError,
    "no realm",
  );
  const now = 1_000_000;
  assertEquals(parseTokenResponse({ token: "t" }, now), { token: "t", expiresAt: now + 50_000 });
  assertEquals(parseTokenResponse({ access_token: "a", expires_in: 300 }, now).token, "a");
  assertEquals(parseTokenResponse({ token: "t", expires_in: 300 }, now).expiresAt, now + 290_000);
  assertThrows(() => parseTokenResponse({}, now), TsnspawnError, "without a token");
  assertEquals(
    repositoryScope("library/busybox", ["pull", "push"]),
    "repository:library/busybox:pull,push",
  );
});

Deno.test("endpoints: HTTPS except loopback or insecure", () => {
  for (const d of ["localhost:5000", "127.0.0.1:5000", "127.8.9.10", "[::1]:5000", "localhost"]) {
    assert(isLoopbackRegistry(d), d);
    assert(registryBaseUrl(d, false).startsWith("http://"), d);
  }
  for (const d of ["quay.io", "128.0.0.1:5000", "localhost.example.com", "10.0.0.1:5000"]) {
    assert(!isLoopbackRegistry(d), d);
  }
  assertEquals(registryBaseUrl("docker.io", false), "https://registry-1.docker.io");
  assertEquals(registryBaseUrl("quay.io", false), "https://quay.io");
  assertEquals(registryBaseUrl("reg.lan:5000", true), "http://reg.lan:5000");
});

Deno.test("transfers: Content-Range, back-off, error bodies", () => {
  assertEquals(parseContentRange("bytes 100-199/200"), { start: 100, end: 199, total: 200 });
  assertEquals(parseContentRange("bytes 0-9/*"), { start: 0, end: 9 });
  assertEquals(parseContentRange(null), undefined);
  assertEquals(parseContentRange("0-9"), undefined);
  assertEquals([1, 2, 3, 10].map(backoffMs), [200, 400, 800, 5000]);
  assertEquals(
    registryErrorText('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}'),
    "MANIFEST_UNKNOWN: manifest unknown",
  );
  assertEquals(registryErrorText("plain text\nmore"), "plain text");
});

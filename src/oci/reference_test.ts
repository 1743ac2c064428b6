import { assert, assertEquals, assertThrows } from "@std/assert";
import { TsnspawnError } from "../errors.ts";
import { familiarName, formatReference, normalizeReference, parseReference } from "./reference.ts";

const HEX = "a".repeat(64);

Deno.test("parseReference normalizes like docker", () => {
  const cases: [string, string][] = [
    ["busybox", "docker.io/library/busybox:latest"],
    ["busybox:1.36", "docker.io/library/busybox:1.36"],
    ["user/app", "docker.io/user/app:latest"],
    ["docker.io/busybox", "docker.io/library/busybox:latest"],
    ["index.docker.io/user/app:v1", "docker.io/user/app:v1"],
    ["localhost/name", "localhost/name:latest"],
    ["localhost:5000/ns/name:tag", "localhost:5000/ns/name:tag"],
    ["registry.example.com:443/a/b/c:1.0-rc_1", "registry.example.com:443/a/b/c:1.0-rc_1"],
    ["quay.io/org/app", "quay.io/org/app:latest"],
    ["Example/app", "Example/app:latest"],
    ["[::1]:5000/app:x", "[::1]:5000/app:x"],
    ["localhost:5000", "docker.io/library/localhost:5000"],
    ["a__b-c--d/e.f_g", "docker.io/a__b-c--d/e.f_g:latest"],
    [`busybox@sha256:${HEX}`, `docker.io/library/busybox@sha256:${HEX}`],
    [`busybox:1@sha256:${HEX}`, `docker.io/library/busybox:1@sha256:${HEX}`],
    [`ghcr.io/o/r@sha512:${"b".repeat(128)}`, `ghcr.io/o/r@sha512:${"b".repeat(128)}`],
  ];
  for (const [input, want] of cases) {
    assertEquals(normalizeReference(input), want, input);
  }
  assertEquals(parseReference("host:5000/ns/name:tag"), {
    domain: "host:5000",
    path: "ns/name",
    tag: "tag",
  });
  assertEquals(parseReference(`x@sha256:${HEX}`).tag, undefined);
});

Deno.test("parseReference refuses malformed references with clear errors", () => {
  const bad: [string, RegExp][] = [
    ["", /empty/],
    ["Busybox", /must be lowercase/],
    ["user/App", /must be lowercase/],
    ["busybox:", /invalid tag/],
    ["busybox:-x", /invalid tag/],
    [`busybox:${"t".repeat(129)}`, /invalid tag/],
    ["busybox@sha256:abc", /64 lower-case hex/],
    [`busybox@md5:${HEX}`, /unsupported digest algorithm/],
    ["busybox@", /lacks an algorithm/],
    ["a//b", /empty component/],
    ["a/b/", /empty component/],
    ["/a", /empty/],
    ["-a", /invalid repository component/],
    ["a_-b", /invalid repository component/],
    ["a b", /white space/],
    ["host:port/x", /invalid registry port/],
    ["-bad.com/x", /invalid registry/],
    [HEX, /64-digit hex/],
    [`${"a".repeat(256)}`, /longer than 255/],
    ["localhost/", /repository path is empty/],
  ];
  for (const [input, why] of bad) {
    const e = assertThrows(() => parseReference(input), TsnspawnError);
    assertEquals(e.code, "invalid", input);
    assert(why.test(e.message), `${input}: ${e.message}`);
    assert(e.message.startsWith(`image reference ${JSON.stringify(input)}`), e.message);
  }
});

Deno.test("familiarName shortens docker.io names for display", () => {
  assertEquals(familiarName("docker.io/library/busybox:latest"), "busybox:latest");
  assertEquals(familiarName("docker.io/user/app:1"), "user/app:1");
  assertEquals(familiarName("docker.io/library/a/b:1"), "library/a/b:1");
  assertEquals(familiarName("quay.io/o/r:2"), "quay.io/o/r:2");
  assertEquals(familiarName(`busybox@sha256:${HEX}`), `busybox@sha256:${HEX}`);
});

Deno.test("parse ∘ format is the identity on normalized references", () => {
  for (
    const input of [
      "busybox",
      "user/app:1",
      "localhost:5000/ns/name:tag",
      `name:tag@sha256:${HEX}`,
      "[fe80::1]:80/x/y",
    ]
  ) {
    const ref = parseReference(input);
    assertEquals(parseReference(formatReference(ref)), ref);
    assertEquals(parseReference(familiarName(ref)), ref);
  }
});

/** A tiny deterministic PRNG so failures reproduce. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("fuzz: only TsnspawnError escapes, and accepted input round-trips", () => {
  const rand = prng(42);
  const alphabet = "abcz019AZ._-:/@[]  sha256lcohst\u00e9\u0000";
  let accepted = 0;
  for (let i = 0; i < 20000; i++) {
    const length = Math.floor(rand() * 40);
    let s = "";
    for (let j = 0; j < length; j++) {
      s += alphabet[Math.floor(rand() * alphabet.length)];
    }
    if (rand() < 0.2) s += `@sha256:${HEX}`;
    let ref;
    try {
      ref = parseReference(s);
    } catch (e) {
      if (!(e instanceof TsnspawnError)) {
        throw new Error(`${JSON.stringify(s)} threw ${e}`);
      }
      assertEquals(e.code, "invalid");
      continue;
    }
    accepted++;
    const formatted = formatReference(ref);
    assertEquals(parseReference(formatted), ref, s);
    assertEquals(formatReference(parseReference(formatted)), formatted);
    assertEquals(parseReference(familiarName(ref)), ref, s);
  }
  assert(accepted > 100, `only ${accepted} accepted`);
});

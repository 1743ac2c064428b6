import { assertEquals, assertThrows } from "@std/assert";
import { TsnspawnError } from "../errors.ts";
import { lookupId, resolveChown } from "./chown.ts";

const PASSWD = "root:x:0:0:root:/root:/bin/sh\nsvc:x:2000:3000::/:/bin/sh\nbroken:x:zz:1::/:\n";
const GROUP = "root:x:0:\nsvcg:x:3000:\nother:x:4000:\n";

Deno.test("--chown: names and numbers, with and without a group (buildah's rules)", () => {
  assertEquals(resolveChown("svc", PASSWD, GROUP), { uid: 2000, gid: 3000 });
  assertEquals(resolveChown("svc:other", PASSWD, GROUP), { uid: 2000, gid: 4000 });
  assertEquals(resolveChown("svc:5", PASSWD, GROUP), { uid: 2000, gid: 5 });
  // A UID without a group keeps its own number as GID, even when passwd knows it.
  assertEquals(resolveChown("2000", PASSWD, GROUP), { uid: 2000, gid: 2000 });
  assertEquals(resolveChown("7:svcg", PASSWD, GROUP), { uid: 7, gid: 3000 });
  assertEquals(resolveChown("0:0", "", ""), { uid: 0, gid: 0 });
});

Deno.test("--chown: unknown names and malformed values are errors", () => {
  const error = assertThrows(() => resolveChown("nobody", PASSWD, GROUP), TsnspawnError);
  assertEquals(error.message, '--chown=nobody: user "nobody" is not in the image\'s /etc/passwd');
  assertThrows(() => resolveChown("svc:nogroup", PASSWD, GROUP), TsnspawnError, "/etc/group");
  assertThrows(() => resolveChown("broken", PASSWD, GROUP), TsnspawnError, "not in the image");
  for (const bad of ["", ":", "a:b:c", "svc:", ":svcg"]) {
    assertThrows(() => resolveChown(bad, PASSWD, GROUP), TsnspawnError, "expected user[:group]");
  }
  assertEquals(lookupId(GROUP, "svcg"), 3000);
  assertEquals(lookupId(GROUP, "none"), undefined);
});

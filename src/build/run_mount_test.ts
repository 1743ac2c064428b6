import { assertEquals, assertThrows } from "@std/assert";
import { TsnspawnError } from "../errors.ts";
import { formatRunMount, parseRunMount } from "./run_mount.ts";

Deno.test("bind is the default type and read-only by default", () => {
  assertEquals(parseRunMount("target=/src"), { type: "bind", target: "/src", readOnly: true });
  assertEquals(parseRunMount("type=bind,src=.,dst=/s,from=build,rw"), {
    type: "bind",
    source: ".",
    target: "/s",
    from: "build",
    readOnly: false,
  });
  assertEquals(parseRunMount("destination=/s,readonly=false").readOnly, false);
});

Deno.test("cache and tmpfs options", () => {
  assertEquals(parseRunMount("type=cache,target=/c,id=x,sharing=locked,mode=0700,uid=1,gid=2"), {
    type: "cache",
    target: "/c",
    id: "x",
    sharing: "locked",
    mode: 0o700,
    uid: 1,
    gid: 2,
    readOnly: false,
  });
  assertEquals(parseRunMount("type=tmpfs,target=/t,size=64m"), {
    type: "tmpfs",
    target: "/t",
    size: 64 * 1024 * 1024,
    readOnly: false,
  });
  assertEquals(parseRunMount('"type=bind","target=/a,b"').target, "/a,b");
});

Deno.test("bad mounts", () => {
  const cases: [string, string][] = [
    ["type=secret,id=x", "type=secret is not supported"],
    ["type=ssh", "type=ssh is not supported"],
    ["type=volume,target=/x", "unsupported mount type"],
    ["type=bind", "needs a target"],
    ["target=/x,foo=bar", "unexpected key 'foo'"],
    ["target=/x,bogus", "must be a key=value pair"],
    ["target=/x,ro=maybe", "invalid value for ro"],
    ["target=/x,mode=0755", "mode is not allowed for bind mounts"],
    ["type=cache,target=/x,mode=9", "invalid value 9 for mode"],
    ["type=cache,target=/x,size=1m", "size is not allowed for cache mounts"],
    ["type=cache,target=/x,sharing=all", "unsupported sharing value"],
    ["type=tmpfs,target=/x,from=a", "a tmpfs mount has no from"],
    ["target=/x,from=$STAGE", "from= cannot use variables"],
    ['"target=/x', "unterminated quote"],
  ];
  for (const [spec, message] of cases) {
    assertThrows(() => parseRunMount(spec), TsnspawnError, message);
  }
});

Deno.test("format gives canonical text that parses back", () => {
  for (
    const spec of [
      "target=/src",
      "type=bind,target=/s,source=.,from=0,rw",
      "type=cache,target=/c,id=a b,sharing=private,mode=755,uid=0,gid=0,ro",
      "type=tmpfs,target=/t,size=1024",
    ]
  ) {
    const mount = parseRunMount(spec);
    assertEquals(parseRunMount(formatRunMount(mount)), mount);
  }
  assertEquals(formatRunMount(parseRunMount("dst=/x,type=cache")), "type=cache,target=/x");
});

/** Value parsers of the extra run options (pure). */
import { assertEquals, assertThrows } from "@std/assert";
import { TsnspawnError } from "../errors.ts";
import {
  parseAddHost,
  parseMount,
  parseSdnotify,
  parseShmSize,
  parseSysctl,
  parseTimezone,
  parseUlimit,
  planResolvConf,
} from "./extra_options.ts";

Deno.test("--mount: bind, volume and tmpfs as -v and --tmpfs make them", () => {
  assertEquals(parseMount("type=bind,source=/srv,destination=/data,ro"), {
    volume: { source: "/srv", destination: "/data", readOnly: true },
  });
  assertEquals(parseMount("type=volume,src=db,dst=/var/lib/db,volume-nocopy"), {
    volume: {
      source: "",
      destination: "/var/lib/db",
      readOnly: false,
      volume: "db",
      copyUp: false,
    },
  });
  assertEquals(parseMount('type=tmpfs,"dst=/t",tmpfs-size=1m,tmpfs-mode=700'), {
    tmpfs: {
      destination: "/t",
      flags: ["nosuid", "nodev", "noexec"],
      data: "size=1048576,mode=700",
    },
  });
  assertThrows(() => parseMount("type=image,src=x,dst=/x"), TsnspawnError, "not supported");
  assertThrows(() => parseMount("type=bind,src=rel,dst=/x"), TsnspawnError, "absolute host path");
  assertThrows(() => parseMount("type=bind,src=/a"), TsnspawnError, "no destination");
});

Deno.test("sysctls, ulimits, shm size, time zone, hosts, sdnotify", () => {
  assertEquals(parseSysctl("net.ipv4.ip_forward=1"), ["net.ipv4.ip_forward", "1"]);
  assertEquals(parseSysctl("kernel/shmmax=1"), ["kernel.shmmax", "1"]);
  assertThrows(() => parseSysctl("kernel.panic=1"), TsnspawnError, "not a namespaced parameter");
  assertEquals(parseUlimit("nofile=1024:4096"), { name: "NOFILE", soft: 1024, hard: 4096 });
  assertEquals(parseUlimit("core=-1"), { name: "CORE", soft: -1, hard: -1 });
  assertThrows(() => parseUlimit("nofile=10:5"), TsnspawnError, "above the hard one");
  assertThrows(() => parseUlimit("files=1"), TsnspawnError, "unknown limit");
  assertEquals(parseShmSize("256m"), 256 * 1024 * 1024);
  assertEquals(parseTimezone("Europe/Berlin"), "Europe/Berlin");
  assertThrows(() => parseTimezone("../etc/passwd"), TsnspawnError, "time zone");
  assertEquals(parseAddHost("db.local=10.0.0.5"), "db.local:10.0.0.5");
  assertEquals(parseAddHost("v6:[::1]"), "v6:::1");
  assertThrows(() => parseAddHost("x:nothere"), TsnspawnError, "not an IP address");
  assertEquals([parseSdnotify("container"), parseSdnotify("healthy"), parseSdnotify("ready")], [
    "container",
    "healthy",
    undefined,
  ]);
});

Deno.test("resolv.conf: --dns* replace those parts of the host's", () => {
  const host = "nameserver 10.0.0.1\nsearch lan\noptions ndots:1\n";
  assertEquals(
    planResolvConf(host, { servers: ["1.1.1.1"] }),
    "nameserver 1.1.1.1\nsearch lan\noptions ndots:1\n",
  );
  assertEquals(
    planResolvConf(host, { search: ["."], options: ["ndots:3"] }),
    "nameserver 10.0.0.1\noptions ndots:3\n",
  );
});

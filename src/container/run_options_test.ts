import { assert, assertEquals, assertThrows } from "@std/assert";
import { TsnspawnError } from "../errors.ts";
import {
  formatMemory,
  formatRestart,
  formatUser,
  formatVolume,
  generateContainerName,
  mergeEnv,
  MIN_MEMORY_BYTES,
  parseCpus,
  parseCpuShares,
  parseCpuWeight,
  parseEnvAssignment,
  parseEnvFile,
  parseMemory,
  parseNetwork,
  parsePidsLimit,
  parseRestart,
  parseSignal,
  parseStopTimeout,
  parseUser,
  parseVolume,
  parseWorkingDir,
  resolveUser,
  signalName,
  SIGRTMAX,
  SIGRTMIN,
  validateContainerName,
  validateHostname,
} from "./run_options.ts";

/** Asserts `fn` throws an "invalid" TsnspawnError whose message includes `includes`. */
function assertInvalid(fn: () => unknown, includes: string): TsnspawnError {
  const error = assertThrows(fn, TsnspawnError);
  assertEquals(error.code, "invalid");
  assert(
    error.message.includes(includes),
    `${JSON.stringify(error.message)} lacks ${JSON.stringify(includes)}`,
  );
  assert(!error.message.includes("\n"), "messages are one line");
  return error;
}

/** Deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FUZZ_ALPHABET = [
  ..."0123456789.:+-=/ kmgtbKMGTBi#\n\t\0\"'abcSIGTERMroworfailure_",
  "..",
  "é",
  "\u{1F600}",
];

function randomString(random: () => number): string {
  const length = Math.floor(random() * 16);
  let s = "";
  for (let i = 0; i < length; i++) s += FUZZ_ALPHABET[Math.floor(random() * FUZZ_ALPHABET.length)];
  return s;
}

/** Runs `parse` on thousands of random strings: only TsnspawnError may escape. */
function fuzz(name: string, parse: (text: string) => unknown): void {
  Deno.test(`fuzz ${name}`, () => {
    const random = prng(name.length * 7919);
    for (let i = 0; i < 3000; i++) {
      const text = randomString(random);
      try {
        parse(text);
      } catch (error) {
        if (!(error instanceof TsnspawnError)) {
          throw new Error(`${name}(${JSON.stringify(text)}) threw ${error}`);
        }
      }
    }
  });
}

Deno.test("parseMemory accepts docker units", () => {
  assertEquals(parseMemory("256M"), 256 * 1024 ** 2);
  assertEquals(parseMemory("256m"), 256 * 1024 ** 2);
  assertEquals(parseMemory("1g"), 1024 ** 3);
  assertEquals(parseMemory("1G"), 1024 ** 3);
  assertEquals(parseMemory("1.5G"), 1.5 * 1024 ** 3);
  assertEquals(parseMemory("1073741824"), 1073741824);
  assertEquals(parseMemory("10485760b"), 10485760);
  assertEquals(parseMemory("8192k"), 8 * 1024 ** 2);
  assertEquals(parseMemory("1t"), 1024 ** 4);
  assertEquals(parseMemory("256MiB"), 256 * 1024 ** 2);
  assertEquals(parseMemory("256mb"), 256 * 1024 ** 2);
  assertEquals(parseMemory("6m"), MIN_MEMORY_BYTES);
});

Deno.test("parseMemory rejects garbage, zero, negatives, tiny and huge sizes", () => {
  assertInvalid(() => parseMemory("1k"), "memory 1k: below the minimum of 6MiB");
  assertInvalid(() => parseMemory("512k"), "below the minimum");
  assertInvalid(() => parseMemory("0"), "below the minimum");
  assertInvalid(() => parseMemory("-1g"), "not a size");
  assertInvalid(() => parseMemory(""), "not a size");
  assertInvalid(() => parseMemory("lots"), "not a size");
  assertInvalid(() => parseMemory("1x"), "not a size");
  assertInvalid(() => parseMemory("1ib"), "not a size");
  assertInvalid(() => parseMemory("1e9"), "not a size");
  assertInvalid(() => parseMemory("99999999999p"), "too large");
  assertInvalid(() => parseMemory("9".repeat(400)), "too large");
  const error = assertInvalid(() => parseMemory("1q"), "memory 1q");
  assert(error.hint?.includes("512m"));
});

Deno.test("formatMemory round-trips through parseMemory", () => {
  for (const text of ["6M", "256M", "1G", "1536M", "3T", "10485761"]) {
    assertEquals(formatMemory(parseMemory(text)), text);
  }
});

Deno.test("parseCpus gives CPUQuotaPerSecUSec", () => {
  assertEquals(parseCpus("0.5"), 500000);
  assertEquals(parseCpus("1"), 1000000);
  assertEquals(parseCpus("1.5", 2), 1500000);
  assertEquals(parseCpus(".25"), 250000);
  assertEquals(parseCpus("0.01"), 10000);
  assertEquals(parseCpus("2", 2), 2000000);
  assertEquals(parseCpus("0.1"), 100000);
  assertEquals(parseCpus("0.3"), 300000);
});

Deno.test("parseCpus rejects zero, negatives, garbage and more than the host has", () => {
  assertInvalid(() => parseCpus("0"), "below the minimum of 0.01");
  assertInvalid(() => parseCpus("0.001"), "below the minimum");
  assertInvalid(() => parseCpus("-1"), "not a number");
  assertInvalid(() => parseCpus("abc"), "cpus abc: not a number");
  assertInvalid(() => parseCpus(""), "not a number");
  assertInvalid(() => parseCpus("Infinity"), "not a number");
  assertInvalid(() => parseCpus("3", 2), "more than the 2 CPUs");
});

Deno.test("parsePidsLimit, parseCpuWeight, parseCpuShares, parseStopTimeout", () => {
  assertEquals(parsePidsLimit("100"), 100);
  assertEquals(parsePidsLimit("-1"), undefined);
  assertEquals(parsePidsLimit("0"), undefined);
  assertInvalid(() => parsePidsLimit("-2"), "pids limit -2");
  assertInvalid(() => parsePidsLimit("1.5"), "not a positive integer");
  assertInvalid(() => parsePidsLimit("x"), "pids limit");

  assertEquals(parseCpuWeight("1"), 1);
  assertEquals(parseCpuWeight("10000"), 10000);
  assertInvalid(() => parseCpuWeight("0"), "cpu weight 0");
  assertInvalid(() => parseCpuWeight("10001"), "1 to 10000");

  assertEquals(parseCpuShares("2"), 1);
  assertEquals(parseCpuShares("1024"), 39);
  assertEquals(parseCpuShares("262144"), 10000);
  assertInvalid(() => parseCpuShares("1"), "cpu shares 1");

  assertEquals(parseStopTimeout("0"), 0);
  assertEquals(parseStopTimeout("30"), 30);
  assertInvalid(() => parseStopTimeout("-1"), "stop timeout -1");
  assertInvalid(() => parseStopTimeout("1.5"), "whole number");
  assertInvalid(() => parseStopTimeout("10s"), "whole number");
});

Deno.test("parseVolume parses and normalizes bind mounts", () => {
  assertEquals(parseVolume("/srv/data:/data"), {
    source: "/srv/data",
    destination: "/data",
    readOnly: false,
  });
  assertEquals(parseVolume("/srv/data:/data:ro"), {
    source: "/srv/data",
    destination: "/data",
    readOnly: true,
  });
  assertEquals(parseVolume("/srv/data:/data:rw"), {
    source: "/srv/data",
    destination: "/data",
    readOnly: false,
  });
  assertEquals(parseVolume("//srv/./data/:/a//b/"), {
    source: "/srv/data",
    destination: "/a/b",
    readOnly: false,
  });
  assertEquals(parseVolume("/:/host"), { source: "/", destination: "/host", readOnly: false });
});

Deno.test("parseVolume: named and anonymous volumes, options", () => {
  assertEquals(parseVolume("data:/data"), {
    source: "",
    destination: "/data",
    readOnly: false,
    volume: "data",
    copyUp: true,
  });
  assertEquals(parseVolume("/data/"), {
    source: "",
    destination: "/data",
    readOnly: false,
    volume: "",
    anonymous: true,
    copyUp: true,
  });
  assertEquals(parseVolume("db.v1:/var/lib/db:ro,nocopy"), {
    source: "",
    destination: "/var/lib/db",
    readOnly: true,
    volume: "db.v1",
    copyUp: false,
  });
  // SELinux labels are accepted and change nothing.
  assertEquals(parseVolume("/a:/b:z"), { source: "/a", destination: "/b", readOnly: false });
  assertEquals(parseVolume("/a:/b:ro,Z"), { source: "/a", destination: "/b", readOnly: true });
});

Deno.test("parseVolume rejects what it cannot do, clearly", () => {
  assertInvalid(() => parseVolume("./data:/data"), "host path ./data: not an absolute path");
  assertInvalid(() => parseVolume("x:/data"), "host path x: not an absolute path");
  assertInvalid(() => parseVolume("/a:/b:nocopy"), "nocopy applies to volumes");
  assertInvalid(() => parseVolume("/"), "cannot mount over");
  assertInvalid(() => parseVolume("/data:data"), "container path data: not an absolute path");
  assertInvalid(() => parseVolume("/data:/"), "cannot mount over the container's root");
  assertInvalid(() => parseVolume("/data:/./"), "cannot mount over");
  assertInvalid(() => parseVolume("/data:/x/../../etc"), "must not contain '..'");
  assertInvalid(() => parseVolume("/a/../b:/x"), "must not contain '..'");
  assertInvalid(() => parseVolume("/a:/b:shared"), "unsupported option shared");
  assertInvalid(() => parseVolume("/a:/b:ro,x"), "unsupported option");
  assertInvalid(() => parseVolume("/a:/b:"), "unsupported option");
  assertInvalid(() => parseVolume("/a:/b:ro:x"), "too many ':'");
  assertInvalid(() => parseVolume(":/b"), "empty path");
  assertInvalid(() => parseVolume("/a\0:/b"), "NUL");
});

Deno.test("formatVolume round-trips", () => {
  for (const text of ["/a:/b", "/a/b:/c:ro", "/:/host", "data:/d", "data:/d:ro,nocopy", "/anon"]) {
    assertEquals(formatVolume(parseVolume(text)), text);
  }
  assertEquals(formatVolume(parseVolume("/a:/b:rw")), "/a:/b");
});

Deno.test("parseWorkingDir and parseNetwork", () => {
  assertEquals(parseWorkingDir("/app/"), "/app");
  assertEquals(parseWorkingDir("/"), "/");
  assertInvalid(() => parseWorkingDir("app"), "working directory app: not an absolute path");
  assertEquals(parseNetwork("none"), "none");
  assertEquals(parseNetwork("host"), "host");
  assertEquals(parseNetwork("bridge"), "bridge");
  assertEquals(parseNetwork("default"), "bridge");
  assertEquals(parseNetwork("mynet"), "mynet");
  assertInvalid(() => parseNetwork("-x"), "not a network mode or a network name");
  assertInvalid(() => parseNetwork(""), "not a network mode or a network name");
});

Deno.test("parseUser splits user and group", () => {
  assertEquals(parseUser("1000"), { user: "1000" });
  assertEquals(parseUser("1000:1000"), { user: "1000", group: "1000" });
  assertEquals(parseUser("nobody"), { user: "nobody" });
  assertEquals(parseUser("www-data:adm"), { user: "www-data", group: "adm" });
  assertInvalid(() => parseUser(""), "empty or malformed user");
  assertInvalid(() => parseUser(":1"), "empty or malformed user");
  assertInvalid(() => parseUser("a:"), "empty or malformed group");
  assertInvalid(() => parseUser("a:b:c"), "too many ':'");
  assertInvalid(() => parseUser("a b"), "malformed");
  assertInvalid(() => parseUser("4294967296"), "out of range");
  for (const text of ["0", "1:2", "x:y"]) assertEquals(formatUser(parseUser(text)), text);
});

const PASSWD = `root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
broken line
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
`;
const GROUP = `root:x:0:
adm:x:4:syslog
www-data:x:33:
nogroup:x:65534:
`;

Deno.test("resolveUser follows runc's rules", () => {
  assertEquals(resolveUser({ user: "root" }, PASSWD, GROUP), { uid: 0, gid: 0 });
  assertEquals(resolveUser({ user: "www-data" }, PASSWD, GROUP), { uid: 33, gid: 33 });
  assertEquals(resolveUser({ user: "33" }, PASSWD, GROUP), { uid: 33, gid: 33 });
  assertEquals(resolveUser({ user: "1000" }, PASSWD, GROUP), { uid: 1000, gid: 0 });
  assertEquals(resolveUser({ user: "1000", group: "1000" }, PASSWD, GROUP), {
    uid: 1000,
    gid: 1000,
  });
  assertEquals(resolveUser({ user: "nobody", group: "adm" }, PASSWD, GROUP), {
    uid: 65534,
    gid: 4,
  });
  assertEquals(resolveUser({ user: "1000", group: "nogroup" }, null, GROUP), {
    uid: 1000,
    gid: 65534,
  });
  assertEquals(resolveUser({ user: "5" }, null, null), { uid: 5, gid: 0 });
  assertInvalid(
    () => resolveUser({ user: "alice" }, PASSWD, GROUP),
    "user alice: not found in the image's /etc/passwd",
  );
  assertInvalid(
    () => resolveUser({ user: "alice" }, null, null),
    "not found in the image's /etc/passwd",
  );
  assertInvalid(
    () => resolveUser({ user: "root", group: "wheel" }, PASSWD, GROUP),
    "group wheel: not found in the image's /etc/group",
  );
  assertInvalid(() => resolveUser({ user: "broken line" }, PASSWD, GROUP), "not found");
});

Deno.test("parseRestart maps docker policies to systemd's", () => {
  assertEquals(parseRestart("no"), { policy: "no", maxRetries: 0 });
  assertEquals(parseRestart("always"), { policy: "always", maxRetries: 0 });
  assertEquals(parseRestart("unless-stopped"), { policy: "always", maxRetries: 0 });
  assertEquals(parseRestart("on-failure"), { policy: "on-failure", maxRetries: 0 });
  assertEquals(parseRestart("on-failure:3"), { policy: "on-failure", maxRetries: 3 });
  assertInvalid(() => parseRestart("sometimes"), "restart policy sometimes: unknown policy");
  assertInvalid(() => parseRestart("always:3"), "cannot be used with 'always'");
  assertInvalid(() => parseRestart("on-failure:-1"), "whole number");
  assertInvalid(() => parseRestart("on-failure:x"), "whole number");
  assertInvalid(() => parseRestart("on-failure:"), "whole number");
  assertInvalid(() => parseRestart("on-failure:1:2"), "too many ':'");
  for (const text of ["no", "always", "on-failure", "on-failure:5"]) {
    assertEquals(formatRestart(parseRestart(text)), text);
  }
});

Deno.test("parseEnvAssignment", () => {
  const env: Record<string, string> = { HOME: "/root", EMPTY: "" };
  const lookup = (k: string) => env[k];
  assertEquals(parseEnvAssignment("A=1", lookup), "A=1");
  assertEquals(parseEnvAssignment("A=", lookup), "A=");
  assertEquals(parseEnvAssignment("A=b=c", lookup), "A=b=c");
  assertEquals(parseEnvAssignment("HOME", lookup), "HOME=/root");
  assertEquals(parseEnvAssignment("EMPTY", lookup), "EMPTY=");
  assertEquals(parseEnvAssignment("UNSET", lookup), undefined);
  assertInvalid(() => parseEnvAssignment("=1", lookup), "no variable name");
  assertInvalid(() => parseEnvAssignment("", lookup), "no variable name");
  assertInvalid(() => parseEnvAssignment("A B=1", lookup), "contains whitespace");
  assertInvalid(() => parseEnvAssignment("A=\0", lookup), "NUL");
});

Deno.test("parseEnvFile follows docker's format", () => {
  const lookup = (k: string) => (k === "USER" ? "alice" : undefined);
  const text =
    '\uFEFF# comment\n\nA=1\n  B=two words \nC="quoted"\nUSER\nUNSET\n\tD=x=y\r\nE=\n  # indented comment\n';
  assertEquals(parseEnvFile(text, lookup), [
    "A=1",
    "B=two words ",
    'C="quoted"',
    "USER=alice",
    "D=x=y",
    "E=",
  ]);
  assertEquals(parseEnvFile("", lookup), []);
  assertInvalid(() => parseEnvFile("A=1\n=2\n", lookup, "/tmp/e.env"), "/tmp/e.env line 2");
  assertInvalid(() => parseEnvFile("A B=1", lookup), "contains whitespace");
});

Deno.test("mergeEnv: later wins, order kept", () => {
  assertEquals(mergeEnv(["PATH=/bin", "A=1", "B=2"], ["A=3", "C=4"]), [
    "PATH=/bin",
    "A=3",
    "B=2",
    "C=4",
  ]);
  assertEquals(mergeEnv(["A=1", "A=2"]), ["A=2"]);
  assertEquals(mergeEnv([], ["X"], ["X=1"]), ["X=1"]);
  assertEquals(mergeEnv(), []);
});

Deno.test("parseSignal and signalName", () => {
  assertEquals(parseSignal("SIGTERM"), 15);
  assertEquals(parseSignal("TERM"), 15);
  assertEquals(parseSignal("term"), 15);
  assertEquals(parseSignal("15"), 15);
  assertEquals(parseSignal("SIGKILL"), 9);
  assertEquals(parseSignal("SIGIOT"), 6);
  assertEquals(parseSignal("POLL"), 29);
  assertEquals(parseSignal("SIGRTMIN"), SIGRTMIN);
  assertEquals(parseSignal("SIGRTMIN+3"), 37);
  assertEquals(parseSignal("RTMAX-1"), 63);
  assertEquals(parseSignal("SIGRTMAX"), SIGRTMAX);
  assertEquals(parseSignal("64"), 64);
  assertInvalid(() => parseSignal("0"), "no such signal number");
  assertInvalid(() => parseSignal("65"), "no such signal number");
  assertInvalid(() => parseSignal("32"), "no such signal number");
  assertInvalid(() => parseSignal("SIGFOO"), "signal SIGFOO: unknown signal");
  assertInvalid(() => parseSignal("SIGRTMIN+31"), "outside SIGRTMIN..SIGRTMAX");
  assertInvalid(() => parseSignal("SIGRTMIN-1"), "outside");
  assertInvalid(() => parseSignal(""), "unknown signal");
  assertEquals(signalName(15), "SIGTERM");
  assertEquals(signalName(34), "SIGRTMIN");
  assertEquals(signalName(37), "SIGRTMIN+3");
  assertInvalid(() => signalName(0), "no such signal number");
  assertInvalid(() => signalName(32), "no such signal number");
  for (let n = 1; n <= 64; n++) {
    if (n === 32 || n === 33) continue;
    assertEquals(parseSignal(signalName(n)), n);
    assertEquals(parseSignal(String(n)), n);
  }
});

Deno.test("validateContainerName", () => {
  for (const name of ["a", "web", "web-1", "a.b_c-d", "0abc", "x".repeat(63)]) {
    assertEquals(validateContainerName(name), name);
  }
  assertInvalid(() => validateContainerName(""), "invalid characters");
  assertInvalid(() => validateContainerName("-a"), "invalid characters");
  assertInvalid(() => validateContainerName(".a"), "invalid characters");
  assertInvalid(() => validateContainerName("a/b"), "invalid characters");
  assertInvalid(() => validateContainerName("a b"), "invalid characters");
  assertInvalid(() => validateContainerName("x".repeat(64)), "longer than 63");
});

Deno.test("generateContainerName makes valid adjective_noun names", () => {
  const random = prng(42);
  const seen = new Set<string>();
  for (let i = 0; i < 500; i++) {
    const name = generateContainerName(random);
    assert(/^[a-z]+_[a-z]+$/.test(name), name);
    validateContainerName(name);
    seen.add(name);
  }
  assert(seen.size > 100);
  assertEquals(generateContainerName(() => 0), "admiring_babbage");
  assert(/^[a-z]+_[a-z]+$/.test(generateContainerName(() => 0.9999999999)));
  assert(/^[a-z]+_[a-z]+$/.test(generateContainerName()));
});

Deno.test("validateHostname", () => {
  for (const name of ["a", "web-1", "db.example.com", "x".repeat(63)]) {
    assertEquals(validateHostname(name), name);
  }
  assertInvalid(() => validateHostname(""), "1 to 64 characters");
  assertInvalid(() => validateHostname("x".repeat(65)), "1 to 64 characters");
  assertInvalid(() => validateHostname("-a"), "not a valid hostname");
  assertInvalid(() => validateHostname("a-"), "not a valid hostname");
  assertInvalid(() => validateHostname("a..b"), "not a valid hostname");
  assertInvalid(() => validateHostname("a_b"), "not a valid hostname");
});

fuzz("parseMemory", parseMemory);
fuzz("parseCpus", (t) => parseCpus(t, 4));
fuzz("parsePidsLimit", parsePidsLimit);
fuzz("parseCpuWeight", parseCpuWeight);
fuzz("parseCpuShares", parseCpuShares);
fuzz("parseStopTimeout", parseStopTimeout);
fuzz("parseVolume", (t) => {
  const v = parseVolume(t);
  assertEquals(parseVolume(formatVolume(v)), v);
});
fuzz("parseUser", (t) => resolveUser(parseUser(t), PASSWD, GROUP));
fuzz("parseRestart", parseRestart);
fuzz("parseEnvAssignment", (t) => parseEnvAssignment(t, () => "v"));
fuzz("parseEnvFile", (t) => parseEnvFile(t, () => undefined));
fuzz("parseSignal", (t) => signalName(parseSignal(t)));
fuzz("validateContainerName", validateContainerName);
fuzz("validateHostname", validateHostname);
fuzz("parseWorkingDir", parseWorkingDir);
fuzz("parseNetwork", parseNetwork);

/**
 * Tests for the docker seccomp profile parser, formatter, default profile
 * data and `--security-opt seccomp=` values.
 */
import { assert, assertEquals, assertThrows } from "@std/assert";
import { TsnspawnError } from "../errors.ts";
import {
  DOCKER_DEFAULT_PROFILE,
  formatSeccompProfile,
  parseSeccompOption,
  parseSeccompProfile,
  type SeccompProfile,
} from "./seccomp_profile.ts";
import { X86_64_SYSCALLS } from "./seccomp_syscalls.ts";

const FILE = "/etc/tsnspawn/profile.json";

function parseError(text: string): TsnspawnError {
  const error = assertThrows(() => parseSeccompProfile(text, FILE), TsnspawnError);
  assertEquals(error.code, "invalid");
  assert(error.message.startsWith(`seccomp profile ${FILE}: `), error.message);
  assert(!error.message.includes("\n"), error.message);
  return error;
}

Deno.test("parses a docker profile", () => {
  const profile = parseSeccompProfile(
    `{
      "defaultAction": "SCMP_ACT_ERRNO",
      "defaultErrnoRet": 1,
      "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
      "syscalls": [
        {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
        {"name": "clone", "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"}],
         "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38, "comment": "fall back to clone"},
        {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8", "arches": ["amd64"]}},
        {"names": ["mprotect"], "action": "SCMP_ACT_ALLOW", "args": null, "includes": null}
      ]
    }`,
    FILE,
  );
  assertEquals(profile, {
    defaultAction: "SCMP_ACT_ERRNO",
    defaultErrnoRet: 1,
    architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
    archMap: [],
    syscalls: [
      { names: ["read", "write"], action: "SCMP_ACT_ALLOW", args: [] },
      {
        names: ["clone"],
        action: "SCMP_ACT_ALLOW",
        args: [{ index: 0, value: 2114060288n, valueTwo: 0n, op: "SCMP_CMP_MASKED_EQ" }],
        excludes: { caps: ["CAP_SYS_ADMIN"] },
      },
      {
        names: ["clone3"],
        action: "SCMP_ACT_ERRNO",
        errnoRet: 38,
        args: [],
        comment: "fall back to clone",
      },
      {
        names: ["ptrace"],
        action: "SCMP_ACT_ALLOW",
        args: [],
        includes: { minKernel: "4.8", arches: ["amd64"] },
      },
      { names: ["mprotect"], action: "SCMP_ACT_ALLOW", args: [] },
    ],
  });
});

Deno.test("keeps 64-bit argument values exact", () => {
  const profile = parseSeccompProfile(
    `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["ioctl"], "action": "SCMP_ACT_ERRNO",
      "args": [{"index": 1, "value": 18446744073709551615, "valueTwo": 9007199254740993, "op": "SCMP_CMP_MASKED_EQ"}]}]}`,
    FILE,
  );
  assertEquals(profile.syscalls[0].args[0].value, (1n << 64n) - 1n);
  assertEquals(profile.syscalls[0].args[0].valueTwo, 9007199254740993n);
});

Deno.test("refuses malformed profiles with one-line errors naming the place", () => {
  const rule = (r: string) => `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [${r}]}`;
  const cases: [string, string][] = [
    ["{", "not valid JSON: "],
    ["[]", "profile: expected an object, got []"],
    [`{"defaultAction": "SCMP_ACT_DENY"}`, 'defaultAction: unknown action "SCMP_ACT_DENY"'],
    [`{}`, "defaultAction: missing"],
    [
      `{"defaultAction": "SCMP_ACT_ERRNO", "defaultAction ": 1}`,
      'profile: unknown key "defaultAction "',
    ],
    [
      `{"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 1}`,
      "defaultErrnoRet: only SCMP_ACT_ERRNO",
    ],
    [
      `{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 5000}`,
      "defaultErrnoRet: 5000 is larger than 4095",
    ],
    [
      `{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["x86_64"]}`,
      'architectures[0]: unknown architecture "x86_64"',
    ],
    [
      `{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86"], "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}`,
      'profile: give either "architectures" or "archMap", not both',
    ],
    [
      `{"defaultAction": "SCMP_ACT_ERRNO", "flags": ["SECCOMP_FILTER_FLAG_LOG"]}`,
      "flags: seccomp filter flags are not supported",
    ],
    [
      `{"defaultAction": "SCMP_ACT_ERRNO", "listenerPath": "/run/agent.sock"}`,
      "listenerPath: seccomp agents",
    ],
    [
      rule(`{"names": ["read"], "action": "SCMP_ACT_NOTIFY"}`),
      "syscalls[0].action: SCMP_ACT_NOTIFY is not supported",
    ],
    [rule(`{"names": [], "action": "SCMP_ACT_ALLOW"}`), "syscalls[0]: no syscall names"],
    [rule(`{"names": [""], "action": "SCMP_ACT_ALLOW"}`), "syscalls[0].names[0]: empty string"],
    [
      rule(`{"name": "read", "names": ["write"], "action": "SCMP_ACT_ALLOW"}`),
      'syscalls[0]: give either "name" or "names"',
    ],
    [
      rule(`{"names": "read", "action": "SCMP_ACT_ALLOW"}`),
      'syscalls[0].names: expected a list, got "read"',
    ],
    [
      rule(`{"names": ["read"], "action": "SCMP_ACT_ALLOW", "errnoRet": 1}`),
      "syscalls[0].errnoRet: only SCMP_ACT_ERRNO",
    ],
    [
      rule(`{"names": ["read"], "action": "SCMP_ACT_ALLOW", "arg": []}`),
      'syscalls[0]: unknown key "arg"',
    ],
    [
      rule(
        `{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}`,
      ),
      "syscalls[0].args[0].index: 6 is larger than 5",
    ],
    [
      rule(
        `{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": -1, "op": "SCMP_CMP_EQ"}]}`,
      ),
      "syscalls[0].args[0].value: expected a non-negative integer, got -1",
    ],
    [
      rule(
        `{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1.5, "op": "SCMP_CMP_EQ"}]}`,
      ),
      "syscalls[0].args[0].value: expected a non-negative integer, got 1.5",
    ],
    [
      rule(
        `{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 18446744073709551616, "op": "SCMP_CMP_EQ"}]}`,
      ),
      "syscalls[0].args[0].value: 18446744073709551616 is larger than 18446744073709551615",
    ],
    [
      rule(
        `{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_LIKE"}]}`,
      ),
      'syscalls[0].args[0].op: unknown operator "SCMP_CMP_LIKE"',
    ],
    [
      rule(`{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["SYS_ADMIN"]}}`),
      'syscalls[0].includes.caps[0]: unknown capability "SYS_ADMIN"',
    ],
    [
      rule(`{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4"}}`),
      'syscalls[0].includes.minKernel: "4" is not a kernel version',
    ],
    [
      rule(`{"names": ["read"], "action": "SCMP_ACT_ALLOW", "excludes": {"kernel": "4.8"}}`),
      'syscalls[0].excludes: unknown key "kernel"',
    ],
  ];
  for (const [text, expected] of cases) {
    const error = parseError(text);
    assert(
      error.message.startsWith(`seccomp profile ${FILE}: ${expected}`),
      `${error.message}\n  expected: ${expected}`,
    );
  }
});

Deno.test("format and parse round-trip docker's default profile", () => {
  const text = formatSeccompProfile(DOCKER_DEFAULT_PROFILE);
  assertEquals(parseSeccompProfile(text, "default"), DOCKER_DEFAULT_PROFILE);
  assert(text.includes('"value": 2114060288'), "clone mask as docker writes it");
  assert(text.includes('"errnoRet": 38'));
});

Deno.test("docker's default profile names only x86_64 syscalls, each once per rule", () => {
  for (const rule of DOCKER_DEFAULT_PROFILE.syscalls) {
    for (const name of rule.names) assert(X86_64_SYSCALLS.has(name), name);
    assertEquals(new Set(rule.names).size, rule.names.length);
  }
  const everyday = new Set(DOCKER_DEFAULT_PROFILE.syscalls[0].names);
  for (
    const name of [
      "keyctl",
      "add_key",
      "request_key",
      "unshare",
      "mount",
      "ptrace",
      "clone",
      "socket",
      "personality",
    ]
  ) {
    assert(!everyday.has(name), `${name} is not unconditionally allowed`);
  }
  assertEquals(everyday.size, 300);
});

Deno.test("fuzz: mutated profiles fail only with TsnspawnError", () => {
  const base = formatSeccompProfile(DOCKER_DEFAULT_PROFILE);
  let state = 0x1234567;
  const next = () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x80000000;
  };
  const pieces = [
    '"',
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "-1",
    "1e400",
    "null",
    "true",
    '"x"',
    "18446744073709551616",
    "",
  ];
  let parsed = 0;
  for (let round = 0; round < 2000; round++) {
    let text = base;
    for (let edits = 1 + Math.floor(next() * 3); edits > 0; edits--) {
      const at = Math.floor(next() * text.length);
      const cut = Math.floor(next() * 6);
      text = text.slice(0, at) + pieces[Math.floor(next() * pieces.length)] + text.slice(at + cut);
    }
    try {
      const profile: SeccompProfile = parseSeccompProfile(text, "fuzz");
      assertEquals(parseSeccompProfile(formatSeccompProfile(profile), "fuzz"), profile);
      parsed++;
    } catch (error) {
      if (!(error instanceof TsnspawnError)) throw error;
      assert(!error.message.includes("\n"), error.message);
    }
  }
  assert(parsed > 0);
});

Deno.test("--security-opt seccomp= values", () => {
  assertEquals(parseSeccompOption("unconfined"), { kind: "unconfined" });
  assertEquals(parseSeccompOption("builtin"), { kind: "default" });
  assertEquals(parseSeccompOption("default"), { kind: "default" });
  assertEquals(parseSeccompOption("/etc/docker/seccomp.json"), {
    kind: "profile",
    path: "/etc/docker/seccomp.json",
  });
  assertEquals(parseSeccompOption("profile.json"), { kind: "profile", path: "profile.json" });
  const error = assertThrows(() => parseSeccompOption(""), TsnspawnError);
  assertEquals(error.message, 'seccomp "": not a profile');
  assertEquals(error.hint, "give seccomp=unconfined or seccomp=PATH of a JSON profile");
});

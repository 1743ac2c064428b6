/**
 * Declared containers (src/declared/container.ts): the key tables against
 * the CLI's options and quadlet's list, specifiers, the D-Bus → unit-file
 * key mapping, and that validate cannot be crashed (huge and random input).
 * The generator's output per feature is covered by the fixtures
 * (tests/generator_fixtures_test.ts), which systemd-analyze verify checks.
 */
import { assert, assertEquals } from "@std/assert";
import {
  formatProblem,
  parseDeclaration,
  planContainerUnit,
  planDeclaredConfig,
  planSpecifiers,
  unitFileLines,
} from "./container.ts";
import { CONTAINER_KEYS, MANAGED_SERVICE_KEYS, UNSUPPORTED_CONTAINER_KEYS } from "./keys.ts";
import { findCommand } from "../cli/args.ts";
import { planUnitProperties } from "../systemd/unit_properties.ts";
import { selfCommand } from "../self_exec.ts";
import { machineName, machineUnitName } from "../systemd/machined.ts";

const HOST = {
  hostname: "box.example",
  machineId: "ab".repeat(16),
  bootId: "cd".repeat(16),
  kernelRelease: "6.18.0",
};

/** Every [Container] key of podman-systemd.unit(5) (podman 5.x/6.x, quadlet's SupportedKeys). */
const QUADLET_CONTAINER_KEYS = [
  "AddCapability",
  "AddDevice",
  "AddHost",
  "Annotation",
  "AppArmor",
  "AutoUpdate",
  "CgroupsMode",
  "ContainerName",
  "ContainersConfModule",
  "DNS",
  "DNSOption",
  "DNSSearch",
  "DropCapability",
  "Entrypoint",
  "Environment",
  "EnvironmentFile",
  "EnvironmentHost",
  "Exec",
  "ExposeHostPort",
  "GIDMap",
  "GlobalArgs",
  "Group",
  "GroupAdd",
  "HealthCmd",
  "HealthInterval",
  "HealthLogDestination",
  "HealthMaxLogCount",
  "HealthMaxLogSize",
  "HealthOnFailure",
  "HealthRetries",
  "HealthStartPeriod",
  "HealthStartupCmd",
  "HealthStartupInterval",
  "HealthStartupRetries",
  "HealthStartupSuccess",
  "HealthStartupTimeout",
  "HealthTimeout",
  "HostName",
  "HttpProxy",
  "IP",
  "IP6",
  "Image",
  "Label",
  "LogDriver",
  "LogOpt",
  "Mask",
  "Memory",
  "Mount",
  "Network",
  "NetworkAlias",
  "NoNewPrivileges",
  "Notify",
  "PidsLimit",
  "Pod",
  "PodmanArgs",
  "PublishPort",
  "Pull",
  "ReadOnly",
  "ReadOnlyTmpfs",
  "ReloadCmd",
  "ReloadSignal",
  "RemapGid",
  "RemapUid",
  "RemapUidSize",
  "RemapUsers",
  "Retry",
  "RetryDelay",
  "Rootfs",
  "RunInit",
  "SeccompProfile",
  "Secret",
  "SecurityLabelDisable",
  "SecurityLabelFileType",
  "SecurityLabelLevel",
  "SecurityLabelNested",
  "SecurityLabelType",
  "ServiceName",
  "ShmSize",
  "StartWithPod",
  "StopSignal",
  "StopTimeout",
  "SubGIDMap",
  "SubUIDMap",
  "Sysctl",
  "Timezone",
  "Tmpfs",
  "UIDMap",
  "Ulimit",
  "Unmask",
  "User",
  "UserNS",
  "VolatileTmp",
  "Volume",
  "WorkingDir",
];

Deno.test("every quadlet [Container] key is either supported or refused with a reason", () => {
  for (const key of QUADLET_CONTAINER_KEYS) {
    const supported = Object.hasOwn(CONTAINER_KEYS, key);
    const refused = Object.hasOwn(UNSUPPORTED_CONTAINER_KEYS, key);
    assert(supported !== refused, `${key}: supported ${supported}, refused ${refused}`);
    if (refused) assert(UNSUPPORTED_CONTAINER_KEYS[key].length > 10, key);
  }
  // Ours beyond quadlet's: CPUs= only.
  const extra = Object.keys(CONTAINER_KEYS).filter((k) => !QUADLET_CONTAINER_KEYS.includes(k));
  assertEquals(extra, ["CPUs"]);
});

Deno.test("every [Container] key names a create option (or is converted itself) and has help", () => {
  const options = new Set(findCommand("create")!.options.map((o) => o.long));
  for (const [key, spec] of Object.entries(CONTAINER_KEYS)) {
    assert(spec.help.length > 0, key);
    if (spec.option === "IMAGE" || spec.option === "COMMAND" || spec.option === "") continue;
    assert(
      options.has(spec.option),
      `${key}= maps to --${spec.option}, which create does not have`,
    );
  }
  // The keys the issue lists, with quadlet's names.
  for (
    const key of [
      "Image",
      "Exec",
      "Entrypoint",
      "Environment",
      "EnvironmentFile",
      "Volume",
      "PublishPort",
      "Network",
      "HostName",
      "User",
      "WorkingDir",
      "Memory",
      "CPUs",
      "PidsLimit",
      "ReadOnly",
      "AddCapability",
      "DropCapability",
      "Pull",
      "StopTimeout",
    ]
  ) assert(Object.hasOwn(CONTAINER_KEYS, key), key);
});

Deno.test("managed [Service] keys each say what to use instead", () => {
  for (const [key, hint] of Object.entries(MANAGED_SERVICE_KEYS)) assert(hint.length > 10, key);
});

Deno.test("planSpecifiers: unit names and host facts", () => {
  const s = planSpecifiers("tsnspawn-web.service", HOST);
  assertEquals([s.n, s.N, s.p, s.i, s.H, s.l, s.m, s.b, s.S, s.t], [
    "tsnspawn-web.service",
    "tsnspawn-web",
    "tsnspawn-web",
    "",
    "box.example",
    "box",
    "ab".repeat(16),
    "cd".repeat(16),
    "/var/lib",
    "/run",
  ]);
});

Deno.test("formatProblem: path:line: message (hint)", () => {
  assertEquals(
    formatProblem({ path: "/e/a.container", line: 3, message: "bad", hint: "fix" }),
    "/e/a.container:3: bad (hint: fix)",
  );
  assertEquals(
    formatProblem({ path: "/e/a.container", line: 0, message: "bad" }),
    "/e/a.container: bad",
  );
});

Deno.test("unitFileLines: every planned property has a unit-file form", () => {
  const { declaration } = parseDeclaration(
    "/etc/tsnspawn/all.container",
    "[Container]\nImage=busybox\nMemory=1g\nCPUs=1.25\nPidsLimit=10\n[Service]\nRestart=on-failure\n",
    { host: HOST, hostCpus: 8 },
  );
  const config = planDeclaredConfig(declaration!.options);
  config.resources.cpuWeight = 50;
  const props = planUnitProperties(config, {
    shimCommand: ["/x", "__shim"],
    stopCommand: ["/x", "__stop"],
    cleanupCommand: ["/x", "__cleanup"],
    prepareCommand: ["/x", "__prepare"],
    registerMachine: "tsnspawn-machine@all.service",
    runId: "r",
    addRef: true,
    terminal: { unit: "tsnspawn-terminal@all.service", size: "24x80" },
  });
  const keys = new Map<string, string[]>();
  for (const p of props) {
    for (const [section, key, value] of unitFileLines(p)) {
      keys.set(`${section}.${key}`, [...(keys.get(`${section}.${key}`) ?? []), value]);
    }
  }
  assertEquals(keys.get("Service.CPUQuota"), ["125%"]);
  assertEquals(keys.get("Service.MemoryMax"), ["1073741824"]);
  assertEquals(keys.get("Unit.StartLimitIntervalSec"), ["0"]);
  assertEquals(keys.get("Service.RestartSec"), ["100ms"]);
  assertEquals(keys.get("Service.Environment"), ["TSNSPAWN_TTY_SIZE=24x80"]);
  assertEquals(keys.get("Unit.Wants"), [
    "tsnspawn-machine@all.service",
    "tsnspawn-terminal@all.service",
  ]);
  assertEquals(keys.get("Unit.After"), ["tsnspawn-terminal@all.service"]);
  assertEquals(keys.get("Unit.CollectMode"), ["inactive-or-failed"]);
  assertEquals(keys.has("Service.AddRef"), false);
  for (const key of keys.keys()) assert(!key.endsWith("USec"), key);
});

Deno.test("machined: machine and unit names", () => {
  assertEquals(machineName("happy_turing"), "happy-turing");
  assertEquals(machineName("web@7"), "web-7");
  assertEquals(machineUnitName("a_b"), "tsnspawn-machine@a_b.service");
});

Deno.test("planSpecifiers: a template's instance", () => {
  const s = planSpecifiers("tsnspawn-web@7.service", HOST);
  assertEquals([s.n, s.N, s.p, s.i, s.j], [
    "tsnspawn-web@7.service",
    "tsnspawn-web@7",
    "tsnspawn-web",
    "7",
    "web",
  ]);
});

Deno.test("validate: an Exec= of 200,000 words is no problem (no stack overflow)", () => {
  const words = Array.from({ length: 200_000 }, (_, i) => `w${i}`).join(" ");
  const { declaration, problems } = parseDeclaration(
    "/etc/tsnspawn/big.container",
    `[Container]\nImage=busybox\nExec=${words}\nEnvironment=${
      words.replaceAll(" w", " K=w").replace("w0", "K=w0")
    }\n`,
    { host: HOST, hostCpus: 4 },
  );
  assertEquals(problems, []);
  assertEquals(declaration!.options.command.length, 200_000);
  assertEquals(declaration!.options.env.length, 200_000);
});

Deno.test("fuzz: random declarations only ever give problems, never a crash", () => {
  const pieces = [
    "[Container]",
    "[Unit]",
    "[Service]",
    "[Install]",
    "[Quadlet]",
    "[X-Mine]",
    "[Bad",
    "\\",
    "\n",
    "Image=busybox",
    "Image=",
    "Exec=",
    'Exec="a',
    "Exec=a\\",
    "Volume=data.volume:/d",
    "Volume=:",
    "Network=x.network",
    "Network=a.container",
    "Mount=type=volume,source=a.volume",
    "PublishPort=",
    "PublishPort=[::1]:80:80",
    "PublishPort=80",
    "%",
    "%i",
    "%Z",
    "After=db.container",
    "Requires=x.pod",
    "Entrypoint=",
    'Entrypoint=["/bin/sh","-c"]',
    "Entrypoint=[",
    "User=",
    "Group=1",
    "Notify=healthy",
    "HealthCmd=",
    "AutoUpdate=registry",
    "Label=a=b c",
    'Label="',
    "Sysctl=net.x=1",
    "Ulimit=nofile=1",
    "ContainerName=%N",
    "DefaultDependencies=maybe",
    "WantedBy=",
    "WantedBy=../x",
    "\u0000",
    "=",
    "Restart=always",
    "Type=simple",
    "Timezone=../../etc",
    "Tmpfs=/t:size=1",
    "AddHost=a:1.2.3.4",
  ];
  let seed = 42;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let round = 0; round < 400; round++) {
    const lines = Array.from({ length: 1 + random(12) }, () => pieces[random(pieces.length)]);
    const text = lines.join(random(3) === 0 ? "\r\n" : "\n");
    for (
      const name of [
        "a.container",
        "a@.container",
        "a@1.container",
        "bad name.container",
        "a.network",
      ]
    ) {
      const result = parseDeclaration(`/etc/tsnspawn/${name}`, text, { host: HOST, hostCpus: 2 });
      for (const p of result.problems) {
        assert(typeof p.message === "string" && p.message.length > 0);
        assert(!/cannot convert the file/.test(p.message), `${p.message}\n${text}`);
      }
      if (result.declaration) {
        planContainerUnit(result.declaration, {
          command: selfCommand,
          machined: true,
          stateRoot: "/var/lib/tsnspawn",
        });
      }
    }
  }
});

import { BOOT_TIMEOUT_MS } from "../container/config.ts";
import { planShellUnit } from "./container_shell.ts";
import { testContainerConfig } from "../testing/container_config.ts";
import { assert, assertEquals, assertThrows } from "@std/assert";
import type { ContainerConfig } from "../container/config.ts";
import { TsnspawnError } from "../errors.ts";
import {
  BOOT_MARGIN_USEC,
  DEFAULT_RESTART_USEC,
  DEVICE_ALLOW,
  formatTimespan,
  formatUnitProperties,
  planScopeProperties,
  planTerminalUnitProperties,
  planUnitProperties,
  STOP_GUARD_SCRIPT,
  STOP_MARGIN_USEC,
  terminalUnitName,
  UNIT_PROPERTY_SIGNATURES,
  type UnitPlanOptions,
  type UnitProperty,
  USEC_INFINITY,
} from "./unit_properties.ts";

function config(overrides: Partial<ContainerConfig> = {}): ContainerConfig {
  return testContainerConfig(overrides);
}

const OPTS: UnitPlanOptions = {
  shimCommand: ["/usr/bin/deno", "run", "-A", "/opt/tsnspawn/mod.ts", "__shim", "web"],
  stopCommand: ["/usr/bin/deno", "run", "-A", "/opt/tsnspawn/mod.ts", "__stop", "web"],
  cleanupCommand: ["/usr/bin/deno", "run", "-A", "/opt/tsnspawn/mod.ts", "__cleanup", "web"],
  runId: "r1",
};

function byName(props: UnitProperty[]): Map<string, [string, unknown]> {
  const map = new Map<string, [string, unknown]>();
  for (const [name, signature, value] of props) {
    assert(!map.has(name), `${name} set twice`);
    map.set(name, [signature, value]);
  }
  return map;
}

function bytes(text: string): number[] {
  return Array.from(new TextEncoder().encode(text));
}

Deno.test("a --rm container without a bridge is cleaned up by rm, others by the cleanup", () => {
  const removed = byName(planUnitProperties(config({ autoRemove: true, network: "none" }), OPTS));
  const dir = `${Deno.env.get("TSNSPAWN_ROOT") ?? "/var/lib/tsnspawn"}/containers/web`;
  assertEquals(removed.get("ExecStopPost"), ["a(sasb)", [[
    "/bin/rm",
    ["/bin/rm", "-rf", "--one-file-system", "--", dir],
    true,
  ]]]);
  for (
    const kept of [config({ autoRemove: false }), config({ autoRemove: true, network: "bridge" })]
  ) {
    const props = byName(planUnitProperties(kept, OPTS));
    assertEquals(props.get("ExecStopPost"), ["a(sasb)", [[
      "/usr/bin/deno",
      OPTS.cleanupCommand,
      true,
    ]]]);
  }
});

Deno.test("every planned property uses the signature from the table", () => {
  const props = planUnitProperties(
    config({
      resources: { memoryMax: 268435456, cpuQuotaPerSecUSec: 500000, tasksMax: 100, cpuWeight: 50 },
      restart: { policy: "on-failure", maxRetries: 3 },
    }),
    {
      ...OPTS,
      terminal: { unit: "tsnspawn-terminal@web.service", size: "24x80" },
      addRef: true,
      prepareCommand: ["/usr/bin/tsnspawn", "__prepare", "web"],
      registerMachine: "tsnspawn-machine@web.service",
    },
  );
  props.push(
    ...planUnitProperties(config({ systemd: true }), OPTS),
    ...planTerminalUnitProperties(config({ tty: true }), { holderCommand: ["/x"], runId: "r" }),
    ...planShellUnit({ tty: "/dev/pts/1", user: "root", env: ["TERM=xterm"] }),
  );
  const scope = planScopeProperties(config({ resources: { cpuWeight: 50 } }), 4242);
  for (const [name, signature] of [...props, ...scope]) {
    assertEquals(
      signature,
      UNIT_PROPERTY_SIGNATURES[name as keyof typeof UNIT_PROPERTY_SIGNATURES],
      name,
    );
  }
  // Every property of the table is used by some plan.
  assertEquals(
    new Set([...props, ...scope].map((p) => p[0])),
    new Set(Object.keys(UNIT_PROPERTY_SIGNATURES)),
  );
});

Deno.test("signatures match systemd's transient-unit API", () => {
  const expected: Record<string, string> = {
    Description: "s",
    Wants: "as",
    Type: "s",
    NotifyAccess: "s",
    ExecStartPre: "a(sasb)",
    ExecStart: "a(sasb)",
    ExecStop: "a(sasb)",
    ExecStopPost: "a(sasb)",
    KillMode: "s",
    KillSignal: "i",
    Slice: "s",
    TimeoutStopUSec: "t",
    SyslogLevelPrefix: "b",
    LogRateLimitIntervalUSec: "t",
    LogRateLimitBurst: "u",
    SyslogIdentifier: "s",
    LogExtraFields: "aay",
    MemoryAccounting: "b",
    MemoryMax: "t",
    CPUAccounting: "b",
    CPUQuotaPerSecUSec: "t",
    TasksMax: "t",
    CPUWeight: "t",
    Restart: "s",
    RestartUSec: "t",
    StartLimitBurst: "u",
    StartLimitIntervalUSec: "t",
    DevicePolicy: "s",
    Delegate: "b",
    DeviceAllow: "a(ss)",
    StandardInput: "s",
    StandardOutput: "s",
    StandardError: "s",
    TTYPath: "s",
    TTYReset: "b",
    TTYVHangup: "b",
    CollectMode: "s",
    AddRef: "b",
    After: "as",
    BindsTo: "as",
    Environment: "as",
    FileDescriptorStoreMax: "u",
    TimeoutStartUSec: "t",
    SendSIGHUP: "b",
    IgnoreSIGPIPE: "b",
    UtmpIdentifier: "s",
    UtmpMode: "s",
    PAMName: "s",
    WorkingDirectory: "s",
    User: "s",
    PIDs: "au",
  };
  assertEquals({ ...UNIT_PROPERTY_SIGNATURES }, expected);
});

Deno.test("an attached --rm run's scope: its PID 1, the device cgroup, no exec or journal", () => {
  const props = byName(
    planScopeProperties(config({ stopSignal: "SIGINT", stopTimeoutSec: 3 }), 77),
  );
  assertEquals(props.get("PIDs"), ["au", [77]]);
  assertEquals(props.get("Slice"), ["s", "machine.slice"]);
  assertEquals(props.get("Delegate"), ["b", true]);
  assertEquals(props.get("CollectMode"), ["s", "inactive-or-failed"]);
  assertEquals(props.get("KillSignal"), ["i", 2]);
  assertEquals(props.get("TimeoutStopUSec"), ["t", 3_000_000n]);
  assertEquals(props.get("DevicePolicy"), ["s", "closed"]);
  assertEquals(props.get("DeviceAllow")?.[1], DEVICE_ALLOW.map(([d, a]) => [d, a]));
  assertEquals(props.get("CPUAccounting"), ["b", true]);
  for (const absent of ["ExecStart", "ExecStop", "ExecStopPost", "Type", "LogExtraFields"]) {
    assert(!props.has(absent), absent);
  }
});

Deno.test("a plain container: the default properties and values", () => {
  const props = byName(planUnitProperties(config(), OPTS));
  assertEquals(props.get("Description"), [
    "s",
    "tsnspawn container web (docker.io/library/busybox:latest)",
  ]);
  assertEquals(props.get("Type"), ["s", "notify"]);
  assertEquals(props.get("NotifyAccess"), ["s", "all"]);
  assertEquals(props.get("ExecStart"), ["a(sasb)", [["/usr/bin/deno", OPTS.shimCommand, false]]]);
  assertEquals(props.get("ExecStop"), [
    "a(sasb)",
    [["/bin/sh", ["/bin/sh", "-c", STOP_GUARD_SCRIPT, ...OPTS.stopCommand], true]],
  ]);
  assertEquals(props.get("ExecStopPost"), ["a(sasb)", [[
    "/usr/bin/deno",
    OPTS.cleanupCommand,
    true,
  ]]]);
  assertEquals(props.get("KillMode"), ["s", "mixed"]);
  assertEquals(props.get("KillSignal"), ["i", 15]);
  assertEquals(props.get("Slice"), ["s", "machine.slice"]);
  // The stop timeout plus the margin ExecStop= needs to kill and wait for the reap.
  assertEquals(props.get("TimeoutStopUSec"), ["t", 10_000_000n + STOP_MARGIN_USEC]);
  assertEquals(props.get("LogRateLimitIntervalUSec"), ["t", 0n]);
  assertEquals(props.get("LogRateLimitBurst"), ["u", 0]);
  assertEquals(props.get("SyslogIdentifier"), ["s", "web"]);
  assertEquals(props.get("LogExtraFields"), [
    "aay",
    [
      bytes("TSNSPAWN_CONTAINER=web"),
      bytes("TSNSPAWN_IMAGE=docker.io/library/busybox:latest"),
      bytes("TSNSPAWN_RUN=r1"),
    ],
  ]);
  assertEquals(props.get("Restart"), ["s", "no"]);
  assertEquals(props.get("DevicePolicy"), ["s", "closed"]);
  assertEquals(props.get("StandardInput"), ["s", "null"]);
  assertEquals(props.get("StandardOutput"), ["s", "journal"]);
  assertEquals(props.get("StandardError"), ["s", "journal"]);
  assertEquals(props.get("CollectMode"), ["s", "inactive-or-failed"]);
  for (
    const absent of [
      "MemoryMax",
      "CPUQuotaPerSecUSec",
      "TasksMax",
      "CPUWeight",
      "RestartUSec",
      "StartLimitBurst",
      "StartLimitIntervalUSec",
      "TTYPath",
      "TTYReset",
      "TTYVHangup",
      "AddRef",
    ]
  ) {
    assert(!props.has(absent), `${absent} should be absent`);
  }
  // The plan does not share arrays with its input.
  const execStart = props.get("ExecStart")![1] as [string, string[], boolean][];
  assert(execStart[0][1] !== OPTS.shimCommand);
});

Deno.test("device access: closed policy plus the standard nodes and ptys", () => {
  const [, value] = byName(planUnitProperties(config(), OPTS)).get("DeviceAllow")!;
  const allowed = new Map(value as [string, string][]);
  for (
    const node of [
      "/dev/null",
      "/dev/zero",
      "/dev/full",
      "/dev/random",
      "/dev/urandom",
      "/dev/tty",
      "/dev/ptmx",
      "char-pts",
    ]
  ) {
    assertEquals(allowed.get(node), "rwm", node);
  }
  assertEquals(allowed.get("char-*"), "m");
  assertEquals(allowed.get("block-*"), "m");
  assertEquals(value, DEVICE_ALLOW.map(([d, a]) => [d, a]));
});

Deno.test("resource limits become bigints", () => {
  const props = byName(planUnitProperties(
    config({
      resources: { memoryMax: 268435456, cpuQuotaPerSecUSec: 500000, tasksMax: 100, cpuWeight: 50 },
    }),
    OPTS,
  ));
  assertEquals(props.get("MemoryMax"), ["t", 268435456n]);
  assertEquals(props.get("CPUQuotaPerSecUSec"), ["t", 500000n]);
  assertEquals(props.get("TasksMax"), ["t", 100n]);
  assertEquals(props.get("CPUWeight"), ["t", 50n]);
});

Deno.test("restart policies and the start limit", () => {
  const always = byName(
    planUnitProperties(config({ restart: { policy: "always", maxRetries: 0 } }), OPTS),
  );
  assertEquals(always.get("Restart"), ["s", "always"]);
  assertEquals(always.get("RestartUSec"), ["t", DEFAULT_RESTART_USEC]);
  assertEquals(DEFAULT_RESTART_USEC, 100_000n);
  assertEquals(always.get("StartLimitIntervalUSec"), ["t", 0n]);
  assert(!always.has("StartLimitBurst"));

  const unlimited = byName(
    planUnitProperties(config({ restart: { policy: "on-failure", maxRetries: 0 } }), OPTS),
  );
  assertEquals(unlimited.get("Restart"), ["s", "on-failure"]);
  assertEquals(unlimited.get("StartLimitIntervalUSec"), ["t", 0n]);

  const three = byName(
    planUnitProperties(config({ restart: { policy: "on-failure", maxRetries: 3 } }), OPTS),
  );
  assertEquals(three.get("Restart"), ["s", "on-failure"]);
  assertEquals(three.get("StartLimitBurst"), ["u", 4]); // the first start + 3 restarts
  assertEquals(three.get("StartLimitIntervalUSec"), ["t", USEC_INFINITY]);
});

Deno.test("stop signal and timeout come from the config", () => {
  const props = byName(
    planUnitProperties(config({ stopSignal: "SIGQUIT", stopTimeoutSec: 0 }), OPTS),
  );
  assertEquals(props.get("KillSignal"), ["i", 3]);
  assertEquals(props.get("TimeoutStopUSec"), ["t", STOP_MARGIN_USEC]);
  const rt = byName(planUnitProperties(config({ stopSignal: "SIGRTMIN+3" }), OPTS));
  assertEquals(rt.get("KillSignal"), ["i", 37]);
  assertThrows(() => planUnitProperties(config({ stopSignal: "SIGNOPE" }), OPTS), TsnspawnError);
});

Deno.test("a terminal: the journal still gets stdio; the holder is wanted, started first", () => {
  const props = byName(planUnitProperties(config({ tty: true }), {
    ...OPTS,
    terminal: { unit: "tsnspawn-terminal@web.service", size: "40x100" },
  }));
  assertEquals(props.get("StandardInput"), ["s", "null"]);
  assertEquals(props.get("StandardOutput"), ["s", "journal"]);
  assertEquals(props.get("TTYPath"), undefined);
  assertEquals(props.get("Wants"), ["as", ["tsnspawn-terminal@web.service"]]);
  assertEquals(props.get("After"), ["as", ["tsnspawn-terminal@web.service"]]);
  assertEquals(props.get("Environment"), ["as", ["TSNSPAWN_TTY_SIZE=40x100"]]);
});

Deno.test("the terminal holder's unit: bound to the container's, restarted, its fields", () => {
  const props = byName(planTerminalUnitProperties(config({ tty: true }), {
    holderCommand: ["/usr/bin/tsnspawn", "__terminal", "web"],
    runId: "r1",
  }));
  assertEquals(props.get("BindsTo"), ["as", ["tsnspawn-web.service"]]);
  assertEquals(props.get("Restart"), ["s", "on-failure"]);
  assertEquals(props.get("Type"), ["s", "notify"]);
  assertEquals((props.get("FileDescriptorStoreMax")![1] as number) > 0, true);
  const fields = (props.get("LogExtraFields")![1] as number[][]).map((f) =>
    new TextDecoder().decode(new Uint8Array(f))
  );
  assertEquals(fields, [
    "TSNSPAWN_CONTAINER=web",
    "TSNSPAWN_IMAGE=docker.io/library/busybox:latest",
    "TSNSPAWN_RUN=r1",
  ]);
  assertEquals(terminalUnitName("a_b"), "tsnspawn-terminal@a_b.service");
});

Deno.test("an OS container: boot timeout and a fd store for its console", () => {
  const props = byName(planUnitProperties(config({ systemd: true }), OPTS));
  assertEquals(
    props.get("TimeoutStartUSec"),
    ["t", BigInt(BOOT_TIMEOUT_MS) * 1000n + BOOT_MARGIN_USEC],
  );
  assertEquals(props.get("FileDescriptorStoreMax"), ["u", 1]);
  const plain = byName(planUnitProperties(config(), OPTS));
  assertEquals(plain.get("TimeoutStartUSec"), undefined);
  assertEquals(plain.get("FileDescriptorStoreMax"), undefined);
});

Deno.test("AddRef and --rootfs", () => {
  const props = byName(planUnitProperties(
    config({ image: null, imageId: null, lowerDirs: ["/srv/rootfs"] }),
    { ...OPTS, addRef: true },
  ));
  assertEquals(props.get("AddRef"), ["b", true]);
  assertEquals(props.get("Description"), ["s", "tsnspawn container web (/srv/rootfs)"]);
  const fields = props.get("LogExtraFields")![1] as number[][];
  assertEquals(fields[1], bytes("TSNSPAWN_IMAGE=/srv/rootfs"));
});

Deno.test("formatTimespan", () => {
  assertEquals(formatTimespan(0n), "0");
  assertEquals(formatTimespan(100_000n), "100ms");
  assertEquals(formatTimespan(10_000_000n), "10s");
  assertEquals(formatTimespan(90_000_000n), "1min 30s");
  assertEquals(formatTimespan(1_500_000n), "1s 500ms");
  assertEquals(formatTimespan(1n), "1us");
  assertEquals(formatTimespan(86_400_000_000n + 1n), "1d 1us");
  assertEquals(formatTimespan(USEC_INFINITY), "infinity");
});

Deno.test("formatUnitProperties prints unit-file lines", () => {
  const text = formatUnitProperties(planUnitProperties(
    config({
      resources: { memoryMax: 268435456, cpuQuotaPerSecUSec: 500000 },
      restart: { policy: "on-failure", maxRetries: 2 },
    }),
    { ...OPTS, cleanupCommand: ["/usr/bin/deno", "run", "a b", 'q"$x'], addRef: true },
  ));
  const lines = text.split("\n");
  assertEquals(lines.pop(), "");
  for (
    const line of [
      "Description=tsnspawn container web (docker.io/library/busybox:latest)",
      "Type=notify",
      "NotifyAccess=all",
      "ExecStart=/usr/bin/deno run -A /opt/tsnspawn/mod.ts __shim web",
      'ExecStop=-/bin/sh -c "[ -z \\"$$MAINPID\\" ] || exec \\"$$0\\" \\"$$@\\"" /usr/bin/deno run -A /opt/tsnspawn/mod.ts __stop web',
      'ExecStopPost=-/usr/bin/deno run "a b" "q\\"$$x"',
      "KillMode=mixed",
      "KillSignal=SIGTERM",
      "Slice=machine.slice",
      "TimeoutStopUSec=15s",
      "LogRateLimitIntervalUSec=0",
      "LogRateLimitBurst=0",
      "SyslogIdentifier=web",
      "LogExtraFields=TSNSPAWN_CONTAINER=web",
      "LogExtraFields=TSNSPAWN_IMAGE=docker.io/library/busybox:latest",
      "LogExtraFields=TSNSPAWN_RUN=r1",
      "MemoryMax=268435456",
      "CPUQuotaPerSecUSec=500ms",
      "Restart=on-failure",
      "RestartUSec=100ms",
      "StartLimitBurst=3",
      "StartLimitIntervalUSec=infinity",
      "DevicePolicy=closed",
      "DeviceAllow=/dev/null rwm",
      "DeviceAllow=char-pts rwm",
      "DeviceAllow=block-* m",
      "StandardInput=null",
      "StandardOutput=journal",
      "StandardError=journal",
      "CollectMode=inactive-or-failed",
      "AddRef=yes",
    ]
  ) {
    assert(lines.includes(line), `missing ${line}\n${text}`);
  }
  for (const line of lines) assert(/^[A-Za-z]+=/.test(line), line);
});

Deno.test("formatUnitProperties: exec with argv[0] different from the path", () => {
  assertEquals(
    formatUnitProperties([["ExecStart", "a(sasb)", [[
      "/bin/busybox",
      ["sh", "-c", "echo hi"],
      false,
    ]]]]),
    'ExecStart=@/bin/busybox sh -c "echo hi"\n',
  );
  assertEquals(formatUnitProperties([]), "");
});

Deno.test("fuzz planUnitProperties: odd stop signals and limits only raise TsnspawnError", () => {
  let seed = 99;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const signals = [
    "SIGTERM",
    "TERM",
    "9",
    "0",
    "",
    "SIGRTMIN+30",
    "SIGRTMAX-40",
    "KILL",
    "sig",
    "\0",
    "RTMIN+x",
  ];
  for (let i = 0; i < 2000; i++) {
    const retries = Math.floor(random() * 5);
    const c = config({
      stopSignal: signals[Math.floor(random() * signals.length)],
      stopTimeoutSec: Math.floor(random() * 1000),
      restart: {
        policy: (["no", "on-failure", "always"] as const)[Math.floor(random() * 3)],
        maxRetries: retries,
      },
      resources: random() < 0.5
        ? {}
        : { memoryMax: Math.floor(random() * 2 ** 40), tasksMax: 1 + retries },
    });
    try {
      const props = planUnitProperties(c, { ...OPTS, addRef: random() < 0.5 });
      assert(formatUnitProperties(props).endsWith("\n"));
    } catch (error) {
      if (!(error instanceof TsnspawnError)) throw error;
    }
  }
});

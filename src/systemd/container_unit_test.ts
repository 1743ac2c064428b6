/**
 * Declared containers (src/systemd/container_unit.ts): the key table against the
 * CLI's options, specifiers, the D-Bus → unit-file key mapping, and that
 * systemd itself accepts every generated unit (`systemd-analyze verify`).
 * The generator's output per feature is covered by the fixtures
 * (tests/generator_fixtures_test.ts).
 */
import { assert, assertEquals } from "@std/assert";
import { dirname, fromFileUrl, join } from "@std/path";
import {
  CONTAINER_KEYS,
  declarationName,
  formatProblem,
  MANAGED_SERVICE_KEYS,
  parseDeclaration,
  planContainerUnit,
  planDeclaredConfig,
  planSpecifiers,
  unitFileLines,
} from "./container_unit.ts";
import { findCommand } from "../cli/args.ts";
import { planUnitProperties } from "./unit_properties.ts";
import { selfCommand } from "../self_exec.ts";
import { machineName, machineUnitName } from "./machined.ts";

const HOST = {
  hostname: "box.example",
  machineId: "ab".repeat(16),
  bootId: "cd".repeat(16),
  kernelRelease: "6.18.0",
};

Deno.test("every [Container] key names a create option (or a positional) and has help", () => {
  const options = new Set(findCommand("create")!.options.map((o) => o.long));
  for (const [key, spec] of Object.entries(CONTAINER_KEYS)) {
    assert(spec.help.length > 0, key);
    if (spec.option === "IMAGE" || spec.option === "COMMAND") continue;
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

Deno.test("declarationName: the file name without .container, validated", () => {
  assertEquals(declarationName("/etc/tsnspawn/web-1.container"), "web-1");
  for (
    const bad of [
      "/etc/tsnspawn/web.service",
      "/etc/tsnspawn/-x.container",
      "/etc/tsnspawn/.container",
    ]
  ) {
    let threw = false;
    try {
      declarationName(bad);
    } catch {
      threw = true;
    }
    assert(threw, bad);
  }
});

Deno.test("planSpecifiers: unit names and host facts", () => {
  const s = planSpecifiers("web", HOST);
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
  assertEquals(machineUnitName("a_b"), "tsnspawn-machine@a_b.service");
});

/** systemd-analyze, when this machine has it. */
function systemdAnalyze(): string | null {
  for (const path of ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"]) {
    try {
      Deno.statSync(path);
      return path;
    } catch { /* next */ }
  }
  return null;
}

Deno.test({
  name: "systemd-analyze verify accepts every generated unit without a warning",
  ignore: systemdAnalyze() === null || Deno.uid() !== 0,
  fn: async () => {
    const fixtures = join(dirname(fromFileUrl(import.meta.url)), "..", "..", "tests", "fixtures");
    const dir = Deno.makeTempDirSync({ dir: "/dev/shm", prefix: "tsnspawn-verify-" });
    try {
      const units: string[] = [];
      for (const entry of Deno.readDirSync(fixtures)) {
        if (!entry.name.endsWith(".container")) continue;
        const text = Deno.readTextFileSync(join(fixtures, entry.name));
        const { declaration } = parseDeclaration(`/etc/tsnspawn/${entry.name}`, text, {
          host: HOST,
          hostCpus: 4,
        });
        if (!declaration) continue;
        const unit = join(dir, `tsnspawn-${declaration.name}.service`);
        Deno.writeTextFileSync(
          unit,
          planContainerUnit(declaration, {
            command: selfCommand,
            machined: true,
            stateRoot: "/var/lib/tsnspawn",
          }),
        );
        units.push(unit);
      }
      assert(units.length >= 10);
      const out = await new Deno.Command(systemdAnalyze()!, {
        args: ["verify", "--man=no", ...units],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
      // Dependencies on units this machine lacks (tsnspawn-db.service) are fine; bad keys and values are not.
      const complaints = text.split("\n").filter((l) =>
        /ignoring|Unknown|Invalid|Failed to parse|not executable/i.test(l)
      );
      assertEquals(complaints, []);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

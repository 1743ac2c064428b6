import { testContainerConfig } from "../testing/container_config.ts";
import { assert, assertEquals, assertThrows } from "@std/assert";
import type { ContainerConfig } from "../container/config.ts";
import { TsnspawnError } from "../errors.ts";
import { containerPaths } from "../paths.ts";
import { planRootfs } from "../container/mount_plan.ts";
import { parseCommandLine } from "../cli/args.ts";
import { CAPABILITIES, DOCKER_DEFAULT_CAPABILITIES } from "./capabilities.ts";
import { DOCKER_DEFAULT_PROFILE, formatSeccompProfile } from "./seccomp_profile.ts";
import { planUnitProperties } from "../systemd/unit_properties.ts";
import {
  parseSecurityOptions,
  parseUserns,
  planContainerSeccomp,
  planSeccompSetting,
} from "./options.ts";

function invalid(fn: () => unknown, includes: string): void {
  const error = assertThrows(fn, TsnspawnError);
  assert(error.message.includes(includes), `${error.message} lacks ${includes}`);
}

Deno.test("parseSecurityOptions: docker spellings, later wins, unknown refused", () => {
  assertEquals(parseSecurityOptions([]), {});
  assertEquals(parseSecurityOptions(["seccomp=unconfined"]), { seccomp: { kind: "unconfined" } });
  assertEquals(parseSecurityOptions(["seccomp:/p.json"]), {
    seccomp: { kind: "profile", path: "/p.json" },
  });
  assertEquals(parseSecurityOptions(["no-new-privileges"]), { noNewPrivileges: true });
  assertEquals(parseSecurityOptions(["no-new-privileges=false"]), { noNewPrivileges: false });
  assertEquals(parseSecurityOptions(["no-new-privileges:true", "no-new-privileges=0"]), {
    noNewPrivileges: false,
  });
  assertEquals(parseSecurityOptions(["apparmor=unconfined", "label=disable"]), {});
  invalid(() => parseSecurityOptions(["no-new-privileges=maybe"]), "expected true or false");
  invalid(() => parseSecurityOptions(["apparmor=docker-default"]), "not supported");
  invalid(() => parseSecurityOptions(["seccomp"]), "not supported");
  invalid(() => parseSecurityOptions(["seccomp="]), "not a profile");
  invalid(() => parseSecurityOptions(["SECCOMP=unconfined"]), "not supported");
});

Deno.test("parseUserns: only host", () => {
  assertEquals(parseUserns("host"), "host");
  invalid(() => parseUserns("auto"), "not supported yet");
});

Deno.test("run options: --security-opt, --privileged, --read-only, --tmpfs, --userns", () => {
  const run = (line: string) => {
    const c = parseCommandLine(line.split(" "));
    if (c.kind !== "run") throw new Error(c.kind);
    return c;
  };
  const c = run(
    "run --security-opt seccomp=unconfined --security-opt no-new-privileges=false --read-only --tmpfs /t busybox",
  );
  assertEquals(c.security, { seccomp: { kind: "unconfined" }, noNewPrivileges: false });
  assert(c.readOnly && !c.privileged);
  assertEquals(c.tmpfs.map((t) => t.destination), ["/t"]);
  // --privileged: every capability, whatever --cap-drop says (docker).
  const p = run("run --privileged --cap-drop ALL busybox");
  assertEquals(p.capabilities, CAPABILITIES.map((cap) => cap.name));
  invalid(() => run("run --userns auto busybox"), "not supported yet");
  assertEquals(run("run --userns host busybox").image, "busybox");
});

Deno.test("planSeccompSetting: default, unconfined, privileged, a profile validated now", () => {
  const caps = [...DOCKER_DEFAULT_CAPABILITIES];
  const noFile = (path: string): string => {
    throw new Error(`read ${path}`);
  };
  assertEquals(planSeccompSetting(undefined, false, caps, noFile), { kind: "default" });
  assertEquals(planSeccompSetting({ kind: "default" }, false, caps, noFile), { kind: "default" });
  assertEquals(planSeccompSetting({ kind: "unconfined" }, false, caps, noFile), {
    kind: "unconfined",
  });
  assertEquals(planSeccompSetting({ kind: "profile", path: "/p" }, true, caps, noFile), {
    kind: "unconfined",
  });
  const text = formatSeccompProfile(DOCKER_DEFAULT_PROFILE);
  assertEquals(planSeccompSetting({ kind: "profile", path: "/p" }, false, caps, () => text), {
    kind: "profile",
    source: "/p",
    profile: text,
  });
  invalid(
    () => planSeccompSetting({ kind: "profile", path: "/bad.json" }, false, caps, () => "{"),
    "/bad.json",
  );
  invalid(
    () =>
      planSeccompSetting(
        { kind: "profile", path: "/p" },
        false,
        caps,
        () => '{"defaultAction":"SCMP_ACT_NOPE"}',
      ),
    "seccomp profile /p",
  );
});

Deno.test("planContainerSeccomp: a program for default and profiles, none when unconfined", () => {
  const caps = [...DOCKER_DEFAULT_CAPABILITIES];
  const byDefault = planContainerSeccomp(undefined, caps, "6.18.0")!;
  assert(byDefault.length > 0 && byDefault.length % 8 === 0);
  assertEquals(planContainerSeccomp({ kind: "default" }, caps, "6.18.0"), byDefault);
  assertEquals(planContainerSeccomp({ kind: "unconfined" }, caps), undefined);
  const text = formatSeccompProfile(DOCKER_DEFAULT_PROFILE);
  assertEquals(
    planContainerSeccomp({ kind: "profile", source: "/p", profile: text }, caps, "6.18.0"),
    byDefault,
  );
  // CAP_SYS_ADMIN opens mount & co.: another program.
  const admin = planContainerSeccomp({ kind: "default" }, [...caps, "CAP_SYS_ADMIN"], "6.18.0")!;
  assert(admin.length !== byDefault.length || admin.some((b, i) => b !== byDefault[i]));
});

const paths = containerPaths("web", "/var/lib/tsnspawn");

function config(overrides: Partial<ContainerConfig> = {}): ContainerConfig {
  return testContainerConfig({
    image: null,
    imageId: null,
    lowerDirs: ["/rootfs"],
    command: ["/bin/sh"],
    env: [],
    hostname: "web",
    ...overrides,
  });
}

Deno.test("planRootfs --read-only: tmpfs /tmp and /run, root remounted read-only last", () => {
  const plan = planRootfs(config({ readOnlyRoot: true }), paths);
  const last = plan.beforePivot[plan.beforePivot.length - 1];
  assertEquals(last, { op: "remountReadOnly", target: "/", why: "--read-only root file system" });
  const tmpfs = plan.beforePivot.filter((op) => op.op === "tmpfs").map((op) =>
    op.op === "tmpfs" && op.target
  );
  assertEquals(tmpfs, ["/dev", "/dev/shm", "/tmp", "/run"]);
  // A user mount at /run replaces the automatic one.
  const own = planRootfs(
    config({
      readOnlyRoot: true,
      tmpfs: [{ destination: "/run", flags: ["noexec"], data: "size=1m" }],
    }),
    paths,
  );
  const runs = own.beforePivot.filter((op) => op.op === "tmpfs" && op.target === "/run");
  assertEquals(runs.length, 1);
  assertEquals(runs[0].op === "tmpfs" && runs[0].data, "size=1m");
  // Without --read-only the root stays writable.
  assert(
    !planRootfs(config(), paths).beforePivot.some((op) =>
      op.op === "remountReadOnly" && op.target === "/"
    ),
  );
});

Deno.test("planRootfs --tmpfs: ordered with volumes by depth (parents first)", () => {
  const plan = planRootfs(
    config({
      volumes: [{ source: "/h", destination: "/data/sub", readOnly: false }],
      tmpfs: [{ destination: "/data", flags: ["nosuid"], data: "" }],
    }),
    paths,
  );
  const targets = plan.beforePivot
    .filter((op) =>
      (op.op === "tmpfs" && op.target === "/data") || (op.op === "bind" && op.source === "/h")
    )
    .map((op) => op.op);
  assertEquals(targets, ["tmpfs", "bind"]);
});

Deno.test("planRootfs --privileged: host devices, read-write /sys, nothing masked", () => {
  const plan = planRootfs(config({ privileged: true }), paths);
  assertEquals(plan.afterPivot, []);
  assert(plan.beforePivot.some((op) => op.op === "hostDevices"));
  const sys = plan.beforePivot.find((op) => op.op === "sysfs");
  assert(sys?.op === "sysfs" && !sys.flags.includes("ro"));
  const normal = planRootfs(config(), paths);
  assert(normal.afterPivot.length > 0);
  assert(!normal.beforePivot.some((op) => op.op === "hostDevices"));
});

Deno.test("planUnitProperties --privileged: DevicePolicy=auto without DeviceAllow", () => {
  const opts = { shimCommand: ["/x"], stopCommand: ["/x"], cleanupCommand: ["/x"], runId: "r" };
  const privileged = new Map(
    planUnitProperties(config({ privileged: true }), opts).map(([n, , v]) => [n, v]),
  );
  assertEquals(privileged.get("DevicePolicy"), "auto");
  assert(!privileged.has("DeviceAllow"));
  const normal = new Map(planUnitProperties(config(), opts).map(([n, , v]) => [n, v]));
  assertEquals(normal.get("DevicePolicy"), "closed");
});

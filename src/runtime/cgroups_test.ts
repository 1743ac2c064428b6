import { assertEquals } from "@std/assert";
import { assertThrows } from "@std/assert";
import { planCgroupView, planMemberships, runtimeNeedsToLeave } from "./cgroups.ts";
import { TsnspawnError } from "../errors.ts";

const MOUNTINFO = [
  "30 25 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755",
  "31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate",
  "32 30 0:28 / /sys/fs/cgroup/systemd rw,nosuid - cgroup cgroup rw,xattr,name=systemd",
  "33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct",
  "34 30 0:30 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory",
  "35 30 0:31 / /sys/fs/cgroup/pids rw,nosuid - cgroup cgroup rw,pids",
].join("\n");

Deno.test("planMemberships pairs each hierarchy with its mount", () => {
  const proc = [
    "12:pids:/machine.slice/tsnspawn-web.service",
    "5:memory:/machine.slice/tsnspawn-web.service",
    "4:cpu,cpuacct:/machine.slice",
    "3:freezer:/",
    "1:name=systemd:/machine.slice/tsnspawn-web.service",
    "0::/machine.slice/tsnspawn-web.service",
    "",
  ].join("\n");
  assertEquals(planMemberships(proc, MOUNTINFO), [
    { mount: "/sys/fs/cgroup/pids", path: "/machine.slice/tsnspawn-web.service" },
    { mount: "/sys/fs/cgroup/memory", path: "/machine.slice/tsnspawn-web.service" },
    { mount: "/sys/fs/cgroup/cpu,cpuacct", path: "/machine.slice" },
    // freezer is not mounted: skipped
    { mount: "/sys/fs/cgroup/systemd", path: "/machine.slice/tsnspawn-web.service" },
    // cgroup2: moves whole processes only (prepareCgroupVisit writes cgroup.procs there)
    {
      mount: "/sys/fs/cgroup/unified",
      path: "/machine.slice/tsnspawn-web.service",
      unified: true,
    },
  ]);
});

Deno.test("planMemberships decodes octal escapes in mount points", () => {
  const info = "40 30 0:40 / /sys/fs/cgroup/my\\040dir rw - cgroup cgroup rw,pids";
  assertEquals(planMemberships("7:pids:/a", info), [{
    mount: "/sys/fs/cgroup/my dir",
    path: "/a",
  }]);
});

Deno.test("runtimeNeedsToLeave: only limits that would bind the runtime", () => {
  assertEquals(runtimeNeedsToLeave({}), false);
  assertEquals(runtimeNeedsToLeave({ cpuWeight: 200 }), false);
  assertEquals(runtimeNeedsToLeave({ memoryMax: 16 * 1024 * 1024 }), true);
  assertEquals(runtimeNeedsToLeave({ tasksMax: 10 }), true);
  assertEquals(runtimeNeedsToLeave({ cpuQuotaPerSecUSec: 100_000 }), true);
  // An OS container's systemd manages its cgroup: the shim stays out of it.
  assertEquals(runtimeNeedsToLeave({}, true), true);
});

Deno.test("planCgroupView: the unit's subtree, writable where systemd keeps its tree", () => {
  const unit = "tsnspawn-os.service";
  const proc = [
    `12:pids:/machine.slice/${unit}`,
    `5:memory:/machine.slice/${unit}`,
    "4:cpu,cpuacct:/machine.slice",
    `1:name=systemd:/machine.slice/${unit}`,
    `0::/machine.slice/${unit}`,
    "",
  ].join("\n");
  const view = planCgroupView(proc, MOUNTINFO, unit, [
    { name: "cpu", target: "cpu,cpuacct" },
    { name: "mem", target: "memory" },
  ]);
  assertEquals(view.entries, [
    { name: "pids", source: `/sys/fs/cgroup/pids/machine.slice/${unit}`, writable: false },
    { name: "memory", source: `/sys/fs/cgroup/memory/machine.slice/${unit}`, writable: false },
    // cpu,cpuacct holds the unit's parent, not a cgroup of its own: left out.
    { name: "systemd", source: `/sys/fs/cgroup/systemd/machine.slice/${unit}`, writable: true },
    { name: "unified", source: `/sys/fs/cgroup/unified/machine.slice/${unit}`, writable: true },
  ]);
  // Aliases of hierarchies left out go too.
  assertEquals(view.symlinks, [{ name: "mem", target: "memory" }]);
  // Pure cgroup v2.
  const v2 = planCgroupView(
    `0::/machine.slice/${unit}\n`,
    "30 25 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate",
    unit,
    [],
  );
  assertEquals(v2.entries, [{
    name: "",
    source: `/sys/fs/cgroup/machine.slice/${unit}`,
    writable: true,
  }]);
  // Not in its unit's cgroup where systemd keeps its tree: refused.
  assertThrows(
    () => planCgroupView("1:name=systemd:/user.slice\n", MOUNTINFO, unit, []),
    TsnspawnError,
    "has no cgroup there",
  );
});

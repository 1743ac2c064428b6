import { assertEquals } from "@std/assert";
import { planMemberships, runtimeNeedsToLeave } from "./cgroups.ts";

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
});

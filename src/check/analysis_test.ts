/** Unit tests of the check's analysis (pure, no root). */
import { assert, assertEquals } from "@std/assert";
import {
  analyzeStore,
  describeTmp,
  type Finding,
  formatFinding,
  type StoreSnapshot,
} from "./analysis.ts";

const ROOT = "/var/lib/tsnspawn";
const HEX = (c: string) => c.repeat(64);
const D = (c: string) => `sha256:${HEX(c)}`;

function snapshot(over: Partial<StoreSnapshot> = {}): StoreSnapshot {
  return {
    root: ROOT,
    containers: [],
    tmp: [],
    units: [],
    mounts: [],
    images: {
      busy: false,
      repositories: {},
      untagged: [],
      manifests: {},
      configs: {},
      blobs: [],
      layers: [],
    },
    networks: [],
    veths: [],
    publishedAddresses: [],
    declared: [],
    volumes: [],
    ...over,
  };
}

function kinds(findings: Finding[]): string[] {
  return findings.map((f) => f.kind).sort();
}

/** A healthy store: one image, one running bridge container with its lease, veth and ports. */
function healthy(): StoreSnapshot {
  return snapshot({
    containers: [{
      name: "web",
      config: {
        id: "abcdef0123456789",
        lowerDirs: [`${ROOT}/images/layers/${HEX("c")}/diff`],
        bridge: { network: "bridge", address: "10.88.0.2" },
      },
      locked: false,
      files: ["config.json", "lock", "upper", "work", "start.fifo"],
      missingLowerDirs: [],
    }],
    units: [{ name: "web", activeState: "active", subState: "running", result: "success" }],
    tmp: [{ name: "partial", live: false }, { name: "pull-0a1b2c", live: true }],
    images: {
      busy: false,
      repositories: { "docker.io/library/busybox:latest": D("a") },
      untagged: [],
      manifests: { [D("a")]: { config: D("b"), layers: [D("c")] } },
      configs: { [D("b")]: { diffIds: [D("c")] } },
      blobs: [HEX("a"), HEX("b"), HEX("c")],
      layers: [{ hex: HEX("c"), hasDiff: true, hasSize: true }],
    },
    networks: [{
      name: "bridge",
      leases: [{ address: "10.88.0.2", container: "web", id: "abcdef0123456789" }],
    }],
    veths: ["tsnvabcdef01234"],
    publishedAddresses: ["10.88.0.2"],
  });
}

Deno.test("a healthy store has no findings (fifos of a running container, live and kept tmp entries)", () => {
  assertEquals(analyzeStore(healthy()), []);
});

Deno.test("dead tmp entries are removed; live ones and partial/ stay", () => {
  const s = snapshot({
    tmp: [
      { name: "create-web-0a0b0c", live: false },
      { name: "pull-xyz", live: true },
      { name: "partial", live: false },
      { name: ".repositories.json.1234", live: false },
    ],
  });
  const findings = analyzeStore(s);
  assertEquals(findings.map((f) => f.repair), [
    { action: "remove-tmp", path: `${ROOT}/tmp/create-web-0a0b0c` },
    { action: "remove-tmp", path: `${ROOT}/tmp/.repositories.json.1234` },
  ]);
  assertEquals(describeTmp("lease-abc.lock"), "container create with an address lease");
  assertEquals(describeTmp("zzz"), "unknown");
});

Deno.test("containers: corrupt or missing config is quarantined unless running or locked", () => {
  const s = snapshot({
    containers: [
      { name: "a", config: "missing", locked: false, files: [], missingLowerDirs: [] },
      {
        name: "b",
        config: { error: "Unexpected end of JSON input" },
        locked: false,
        files: [],
        missingLowerDirs: [],
      },
      { name: "c", config: { error: "bad" }, locked: true, files: [], missingLowerDirs: [] },
    ],
  });
  const findings = analyzeStore(s);
  assertEquals(kinds(findings), [
    "container-config-corrupt",
    "container-config-corrupt",
    "container-without-config",
  ]);
  assertEquals(findings.find((f) => f.subject === "a")!.repair, {
    action: "quarantine-container",
    name: "a",
    dir: `${ROOT}/containers/a`,
  });
  assertEquals(findings.find((f) => f.subject === "c")!.repair, undefined);
  assert(findings.find((f) => f.subject === "c")!.hint);
});

Deno.test("containers: stale fifos and temp files of a stopped container; missing layers reported", () => {
  const s = healthy();
  s.units = [];
  s.veths = [];
  s.publishedAddresses = [];
  s.containers[0].files.push("setup.fifo", "state.json.tmp-0a1b2c3d4e5f");
  s.containers[0].missingLowerDirs = ["/gone/diff"];
  const findings = analyzeStore(s);
  assertEquals(kinds(findings), [
    "container-image-missing",
    "stale-fifo",
    "stale-fifo",
    "stale-temp-file",
  ]);
  assertEquals(findings.filter((f) => f.repair).length, 3);
});

Deno.test("mounts: leaked ones below the root are unmounted deepest first; a running container's stay", () => {
  const s = healthy();
  s.mounts = [
    `${ROOT}/containers/web/rootfs`,
    `${ROOT}/containers/old/rootfs`,
    `${ROOT}/containers/old/rootfs/proc`,
    `${ROOT}/tmp/x`,
  ];
  const findings = analyzeStore(s);
  assertEquals(findings.map((f) => f.repair), [
    { action: "unmount", path: `${ROOT}/containers/old/rootfs/proc` },
    { action: "unmount", path: `${ROOT}/containers/old/rootfs` },
    { action: "unmount", path: `${ROOT}/tmp/x` },
  ]);
});

Deno.test("units: orphans are stopped, failed ones reset; declared and ending units are left", () => {
  const s = healthy();
  s.units.push(
    { name: "gone", activeState: "active", subState: "running", result: "success" },
    { name: "ending", activeState: "deactivating", subState: "stop-post", result: "success" },
    { name: "decl", activeState: "inactive", subState: "dead", result: "success" },
    { name: "decl2", activeState: "active", subState: "running", result: "success" },
  );
  s.declared = ["decl", "decl2"];
  s.units[0] = {
    name: "web",
    activeState: "failed",
    subState: "failed",
    result: "start-limit-hit",
  };
  s.veths = [];
  s.publishedAddresses = [];
  const findings = analyzeStore(s);
  assertEquals(
    findings.filter((f) => f.kind.endsWith("-unit")).map((f) => [f.subject, f.repair?.action])
      .sort(),
    [["tsnspawn-gone.service", "stop-unit"], ["tsnspawn-web.service", "reset-failed-unit"]],
  );
});

Deno.test("images: broken tags are problems without repair; garbage is a note; partial layers go", () => {
  const s = healthy();
  s.images.repositories = {
    ...s.images.repositories as Record<string, string>,
    "x:1": D("d"), // manifest missing
    "y:1": D("e"), // layer missing
  };
  s.images.manifests[D("d")] = "missing";
  s.images.manifests[D("e")] = { config: D("f"), layers: [D("9")] };
  s.images.configs[D("f")] = { diffIds: [D("9")] };
  s.images.blobs.push(HEX("e"), HEX("f"), HEX("7"));
  s.images.layers.push({ hex: HEX("8"), hasDiff: true, hasSize: true }, {
    hex: HEX("6"),
    hasDiff: false,
    hasSize: false,
  });
  const findings = analyzeStore(s);
  assertEquals(kinds(findings), [
    "image-broken",
    "image-broken",
    "partial-layer",
    "unreferenced-blob",
    "unreferenced-layer",
  ]);
  assert(findings.filter((f) => f.kind === "image-broken").every((f) => !f.repair && f.hint));
  assertEquals(findings.filter((f) => f.severity === "note").length, 2);
  assertEquals(
    findings.find((f) => f.kind === "partial-layer")!.repair!.action,
    "remove-partial-layer",
  );
});

Deno.test("images: a busy store is a note; corrupt indexes are problems", () => {
  const busy = snapshot({ images: { ...snapshot().images, busy: true } });
  assertEquals(analyzeStore(busy).map((f) => [f.kind, f.severity]), [["image-store-busy", "note"]]);
  const corrupt = snapshot({
    images: { ...snapshot().images, repositories: { error: "Unexpected token" } },
  });
  assertEquals(kinds(analyzeStore(corrupt)), ["image-index-corrupt"]);
});

Deno.test("networks: orphan leases released unless a create holds them; missing lease restored; duplicates reported", () => {
  const s = healthy();
  s.networks[0].leases = [
    { address: "10.88.0.3", container: "gone", id: "1111" },
    { address: "10.88.0.4", container: "coming", id: "2222" },
    { address: "10.88.0.5", container: "x", id: "3333" },
    { address: "10.88.0.5", container: "y", id: "4444" },
  ];
  s.containers.push(
    {
      name: "x",
      config: { id: "3333", lowerDirs: [] },
      locked: false,
      files: [],
      missingLowerDirs: [],
    },
    {
      name: "y",
      config: { id: "4444", lowerDirs: [] },
      locked: false,
      files: [],
      missingLowerDirs: [],
    },
  );
  s.tmp.push({ name: "lease-2222.lock", live: true });
  const findings = analyzeStore(s);
  assertEquals(kinds(findings), ["duplicate-lease", "missing-lease", "orphan-lease"]);
  assertEquals(findings.find((f) => f.kind === "orphan-lease")!.repair, {
    action: "release-lease",
    network: "bridge",
    id: "1111",
    container: "gone",
  });
  assertEquals(findings.find((f) => f.kind === "missing-lease")!.repair, {
    action: "restore-lease",
    network: "bridge",
    id: "abcdef0123456789",
    container: "web",
    address: "10.88.0.2",
  });
});

Deno.test("networks: veths and published ports of stopped containers are removed", () => {
  const s = healthy();
  s.units = [];
  s.containers[0].files = ["config.json"];
  s.veths.push("tsnv99999999999");
  const findings = analyzeStore(s);
  assertEquals(findings.map((f) => f.repair), [
    { action: "delete-veth", device: "tsnvabcdef01234" },
    { action: "delete-veth", device: "tsnv99999999999" },
    { action: "sweep-published-ports" },
  ]);
  // A container being started (its lock held) keeps its veth.
  s.containers[0].locked = true;
  assertEquals(analyzeStore(s).map((f) => f.repair?.action), [
    "delete-veth",
    "sweep-published-ports",
  ]);
});

Deno.test("formatFinding: one line with outcome or severity and hint", () => {
  const f: Finding = { severity: "problem", kind: "k", subject: "s", message: "m", hint: "h" };
  assertEquals(formatFinding(f), "problem: s: m (hint: h)");
  assertEquals(formatFinding(f, "repaired"), "repaired: s: m");
  assertEquals(formatFinding({ ...f, severity: "note", hint: undefined }), "note: s: m");
});

Deno.test("a RUN step container of a dead build is removed; a live build's is left alone", () => {
  const container = (buildLive: boolean) =>
    snapshot({
      containers: [{
        name: "build-0123456789ab-cafe0000",
        config: { id: HEX("e"), lowerDirs: [], build: "0123456789abcdef" },
        locked: false,
        files: ["config.json", "start.fifo"],
        missingLowerDirs: [],
        buildLive,
      }],
      units: [{
        name: "build-0123456789ab-cafe0000",
        activeState: "active",
        subState: "running",
        result: "success",
      }],
    });
  assertEquals(analyzeStore(container(true)), []);
  const findings = analyzeStore(container(false));
  assertEquals(kinds(findings), ["build-leftover"]);
  assertEquals(findings[0].repair, {
    action: "remove-build-container",
    name: "build-0123456789ab-cafe0000",
    build: "0123456789abcdef",
  });
  assertEquals(describeTmp("build-0123456789abcdef.lock"), "build");
  assertEquals(describeTmp("build-01234567-a1b2c3"), "build step");
  assertEquals(describeTmp("build-context-a1b2c3"), "build context");
});

Deno.test("build cache entries keep their images; a broken entry is dropped", () => {
  const s = healthy();
  const images = s.images;
  images.buildCache = { [HEX("1")]: D("a") };
  assertEquals(analyzeStore(s), []);
  images.buildCache = {
    [HEX("2")]: D("9"),
    [HEX("3")]: { error: "not a manifest digest" },
  };
  const findings = analyzeStore(s);
  assertEquals(kinds(findings), ["build-cache-broken", "build-cache-broken"]);
  assertEquals(findings[0].repair?.action, "remove-cache-entry");
});

Deno.test("check: volumes — a device volume's mount is kept, a gone volume's is unmounted", () => {
  const findings = analyzeStore(snapshot({
    mounts: [`${ROOT}/volumes/cache/_data`, `${ROOT}/volumes/gone/_data`],
    volumes: [{ name: "cache", config: "ok", device: true, anonymous: false, locked: false }],
  }));
  assertEquals(findings.map((f) => [f.kind, f.subject]), [
    ["leaked-mount", `${ROOT}/volumes/gone/_data`],
  ]);
});

Deno.test("check: volumes — broken records, missing volumes and unused anonymous ones", () => {
  const findings = analyzeStore(snapshot({
    containers: [{
      name: "web",
      config: { id: HEX("a"), lowerDirs: [], volumes: ["data", "lost"] },
      locked: false,
      files: [],
      missingLowerDirs: [],
    }],
    units: [{ name: "web", activeState: "inactive", subState: "dead", result: "success" }],
    volumes: [
      {
        name: "data",
        config: { error: "bad json" },
        device: false,
        anonymous: false,
        locked: false,
      },
      { name: "junk", config: "missing", device: false, anonymous: false, locked: false },
      { name: "busy", config: "missing", device: false, anonymous: false, locked: true },
      { name: "a".repeat(64), config: "ok", device: false, anonymous: true, locked: false },
    ],
  }));
  assertEquals(kinds(findings), [
    "container-volume-missing",
    "unused-anonymous-volume",
    "volume-config-corrupt",
    "volume-without-config",
  ]);
  // A used volume is never moved away; an unused broken one is.
  assert(!findings.find((f) => f.kind === "volume-config-corrupt")!.repair);
  assertEquals(findings.find((f) => f.kind === "volume-without-config")!.repair, {
    action: "quarantine-volume",
    name: "junk",
    dir: `${ROOT}/volumes/junk`,
  });
  assertEquals(describeTmp("volume-create-data-abcdef"), "volume create");
  assertEquals(describeTmp("volume-remove-data-abcdef"), "volume removal");
});

Deno.test("an ended --rm container of a killed CLI's scope is removed; a running one is not", () => {
  const container = (activeState: string | null, files: string[]) =>
    snapshot({
      containers: [{
        name: "orphan",
        config: { id: HEX("f"), lowerDirs: [], autoRemove: true },
        locked: false,
        files,
        missingLowerDirs: [],
      }],
      units: activeState === null ? [] : [{
        name: "orphan",
        unit: "tsnspawn-orphan.scope",
        activeState,
        subState: "running",
        result: "success",
      }],
    });
  assertEquals(analyzeStore(container("active", ["config.json", "scope"])), []);
  assertEquals(analyzeStore(container(null, ["config.json"])), []);
  const findings = analyzeStore(container(null, ["config.json", "scope"]));
  assertEquals(kinds(findings), ["rm-leftover"]);
  assertEquals(findings[0].repair, { action: "remove-ended-container", name: "orphan" });
});

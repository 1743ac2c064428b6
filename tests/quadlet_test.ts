/**
 * Declared files at quadlet's level in a real systemd (the throwaway host):
 * a two-container app declared with a `.network` and a `.volume`, the web
 * ordered after the db whose `Notify=healthy` holds its start until its
 * health check passes; a health check turning unhealthy and systemd
 * restarting the container; `auto-update` against a registry on 127.0.0.1
 * inside the host (a new image pushed, updated; a broken one, rolled back);
 * `--sdnotify=container` waiting for the container's own READY=1.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { declaredTest, fetchPage, isActive, show } from "./declared_host.ts";
import { CoreHost, integrationTest } from "./helpers.ts";

const APP_NETWORK = `[Network]
Subnet=10.91.0.0/24
`;

const DATA_VOLUME = `[Volume]
Label=app=demo
`;

/** The db: ready only once its data is written (3 s), which its health check waits for. */
const DB = `[Container]
Image=busybox
Network=app.network
Volume=data.volume:/data
RunInit=yes
Notify=healthy
HealthCmd=test -f /data/ready
HealthInterval=1s
HealthStartPeriod=30s
Exec=sh -c 'rm -f /data/ready; sleep 3; echo "42 widgets" > /data/stock; touch /data/ready; exec httpd -f -p 80 -h /data'
`;

/** The web: at its start it fetches from the db by name; it would fail if the db were not ready. */
const WEB = `[Unit]
Requires=db.container
After=db.container

[Container]
Image=busybox
Network=app.network
PublishPort=127.0.0.1:8085:80
RunInit=yes
Exec=sh -c 'mkdir -p /www && wget -qO /www/stock http://db/stock && exec httpd -f -p 80 -h /www'
`;

declaredTest(
  "quadlet: a .network, a .volume and two containers; Notify=healthy holds the web's start until the db is healthy",
  {
    files: {
      "app.network": APP_NETWORK,
      "data.volume": DATA_VOLUME,
      "db.container": DB,
      "web.container": WEB,
    },
  },
  async (core) => {
    assertEquals((await core.tsn(["validate"])).code, 0);
    await core.shOk("systemctl start tsnspawn-web.service");
    for (
      const unit of ["tsnspawn-app-network", "tsnspawn-data-volume", "tsnspawn-db", "tsnspawn-web"]
    ) {
      assertEquals(await isActive(core, `${unit}.service`), "active", unit);
    }
    const db = await show(
      core,
      "tsnspawn-db.service",
      "InactiveExitTimestampMonotonic",
      "ActiveEnterTimestampMonotonic",
    );
    const web = await show(core, "tsnspawn-web.service", "InactiveExitTimestampMonotonic");
    // The db was "started" only once healthy (its data takes 3 s)...
    const dbStarting = Number(db.ActiveEnterTimestampMonotonic) -
      Number(db.InactiveExitTimestampMonotonic);
    assert(dbStarting >= 3_000_000, `the db was started after ${dbStarting} µs`);
    // ...and the web began only then.
    assert(
      Number(web.InactiveExitTimestampMonotonic) >= Number(db.ActiveEnterTimestampMonotonic),
      "the web began starting before the db was healthy",
    );
    // The web fetched the db's data by name over the network, and serves it.
    assertEquals((await fetchPage(core, 8085, "/stock")).trim(), "42 widgets");
    assertMatch(await core.tsnOk(["list"]), /\ndb\s+\S+\s+running \(healthy\)/);

    // What the files made: the network with its subnet, the volume with its label, in use.
    const network = JSON.parse(await core.tsnOk(["network", "inspect", "app"]));
    assertEquals(network.Subnet, "10.91.0.0/24");
    const volume = JSON.parse(await core.tsnOk(["volume", "inspect", "data"]));
    assertEquals(volume.Labels, { app: "demo" });
    assertEquals(volume.UsedBy, ["db"]);
    assertStringIncludes(await core.tsnOk(["cat", "db"]), "Requires=tsnspawn-app-network.service");

    // The volume outlives the db: a new db finds its data.
    await core.shOk("systemctl stop tsnspawn-web.service tsnspawn-db.service");
    await core.tsnOk(["rm", "web", "db"]);
    assertStringIncludes(
      await core.shOk("cat /var/lib/tsnspawn/volumes/data/_data/stock"),
      "42 widgets",
    );
    const refused = await core.tsn(["network", "rm", "app"]);
    assertEquals(refused.code, 0, refused.stderr); // nothing uses it any more
  },
);

integrationTest(
  "health: a check turning unhealthy makes systemd restart the container",
  async (core) => {
    await core.tsnOk([
      "run",
      "-d",
      "--name",
      "hc",
      "--network",
      "none",
      "--init",
      "--health-cmd",
      "test -f /tmp/ok",
      "--health-interval",
      "1s",
      "--health-retries",
      "2",
      "--health-on-failure",
      "restart",
      "busybox",
      "sh",
      "-c",
      "touch /tmp/ok; exec sleep 100000",
    ]);
    const invocation = async () => (await core.unitProperty("tsnspawn-hc.service", "InvocationID"));
    await core.waitFor(
      "healthy",
      async () => (await core.tsnOk(["list"])).includes("running (healthy)"),
    );
    const first = await invocation();
    assertEquals((await core.tsn(["healthcheck", "run", "hc"])).code, 0);

    await core.tsnOk(["exec", "hc", "rm", "/tmp/ok"]);
    assertEquals((await core.tsn(["healthcheck", "run", "hc"])).code, 1);
    // Two failed checks: unhealthy, and the unit is restarted (a new run, healthy again).
    await core.waitFor("a restart", async () => {
      const now = await invocation();
      return now !== "" && now !== first;
    }, 30_000);
    await core.waitFor(
      "healthy again",
      async () => (await core.tsnOk(["list"])).includes("running (healthy)"),
      30_000,
    );
    const journal = await core.shOk("journalctl --no-pager -o cat -t deno -t tsnspawn-health");
    const checks = await core.shOk("journalctl --no-pager -o cat -u 'tsnspawn-health@hc-*'");
    assertStringIncludes(journal + checks, "hc: unhealthy (check failed, exit 1); restart");
    const inspect = JSON.parse(await core.tsnOk(["inspect", "hc"]));
    assertEquals(inspect.State.Health.Status, "healthy");
    assertEquals(inspect.Config.healthcheck.onFailure, "restart");
    await core.tsnOk(["rm", "-f", "hc"]);
    // The run's health timers went with it.
    await core.waitFor(
      "the health timers to stop",
      async () =>
        (await core.sh("systemctl list-units --no-legend 'tsnspawn-health@hc-*.timer'")).stdout
          .trim() === "",
    );
  },
);

integrationTest(
  "sdnotify=container: the unit is started once the container says READY=1",
  async (core) => {
    // The host's root as the container's: systemd-notify is there.
    const started = Date.now();
    await core.tsnOk([
      "run",
      "-d",
      "--name",
      "nc",
      "--rootfs",
      "/",
      "--network",
      "none",
      "--sdnotify",
      "container",
      "/bin/sh",
      "-c",
      "sleep 2; systemd-notify --ready; exec sleep 100000",
    ]);
    assert(Date.now() - started >= 2000, "run -d returned before the container was ready");
    assertEquals(await isActive(core, "tsnspawn-nc.service"), "active");
    // $NOTIFY_SOCKET in the container is the relay's, not systemd's.
    assertEquals(
      (await core.tsnOk(["exec", "nc", "/bin/sh", "-c", "echo $NOTIFY_SOCKET"])).trim(),
      "/run/notify/notify.sock",
    );
    await core.tsnOk(["rm", "-f", "nc"]);
  },
);

/** Starts Debian's docker-registry on 127.0.0.1:5000 inside the host (a transient unit). */
async function startRegistry(core: CoreHost): Promise<string> {
  await core.shOk(
    "mkdir -p /tmp/registry && printf 'version: 0.1\\nlog:\\n  level: error\\nstorage:\\n  filesystem:\\n    rootdirectory: /tmp/registry\\nhttp:\\n  addr: 127.0.0.1:5000\\n' > /tmp/registry.yml && systemd-run --unit=registry docker-registry serve /tmp/registry.yml",
  );
  await core.waitFor(
    "the registry",
    async () => (await core.sh("curl -sf http://127.0.0.1:5000/v2/")).code === 0,
  );
  return "127.0.0.1:5000";
}

/** Makes an image from busybox with `script` run in it, and pushes it as `target`. */
async function pushImage(
  core: CoreHost,
  name: string,
  script: string,
  target: string,
): Promise<void> {
  await core.tsnOk(["run", "--name", name, "--network", "none", "busybox", "sh", "-c", script]);
  await core.tsnOk(["commit", name, `localhost/build:${name}`]);
  await core.tsnOk(["rm", name]);
  await core.tsnOk(["push", `localhost/build:${name}`, target]);
}

const APP = (registry: string) =>
  `[Container]
Image=${registry}/app:latest
AutoUpdate=registry
Network=none
StopTimeout=1
Exec=sleep 100000
`;

declaredTest(
  "auto-update: a newer image in the registry is pulled and the container restarted on it; a broken one is rolled back",
  { files: {} },
  async (core, host) => {
    const registry = await startRegistry(core);
    await pushImage(core, "v1", "echo v1 > /version", `${registry}/app:latest`);
    Deno.writeTextFileSync(`${host.etcDir}/app.container`, APP(registry));
    await core.shOk("systemctl daemon-reload && systemctl start tsnspawn-app.service");
    const version = async () => (await core.tsnOk(["exec", "app", "cat", "/version"])).trim();
    assertEquals(await version(), "v1");
    assertMatch(
      await core.tsnOk(["auto-update", "--dry-run"]),
      /tsnspawn-app\.service\s+app\s+\S+\s+registry\s+false/,
    );

    // A new image under the same tag: pulled, the unit restarted on it.
    await pushImage(core, "v2", "echo v2 > /version", `${registry}/app:latest`);
    assertMatch(await core.tsnOk(["auto-update", "--dry-run"]), /registry\s+pending/);
    assertMatch(
      await core.tsnOk(["auto-update"]),
      /tsnspawn-app\.service\s+app\s+\S+\s+registry\s+true/,
    );
    assertEquals(await version(), "v2");
    assertMatch(await core.tsnOk(["auto-update"]), /registry\s+false/);

    // A broken image (no sleep in it): the restart fails, the previous image comes back.
    await pushImage(core, "v3", "rm -rf /bin /sbin /usr", `${registry}/app:latest`);
    const broken = await core.tsn(["auto-update"]);
    assertEquals(broken.code, 1);
    assertMatch(broken.stdout, /tsnspawn-app\.service\s+app\s+\S+\s+registry\s+rolled back/);
    assertEquals(await isActive(core, "tsnspawn-app.service"), "active");
    assertEquals(await version(), "v2");
    await core.tsnOk(["stop", "app"]);
    await core.tsnOk(["check"]);
  },
);

/** A template with a health check, a drop-in for one instance, and a container named by ContainerName=. */
const JOB_TEMPLATE = `[Container]
Image=busybox
Network=none
RunInit=yes
HealthCmd=true
HealthInterval=1s
Exec=sh -c 'echo "instance %i: $GREETING"; exec sleep 100000'

[Install]
WantedBy=default.target
`;

declaredTest(
  "quadlet: templates run an instance per unit, drop-ins apply, ContainerName= names the container and its unit",
  {
    files: {
      "job@.container": JOB_TEMPLATE,
      "job@.container.d/10-env.conf": "[Container]\nEnvironment=GREETING=hello\n",
      "job@2.container.d/10-env.conf": "[Container]\nEnvironment=GREETING=bonjour\n",
      "web.container":
        "[Container]\nImage=busybox\nContainerName=frontend\nNetwork=none\nRunInit=yes\nExec=sleep 100000\n",
    },
  },
  async (core) => {
    await core.shOk("systemctl start tsnspawn-job@1.service tsnspawn-job@2.service");
    await core.waitFor("both greetings", async () => {
      const one = (await core.tsn(["logs", "job@1"])).stdout;
      const two = (await core.tsn(["logs", "job@2"])).stdout;
      return one.includes("instance 1: hello") && two.includes("instance 2: bonjour");
    });
    await core.waitFor("the instances healthy", async () => {
      const list = await core.tsnOk(["list"]);
      return /\njob@1\s+\S+\s+running \(healthy\)/.test(list) &&
        /\njob@2\s+\S+\s+running \(healthy\)/.test(list);
    });
    // The CLI knows an instance by its name; enable marks it for boot.
    await core.tsnOk(["stop", "job@2"]);
    assertEquals(await isActive(core, "tsnspawn-job@2.service"), "inactive");
    await core.tsnOk(["start", "job@2"]);
    assertEquals(await isActive(core, "tsnspawn-job@2.service"), "active");
    await core.tsnOk(["enable", "job@3"]);
    assertStringIncludes(
      (await show(core, "default.target", "Wants")).Wants,
      "tsnspawn-job@3.service",
    );

    // ContainerName=: the file web.container runs container frontend in tsnspawn-frontend.service.
    await core.tsnOk(["start", "web"]);
    assertEquals(await isActive(core, "tsnspawn-frontend.service"), "active");
    assertMatch(await core.tsnOk(["list"]), /\nfrontend\s+/);
    await core.tsnOk(["stop", "frontend", "job@1", "job@2"]);
  },
);

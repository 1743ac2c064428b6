/**
 * The Docker API with the real docker CLI: volumes (`docker volume
 * create|ls|inspect|rm|prune`, `docker run -v NAME:/path` shared between
 * containers, anonymous volumes going with `--rm`), and the run options the
 * API maps onto the CLI's (health checks, `--dns`, `--add-host`, `-p PORT`,
 * `-P`). What the API makes is what `tsnspawn volume` shows.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { apiTest } from "./api_helpers.ts";

apiTest(
  "docker volume create, ls, inspect, rm, prune; -v NAME shared by containers",
  async (api) => {
    assertEquals(
      (await api.dockerOk(["volume", "create", "--label", "team=a", "vol1"])).trim(),
      "vol1",
    );
    const inspect = JSON.parse(await api.dockerOk(["volume", "inspect", "vol1"]))[0];
    assertEquals([inspect.Name, inspect.Driver, inspect.Scope], ["vol1", "local", "local"]);
    assertEquals(inspect.Labels, { team: "a" });
    assertMatch(inspect.Mountpoint, /\/volumes\/vol1\/_data$/);
    assertMatch(inspect.CreatedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // The same volume for tsnspawn's CLI.
    assertEquals(
      JSON.parse(await api.tsnOk(["volume", "inspect", "vol1"])).Name,
      "vol1",
    );
    assertMatch(await api.tsnOk(["volume", "ls"]), /vol1/);
    // Creating it again answers with the existing one (compose relies on it).
    assertEquals((await api.dockerOk(["volume", "create", "vol1"])).trim(), "vol1");

    // One container writes, another reads (read-only), through the volume.
    await api.dockerOk([
      "run",
      "--rm",
      "-v",
      "vol1:/data",
      "busybox",
      "sh",
      "-c",
      "echo shared > /data/f",
    ]);
    assertEquals(
      await api.dockerOk([
        "run",
        "--rm",
        "-v",
        "vol1:/data:ro",
        "busybox",
        "sh",
        "-c",
        "cat /data/f; touch /data/g 2>/dev/null || echo ro",
      ]),
      "shared\nro\n",
    );
    assertEquals((await api.shOk(`cat ${inspect.Mountpoint}/f`)).trim(), "shared");

    // In use: rm refused (409) while a container has it; inspect shows the mount.
    await api.dockerOk(["create", "--name", "holder", "-v", "vol1:/data", "busybox", "true"]);
    const mount = JSON.parse(await api.dockerOk(["inspect", "holder"]))[0].Mounts[0];
    assertEquals([mount.Type, mount.Name, mount.Destination, mount.Driver], [
      "volume",
      "vol1",
      "/data",
      "local",
    ]);
    assertEquals(mount.Source, inspect.Mountpoint);
    const inUse = await api.docker(["volume", "rm", "vol1"]);
    assertEquals(inUse.code, 1);
    assertStringIncludes(inUse.stderr, "volume is in use");
    assertEquals(
      (await api.dockerOk(["volume", "ls", "-q", "--filter", "dangling=true"])).trim(),
      "",
    );
    assertEquals(
      (await api.dockerOk(["volume", "ls", "-q", "--filter", "label=team=a"])).trim(),
      "vol1",
    );
    assertEquals(
      (await api.dockerOk(["volume", "ls", "-q", "--filter", "label=team=b"])).trim(),
      "",
    );
    await api.dockerOk(["rm", "holder"]);
    assertEquals((await api.dockerOk(["volume", "rm", "vol1"])).trim(), "vol1");
    const gone = await api.docker(["volume", "inspect", "vol1"]);
    assertEquals(gone.code, 1);
    assertStringIncludes(gone.stderr, "no such volume");
    assertEquals((await api.docker(["volume", "rm", "-f", "vol1"])).code, 0);

    // Anonymous volumes: made for the container, removed with --rm.
    assertEquals(
      await api.dockerOk([
        "run",
        "--rm",
        "-v",
        "/scratch",
        "busybox",
        "sh",
        "-c",
        "echo x > /scratch/y && cat /scratch/y",
      ]),
      "x\n",
    );
    assertEquals((await api.dockerOk(["volume", "ls", "-q"])).trim(), "");
    // Kept by a container without --rm; prune takes unused anonymous ones, -a named ones too.
    await api.dockerOk(["run", "--name", "anon", "-v", "/scratch", "busybox", "true"]);
    await api.dockerOk(["volume", "create", "named"]);
    assertEquals((await api.dockerOk(["volume", "ls", "-q"])).trim().split("\n").length, 2);
    await api.dockerOk(["rm", "anon"]);
    const pruned = await api.dockerOk(["volume", "prune", "-f"]);
    assertMatch(pruned, /Deleted Volumes:\n[0-9a-f]{64}\n/);
    assertEquals((await api.dockerOk(["volume", "ls", "-q"])).trim(), "named");
    assertStringIncludes(await api.dockerOk(["volume", "prune", "-a", "-f"]), "named");
    assertEquals((await api.dockerOk(["volume", "ls", "-q"])).trim(), "");
    assertEquals((await api.tsnOk(["volume", "ls", "-q"])).trim(), "");
  },
);

apiTest(
  "docker run: health checks, --dns, --add-host, -p PORT and -P through the API",
  async (api) => {
    const names = await api.dockerOk([
      "run",
      "--rm",
      "--dns",
      "10.9.9.9",
      "--dns-search",
      "example.test",
      "--add-host",
      "db.local:10.1.2.3",
      "busybox",
      "sh",
      "-c",
      "cat /etc/resolv.conf /etc/hosts",
    ]);
    assertStringIncludes(names, "nameserver 10.9.9.9");
    assertStringIncludes(names, "search example.test");
    assertMatch(names, /10\.1\.2\.3\s+db\.local/);

    await api.dockerOk([
      "run",
      "-d",
      "--name",
      "checked",
      "--health-cmd",
      "test -e /tmp/ok",
      "--health-interval",
      "1s",
      "--health-retries",
      "1",
      "busybox",
      "sh",
      "-c",
      "sleep 2; touch /tmp/ok; sleep 300",
    ]);
    const health = async () =>
      JSON.parse(await api.dockerOk(["inspect", "checked"]))[0].State.Health?.Status;
    await api.waitFor(
      "the health check to pass",
      async () => (await health()) === "healthy",
      30_000,
    );
    const checked = JSON.parse(await api.dockerOk(["inspect", "checked"]))[0];
    assertEquals(checked.Config.Healthcheck.Test, ["CMD-SHELL", "test -e /tmp/ok"]);
    assertEquals(checked.Config.Healthcheck.Interval, 1e9);
    assertMatch(await api.dockerOk(["ps"]), /Up .* \(healthy\)\s+checked/);
    assertEquals(
      (await api.dockerOk(["ps", "-q", "--filter", "health=healthy"])).trim(),
      checked.Id.slice(0, 12),
    );
    await api.dockerOk(["rm", "-f", "checked"]);

    // -p 80: a random host port; -P: every exposed port on one.
    await api.dockerOk([
      "run",
      "-d",
      "--name",
      "rand",
      "-p",
      "80",
      "busybox",
      "httpd",
      "-f",
      "-p",
      "80",
      "-h",
      "/var/www",
    ]);
    await api.dockerOk([
      "run",
      "-d",
      "--name",
      "all",
      "-P",
      "--expose",
      "80",
      "--expose",
      "81",
      "busybox",
      "httpd",
      "-f",
      "-p",
      "80",
      "-h",
      "/var/www",
    ]);
    for (const name of ["rand", "all"]) {
      const port = (await api.dockerOk(["port", name, "80/tcp"])).trim().split("\n")[0];
      const hostPort = /^0\.0\.0\.0:(\d+)$/.exec(port)?.[1];
      assert(hostPort !== undefined && Number(hostPort) >= 32768, `docker port ${name}: ${port}`);
      await api.waitFor(
        `${name} on its random port`,
        async () =>
          (await api.sh(`curl -sf http://127.0.0.1:${hostPort}/`)).stdout.includes(
            "hello from tsnspawn",
          ),
      );
    }
    const all = JSON.parse(await api.dockerOk(["inspect", "all"]))[0];
    assertEquals(all.HostConfig.PublishAllPorts, true);
    assertEquals(Object.keys(all.NetworkSettings.Ports).sort(), ["80/tcp", "81/tcp"]);
    assert(all.NetworkSettings.Ports["81/tcp"][0].HostPort !== "0");
    await api.dockerOk(["rm", "-f", "rand", "all"]);
    assertEquals((await api.tsnOk(["list", "-a", "-q"])).trim(), "");
  },
);

/**
 * The Docker API with docker-compose 1.29 (Debian's, on python3-docker):
 * a project of two services (a busybox httpd serving from a named volume,
 * and a client that fetches from it by its service name) on a user
 * network, with a published port and depends_on, goes up detached and
 * attached, shows in ps and logs, and goes down (`down -v`) leaving
 * nothing behind: no containers, networks, volumes, units or mounts.
 */
import { assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { apiTest } from "./api_helpers.ts";

const COMPOSE_FILE = `
version: "3.7"
services:
  web:
    image: busybox
    command: sh -c 'echo served-from-the-volume > /var/www/vol.html && exec httpd -f -p 80 -h /var/www'
    ports:
      - "8081:80"
    volumes:
      - site:/var/www
    networks:
      - backend
  client:
    image: busybox
    command: sh -c 'for i in $$(seq 50); do wget -qO- http://web/vol.html && wget -qO- http://web/ && echo FETCHED-BY-NAME && exit 0; sleep 0.2; done; exit 9'
    depends_on:
      - web
    networks:
      - backend
networks:
  backend: {}
volumes:
  site: {}
`;

/** The host's mounts that are tsnspawn's (containers' roots, volumes), one per line. */
const TSNSPAWN_MOUNTS = "grep -c tsnspawn /proc/self/mountinfo || true";
/** The containers' units and health timers (the API's service and the test host's target aside). */
const CONTAINER_UNITS =
  "systemctl list-units --all --no-legend 'tsnspawn-*' | grep -v -e tsnspawn-api -e tsnspawn-test.target || true";

apiTest(
  "docker-compose: up -d, ps, logs, down -v of two services, a network, a volume",
  async (api) => {
    const mountsBefore = (await api.shOk(TSNSPAWN_MOUNTS)).trim();
    await api.shOk(
      `mkdir -p /tmp/proj && cat > /tmp/proj/docker-compose.yml <<'EOF'\n${COMPOSE_FILE}\nEOF`,
    );
    const compose = (args: string) =>
      api.client(`cd /tmp/proj && docker-compose -p proj ${args}`, { timeoutMs: 120_000 });
    const up = await compose("up -d");
    assertEquals(up.code, 0, `${up.stdout}\n${up.stderr}`);
    assertStringIncludes(up.stderr, 'Creating network "proj_backend" with the default driver');
    assertStringIncludes(up.stderr, 'Creating volume "proj_site" with default driver');
    assertStringIncludes(up.stderr, "Creating proj_web_1");
    assertStringIncludes(up.stderr, "Creating proj_client_1");

    // The client reached the server by its service name, on the project's network.
    await api.waitFor(
      "the client's fetch",
      async () => (await compose("logs client")).stdout.includes("FETCHED-BY-NAME"),
    );
    const logs = await compose("logs --no-color client");
    assertStringIncludes(logs.stdout, "client_1  | served-from-the-volume");
    // The image's /var/www was copied into the new volume, as docker does.
    assertStringIncludes(logs.stdout, "client_1  | <h1>hello from tsnspawn</h1>");
    await api.waitFor(
      "the published port",
      async () =>
        (await api.sh("curl -sf http://127.0.0.1:8081/")).stdout.includes("hello from tsnspawn"),
    );

    const ps = await compose("ps");
    assertEquals(ps.code, 0, ps.stderr);
    assertMatch(ps.stdout, /proj_client_1\s+sh -c .*Exit 0/);
    assertMatch(
      ps.stdout,
      /proj_web_1\s+sh -c echo served-from-the .*Up\s+0\.0\.0\.0:8081->80\/tcp/,
    );
    // Ordinary tsnspawn containers and network.
    assertMatch(await api.tsnOk(["list", "-a"]), /proj_web_1\s+\S+\s+running/);
    assertMatch(await api.tsnOk(["network", "ls"]), /proj_backend/);
    const network = JSON.parse(await api.dockerOk(["network", "inspect", "proj_backend"]))[0];
    assertEquals(network.Labels["com.docker.compose.project"], "proj");
    const web = JSON.parse(await api.dockerOk(["inspect", "proj_web_1"]))[0];
    assertEquals(web.Config.Labels["com.docker.compose.service"], "web");
    assertEquals(web.NetworkSettings.Networks.proj_backend.Aliases.includes("web"), true);
    const mount = web.Mounts.find((m: { Type: string }) => m.Type === "volume");
    assertEquals([mount.Name, mount.Destination], ["proj_site", "/var/www"]);
    // The named volume: compose's labels, the file on the host, and tsnspawn's CLI sees it.
    const volume = JSON.parse(await api.dockerOk(["volume", "inspect", "proj_site"]))[0];
    assertEquals(volume.Labels["com.docker.compose.project"], "proj");
    assertEquals(volume.Labels["com.docker.compose.volume"], "site");
    assertEquals(mount.Source, volume.Mountpoint);
    assertEquals(
      (await api.shOk(`cat ${volume.Mountpoint}/vol.html`)).trim(),
      "served-from-the-volume",
    );
    assertMatch(await api.tsnOk(["volume", "ls"]), /proj_site/);

    // up again: nothing to recreate.
    const again = await compose("up -d");
    assertEquals(again.code, 0, again.stderr);
    assertStringIncludes(again.stderr, "proj_web_1 is up-to-date");

    const down = await compose("down -v");
    assertEquals(down.code, 0, `${down.stdout}\n${down.stderr}`);
    assertStringIncludes(down.stderr, "Removing network proj_backend");
    assertStringIncludes(down.stderr, "Removing volume proj_site");
    assertEquals((await api.dockerOk(["ps", "-a", "-q"])).trim(), "");
    assertEquals((await api.tsnOk(["list", "-a", "-q"])).trim(), "");
    assertEquals((await api.dockerOk(["network", "ls", "-q", "--filter", "name=proj"])).trim(), "");
    assertEquals((await api.dockerOk(["volume", "ls", "-q"])).trim(), "");
    assertEquals((await api.tsnOk(["volume", "ls", "-q"])).trim(), "");
    assertEquals((await api.sh("ip link show | grep -c tsn1 || true")).stdout.trim(), "0");
    assertEquals((await api.shOk(CONTAINER_UNITS)).trim(), "");
    assertEquals((await api.shOk(TSNSPAWN_MOUNTS)).trim(), mountsBefore);
  },
  { compose: true },
);

apiTest(
  "docker-compose up (attached): logs of every service, the client's exit code",
  async (api) => {
    await api.shOk(
      `mkdir -p /tmp/proj && cat > /tmp/proj/docker-compose.yml <<'EOF'\n${COMPOSE_FILE}\nEOF`,
    );
    const up = await api.client(
      "cd /tmp/proj && docker-compose -p proj up --no-color --exit-code-from client",
      { timeoutMs: 120_000 },
    );
    assertEquals(up.code, 0, `${up.stdout}\n${up.stderr}`);
    assertMatch(up.stdout, /client_1\s+\| FETCHED-BY-NAME/);
    assertMatch(up.stdout, /proj_client_1 exited with code 0/);
    const down = await api.client("cd /tmp/proj && docker-compose -p proj down -v", {
      timeoutMs: 120_000,
    });
    assertEquals(down.code, 0, down.stderr);
    assertEquals((await api.tsnOk(["list", "-a", "-q"])).trim(), "");
    assertEquals((await api.dockerOk(["volume", "ls", "-q"])).trim(), "");
  },
  { compose: true },
);

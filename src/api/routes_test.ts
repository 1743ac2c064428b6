import { assert, assertEquals } from "@std/assert";
import {
  matchRoute,
  routeError,
  type RouteFound,
  type RouteMatch,
  ROUTES,
  splitVersionPrefix,
} from "./routes.ts";
import { parseRequestTarget } from "./request.ts";
import { statusForError } from "./errors.ts";

interface Capture {
  command: string;
  requests: { method: string; path: string; headers: Record<string, string> }[];
}

const CLI_PATHS: { captures: Capture[] } = JSON.parse(
  Deno.readTextFileSync(new URL("./testdata/docker_cli_28.2.2_paths.json", import.meta.url)),
);
const COMPOSE: { requests: Capture["requests"] } = JSON.parse(
  Deno.readTextFileSync(new URL("./testdata/compose_1.29.2.json", import.meta.url)),
);

function found(method: string, target: string): RouteFound {
  return expectKind(matchRoute(method, parseRequestTarget(target).path), "route");
}

/** The match, narrowed to the expected kind (fails the test otherwise). */
function expectKind<K extends RouteMatch["kind"]>(
  match: RouteMatch,
  kind: K,
): Extract<RouteMatch, { kind: K }> {
  if (match.kind !== kind) throw new Error(`expected ${kind}, got ${JSON.stringify(match)}`);
  return match as Extract<RouteMatch, { kind: K }>;
}

/** The route each captured docker command line reaches, request by request. */
const EXPECTED_CLI_ROUTES: Record<string, string[]> = {
  "docker version": ["system.version"],
  "docker info": ["system.info"],
  "docker ps": ["container.list"],
  "docker run --rm busybox echo hi": ["container.create", "container.attach"],
  "docker run -d -p 8080:80 --name web busybox httpd -f": [
    "container.create",
    "container.wait",
    "container.start",
  ],
  "docker logs -f --tail 10 --timestamps web": ["container.inspect", "container.logs"],
  "docker stop -t 3 web": ["container.stop"],
  "docker kill -s TERM web": ["container.kill"],
  "docker rm -f -v web": ["container.delete"],
  "docker restart web": ["container.restart"],
  "docker rename web web2": ["container.rename"],
  "docker wait web": ["container.wait"],
  "docker pull alpine:3.20": ["image.create"],
  "docker images": ["image.list"],
  "docker image inspect ghcr.io/a/b:1": ["image.inspect"],
  "docker rmi -f ghcr.io/a/b:1": ["image.delete"],
  "docker tag busybox registry.local:5000/x/y:2": ["image.tag"],
  "docker network ls": ["network.list"],
  "docker network rm net1": ["network.inspect", "network.delete"],
  "docker volume inspect vol1": ["volume.inspect"],
  "docker events --since 1700000000 --until 1700000100 --filter type=container --filter event=start --filter label=a=b":
    ["system.events"],
  "docker exec web echo hi": ["container.inspect", "exec.create", "exec.start"],
  "docker pause web": ["container.pause"],
  "docker stats --no-stream web": ["container.stats"],
  "docker cp web:/etc/hostname -": ["container.archive.get"],
  "docker commit web img:1": ["commit"],
  "docker save busybox": ["image.get.all"],
  "docker image prune -f": ["image.prune"],
};

Deno.test("matchRoute: every request line the docker CLI 28.2.2 sent reaches a route", () => {
  for (const capture of CLI_PATHS.captures) {
    const ids = capture.requests.map((request) => {
      if (request.path.startsWith("/v1.44/services")) {
        const match = matchRoute(request.method, parseRequestTarget(request.path).path);
        assertEquals(match.kind, "swarm", capture.command);
        return "swarm";
      }
      const route = found(request.method, request.path);
      assertEquals(route.apiVersion, "1.44");
      return route.route.id;
    });
    const expected = EXPECTED_CLI_ROUTES[capture.command];
    if (expected) assertEquals(ids, expected, capture.command);
  }
});

Deno.test("matchRoute: every request docker-compose 1.29.2 sent reaches a tier 1 or 2 route", () => {
  for (const request of COMPOSE.requests) {
    const route = found(request.method, request.path);
    assert(["tier1", "tier2"].includes(route.route.support), `${request.path}: ${route.route.id}`);
  }
  // The unversioned GET /version docker-py starts with is served at 1.44.
  assertEquals(found("GET", "/version").apiVersion, "1.44");
  assertEquals(found("GET", "/version").pathVersion, undefined);
});

Deno.test("matchRoute: parameters, greedy names with slashes and tags, decoded", () => {
  assertEquals(found("GET", "/v1.44/images/ghcr.io/a/b:1/json").params, { name: "ghcr.io/a/b:1" });
  assertEquals(found("DELETE", "/images/registry.local:5000/x/y:2?force=1").params, {
    name: "registry.local:5000/x/y:2",
  });
  assertEquals(found("POST", "/images/busybox/tag?repo=x").params, { name: "busybox" });
  // Escaped slashes decode before matching, as Go's decoded URL.Path.
  assertEquals(found("GET", "/images/ghcr.io%2Fa%2Fb%3A1/json").params, { name: "ghcr.io/a/b:1" });
  assertEquals(found("GET", "/containers/web/json").params, { name: "web" });
  assertEquals(found("POST", "/exec/0123abcd/start").route.id, "exec.start");
  assertEquals(found("GET", "/exec/0123abcd/json").params, { id: "0123abcd" });
  assertEquals(found("GET", "/networks/proj_backend").params, { id: "proj_backend" });
  // The literal routes win over the patterns registered after them.
  assertEquals(found("GET", "/containers/json").route.id, "container.list");
  assertEquals(found("GET", "/images/json").route.id, "image.list");
  assertEquals(found("POST", "/containers/create").route.id, "container.create");
  assertEquals(found("POST", "/networks/create").route.id, "network.create");
  assertEquals(found("GET", "/networks/").route.id, "network.list");
  // An image named "json" is still reachable.
  assertEquals(found("GET", "/images/json/json").params, { name: "json" });
});

Deno.test("matchRoute: /_ping with HEAD and GET, unversioned and versioned (docker-py)", () => {
  for (const method of ["GET", "HEAD"]) {
    assertEquals(found(method, "/_ping").route.id, "system.ping");
    assertEquals(found(method, "/v1.41/_ping").apiVersion, "1.41");
  }
  assertEquals(found("OPTIONS", "/anything/at/all").route.id, "options");
});

Deno.test("matchRoute: unknown paths and wrong methods are moby's 404 page not found", () => {
  const unknown = matchRoute("GET", "/v1.44/containers");
  assertEquals(unknown, { kind: "not-found", allowed: [], pathVersion: "1.44" });
  const wrongMethod = expectKind(matchRoute("PATCH", "/containers/json"), "not-found");
  // DELETE /containers/{name:.*} takes "json" as a container name.
  assertEquals(wrongMethod.allowed, ["GET", "DELETE"]);
  const headVersion = expectKind(matchRoute("HEAD", "/version"), "not-found");
  assertEquals(headVersion.allowed, ["GET"]);
  const error = routeError(wrongMethod);
  assertEquals(statusForError(error), 404);
  assertEquals(error.message, "page not found");
  // A version that is not [0-9.]+ is no prefix: the whole path is unknown.
  assertEquals(matchRoute("GET", "/vlatest/containers/json").kind, "not-found");
  assertEquals(matchRoute("GET", "/containers/json/").kind, "not-found");
});

Deno.test("matchRoute: versions out of range are refused with moby's 400", () => {
  const tooNew = expectKind(matchRoute("GET", "/v1.50/containers/json"), "refused");
  assertEquals(statusForError(tooNew.error), 400);
  assertEquals(
    tooNew.error.message,
    "client version 1.50 is too new. Maximum supported API version is 1.44",
  );
  const tooOld = expectKind(matchRoute("GET", "/v1.23/containers/json"), "refused");
  assert(tooOld.error.message.startsWith("client version 1.23 is too old."));
  assertEquals(found("GET", "/v1.24/containers/json").apiVersion, "1.24");
  assertEquals(found("GET", "/v1.40/containers/json").apiVersion, "1.40");
  // Unknown paths stay 404 whatever the version (moby checks it in the handler chain).
  assertEquals(matchRoute("GET", "/v9.99/nowhere").kind, "not-found");
});

Deno.test("matchRoute: swarm prefixes answer 503; bad escapes 400", () => {
  const swarm = expectKind(matchRoute("GET", "/v1.44/services"), "swarm");
  assertEquals(statusForError(routeError(swarm)), 503);
  assertEquals(matchRoute("POST", "/swarm/init").kind, "swarm");
  assertEquals(matchRoute("GET", "/servicesx").kind, "not-found");
  const bad = expectKind(matchRoute("GET", "/containers/%zz/json"), "refused");
  assertEquals(statusForError(bad.error), 400);
});

Deno.test("splitVersionPrefix and the table", () => {
  assertEquals(splitVersionPrefix("/v1.44/_ping"), { version: "1.44", rest: "/_ping" });
  assertEquals(splitVersionPrefix("/version"), { rest: "/version" });
  assertEquals(splitVersionPrefix("/volumes/x"), { rest: "/volumes/x" });
  assertEquals(splitVersionPrefix("/v1.44"), { rest: "/v1.44" });
  // Every issue-13 endpoint of tier 1 is in the table.
  const ids = new Set(ROUTES.filter((r) => r.support === "tier1").map((r) => r.id));
  for (
    const id of [
      "system.ping",
      "system.version",
      "system.info",
      "container.list",
      "container.create",
      "container.inspect",
      "container.start",
      "container.stop",
      "container.kill",
      "container.restart",
      "container.wait",
      "container.attach",
      "container.resize",
      "container.logs",
      "container.delete",
      "exec.create",
      "exec.start",
      "exec.resize",
      "exec.inspect",
      "image.create",
      "image.list",
      "image.inspect",
      "image.delete",
      "image.tag",
    ]
  ) assert(ids.has(id), id);
});

import { assertEquals, assertThrows } from "@std/assert";
import { planBuildRequest } from "./build_request.ts";
import { ApiError } from "./errors.ts";

const HOST = { os: "linux", architecture: "amd64" };
const plan = (query: string) => planBuildRequest(new URLSearchParams(query), HOST);

Deno.test("POST /build: the docker CLI's query (observed) maps onto tsnspawn build", () => {
  assertEquals(
    plan(
      "dockerfile=Dockerfile&t=myimg&t=other%3A2&version=1&buildargs=%7B%22A%22%3A%221%22%2C%22B%22%3Anull%7D",
    ),
    {
      tags: ["myimg", "other:2"],
      dockerfile: "Dockerfile",
      buildArgs: { A: "1" },
      labels: {},
      noCache: false,
      pull: "missing",
      network: "bridge",
      quiet: false,
    },
  );
});

Deno.test("POST /build: docker-py's Python booleans, labels, target, network, pull", () => {
  const request = plan(
    "t=proj_app%3Alatest&q=True&nocache=True&rm=True&forcerm=False&pull=True&target=run" +
      "&networkmode=none&labels=%7B%22k%22%3A%22v%22%7D&cachefrom=%5B%5D&memory=0",
  );
  assertEquals(request.quiet, true);
  assertEquals(request.noCache, true);
  assertEquals(request.pull, "always");
  assertEquals(request.target, "run");
  assertEquals(request.network, "none");
  assertEquals(request.labels, { k: "v" });
  assertEquals(plan("networkmode=default").network, "bridge");
  assertEquals(plan("q=False&pull=False").quiet, false);
});

Deno.test("POST /build: what the builder cannot honour is refused, naming it", () => {
  const refused = (query: string, status: number, text: string) => {
    const error = assertThrows(() => plan(query), ApiError);
    assertEquals(error.status, status);
    assertEquals(error.message.includes(text), true, error.message);
  };
  refused("version=2", 501, "BuildKit");
  refused("remote=https%3A%2F%2Fexample.com%2Fctx.git", 501, "remote");
  refused("rm=0", 400, "rm=false");
  refused("cachefrom=%5B%22other%22%5D", 400, "cachefrom");
  refused("squash=1", 400, "squash");
  refused("memory=1048576", 400, "memory");
  refused("extrahosts=a%3A1.2.3.4", 400, "extrahosts");
  refused("platform=linux%2Fs390x", 400, "platform");
  refused("buildargs=%5B1%5D", 400, "buildargs");
  refused("buildargs=%7B%22A%22%3A1%7D", 400, "buildargs.A");
  refused("t=Bad%20Name", 400, "Bad Name");
  assertEquals(plan("platform=linux%2Famd64").tags, []);
  assertEquals(plan("platform=amd64").tags, []);
});

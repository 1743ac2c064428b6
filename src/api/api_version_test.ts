import { assertEquals, assertThrows } from "@std/assert";
import {
  API_VERSION,
  atLeast,
  checkApiVersion,
  compareApiVersions,
  formatApiHeaders,
  formatPingResponse,
  usesPlainTextErrors,
} from "./api_version.ts";
import { ApiError } from "./errors.ts";

Deno.test("compareApiVersions: numeric by part, as moby's versions.compare", () => {
  assertEquals(compareApiVersions("1.44", "1.44"), 0);
  assertEquals(compareApiVersions("1.9", "1.10") < 0, true);
  assertEquals(compareApiVersions("1.44", "1.5") > 0, true);
  assertEquals(compareApiVersions("1.44.0", "1.44"), 0);
  assertEquals(compareApiVersions("2", "1.99") > 0, true);
  assertEquals(compareApiVersions("1..44", "1.0.44"), 0);
  assertEquals(atLeast("1.44", "1.42"), true);
  assertEquals(atLeast("1.41", "1.42"), false);
});

Deno.test("checkApiVersion: 1.24 to 1.44 taken, moby's 400 outside", () => {
  assertEquals(checkApiVersion(undefined), API_VERSION);
  assertEquals(checkApiVersion(""), "1.44");
  assertEquals(checkApiVersion("1.24"), "1.24");
  assertEquals(checkApiVersion("1.41"), "1.41");
  assertEquals(checkApiVersion("1.44"), "1.44");
  const tooNew = assertThrows(() => checkApiVersion("1.45"), ApiError);
  assertEquals(tooNew.status, 400);
  assertEquals(
    tooNew.message,
    "client version 1.45 is too new. Maximum supported API version is 1.44",
  );
  const tooOld = assertThrows(() => checkApiVersion("1.12"), ApiError);
  assertEquals(
    tooOld.message,
    "client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version",
  );
  assertEquals(usesPlainTextErrors("1.12"), true);
  assertEquals(usesPlainTextErrors("1.24"), false);
  assertEquals(usesPlainTextErrors(undefined), false);
});

Deno.test("formatPingResponse: the headers the CLI reads; OK for GET, empty HEAD", () => {
  const get = formatPingResponse("GET", "0.9.0");
  assertEquals(get.body, "OK");
  assertEquals(get.headers["Content-Length"], "2");
  assertEquals(get.headers["Api-Version"], "1.44");
  assertEquals(get.headers["Ostype"], "linux");
  assertEquals(get.headers["Docker-Experimental"], "false");
  assertEquals(get.headers["Builder-Version"], "1");
  assertEquals(get.headers["Swarm"], "inactive");
  assertEquals(get.headers["Cache-Control"], "no-cache, no-store, must-revalidate");
  assertEquals(get.headers["Pragma"], "no-cache");
  const head = formatPingResponse("HEAD", "0.9.0");
  assertEquals(head.body, "");
  assertEquals(head.headers["Content-Length"], "0");
  assertEquals(formatApiHeaders("0.9.0"), {
    Server: "tsnspawn/0.9.0 (linux)",
    "Api-Version": "1.44",
    Ostype: "linux",
    "Docker-Experimental": "false",
  });
});

import { assertEquals } from "@std/assert";
import { TsnspawnError } from "../errors.ts";
import {
  ApiError,
  badRequest,
  bodyTooLarge,
  formatErrorResponse,
  noSuch,
  notModified,
  notSwarmManager,
  pageNotFound,
  statusForError,
  unsupportedEndpoint,
  unsupportedField,
} from "./errors.ts";

Deno.test("statusForError: each tsnspawn code gets moby's status", () => {
  const status = (code: ConstructorParameters<typeof TsnspawnError>[0]) =>
    statusForError(new TsnspawnError(code, "x"));
  assertEquals(status("not-found"), 404);
  assertEquals(status("conflict"), 409);
  assertEquals(status("invalid"), 400);
  assertEquals(status("usage"), 400);
  assertEquals(status("permission"), 403);
  assertEquals(status("systemd"), 500);
  assertEquals(status("system"), 500);
  assertEquals(status("image"), 500);
  assertEquals(status("start-failed"), 500);
  assertEquals(statusForError(new Error("bug")), 500);
  assertEquals(statusForError("thrown string"), 500);
  assertEquals(statusForError(unsupportedEndpoint("GET", "/x", "y")), 501);
  assertEquals(statusForError(notSwarmManager()), 503);
  assertEquals(statusForError(bodyTooLarge(10)), 413);
  // An ApiError is a TsnspawnError whose code follows its status.
  assertEquals(new ApiError(404, "x").code, "not-found");
  assertEquals(new ApiError(409, "x").code, "conflict");
  assertEquals(new ApiError(501, "x").code, "system");
});

Deno.test("formatErrorResponse: Docker's JSON body, the hint on its own line", () => {
  const response = formatErrorResponse(
    new TsnspawnError("not-found", "container web: no such container", {
      hint: "see 'tsnspawn list -a'",
    }),
  );
  assertEquals(response.status, 404);
  assertEquals(response.headers["Content-Type"], "application/json");
  assertEquals(JSON.parse(response.body), {
    message: "container web: no such container\nhint: see 'tsnspawn list -a'",
  });
  assertEquals(response.body.endsWith("}\n"), true);
  assertEquals(JSON.parse(formatErrorResponse(new Error("boom")).body), {
    message: "internal error: boom",
  });
});

Deno.test("formatErrorResponse: plain text below 1.24, nothing for 304", () => {
  const plain = formatErrorResponse(badRequest("client version 1.23 is too old."), {
    plainText: true,
  });
  assertEquals(plain.status, 400);
  assertEquals(plain.headers["Content-Type"], "text/plain; charset=utf-8");
  assertEquals(plain.body, "client version 1.23 is too old.\n");
  assertEquals(formatErrorResponse(notModified("container web is already started")), {
    status: 304,
    headers: {},
    body: "",
  });
});

Deno.test("unsupportedField names the field and shows the value", () => {
  const error = unsupportedField(
    "HostConfig.Devices",
    [{ PathOnHost: "/dev/fuse", PathInContainer: "/dev/fuse", CgroupPermissions: "rwm" }],
    "host devices are not passed into containers",
  );
  assertEquals(error.status, 400);
  const [shown, ...rest] = error.message.split(": ");
  assertEquals(shown.length, "HostConfig.Devices=".length + 80);
  assertEquals(shown.startsWith('HostConfig.Devices=[{"PathOnHost":"/dev/fuse"'), true);
  assertEquals(shown.endsWith("..."), true);
  assertEquals(
    rest.join(": "),
    "not supported by tsnspawn: host devices are not passed into containers",
  );
});

Deno.test("moby's words for the 404s", () => {
  assertEquals(pageNotFound().message, "page not found");
  assertEquals(noSuch("container", "web").message, "No such container: web");
  assertEquals(noSuch("image", "busybox:latest").message, "No such image: busybox:latest");
  assertEquals(noSuch("exec instance", "abc").message, "No such exec instance: abc");
  assertEquals(noSuch("network", "n").message, "network n not found");
  assertEquals(noSuch("volume", "v").message, "get v: no such volume");
  assertEquals(noSuch("volume", "v").status, 404);
});

import { assertEquals } from "@std/assert";
import { unitObjectPath } from "./systemd.ts";

Deno.test("unitObjectPath escapes like sd_bus_path_encode", () => {
  assertEquals(
    unitObjectPath("tsnspawn-web.service"),
    "/org/freedesktop/systemd1/unit/tsnspawn_2dweb_2eservice",
  );
  assertEquals(
    unitObjectPath("tsnspawn-a_b.service"),
    "/org/freedesktop/systemd1/unit/tsnspawn_2da_5fb_2eservice",
  );
});

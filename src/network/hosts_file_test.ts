import { assertEquals } from "@std/assert";
import { planHostsFile } from "./hosts_file.ts";

Deno.test("hosts file: localhost first, then containers by address", () => {
  const text = planHostsFile("app", [
    { address: "10.89.0.10", container: "db", hostname: "db" },
    { address: "10.89.0.9", container: "web", hostname: "0123456789ab" },
  ]);
  const lines = text.trimEnd().split("\n");
  assertEquals(lines[0], "127.0.0.1\tlocalhost");
  assertEquals(lines.slice(-2), ["10.89.0.9\tweb\t0123456789ab", "10.89.0.10\tdb"]);
});

Deno.test("hosts file: network aliases follow the name and hostname, each once", () => {
  const text = planHostsFile("app", [
    { address: "10.89.0.2", container: "proj_web_1", hostname: "abc", aliases: ["web", "abc"] },
  ]);
  assertEquals(text.trimEnd().split("\n").at(-1), "10.89.0.2\tproj_web_1\tabc\tweb");
});

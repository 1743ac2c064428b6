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

import { assertEquals } from "@std/assert";
import { parseNotification } from "./boot.ts";

Deno.test("sd_notify datagrams: one value per line", () => {
  const values = parseNotification("READY=1\nSTATUS=Startup finished in 1.2s.\nX=a=b\nbogus\n");
  assertEquals([...values], [["READY", "1"], ["STATUS", "Startup finished in 1.2s."], [
    "X",
    "a=b",
  ]]);
});

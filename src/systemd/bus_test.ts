import { assertEquals, assertRejects } from "@std/assert";
import { Systemd, unitObjectPath, UnitWatch } from "./bus.ts";
import { SystemdCallError } from "./error.ts";
import { TsnspawnError } from "../errors.ts";

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

const UNIT = "org.freedesktop.systemd1.Unit";
const SERVICE = "org.freedesktop.systemd1.Service";

/** A watch whose safety-net read returns `polled` (and counts the reads). */
function watchWith(polled: string | null) {
  const reads = { count: 0, closed: false };
  const watch = new UnitWatch(() => {
    reads.count++;
    return Promise.resolve(polled);
  }, () => reads.closed = true);
  return { watch, reads };
}

Deno.test("UnitWatch: the end comes from the Unit interface's signals alone", async () => {
  const { watch, reads } = watchWith("active");
  watch.record([UNIT, { ActiveState: "active", SubState: "running" }, []]);
  const ended = watch.untilInactive();
  watch.record([SERVICE, { ActiveState: "ignored", ExecMainCode: 1 }, []]);
  watch.record([UNIT, { ActiveState: "deactivating", SubState: "stop" }, []]);
  watch.record([UNIT, { ActiveState: "inactive", SubState: "dead" }, []]);
  assertEquals(await ended, true);
  assertEquals(reads.count, 0);
  watch.close();
  assertEquals(reads.closed, true);
});

Deno.test("UnitWatch: an end reported before the wait returns at once", async () => {
  const { watch } = watchWith("active");
  watch.record([UNIT, { ActiveState: "failed" }, []]);
  assertEquals(await watch.untilInactive(), true);
});

Deno.test("UnitWatch: without signals it reads ActiveState (safety net)", async () => {
  const { watch, reads } = watchWith("inactive");
  assertEquals(await watch.untilInactive(30), true);
  assertEquals(reads.count, 1);
});

Deno.test("UnitWatch: a timeout with the unit still running resolves false", async () => {
  const { watch } = watchWith("active");
  assertEquals(await watch.untilInactive(30), false);
});

Deno.test("SystemdCallError names the call and tells NoSuchUnit and UnitExists apart", () => {
  const exists = new SystemdCallError(
    "StartTransientUnit",
    { type: "org.freedesktop.systemd1.UnitExists", text: "Unit x.service was already loaded" },
    "x.service",
  );
  assertEquals(
    exists.message,
    "systemd StartTransientUnit x.service failed: Unit x.service was already loaded",
  );
  assertEquals([exists.isUnitExists, exists.isNoSuchUnit], [true, false]);
  const missing = new SystemdCallError("Get", { type: "org.freedesktop.systemd1.NoSuchUnit" });
  assertEquals([missing.isUnitExists, missing.isNoSuchUnit], [false, true]);
});

Deno.test("a bus that refuses the handshake fails the first call with the reason", async () => {
  const dir = Deno.makeTempDirSync();
  const path = `${dir}/bus`;
  const listener = Deno.listen({ transport: "unix", path });
  const server = (async () => {
    const conn = await listener.accept();
    // AUTH and BEGIN come in one write, Hello right behind them.
    const buffer = new Uint8Array(4096);
    let seen = "";
    while (!seen.includes("BEGIN\r\n")) {
      const n = await conn.read(buffer);
      if (n === null) break;
      seen += new TextDecoder().decode(buffer.subarray(0, n));
    }
    await conn.write(new TextEncoder().encode("REJECTED EXTERNAL\r\n"));
    conn.close();
    return seen;
  })();
  const previous = Deno.env.get("DBUS_SYSTEM_BUS_ADDRESS");
  Deno.env.set("DBUS_SYSTEM_BUS_ADDRESS", `unix:path=${path}`);
  try {
    const systemd = await Systemd.connect();
    const error = await assertRejects(() => systemd.unitState("x.service"), TsnspawnError);
    assertEquals(
      error.message,
      `cannot reach systemd over the system bus at unix:path=${path}: ` +
        "D-Bus authentication failed: REJECTED EXTERNAL",
    );
    systemd.close();
    assertEquals((await server).startsWith("\0AUTH EXTERNAL "), true);
  } finally {
    if (previous === undefined) Deno.env.delete("DBUS_SYSTEM_BUS_ADDRESS");
    else Deno.env.set("DBUS_SYSTEM_BUS_ADDRESS", previous);
    listener.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

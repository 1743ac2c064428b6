import { assertEquals } from "@std/assert";
import { join } from "@std/path";
import {
  credentialKeys,
  decodeAuthEntry,
  encodeAuth,
  findAuthEntry,
  isMarkedInsecure,
  loadCredentials,
  removeCredentials,
  saveCredentials,
} from "./config.ts";

Deno.test("auth entries: keys, lookup and decoding (docker config format)", () => {
  assertEquals(credentialKeys("quay.io"), ["quay.io", "https://quay.io", "http://quay.io"]);
  const hub = {
    "https://index.docker.io/v1/": { auth: encodeAuth({ username: "u", password: "p:w" }) },
  };
  assertEquals(decodeAuthEntry(findAuthEntry(hub, "docker.io")!), {
    username: "u",
    password: "p:w",
  });
  assertEquals(findAuthEntry({ "https://reg:5000/v2/": { auth: "x" } }, "reg:5000"), { auth: "x" });
  assertEquals(findAuthEntry(hub, "quay.io"), undefined);
  assertEquals(decodeAuthEntry({ identitytoken: "tok" }), { username: "<token>", password: "tok" });
  assertEquals(decodeAuthEntry({ auth: "!!!" }), undefined);
  assertEquals(decodeAuthEntry({ auth: btoa("nocolon") }), undefined);
});

Deno.test("credentials file: 0600, docker config read too, logout removes", () => {
  const dir = Deno.makeTempDirSync();
  const saved = { etc: Deno.env.get("TSNSPAWN_ETC"), home: Deno.env.get("HOME") };
  try {
    Deno.env.set("TSNSPAWN_ETC", join(dir, "etc"));
    Deno.env.set("HOME", join(dir, "home"));
    Deno.mkdirSync(join(dir, "home/.docker"), { recursive: true });
    Deno.writeTextFileSync(
      join(dir, "home/.docker/config.json"),
      JSON.stringify({
        auths: { "other:5000": { auth: encodeAuth({ username: "d", password: "x" }) } },
      }),
    );
    saveCredentials("reg:5000", { username: "alice", password: "s3cret" });
    assertEquals(Deno.statSync(join(dir, "etc/auth.json")).mode! & 0o777, 0o600);
    assertEquals(loadCredentials("reg:5000"), { username: "alice", password: "s3cret" });
    assertEquals(loadCredentials("other:5000"), { username: "d", password: "x" });
    assertEquals(loadCredentials("none:1"), undefined);
    assertEquals(removeCredentials("reg:5000"), true);
    assertEquals(removeCredentials("reg:5000"), false);
    assertEquals(loadCredentials("reg:5000"), undefined);
    assertEquals(isMarkedInsecure("reg.lan"), false);
    Deno.writeTextFileSync(
      join(dir, "etc/registries.json"),
      JSON.stringify({ insecure: ["reg.lan"] }),
    );
    assertEquals(isMarkedInsecure("reg.lan"), true);
  } finally {
    for (const [k, v] of [["TSNSPAWN_ETC", saved.etc], ["HOME", saved.home]] as const) {
      if (v === undefined) Deno.env.delete(k);
      else Deno.env.set(k, v);
    }
    Deno.removeSync(dir, { recursive: true });
  }
});

/**
 * Throwaway systemd hosts for declared-file tests (tests/declared_test.ts,
 * tests/quadlet_test.ts): the generator installed as ./setup installs it,
 * systemd-machined with units/tsnspawn-machine@.service, the declared files
 * in /etc/tsnspawn from the first boot on, and busybox; plus small
 * helpers that ask systemd and the containers.
 */
import { join } from "@std/path";
import { CoreHost, importBusybox, REPO } from "./helpers.ts";
import { isRoot, TestHost, type TestHostOptions } from "./testhost.ts";
import { MACHINE_UNIT_TEMPLATE } from "../src/systemd/machined.ts";

/** Where ./setup links the generator. */
const GENERATOR_DIR = "/usr/local/lib/systemd/system-generators";

/** Options of {@link declaredTest}. */
export interface DeclaredHostOptions {
  /** Declared files in /etc/tsnspawn before the first boot: file name → text (a "d/x.conf" key makes the directory). */
  files: Record<string, string>;
  /** Extra test host options. */
  host?: TestHostOptions;
}

/**
 * Declares a test with a host that has the generator (a link to this
 * checkout's units/tsnspawn-generator, bound where ./setup puts it),
 * machined with units/tsnspawn-machine@.service, the files in /etc/tsnspawn
 * from the first boot on, and busybox.
 */
export function declaredTest(
  name: string,
  options: DeclaredHostOptions,
  fn: (core: CoreHost, host: TestHost) => Promise<void>,
): void {
  Deno.test({
    name,
    ignore: !isRoot(),
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      const scratch = Deno.makeTempDirSync({ dir: "/dev/shm", prefix: "tsnspawn-declared-test-" });
      const generators = join(scratch, "generators");
      Deno.mkdirSync(generators);
      Deno.symlinkSync(
        join(REPO, "units", "tsnspawn-generator"),
        join(generators, "tsnspawn-generator"),
      );
      const host = await TestHost.create({
        wants: ["systemd-machined.service"],
        binds: [{ source: generators, target: GENERATOR_DIR, readOnly: true }],
        units: {
          [MACHINE_UNIT_TEMPLATE]: Deno.readTextFileSync(
            join(REPO, "units", MACHINE_UNIT_TEMPLATE),
          ),
        },
        ...options.host,
      });
      try {
        for (const [file, text] of Object.entries(options.files)) {
          Deno.mkdirSync(join(host.etcDir, file, ".."), { recursive: true });
          Deno.writeTextFileSync(join(host.etcDir, file), text);
        }
        await host.boot();
        await importBusybox(host);
        await fn(new CoreHost(host), host);
      } finally {
        await host.dispose();
        Deno.removeSync(scratch, { recursive: true });
      }
    },
  });
}

/** `systemctl show -p` of several properties at once. */
export async function show(
  core: CoreHost,
  unit: string,
  ...properties: string[]
): Promise<Record<string, string>> {
  const out = await core.shOk(
    `systemctl show ${properties.map((p) => `-p ${p}`).join(" ")} ${unit}`,
  );
  return Object.fromEntries(
    out.trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

export async function isActive(core: CoreHost, unit: string): Promise<string> {
  return (await core.sh(`systemctl is-active ${unit}`)).stdout.trim();
}

/** GET http://127.0.0.1:PORT/PATH from the host, retried until it answers. */
export async function fetchPage(core: CoreHost, port: number, path = "/"): Promise<string> {
  let body = "";
  await core.waitFor(`a page on port ${port}`, async () => {
    const r = await core.sh(`curl -sf --max-time 2 http://127.0.0.1:${port}${path}`);
    body = r.stdout;
    return r.code === 0;
  });
  return body;
}

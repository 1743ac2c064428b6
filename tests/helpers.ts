/**
 * Shared parts of the integration tests: a throwaway systemd host
 * (testhost.ts) with a busybox image imported, and a `tsnspawn` runner
 * inside it. Every test gets a fresh host, so a failing test cannot leave
 * state for the next one; booting one costs ~0.2 s.
 */
import { dirname, fromFileUrl } from "@std/path";
import { assert } from "@std/assert";
import {
  isRoot,
  type TestHost,
  type TestHostRunOptions,
  type TestHostRunResult,
  withTestHost,
} from "./testhost.ts";
import { BUNDLE_ENTRY, BUNDLE_RUN_FLAGS, ensureBundle } from "../tools/bundle.ts";

/** The repository (bound at the same path inside test hosts). */
export const REPO = dirname(dirname(fromFileUrl(import.meta.url)));
/** The pinned Deno. */
export const DENO = `${REPO}/node_modules/.bin/deno`;

/**
 * The read-only binds that let the host's deno run a probe script of
 * tests/security/ (at /probe) in a busybox container (/opt/deno).
 */
export const DENO_PROBE_VOLUMES = [
  "-v",
  `${Deno.realPathSync(DENO)}:/opt/deno:ro`,
  "-v",
  "/usr/lib:/lib:ro",
  "-v",
  "/usr/lib64:/lib64:ro",
  "-v",
  `${REPO}/tests/security:/probe:ro`,
  "-e",
  "DENO_DIR=/tmp/deno",
  "-e",
  "DENO_NO_UPDATE_CHECK=1",
];

// Tests run what users run: the bundle ./setup installs (tools/bundle.ts),
// rebuilt here when the sources changed since it was built.
await ensureBundle();

/** argv running the tsnspawn CLI from this checkout, as /usr/local/bin/tsnspawn does. */
export function tsnspawnArgv(args: string[]): string[] {
  return [DENO, "run", ...BUNDLE_RUN_FLAGS, BUNDLE_ENTRY, ...args];
}

/** A test host with the busybox image imported as `busybox`. */
export class CoreHost {
  constructor(readonly host: TestHost) {}

  /** Runs tsnspawn inside. */
  tsn(args: string[], opts: TestHostRunOptions = {}): Promise<TestHostRunResult> {
    return this.host.run(tsnspawnArgv(args), { timeoutMs: 60_000, ...opts });
  }

  /** Runs tsnspawn inside and fails the test unless it exits 0; returns stdout. */
  async tsnOk(args: string[], opts: TestHostRunOptions = {}): Promise<string> {
    const result = await this.tsn(args, opts);
    assert(
      result.code === 0,
      `tsnspawn ${
        args.join(" ")
      } exited ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`,
    );
    return result.stdout;
  }

  /** Runs a shell command inside the host (not in a container). */
  sh(script: string, opts: TestHostRunOptions = {}): Promise<TestHostRunResult> {
    return this.host.run(["sh", "-c", script], { timeoutMs: 60_000, ...opts });
  }

  /** Like sh, failing unless it exits 0; returns stdout. */
  async shOk(script: string, opts: TestHostRunOptions = {}): Promise<string> {
    const result = await this.sh(script, opts);
    assert(result.code === 0, `${script}: exit ${result.code}\n${result.stdout}\n${result.stderr}`);
    return result.stdout;
  }

  /** `systemctl show -p PROP --value UNIT`. */
  async unitProperty(unit: string, property: string): Promise<string> {
    return (await this.shOk(`systemctl show -p ${property} --value ${unit}`)).trim();
  }

  /** Polls `check` until it returns true or `timeoutMs` passes. */
  async waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await check()) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`timed out waiting for ${what}`);
  }
}

/** Builds the busybox image inside a host (examples/busybox-rootfs.sh + import). */
export async function importBusybox(host: TestHost, name = "busybox"): Promise<void> {
  await host.run(["sh", `${REPO}/examples/busybox-rootfs.sh`, "/tmp/busybox.tar"], { check: true });
  await host.run(tsnspawnArgv(["import", "/tmp/busybox.tar", `${name}:latest`]), { check: true });
}

/** Boots a host, imports busybox, runs `fn`, always tears down. */
export function withCoreHost(fn: (core: CoreHost) => Promise<void>): Promise<void> {
  return withTestHost({}, async (host) => {
    await importBusybox(host);
    await fn(new CoreHost(host));
  });
}

/** Declares an integration test (needs root: it boots a systemd host). */
export function integrationTest(name: string, fn: (core: CoreHost) => Promise<void>): void {
  Deno.test({
    name,
    ignore: !isRoot(),
    sanitizeOps: false,
    sanitizeResources: false,
    fn: () => withCoreHost(fn),
  });
}

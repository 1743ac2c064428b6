/**
 * Shared parts of the Docker API tests: a throwaway systemd host with
 * tsnspawn's API socket unit installed and started by systemd (the repo's
 * units/tsnspawn-api.socket and .service, the service's ExecStart pointed
 * at this checkout), the busybox image imported, and the real clients run
 * inside it against the socket: the docker CLI, docker-compose, curl.
 */
import { assert } from "@std/assert";
import { isRoot, withTestHost } from "./testhost.ts";
import type { TestHostBind, TestHostRunOptions, TestHostRunResult } from "./testhost.ts";
import { CoreHost, importBusybox, REPO, tsnspawnArgv } from "./helpers.ts";

/** The socket units/tsnspawn-api.socket listens on. */
export const API_SOCKET = "/run/tsnspawn/docker.sock";

/** The environment that points the clients at tsnspawn (and keeps them off any docker config). */
export const CLIENT_ENV: Record<string, string> = {
  DOCKER_HOST: `unix://${API_SOCKET}`,
  DOCKER_CONFIG: "/tmp/docker-config",
  DOCKER_CLI_HINTS: "false",
};

/** The units installed in the host: the repo's, running this checkout. */
export function apiUnits(idleExitSec: number): Record<string, string> {
  const socket = Deno.readTextFileSync(`${REPO}/units/tsnspawn-api.socket`);
  const service = Deno.readTextFileSync(`${REPO}/units/tsnspawn-api.service`).replace(
    /^ExecStart=.*$/m,
    `ExecStart=${tsnspawnArgv(["--debug", "api", "--idle-exit", String(idleExitSec)]).join(" ")}`,
  );
  return { "tsnspawn-api.socket": socket, "tsnspawn-api.service": service };
}

/** Whether a program is on PATH. */
function have(program: string): boolean {
  try {
    return new Deno.Command("sh", { args: ["-c", `command -v ${program}`], stdout: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

/** The docker CLI is installed (./setup installs the client when there is none). */
export const HAVE_DOCKER = have("docker");
/** docker-compose is installed (./setup). */
export const HAVE_COMPOSE = have("docker-compose");

/** A test host serving the Docker API, with helpers to run the clients. */
export class ApiHost extends CoreHost {
  /** Runs the docker CLI inside. */
  docker(args: string[], opts: TestHostRunOptions = {}): Promise<TestHostRunResult> {
    return this.host.run(["docker", ...args], {
      timeoutMs: 120_000,
      ...opts,
      env: { ...CLIENT_ENV, ...opts.env },
    });
  }

  /** Runs the docker CLI and fails the test unless it exits 0; returns stdout. */
  async dockerOk(args: string[], opts: TestHostRunOptions = {}): Promise<string> {
    const r = await this.docker(args, opts);
    assert(
      r.code === 0,
      `docker ${args.join(" ")} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`,
    );
    return r.stdout;
  }

  /** A shell command inside with the clients pointed at tsnspawn. */
  client(script: string, opts: TestHostRunOptions = {}): Promise<TestHostRunResult> {
    return this.sh(script, { ...opts, env: { ...CLIENT_ENV, ...opts.env } });
  }

  /** The API service's ActiveState (systemd's). */
  async serviceState(): Promise<string> {
    return (await this.sh("systemctl show -P ActiveState tsnspawn-api.service")).stdout.trim();
  }

  /** The service's journal (for failure messages). */
  async serviceLog(): Promise<string> {
    return (await this.sh("journalctl --no-pager -q -u tsnspawn-api.service | tail -50")).stdout;
  }
}

/** Options of {@link apiTest}. */
export interface ApiTestOptions {
  /** The service's --idle-exit (default 5, the unit's). */
  idleExitSec?: number;
  binds?: TestHostBind[];
  /** Also needs docker-compose. */
  compose?: boolean;
}

/** Declares a test against the API in a fresh host (needs root and the docker CLI). */
export function apiTest(
  name: string,
  fn: (api: ApiHost) => Promise<void>,
  options: ApiTestOptions = {},
): void {
  Deno.test({
    name,
    ignore: !isRoot() || !HAVE_DOCKER || (options.compose === true && !HAVE_COMPOSE),
    sanitizeOps: false,
    sanitizeResources: false,
    fn: () =>
      withTestHost({
        units: apiUnits(options.idleExitSec ?? 5),
        wants: ["tsnspawn-api.socket"],
        binds: options.binds,
      }, async (host) => {
        await importBusybox(host);
        const api = new ApiHost(host);
        try {
          await fn(api);
        } catch (error) {
          console.error(`--- tsnspawn-api.service's journal:\n${await api.serviceLog()}`);
          throw error;
        }
      }),
  });
}

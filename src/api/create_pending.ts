/**
 * The pending options of a create (create_types.ts PendingCreateOptions)
 * → more words for the CLI's `create` grammar, or a refusal naming the
 * field (pure). Labels and exposed ports are what inspect, list, filters
 * and events show: the API record keeps them (api_record.ts). Everything
 * else that changes how the container runs must be a CLI option first, so
 * that the API and the CLI do one thing; until tsnspawn has the option,
 * the request is refused with Docker's error format, never half-honoured.
 *
 * References: research notes /work/shared/research/docker-api.md §8
 * ("reject what tsnspawn cannot do with a 400 naming the field").
 */
import { ApiError } from "./errors.ts";
import type { PendingCreateOptions } from "./create_types.ts";

/** 501 for a field whose feature tsnspawn does not have yet. */
function notYet(field: string, what: string, hint?: string): ApiError {
  return new ApiError(501, `${field}: ${what} is not supported by tsnspawn yet`, { hint });
}

/**
 * The CLI words for what the pending options ask, after the mapped options
 * (`seccompFile`: where the caller wrote an inline seccomp profile).
 */
export function planPendingArgs(
  pending: PendingCreateOptions,
  seccompFile?: string,
): string[] {
  const args: string[] = [];
  if (pending.volumes.length > 0) {
    const named = pending.volumes[0].name;
    throw notYet(
      "HostConfig.Binds/Mounts",
      named === "" ? "an anonymous volume" : `the named volume ${named}`,
      "bind-mount a host directory instead (an absolute path)",
    );
  }
  const health = pending.healthcheck;
  if (health && !(health.test.length === 1 && health.test[0] === "NONE")) {
    throw notYet("Config.Healthcheck", "a health check");
  }
  if (pending.dns.servers.length + pending.dns.search.length + pending.dns.options.length > 0) {
    throw notYet("HostConfig.Dns", "setting the container's DNS servers, search or options");
  }
  if (pending.extraHosts.length > 0) {
    throw notYet("HostConfig.ExtraHosts", "adding hosts entries");
  }
  if (pending.randomPorts.length > 0) {
    const p = pending.randomPorts[0];
    throw notYet(
      "HostConfig.PortBindings",
      `publishing ${p.containerPort}/${p.protocol} on a random host port`,
      "give the host port: -p HOSTPORT:CONTAINERPORT",
    );
  }
  if (pending.publishAll) throw notYet("HostConfig.PublishAllPorts", "publishing every port");
  for (const alias of pending.networkAliases) args.push(`--network-alias=${alias}`);
  for (const name of pending.envRemove) args.push(`--unsetenv=${name}`);
  if (pending.seccompProfile !== undefined) {
    if (seccompFile === undefined) throw new Error("the inline seccomp profile needs a file");
    args.push(`--security-opt=seccomp=${seccompFile}`);
  }
  return args;
}

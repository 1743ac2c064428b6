/**
 * The container endpoints that answer once (`/containers/json`, create,
 * inspect, stop, kill, restart, delete): each maps the request onto the
 * operation the CLI runs (ops/create.ts through the CLI's own `create`
 * grammar, ops/stop.ts, ops/remove.ts) and the result onto Docker's JSON
 * (inspect_container.ts). Start, attach, wait, logs and resize, which follow
 * a run, are container_io.ts.
 *
 * References: Docker Engine API v1.44 (Container); research notes
 * /work/shared/research/docker-api.md §2, §4, §6 tier 1.
 */
import { TsnspawnError } from "../errors.ts";
import { tmpDir } from "../paths.ts";
import { ensureStore, randomHex } from "../files.ts";
import { join } from "../path_util.ts";
import { containerUnit, listContainerNames, loadContainer } from "../container/state.ts";
import { parseContainerArgs } from "../container/run_args.ts";
import { resolveImage } from "../image/store.ts";
import { createContainer } from "../ops/create.ts";
import { killContainer, restartContainer, stopContainer } from "../ops/stop.ts";
import { removeContainer } from "../ops/remove.ts";
import { renameContainer } from "../ops/rename.ts";
import type { ApiCall } from "./http.ts";
import type { ApiContext } from "./context.ts";
import { badRequest, notModified, unsupportedField } from "./errors.ts";
import { queryBool, queryInt } from "./request.ts";
import { parseFilters } from "./filters.ts";
import { formatCreateResponse, planContainerCreate } from "./container_create.ts";
import { planPendingArgs } from "./create_pending.ts";
import { writeApiRecord } from "./api_record.ts";
import { eventContainerOf, gatherContainerFacts } from "./facts.ts";
import { orNoSuch, resolveContainer } from "./names.ts";
import {
  type ContainerFacts,
  exposedKeys,
  formatContainerInspect,
  formatContainerSummary,
} from "./inspect_container.ts";
import { planContainerState } from "./inspect_state.ts";
import { type ContainerListFacts, selectContainers } from "./container_filters.ts";
import { nanosOf, nanosOfIso } from "./docker_time.ts";

/** What the list filters look at, from a container's facts. */
function listFactsOf(facts: ContainerFacts): ContainerListFacts & { facts: ContainerFacts } {
  const { config } = facts;
  const state = planContainerState(facts);
  const network = config.bridge?.network ?? config.network;
  return {
    facts,
    id: config.id,
    name: config.name,
    labels: config.labels ?? {},
    status: state.status,
    exitCode: state.exitCode,
    started: state.startedNs !== null,
    imageId: config.imageId ?? "",
    health: facts.health?.status ?? "none",
    networks: [{ name: network, id: facts.network?.id ?? "" }],
    mounts: config.volumes.map((v) => ({
      ...(v.volume !== undefined ? { name: v.volume } : {}),
      source: v.source,
      destination: v.destination,
    })),
    ports: [
      ...(config.publish ?? []).map((p) => ({
        privatePort: p.containerPort,
        publicPort: p.hostPort,
        type: p.protocol,
      })),
      ...(config.exposedPorts ?? []).flatMap(exposedKeys).map((key) => ({
        privatePort: Number(key.split("/")[0]),
        type: key.split("/")[1] === "udp" ? "udp" as const : "tcp" as const,
      })),
    ],
  };
}

/** `GET /containers/json`: newest first, filtered as moby filters. */
export async function listContainers(call: ApiCall, api: ApiContext): Promise<void> {
  const all = queryBool(call.query, "all");
  const limit = queryInt(call.query, "limit", -1);
  const filters = parseFilters(call.query.get("filters"));
  const facts = (await Promise.all(
    listContainerNames().map(async (name) => {
      try {
        return await gatherContainerFacts(api, name, { execIds: api.execs.idsOf(name) });
      } catch {
        return null; // removed while listing
      }
    }),
  )).filter((f): f is ContainerFacts => f !== null);
  facts.sort((a, b) =>
    Number(nanosOfIso(b.config.created) - nanosOfIso(a.config.created)) ||
    a.config.name.localeCompare(b.config.name)
  );
  const selected = selectContainers(facts.map(listFactsOf), {
    all,
    limit,
    filters,
    resolveImageId: (reference) => {
      try {
        return resolveImage(reference).id;
      } catch {
        return undefined;
      }
    },
  });
  const now = nanosOf(new Date());
  call.sendJson(200, selected.map((entry) => formatContainerSummary(entry.facts, now)));
}

/** `GET /containers/{name}/json`. */
export async function inspectContainer(call: ApiCall, api: ApiContext): Promise<void> {
  const name = resolveContainer(call.params.name);
  const facts = await gatherContainerFacts(api, name, { execIds: api.execs.idsOf(name) });
  call.sendJson(200, formatContainerInspect(facts));
}

/**
 * `POST /containers/create`: the image first (its absence is the 404 on
 * which the docker CLI pulls), then the body mapped onto the words of the
 * CLI's `create`, parsed by the CLI's grammar and created by the CLI's
 * operation; the API record keeps what Docker clients read back.
 */
export async function createContainerCall(call: ApiCall, api: ApiContext): Promise<void> {
  const body = await call.json();
  const image = typeof body.Image === "string" ? body.Image : "";
  const resolved = image === ""
    ? undefined
    : await orNoSuch("image", image, () => resolveImage(image));
  const plan = planContainerCreate(body, call.query, {
    imageCmd: resolved?.config.config?.Cmd ?? null,
  });
  if (plan.session.attachStdin && !body.Tty) {
    throw unsupportedField(
      "Config.OpenStdin",
      true,
      "stdin without a terminal is not passed to containers yet",
      "use -it (a terminal), or pipe input through exec",
    );
  }
  let seccompFile: string | undefined;
  if (plan.pending.seccompProfile !== undefined) {
    ensureStore();
    seccompFile = join(tmpDir(), `seccomp-${randomHex(8)}.json`);
    Deno.writeTextFileSync(seccompFile, plan.pending.seccompProfile, { mode: 0o600 });
  }
  try {
    const args = [
      ...planPendingArgs(plan.pending, seccompFile),
      ...plan.args,
    ];
    let options;
    try {
      options = parseContainerArgs(args, { lookupEnv: () => undefined, hostCpus: api.hostCpus });
    } catch (error) {
      if (error instanceof TsnspawnError && error.code === "usage") {
        throw badRequest(error.message, error.hint);
      }
      throw error;
    }
    const config = await createContainer(options);
    writeApiRecord(config.name, {
      pending: plan.pending,
      session: plan.session,
      given: plan.given,
    });
    api.events.emitContainer("create", eventContainerOf(config.name, config));
    call.sendJson(201, formatCreateResponse(config.id, plan.warnings));
  } finally {
    if (seccompFile) Deno.removeSync(seccompFile);
  }
}

/** `POST /containers/{name}/stop?t=&signal=`: 304 when it was not running. */
export async function stopContainerCall(call: ApiCall, api: ApiContext): Promise<void> {
  const name = resolveContainer(call.params.name);
  const timeout = queryInt(call.query, "t", undefined, { min: -1 });
  const signal = call.query.get("signal") ?? "";
  const stopped = await stopContainer(
    api,
    name,
    timeout === undefined || timeout < 0 ? undefined : timeout,
    signal === "" ? undefined : signal,
  );
  if (!stopped) throw notModified(`container ${name} is not running`);
  api.events.emitContainer("stop", eventContainerOf(name));
  call.sendEmpty(204);
}

/** `POST /containers/{name}/kill?signal=` (default SIGKILL); 409 when not running. */
export async function killContainerCall(call: ApiCall, api: ApiContext): Promise<void> {
  const name = resolveContainer(call.params.name);
  const signal = call.query.get("signal") || "KILL";
  await killContainer(api, name, signal);
  api.events.emitContainer("kill", eventContainerOf(name), { signal });
  call.sendEmpty(204);
}

/** `POST /containers/{name}/restart?t=`. */
export async function restartContainerCall(call: ApiCall, api: ApiContext): Promise<void> {
  const name = resolveContainer(call.params.name);
  const timeout = queryInt(call.query, "t", undefined, { min: -1 });
  if (loadContainer(name).tty) {
    throw new TsnspawnError("invalid", `container ${name} has a terminal: restart it attached`, {
      hint: "use docker start -ai NAME",
    });
  }
  await restartContainer(api, name, timeout === undefined || timeout < 0 ? undefined : timeout);
  api.events.emitContainer("restart", eventContainerOf(name));
  call.sendEmpty(204);
}

/** `DELETE /containers/{name}?force=&v=&link=`. */
export async function deleteContainerCall(call: ApiCall, api: ApiContext): Promise<void> {
  const name = resolveContainer(call.params.name);
  if (queryBool(call.query, "link")) {
    throw unsupportedField("link", true, "links are not supported", "use a user network");
  }
  const container = eventContainerOf(name);
  const systemd = await api.systemd();
  const running = (await systemd.unitState(containerUnit(name).unit))?.activeState;
  await removeContainer(systemd, name, queryBool(call.query, "force"), queryBool(call.query, "v"));
  if (running === "active") api.events.emitContainer("kill", container, { signal: "KILL" });
  api.events.emitContainer("destroy", container);
  call.sendEmpty(204);
}

/** `POST /containers/{name}/rename?name=`: a stopped container (its unit is named after it). */
export async function renameContainerCall(call: ApiCall, api: ApiContext): Promise<void> {
  const name = resolveContainer(call.params.name);
  const newName = (call.query.get("name") ?? "").replace(/^\//, "");
  if (newName === "") throw badRequest("name: the new name is empty");
  const container = eventContainerOf(name);
  await renameContainer(api, name, newName);
  api.events.emitContainer("rename", { ...container, name: newName }, { oldName: `/${name}` });
  call.sendEmpty(204);
}

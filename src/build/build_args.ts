/**
 * Build arguments (pure): the global ARG scope used by FROM, the ARG scope of
 * a stage, the values RUN steps see, what history and cache keys record, and
 * which `--build-arg`s nothing consumed.
 *
 * Spec: Dockerfile reference "ARG" (scope, default values, predefined ARGs,
 * automatic platform ARGs, impact on build caching) and "Understand how ARG
 * and FROM interact"; docker's classic builder (moby daemon/builder/
 * dockerfile/buildargs.go) and buildah for the details:
 *
 * - ARGs before the first FROM form the global scope, visible to FROM lines
 *   only; a stage sees one only after `ARG NAME` (without a value) inside it.
 * - In a stage an ARG takes, in order: the `--build-arg` value, its default
 *   (expanded with what the stage sees at that point), the global value.
 *   `ARG NAME` with none of these declares it without a value (unset).
 * - A stage based on an earlier stage inherits that stage's ARGs.
 * - ENV always wins over an ARG of the same name.
 * - The proxy variables (HTTP_PROXY ...) may be passed without an ARG; RUN
 *   sees them, but history and cache keys record them only if declared.
 * - The automatic platform ARGs (TARGETPLATFORM, BUILDARCH ...) live in the
 *   global scope.
 */
import type { ArgDeclaration } from "./instructions.ts";
import type { VariableLookup } from "./substitute.ts";

/** docker's predefined ARGs, usable without an ARG instruction. */
export const PROXY_ARGS: readonly string[] = [
  "HTTP_PROXY",
  "http_proxy",
  "HTTPS_PROXY",
  "https_proxy",
  "FTP_PROXY",
  "ftp_proxy",
  "NO_PROXY",
  "no_proxy",
  "ALL_PROXY",
  "all_proxy",
];

/** An OCI platform (image-spec config.md os/architecture/variant). */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** What every ARG decision needs: the user's `--build-arg`s and the global scope. */
export interface ArgContext {
  /** `--build-arg NAME=value`, by name. */
  buildArgs: Readonly<Record<string, string>>;
  /** The global scope: names declared before the first FROM plus the platform ARGs. */
  globals: ReadonlyMap<string, string | undefined>;
}

/** The ARGs a stage has declared so far, in order; undefined = declared without a value. */
export type ArgScope = ReadonlyMap<string, string | undefined>;

/** An empty stage scope. */
export const NO_ARGS: ArgScope = new Map();

/** The automatic platform ARGs (BuildKit and buildah set them in the global scope). */
export function platformArgs(target: Platform, build: Platform = target): Record<string, string> {
  const text = (p: Platform) => `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`;
  return {
    TARGETPLATFORM: text(target),
    TARGETOS: target.os,
    TARGETARCH: target.architecture,
    TARGETVARIANT: target.variant ?? "",
    BUILDPLATFORM: text(build),
    BUILDOS: build.os,
    BUILDARCH: build.architecture,
    BUILDVARIANT: build.variant ?? "",
  };
}

/** The platform of this machine (Deno's build target), for the platform ARGs. */
export function hostPlatform(): Platform {
  const architecture = Deno.build.arch === "aarch64" ? "arm64" : "amd64";
  return architecture === "arm64"
    ? { os: "linux", architecture, variant: "v8" }
    : { os: "linux", architecture };
}

/** Proxy `--build-arg`s, which are visible without an ARG. */
function proxyValue(context: ArgContext, name: string): string | undefined {
  return PROXY_ARGS.includes(name) && Object.hasOwn(context.buildArgs, name)
    ? context.buildArgs[name]
    : undefined;
}

function buildArg(context: ArgContext, name: string): string | undefined {
  return Object.hasOwn(context.buildArgs, name) ? context.buildArgs[name] : undefined;
}

/**
 * Adds ARGs before the first FROM to the global scope `start` (the platform
 * ARGs and earlier global ARGs): the `--build-arg` value, else the default
 * expanded with the scope so far (`expand` is substitute.ts's expandWord).
 */
export function resolveGlobalArgs(
  declarations: ArgDeclaration[],
  buildArgs: Readonly<Record<string, string>>,
  start: ReadonlyMap<string, string | undefined>,
  expand: (word: string, lookup: VariableLookup) => string,
): Map<string, string | undefined> {
  const globals = new Map(start);
  const context: ArgContext = { buildArgs, globals };
  for (const declaration of declarations) {
    const given = buildArg(context, declaration.name);
    const value = given ??
      (declaration.value !== undefined
        ? expand(declaration.value, globalLookup(context))
        : globals.get(declaration.name));
    globals.set(declaration.name, value);
  }
  return globals;
}

/** Variables a FROM line sees: the global scope and proxy build args. */
export function globalLookup(context: ArgContext): VariableLookup {
  return (name) => context.globals.get(name) ?? proxyValue(context, name);
}

/**
 * Declares one ARG in a stage. `expandDefault` expands the default with what
 * the stage sees now; it is called only when the default is used.
 */
export function declareArg(
  scope: ArgScope,
  declaration: ArgDeclaration,
  context: ArgContext,
  expandDefault: (word: string) => string,
): ArgScope {
  const given = buildArg(context, declaration.name);
  const value = given ??
    (declaration.value !== undefined
      ? expandDefault(declaration.value)
      : context.globals.get(declaration.name));
  const next = new Map(scope);
  next.delete(declaration.name); // a redeclaration moves to the end
  next.set(declaration.name, value);
  return next;
}

/** Splits `NAME=value` environment entries into a map (first `=` splits). */
export function envMap(env: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const entry of env) {
    const eq = entry.indexOf("=");
    map.set(eq < 0 ? entry : entry.slice(0, eq), eq < 0 ? "" : entry.slice(eq + 1));
  }
  return map;
}

/** Variables an instruction in a stage sees: ENV, then the stage's ARGs, then proxy args. */
export function stageLookup(
  env: readonly string[],
  scope: ArgScope,
  context: ArgContext,
): VariableLookup {
  const environment = envMap(env);
  return (name) => environment.get(name) ?? scope.get(name) ?? proxyValue(context, name);
}

/** The environment of a RUN step: the config's Env, ARGs not overridden by it, proxy args. */
export function runEnvironment(
  env: readonly string[],
  scope: ArgScope,
  context: ArgContext,
): string[] {
  const environment = envMap(env);
  const result = [...env];
  for (const [name, value] of scope) {
    if (value !== undefined && !environment.has(name)) result.push(`${name}=${value}`);
  }
  for (const name of PROXY_ARGS) {
    const value = proxyValue(context, name);
    if (value !== undefined && !environment.has(name) && !scope.has(name)) {
      result.push(`${name}=${value}`);
    }
  }
  return result;
}

/**
 * The ARGs a RUN step records in its history and cache key (docker's
 * `|N NAME=value` prefix): declared, with a value, not overridden by ENV,
 * sorted. Undeclared proxy args are left out.
 */
export function recordedRunArgs(env: readonly string[], scope: ArgScope): string[] {
  const environment = envMap(env);
  return [...scope]
    .filter(([name, value]) => value !== undefined && !environment.has(name))
    .map(([name, value]) => `${name}=${value}`)
    .sort();
}

/** `--build-arg` names no ARG declared (proxies excepted), sorted; docker warns about them. */
export function unusedBuildArgs(
  buildArgs: Readonly<Record<string, string>>,
  declared: ReadonlySet<string>,
): string[] {
  return Object.keys(buildArgs).filter((name) => !declared.has(name) && !PROXY_ARGS.includes(name))
    .sort();
}

/**
 * The security choices of `run`/`create` that are not capabilities:
 * `--security-opt` (seccomp, no-new-privileges), `--userns`, and what
 * `--privileged` turns off. Pure: parsing and
 * planning only; `src/ops/create.ts` reads profile files, stage two and
 * the exec stage install what {@link planContainerSeccomp} compiles.
 *
 * Docker's spellings are accepted (`seccomp=FILE` and `seccomp:FILE`,
 * `no-new-privileges`, `no-new-privileges=false`, `no-new-privileges:true`);
 * one difference is deliberate: no_new_privs is ON by default here (docker's
 * default is off), so `--security-opt no-new-privileges=false` is the way to
 * let setuid binaries gain privileges.
 *
 * References: docker-run(1) "--security-opt", "--privileged"; seccomp(2);
 * prctl(2) PR_SET_NO_NEW_PRIVS.
 */
import { TsnspawnError } from "../errors.ts";
import { parseSeccompOption, parseSeccompProfile, type SeccompOption } from "./seccomp_profile.ts";
import { DOCKER_DEFAULT_PROFILE } from "./seccomp_profile.ts";
import { planSeccompProgram } from "./seccomp_bpf.ts";

/** What `--security-opt` values asked for; absent members = the default. */
export interface SecurityOptions {
  /** seccomp=...; undefined = docker's default profile. */
  seccomp?: SeccompOption;
  /** no-new-privileges[=BOOL]; undefined = on (tsnspawn's default). */
  noNewPrivileges?: boolean;
}

/**
 * The seccomp filter a container gets, as stored in config.json. A custom
 * profile is stored in full (docker JSON text, as formatted by
 * `formatSeccompProfile`): the file may change or vanish after `create`, and
 * the container must keep the filter it was validated with.
 */
export type SeccompSetting =
  | { kind: "default" }
  | { kind: "unconfined" }
  | { kind: "profile"; source: string; profile: string };

/** `--userns` modes. */
export type UsernsMode = "host";

function boolWord(text: string, option: string): boolean {
  if (text === "true" || text === "1") return true;
  if (text === "false" || text === "0") return false;
  throw new TsnspawnError(
    "invalid",
    `security option ${option}: expected true or false, not ${JSON.stringify(text)}`,
    {
      hint: "e.g. --security-opt no-new-privileges=false",
    },
  );
}

/**
 * Folds `--security-opt` values (in order; later wins) into
 * {@link SecurityOptions}. `apparmor=unconfined` and `label=disable` are
 * accepted as no-ops (tsnspawn applies no LSM profile, so both already hold);
 * any other apparmor/label value, and unknown keys, are refused rather than
 * silently ignored: a security option that does nothing must not look applied.
 */
export function parseSecurityOptions(values: readonly string[]): SecurityOptions {
  const result: SecurityOptions = {};
  for (const raw of values) {
    // docker splits on the first '=' or, for old spellings, the first ':'.
    const match = /^([a-z-]+)(?:[=:](.*))?$/s.exec(raw);
    const key = match?.[1];
    const value = match?.[2];
    if (key === "seccomp" && value !== undefined) {
      result.seccomp = parseSeccompOption(value);
    } else if (key === "no-new-privileges") {
      result.noNewPrivileges = value === undefined ? true : boolWord(value, raw);
    } else if (
      (key === "apparmor" && value === "unconfined") || (key === "label" && value === "disable")
    ) {
      // Nothing to do: no AppArmor profile or SELinux label is ever applied.
    } else {
      throw new TsnspawnError("invalid", `security option ${JSON.stringify(raw)}: not supported`, {
        hint: "supported: seccomp=unconfined, seccomp=PROFILE.json, no-new-privileges[=true|false]",
      });
    }
  }
  return result;
}

/** Parses `--userns MODE`. Only "host" exists so far (see the README on user namespaces). */
export function parseUserns(text: string): UsernsMode {
  if (text === "host" || text === "") return "host";
  throw new TsnspawnError("invalid", `--userns ${JSON.stringify(text)}: not supported yet`, {
    hint:
      "containers share the host's user namespace (--userns=host); see the README, 'User namespaces'",
  });
}

/**
 * The seccomp setting for a container, from its `--security-opt seccomp`
 * choice: `readProfile(path)` supplies a custom profile's text (the caller
 * does the I/O). `--privileged` means unconfined, as in docker. The profile
 * is parsed AND compiled here for the container's capabilities, so a bad
 * profile fails at `create` rather than when the unit starts.
 */
export function planSeccompSetting(
  option: SeccompOption | undefined,
  privileged: boolean,
  capabilities: readonly string[],
  readProfile: (path: string) => string,
  kernelVersion?: string,
): SeccompSetting {
  if (privileged || option?.kind === "unconfined") return { kind: "unconfined" };
  if (option === undefined || option.kind === "default") {
    return { kind: "default" };
  }
  const text = readProfile(option.path);
  const profile = parseSeccompProfile(text, option.path);
  planSeccompProgram(profile, { capabilities, arch: "x86_64", kernelVersion });
  return { kind: "profile", source: option.path, profile: text };
}

/**
 * Compiles the BPF program a container's processes get (stage two and
 * `exec`), or undefined for "unconfined". An absent setting (a container
 * created before seccomp existed) gets docker's default profile. Pure.
 */
export function planContainerSeccomp(
  setting: SeccompSetting | undefined,
  capabilities: readonly string[],
  kernelVersion?: string,
): Uint8Array | undefined {
  const chosen = setting ?? { kind: "default" };
  if (chosen.kind === "unconfined") return undefined;
  const profile = chosen.kind === "default"
    ? DOCKER_DEFAULT_PROFILE
    : parseSeccompProfile(chosen.profile, chosen.source);
  return planSeccompProgram(profile, { capabilities, arch: "x86_64", kernelVersion }).instructions;
}

/**
 * The Containerfile syntax tree (types only): one typed record per
 * instruction of the Dockerfile reference
 * (https://docs.docker.com/reference/dockerfile/), with its source location.
 *
 * Words that docker expands with variables (the "Environment replacement"
 * list: ADD, COPY, ENV, EXPOSE, FROM, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR,
 * ARG values, RUN --mount values) are kept as written, quotes included, until
 * `resolveInstruction` (substitute_instruction.ts) replaces them with their
 * final values and sets `resolved`. RUN, CMD, ENTRYPOINT, SHELL and
 * HEALTHCHECK commands are never expanded by the builder (the shell does it),
 * so they are final from the start.
 */

/** Where an instruction came from: file name and 1-based line range. */
export interface SourceLocation {
  file: string;
  line: number;
  endLine: number;
}

/** A command in exec form (JSON array) or shell form (one string for the shell). */
export type CommandLine =
  | { form: "exec"; args: string[] }
  | { form: "shell"; script: string };

/** A here-document of RUN, COPY or ADD. */
export interface Heredoc {
  /** The delimiter, quotes removed. */
  name: string;
  /** The body as written, with line endings; `<<-` tab stripping not applied. */
  content: string;
  /**
   * The delimiter was unquoted: COPY/ADD expand variables in the body. A
   * resolved instruction has expanded it already and says false.
   */
  expand: boolean;
  /** `<<-`: leading tabs are removed from each body line. */
  chomp: boolean;
  /** `3<<EOF`: the file descriptor, if given. */
  fd?: number;
}

/** Fields every instruction has. */
interface Common {
  location: SourceLocation;
  /** The logical source line (continuations joined, here-document bodies excluded). */
  text: string;
  /** True once `resolveInstruction` replaced variables with values. */
  resolved: boolean;
}

/** `FROM [--platform=P] image [AS name]`. */
export interface FromInstruction extends Common {
  kind: "FROM";
  image: string;
  /** The stage name as written (compared case-insensitively). */
  stage?: string;
  platform?: string;
}

/** `RUN [--mount=...] [--network=...] [--security=...] command`. */
export interface RunInstruction extends Common {
  kind: "RUN";
  command: CommandLine;
  heredocs: Heredoc[];
  mounts: RunMount[];
  network?: "default" | "none" | "host";
}

/** One `RUN --mount=` (types bind, cache and tmpfs; see run_mount.ts). */
export interface RunMount {
  type: "bind" | "cache" | "tmpfs";
  target: string;
  /** bind/cache: path in the source (default its root). */
  source?: string;
  /** bind/cache: a stage name or index, or an image. */
  from?: string;
  readOnly: boolean;
  /** cache: the cache id (default: the target). */
  id?: string;
  /** cache: how concurrent builds share it. */
  sharing?: "shared" | "private" | "locked";
  /** cache: mode, uid, gid of a new cache directory. */
  mode?: number;
  uid?: number;
  gid?: number;
  /** tmpfs: size limit in bytes. */
  size?: number;
}

/** A COPY/ADD source: a path (glob) or an inline here-document file. */
export type CopySource =
  | { kind: "path"; path: string }
  | { kind: "heredoc"; heredoc: Heredoc };

/** Fields COPY and ADD share. */
interface CopyCommon extends Common {
  sources: CopySource[];
  dest: string;
  /** Written as a JSON array. */
  json: boolean;
  chown?: string;
  chmod?: string;
  link: boolean;
  exclude: string[];
}

/** `COPY [--from=..] [--chown=..] [--chmod=..] [--link] [--parents] [--exclude=..] src... dest`. */
export interface CopyInstruction extends CopyCommon {
  kind: "COPY";
  from?: string;
  parents: boolean;
}

/** `ADD [--checksum=..] [--unpack=..] [--keep-git-dir=..] ...` as COPY, plus URLs and archives. */
export interface AddInstruction extends CopyCommon {
  kind: "ADD";
  checksum?: string;
  unpack?: boolean;
  keepGitDir?: boolean;
}

/** A `key=value` of ENV or LABEL. */
export interface KeyValue {
  key: string;
  value: string;
}

/** `ENV k=v ...` (or the legacy `ENV k v`). */
export interface EnvInstruction extends Common {
  kind: "ENV";
  pairs: KeyValue[];
  /** Written as `ENV key value`. */
  legacy: boolean;
}

/** `LABEL k=v ...` (or the legacy `LABEL k v`). */
export interface LabelInstruction extends Common {
  kind: "LABEL";
  pairs: KeyValue[];
  legacy: boolean;
}

/** One `name[=default]` of ARG. */
export interface ArgDeclaration {
  name: string;
  /** The default as written; absent for `ARG name`. */
  value?: string;
}

/** `ARG name[=default] ...`. */
export interface ArgInstruction extends Common {
  kind: "ARG";
  args: ArgDeclaration[];
}

/** `WORKDIR path`. */
export interface WorkdirInstruction extends Common {
  kind: "WORKDIR";
  path: string;
}

/** `USER user[:group]`. */
export interface UserInstruction extends Common {
  kind: "USER";
  user: string;
}

/** `CMD`. */
export interface CmdInstruction extends Common {
  kind: "CMD";
  command: CommandLine;
}

/** `ENTRYPOINT` (`ENTRYPOINT []` clears it). */
export interface EntrypointInstruction extends Common {
  kind: "ENTRYPOINT";
  command: CommandLine;
}

/** `EXPOSE port[/proto] ...`; once resolved, normalised to `80/tcp`. */
export interface ExposeInstruction extends Common {
  kind: "EXPOSE";
  ports: string[];
}

/** `VOLUME path ...` or `VOLUME ["path", ...]`. */
export interface VolumeInstruction extends Common {
  kind: "VOLUME";
  paths: string[];
  json: boolean;
}

/** `STOPSIGNAL signal`. */
export interface StopSignalInstruction extends Common {
  kind: "STOPSIGNAL";
  signal: string;
}

/** The options and command of `HEALTHCHECK CMD`; durations in nanoseconds, 0 = default. */
export interface HealthcheckCommand {
  command: CommandLine;
  interval: number;
  timeout: number;
  startPeriod: number;
  startInterval: number;
  /** 0 = default (3). */
  retries: number;
}

/** `HEALTHCHECK NONE` or `HEALTHCHECK [options] CMD command`. */
export interface HealthcheckInstruction extends Common {
  kind: "HEALTHCHECK";
  check: "NONE" | HealthcheckCommand;
}

/** `ONBUILD instruction`: stored in the image, run by builds that use it as base. */
export interface OnbuildInstruction extends Common {
  kind: "ONBUILD";
  trigger: Instruction;
  /** The trigger as docker stores it in the config's OnBuild list. */
  expression: string;
}

/** `SHELL ["executable", "param"...]`. */
export interface ShellInstruction extends Common {
  kind: "SHELL";
  shell: string[];
}

/** `MAINTAINER name` (deprecated; sets the image author, as docker and buildah). */
export interface MaintainerInstruction extends Common {
  kind: "MAINTAINER";
  maintainer: string;
}

/** Any instruction. */
export type Instruction =
  | FromInstruction
  | RunInstruction
  | CopyInstruction
  | AddInstruction
  | EnvInstruction
  | LabelInstruction
  | ArgInstruction
  | WorkdirInstruction
  | UserInstruction
  | CmdInstruction
  | EntrypointInstruction
  | ExposeInstruction
  | VolumeInstruction
  | StopSignalInstruction
  | HealthcheckInstruction
  | OnbuildInstruction
  | ShellInstruction
  | MaintainerInstruction;

/** The keyword of an instruction. */
export type InstructionKind = Instruction["kind"];

/** Every keyword, in the order of the Dockerfile reference's index. */
export const INSTRUCTION_KINDS: readonly InstructionKind[] = [
  "ADD",
  "ARG",
  "CMD",
  "COPY",
  "ENTRYPOINT",
  "ENV",
  "EXPOSE",
  "FROM",
  "HEALTHCHECK",
  "LABEL",
  "MAINTAINER",
  "ONBUILD",
  "RUN",
  "SHELL",
  "STOPSIGNAL",
  "USER",
  "VOLUME",
  "WORKDIR",
];

/** Instructions whose step adds a filesystem layer; the others only change the config. */
export function addsLayer(instruction: Instruction): boolean {
  return instruction.kind === "RUN" || instruction.kind === "COPY" || instruction.kind === "ADD";
}

/** A here-document body as the builder uses it: leading tabs removed for `<<-`. */
export function heredocBody(heredoc: Heredoc): string {
  return heredoc.chomp ? heredoc.content.replace(/^\t+/gmu, "") : heredoc.content;
}

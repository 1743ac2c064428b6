/**
 * The command line → typed command objects, and the help text.
 *
 * One table ({@link COMMANDS}) declares every command with its usage line,
 * summary, positional arguments and options (each with a one-line
 * description); the parser and `helpText` both read it. Parsing follows
 * docker's CLI (spf13/pflag) conventions: `--name x` and `--name=x`, combined
 * short flags (`-it`, `-e K=V`, `-eK=V`), repeatable list options (`-e`, `-v`,
 * `--cap-add`), `--flag=false` for booleans, `--` ends options, and for
 * `run`/`create`/`exec` options stop at the first positional so
 * `run busybox ls -l` passes `-l` to `ls`. Other commands accept options
 * anywhere, like docker.
 *
 * Values are syntactically validated here with `src/container/run_options.ts` (memory in
 * bytes, volumes, signals, names...); anything that needs the file system or
 * the image (env files, user names, the rootfs path) stays a raw string.
 */
import { TsnspawnError } from "../errors.ts";
import { parseSubnet } from "../network/ipv4.ts";
import { validateNetworkName } from "../network/network_config.ts";
import { BRIDGE_MAX_PORTS, DEFAULT_SEGMENT_PORTS } from "../network/address_pool.ts";
import {
  type EnvLookup,
  parseEnvAssignment,
  parseNetwork,
  parseNetworkAlias,
  parseSignal,
  parseStopTimeout,
  parseUser,
  parseWorkingDir,
  signalName,
  type UserSpec,
  validateContainerName,
} from "../container/run_options.ts";
import type { ContainerOptions, PullPolicy } from "../container/options.ts";

export type { PullPolicy };

import {
  flag,
  list,
  nonEmpty,
  optionalValue,
  OptionReader,
  type OptionSpec,
  splitArgs,
  usage,
  value,
} from "../argv.ts";
import { buildContainerOptions, CONTAINER_OPTIONS } from "../container/run_args.ts";
import { parseDetachKeys } from "../container/detach_keys.ts";
import { parseKeyValues } from "../labels.ts";
import { validateVolumeName, validateVolumeOptions } from "../volume/config.ts";

// ---------------------------------------------------------------------------
// Command types

/** Options every command has. */
export interface GlobalOptions {
  /** --debug: show stacks and debug output. */
  debug: boolean;
}

/** The options of `run` and `create` on the command line (container/options.ts) and --debug. */
export interface RunOptions extends GlobalOptions, ContainerOptions {}

/** The options of `exec`: what to run in a running container, and as whom. */
export interface ExecOptions {
  name: string;
  command: string[];
  interactive: boolean;
  tty: boolean;
  user?: UserSpec;
  env: string[];
  workdir?: string;
}

/** The options of `build` (src/build/build_image.ts takes them as a BuildRequest). */
export interface BuildOptions {
  /** CONTEXT: a directory, or "-" (the Containerfile on stdin, no context). */
  context: string;
  /** -f: the Containerfile ("-": stdin). */
  file?: string;
  tags: string[];
  buildArgs: Record<string, string>;
  target?: string;
  noCache: boolean;
  pull: PullPolicy;
  /** bridge, none, host, or a network's name. */
  network: string;
  labels: Record<string, string>;
  quiet: boolean;
  iidfile?: string;
  /** --timestamp, else SOURCE_DATE_EPOCH: seconds since the epoch. */
  timestamp?: number;
}

/** Every command the CLI understands. */
export type Command =
  | ({ kind: "run" } & RunOptions)
  | ({ kind: "create" } & RunOptions)
  | {
    kind: "start";
    debug: boolean;
    names: string[];
    attach: boolean;
    interactive: boolean;
    detachKeys?: string;
  }
  | ({ kind: "boot" } & RunOptions)
  | { kind: "attach"; debug: boolean; name: string; detachKeys?: string; noStdin: boolean }
  | { kind: "poweroff"; debug: boolean; names: string[] }
  | { kind: "reboot"; debug: boolean; names: string[] }
  | { kind: "stop"; debug: boolean; names: string[]; timeoutSec?: number }
  | { kind: "restart"; debug: boolean; names: string[]; timeoutSec?: number }
  | { kind: "kill"; debug: boolean; names: string[]; signal: string }
  | { kind: "rm"; debug: boolean; names: string[]; force: boolean; volumes: boolean }
  | {
    kind: "list";
    debug: boolean;
    all: boolean;
    quiet: boolean;
    json: boolean;
    /** --filter label=KEY[=VALUE] (all must match), name=TEXT (any). */
    filters: { label: string[]; name: string[] };
  }
  | { kind: "status"; debug: boolean; name: string; json: boolean }
  | { kind: "inspect"; debug: boolean; names: string[] }
  | { kind: "logs"; debug: boolean; name: string; follow: boolean; tail?: number; since?: string }
  | ({ kind: "exec"; debug: boolean } & ExecOptions)
  | { kind: "shell"; debug: boolean; name: string }
  | { kind: "import"; debug: boolean; tarball: string; reference: string }
  | { kind: "images"; debug: boolean; quiet: boolean; json: boolean }
  | { kind: "rmi"; debug: boolean; references: string[]; force: boolean }
  | {
    kind: "pull";
    debug: boolean;
    reference: string;
    quiet: boolean;
    platform?: string;
    insecure: boolean;
    /** --policy missing: only when the image is not stored (default always). */
    missingOnly: boolean;
  }
  | {
    kind: "push";
    debug: boolean;
    reference: string;
    destination?: string;
    quiet: boolean;
    insecure: boolean;
  }
  | {
    kind: "login";
    debug: boolean;
    registry: string;
    username?: string;
    password?: string;
    passwordStdin: boolean;
    insecure: boolean;
  }
  | { kind: "logout"; debug: boolean; registry: string }
  | { kind: "tag"; debug: boolean; source: string; target: string }
  | { kind: "image inspect"; debug: boolean; references: string[] }
  | { kind: "image prune"; debug: boolean }
  | {
    kind: "network create";
    debug: boolean;
    name: string;
    subnet?: string;
    segmentPorts: number;
    labels: Record<string, string>;
    /** --ignore: an existing network of that name is not an error. */
    ignore: boolean;
  }
  | {
    kind: "network connect";
    debug: boolean;
    network: string;
    container: string;
    aliases: string[];
  }
  | { kind: "network disconnect"; debug: boolean; network: string; container: string }
  | { kind: "rename"; debug: boolean; container: string; newName: string }
  | { kind: "network ls"; debug: boolean; quiet: boolean; json: boolean }
  | { kind: "network inspect"; debug: boolean; names: string[] }
  | { kind: "network rm"; debug: boolean; names: string[] }
  | {
    kind: "volume create";
    debug: boolean;
    name?: string;
    labels: Record<string, string>;
    options: Record<string, string>;
    ignore: boolean;
  }
  | {
    kind: "volume ls";
    debug: boolean;
    quiet: boolean;
    json: boolean;
    filters: { label?: string[]; name?: string[]; dangling?: boolean };
  }
  | { kind: "volume inspect"; debug: boolean; names: string[] }
  | { kind: "volume rm"; debug: boolean; names: string[]; force: boolean }
  | { kind: "volume prune"; debug: boolean; all: boolean; label: string[] }
  | { kind: "healthcheck run"; debug: boolean; name: string }
  | { kind: "auto-update"; debug: boolean; dryRun: boolean; rollback: boolean; json: boolean }
  | {
    kind: "commit";
    debug: boolean;
    container: string;
    reference: string;
    message?: string;
    author?: string;
    changes?: string[];
  }
  | ({ kind: "build"; debug: boolean } & BuildOptions)
  | { kind: "diff"; debug: boolean; container: string }
  | { kind: "save"; debug: boolean; references: string[]; output: string }
  | { kind: "load"; debug: boolean; input: string }
  | { kind: "export"; debug: boolean; container: string; output: string }
  // Declared containers (/etc/tsnspawn/<name>.container, src/systemd/container_unit.ts).
  | { kind: "enable"; debug: boolean; names: string[]; now: boolean }
  | { kind: "disable"; debug: boolean; names: string[]; now: boolean }
  | { kind: "cat"; debug: boolean; name: string }
  | { kind: "validate"; debug: boolean; files: string[] }
  | { kind: "version"; debug: boolean; json: boolean }
  | { kind: "check"; debug: boolean; dryRun: boolean; json: boolean }
  | { kind: "api"; debug: boolean; socket?: string; idleExitSec: number }
  | { kind: "help"; debug: boolean; topic?: string };

/** The `kind` of a {@link Command}. */
export type CommandKind = Command["kind"];

// ---------------------------------------------------------------------------
// The table

/** One command of the CLI. */
export interface CommandSpec {
  name: CommandKind;
  aliases?: string[];
  /** Arguments after `tsnspawn <name>` as shown in the usage line. */
  usage: string;
  /** One line for the command list. */
  summary: string;
  options: OptionSpec[];
  /** Fewest and most positional arguments. */
  positionals: [min: number, max: number];
  /** Options end at the first positional (run, create, exec). */
  stopAtFirstPositional?: boolean;
}

/** Options every command accepts. */
const GLOBAL_OPTIONS: OptionSpec[] = [
  flag("debug", undefined, "show debug output and error stacks"),
  flag("help", "h", "show help for the command"),
];

/** `--tls-verify=false` of the registry commands. */
const TLS_VERIFY = flag(
  "tls-verify",
  undefined,
  "require HTTPS (=false allows plain HTTP to the registry)",
);

/** Every command: the one table behind parsing and help. */
export const COMMANDS: readonly CommandSpec[] = [
  {
    name: "run",
    usage: "[OPTIONS] IMAGE [COMMAND] [ARG...]",
    summary: "create and start a container",
    options: [
      flag("detach", "d", "run in the background and print the name"),
      ...CONTAINER_OPTIONS,
    ],
    positionals: [0, Infinity],
    stopAtFirstPositional: true,
  },
  {
    name: "boot",
    usage: "[OPTIONS] IMAGE [ARG...]",
    summary: "boot an OS image's init (systemd) as a container: run --boot",
    options: [
      flag("detach", "d", "boot in the background and print the id once booted"),
      ...CONTAINER_OPTIONS,
    ],
    positionals: [0, Infinity],
    stopAtFirstPositional: true,
  },
  {
    name: "create",
    usage: "[OPTIONS] IMAGE [COMMAND] [ARG...]",
    summary: "create a container without starting it",
    options: CONTAINER_OPTIONS,
    positionals: [0, Infinity],
    stopAtFirstPositional: true,
  },
  {
    name: "start",
    usage: "[OPTIONS] CONTAINER...",
    summary: "start stopped containers",
    options: [
      flag("attach", "a", "attach to the output (and the terminal of a -t container)"),
      flag("interactive", "i", "attach stdin (implies -a)"),
      value("detach-keys", undefined, "KEYS", "keys that detach from the terminal (ctrl-p,ctrl-q)"),
    ],
    positionals: [1, Infinity],
  },
  {
    name: "attach",
    usage: "[OPTIONS] CONTAINER",
    summary: "attach to a running container's terminal, or follow its output",
    options: [
      value("detach-keys", undefined, "KEYS", "keys that detach from the terminal (ctrl-p,ctrl-q)"),
      flag("no-stdin", undefined, "do not send input"),
    ],
    positionals: [1, 1],
  },
  {
    name: "poweroff",
    usage: "CONTAINER...",
    summary: "shut an OS container down cleanly (SIGRTMIN+4 to its init, as machinectl)",
    options: [],
    positionals: [1, Infinity],
  },
  {
    name: "reboot",
    usage: "CONTAINER...",
    summary: "reboot containers (SIGINT to an OS container's init, as machinectl; else restart)",
    options: [],
    positionals: [1, Infinity],
  },
  {
    name: "stop",
    usage: "[OPTIONS] CONTAINER...",
    summary: "stop running containers",
    options: [value("time", "t", "SECONDS", "seconds to wait before SIGKILL")],
    positionals: [1, Infinity],
  },
  {
    name: "restart",
    usage: "[OPTIONS] CONTAINER...",
    summary: "restart containers",
    options: [value("time", "t", "SECONDS", "seconds to wait before SIGKILL")],
    positionals: [1, Infinity],
  },
  {
    name: "kill",
    usage: "[OPTIONS] CONTAINER...",
    summary: "send a signal to running containers",
    options: [value("signal", "s", "SIGNAL", "signal to send (default SIGKILL)")],
    positionals: [1, Infinity],
  },
  {
    name: "rm",
    usage: "[OPTIONS] CONTAINER...",
    summary: "remove containers",
    options: [
      flag("force", "f", "stop running containers first"),
      flag("volumes", "v", "also remove their anonymous volumes"),
    ],
    positionals: [1, Infinity],
  },
  {
    name: "list",
    aliases: ["ps", "ls"],
    usage: "[OPTIONS]",
    summary: "list containers",
    options: [
      flag("all", "a", "include stopped containers"),
      flag("quiet", "q", "print names only"),
      flag("json", undefined, "print JSON"),
      list("filter", "f", "KEY=VALUE", "only containers matching: label=KEY[=VALUE], name=TEXT"),
    ],
    positionals: [0, 0],
  },
  {
    name: "status",
    usage: "[OPTIONS] CONTAINER",
    summary: "show the state of a container",
    options: [flag("json", undefined, "print JSON")],
    positionals: [1, 1],
  },
  {
    name: "inspect",
    usage: "[OPTIONS] CONTAINER...",
    summary: "print the configuration and state of containers as JSON",
    options: [flag("json", undefined, "print JSON (the default)")],
    positionals: [1, Infinity],
  },
  {
    name: "logs",
    usage: "[OPTIONS] CONTAINER",
    summary: "show the output of a container",
    options: [
      flag("follow", "f", "keep printing new output"),
      value("tail", "n", "N", "show only the last N lines (or all)"),
      value("since", undefined, "TIME", "show output since TIME (journalctl --since syntax)"),
    ],
    positionals: [1, 1],
  },
  {
    name: "exec",
    usage: "[OPTIONS] CONTAINER COMMAND [ARG...]",
    summary: "run a command in a running container",
    options: [
      flag("interactive", "i", "keep stdin open"),
      flag("tty", "t", "allocate a terminal"),
      value("user", "u", "USER[:GROUP]", "user and group to run as"),
      list("env", "e", "KEY[=VALUE]", "set an environment variable"),
      value("workdir", "w", "DIR", "working directory in the container"),
    ],
    positionals: [2, Infinity],
    stopAtFirstPositional: true,
  },
  {
    name: "shell",
    usage: "CONTAINER",
    summary: "open an interactive shell in a running container",
    options: [],
    positionals: [1, 1],
  },
  {
    name: "import",
    usage: "TARBALL NAME[:TAG]",
    summary: "import a root file system tarball as an image ('-' reads stdin)",
    options: [],
    positionals: [2, 2],
  },
  {
    name: "images",
    usage: "[OPTIONS]",
    summary: "list images",
    options: [flag("quiet", "q", "print references only"), flag("json", undefined, "print JSON")],
    positionals: [0, 0],
  },
  {
    name: "rmi",
    usage: "[OPTIONS] IMAGE...",
    summary: "remove images",
    options: [flag("force", "f", "remove even if containers use it")],
    positionals: [1, Infinity],
  },
  {
    name: "pull",
    aliases: ["image pull"],
    usage: "[OPTIONS] NAME[:TAG|@DIGEST]",
    summary: "pull an image from a registry",
    options: [
      flag("quiet", "q", "print only the image id"),
      value("platform", undefined, "OS/ARCH[/VARIANT]", "platform to pull (default: the host's)"),
      value("policy", undefined, "POLICY", "always (default) or missing: only when not stored"),
      TLS_VERIFY,
    ],
    positionals: [1, 1],
  },
  {
    name: "push",
    aliases: ["image push"],
    usage: "[OPTIONS] NAME[:TAG] [DESTINATION]",
    summary: "push an image to a registry",
    options: [flag("quiet", "q", "print only the manifest digest"), TLS_VERIFY],
    positionals: [1, 2],
  },
  {
    name: "login",
    usage: "[OPTIONS] REGISTRY",
    summary: "log in to a registry (credentials stored with mode 0600)",
    options: [
      value("username", "u", "USER", "user name"),
      value("password", "p", "PASSWORD", "password (prefer --password-stdin)"),
      flag("password-stdin", undefined, "read the password from stdin"),
      TLS_VERIFY,
    ],
    positionals: [1, 1],
  },
  {
    name: "logout",
    usage: "REGISTRY",
    summary: "remove the stored credentials of a registry",
    options: [],
    positionals: [1, 1],
  },
  {
    name: "tag",
    aliases: ["image tag"],
    usage: "SOURCE TARGET",
    summary: "give an image another name",
    options: [],
    positionals: [2, 2],
  },
  {
    name: "image inspect",
    usage: "IMAGE...",
    summary: "print the manifest and configuration of images as JSON",
    options: [],
    positionals: [1, Infinity],
  },
  {
    name: "image prune",
    usage: "",
    summary: "remove layers and untagged images no image or container needs",
    options: [],
    positionals: [0, 0],
  },
  {
    name: "network create",
    usage: "[OPTIONS] NETWORK",
    summary: "create a bridge network (containers on it reach each other by name)",
    options: [
      value(
        "subnet",
        undefined,
        "CIDR",
        "IPv4 subnet, e.g. 10.90.0.0/16 (default: a free /16 from 10.89.0.0/16)",
      ),
      value(
        "bridge-ports",
        undefined,
        "N",
        `containers per bridge before another bridge segment is joined (default ${DEFAULT_SEGMENT_PORTS})`,
      ),
      list("label", undefined, "KEY=VALUE", "set a label on the network"),
      flag("ignore", undefined, "an existing network of that name is not an error"),
    ],
    positionals: [1, 1],
  },
  {
    name: "network ls",
    aliases: ["network list"],
    usage: "[OPTIONS]",
    summary: "list networks",
    options: [flag("quiet", "q", "print names only"), flag("json", undefined, "print JSON")],
    positionals: [0, 0],
  },
  {
    name: "network inspect",
    usage: "NETWORK...",
    summary: "print networks with their containers, addresses and published ports as JSON",
    options: [],
    positionals: [1, Infinity],
  },
  {
    name: "network connect",
    usage: "[OPTIONS] NETWORK CONTAINER",
    summary: "put a stopped container on a network (a container is on one network)",
    options: [list("alias", undefined, "NAME", "another name of the container on the network")],
    positionals: [2, 2],
  },
  {
    name: "network disconnect",
    usage: "NETWORK CONTAINER",
    summary: "take a stopped container off its network (loopback only then)",
    options: [],
    positionals: [2, 2],
  },
  {
    name: "rename",
    usage: "CONTAINER NEW_NAME",
    summary: "rename a stopped container",
    options: [],
    positionals: [2, 2],
  },
  {
    name: "network rm",
    aliases: ["network remove"],
    usage: "NETWORK...",
    summary: "remove networks no container uses",
    options: [],
    positionals: [1, Infinity],
  },
  {
    name: "volume create",
    usage: "[OPTIONS] [VOLUME]",
    summary: "create a volume (a random name when none is given)",
    options: [
      list("label", "l", "KEY=VALUE", "set a label on the volume"),
      list(
        "opt",
        "o",
        "KEY=VALUE",
        "driver option: type, device, o (mount options), nocopy, uid, gid",
      ),
      value("driver", "d", "DRIVER", "volume driver: local (the only one)"),
      flag("ignore", undefined, "an existing volume of that name is not an error"),
    ],
    positionals: [0, 1],
  },
  {
    name: "volume ls",
    aliases: ["volume list"],
    usage: "[OPTIONS]",
    summary: "list volumes",
    options: [
      flag("quiet", "q", "print names only"),
      flag("json", undefined, "print JSON"),
      list("filter", "f", "KEY=VALUE", "label=KEY[=VALUE], name=TEXT, dangling=true|false"),
    ],
    positionals: [0, 0],
  },
  {
    name: "volume inspect",
    usage: "VOLUME...",
    summary: "print volumes as JSON (with the containers that use them)",
    options: [],
    positionals: [1, Infinity],
  },
  {
    name: "volume rm",
    aliases: ["volume remove"],
    usage: "[OPTIONS] VOLUME...",
    summary: "remove volumes no container uses",
    options: [flag("force", "f", "a missing volume is not an error")],
    positionals: [1, Infinity],
  },
  {
    name: "volume prune",
    usage: "[OPTIONS]",
    summary: "remove anonymous volumes no container uses (-a: all unused volumes)",
    options: [
      flag("all", "a", "also named volumes"),
      list("filter", undefined, "label=KEY[=VALUE]", "only volumes with these labels"),
      flag("force", "f", "do not ask (tsnspawn never asks)"),
    ],
    positionals: [0, 0],
  },
  {
    name: "healthcheck run",
    usage: "CONTAINER",
    summary: "run a container's health check now; exit 0 healthy, 1 not",
    options: [],
    positionals: [1, 1],
  },
  {
    name: "auto-update",
    usage: "[OPTIONS]",
    summary: "pull newer images of auto-update containers and restart them (rollback on failure)",
    options: [
      flag("dry-run", undefined, "only show which containers would be updated"),
      flag(
        "rollback",
        undefined,
        "restart on the previous image when the update fails (default true)",
      ),
      flag("json", undefined, "print JSON"),
    ],
    positionals: [0, 0],
  },
  {
    name: "commit",
    usage: "[OPTIONS] CONTAINER NAME[:TAG]",
    summary: "make an image from a container's changes",
    options: [
      value("message", "m", "TEXT", "commit message (history comment)"),
      value("author", "a", "NAME", "author of the image"),
      list(
        "change",
        "c",
        "INSTRUCTION",
        "apply a Dockerfile instruction: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER...",
      ),
    ],
    positionals: [2, 2],
  },
  {
    name: "build",
    aliases: ["image build"],
    usage: "[OPTIONS] CONTEXT|-",
    summary: "build an image from a Containerfile (or Dockerfile)",
    options: [
      list("tag", "t", "NAME[:TAG]", "tag the image"),
      value(
        "file",
        "f",
        "FILE",
        "the Containerfile (default: CONTEXT/Containerfile, else Dockerfile; - = stdin)",
      ),
      list(
        "build-arg",
        undefined,
        "NAME[=VALUE]",
        "set a build argument (NAME alone: from this environment)",
      ),
      value(
        "target",
        undefined,
        "STAGE",
        "build this stage and the ones it needs (default: the last)",
      ),
      flag("no-cache", undefined, "run every step; use no cached result"),
      optionalValue(
        "pull",
        "POLICY",
        "always",
        "pull base images: missing (default), always, never; alone: always",
      ),
      value(
        "network",
        undefined,
        "NETWORK",
        "network of RUN steps: bridge (default), none, host or a network's name",
      ),
      list("label", undefined, "KEY=VALUE", "add a label to the image"),
      flag("quiet", "q", "print only the image ID"),
      value("iidfile", undefined, "FILE", "write the image ID to FILE"),
      value(
        "timestamp",
        undefined,
        "SECONDS",
        "every time in the image is this, for reproducible images (default: $SOURCE_DATE_EPOCH)",
      ),
    ],
    positionals: [1, 1],
  },
  {
    name: "diff",
    usage: "CONTAINER",
    summary: "list the files a container added (A), changed (C) and deleted (D)",
    options: [],
    positionals: [1, 1],
  },
  {
    name: "save",
    aliases: ["image save"],
    usage: "-o FILE IMAGE...",
    summary: "write images to an OCI image layout tarball",
    options: [value("output", "o", "FILE", "the tarball to write ('-' = stdout)")],
    positionals: [1, Infinity],
  },
  {
    name: "load",
    aliases: ["image load"],
    usage: "-i FILE",
    summary: "load images from an OCI image layout tarball",
    options: [value("input", "i", "FILE", "the tarball to read ('-' = stdin)")],
    positionals: [0, 0],
  },
  {
    name: "export",
    usage: "[OPTIONS] CONTAINER",
    summary: "write a container's file system as a tar archive",
    options: [value("output", "o", "FILE", "the tarball to write (default stdout)")],
    positionals: [1, 1],
  },
  {
    name: "enable",
    usage: "[--now] CONTAINER...",
    summary: "start declared containers (/etc/tsnspawn/NAME.container) at boot",
    options: [flag("now", undefined, "also start them now")],
    positionals: [1, Infinity],
  },
  {
    name: "disable",
    usage: "[--now] CONTAINER...",
    summary: "no longer start declared containers at boot",
    options: [flag("now", undefined, "also stop them now")],
    positionals: [1, Infinity],
  },
  {
    name: "cat",
    usage: "CONTAINER|FILE",
    summary: "show a declared file (with its drop-ins) and the unit generated from it",
    options: [],
    positionals: [1, 1],
  },
  {
    name: "validate",
    usage: "[FILE|CONTAINER...]",
    summary:
      "check declared files (default: all in the search directories) and report problems by line",
    options: [],
    positionals: [0, Infinity],
  },
  {
    name: "check",
    usage: "[OPTIONS]",
    summary: "verify containers, images, units, mounts and leases; repair what is safe",
    options: [
      flag("dry-run", "n", "only report, repair nothing"),
      flag("json", undefined, "print JSON"),
    ],
    positionals: [0, 0],
  },
  {
    name: "api",
    usage: "[OPTIONS]",
    summary: "serve the Docker Engine API (what units/tsnspawn-api.service runs)",
    options: [
      value(
        "socket",
        undefined,
        "PATH",
        "unix socket to bind when systemd passed none (default /run/tsnspawn/docker.sock)",
      ),
      value(
        "idle-exit",
        undefined,
        "SECONDS",
        "exit after this long without a call in progress (default 5, 0 = never)",
      ),
    ],
    positionals: [0, 0],
  },
  {
    name: "version",
    usage: "[OPTIONS]",
    summary: "show the version",
    options: [flag("json", undefined, "print JSON")],
    positionals: [0, 0],
  },
  {
    name: "help",
    usage: "[COMMAND]",
    summary: "show help for a command",
    options: [],
    positionals: [0, 1],
  },
];

/** Finds a command by name or alias. */
export function findCommand(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name || c.aliases?.includes(name));
}

// ---------------------------------------------------------------------------
// Help

function optionLabel(o: OptionSpec): string {
  const names = `${o.short ? `-${o.short}, ` : "    "}--${o.long}`;
  if (o.kind === "optional") return `${names}[=${o.valueName}]`;
  return o.valueName ? `${names} ${o.valueName}` : names;
}

function optionLines(options: OptionSpec[]): string[] {
  const width = Math.max(...options.map((o) => optionLabel(o).length));
  return options.map((o) => {
    const repeat = o.kind === "list" ? " (repeatable)" : "";
    return `  ${optionLabel(o).padEnd(width)}  ${o.description}${repeat}`;
  });
}

/**
 * The help text: the command list without an argument, or the usage and
 * options of one command (name or alias). Unknown commands throw a usage error.
 */
export function helpText(command?: string): string {
  if (command === undefined) {
    const width = Math.max(...COMMANDS.map((c) => c.name.length));
    const lines = [
      "Usage: tsnspawn [--debug] COMMAND [OPTIONS] [ARG...]",
      "",
      "Run containers as transient systemd services.",
      "",
      "Commands:",
      ...COMMANDS.map((c) => {
        const aliases = c.aliases ? ` (also: ${c.aliases.join(", ")})` : "";
        return `  ${c.name.padEnd(width)}  ${c.summary}${aliases}`;
      }),
      "",
      "Global options:",
      ...optionLines(GLOBAL_OPTIONS),
      "",
      "Run 'tsnspawn COMMAND --help' for the options of a command.",
    ];
    return lines.join("\n") + "\n";
  }
  const spec = findCommand(command);
  if (!spec) throw unknownCommand(command);
  const lines = [`Usage: tsnspawn ${spec.name} ${spec.usage}`, "", capitalize(spec.summary) + "."];
  if (spec.aliases) lines.push("", `Aliases: ${spec.aliases.join(", ")}`);
  if (spec.options.length > 0) lines.push("", "Options:", ...optionLines(spec.options));
  lines.push("", "Global options:", ...optionLines(GLOBAL_OPTIONS));
  return lines.join("\n") + "\n";
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

// ---------------------------------------------------------------------------
// Parsing

/** What the parser needs from outside the command line. */
export interface ParseContext {
  /** The caller's environment, for `-e KEY` (default: Deno.env, or nothing without permission). */
  lookupEnv?: EnvLookup;
  /** Number of host CPUs, the upper bound of --cpus (default: navigator.hardwareConcurrency). */
  hostCpus?: number;
}

function unknownCommand(name: string): TsnspawnError {
  return usage(`unknown command ${JSON.stringify(name)}`);
}

function defaultLookupEnv(key: string): string | undefined {
  try {
    return Deno.env.get(key);
  } catch {
    return undefined; // no --allow-env: behave as if unset
  }
}

/**
 * Parses the arguments after the program name into a {@link Command}.
 * `--help`/`-h` anywhere among a command's options (or `help CMD`) gives a
 * `help` command. Throws `TsnspawnError("usage")` for command-line mistakes
 * and `TsnspawnError("invalid")` for malformed values.
 */
export function parseCommandLine(argv: readonly string[], context: ParseContext = {}): Command {
  const lookupEnv = context.lookupEnv ?? defaultLookupEnv;
  const hostCpus = context.hostCpus ?? (globalThis.navigator?.hardwareConcurrency || undefined);

  // Global options before the command.
  let debug = false;
  let i = 0;
  for (; i < argv.length && argv[i].startsWith("-"); i++) {
    const arg = argv[i];
    if (arg === "--debug") debug = true;
    else if (arg === "--help" || arg === "-h") return { kind: "help", debug };
    else if (arg === "--version" || arg === "-v") return { kind: "version", debug, json: false };
    else throw usage(`unknown option ${arg}: global options are --debug, --help and --version`);
  }
  if (i === argv.length) return { kind: "help", debug };
  // Two-word image commands: "image inspect", "image pull" (alias of pull), ...
  let commandName = argv[i];
  if (commandName === "image" && i + 1 < argv.length && !argv[i + 1].startsWith("-")) {
    commandName = `image ${argv[++i]}`;
  }
  for (const group of ["network", "volume", "healthcheck"]) {
    if (commandName === group && i + 1 < argv.length && !argv[i + 1].startsWith("-")) {
      commandName = `${group} ${argv[++i]}`;
      break;
    }
  }
  const spec = findCommand(commandName);
  if (!spec) throw unknownCommand(commandName);
  const raw = splitArgs(
    { ...spec, options: [...spec.options, ...GLOBAL_OPTIONS] },
    argv.slice(i + 1),
  );
  const o = new OptionReader(raw);
  debug = debug || o.flag("debug");
  if (o.flag("help")) return { kind: "help", debug, topic: spec.name };

  const p = raw.positionals;
  const [min, max] = spec.positionals;
  if (p.length < min) {
    throw usage(
      `missing arguments for ${spec.name}: the usage is 'tsnspawn ${spec.name} ${spec.usage}'`,
      spec.name,
    );
  }
  if (p.length > max) {
    throw usage(
      `too many arguments for ${spec.name}: ${JSON.stringify(p[max])} and after`,
      spec.name,
    );
  }
  const names = () => p.map(validateContainerName);
  const env = () => o.list("env").flatMap((e) => parseEnvAssignment(e, lookupEnv) ?? []);

  switch (spec.name) {
    case "run":
    case "create":
      return {
        kind: spec.name,
        debug,
        ...buildContainerOptions(spec.name, o, p, lookupEnv, hostCpus),
      };
    case "boot":
      return {
        kind: "boot",
        debug,
        ...buildContainerOptions("run", o, p, lookupEnv, hostCpus),
        boot: true,
      };
    case "start": {
      const detachKeys = o.parsed("detach-keys", (k) => (parseDetachKeys(k), k));
      return {
        kind: "start",
        debug,
        names: names(),
        attach: o.flag("attach") || o.flag("interactive"),
        interactive: o.flag("interactive"),
        ...(detachKeys !== undefined ? { detachKeys } : {}),
      };
    }
    case "attach": {
      const detachKeys = o.parsed("detach-keys", (k) => (parseDetachKeys(k), k));
      return {
        kind: "attach",
        debug,
        name: validateContainerName(p[0]),
        noStdin: o.flag("no-stdin"),
        ...(detachKeys !== undefined ? { detachKeys } : {}),
      };
    }
    case "poweroff":
    case "reboot":
      return { kind: spec.name, debug, names: names() };
    case "stop":
    case "restart":
      return {
        kind: spec.name,
        debug,
        names: names(),
        timeoutSec: o.parsed("time", parseStopTimeout),
      };
    case "kill":
      return {
        kind: "kill",
        debug,
        names: names(),
        signal: signalName(parseSignal(o.value("signal") ?? "SIGKILL")),
      };
    case "rm":
      return {
        kind: "rm",
        debug,
        names: names(),
        force: o.flag("force"),
        volumes: o.flag("volumes"),
      };
    case "list": {
      const filters = parseFilters(o.list("filter"), ["label", "name"], "list");
      return {
        kind: "list",
        debug,
        all: o.flag("all"),
        quiet: o.flag("quiet"),
        json: o.flag("json"),
        filters: { label: filters.label ?? [], name: filters.name ?? [] },
      };
    }
    case "status":
      return { kind: "status", debug, name: validateContainerName(p[0]), json: o.flag("json") };
    case "inspect":
      return { kind: "inspect", debug, names: names() };
    case "logs":
      return {
        kind: "logs",
        debug,
        name: validateContainerName(p[0]),
        follow: o.flag("follow"),
        tail: o.parsed("tail", parseTail),
        since: o.parsed("since", (s) => nonEmpty("--since", s, "logs")),
      };
    case "exec":
      return {
        kind: "exec",
        debug,
        name: validateContainerName(p[0]),
        command: p.slice(1),
        interactive: o.flag("interactive"),
        tty: o.flag("tty"),
        user: o.parsed("user", parseUser),
        env: env(),
        workdir: o.parsed("workdir", parseWorkingDir),
      };
    case "shell":
      return { kind: "shell", debug, name: validateContainerName(p[0]) };
    case "import":
      return {
        kind: "import",
        debug,
        tarball: nonEmpty("TARBALL", p[0], "import"),
        reference: nonEmpty("NAME[:TAG]", p[1], "import"),
      };
    case "images":
      return { kind: "images", debug, quiet: o.flag("quiet"), json: o.flag("json") };
    case "rmi":
      return {
        kind: "rmi",
        debug,
        references: p.map((r) => nonEmpty("IMAGE", r, "rmi")),
        force: o.flag("force"),
      };
    case "pull": {
      const platform = o.value("platform");
      return {
        kind: "pull",
        debug,
        reference: nonEmpty("NAME", p[0], "pull"),
        quiet: o.flag("quiet"),
        insecure: tlsVerifyOff(o),
        ...(platform !== undefined ? { platform } : {}),
        missingOnly: o.parsed("policy", (text) => {
          if (text !== "always" && text !== "missing") {
            throw usage(`pull policy ${JSON.stringify(text)}: not always or missing`, "pull");
          }
          return text === "missing";
        }) ?? false,
      };
    }
    case "push":
      return {
        kind: "push",
        debug,
        reference: nonEmpty("NAME", p[0], "push"),
        ...(p[1] !== undefined ? { destination: nonEmpty("DESTINATION", p[1], "push") } : {}),
        quiet: o.flag("quiet"),
        insecure: tlsVerifyOff(o),
      };
    case "login": {
      if (o.has("password") && o.flag("password-stdin")) {
        throw usage("conflicting options for login: --password and --password-stdin", "login");
      }
      const optional: { username?: string; password?: string } = {};
      if (o.value("username") !== undefined) optional.username = o.value("username");
      if (o.value("password") !== undefined) optional.password = o.value("password");
      return {
        kind: "login",
        debug,
        registry: nonEmpty("REGISTRY", p[0], "login"),
        ...optional,
        passwordStdin: o.flag("password-stdin"),
        insecure: tlsVerifyOff(o),
      };
    }
    case "logout":
      return { kind: "logout", debug, registry: nonEmpty("REGISTRY", p[0], "logout") };
    case "tag":
      return {
        kind: "tag",
        debug,
        source: nonEmpty("SOURCE", p[0], "tag"),
        target: nonEmpty("TARGET", p[1], "tag"),
      };
    case "image inspect":
      return {
        kind: "image inspect",
        debug,
        references: p.map((r) => nonEmpty("IMAGE", r, "image inspect")),
      };
    case "image prune":
      return { kind: "image prune", debug };
    case "network create": {
      const subnet = o.parsed("subnet", (text) => (parseSubnet(text), text));
      return {
        kind: "network create",
        debug,
        name: validateNetworkName(p[0]),
        ...(subnet !== undefined ? { subnet } : {}),
        segmentPorts: o.parsed("bridge-ports", parseBridgePorts) ?? DEFAULT_SEGMENT_PORTS,
        labels: parseKeyValues(o.list("label")),
        ignore: o.flag("ignore"),
      };
    }
    case "network connect":
      return {
        kind: "network connect",
        debug,
        network: parseNetworkArgument(p[0]),
        container: validateContainerName(p[1]),
        aliases: o.list("alias").map(parseNetworkAlias),
      };
    case "network disconnect":
      return {
        kind: "network disconnect",
        debug,
        network: parseNetworkArgument(p[0]),
        container: validateContainerName(p[1]),
      };
    case "rename":
      return {
        kind: "rename",
        debug,
        container: validateContainerName(p[0]),
        newName: validateContainerName(p[1]),
      };
    case "network ls":
      return { kind: "network ls", debug, quiet: o.flag("quiet"), json: o.flag("json") };
    case "network inspect":
      return { kind: "network inspect", debug, names: p.map(parseNetworkArgument) };
    case "network rm":
      return { kind: "network rm", debug, names: p.map(parseNetworkArgument) };
    case "diff":
      return { kind: "diff", debug, container: validateContainerName(p[0]) };
    case "volume create": {
      const driver = o.value("driver");
      if (driver !== undefined && driver !== "local") {
        throw new TsnspawnError(
          "invalid",
          `volume driver ${JSON.stringify(driver)}: not supported`,
          {
            hint: "tsnspawn has the local driver only (directories, tmpfs, bind and device mounts)",
          },
        );
      }
      return {
        kind: "volume create",
        debug,
        ...(p[0] !== undefined ? { name: validateVolumeName(p[0]) } : {}),
        labels: parseKeyValues(o.list("label")),
        options: validateVolumeOptions(parseKeyValues(o.list("opt"), "option")),
        ignore: o.flag("ignore"),
      };
    }
    case "volume ls": {
      const filters = parseFilters(o.list("filter"), ["label", "name", "dangling"], "volume ls");
      const dangling = filters.dangling?.at(-1);
      if (dangling !== undefined && !["true", "false", "1", "0"].includes(dangling)) {
        throw usage(`filter dangling=${dangling}: not true or false`, "volume ls");
      }
      return {
        kind: "volume ls",
        debug,
        quiet: o.flag("quiet"),
        json: o.flag("json"),
        filters: {
          ...(filters.label ? { label: filters.label } : {}),
          ...(filters.name ? { name: filters.name } : {}),
          ...(dangling !== undefined ? { dangling: dangling === "true" || dangling === "1" } : {}),
        },
      };
    }
    case "volume inspect":
      return { kind: "volume inspect", debug, names: p.map(validateVolumeName) };
    case "volume rm":
      return { kind: "volume rm", debug, names: p.map(validateVolumeName), force: o.flag("force") };
    case "volume prune":
      return {
        kind: "volume prune",
        debug,
        all: o.flag("all"),
        label: parseFilters(o.list("filter"), ["label"], "volume prune").label ?? [],
      };
    case "healthcheck run":
      return { kind: "healthcheck run", debug, name: validateContainerName(p[0]) };
    case "auto-update":
      return {
        kind: "auto-update",
        debug,
        dryRun: o.flag("dry-run"),
        rollback: !o.has("rollback") || o.flag("rollback"),
        json: o.flag("json"),
      };
    case "commit": {
      const optional: { message?: string; author?: string; changes?: string[] } = {};
      if (o.value("message") !== undefined) optional.message = o.value("message");
      if (o.value("author") !== undefined) optional.author = o.value("author");
      if (o.list("change").length > 0) optional.changes = o.list("change");
      return {
        kind: "commit",
        debug,
        container: validateContainerName(p[0]),
        reference: nonEmpty("NAME[:TAG]", p[1], "commit"),
        ...optional,
      };
    }
    case "build":
      return { kind: "build", debug, ...buildOptions(o, p[0], lookupEnv) };
    case "save": {
      const output = o.value("output");
      if (output === undefined) throw usage("save needs -o FILE", "save");
      return {
        kind: "save",
        debug,
        references: p.map((r) => nonEmpty("IMAGE", r, "save")),
        output: nonEmpty("FILE", output, "save"),
      };
    }
    case "load":
      return { kind: "load", debug, input: nonEmpty("FILE", o.value("input") ?? "-", "load") };
    case "export":
      return {
        kind: "export",
        debug,
        container: validateContainerName(p[0]),
        output: nonEmpty("FILE", o.value("output") ?? "-", "export"),
      };
    case "enable":
    case "disable":
      // `web@`: a template itself (its DefaultInstance=).
      return {
        kind: spec.name,
        debug,
        names: p.map((n) =>
          n.endsWith("@") ? validateContainerName(n.slice(0, -1)) + "@" : validateContainerName(n)
        ),
        now: o.flag("now"),
      };
    case "cat":
      return { kind: "cat", debug, name: parseDeclaredName(p[0]) };
    case "validate":
      return { kind: "validate", debug, files: p.map((f) => nonEmpty("FILE", f, "validate")) };
    case "check":
      return { kind: "check", debug, dryRun: o.flag("dry-run"), json: o.flag("json") };
    case "version":
      return { kind: "version", debug, json: o.flag("json") };
    case "api":
      return {
        kind: "api",
        debug,
        socket: o.parsed("socket", (s) => nonEmpty("--socket", s, "api")),
        idleExitSec: o.parsed("idle-exit", parseIdleExit) ?? 5,
      };
    case "help":
      if (p[0] !== undefined && !findCommand(p[0])) throw unknownCommand(p[0]);
      return {
        kind: "help",
        debug,
        topic: p[0] === undefined ? undefined : findCommand(p[0])!.name,
      };
  }
}

/** The options of `build`, validated. */
function buildOptions(o: OptionReader, context: string, lookupEnv: EnvLookup): BuildOptions {
  const buildArgs: Record<string, string> = {};
  for (const arg of o.list("build-arg")) {
    const eq = arg.indexOf("=");
    const name = eq < 0 ? arg : arg.slice(0, eq);
    if (name === "") throw usage(`--build-arg ${JSON.stringify(arg)}: no name`, "build");
    const value = eq < 0 ? lookupEnv(name) : arg.slice(eq + 1);
    if (value !== undefined) buildArgs[name] = value;
  }
  const labels: Record<string, string> = {};
  for (const label of o.list("label")) {
    const eq = label.indexOf("=");
    if (eq <= 0) throw usage(`--label ${JSON.stringify(label)}: expected KEY=VALUE`, "build");
    labels[label.slice(0, eq)] = label.slice(eq + 1);
  }
  // bridge (default), none, host, or a network's name: RUN steps join it.
  const network = parseNetwork(o.value("network") ?? "bridge");
  const pull = o.value("pull") ?? "missing";
  if (pull !== "missing" && pull !== "always" && pull !== "never") {
    throw new TsnspawnError(
      "invalid",
      `pull policy ${JSON.stringify(pull)}: not missing, always or never`,
      {
        hint: "e.g. --pull=never",
      },
    );
  }
  const timestampText = o.value("timestamp") ?? lookupEnv("SOURCE_DATE_EPOCH");
  let timestamp: number | undefined;
  if (timestampText !== undefined && timestampText !== "") {
    if (!/^\d{1,12}$/.test(timestampText)) {
      throw new TsnspawnError(
        "invalid",
        `timestamp ${JSON.stringify(timestampText)}: not a number of seconds`,
        {
          hint:
            "give seconds since 1970-01-01 UTC, e.g. --timestamp 0 or $(git log -1 --format=%ct)",
        },
      );
    }
    timestamp = Number(timestampText);
  }
  const options: BuildOptions = {
    context: nonEmpty("CONTEXT", context, "build"),
    tags: o.list("tag").map((t) => nonEmpty("--tag", t, "build")),
    buildArgs,
    noCache: o.flag("no-cache"),
    pull,
    network,
    labels,
    quiet: o.flag("quiet"),
  };
  const file = o.value("file");
  if (file !== undefined) options.file = nonEmpty("--file", file, "build");
  const target = o.value("target");
  if (target !== undefined) options.target = nonEmpty("--target", target, "build");
  const iidfile = o.value("iidfile");
  if (iidfile !== undefined) options.iidfile = nonEmpty("--iidfile", iidfile, "build");
  if (timestamp !== undefined) options.timestamp = timestamp;
  return options;
}

/** `cat NAME`: a container's name, or a declared file's name (app.network). */
function parseDeclaredName(text: string): string {
  const kind = /^(.+)\.(container|network|volume|image|build)$/.exec(text);
  if (kind) {
    validateContainerName(kind[1].replace(/@$/, "@x"));
    return text;
  }
  return validateContainerName(text);
}

/** `--filter KEY=VALUE` words, by key; keys outside `allowed` are a usage error. */
function parseFilters(
  words: readonly string[],
  allowed: readonly string[],
  command: string,
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const word of words) {
    const eq = word.indexOf("=");
    const key = eq === -1 ? word : word.slice(0, eq);
    if (eq === -1 || !allowed.includes(key)) {
      throw usage(
        `filter ${JSON.stringify(word)} for ${command}: the filters are ${
          allowed.map((k) => `${k}=…`).join(", ")
        }`,
        command,
      );
    }
    (out[key] ??= []).push(word.slice(eq + 1));
  }
  return out;
}

/** `api --idle-exit`: whole seconds, 0 = never. */
function parseIdleExit(text: string): number {
  if (!/^\d{1,9}$/.test(text.trim())) {
    throw usage(`--idle-exit ${JSON.stringify(text)}: not a whole number of seconds`, "api");
  }
  return Number(text.trim());
}

/** `--tls-verify=false` given: plain HTTP allowed. */
function tlsVerifyOff(o: OptionReader): boolean {
  return o.has("tls-verify") && !o.flag("tls-verify");
}

/** `network create --bridge-ports`: container ports per bridge segment. */
function parseBridgePorts(text: string): number {
  if (!/^\d{1,4}$/.test(text) || Number(text) < 1 || Number(text) > BRIDGE_MAX_PORTS - 1) {
    throw new TsnspawnError(
      "invalid",
      `bridge ports ${JSON.stringify(text)}: not a number from 1 to ${BRIDGE_MAX_PORTS - 1}`,
      {
        hint:
          `a Linux bridge holds at most ${BRIDGE_MAX_PORTS} ports; the default is ${DEFAULT_SEGMENT_PORTS}`,
      },
    );
  }
  return Number(text);
}

/** A network named on the command line: the default "bridge" or a valid name. */
function parseNetworkArgument(text: string): string {
  return text === "bridge" ? text : validateNetworkName(text);
}

/** `logs -n`: a whole number of lines, or `all`. */
function parseTail(text: string): number | undefined {
  if (text === "all") return undefined;
  if (!/^\d{1,9}$/.test(text)) {
    throw new TsnspawnError(
      "invalid",
      `tail ${JSON.stringify(text)}: not a whole number of lines`,
      {
        hint: "give a number of lines, or all",
      },
    );
  }
  return Number(text);
}

/**
 * `--tmpfs PATH[:OPTIONS]` (docker syntax), parsed into the config's
 * TmpfsMount. Pure.
 *
 * References: docker-run(1) "--tmpfs"; tmpfs(5) (mount options).
 */
import { TsnspawnError } from "../errors.ts";
import type { MountFlag, TmpfsMount } from "./config.ts";

/** tmpfs flags `--tmpfs` understands, and what each sets or clears. */
const TMPFS_FLAG_WORDS: Record<string, { set?: MountFlag; clear?: MountFlag }> = {
  ro: { set: "ro" },
  rw: { clear: "ro" },
  nosuid: { set: "nosuid" },
  suid: { clear: "nosuid" },
  nodev: { set: "nodev" },
  dev: { clear: "nodev" },
  noexec: { set: "noexec" },
  exec: { clear: "noexec" },
  strictatime: { set: "strictatime" },
};

/** tmpfs(5) data options passed to the kernel, with the syntax of their values. */
const TMPFS_DATA_OPTIONS: Record<string, RegExp> = {
  size: /^\d+[kmgKMG%]?$/,
  nr_blocks: /^\d+[kmgKMG]?$/,
  nr_inodes: /^\d+[kmgKMG]?$/,
  mode: /^[0-7]{3,4}$/,
  uid: /^\d{1,10}$/,
  gid: /^\d{1,10}$/,
};

/** Docker's flags for a `--tmpfs` mount: noexec, nosuid, nodev (then the given options apply). */
export const TMPFS_DEFAULT_FLAGS: readonly MountFlag[] = ["nosuid", "nodev", "noexec"];

/**
 * Parses `--tmpfs PATH[:OPTIONS]` (docker syntax): an absolute path (not `/`)
 * and comma-separated flags (ro, rw, [no]suid, [no]dev, [no]exec,
 * strictatime) and tmpfs options (size=, mode=, uid=, gid=, nr_inodes=,
 * nr_blocks=). Unknown options are refused: the kernel would refuse them at
 * start time, with a less clear message.
 */
export function parseTmpfs(spec: string): TmpfsMount {
  const colon = spec.indexOf(":");
  const rawPath = colon === -1 ? spec : spec.slice(0, colon);
  const options = colon === -1 ? "" : spec.slice(colon + 1);
  if (!rawPath.startsWith("/")) {
    throw new TsnspawnError("invalid", `tmpfs ${JSON.stringify(spec)}: the path must be absolute`, {
      hint: "e.g. --tmpfs /run:size=64m",
    });
  }
  const parts = rawPath.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..") || parts.length === 0 || rawPath.includes("\0")) {
    throw new TsnspawnError("invalid", `tmpfs ${JSON.stringify(spec)}: not a usable mount point`, {
      hint: "give an absolute path below / without '..'",
    });
  }
  const flags = new Set<MountFlag>(TMPFS_DEFAULT_FLAGS);
  const data: string[] = [];
  for (const word of options.split(",").filter((w) => w !== "")) {
    const flag = TMPFS_FLAG_WORDS[word];
    if (flag) {
      if (flag.set) flags.add(flag.set);
      if (flag.clear) flags.delete(flag.clear);
      continue;
    }
    const eq = word.indexOf("=");
    const key = eq === -1 ? word : word.slice(0, eq);
    const syntax = TMPFS_DATA_OPTIONS[key];
    if (!syntax || eq === -1 || !syntax.test(word.slice(eq + 1))) {
      throw new TsnspawnError(
        "invalid",
        `tmpfs ${JSON.stringify(spec)}: bad option ${JSON.stringify(word)}`,
        {
          hint:
            "options: ro, rw, [no]suid, [no]dev, [no]exec, size=64m, mode=1777, uid=N, gid=N, nr_inodes=N",
        },
      );
    }
    data.push(word);
  }
  const order: MountFlag[] = ["ro", "nosuid", "nodev", "noexec", "strictatime"];
  return {
    destination: "/" + parts.join("/"),
    flags: order.filter((f) => flags.has(f)),
    data: data.join(","),
  };
}

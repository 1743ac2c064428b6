/**
 * The pending options of a create (create_types.ts PendingCreateOptions)
 * → more words for the CLI's `create` grammar (pure). Everything else a
 * create body asks is already a CLI word (container_create.ts and its
 * parts); what is left here needs the caller's help first: an inline
 * seccomp profile becomes `--security-opt=seccomp=FILE` once the caller
 * has written it to FILE.
 *
 * References: research notes /work/shared/research/docker-api.md §8.
 */
import type { PendingCreateOptions } from "./create_types.ts";

/**
 * The CLI words for what the pending options ask, after the mapped options
 * (`seccompFile`: where the caller wrote an inline seccomp profile).
 */
export function planPendingArgs(
  pending: PendingCreateOptions,
  seccompFile?: string,
): string[] {
  const args: string[] = [];
  if (pending.seccompProfile !== undefined) {
    if (seccompFile === undefined) throw new Error("the inline seccomp profile needs a file");
    args.push(`--security-opt=seccomp=${seccompFile}`);
  }
  return args;
}

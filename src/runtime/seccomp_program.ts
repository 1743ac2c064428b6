/**
 * The container's seccomp program, compiled off stage two's path.
 *
 * Compiling docker's profile to BPF (security/seccomp_bpf.ts) takes ~5 ms,
 * and stage two is the container's critical path, while the shim (or, for
 * an attached `run --rm`, the CLI: runtime/attached.ts) has time to spare
 * once it has built the root file system and before stage two's Deno has
 * booted. So the shim compiles it then and writes it next to the config
 * (`<container>/seccomp.bpf`, replaced at every start: the kernel version
 * it depends on may have changed since the last one), before it tells
 * stage two "ready"; stage two reads it back (stage2.ts) and loads no
 * compiler at all.
 *
 * Man pages: seccomp(2).
 */
import type { ContainerConfig } from "../container/config.ts";
import type { ContainerPaths } from "../paths.ts";
import { planContainerSeccomp } from "../security/options.ts";

/**
 * The shim (or CLI): compiles the program of `config` for this kernel and
 * writes it (temp file + rename); nothing when it runs unconfined.
 */
export function writeSeccompProgram(config: ContainerConfig, paths: ContainerPaths): void {
  const program = planContainerSeccomp(config.seccomp, config.capabilities, Deno.osRelease());
  if (!program) return;
  const temp = `${paths.seccomp}.tmp-${Deno.pid}`;
  Deno.writeFileSync(temp, program, { mode: 0o600 });
  Deno.renameSync(temp, paths.seccomp);
}

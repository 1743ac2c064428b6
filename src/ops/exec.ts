/**
 * Running a process in a running container, shared by `tsnspawn exec`
 * (src/commands/exec.ts, which adds terminals and relays) and health checks
 * (src/ops/healthcheck.ts): the request the exec stage gets
 * (src/runtime/exec_stage.ts does the entering, dropping and spawning, the
 * same way for both), and a run with its output captured.
 */
import { TsnspawnError } from "../errors.ts";
import type { ContainerConfig } from "../container/config.ts";
import { mergeEnv, type UserSpec } from "../container/run_options.ts";
import { type ExecRequest, spawnExecStage } from "../runtime/exec_stage.ts";

/** What to run, beyond what the container's config says. */
export interface ExecPlan {
  command: string[];
  /** -e on top of the container's environment. */
  env?: string[];
  userSpec?: UserSpec;
  /** With `userSpec`: HOME is that user's (the container's passwd), unless -e set it. */
  homeOfUser?: boolean;
  workdir?: string;
  loginShell?: boolean;
  /** The container's pty slave (in the container) for `exec -t`. */
  terminal?: string;
  /** TERM for `exec -t`. */
  term?: string;
  timeoutMs?: number;
}

/** The exec stage's request for `plan` in the container whose PID 1 is `pid`. */
export function planExecRequest(
  config: ContainerConfig,
  pid: number,
  unit: string,
  plan: ExecPlan,
): ExecRequest {
  return {
    pid,
    unit,
    command: plan.command,
    env: mergeEnv(config.env, plan.term ? [`TERM=${plan.term}`] : [], plan.env ?? []),
    user: config.user,
    ...(plan.userSpec ? { userSpec: plan.userSpec } : {}),
    ...(plan.homeOfUser ? { homeOfUser: true } : {}),
    ...(plan.loginShell ? { loginShell: true } : {}),
    workingDir: plan.workdir ?? config.workingDir,
    terminal: plan.terminal,
    capabilities: config.capabilities,
    noNewPrivileges: config.noNewPrivileges,
    seccomp: config.seccomp,
    ...(config.privileged ? { privileged: true } : {}),
    ...(plan.timeoutMs !== undefined ? { timeoutMs: plan.timeoutMs } : {}),
  };
}

/** What a captured run gave. */
export interface CapturedRun {
  /** The exit status (128 + N for signal N; the exec stage's own failures: 126, 127, 1). */
  code: number;
  /** stdout then stderr, as text, cut at `limit` bytes each. */
  output: string;
  /** The exec stage killed the command at its timeout. */
  timedOut: boolean;
}

/** Reads a stream to its end, keeping at most `limit` bytes. */
async function readLimited(stream: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let kept = 0;
  for await (const chunk of stream) {
    if (kept >= limit) continue; // drain, do not keep
    const part = chunk.subarray(0, limit - kept);
    chunks.push(part);
    kept += part.length;
  }
  const out = new Uint8Array(kept);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/**
 * Runs `request` with stdin closed and its output captured (at most `limit`
 * bytes per stream; docker keeps 4 KiB of a health check's). Must be called
 * from the main thread (spawnExecStage).
 */
export async function execCaptured(request: ExecRequest, limit = 4096): Promise<CapturedRun> {
  const started = Date.now();
  let child: Deno.ChildProcess;
  try {
    child = spawnExecStage(request, { stdin: "null", stdout: "piped", stderr: "piped" });
  } catch (error) {
    throw new TsnspawnError(
      "system",
      `exec: cannot start the exec stage: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const [stdout, stderr, status] = await Promise.all([
    readLimited(child.stdout, limit),
    readLimited(child.stderr, limit),
    child.status,
  ]);
  const code = status.signal ? 128 : status.code;
  const text = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
  const timedOut = request.timeoutMs !== undefined && code === 124 &&
    Date.now() - started >= request.timeoutMs;
  return { code, output: text, timedOut };
}

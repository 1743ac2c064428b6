/**
 * posix_spawn(3): starting a program from the calling thread without
 * running any of Deno's code in the child.
 *
 * The exec stage (src/runtime/exec_stage.ts) uses it for the process that
 * `tsnspawn exec` runs: the child is cloned from the main thread (glibc:
 * clone(CLONE_VM|CLONE_VFORK)), so it inherits that thread's namespaces
 * (pid_for_children included), credentials, capabilities, no_new_privs and
 * seccomp filter, and runs only glibc's own child code until its execve.
 * Deno.Command offers no session or controlling terminal for the child.
 *
 * What the child does before execve, in glibc's order: signal mask and
 * default dispositions; setsid() (POSIX_SPAWN_SETSID); the file actions in
 * the order given (open, dup2, closefrom). A session leader that opens a
 * terminal without O_NOCTTY gets it as its controlling terminal
 * (credentials(7), "Sessions"), which is how a `-t` process gets one.
 *
 * Man pages: posix_spawn(3), posix_spawn_file_actions_addopen(3),
 * posix_spawn_file_actions_addclosefrom_np(3), posix_spawnattr_setflags(3).
 */
import { checkErrnoResult, cstring, cstringArray, libc } from "./libc.ts";

/** posix_spawnattr_setflags(3) flags (glibc spawn.h). */
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
const POSIX_SPAWN_SETSID = 0x80;

/** sizeof(posix_spawnattr_t), sizeof(posix_spawn_file_actions_t), sizeof(sigset_t) on x86_64. */
const ATTR_SIZE = 336;
const FILE_ACTIONS_SIZE = 80;
const SIGSET_SIZE = 128;

const O_RDWR = 2;

/** What to start and how. */
export interface SpawnSpec {
  /** Absolute path of the program (no PATH lookup). */
  path: string;
  /** argv, argv[0] first. */
  argv: readonly string[];
  /** KEY=VALUE environment. */
  env: readonly string[];
  /**
   * A terminal (path as the child sees it): the child starts a new session
   * and opens it as fd 0 (so it becomes its controlling terminal), then 1
   * and 2 are copies of it. Without it the child keeps fds 0-2 as they are.
   */
  terminal?: string;
}

/**
 * Starts `spec.path` and returns its PID. The child gets an empty signal
 * mask and every signal's default disposition (ignored signals of ours do
 * not leak into it), and no descriptor above 2.
 */
export function spawnProcess(spec: SpawnSpec): number {
  const attr = new Uint8Array(ATTR_SIZE);
  const actions = new Uint8Array(FILE_ACTIONS_SIZE);
  const lib = libc();
  checkErrnoResult("posix_spawnattr_init", lib.posix_spawnattr_init(attr));
  checkErrnoResult("posix_spawn_file_actions_init", lib.posix_spawn_file_actions_init(actions));
  try {
    const all = new Uint8Array(SIGSET_SIZE);
    lib.sigfillset(all);
    const none = new Uint8Array(SIGSET_SIZE);
    let flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
    checkErrnoResult("posix_spawnattr_setsigdefault", lib.posix_spawnattr_setsigdefault(attr, all));
    checkErrnoResult("posix_spawnattr_setsigmask", lib.posix_spawnattr_setsigmask(attr, none));
    const terminal = spec.terminal === undefined ? null : cstring(spec.terminal);
    if (terminal) {
      flags |= POSIX_SPAWN_SETSID;
      checkErrnoResult(
        "posix_spawn_file_actions_addopen",
        lib.posix_spawn_file_actions_addopen(actions, 0, terminal, O_RDWR, 0),
        spec.terminal,
      );
      for (const fd of [1, 2]) {
        checkErrnoResult(
          "posix_spawn_file_actions_adddup2",
          lib.posix_spawn_file_actions_adddup2(actions, 0, fd),
        );
      }
    }
    checkErrnoResult(
      "posix_spawn_file_actions_addclosefrom_np",
      lib.posix_spawn_file_actions_addclosefrom_np(actions, 3),
    );
    checkErrnoResult("posix_spawnattr_setflags", lib.posix_spawnattr_setflags(attr, flags));
    const pid = new Int32Array(1);
    const argv = cstringArray(spec.argv);
    const envp = cstringArray(spec.env);
    checkErrnoResult(
      "posix_spawn",
      lib.posix_spawn(
        new Uint8Array(pid.buffer),
        cstring(spec.path),
        actions,
        attr,
        new Uint8Array(argv.pointers.buffer),
        new Uint8Array(envp.pointers.buffer),
      ),
      spec.path,
    );
    // The string buffers must outlive the call.
    void argv.buffers;
    void envp.buffers;
    void terminal;
    return pid[0];
  } finally {
    lib.posix_spawn_file_actions_destroy(actions);
    lib.posix_spawnattr_destroy(attr);
  }
}

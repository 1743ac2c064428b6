/**
 * The runtime's own binary, read-only in every process of ours that a
 * container can see.
 *
 * Stage two (PID 1 of a new container until its execve) and the child the
 * exec stage spawns into a container (until its execve) are images of the
 * host's Deno binary (or the compiled tsnspawn). A container process that
 * got hold of /proc/PID/exe of one of them could later reopen that handle
 * for writing and replace the host's binary: runc's CVE-2019-5736. They are
 * not dumpable once they drop privileges (process_security.ts), which the
 * kernel enforces; as a second, independent barrier they run the binary
 * through a read-only bind mount of it, made in a mount namespace of their
 * own: a handle reached through /proc/PID/exe then names that mount, and
 * opening it for writing fails with EROFS whoever asks.
 *
 * The bind covers Deno.execPath() at its own path, so nothing else changes
 * (argv, Deno.execPath(), a compiled binary reading itself). The mount
 * namespace is the container's new one for stage two (the shim calls
 * {@link bindRuntimeReadOnly} right after unshare) and a short-lived private
 * copy for the exec stage ({@link withReadOnlyRuntime}); neither reaches the
 * host's namespace, so nothing is left behind.
 *
 * Man pages: mount(2) (MS_BIND, MS_REMOUNT, MS_SLAVE), mount_namespaces(7),
 * proc(5) (/proc/PID/exe).
 */
import {
  mount,
  MS_BIND,
  MS_RDONLY,
  MS_REC,
  MS_REMOUNT,
  MS_SLAVE,
  preservedMountFlags,
} from "../../ffi/mount.ts";
import {
  CLONE_FS,
  CLONE_NEWNS,
  closeFd,
  openNamespace,
  setns,
  unshare,
} from "../../ffi/namespaces.ts";

/**
 * In the calling thread's own (new) mount namespace: binds the runtime's
 * binary read-only over itself. Mount events stop propagating to the host
 * first (rslave), or the bind would appear in the host's namespace too.
 */
export function bindRuntimeReadOnly(binary = Deno.execPath()): void {
  mount(null, "/", null, MS_REC | MS_SLAVE);
  mount(binary, binary, null, MS_BIND);
  mount(null, binary, null, MS_BIND | MS_REMOUNT | MS_RDONLY | preservedMountFlags(binary));
}

/**
 * Runs `spawn` (which starts a runtime process) with the calling thread in
 * a private copy of our mount namespace where the runtime's binary is
 * read-only, then returns the thread to our own namespace and working
 * directory. Main thread only (namespaces are per thread).
 */
export function withReadOnlyRuntime<T>(spawn: () => T): T {
  const cwd = Deno.cwd();
  const own = openNamespace("self", "mnt");
  try {
    // setns(mnt) and unshare(NEWNS) need an fs_struct of our own (the other
    // threads keep theirs: their root and cwd do not move).
    unshare(CLONE_FS);
    unshare(CLONE_NEWNS);
    try {
      bindRuntimeReadOnly();
      return spawn();
    } finally {
      try {
        setns(own, CLONE_NEWNS, "our own mount namespace");
        // setns(mnt) moved our cwd to the namespace's root.
        Deno.chdir(cwd);
      } catch (error) {
        console.error(`tsnspawn: cannot return to our own mount namespace: ${error}`);
        Deno.exit(1);
      }
    }
  } finally {
    closeFd(own);
  }
}

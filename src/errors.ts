/**
 * The one error type of tsnspawn.
 *
 * Every failure a user can see is a `TsnspawnError`: a stable `code`, a one-line
 * message in sentence case with the detail after a colon, and an optional hint
 * telling the user what to do. Lower layers throw, upper layers add context by
 * wrapping with `cause`. The CLI prints `error: <message>` (+ hint) on one line
 * and shows stacks only with `--debug`.
 */

/** Stable error codes; the CLI maps them to exit statuses. */
export type ErrorCode =
  | "usage" // bad command line: exit 2
  | "invalid" // a value the user gave is malformed
  | "not-found" // unknown container, image, file
  | "conflict" // name in use, container running, image in use
  | "permission" // not root
  | "systemd" // systemd/D-Bus unreachable or a unit operation failed
  | "system" // a syscall failed
  | "image" // image store or registry problem
  | "start-failed" // the container failed to start
  | "build-failed" // a build step failed (a RUN exited non-zero)
  | "interrupted"; // stopped by a signal (Ctrl-C): exit 130

/** The error every tsnspawn layer throws. */
export class TsnspawnError extends Error {
  /** Stable, machine-readable code. */
  readonly code: ErrorCode;
  /** What the user can do about it, if there is something. */
  readonly hint?: string;

  constructor(
    code: ErrorCode,
    message: string,
    options: { hint?: string; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "TsnspawnError";
    this.code = code;
    this.hint = options.hint;
  }
}

/**
 * A failed system call: names the call, the errno name, strerror text and the
 * path or object it acted on. Thrown only by `ffi/`.
 */
export class SysError extends TsnspawnError {
  /** The C function that failed, e.g. "mount". */
  readonly call: string;
  /** The errno value. */
  readonly errno: number;
  /** The errno name, e.g. "EPERM". */
  readonly errnoName: string;

  constructor(
    call: string,
    errno: number,
    errnoName: string,
    strerror: string,
    subject?: string,
    hint?: string,
  ) {
    super(
      "system",
      `${call}${subject ? ` ${subject}` : ""} failed: ${strerror} (${errnoName})`,
      { hint },
    );
    this.name = "SysError";
    this.call = call;
    this.errno = errno;
    this.errnoName = errnoName;
  }
}

/** Wraps any error as a TsnspawnError with extra context in front of its message. */
export function withContext(
  error: unknown,
  code: ErrorCode,
  context: string,
): TsnspawnError {
  const detail = error instanceof Error ? error.message : String(error);
  const hint = error instanceof TsnspawnError ? error.hint : undefined;
  return new TsnspawnError(code, `${context}: ${detail}`, {
    hint,
    cause: error,
  });
}

/**
 * An error as the runtime processes report it on stderr or the start pipe:
 * the message, then a "hint: " line when there is a hint (the CLI shows the
 * hint line as its own hint).
 */
export function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return error instanceof TsnspawnError && error.hint ? `${message}\nhint: ${error.hint}` : message;
}

/** Throws unless running as root (every container operation needs it). */
export function requireRoot(action: string): void {
  if (Deno.uid() !== 0) {
    throw new TsnspawnError("permission", `${action}: must run as root`, {
      hint: "run it with sudo",
    });
  }
}

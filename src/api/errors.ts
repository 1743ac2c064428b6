/**
 * Docker's error responses for the Engine API front end: the body
 * `{"message": "..."}` (the CLI prints "Error response from daemon: <message>"),
 * the HTTP status of every {@link TsnspawnError} code, and the errors only the
 * API has: a status of its own ({@link ApiError}), unsupported fields and
 * endpoints, swarm, "page not found", 304 Not Modified.
 *
 * Statuses follow moby's `httpstatus.FromError` (v28.2.2,
 * api/server/httpstatus/status.go): not found 404, invalid parameter 400,
 * conflict 409, forbidden 403, not modified 304, not implemented 501,
 * unavailable 503, anything else 500. Clients steer on them: a 404 to
 * `POST /containers/create` makes the docker CLI pull the image and retry, a
 * 304 to start/stop means "already so". moby writes plain text instead of
 * JSON for API versions below 1.24 (api/server/server.go).
 *
 * References: Docker Engine API v1.44 (ErrorResponse); research notes
 * /work/shared/research/docker-api.md §1.3 and §5 "Marked unsupported".
 */
import { describeError, type ErrorCode, TsnspawnError } from "../errors.ts";

/** The HTTP status for each tsnspawn error code, as moby would answer. */
export const HTTP_STATUS_BY_CODE: Readonly<Record<ErrorCode, number>> = {
  usage: 400, // a request the API cannot take as given
  invalid: 400, // a malformed value (errdefs.InvalidParameter)
  "not-found": 404, // no such container, image, network...
  conflict: 409, // name in use, container running, image in use
  permission: 403, // errdefs.Forbidden
  systemd: 500, // the supervisor failed: a server-side problem
  system: 500, // a syscall failed
  image: 500, // store or registry problem
  "start-failed": 500, // the container did not start (the CLI then exits 125..127 by message)
  "build-failed": 500, // a build step failed (POST /build streams it as errorDetail)
  interrupted: 500, // the operation was cancelled (the client left)
};

/** The error code an {@link ApiError} of a given status carries. */
function codeForStatus(status: number): ErrorCode {
  if (status === 400) return "invalid";
  if (status === 403) return "permission";
  if (status === 404) return "not-found";
  if (status === 409) return "conflict";
  return "system";
}

/** An error that has a Docker API status of its own (501, 503, 304, 413...). */
export class ApiError extends TsnspawnError {
  /** The HTTP status to answer with. */
  readonly status: number;

  constructor(status: number, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(codeForStatus(status), message, options);
    this.name = "ApiError";
    this.status = status;
  }
}

/** The HTTP status an error answers with: its own, its code's, else 500. */
export function statusForError(error: unknown): number {
  if (error instanceof ApiError) return error.status;
  if (error instanceof TsnspawnError) return HTTP_STATUS_BY_CODE[error.code] ?? 500;
  return 500;
}

/** An error response ready to write. */
export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  /** `{"message":"..."}`; plain text for API versions below 1.24; empty for 304. */
  body: string;
}

/**
 * The response for an error: Docker's JSON body with the message and, on
 * its own line, the hint (as tsnspawn's CLI shows it). `plainText` is for
 * clients below API 1.24, which moby answers in plain text.
 */
export function formatErrorResponse(
  error: unknown,
  options: { plainText?: boolean } = {},
): ErrorResponse {
  const status = statusForError(error);
  if (status === 304) return { status, headers: {}, body: "" };
  const message = error instanceof TsnspawnError
    ? describeError(error)
    : `internal error: ${error instanceof Error ? error.message : String(error)}`;
  if (options.plainText) {
    return {
      status,
      headers: { "Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff" },
      body: `${message}\n`,
    };
  }
  return {
    status,
    headers: { "Content-Type": "application/json" },
    body: `${JSON.stringify({ message })}\n`,
  };
}

/** Shows a request value in a message: JSON, cut at 80 characters. */
export function shownValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** 400: a malformed request (bad JSON, a bad query value). */
export function badRequest(message: string, hint?: string): ApiError {
  return new ApiError(400, message, { hint });
}

/**
 * 400: a request field with a value tsnspawn cannot honour. Named by its
 * path in the body (`HostConfig.Devices`), never silently ignored.
 */
export function unsupportedField(
  field: string,
  value: unknown,
  reason: string,
  hint?: string,
): ApiError {
  return new ApiError(
    400,
    `${field}=${shownValue(value)}: not supported by tsnspawn: ${reason}`,
    { hint },
  );
}

/** 501: a Docker endpoint tsnspawn does not implement. */
export function unsupportedEndpoint(method: string, path: string, reason: string): ApiError {
  return new ApiError(501, `${method} ${path}: not supported by tsnspawn: ${reason}`);
}

/** 503, as a Docker daemon outside swarm mode answers the swarm endpoints. */
export function notSwarmManager(): ApiError {
  return new ApiError(
    503,
    "This node is not a swarm manager: tsnspawn has no swarm mode",
    { hint: "services, nodes, secrets and configs need a Docker swarm" },
  );
}

/** 404 for an unknown path (or a known path with another method), moby's exact words. */
export function pageNotFound(): ApiError {
  return new ApiError(404, "page not found");
}

/** What {@link noSuch} can name. */
export type ObjectKind = "container" | "image" | "exec instance" | "network" | "volume";

/** 404 in moby's words: "No such container: web", "network x not found"... */
export function noSuch(kind: ObjectKind, name: string): ApiError {
  if (kind === "network") return new ApiError(404, `network ${name} not found`);
  if (kind === "volume") return new ApiError(404, `get ${name}: no such volume`);
  return new ApiError(404, `No such ${kind}: ${name}`);
}

/** 304: start of a running container, stop of a stopped one (success for the clients). */
export function notModified(what: string): ApiError {
  return new ApiError(304, what);
}

/** 413: a request body over the server's limit. */
export function bodyTooLarge(limitBytes: number): ApiError {
  return new ApiError(413, `request body too large: the limit is ${limitBytes} bytes`);
}

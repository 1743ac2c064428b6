/**
 * EXPOSE port specifications → the image config's ExposedPorts keys (pure).
 *
 * Spec: Dockerfile reference "EXPOSE" and BuildKit's port parsing
 * (frontend/dockerfile/dockerfile2llb/convert_expose.go): `80`, `80/tcp`,
 * `53/UDP`, `8000-8002/tcp` (a range gives one key per port); the protocol
 * is tcp (default), udp or sctp, lowercased; ports 0-65535. Like BuildKit,
 * an `[ip:]hostport:` prefix is accepted and ignored (EXPOSE never publishes).
 */
import { TsnspawnError } from "../errors.ts";

const MAX_RANGE = 65536;

function bad(spec: string, why: string): TsnspawnError {
  return new TsnspawnError("invalid", `invalid port ${JSON.stringify(spec)} in EXPOSE: ${why}`, {
    hint: "EXPOSE takes <port>[/tcp|udp|sctp] or <first>-<last>[/proto]",
  });
}

function portNumber(spec: string, text: string): number {
  if (!/^\d+$/u.test(text)) throw bad(spec, `${JSON.stringify(text)} is not a port number`);
  const port = Number(text);
  if (port > 65535) throw bad(spec, `${port} is out of range (0-65535)`);
  return port;
}

/** `"8000-8001/UDP"` → `["8000/udp", "8001/udp"]`. */
export function normalizeExposedPort(spec: string): string[] {
  const parts = spec.split(":");
  const portPart = parts[parts.length - 1];
  const slash = portPart.indexOf("/");
  const range = slash < 0 ? portPart : portPart.slice(0, slash);
  const proto = (slash < 0 ? "tcp" : portPart.slice(slash + 1) || "tcp").toLowerCase();
  if (range === "") throw bad(spec, "no port given");
  if (proto !== "tcp" && proto !== "udp" && proto !== "sctp") {
    throw bad(spec, `unknown protocol ${JSON.stringify(proto)}`);
  }
  const dash = range.indexOf("-");
  const first = portNumber(spec, dash < 0 ? range : range.slice(0, dash));
  const last = dash < 0 ? first : portNumber(spec, range.slice(dash + 1));
  if (last < first) throw bad(spec, "the range ends before it starts");
  if (last - first + 1 > MAX_RANGE) throw bad(spec, "the range is too large");
  const ports: string[] = [];
  for (let port = first; port <= last; port++) ports.push(`${port}/${proto}`);
  return ports;
}

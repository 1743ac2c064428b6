/**
 * Go duration strings ("30s", "1m30s", "1.5h", "500ms") ↔ nanoseconds (pure).
 *
 * HEALTHCHECK options take Go's time.ParseDuration syntax and the image
 * config stores nanoseconds (Dockerfile reference, "HEALTHCHECK"; docker
 * image spec's HealthcheckConfig). Units: ns, us (µs), ms, s, m, h; a
 * duration is a sequence of decimal numbers each with a unit, optionally
 * signed; "0" alone needs no unit. Values must fit a JavaScript safe integer
 * (about 104 days).
 */

const UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  "µs": 1e3, // U+00B5 micro sign
  "μs": 1e3, // U+03BC Greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Nanoseconds of a Go duration string; undefined if it is not one. */
export function parseGoDuration(text: string): number | undefined {
  let rest = text;
  let sign = 1;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    if (rest[0] === "-") sign = -1;
    rest = rest.slice(1);
  }
  if (rest === "0") return 0;
  if (rest === "") return undefined;
  let total = 0;
  const part = /^(\d*)(?:\.(\d*))?([^\d.]+)/u;
  while (rest !== "") {
    const match = part.exec(rest);
    if (!match || (match[1] === "" && (match[2] ?? "") === "")) return undefined;
    const unitMatch = /^(ns|us|µs|μs|ms|s|m|h)/u.exec(match[3]);
    if (!unitMatch) return undefined;
    const unit = UNITS[unitMatch[1]];
    const whole = match[1] === "" ? 0 : Number(match[1]);
    const fraction = match[2] ? Number(`0.${match[2]}`) : 0;
    total += whole * unit + Math.round(fraction * unit);
    rest = rest.slice(
      match[1].length + (match[2] !== undefined ? match[2].length + 1 : 0) +
        unitMatch[1].length,
    );
  }
  return Number.isSafeInteger(total) ? sign * total : undefined;
}

/** Go's Duration.String(): "0s", "1.5ms", "1m30s", "1h0m0s". */
export function formatGoDuration(nanoseconds: number): string {
  if (nanoseconds === 0) return "0s";
  const sign = nanoseconds < 0 ? "-" : "";
  const ns = Math.abs(nanoseconds);
  if (ns < 1e9) {
    const [unit, size] = ns < 1e3 ? ["ns", 1] : ns < 1e6 ? ["µs", 1e3] : ["ms", 1e6];
    return `${sign}${decimal(ns, size)}${unit}`;
  }
  const hours = Math.floor(ns / 3600e9);
  const minutes = Math.floor((ns % 3600e9) / 60e9);
  const seconds = decimal(ns % 60e9, 1e9);
  if (hours > 0) return `${sign}${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${sign}${minutes}m${seconds}s`;
  return `${sign}${seconds}s`;
}

/** `value / size` with the fraction's trailing zeros removed. */
function decimal(value: number, size: number): string {
  const whole = Math.floor(value / size);
  const fraction = value % size;
  if (fraction === 0) return String(whole);
  const digits = String(size).length - 1;
  return `${whole}.${String(fraction).padStart(digits, "0").replace(/0+$/u, "")}`;
}

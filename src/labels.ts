/**
 * Labels (pure): `KEY=VALUE` words as containers, volumes and networks take
 * them (`--label`, `--label-file`, `--opt`), and docker's label filter
 * (`--filter label=KEY` / `label=KEY=VALUE`). Shared by container/ and
 * volume/, and by the operations that list them.
 *
 * Reference: docs.docker.com "docker run --label", "--label-file"
 * (lines of KEY=VALUE, `#` comments), "docker ps --filter".
 */
import { TsnspawnError } from "./errors.ts";

/**
 * Parses `KEY=VALUE` words into a record; a word without `=` is `KEY=""`
 * (docker's rule for labels). Later keys win.
 */
export function parseKeyValues(words: readonly string[], what = "label"): Record<string, string> {
  const out: Record<string, string> = {};
  for (const word of words) {
    const eq = word.indexOf("=");
    const key = eq === -1 ? word : word.slice(0, eq);
    if (key === "" || /[\s\0]/.test(key)) {
      throw new TsnspawnError("invalid", `${what} ${JSON.stringify(word.slice(0, 80))}: no key`, {
        hint: `write ${what === "label" ? "--label" : "--opt"} KEY=VALUE`,
      });
    }
    out[key] = eq === -1 ? "" : word.slice(eq + 1);
  }
  return out;
}

/** The `KEY=VALUE` lines of a label file (blank lines and `#` comments skipped). */
export function parseLabelFile(text: string): string[] {
  return text.split("\n").map((l) => l.replace(/\r$/, "")).filter((l) =>
    l.trim() !== "" && !l.trimStart().startsWith("#")
  );
}

/** Whether `labels` match every `KEY` / `KEY=VALUE` filter (docker's label filter). */
export function matchesLabels(
  labels: Readonly<Record<string, string>> | undefined,
  filters: readonly string[],
): boolean {
  return filters.every((filter) => {
    const eq = filter.indexOf("=");
    const key = eq === -1 ? filter : filter.slice(0, eq);
    if (!labels || !Object.hasOwn(labels, key)) return false;
    return eq === -1 || labels[key] === filter.slice(eq + 1);
  });
}

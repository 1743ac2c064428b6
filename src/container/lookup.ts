/**
 * Finding a container the way docker names one (moby daemon.GetContainer):
 * its name (with or without docker's leading slash), its full ID, or a
 * unique prefix of its ID. tsnspawn's store is keyed by name; IDs live in
 * each config.json.
 */
import { TsnspawnError } from "../errors.ts";
import { containerExists, listContainerNames, loadContainer } from "./state.ts";
import { validateContainerName } from "./run_options.ts";

/** The name of the container `ref` names (name, ID or unique ID prefix). */
export function findContainerName(ref: string): string {
  const name = ref.startsWith("/") ? ref.slice(1) : ref;
  let valid = false;
  try {
    validateContainerName(name);
    valid = true;
  } catch { /* not a name: maybe an ID */ }
  if (valid && containerExists(name)) return name;
  if (/^[0-9a-f]{1,64}$/.test(ref)) {
    const matches: string[] = [];
    for (const candidate of listContainerNames()) {
      let id: string;
      try {
        id = loadContainer(candidate).id;
      } catch {
        continue; // removed meanwhile, or corrupt (tsnspawn check)
      }
      if (id === ref) return candidate;
      if (id.startsWith(ref)) matches.push(candidate);
    }
    if (matches.length === 1) return matches[0];
    if (matches.length > 1) {
      throw new TsnspawnError(
        "invalid",
        `container ID prefix ${ref}: matches ${matches.length} containers`,
        { hint: "give more digits of the ID, or the name" },
      );
    }
  }
  throw new TsnspawnError("not-found", `container ${ref}: no such container`, {
    hint: "see 'tsnspawn list -a' for the containers there are",
  });
}

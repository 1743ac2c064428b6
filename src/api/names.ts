/**
 * Objects named in a request path, found the way docker finds them, with
 * moby's 404 words when they are not there ("No such container: web",
 * "No such image: busybox:latest"), which clients show as they are.
 */
import { TsnspawnError } from "../errors.ts";
import { findContainerName } from "../container/lookup.ts";
import { noSuch } from "./errors.ts";

/** The name of the container a path names (name, ID or unique ID prefix); 404 otherwise. */
export function resolveContainer(ref: string): string {
  try {
    return findContainerName(ref);
  } catch (error) {
    if (error instanceof TsnspawnError && error.code === "not-found") {
      throw noSuch("container", ref);
    }
    throw error;
  }
}

/** Runs `action`, turning a not-found error into moby's 404 for `kind` `name`. */
export async function orNoSuch<T>(
  kind: "image" | "network" | "volume" | "container",
  name: string,
  action: () => T | Promise<T>,
): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof TsnspawnError && error.code === "not-found") throw noSuch(kind, name);
    throw error;
  }
}

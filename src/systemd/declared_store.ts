/**
 * Declared containers on disk: finding and reading `/etc/tsnspawn/*.container`,
 * the host facts their `%` specifiers need, and the context the generated
 * unit is planned with. The parsing and planning are pure
 * (src/systemd/container_unit.ts); this module only reads.
 */
import { join } from "@std/path";
import { TsnspawnError } from "../errors.ts";
import {
  type ContainerDeclaration,
  type DeclarationResult,
  formatProblem,
  type HostFacts,
  parseDeclaration,
  type UnitContext,
} from "./container_unit.ts";
import { declaredDir, declaredFile, enabledMark, stateRoot } from "../paths.ts";
import { selfCommand } from "../self_exec.ts";
import { machinedInstalled } from "./machined.ts";

function readOr(path: string, fallback: string): string {
  try {
    return Deno.readTextFileSync(path).trim();
  } catch {
    return fallback;
  }
}

/** The host facts behind %H, %l, %m, %b and %v. */
export function readHostFacts(): HostFacts {
  return {
    hostname: readOr("/proc/sys/kernel/hostname", "localhost"),
    machineId: readOr("/etc/machine-id", ""),
    bootId: readOr("/proc/sys/kernel/random/boot_id", "").replaceAll("-", ""),
    kernelRelease: readOr("/proc/sys/kernel/osrelease", ""),
  };
}

/** Paths of every `.container` file in `dir`, sorted; none when the dir is missing. */
export function listDeclarationFiles(dir = declaredDir()): string[] {
  const files: string[] = [];
  try {
    for (const entry of Deno.readDirSync(dir)) {
      if (entry.name.endsWith(".container") && (entry.isFile || entry.isSymlink)) {
        files.push(join(dir, entry.name));
      }
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return files.sort();
}

/** True when container `name` has a declaration file. */
export function isDeclared(name: string): boolean {
  try {
    return Deno.statSync(declaredFile(name)).isFile;
  } catch {
    return false;
  }
}

/** True when container `name` is enabled (started at boot): its mark exists. */
export function isEnabled(name: string): boolean {
  try {
    Deno.lstatSync(enabledMark(name));
    return true;
  } catch {
    return false;
  }
}

/** Reads and parses a declaration file (problems are returned, not thrown). */
export function readDeclarationFile(path: string): DeclarationResult {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new TsnspawnError("not-found", `declaration ${path}: no such file`, {
        hint: `declared containers are ${declaredDir()}/<name>.container files`,
      });
    }
    throw new TsnspawnError(
      "system",
      `declaration ${path}: cannot be read: ${error instanceof Error ? error.message : error}`,
    );
  }
  return parseDeclaration(path, text, { host: readHostFacts() });
}

/** The valid declaration of container `name`; throws with the first problem otherwise. */
export function loadDeclaration(name: string): ContainerDeclaration {
  const path = declaredFile(name);
  const { declaration, problems } = readDeclarationFile(path);
  if (!declaration) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : "";
    throw new TsnspawnError(
      "invalid",
      `${formatProblem({ ...problems[0], hint: undefined })}${more}`,
      {
        hint: problems[0].hint ?? `see 'tsnspawn validate ${path}'`,
      },
    );
  }
  return declaration;
}

/** The context generated units are planned with on this host. */
export function hostUnitContext(): UnitContext {
  return { command: selfCommand, machined: machinedInstalled(), stateRoot: stateRoot() };
}

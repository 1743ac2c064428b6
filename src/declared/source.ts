/**
 * Declared files as quadlet reads them (pure): the kinds (`.container`,
 * `.network`, `.volume`, `.image`, `.build`), template names
 * (`web@.container`, its instances `web@1.container`), the drop-in
 * directories of a file in quadlet's order, and a file merged with its
 * drop-ins into sections whose every entry remembers its file and line
 * (so `tsnspawn validate` names the drop-in that holds a problem).
 *
 * Drop-ins (podman-systemd.unit(5) "DESCRIPTION", quadlet's
 * GetUnitDropinPaths): for `foo-bar@x.container` the directories searched,
 * most specific first, are `foo-bar@x.container.d`, `foo-bar@.container.d`,
 * `foo-bar-@.container.d`... truncated at each dash (`foo-@.container.d`,
 * `foo-.container.d`), and `container.d` for every file of the kind; each
 * in every search directory. Of the `*.conf` files a name found in a more
 * specific directory hides the same name further up; the rest are merged
 * in file-name order after the file itself: their sections add to the
 * file's, later assignments win and an empty one resets a list.
 */
import { TsnspawnError } from "../errors.ts";
import type { UnitEntry, UnitFile } from "../systemd/unit_file.ts";

/** The kinds of declared files tsnspawn reads. */
export type DeclaredKind = "container" | "network" | "volume" | "image" | "build";

/** Per kind: its main section and the suffix of its unit's name (quadlet's). */
export const DECLARED_KINDS: Readonly<
  Record<DeclaredKind, { section: string; serviceSuffix: string; help: string }>
> = {
  container: { section: "Container", serviceSuffix: "", help: "a container run by its unit" },
  network: {
    section: "Network",
    serviceSuffix: "-network",
    help: "a bridge network, created by a oneshot unit",
  },
  volume: {
    section: "Volume",
    serviceSuffix: "-volume",
    help: "a volume, created by a oneshot unit",
  },
  image: { section: "Image", serviceSuffix: "-image", help: "an image, pulled by a oneshot unit" },
  build: {
    section: "Build",
    serviceSuffix: "-build",
    help: "an image, built by a oneshot unit (tsnspawn build)",
  },
};

/** Quadlet's other file kinds, and why tsnspawn does not read them. */
export const UNSUPPORTED_KINDS: Readonly<Record<string, string>> = {
  pod: "tsnspawn has no pods: put the containers on one .network and order them with After=",
  kube: "tsnspawn does not read Kubernetes YAML",
  artifact: "tsnspawn has no OCI artifact store",
};

/** The kind of a declared file by its name, or null. */
export function kindOf(fileName: string): DeclaredKind | null {
  const dot = fileName.lastIndexOf(".");
  if (dot <= 0) return null;
  const ext = fileName.slice(dot + 1);
  return Object.hasOwn(DECLARED_KINDS, ext) ? ext as DeclaredKind : null;
}

/** The name of a file without its kind's extension (`web@1` for `web@1.container`). */
export function baseName(fileName: string): string {
  const dot = fileName.lastIndexOf(".");
  return dot > 0 ? fileName.slice(0, dot) : fileName;
}

/** A template's parts: `web@.container` → {prefix web, instance ""}; `web@1.container` → instance "1". */
export interface TemplateParts {
  prefix: string;
  /** "" for the template itself, the instance for an instantiated one. */
  instance: string;
}

/** The template parts of a file name, or null when it is not a template (no `@`). */
export function templateParts(fileName: string): TemplateParts | null {
  const base = baseName(fileName);
  const at = base.indexOf("@");
  if (at < 0) return null;
  return { prefix: base.slice(0, at), instance: base.slice(at + 1) };
}

/** The drop-in directory names of `fileName`, most specific first (module comment). */
export function planDropinDirs(fileName: string): string[] {
  const kind = kindOf(fileName);
  if (!kind) return [];
  const ext = `.${kind}.d`;
  const parts = templateParts(fileName);
  const unitName = parts ? parts.prefix : baseName(fileName);
  // Broad to specific, as quadlet builds it; reversed at the end.
  const dirs = [`${kind}.d`];
  const dashes = unitName.split("-");
  for (let i = 1; i < dashes.length; i++) {
    const truncated = dashes.slice(0, i).join("-") + "-";
    dirs.push(truncated + ext);
    if (parts) dirs.push(`${truncated}@${ext}`);
  }
  if (parts && parts.instance !== "") dirs.push(`${unitName}@${ext}`);
  dirs.push(fileName + ".d");
  return dirs.reverse();
}

/**
 * Chooses the drop-in files to merge: `found` lists, per directory in
 * {@link planDropinDirs} order (most specific first), the `*.conf` names
 * in it with their paths. A name seen first hides later ones; the result
 * is in file-name order.
 */
export function chooseDropins(found: readonly { name: string; path: string }[][]): string[] {
  const chosen = new Map<string, string>();
  for (const dir of found) {
    for (const { name, path } of dir) {
      if (!name.endsWith(".conf") || chosen.has(name)) continue;
      chosen.set(name, path);
    }
  }
  return [...chosen.keys()].sort().map((name) => chosen.get(name)!);
}

/** An assignment and the file it came from. */
export interface SourcedEntry extends UnitEntry {
  path: string;
}

/** A section of a declared file (or of one of its drop-ins). */
export interface SourcedSection {
  name: string;
  path: string;
  /** 1-based line of the header. */
  line: number;
  entries: SourcedEntry[];
}

/** A declared file with its drop-ins merged, ready to be converted. */
export interface DeclaredSource {
  /** The file's name (`web.container`): the key references and dependencies use. */
  fileName: string;
  /** Where it was read (a search directory's file, or a symlink to one). */
  path: string;
  kind: DeclaredKind;
  /** Its sections, then its drop-ins' sections, in merge order. */
  sections: SourcedSection[];
}

/** The sections of a parsed file, each entry tagged with `path`. */
export function sourcedSections(path: string, file: UnitFile): SourcedSection[] {
  return file.sections.map((section) => ({
    name: section.name,
    path,
    line: section.line,
    entries: section.entries.map((entry) => ({ ...entry, path })),
  }));
}

/** A declared source from its file and the parsed drop-ins (in merge order). */
export function planSource(
  fileName: string,
  path: string,
  file: UnitFile,
  dropins: readonly { path: string; file: UnitFile }[] = [],
): DeclaredSource {
  const kind = kindOf(fileName);
  if (!kind) {
    throw new TsnspawnError(
      "invalid",
      `${path}: not a declared file (.container, .network, .volume, .image, .build)`,
    );
  }
  return {
    fileName,
    path,
    kind,
    sections: [
      ...sourcedSections(path, file),
      ...dropins.flatMap((d) => sourcedSections(d.path, d.file)),
    ],
  };
}

/** Every entry of the sections called `name`, in merge order. */
export function entriesOf(source: DeclaredSource, name: string): SourcedEntry[] {
  return source.sections.filter((s) => s.name === name).flatMap((s) => s.entries);
}

/** The last value of `key` in section `name` (quadlet's Lookup), or undefined. */
export function lastValue(source: DeclaredSource, name: string, key: string): string | undefined {
  const entries = entriesOf(source, name).filter((e) => e.key === key);
  return entries.at(-1)?.value;
}

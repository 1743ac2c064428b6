/**
 * What a declared file is called once generated (pure): its unit's name
 * and the name of what it makes (container, network, volume, image), as
 * quadlet's unit info map, adapted to tsnspawn's names:
 *
 * | file | unit | makes |
 * |---|---|---|
 * | `web.container` | `tsnspawn-web.service` | container `web` (or ContainerName=; the unit follows it) |
 * | `app.network` | `tsnspawn-app-network.service` | network `app` (or NetworkName=) |
 * | `data.volume` | `tsnspawn-data-volume.service` | volume `data` (or VolumeName=) |
 * | `base.image` | `tsnspawn-base-image.service` | image ImageTag= or Image= |
 * | `app.build` | `tsnspawn-app-build.service` | image: the first ImageTag= |
 * | `web@.container` | `tsnspawn-web@.service` (a template) | container `web@INSTANCE` |
 * | `data@.volume` | `tsnspawn-data-volume@.service` | volume `data-INSTANCE` |
 *
 * Unlike quadlet (`systemd-web`), resources take the file's name as it is,
 * as tsnspawn's declared containers always did; a container's unit is
 * always `tsnspawn-<container>.service`, which every command relies on.
 *
 * While a template's own unit is planned, its instance is
 * {@link INSTANCE_TOKEN}, replaced by `%i` in the unit's text: values that
 * depend on the instance then reach systemd as specifiers.
 */
import { unitName } from "../paths.ts";
import {
  baseName,
  DECLARED_KINDS,
  type DeclaredKind,
  type DeclaredSource,
  lastValue,
  templateParts,
} from "./source.ts";

/**
 * Stands for a template's instance while its unit is planned (a valid
 * container, network, volume name and image path component), then becomes
 * `%i` in the unit's text.
 */
export const INSTANCE_TOKEN = "tsnspawninstancez9q";

/** What one declared file is known as to the others. */
export interface UnitInfo {
  fileName: string;
  kind: DeclaredKind;
  /** Its unit (a template's: `tsnspawn-web@.service`). */
  service: string;
  /** The container, network, volume or image it makes; "" when the file does not say (an error later). */
  resource: string;
  /** A template (`x@.kind`): references from other files name its `%i` instance. */
  template: boolean;
}

/** Strips one pair of double quotes around a value, as quadlet's Lookup does. */
export function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"')
    ? value.slice(1, -1)
    : value;
}

/** The unit name of a declared file. `instance` replaces a template's empty one. */
export function serviceNameOf(
  kind: DeclaredKind,
  fileName: string,
  containerName: string,
): string {
  if (kind === "container") return unitName(containerName);
  const suffix = DECLARED_KINDS[kind].serviceSuffix;
  const parts = templateParts(fileName);
  if (parts) return `tsnspawn-${parts.prefix}${suffix}@${parts.instance}.service`;
  return `tsnspawn-${baseName(fileName)}${suffix}.service`;
}

/** The default name of what a file makes (no key sets it): the file's name; a template's instance after a dash. */
function defaultResource(fileName: string, instance: string): string {
  const parts = templateParts(fileName);
  if (!parts) return baseName(fileName);
  return `${parts.prefix}-${parts.instance || instance}`;
}

/** The container name of a `.container` file (ContainerName= set aside). */
export function defaultContainerName(fileName: string, instance: string): string {
  const parts = templateParts(fileName);
  if (!parts) return baseName(fileName);
  return `${parts.prefix}@${parts.instance || instance}`;
}

/**
 * The unit info of a source. `expand` resolves `%` specifiers in the
 * values that name things (ContainerName=%N-1); it may throw, which leaves
 * the resource empty (the conversion reports the problem with its line).
 */
export function planUnitInfo(
  source: DeclaredSource,
  expand: (value: string) => string,
): UnitInfo {
  const { kind, fileName } = source;
  const parts = templateParts(fileName);
  const template = parts !== null && parts.instance === "";
  const section = DECLARED_KINDS[kind].section;
  const value = (key: string) => {
    const raw = lastValue(source, section, key);
    if (raw === undefined || raw === "") return undefined;
    try {
      return expand(unquote(raw));
    } catch {
      return "";
    }
  };
  let resource: string;
  switch (kind) {
    case "container":
      resource = template
        ? defaultContainerName(fileName, INSTANCE_TOKEN)
        : value("ContainerName") ?? defaultContainerName(fileName, INSTANCE_TOKEN);
      break;
    case "network":
      resource = value("NetworkName") ?? defaultResource(fileName, INSTANCE_TOKEN);
      break;
    case "volume":
      resource = value("VolumeName") ?? defaultResource(fileName, INSTANCE_TOKEN);
      break;
    case "image":
      resource = value("ImageTag") ?? value("Image") ?? "";
      break;
    case "build": {
      const tags = source.sections.filter((s) => s.name === section).flatMap((s) => s.entries)
        .filter((e) => e.key === "ImageTag" && e.value !== "");
      resource = tags.length > 0 ? expand(unquote(tags[0].value)) : "";
      break;
    }
  }
  return {
    fileName,
    kind,
    service: serviceNameOf(kind, fileName, resource),
    resource,
    template,
  };
}

/**
 * The unit another unit names to depend on `info`: a template's `%i`
 * instance (`tsnspawn-data-volume@%i.service`: the same instance as the
 * referring unit), else the unit itself.
 */
export function dependencyName(info: UnitInfo): string {
  if (!info.template) return info.service;
  return info.service.replace("@.service", "@%i.service").replaceAll(INSTANCE_TOKEN, "%i");
}

/** A resource name of a template with the token for `%i` (as other files refer to it). */
export function resourceFor(info: UnitInfo): string {
  return info.resource;
}

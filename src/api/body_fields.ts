/**
 * Reading the fields of a JSON request body the way the create mapping
 * needs them (pure): typed getters that name the field in their errors
 * (`HostConfig.Memory: expected an integer`), and a record of which fields
 * were read, so that every field nobody read must hold its zero value.
 *
 * That last rule is how the API keeps its promise: clients send every field
 * of their structs (the docker CLI sends ~100 fields, nearly all zero), so
 * zero values are accepted silently, while a field with a value that no
 * mapping took is refused with a 400 naming it, never dropped. Zero is
 * Go's: null, false, 0, "", empty arrays, and objects whose fields are all
 * zero. Field names match case-insensitively, as Go's encoding/json does.
 *
 * References: Docker Engine API v1.44 (`POST /containers/create` body);
 * Go encoding/json (Unmarshal: case-insensitive names, null leaves the zero
 * value); research notes /work/shared/research/docker-api.md §8
 * ("reject what tsnspawn cannot do with a 400 naming the field").
 */
import { badRequest, shownValue, unsupportedField } from "./errors.ts";

/** Go's zero value test over JSON: null, false, 0, "", [], and objects of zeros. */
export function isZeroValue(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === "") {
    return true;
  }
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === "object") return Object.values(value).every(isZeroValue);
  return false;
}

/** A JSON object's fields, read by name, remembering which were read. */
export class BodyReader {
  readonly #object: Record<string, unknown>;
  readonly #path: string;
  readonly #read = new Set<string>();

  /** `value` must be an object, or null/absent (read as empty); `path` prefixes field names. */
  constructor(value: unknown, path = "") {
    if (
      value !== null && value !== undefined && (typeof value !== "object" || Array.isArray(value))
    ) {
      throw badRequest(`${path || "the body"}: expected a JSON object, not ${shownValue(value)}`);
    }
    this.#object = (value ?? {}) as Record<string, unknown>;
    this.#path = path;
  }

  /** Where this object is in the body: `HostConfig`, `HostConfig.Mounts[0]`; "" for the body. */
  get path(): string {
    return this.#path;
  }

  /** The full name of a field, for messages: `HostConfig.Memory`. */
  name(field: string): string {
    return this.#path === "" ? field : `${this.#path}.${field}`;
  }

  /** The key the body uses for `field`: exact, else any case (Go's rule). */
  #key(field: string): string | undefined {
    if (Object.hasOwn(this.#object, field)) return field;
    const lower = field.toLowerCase();
    return Object.keys(this.#object).find((k) => k.toLowerCase() === lower);
  }

  /** The raw value of a field (null reads as undefined), marking it read. */
  value(field: string): unknown {
    const key = this.#key(field);
    if (key === undefined) return undefined;
    this.#read.add(key);
    const value = this.#object[key];
    return value === null ? undefined : value;
  }

  #fail(field: string, expected: string, value: unknown): never {
    throw badRequest(`${this.name(field)}: expected ${expected}, not ${shownValue(value)}`);
  }

  string(field: string): string | undefined {
    const value = this.value(field);
    if (value !== undefined && typeof value !== "string") this.#fail(field, "a string", value);
    return value as string | undefined;
  }

  boolean(field: string): boolean | undefined {
    const value = this.value(field);
    if (value !== undefined && typeof value !== "boolean") {
      this.#fail(field, "true or false", value);
    }
    return value as boolean | undefined;
  }

  integer(field: string): number | undefined {
    const value = this.value(field);
    if (value !== undefined && !Number.isSafeInteger(value)) this.#fail(field, "an integer", value);
    return value as number | undefined;
  }

  /** An array of strings; null reads as undefined, `[]` as `[]`. */
  strings(field: string): string[] | undefined {
    const value = this.value(field);
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
      this.#fail(field, "an array of strings", value);
    }
    return value as string[];
  }

  /** An object of string values (labels, Tmpfs, Sysctls). */
  stringMap(field: string): Record<string, string> | undefined {
    const value = this.value(field);
    if (value === undefined) return undefined;
    if (
      typeof value !== "object" || value === null || Array.isArray(value) ||
      !Object.values(value).every((v) => typeof v === "string")
    ) {
      this.#fail(field, "an object of strings", value);
    }
    return value as Record<string, string>;
  }

  /** An array of objects, each as a reader named `Field[i]`. */
  objects(field: string): BodyReader[] {
    const value = this.value(field);
    if (value === undefined) return [];
    if (!Array.isArray(value)) this.#fail(field, "an array", value);
    return (value as unknown[]).map((item, i) => new BodyReader(item, `${this.name(field)}[${i}]`));
  }

  /** A nested object as a reader (empty when null or absent). */
  child(field: string): BodyReader {
    return new BodyReader(this.value(field), this.name(field));
  }

  /**
   * Accepts a field only at a value tsnspawn honours by doing nothing (its
   * default): `isDefault` decides, zero values by default. Anything else is
   * a 400 naming the field with `reason`.
   */
  defaultOnly(
    field: string,
    reason: string,
    isDefault: (value: unknown) => boolean = isZeroValue,
    hint?: string,
  ): void {
    const value = this.value(field);
    if (!isDefault(value)) throw unsupportedField(this.name(field), value, reason, hint);
  }

  /** Marks fields read whatever they hold (client-side or output-only fields). */
  ignore(...fields: string[]): void {
    for (const field of fields) this.value(field);
  }

  /** The fields nobody read, with their values. */
  unread(): [string, unknown][] {
    return Object.entries(this.#object).filter(([key]) => !this.#read.has(key));
  }

  /**
   * Ends the reading: a field nobody read must be zero, else it is refused
   * with `reason` (e.g. "tsnspawn does not know this field").
   */
  finish(reason: string): void {
    for (const [key, value] of this.unread()) {
      if (!isZeroValue(value)) throw unsupportedField(this.name(key), value, reason);
    }
  }
}

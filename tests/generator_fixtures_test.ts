/**
 * Fixture tests of the generator's output, in podman quadlet's style: each
 * `tests/fixtures/<name>.container` carries its own assertions as `## `
 * comment lines, and a new feature means a new fixture. No root needed.
 *
 * The file is parsed as `/etc/tsnspawn/<name>.container` (src/systemd/container_unit.ts)
 * with fixed host facts, and the unit is planned with tsnspawn at
 * /usr/bin/tsnspawn and machined installed.
 *
 * Assertions ({@link ASSERTIONS}, arguments quoted like unit-file words):
 *   ## assert-key-is SECTION KEY VALUE...   every value of KEY, in order
 *   ## assert-key-contains SECTION KEY TEXT the last value of KEY contains TEXT
 *   ## assert-key-has SECTION KEY VALUE     one of the values of KEY is VALUE
 *   ## assert-key-missing SECTION KEY       KEY is not set
 *   ## assert-create-args ARG...            the `create` arguments the file amounts to
 *   ## assert-install-links PATH:TARGET...  the links made when the container is enabled
 *   ## assert-problem LINE TEXT [HINT]      a problem at LINE (0 = the file) containing TEXT (and HINT)
 *   ## assert-failed                        no unit is generated
 */
import { assert, assertEquals } from "@std/assert";
import { basename, dirname, fromFileUrl, join } from "@std/path";
import {
  type DeclarationResult,
  parseDeclaration,
  planContainerUnit,
  planInstallLinks,
} from "../src/systemd/container_unit.ts";
import {
  parseUnitFile,
  sectionEntries,
  splitWords,
  type UnitFile,
} from "../src/systemd/unit_file.ts";

const FIXTURES = join(dirname(fromFileUrl(import.meta.url)), "fixtures");

const HOST = {
  hostname: "testhost",
  machineId: "0".repeat(32),
  bootId: "1".repeat(32),
  kernelRelease: "6.18.0",
};

const CONTEXT = {
  command: (mode: string, args: string[]) => ["/usr/bin/tsnspawn", mode, ...args],
  machined: true,
  stateRoot: "/var/lib/tsnspawn",
};

/** What an assertion sees: the parse result and the generated unit, if any. */
interface Subject {
  result: DeclarationResult;
  unit: UnitFile | null;
}

function values(subject: Subject, section: string, key: string): string[] {
  if (!subject.unit) {
    throw new Error(`no unit was generated: ${JSON.stringify(subject.result.problems)}`);
  }
  return sectionEntries(subject.unit, section).filter((e) => e.key === key).map((e) => e.value);
}

/** The assertion vocabulary: name → check(subject, arguments). */
const ASSERTIONS: Record<string, (subject: Subject, args: string[]) => void> = {
  "assert-key-is": (s, [section, key, ...expected]) =>
    assertEquals(values(s, section, key), expected, `${section} ${key}`),
  "assert-key-contains": (s, [section, key, text]) => {
    const last = values(s, section, key).at(-1) ?? "";
    assert(last.includes(text), `${section} ${key}=${last} does not contain ${text}`);
  },
  "assert-key-has": (s, [section, key, value]) => {
    const all = values(s, section, key);
    assert(all.includes(value), `${section} ${key}: ${JSON.stringify(all)} has no ${value}`);
  },
  "assert-key-missing": (s, [section, key]) =>
    assertEquals(values(s, section, key), [], `${section} ${key}`),
  "assert-create-args": (s, expected) => {
    assertEquals(s.result.declaration?.createArgs, expected, JSON.stringify(s.result.problems));
  },
  "assert-install-links": (s, expected) => {
    if (!s.result.declaration) {
      throw new Error(`no declaration: ${JSON.stringify(s.result.problems)}`);
    }
    assertEquals(
      planInstallLinks(s.result.declaration).map((l) => `${l.path}:${l.target}`),
      expected,
    );
  },
  "assert-problem": (s, [line, text, hint]) => {
    const found = s.result.problems.some((p) =>
      p.line === Number(line) && p.message.includes(text) &&
      (hint === undefined || (p.hint ?? "").includes(hint))
    );
    assert(
      found,
      `no problem at line ${line} with ${JSON.stringify(text)}; problems: ${
        JSON.stringify(s.result.problems, null, 1)
      }`,
    );
  },
  "assert-failed": (s) => assertEquals(s.unit, null, "a unit was generated"),
};

const files = [...Deno.readDirSync(FIXTURES)].map((e) => e.name).filter((n) =>
  n.endsWith(".container")
).sort();

Deno.test("fixtures exist", () => assert(files.length >= 20, `${files.length} fixtures`));

for (const file of files) {
  Deno.test(`fixture ${file}`, () => {
    const text = Deno.readTextFileSync(join(FIXTURES, file));
    const result = parseDeclaration(`/etc/tsnspawn/${basename(file)}`, text, {
      host: HOST,
      hostCpus: 4,
    });
    let unit: UnitFile | null = null;
    if (result.declaration) {
      const generated = planContainerUnit(result.declaration, CONTEXT);
      const parsed = parseUnitFile(generated);
      assertEquals(parsed.problems, [], generated);
      unit = parsed.file;
    }
    const assertions = text.split("\n").filter((l) => l.startsWith("## assert-"));
    assert(assertions.length > 0, "a fixture needs assertions");
    if (!assertions.some((l) => l.startsWith("## assert-failed"))) {
      assertEquals(result.problems, [], "unexpected problems");
    }
    for (const line of assertions) {
      const [name, ...args] = splitWords(line.slice(3));
      const check = ASSERTIONS[name];
      assert(check, `unknown assertion ${name}`);
      check({ result, unit }, args);
    }
  });
}

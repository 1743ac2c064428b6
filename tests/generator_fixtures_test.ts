/**
 * Fixture tests of the generator's output, in podman quadlet's style: each
 * declared file in `tests/fixtures/` (`.container`, `.network`, `.volume`,
 * `.image`, `.build`, with drop-in directories and templates beside them)
 * carries its own assertions as `## ` comment lines, and a new feature
 * means a new fixture. No root needed, except for the last test, which
 * has `systemd-analyze verify` check every generated unit.
 *
 * The fixtures directory is read as the only search directory
 * (TSNSPAWN_UNIT_DIRS) through the store (src/declared/store.ts), drop-ins
 * included, with its paths shown as /etc/tsnspawn/...; every file can
 * refer to every other (Network=basic.network). Units are planned with
 * tsnspawn at /usr/bin/tsnspawn and machined installed.
 *
 * Assertions (arguments quoted like unit-file words):
 *   ## assert-key-is SECTION KEY VALUE...     every value of KEY, in order
 *   ## assert-key-contains SECTION KEY TEXT   the last value of KEY contains TEXT
 *   ## assert-key-has SECTION KEY VALUE       one of the values of KEY is VALUE
 *   ## assert-key-missing SECTION KEY         KEY is not set
 *   ## assert-unit-name NAME                  the generated unit file's name
 *   ## assert-create-args ARG...              the `create` arguments the file amounts to
 *   ## assert-create-args-has ARG...          they contain these, in this order (quadlet's assert-podman-args)
 *   ## assert-create-final-args ARG...        they end with these (quadlet's assert-podman-final-args)
 *   ## assert-instance-create-args-has N ARG... a template's instance N: its arguments contain these
 *   ## assert-install-links PATH:TARGET...    the links made when the container is enabled (others: always)
 *   ## assert-problem LINE TEXT [HINT]        a problem at LINE (0 = the file) containing TEXT (and HINT)
 *   ## assert-problem-in FILE LINE TEXT       a problem in FILE (a drop-in, relative to the fixtures) at LINE
 *   ## assert-failed                          no unit is generated
 */
import { assert, assertEquals } from "@std/assert";
import { dirname, fromFileUrl, join } from "@std/path";
import { type DeclarationProblem, formatProblem } from "../src/declared/common.ts";
import {
  containerInstallLinks,
  convertContainer,
  type DeclarationResult,
  planContainerUnit,
} from "../src/declared/container.ts";
import { convertResource, type ResourceResult } from "../src/declared/resources.ts";
import { readDeclaredSet } from "../src/declared/store.ts";
import type { DeclaredSource } from "../src/declared/source.ts";
import { selfCommand } from "../src/self_exec.ts";
import {
  parseUnitFile,
  sectionEntries,
  splitWords,
  type UnitFile,
} from "../src/systemd/unit_file.ts";

const FIXTURES = join(dirname(fromFileUrl(import.meta.url)), "fixtures");
const SHOWN_AS = "/etc/tsnspawn";

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

/** The fixtures as the store reads them, paths shown under /etc/tsnspawn. */
function readFixtures() {
  const previous = Deno.env.get("TSNSPAWN_UNIT_DIRS");
  Deno.env.set("TSNSPAWN_UNIT_DIRS", FIXTURES);
  try {
    const set = readDeclaredSet(HOST);
    const shown = (path: string) => path.replace(FIXTURES, SHOWN_AS);
    for (const source of set.sources) {
      source.path = shown(source.path);
      for (const section of source.sections) {
        section.path = shown(section.path);
        for (const entry of section.entries) entry.path = shown(entry.path);
      }
    }
    for (const problem of set.problems) problem.path = shown(problem.path);
    return set;
  } finally {
    if (previous === undefined) Deno.env.delete("TSNSPAWN_UNIT_DIRS");
    else Deno.env.set("TSNSPAWN_UNIT_DIRS", previous);
  }
}

const set = readFixtures();

/** What an assertion sees. */
interface Subject {
  source: DeclaredSource;
  /** Read problems (syntax, drop-ins) and conversion problems. */
  problems: DeclarationProblem[];
  container: DeclarationResult | null;
  resource: ResourceResult | null;
  unitName: string | null;
  unit: UnitFile | null;
}

function convert(source: DeclaredSource): Subject {
  const read = set.problems.filter((p) =>
    p.path === source.path || p.path.includes(`/${source.fileName}.d/`)
  );
  if (source.kind === "container") {
    const container = convertContainer(source, { host: HOST, hostCpus: 4, units: set.units });
    const text = container.declaration ? planContainerUnit(container.declaration, CONTEXT) : null;
    return {
      source,
      problems: [...read, ...container.problems],
      container,
      resource: null,
      unitName: container.declaration?.unitFile ?? null,
      unit: text === null ? null : parsed(text),
    };
  }
  const resource = convertResource(source, {
    host: HOST,
    command: CONTEXT.command,
    units: set.units,
  });
  return {
    source,
    problems: [...read, ...resource.problems],
    container: null,
    resource,
    unitName: resource.unit?.unitFile ?? null,
    unit: resource.unit ? parsed(resource.unit.text) : null,
  };
}

function parsed(text: string): UnitFile {
  const result = parseUnitFile(text);
  assertEquals(result.problems, [], text);
  return result.file;
}

function values(subject: Subject, section: string, key: string): string[] {
  if (!subject.unit) {
    throw new Error(`no unit was generated: ${subject.problems.map(formatProblem).join("; ")}`);
  }
  return sectionEntries(subject.unit, section).filter((e) => e.key === key).map((e) => e.value);
}

function createArgs(subject: Subject): string[] {
  const args = subject.container?.declaration?.createArgs;
  if (!args) throw new Error(`no declaration: ${subject.problems.map(formatProblem).join("; ")}`);
  return args;
}

/** Whether `needle` occurs in `haystack` as a contiguous run. */
function containsRun(haystack: readonly string[], needle: readonly string[]): boolean {
  for (let i = 0; i + needle.length <= haystack.length; i++) {
    if (needle.every((n, j) => haystack[i + j] === n)) return true;
  }
  return false;
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
  "assert-unit-name": (s, [name]) => assertEquals(s.unitName, name),
  "assert-create-args": (s, expected) => assertEquals(createArgs(s), expected),
  "assert-create-args-has": (s, expected) => {
    const args = createArgs(s);
    assert(
      containsRun(args, expected),
      `${JSON.stringify(args)} has no ${JSON.stringify(expected)}`,
    );
  },
  "assert-create-final-args": (s, expected) =>
    assertEquals(createArgs(s).slice(-expected.length), expected),
  "assert-instance-create-args-has": (s, [instance, ...expected]) => {
    const result = convertContainer(s.source, {
      host: HOST,
      hostCpus: 4,
      units: set.units,
      instance,
    });
    const args = result.declaration?.createArgs ?? [];
    assert(
      containsRun(args, expected),
      `${JSON.stringify(args)} has no ${JSON.stringify(expected)} ${
        JSON.stringify(result.problems)
      }`,
    );
  },
  "assert-install-links": (s, expected) => {
    const links = s.container
      ? containerInstallLinks(s.container.declaration!)
      : s.resource?.unit?.links ?? [];
    assertEquals(links.map((l) => `${l.path}:${l.target}`), expected);
  },
  "assert-problem": (s, [line, text, hint]) => {
    const found = s.problems.some((p) =>
      p.path === s.source.path && p.line === Number(line) && p.message.includes(text) &&
      (hint === undefined || (p.hint ?? "").includes(hint))
    );
    assert(
      found,
      `no problem at line ${line} with ${JSON.stringify(text)}; problems: ${
        s.problems.map(formatProblem).join("\n")
      }`,
    );
  },
  "assert-problem-in": (s, [file, line, text]) => {
    const found = s.problems.some((p) =>
      p.path === `${SHOWN_AS}/${file}` && p.line === Number(line) && p.message.includes(text)
    );
    assert(
      found,
      `no problem in ${file}:${line} with ${JSON.stringify(text)}; problems: ${
        s.problems.map(formatProblem).join("\n")
      }`,
    );
  },
  "assert-failed": (s) => assertEquals(s.unit, null, "a unit was generated"),
};

Deno.test("fixtures exist, of every kind", () => {
  assert(set.sources.length >= 40, `${set.sources.length} fixtures`);
  for (const kind of ["container", "network", "volume", "image", "build"]) {
    assert(set.sources.some((s) => s.kind === kind), kind);
  }
});

for (const source of set.sources) {
  Deno.test(`fixture ${source.fileName}`, () => {
    const text = Deno.readTextFileSync(join(FIXTURES, source.fileName));
    const subject = convert(source);
    const assertions = text.split("\n").filter((l) => l.startsWith("## assert-"));
    assert(assertions.length > 0, "a fixture needs assertions");
    if (!assertions.some((l) => l.startsWith("## assert-failed"))) {
      assertEquals(subject.problems.map(formatProblem), [], "unexpected problems");
    }
    for (const line of assertions) {
      const [name, ...args] = splitWords(line.slice(3));
      const check = ASSERTIONS[name];
      assert(check, `unknown assertion ${name}`);
      check(subject, args);
    }
  });
}

/** systemd-analyze, when this machine has it. */
function systemdAnalyze(): string | null {
  for (const path of ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"]) {
    try {
      Deno.statSync(path);
      return path;
    } catch { /* next */ }
  }
  return null;
}

Deno.test({
  name: "systemd-analyze verify accepts every generated unit without a warning",
  ignore: systemdAnalyze() === null || Deno.uid() !== 0,
  fn: async () => {
    const dir = Deno.makeTempDirSync({ dir: "/dev/shm", prefix: "tsnspawn-verify-" });
    try {
      const units: string[] = [];
      const context = { ...CONTEXT, command: selfCommand };
      for (const source of set.sources) {
        const subject = convert(source);
        if (!subject.unitName) continue;
        let text: string;
        if (subject.container?.declaration) {
          text = planContainerUnit(subject.container.declaration, context);
        } else {
          text =
            convertResource(source, { host: HOST, command: selfCommand, units: set.units }).unit!
              .text;
        }
        // A template is verified as one of its instances.
        const name = subject.unitName.replace("@.service", "@verify.service");
        Deno.writeTextFileSync(join(dir, name), text);
        units.push(join(dir, name));
      }
      assert(units.length >= 30, `${units.length} units`);
      const out = await new Deno.Command(systemdAnalyze()!, {
        args: ["verify", "--man=no", ...units],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
      // Dependencies on units this machine lacks (tsnspawn-db.service) are fine; bad keys and values are not.
      const complaints = text.split("\n").filter((l) =>
        /ignoring|Unknown|Invalid|Failed to parse|not executable|bad-setting/i.test(l)
      );
      assertEquals(complaints, []);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

import { assertEquals, assertThrows } from "@std/assert";
import {
  checkFilterKeys,
  exactMatch,
  filterBool,
  formatFilters,
  globToRegExp,
  labelsMatch,
  NO_FILTERS,
  parseFilters,
  patternMatch,
  prefixMatch,
} from "./filters.ts";
import { ApiError } from "./errors.ts";
import { parseRequestTarget } from "./request.ts";

interface Captured {
  method: string;
  path: string;
}
const COMPOSE: { requests: Captured[] } = JSON.parse(
  Deno.readTextFileSync(new URL("./testdata/compose_1.29.2.json", import.meta.url)),
);
const CLI: { captures: { command: string; requests: Captured[] }[] } = JSON.parse(
  Deno.readTextFileSync(new URL("./testdata/docker_cli_28.2.2_paths.json", import.meta.url)),
);

const asObject = (text: string) =>
  Object.fromEntries([...parseFilters(text)].map(([k, v]) => [k, [...v].sort()]));

Deno.test("parseFilters: the CLI's map form and docker-py's list form are the same filters", () => {
  assertEquals(asObject('{"label":{"a=b":true},"status":{"exited":true}}'), {
    label: ["a=b"],
    status: ["exited"],
  });
  assertEquals(asObject('{"label":["a=b"],"status":["exited"]}'), {
    label: ["a=b"],
    status: ["exited"],
  });
  assertEquals(asObject('{"label":{"a":false}}'), { label: [] });
  assertEquals(parseFilters(""), NO_FILTERS);
  assertEquals(parseFilters(null).size, 0);
  assertEquals(parseFilters("{}").size, 0);
  for (const bad of ['{"label":"a"}', '{"label":[1]}', "[]", '"x"', '{"label":{"a":"yes"}}', "{"]) {
    assertThrows(() => parseFilters(bad), ApiError, "invalid filter");
  }
});

Deno.test("parseFilters: every filters value captured from compose 1.29 and the CLI", () => {
  const all = [...COMPOSE.requests, ...CLI.captures.flatMap((c) => c.requests)]
    .map((r) => parseRequestTarget(r.path).query.get("filters"))
    .filter((f): f is string => f !== null);
  assertEquals(all.length > 10, true);
  for (const text of all) parseFilters(text); // none throws
  // compose: list form, spaces after separators, sent as '+' in the query.
  const compose = parseRequestTarget(
    COMPOSE.requests.find((r) => r.path.includes("status"))!.path,
  ).query.get("filters")!;
  assertEquals(asObject(compose), {
    label: [
      "com.docker.compose.oneoff=False",
      "com.docker.compose.project=proj",
      "com.docker.compose.service=web",
    ],
    status: ["created", "exited"],
  });
  assertEquals(
    formatFilters(parseFilters('{"label":["a=b"]}')),
    '{"label":{"a=b":true}}',
  );
});

Deno.test("checkFilterKeys: moby's message for an unknown filter", () => {
  const filters = parseFilters('{"label":["a"],"colour":["red"]}');
  const error = assertThrows(() => checkFilterKeys(filters, ["label"]), ApiError);
  assertEquals(error.status, 400);
  assertEquals(error.message, "invalid filter 'colour'");
  checkFilterKeys(parseFilters('{"label":["a"]}'), ["label"]);
});

Deno.test("matchers: exact, pattern (unanchored regexp), prefix", () => {
  const f = parseFilters('{"name":["^web$","db"],"id":["4c53"]}');
  assertEquals(exactMatch(f, "name", "db"), true);
  assertEquals(exactMatch(f, "name", "dbx"), false);
  assertEquals(exactMatch(f, "absent", "x"), true);
  assertEquals(patternMatch(f, "name", "web"), true);
  assertEquals(patternMatch(f, "name", "webby"), false);
  assertEquals(patternMatch(f, "name", "mydb1"), true);
  assertEquals(prefixMatch(f, "id", "4c53aa"), true);
  assertEquals(prefixMatch(f, "id", "a4c53"), false);
  // A pattern that does not compile matches nothing (moby skips it).
  assertEquals(patternMatch(parseFilters('{"name":["(("]}'), "name", "x"), false);
});

Deno.test("labelsMatch: every value holds; key alone means present", () => {
  const f = parseFilters('{"label":["com.docker.compose.project=proj","tier"]}');
  assertEquals(labelsMatch(f, "label", { "com.docker.compose.project": "proj", tier: "" }), true);
  assertEquals(labelsMatch(f, "label", { "com.docker.compose.project": "proj" }), false);
  assertEquals(labelsMatch(f, "label", { "com.docker.compose.project": "p2", tier: "x" }), false);
  assertEquals(labelsMatch(f, "label", {}), false);
  assertEquals(labelsMatch(f, "label", null), false);
  assertEquals(labelsMatch(NO_FILTERS, "label", null), true);
  // A value with '=' in it compares everything after the first '='.
  assertEquals(labelsMatch(parseFilters('{"label":["a=b=c"]}'), "label", { a: "b=c" }), true);
});

Deno.test("filterBool: 1/true, 0/false, anything else refused", () => {
  assertEquals(filterBool(parseFilters('{"dangling":["true"]}'), "dangling", false), true);
  assertEquals(filterBool(parseFilters('{"dangling":["0"]}'), "dangling", true), false);
  assertEquals(filterBool(NO_FILTERS, "dangling", false), false);
  assertThrows(
    () => filterBool(parseFilters('{"dangling":["yes"]}'), "dangling", false),
    ApiError,
    "invalid filter 'dangling=[yes]'",
  );
  assertThrows(() => filterBool(parseFilters('{"dangling":["1","0"]}'), "dangling", false));
});

Deno.test("globToRegExp: Go's path.Match", () => {
  const match = (pattern: string, text: string) => globToRegExp(pattern).test(text);
  assertEquals(match("busy*", "busybox"), true);
  assertEquals(match("busy*", "busybox:latest"), true);
  assertEquals(match("*", "ghcr.io/a"), false);
  assertEquals(match("*/*", "library/busybox"), true);
  assertEquals(match("b?sybox", "busybox"), true);
  assertEquals(match("[a-c]usybox", "busybox"), true);
  assertEquals(match("[^a-c]usybox", "busybox"), false);
  assertEquals(match("a.b", "axb"), false);
  assertEquals(match("\\*", "*"), true);
  assertThrows(() => globToRegExp("[abc"), ApiError, "invalid pattern");
  assertThrows(() => globToRegExp("abc\\"), ApiError);
});

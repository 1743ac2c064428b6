import { assertEquals, assertThrows } from "@std/assert";
import { parseExecStart, planExecCreate } from "./exec_create.ts";
import { ApiError } from "./errors.ts";
import { parseCommandLine } from "../cli/args.ts";

interface Request {
  path: string;
  headers: Record<string, string>;
  body: Record<string, unknown> | null;
}
const CLI: { captures: { command: string; requests: Request[] }[] } = JSON.parse(
  Deno.readTextFileSync(new URL("./testdata/docker_cli_28.2.2.json", import.meta.url)),
);
const capture = (command: string) =>
  CLI.captures.find((c) => c.command.endsWith(command))!.requests;

Deno.test("exec: docker exec box echo hi (stdout and stderr, no stdin)", () => {
  const [create, start] = capture("docker exec box echo hi");
  assertEquals(planExecCreate(create.body!, "box"), {
    args: ["--", "box", "echo", "hi"],
    attachStdin: false,
    attachStdout: true,
    attachStderr: true,
    envRemove: [],
  });
  assertEquals(parseExecStart(start.body!), { detach: false, tty: false });
  assertEquals(start.headers.Upgrade, "tcp");
});

Deno.test("exec: -it in a 30x100 terminal; -e -u -w; -d", () => {
  const [create, start] = capture("docker exec -it box sh");
  assertEquals(planExecCreate(create.body!, "box"), {
    args: ["--interactive", "--tty", "--", "box", "sh"],
    attachStdin: true,
    attachStdout: true,
    attachStderr: true,
    consoleSize: [30, 100],
    envRemove: [],
  });
  assertEquals(parseExecStart(start.body!), { detach: false, tty: true, consoleSize: [30, 100] });
  const [withOptions] = capture("docker exec -e K=V -u 0 -w /tmp box echo hi");
  assertEquals(planExecCreate(withOptions.body!, "box").args, [
    "--user=0",
    "--env=K=V",
    "--workdir=/tmp",
    "--",
    "box",
    "echo",
    "hi",
  ]);
  const [detached, detachedStart] = capture("docker exec -d box touch /x");
  assertEquals(planExecCreate(detached.body!, "box").args, ["--", "box", "touch", "/x"]);
  assertEquals(parseExecStart(detachedStart.body!), { detach: true, tty: false });
  assertEquals(detachedStart.headers.Upgrade, undefined); // a plain 200 is expected
});

Deno.test("exec: refusals", () => {
  assertThrows(() => planExecCreate({ Cmd: [] }, "box"), ApiError, "No exec command specified");
  assertThrows(() => planExecCreate({}, "box"), ApiError, "No exec command specified");
  assertThrows(
    () => planExecCreate({ Cmd: ["sh"], Privileged: true }, "box"),
    ApiError,
    "Privileged=true: not supported",
  );
  assertThrows(
    () => planExecCreate({ Cmd: ["sh"], DetachKeys: "ctrl-x" }, "box"),
    ApiError,
    "DetachKeys",
  );
  assertEquals(planExecCreate({ Cmd: ["env"], Env: ["A=1", "B"] }, "box").envRemove, ["B"]);
  assertThrows(() => parseExecStart({ Detach: "yes" }), ApiError, "Detach: expected true or false");
  assertEquals(parseExecStart({}), { detach: false, tty: false });
});

Deno.test("exec: the arguments read by the CLI's own exec grammar", () => {
  const [create] = capture("docker exec -e K=V -u 0 -w /tmp box echo hi");
  const command = parseCommandLine(["exec", ...planExecCreate(create.body!, "box").args], {
    lookupEnv: () => undefined,
  });
  if (command.kind !== "exec") throw new Error(`parsed as ${command.kind}`);
  assertEquals(command.name, "box");
  assertEquals(command.command, ["echo", "hi"]);
  assertEquals([command.user, command.env, command.workdir], [{ user: "0" }, ["K=V"], "/tmp"]);
  const [it] = capture("docker exec -it box sh");
  const tty = parseCommandLine(["exec", ...planExecCreate(it.body!, "box").args]);
  if (tty.kind !== "exec") throw new Error(`parsed as ${tty.kind}`);
  assertEquals([tty.interactive, tty.tty, tty.command], [true, true, ["sh"]]);
});

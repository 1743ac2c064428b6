/**
 * Terminals: `run -it` and `exec -it` give the command a real pty (a
 * controlling terminal, the caller's window size), relay it both ways in
 * raw mode, and end with the command's exit status when it exits (Ctrl-D or
 * `exit`), as docker does. script(1) gives the CLI a terminal of its own.
 */
import { assertStringIncludes } from "@std/assert";
import { integrationTest, tsnspawnArgv } from "./helpers.ts";

/** Shell words for the CLI, for use inside `script -c`. */
const TSNSPAWN = tsnspawnArgv([]).join(" ");

/** Types `lines` into a terminal running `command`, after a pause for the container to start. */
function typed(lines: string[], command: string): string {
  const input = lines.map((line) => `sleep 2; printf '${line}\\n'`).join("; ");
  return `(sleep 1; ${input}) | script -qec "stty rows 40 cols 100; ${command}" /dev/null; echo "status=$?"`;
}

integrationTest(
  "run -it: a real terminal with the caller's size; exit status passes through",
  async (core) => {
    const out = await core.shOk(typed(
      ["tty; stty size; echo hi-from-tty", "exit 4"],
      `${TSNSPAWN} run -it --rm --network none busybox sh`,
    ));
    assertStringIncludes(out, "/dev/console");
    assertStringIncludes(out, "40 100");
    assertStringIncludes(out, "hi-from-tty");
    assertStringIncludes(out, "status=4");
  },
);

integrationTest(
  "exec -it: a pty of the container's own devpts; exit status passes through",
  async (core) => {
    await core.tsnOk([
      "run",
      "-d",
      "--name",
      "box",
      "--network",
      "none",
      "busybox",
      "sleep",
      "1000",
    ]);
    const out = await core.shOk(
      typed(["echo in-exec; tty; stty size", "exit 6"], `${TSNSPAWN} exec -it box sh`),
    );
    assertStringIncludes(out, "in-exec");
    assertStringIncludes(out, "/dev/pts/0");
    assertStringIncludes(out, "40 100");
    assertStringIncludes(out, "status=6");
    await core.tsnOk(["rm", "-f", "box"]);
  },
);

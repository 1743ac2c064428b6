/**
 * Detached terminals: `run -dit`, `create -t` + `start`, `start -ai` and
 * `attach`, driven through real ptys (tmux inside the test host): input,
 * output, window size changes seen inside, Ctrl-P Ctrl-Q and
 * `--detach-keys`, several clients at once, the terminal's output in the
 * journal, a killed terminal holder losing nothing, and `attach` to a
 * container without a terminal following its output (docker's semantics).
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { type CoreHost, integrationTest, tsnspawnArgv } from "./helpers.ts";

const TSNSPAWN = tsnspawnArgv([]).join(" ");

/** A tmux session `name` running `command` (then a shell that reports its status). */
async function tmux(core: CoreHost, name: string, command: string, size = "100x30") {
  const [x, y] = size.split("x");
  await core.shOk(
    `TERM=xterm tmux new-session -d -s ${name} -x ${x} -y ${y} ` +
      `'${command}; echo ${name}-status=$?; sleep 600'`,
  );
}

async function screen(core: CoreHost, name: string): Promise<string> {
  return await core.shOk(`tmux capture-pane -p -J -S -200 -t ${name}`);
}

async function keys(core: CoreHost, name: string, ...k: string[]): Promise<void> {
  await core.shOk(`tmux send-keys -t ${name} ${k.map((s) => `'${s}'`).join(" ")}`);
}

async function waitScreen(core: CoreHost, name: string, text: string | RegExp): Promise<string> {
  let last = "";
  await core.waitFor(`${name} to show ${text}`, async () => {
    last = await screen(core, name);
    return typeof text === "string" ? last.includes(text) : text.test(last);
  }, 20_000).catch((error) => {
    throw new Error(`${error.message}; the screen:\n${last}`);
  });
  return last;
}

integrationTest(
  "run -dit: attach, input, resize seen inside, two clients, Ctrl-P Ctrl-Q and --detach-keys",
  async (core) => {
    await core.tsnOk(["run", "-dit", "--name", "t", "--network", "none", "busybox", "sh"]);
    assertEquals(await core.unitProperty("tsnspawn-terminal@t.service", "ActiveState"), "active");
    // The holder is not in the container's unit, and not in its namespaces.
    const unitPids = (await core.shOk(
      `cat /sys/fs/cgroup/systemd$(systemctl show -P ControlGroup tsnspawn-t.service)/cgroup.procs`,
    )).trim().split("\n");
    const holder = await core.unitProperty("tsnspawn-terminal@t.service", "MainPID");
    assert(!unitPids.includes(holder), `${holder} in ${unitPids}`);

    await tmux(core, "a", `${TSNSPAWN} attach t`, "100x30");
    await new Promise((r) => setTimeout(r, 1500));
    await keys(core, "a", "stty size; echo mark-$((6*7))", "Enter");
    let text = await waitScreen(core, "a", "mark-42");
    assertStringIncludes(text, "30 100");

    // A second client sees the first one's session.
    await tmux(core, "b", `${TSNSPAWN} attach t`, "100x30");
    await new Promise((r) => setTimeout(r, 1500));
    await keys(core, "a", "echo both-see-$((1+1))", "Enter");
    await waitScreen(core, "b", "both-see-2");

    // The window grows: the container sees it.
    await core.shOk("tmux resize-window -t a -x 120 -y 40");
    await new Promise((r) => setTimeout(r, 500));
    await keys(core, "a", "stty size", "Enter");
    await waitScreen(core, "a", "40 120");

    // Ctrl-P Ctrl-Q detaches; the container runs on.
    await keys(core, "a", "C-p", "C-q");
    await waitScreen(core, "a", "a-status=0");
    assertMatch(await core.tsnOk(["list"]), /^t\s.*running/m);

    // Other detach keys.
    await keys(core, "b", "C-c");
    await core.shOk("tmux kill-session -t b");
    await tmux(core, "c", `${TSNSPAWN} attach --detach-keys ctrl-a,d t`);
    await new Promise((r) => setTimeout(r, 1500));
    await keys(core, "c", "echo still-here", "Enter");
    await waitScreen(core, "c", "still-here");
    await keys(core, "c", "C-a", "d");
    await waitScreen(core, "c", "c-status=0");

    // The terminal's output is in the journal.
    const logs = await core.tsnOk(["logs", "t"]);
    assertStringIncludes(logs, "mark-42");
    assertStringIncludes(logs, "both-see-2");

    // Exiting the shell ends the container; an attached client learns its status.
    await tmux(core, "d", `${TSNSPAWN} attach t`);
    await new Promise((r) => setTimeout(r, 1500));
    await keys(core, "d", "exit 7", "Enter");
    text = await waitScreen(core, "d", "d-status=7");
    await core.waitFor(
      "the holder to stop with the container",
      async () =>
        (await core.unitProperty("tsnspawn-terminal@t.service", "ActiveState")) !== "active",
    );
    await core.shOk("tmux kill-server");
  },
);

integrationTest(
  "a killed terminal holder loses nothing: systemd gives it the terminal back",
  async (core) => {
    await core.tsnOk(["run", "-dit", "--name", "k", "--network", "none", "busybox", "sh"]);
    const first = await core.unitProperty("tsnspawn-terminal@k.service", "MainPID");
    await core.shOk(`kill -9 ${first}`);
    await core.waitFor("the holder to come back", async () => {
      const pid = await core.unitProperty("tsnspawn-terminal@k.service", "MainPID");
      return pid !== first && pid !== "0";
    });
    // The container never noticed: its shell still answers on the same terminal.
    assertMatch(await core.tsnOk(["list"]), /^k\s.*running/m);
    await tmux(core, "a", `${TSNSPAWN} attach k`);
    await new Promise((r) => setTimeout(r, 1500));
    await keys(core, "a", "echo alive-$((2*21))", "Enter");
    await waitScreen(core, "a", "alive-42");
    await keys(core, "a", "C-p", "C-q");
    await waitScreen(core, "a", "a-status=0");
    await core.shOk("tmux kill-server");
    await core.tsnOk(["rm", "-f", "k"]);
  },
);

integrationTest(
  "create -t + start, start -ai; attach without a terminal follows the output",
  async (core) => {
    await core.tsnOk([
      "create",
      "-t",
      "--name",
      "ct",
      "--network",
      "none",
      "busybox",
      "sh",
      "-c",
      "echo from-ct; sleep 100",
    ]);
    await core.tsnOk(["start", "ct"]);
    await core.waitFor(
      "its output",
      async () => (await core.tsnOk(["logs", "ct"])).includes("from-ct"),
    );
    await core.tsnOk(["rm", "-f", "ct"]);

    // start -ai: attached from the first byte (the output so far is replayed).
    await core.tsnOk(["create", "-it", "--name", "ai", "--network", "none", "busybox", "sh"]);
    await tmux(core, "s", `${TSNSPAWN} start -ai ai`);
    await waitScreen(core, "s", /\/ #/);
    await keys(core, "s", "echo started-$((3+4)); exit 9", "Enter");
    await waitScreen(core, "s", "s-status=9");
    assertStringIncludes(await screen(core, "s"), "started-7");
    await core.shOk("tmux kill-server");

    // No terminal: attach streams what the container writes from now on, and its status.
    await core.tsnOk([
      "run",
      "-d",
      "--name",
      "plain",
      "--network",
      "none",
      "busybox",
      "sh",
      "-c",
      "sleep 2; echo late-line; echo late-err >&2; exit 3",
    ]);
    const attached = await core.tsn(["attach", "plain"]);
    assertEquals(attached.code, 3, attached.stderr);
    assertStringIncludes(attached.stdout, "late-line");
    assertStringIncludes(attached.stderr, "late-err");
    // No holder for containers without a terminal.
    assertEquals(
      (await core.shOk("systemctl list-units --all --no-legend 'tsnspawn-terminal@*'")).trim(),
      "",
    );
  },
);

integrationTest("run -t without a terminal of our own: output, TERM, exit status", async (core) => {
  const result = await core.tsn([
    "run",
    "-t",
    "--rm",
    "--network",
    "none",
    "busybox",
    "sh",
    "-c",
    "echo TERM=$TERM; exit 4",
  ]);
  assertEquals(result.code, 4, result.stderr);
  assertStringIncludes(result.stdout, "TERM=xterm");
});

import { assertEquals } from "@std/assert";
import {
  type ExitFacts,
  formatInspectState,
  formatStatusText,
  planContainerState,
  type UnitFacts,
} from "./inspect_state.ts";

const S = 1_000_000_000n;
const START_USEC = 1_700_000_000n * 1_000_000n;
const running: UnitFacts = {
  activeState: "active",
  subState: "running",
  mainPid: 4242,
  nRestarts: 0,
  activeEnterTimestamp: START_USEC,
};
const exited: ExitFacts = {
  exitCode: 3,
  finishedAt: "2023-11-14T22:14:20.000Z",
  serviceResult: "exit-code",
};

Deno.test("planContainerState: running from the unit", () => {
  const state = planContainerState({ unit: running, exit: exited });
  assertEquals(state.status, "running");
  assertEquals([state.running, state.pid, state.exitCode], [true, 4242, 0]);
  assertEquals(state.startedNs, 1_700_000_000n * S);
  assertEquals(state.finishedNs, null);
  assertEquals(formatStatusText(state, (1_700_000_000n + 3n) * S), "Up 3 seconds");
  assertEquals(formatInspectState(state), {
    Status: "running",
    Running: true,
    Paused: false,
    Restarting: false,
    OOMKilled: false,
    Dead: false,
    Pid: 4242,
    ExitCode: 0,
    Error: "",
    StartedAt: "2023-11-14T22:13:20Z",
    FinishedAt: "0001-01-01T00:00:00Z",
  });
});

Deno.test("planContainerState: exited from the exit record, created without one", () => {
  const gone = planContainerState({ unit: null, exit: exited });
  assertEquals([gone.status, gone.running, gone.exitCode, gone.pid], ["exited", false, 3, 0]);
  assertEquals(formatStatusText(gone, (1_700_000_060n + 125n) * S), "Exited (3) 2 minutes ago");
  assertEquals(formatInspectState(gone).FinishedAt, "2023-11-14T22:14:20Z");
  const inactive = planContainerState({
    unit: { ...running, activeState: "inactive", subState: "dead" },
    exit: exited,
  });
  assertEquals(inactive.status, "exited");
  assertEquals(inactive.startedNs, 1_700_000_000n * S);
  const created = planContainerState({ unit: null, exit: null });
  assertEquals([created.status, created.startedNs, created.finishedNs], ["created", null, null]);
  assertEquals(formatStatusText(created, 0n), "Created");
  assertEquals(formatInspectState(created).StartedAt, "0001-01-01T00:00:00Z");
});

Deno.test("planContainerState: restarting, OOM, removing, health", () => {
  const restarting = planContainerState({
    unit: { ...running, activeState: "activating", subState: "auto-restart", nRestarts: 2 },
    exit: { ...exited, exitCode: 1 },
  });
  assertEquals([restarting.status, restarting.running, restarting.restarting], [
    "restarting",
    true,
    true,
  ]);
  assertEquals([restarting.pid, restarting.exitCode, restarting.restartCount], [0, 1, 2]);
  assertEquals(
    formatStatusText(restarting, (1_700_000_060n + 5n) * S),
    "Restarting (1) 5 seconds ago",
  );
  const oom = planContainerState({
    unit: null,
    exit: { ...exited, exitCode: 137, serviceResult: "oom-kill" },
  });
  assertEquals([oom.oomKilled, oom.exitCode], [true, 137]);
  const removing = planContainerState({ unit: null, exit: exited, removing: true });
  assertEquals(formatStatusText(removing, 0n), "Removal In Progress");
  const healthy = planContainerState({
    unit: running,
    exit: null,
    health: {
      status: "healthy",
      failingStreak: 0,
      log: [{
        startNs: 1_700_000_001n * S,
        endNs: 1_700_000_002n * S,
        exitCode: 0,
        output: "ok\n",
      }],
    },
  });
  assertEquals(formatStatusText(healthy, (1_700_000_000n + 7200n) * S), "Up 2 hours (healthy)");
  assertEquals(formatInspectState(healthy).Health, {
    Status: "healthy",
    FailingStreak: 0,
    Log: [{
      Start: "2023-11-14T22:13:21Z",
      End: "2023-11-14T22:13:22Z",
      ExitCode: 0,
      Output: "ok\n",
    }],
  });
  const starting = planContainerState({
    unit: running,
    exit: null,
    health: { status: "starting", failingStreak: 0, log: [] },
  });
  assertEquals(
    formatStatusText(starting, 1_700_000_000n * S),
    "Up Less than a second (health: starting)",
  );
});

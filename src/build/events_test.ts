import { assertEquals } from "@std/assert";
import { formatBuildEvent, shortImageId } from "./events.ts";

const ID = "sha256:" + "3f2a9c0d1b2e".repeat(5) + "abcd";

Deno.test("build events print as buildah's and docker's classic builder", () => {
  const one = { stage: 1, stages: 1, step: 3, steps: 9 };
  assertEquals(
    formatBuildEvent({ kind: "step", position: one, text: "COPY . /app" }),
    "STEP 3/9: COPY . /app\n",
  );
  assertEquals(
    formatBuildEvent({ kind: "step", position: { ...one, stage: 2, stages: 3 }, text: "RUN make" }),
    "[2/3] STEP 3/9: RUN make\n",
  );
  assertEquals(formatBuildEvent({ kind: "cached", id: ID }), `--> Using cache ${ID.slice(7)}\n`);
  assertEquals(formatBuildEvent({ kind: "built", id: ID }), "--> 3f2a9c0d1b2e\n");
  assertEquals(formatBuildEvent({ kind: "output", stream: "stderr", text: "x\n" }), "x\n");
  assertEquals(formatBuildEvent({ kind: "commit", tags: ["a:1", "b:2"] }), "COMMIT a:1, b:2\n");
  assertEquals(formatBuildEvent({ kind: "commit", tags: [] }), "COMMIT\n");
  assertEquals(
    formatBuildEvent({ kind: "done", id: ID, tags: ["docker.io/library/app:1"] }),
    `--> 3f2a9c0d1b2e\nSuccessfully tagged docker.io/library/app:1\n${ID.slice(7)}\n`,
  );
  assertEquals(shortImageId(ID), "3f2a9c0d1b2e");
});

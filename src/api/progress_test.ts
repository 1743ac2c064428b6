import { assertEquals } from "@std/assert";
import {
  buildOutput,
  buildResult,
  formatHumanSize,
  formatJsonMessage,
  formatProgressBar,
  layerProgress,
  parseJsonMessages,
  pullingFrom,
  pullSummary,
  streamError,
} from "./progress.ts";

const LAYER = "sha256:" + "ab12".repeat(16);

Deno.test("a pull that renders like docker's, message by message", () => {
  const messages = [
    pullingFrom("library/busybox", "latest"),
    layerProgress(LAYER, "Pulling fs layer"),
    layerProgress(LAYER, "Downloading", { current: 1_200_000, total: 2_400_000 }),
    layerProgress(LAYER, "Download complete"),
    layerProgress(LAYER, "Pull complete"),
    ...pullSummary("sha256:" + "c".repeat(64), "busybox:latest", true),
  ];
  const text = messages.map(formatJsonMessage).join("");
  assertEquals(text.split("\r\n").length, messages.length + 1);
  assertEquals(
    text.split("\r\n")[0],
    '{"status":"Pulling from library/busybox","id":"latest"}',
  );
  assertEquals(
    text.split("\r\n")[1],
    '{"status":"Pulling fs layer","progressDetail":{},"id":"ab12ab12ab12"}',
  );
  assertEquals(parseJsonMessages(text)[2], {
    status: "Downloading",
    progressDetail: { current: 1_200_000, total: 2_400_000 },
    progress: "[=========================>                         ] " + "   1.2MB/2.4MB",
    id: "ab12ab12ab12",
  });
  assertEquals(parseJsonMessages(text).at(-1), {
    status: "Status: Downloaded newer image for busybox:latest",
  });
  assertEquals(
    pullSummary("sha256:x", "a:1", false)[1].status,
    "Status: Image is up to date for a:1",
  );
});

Deno.test("errors in the stream carry errorDetail and the legacy error", () => {
  assertEquals(
    formatJsonMessage(streamError("manifest unknown")),
    '{"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown"}\r\n',
  );
});

Deno.test("a classic build ends with aux ID and the line compose 1.29 looks for", () => {
  const id = "sha256:" + "9d75f0d7c398".repeat(5) + "abcd";
  const text = [buildOutput("Step 1/2 : FROM busybox\n"), ...buildResult(id, ["x:1"])]
    .map(formatJsonMessage).join("");
  const messages = parseJsonMessages(text);
  assertEquals(messages[1], { aux: { ID: id } });
  // compose/service.py: re.search('Successfully built ([0-9a-f]+)', ...)
  const built = /Successfully built ([0-9a-f]+)/.exec(messages[2].stream!);
  assertEquals(built?.[1], "9d75f0d7c398");
  assertEquals(messages[3], { stream: "Successfully tagged x:1\n" });
});

Deno.test("formatHumanSize and formatProgressBar follow go-units and moby", () => {
  assertEquals(formatHumanSize(0), "0B");
  assertEquals(formatHumanSize(999), "999B");
  assertEquals(formatHumanSize(1000), "1kB");
  assertEquals(formatHumanSize(1_234_567), "1.235MB");
  assertEquals(formatHumanSize(2_400_000_000), "2.4GB");
  assertEquals(formatProgressBar(0, 0), "");
  assertEquals(formatProgressBar(5000, 0), "     5kB");
  assertEquals(formatProgressBar(10, 10), `[${"=".repeat(50)}>] ${"10B".padStart(8)}/10B`);
  assertEquals(formatProgressBar(0, 10), `[>${" ".repeat(50)}] ${"0B".padStart(8)}/10B`);
});

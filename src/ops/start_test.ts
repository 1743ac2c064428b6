import { assertEquals } from "@std/assert";
import { planStartFailure } from "./start.ts";

const UNIT = "tsnspawn-os.service";

Deno.test("start failures: the runtime's last reason and hint", () => {
  assertEquals(
    planStartFailure([
      "some output",
      "tsnspawn: stage two: command nope: not found in the container's PATH (/bin)",
      "tsnspawn: hint: give an absolute path or set PATH with -e",
    ], UNIT),
    {
      reason: "stage two: command nope: not found in the container's PATH (/bin)",
      hint: "give an absolute path or set PATH with -e",
      reported: true,
    },
  );
  assertEquals(planStartFailure([], UNIT).reason, `the unit ${UNIT} failed without output`);
  assertEquals(planStartFailure(["", "last words", ""], UNIT).reason, "last words");
  assertEquals(planStartFailure(["", "last words", ""], UNIT).reported, false);
});

Deno.test("start failures: a failed boot quotes the container's last output", () => {
  const lines = [
    ...Array.from({ length: 10 }, (_, i) => `line ${i}`),
    "tsnspawn: warning: ignored",
    "tsnspawn: boot failed: its systemd froze",
  ];
  const { reason } = planStartFailure(lines, UNIT);
  assertEquals(
    reason,
    "boot failed: its systemd froze; its last output:\n" +
      Array.from({ length: 8 }, (_, i) => `  | line ${i + 2}`).join("\n"),
  );
});

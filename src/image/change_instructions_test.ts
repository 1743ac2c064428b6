import { assertEquals, assertThrows } from "@std/assert";
import { applyChanges, parseChange, splitWords } from "./change_instructions.ts";
import { TsnspawnError } from "../errors.ts";

Deno.test("--change: exec and shell forms", () => {
  assertEquals(parseChange('CMD ["nginx", "-g", "daemon off;"]'), {
    kind: "CMD",
    argv: ["nginx", "-g", "daemon off;"],
  });
  assertEquals(parseChange("cmd nginx -g 'daemon off;'"), {
    kind: "CMD",
    argv: ["/bin/sh", "-c", "nginx -g 'daemon off;'"],
  });
  assertEquals(parseChange("ENTRYPOINT []"), { kind: "ENTRYPOINT", argv: [] });
  assertEquals(parseChange("ENTRYPOINT [not json"), {
    kind: "ENTRYPOINT",
    argv: ["/bin/sh", "-c", "[not json"],
  });
});

Deno.test("--change: ENV, LABEL, EXPOSE, VOLUME and the rest", () => {
  assertEquals(parseChange('ENV A=1 B="two words" C=a\\ b'), {
    kind: "ENV",
    pairs: [["A", "1"], ["B", "two words"], ["C", "a b"]],
  });
  assertEquals(parseChange("ENV LEGACY the rest of the line"), {
    kind: "ENV",
    pairs: [["LEGACY", "the rest of the line"]],
  });
  assertEquals(parseChange("LABEL 'a b'=c d="), {
    kind: "LABEL",
    pairs: [["a b", "c"], ["d", ""]],
  });
  assertEquals(parseChange("EXPOSE 80 53/UDP 8000-8010"), {
    kind: "EXPOSE",
    ports: ["80/tcp", "53/udp", "8000-8010/tcp"],
  });
  assertEquals(parseChange('VOLUME ["/a", "/b"]'), { kind: "VOLUME", paths: ["/a", "/b"] });
  assertEquals(parseChange("VOLUME /a /b"), { kind: "VOLUME", paths: ["/a", "/b"] });
  assertEquals(parseChange("USER app:staff"), { kind: "USER", value: "app:staff" });
  for (const bad of ["RUN make", "FROM x", "LABEL nokey", "EXPOSE http", "VOLUME rel", "", "ENV"]) {
    assertThrows(() => parseChange(bad), TsnspawnError, undefined, bad);
  }
  assertThrows(() => splitWords('"open'), RangeError);
});

Deno.test("--change: applied in order over the container's config", () => {
  const config = applyChanges(
    { Cmd: ["sh"], Env: ["PATH=/bin", "A=1"], WorkingDir: "/srv", Labels: { x: "1" } },
    [
      parseChange('CMD ["run"]'),
      parseChange("ENV A=2 B=3"),
      parseChange("WORKDIR app"),
      parseChange("WORKDIR sub"),
      parseChange("LABEL y=2"),
      parseChange("EXPOSE 80"),
      parseChange("STOPSIGNAL SIGQUIT"),
      parseChange("VOLUME /data"),
    ],
  );
  assertEquals(config, {
    Cmd: ["run"],
    Env: ["PATH=/bin", "A=2", "B=3"],
    WorkingDir: "/srv/app/sub",
    Labels: { x: "1", y: "2" },
    ExposedPorts: { "80/tcp": {} },
    StopSignal: "SIGQUIT",
    Volumes: { "/data": {} },
  });
});

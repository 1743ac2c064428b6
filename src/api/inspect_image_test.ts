import { assertEquals } from "@std/assert";
import {
  formatImageDelete,
  formatImageInspect,
  formatImageSummary,
  type ImageFacts,
} from "./inspect_image.ts";

const BUSYBOX: ImageFacts = {
  id: "sha256:" + "1".repeat(64),
  repoTags: ["busybox:latest"],
  repoDigests: ["busybox@sha256:" + "a".repeat(64)],
  config: {
    created: "2023-05-18T22:34:17.236488525Z",
    architecture: "amd64",
    os: "linux",
    config: {
      Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
      Cmd: ["sh"],
      Volumes: { "/data": {} },
      Labels: { tier: "base" },
    },
    rootfs: { type: "layers", diff_ids: ["sha256:" + "c".repeat(64)] },
  },
  size: 4_261_550,
};

Deno.test("image list entry: docker's fields at API 1.44", () => {
  assertEquals(formatImageSummary(BUSYBOX), {
    Id: BUSYBOX.id,
    ParentId: "",
    RepoTags: ["busybox:latest"],
    RepoDigests: ["busybox@sha256:" + "a".repeat(64)],
    Created: 1_684_449_257,
    Size: 4_261_550,
    SharedSize: -1,
    Labels: { tier: "base" },
    Containers: -1,
  });
  const untagged = formatImageSummary({
    ...BUSYBOX,
    repoTags: [],
    repoDigests: [],
    config: { ...BUSYBOX.config, created: undefined, config: undefined },
  });
  assertEquals([untagged.RepoTags, untagged.Created, untagged.Labels], [[], 0, null]);
});

Deno.test("image inspect keeps ContainerConfig (compose 1.29 reads its Volumes)", () => {
  const inspect = formatImageInspect(BUSYBOX) as Record<string, Record<string, unknown>>;
  assertEquals(inspect.Id as unknown, BUSYBOX.id);
  assertEquals(inspect.Created as unknown, "2023-05-18T22:34:17.236488525Z");
  assertEquals(inspect.ContainerConfig.Volumes, { "/data": {} });
  assertEquals(inspect.Config.Cmd, ["sh"]);
  assertEquals(inspect.Config.Entrypoint, null);
  assertEquals(inspect.Config.Env, [
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  ]);
  assertEquals(inspect.RootFS, { Type: "layers", Layers: ["sha256:" + "c".repeat(64)] });
  assertEquals([inspect.Os, inspect.Architecture] as unknown[], ["linux", "amd64"]);
  assertEquals("VirtualSize" in inspect, false);
  assertEquals("Variant" in inspect, false);
  assertEquals(
    (formatImageInspect({ ...BUSYBOX, config: { ...BUSYBOX.config, variant: "v8" } })).Variant,
    "v8",
  );
});

Deno.test("DELETE /images answer: untagged then deleted", () => {
  assertEquals(formatImageDelete(["busybox:latest"], [BUSYBOX.id]), [
    { Untagged: "busybox:latest" },
    { Deleted: BUSYBOX.id },
  ]);
});

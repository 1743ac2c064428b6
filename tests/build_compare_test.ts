/**
 * tsnspawn build compared with buildah (tests/build/buildah.ts): the same
 * Containerfiles, built by both in one test host, must give the same files
 * (path, type, mode, owner, size, content hash, symlink target over the whole
 * flattened root file system), the same config fields and the same number of
 * layers. Together the cases use every instruction, .dockerignore with
 * exceptions, COPY --from, --chown/--chmod, ADD of a tar, ARG before FROM,
 * ONBUILD and USER by name. Here-documents are not compared: buildah 1.28
 * (Debian 12) predates them (tests/build_test.ts checks tsnspawn's).
 */
import { assert, assertEquals } from "@std/assert";
import { integrationTest } from "./helpers.ts";
import { compareBuilds, prepareBuildah, writeContext } from "./build/buildah.ts";
import { createTar } from "../src/image/tar.ts";

const INSTRUCTIONS = `# syntax=docker/dockerfile:1
ARG BASE=localhost/busybox
FROM \${BASE} AS base
MAINTAINER someone@example.com
ARG GREETING=hello
ENV APP_HOME=/app \\
    MODE=production
LABEL org.example.name="demo app" org.example.version=1
WORKDIR $APP_HOME
RUN echo "$GREETING from $MODE" > greeting.txt && mkdir -p /data/cache && chmod 750 /data
RUN set -e; echo linked > /linked.txt; ln -s /linked.txt /link; touch /data/cache/x
RUN rm /data/cache/x && rm -r /var/www
COPY --chown=app:app files/ /app/files/
COPY --chmod=755 run.sh /usr/local/bin/run
ADD archive.tar /opt/
ADD plain.txt /opt/plain.txt
COPY files/a.txt files/b.txt /multi/
EXPOSE 8080 9090/udp
VOLUME /data
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=30s --timeout=3s --retries=2 CMD wget -q -O- http://localhost:8080/ || exit 1
SHELL ["/bin/sh", "-ec"]
RUN echo shell > /shell.txt
USER app
RUN echo "$(id -u):$(id -g)" > /home/app/id.txt
ENTRYPOINT ["/usr/local/bin/run"]
CMD ["--serve"]
`;

function archive(): Uint8Array {
  return createTar([
    { header: { path: "pkg/", type: "dir", mode: 0o755, uid: 0, gid: 0, mtime: 1 } },
    {
      header: { path: "pkg/tool", type: "file", mode: 0o755, uid: 1000, gid: 1000, mtime: 1 },
      data: "#!/bin/sh\necho tool\n",
    },
    {
      header: { path: "pkg/link", type: "symlink", mode: 0o777, linkname: "tool", mtime: 1 },
    },
    {
      header: { path: "pkg/conf/app.conf", type: "file", mode: 0o640, uid: 0, gid: 0, mtime: 1 },
      data: "key=value\n",
    },
  ]);
}

integrationTest("build vs buildah: every instruction, ADD of a tar", async (core) => {
  await prepareBuildah(core);
  writeContext(core, "/tmp/instructions", {
    Containerfile: INSTRUCTIONS,
    "files/a.txt": "a\n",
    "files/b.txt": "b\n",
    "files/sub/c.txt": { text: "c\n", mode: 0o600 },
    "run.sh": { text: "#!/bin/sh\necho run\n", mode: 0o644 },
    "plain.txt": "plain\n",
    "archive.tar": { bytes: archive() },
  });
  const { entries, config } = await compareBuilds(core, "/tmp/instructions", "instructions");
  const byPath = new Map(entries.map((e) => [e.path, e]));
  // What the Containerfile promises, beyond agreeing with buildah:
  assertEquals(byPath.get("/app/files/sub/c.txt")?.uid, 1000);
  assertEquals(byPath.get("/usr/local/bin/run")?.mode, "755");
  assertEquals(byPath.get("/opt/pkg/tool")?.uid, 1000);
  assertEquals(byPath.get("/opt/pkg/link")?.link, "tool");
  assertEquals(byPath.get("/link")?.link, "/linked.txt");
  assertEquals(byPath.has("/data/cache/x"), false);
  assertEquals(byPath.has("/var/www"), false);
  assertEquals(byPath.has("/etc/hosts"), false);
  assertEquals(config.User, "app");
  assertEquals(config.WorkingDir, "/app");
  const out = await core.tsnOk([
    "run",
    "--rm",
    "--network",
    "none",
    "--entrypoint",
    "",
    "localhost/instructions",
    "cat",
    "/app/greeting.txt",
    "/home/app/id.txt",
  ]);
  assertEquals(out, "hello from production\n1000:1000\n");
});

integrationTest(
  "build vs buildah: stages, COPY --from, .dockerignore with exceptions, globs",
  async (core) => {
    await prepareBuildah(core);
    writeContext(core, "/tmp/stages", {
      Containerfile: `FROM localhost/busybox AS gen
RUN mkdir -p /out/sub && echo a > /out/a && echo b > /out/sub/b && chown -R 1000:1000 /out/sub && chmod 700 /out/sub && ln -s a /out/link
FROM localhost/busybox AS unused
RUN exit 1
FROM gen AS child
RUN echo child >> /out/a
FROM localhost/busybox
COPY --from=gen /out /copied
COPY --from=child /out/a /single
COPY --from=0 /out/sub/ /sub-contents/
COPY . /ctx/
COPY *.txt /globbed/
COPY dir /dir-no-slash
COPY keep.log /kept
RUN ls -R /ctx > /ls.txt
`,
      ".dockerignore": "*.log\n!keep.log\nsecret/\n**/tmp*\n",
      "one.txt": "1\n",
      "two.txt": "2\n",
      "noise.log": "x\n",
      "keep.log": "kept\n",
      "secret/key": "hidden\n",
      "dir/tmpfile": "gone\n",
      "dir/real": "here\n",
      "dir/deep/tmp/x": "gone\n",
    });
    const { entries } = await compareBuilds(core, "/tmp/stages", "stages");
    const paths = new Set(entries.map((e) => e.path));
    for (
      const present of [
        "/ctx/one.txt",
        "/ctx/keep.log",
        "/globbed/two.txt",
        "/dir-no-slash/real",
        "/kept",
        "/copied/sub/b",
        "/sub-contents/b",
      ]
    ) {
      assert(paths.has(present), `${present} is missing`);
    }
    for (
      const absent of ["/ctx/noise.log", "/ctx/secret", "/ctx/dir/tmpfile", "/ctx/dir/deep/tmp"]
    ) {
      assert(!paths.has(absent), `${absent} should be excluded`);
    }
    const single = await core.tsnOk([
      "run",
      "--rm",
      "--network",
      "none",
      "localhost/stages",
      "cat",
      "/single",
    ]);
    assertEquals(single, "a\nchild\n");
  },
);

integrationTest("build vs buildah: ONBUILD triggers, USER and --chown by name", async (core) => {
  await prepareBuildah(core);
  writeContext(core, "/tmp/parent", {
    Containerfile: `FROM localhost/busybox
RUN echo 'svc:x:2000:3000:service:/home/svc:/bin/sh' >> /etc/passwd && echo 'svcg:x:3000:' >> /etc/group && mkdir -p /home/svc && chown 2000:3000 /home/svc
ONBUILD COPY trigger.txt /from-trigger.txt
ONBUILD RUN echo triggered > /triggered
`,
  });
  await compareBuilds(core, "/tmp/parent", "parent");
  writeContext(core, "/tmp/child", {
    Containerfile: `FROM localhost/parent
COPY --chown=svc f /by-user
COPY --chown=svc:svcg f /by-user-group
COPY --chown=2001 f /by-uid
COPY --chown=2001:svcg f /by-uid-group
COPY --chown=2000 f /by-known-uid
USER svc
RUN id -u > /home/svc/uid && id -g >> /home/svc/uid
USER svc:0
RUN id -g > /home/svc/gid
`,
    "trigger.txt": "t\n",
    f: "f\n",
  });
  const { entries } = await compareBuilds(core, "/tmp/child", "child");
  const byPath = new Map(entries.map((e) => [e.path, e]));
  assertEquals(byPath.get("/from-trigger.txt")?.size, 2);
  assertEquals(byPath.get("/triggered")?.size, 10);
  assertEquals([byPath.get("/by-user-group")?.uid, byPath.get("/by-user-group")?.gid], [
    2000,
    3000,
  ]);
});

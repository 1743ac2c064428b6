/**
 * `tsnspawn build`, end to end in a throwaway systemd host over the busybox
 * image: here-documents, ADD of URLs, RUN --mount, the isolation of RUN
 * steps, parallel stages and --target, the cache (all hits, one changed
 * file, a changed build arg, --no-cache, concurrent builds, image prune),
 * reproducible images, what a failing, interrupted or killed build leaves
 * (nothing, after `tsnspawn check`; also with SIGKILL at random moments of
 * 15 builds), the one-line errors of bad
 * Containerfiles, and the result taken by run, save/load and push.
 * buildah comparisons are in build_compare_test.ts.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { type CoreHost, integrationTest, tsnspawnArgv, withCoreHost } from "./helpers.ts";
import { writeContext } from "./build/buildah.ts";

/** The CLI as a shell command (the bundle the tests run). */
const TSN = tsnspawnArgv([]).join(" ");

/** The image's inspect document. */
async function inspect(core: CoreHost, image: string) {
  const [doc] = JSON.parse(await core.tsnOk(["image", "inspect", image]));
  return doc;
}

/** What the host has left of containers, units and temporary entries. */
async function leftovers(core: CoreHost): Promise<string> {
  return (await core.shOk(
    "ls -A /var/lib/tsnspawn/containers; ls -A /var/lib/tsnspawn/tmp | grep -v '^partial$' || true; " +
      "systemctl list-units --all --plain --no-legend 'tsnspawn-*.service' | grep -v machine || true",
  )).trim();
}

/** Steps that used the cache and steps that ran, in the order of a build's output. */
function steps(output: string): ("cache" | "run")[] {
  const end = output.indexOf("\nCOMMIT");
  return output.slice(0, end < 0 ? undefined : end).split("\n").flatMap((
    line,
  ): ("cache" | "run")[] =>
    line.startsWith("--> Using cache") ? ["cache"] : /^--> [0-9a-f]{12}$/.test(line) ? ["run"] : []
  );
}

integrationTest(
  "build: here-documents, metadata steps without layers, ADD of a URL",
  async (core) => {
    await core.shOk(
      "mkdir -p /tmp/www && echo served > /tmp/www/file.txt && " +
        "setsid busybox httpd -p 127.0.0.1:8099 -h /tmp/www </dev/null >/dev/null 2>&1",
    );
    const sum = (await core.shOk("sha256sum /tmp/www/file.txt")).split(" ")[0];
    writeContext(core, "/tmp/ctx", {
      Containerfile: `FROM busybox
ARG WHO=world
ENV GREETING=hello
RUN <<EOF
echo "$GREETING $WHO" > /greeting
echo second line >> /greeting
EOF
RUN <<EOF
#!/bin/sh
echo "from a program: $0" > /program
EOF
RUN <<A cat > /a && <<B cat > /b
first
A
second
B
COPY <<EOF /etc/motd
Welcome, \${WHO}
EOF
COPY <<-'EOT' /literal
	$NOT_EXPANDED
	EOT
ADD http://127.0.0.1:8099/file.txt /downloads/
ADD --checksum=sha256:${sum} http://127.0.0.1:8099/file.txt /checked.txt
LABEL a=b
EXPOSE 80
CMD ["cat", "/greeting"]
`,
    });
    const out = await core.tsnOk([
      "build",
      "-t",
      "heredocs",
      "--build-arg",
      "WHO=build",
      "/tmp/ctx",
    ]);
    assertStringIncludes(out, "STEP 1/13: FROM busybox\n");
    assertStringIncludes(out, "STEP 4/13: RUN <<EOF\n");
    assertStringIncludes(out, 'STEP 13/13: CMD ["cat", "/greeting"]\n');
    assertStringIncludes(out, "Successfully tagged docker.io/library/heredocs:latest\n");
    const files = await core.tsnOk([
      "run",
      "--rm",
      "--network",
      "none",
      "heredocs",
      "cat",
      "/greeting",
      "/program",
      "/a",
      "/b",
      "/etc/motd",
      "/literal",
      "/downloads/file.txt",
      "/checked.txt",
    ]);
    assertEquals(
      files,
      "hello build\nsecond line\nfrom a program: /dev/pipes/EOF\nfirst\nsecond\nWelcome, build\n" +
        "$NOT_EXPANDED\nserved\nserved\n",
    );
    const image = await inspect(core, "heredocs");
    // busybox's one layer + 3 RUN + 2 COPY + 2 ADD; ARG, ENV, LABEL, EXPOSE, CMD add none.
    assertEquals(image.RootFS.diff_ids.length, 8);
    const history = image.History.slice(1) as { created_by: string; empty_layer?: boolean }[];
    assertEquals(history.map((h) => h.empty_layer === true), [
      true,
      true,
      false,
      false,
      false,
      false,
      false,
      false,
      false,
      true,
      true,
      true,
    ]);
    assertMatch(history[4].created_by, /^\|1 WHO=build \/bin\/sh -c <<A cat > \/a/);
    assertEquals(image.Config.Labels, { a: "b" });
    assertEquals(image.Config.ExposedPorts, { "80/tcp": {} });
    // A wrong checksum fails the step, naming both digests.
    writeContext(core, "/tmp/bad", {
      Containerfile: `FROM busybox\nADD --checksum=sha256:${
        "0".repeat(64)
      } http://127.0.0.1:8099/file.txt /x\n`,
    });
    const bad = await core.tsn(["build", "/tmp/bad"]);
    assertEquals(bad.code, 1);
    assertStringIncludes(bad.stderr, `Containerfile:2: ADD`);
    assertStringIncludes(bad.stderr, `the content's digest is sha256:${sum}`);
    assertEquals(await leftovers(core), "");
  },
);

integrationTest(
  "build: RUN steps are isolated containers under systemd, on the build's network",
  async (core) => {
    writeContext(core, "/tmp/ctx", {
      Containerfile: `FROM busybox
RUN grep -E '^(CapEff|Seccomp|NoNewPrivs):' /proc/self/status > /status && echo "in a unit" && ip -o link | cut -d: -f2 > /links
RUN --network=none ip -o link | cut -d: -f2 > /links-none
RUN --mount=type=tmpfs,target=/scratch touch /scratch/x && grep ' /scratch ' /proc/mounts | cut -d' ' -f3 > /scratch-fs
RUN --mount=type=bind,source=data,target=/data cat /data/value > /from-bind
`,
      "data/value": "bound\n",
    });
    await core.tsnOk(["build", "-q", "-t", "isolated", "/tmp/ctx"]);
    const out = await core.tsnOk([
      "run",
      "--rm",
      "--network",
      "none",
      "isolated",
      "cat",
      "/status",
      "/links",
      "/links-none",
      "/scratch-fs",
      "/from-bind",
    ]);
    // Docker's 14 capabilities, the seccomp filter, no_new_privs.
    assertStringIncludes(out, "CapEff:\t00000000a80425fb\n");
    assertStringIncludes(out, "Seccomp:\t2\n");
    assertStringIncludes(out, "NoNewPrivs:\t1\n");
    // A transient unit of its own (tsnspawn-build-….service): its output is that unit's in the journal.
    const units = await core.shOk(
      "journalctl --no-pager -o cat _SYSTEMD_UNIT=$(journalctl -F _SYSTEMD_UNIT | grep '^tsnspawn-build-' | head -1) | head -1",
    );
    assertEquals(units, "in a unit\n");
    // On the bridge (eth0), or loopback only.
    assertStringIncludes(out, " lo\n eth0");
    assertStringIncludes(out, " lo\ntmpfs\nbound\n");
    // The mount points stay, empty, as BuildKit leaves them.
    const found = await core.tsnOk([
      "run",
      "--rm",
      "--network",
      "none",
      "isolated",
      "find",
      "/scratch",
      "/data",
    ]);
    assertEquals(found, "/scratch\n/data\n");
    assertEquals(await leftovers(core), "");
  },
);

integrationTest(
  "build: independent stages build in parallel; --target skips what it does not need",
  async (core) => {
    // Each stage waits for the other's mark in a shared cache mount: only a
    // parallel build finishes (a serial one would wait forever: the timeout fails it).
    writeContext(core, "/tmp/ctx", {
      Containerfile: `FROM busybox AS left
RUN --mount=type=cache,target=/meet,id=meet touch /meet/left && i=0; while [ ! -e /meet/right ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; [ -e /meet/right ] && echo left > /left
FROM busybox AS right
RUN --mount=type=cache,target=/meet,id=meet touch /meet/right && i=0; while [ ! -e /meet/left ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; [ -e /meet/left ] && echo right > /right
FROM busybox AS broken
RUN exit 7
FROM busybox AS final
COPY --from=left /left /left
COPY --from=right /right /right
FROM final AS extra
RUN touch /extra
`,
    });
    const out = await core.tsnOk(["build", "--target", "final", "-t", "parallel", "/tmp/ctx"]);
    assert(!out.includes("exit 7"), "the stage --target does not need was built");
    assert(!out.includes("touch /extra"), "a stage after the target was built");
    assertStringIncludes(out, "[1/3] STEP 1/2: FROM busybox AS left\n");
    assertEquals(
      await core.tsnOk(["run", "--rm", "--network", "none", "parallel", "cat", "/left", "/right"]),
      "left\nright\n",
    );
    assertEquals(await leftovers(core), "");
  },
);

integrationTest(
  "build: cache hits, one changed file, a changed build arg, --no-cache, prune",
  async (core) => {
    writeContext(core, "/tmp/ctx", {
      Containerfile: `FROM busybox
RUN echo base > /base
COPY a.txt /a.txt
RUN cat /a.txt > /a.copy
ARG LEVEL=1
RUN echo "level $LEVEL" > /level
COPY b.txt /b.txt
RUN cat /a.txt /b.txt > /all
`,
      "a.txt": "a\n",
      "b.txt": "b\n",
    });
    const first = await core.tsnOk(["build", "-t", "cached", "/tmp/ctx"]);
    assertEquals(steps(first), Array(7).fill("run"));
    const id = (await inspect(core, "cached")).Id;
    const again = await core.tsnOk(["build", "-t", "cached", "/tmp/ctx"]);
    assertEquals(steps(again), Array(7).fill("cache"));
    assertEquals(
      (await inspect(core, "cached")).Id,
      id,
      "a rebuild with nothing changed is the same image",
    );
    // Times do not count: touching a file changes nothing.
    await core.shOk("touch -d '2001-01-01' /tmp/ctx/a.txt");
    assertEquals(
      steps(await core.tsnOk(["build", "-t", "cached", "/tmp/ctx"])),
      Array(7).fill("cache"),
    );
    // Its content does: the COPY of it and every step after run again, none before.
    await core.shOk("echo changed > /tmp/ctx/a.txt");
    assertEquals(steps(await core.tsnOk(["build", "-t", "cached", "/tmp/ctx"])), [
      "cache",
      "run",
      "run",
      "run",
      "run",
      "run",
      "run",
    ]);
    // A build arg counts from its first use (the RUN that sees it), not from its ARG.
    assertEquals(
      steps(await core.tsnOk(["build", "-t", "cached", "--build-arg", "LEVEL=2", "/tmp/ctx"])),
      ["cache", "cache", "cache", "cache", "run", "run", "run"],
    );
    assertEquals(
      steps(await core.tsnOk(["build", "--no-cache", "-t", "cached", "/tmp/ctx"])),
      Array(7).fill("run"),
    );
    // Two builds of the same file at once both succeed.
    await core.shOk("echo concurrent > /tmp/ctx/b.txt");
    const both = await core.sh(
      `(${TSN} build -q -t one /tmp/ctx > /tmp/one.out 2>&1; echo $? > /tmp/one.rc) & ` +
        `(${TSN} build -q -t two /tmp/ctx > /tmp/two.out 2>&1; echo $? > /tmp/two.rc) & wait; ` +
        "cat /tmp/one.rc /tmp/two.rc /tmp/one.out /tmp/two.out",
    );
    assertEquals(both.stdout.split("\n").slice(0, 2), ["0", "0"], both.stdout);
    // image prune drops the cache nobody uses: the last two builds' images remain, so their
    // steps stay cached; the steps only the removed tag used go.
    await core.tsnOk(["rmi", "cached"]);
    const pruned = await core.tsnOk(["image", "prune"]);
    assertStringIncludes(pruned, "Deleted: build cache sha256:");
    assertEquals(
      steps(await core.tsnOk(["build", "-t", "one", "/tmp/ctx"])),
      Array(7).fill("cache"),
    );
    await core.tsnOk(["rmi", "one"]);
    await core.tsnOk(["rmi", "two"]);
    await core.tsnOk(["image", "prune"]);
    assertEquals(steps(await core.tsnOk(["build", "-t", "one", "/tmp/ctx"])), Array(7).fill("run"));
    assertEquals((await core.tsnOk(["check"])).trim(), "consistent");
  },
);

integrationTest(
  "build: --timestamp and SOURCE_DATE_EPOCH give the same image in two state roots",
  async (core) => {
    const context = {
      Containerfile: `FROM busybox AS gen
RUN mkdir /out && echo generated > /out/g && ln -s g /out/link && chmod 640 /out/g
FROM busybox
COPY --from=gen /out /out
COPY . /ctx
RUN echo run > /run.txt && rm /bin/vi
LABEL version=1
`,
      "file.txt": "content\n",
    };
    writeContext(core, "/tmp/ctx", context);
    const first = (await core.tsnOk(["build", "-q", "--timestamp", "0", "/tmp/ctx"])).trim();
    const image = await inspect(core, first);
    assertEquals(image.Created, "1970-01-01T00:00:00.000Z");
    assert(image.History.slice(1).every((h: { created: string }) => h.created === image.Created));
    const times = await core.tsnOk([
      "run",
      "--rm",
      "--network",
      "none",
      first,
      "stat",
      "-c",
      "%Y %n",
      "/out/g",
      "/ctx/file.txt",
      "/run.txt",
    ]);
    assertEquals(times, "0 /out/g\n0 /ctx/file.txt\n0 /run.txt\n");
    // The same base (saved and loaded) and the same context, with other file times,
    // in another test host with its own state root: the same image.
    await core.tsnOk(["save", "-o", "/tmp/base.tar", "busybox"]);
    const base = Deno.readFileSync(core.host.path("/tmp/base.tar"));
    await withCoreHost(async (other) => {
      await other.tsnOk(["rmi", "-f", "busybox"]);
      Deno.writeFileSync(other.host.path("/tmp/base.tar"), base);
      await other.tsnOk(["load", "-i", "/tmp/base.tar"]);
      writeContext(other, "/tmp/elsewhere", context);
      await other.shOk("touch -d '2011-11-11' /tmp/elsewhere/file.txt");
      const second = await other.tsn(["build", "-q", "/tmp/elsewhere"], {
        env: { SOURCE_DATE_EPOCH: "0" },
        cwd: "/",
      });
      assertEquals(second.code, 0, second.stderr);
      assertEquals(second.stdout.trim(), first);
    });
  },
);

integrationTest(
  "build: a failing RUN, Ctrl-C and a killed CLI leave nothing behind",
  async (core) => {
    writeContext(core, "/tmp/fail", {
      Containerfile:
        "FROM busybox\nRUN echo first line && echo 'last words' >&2 && exit 3\nRUN echo never\n",
    });
    const failed = await core.tsn(["build", "/tmp/fail"]);
    assertEquals(failed.code, 1);
    assertStringIncludes(failed.stdout, "first line\n");
    assertStringIncludes(failed.stderr, "last words\n");
    assertStringIncludes(
      failed.stderr,
      "tsnspawn: error: Containerfile:2: RUN echo first line && echo 'last words' >&2 && exit 3: the command returned a non-zero code: 3\n",
    );
    writeContext(core, "/tmp/missing", {
      Containerfile: 'FROM busybox\nRUN ["/no/such/program"]\n',
    });
    const missing = await core.tsn(["build", "/tmp/missing"]);
    assertEquals(missing.code, 1);
    assertStringIncludes(
      missing.stderr,
      'tsnspawn: error: Containerfile:2: RUN ["/no/such/program"]: the command could not start: ',
    );
    const quiet = await core.tsn(["build", "-q", "/tmp/fail"]);
    assertEquals(quiet.stdout, "");
    assertStringIncludes(quiet.stderr, "last words\n");
    assertEquals(await leftovers(core), "");
    assertEquals((await core.tsnOk(["check"])).trim(), "consistent");

    writeContext(core, "/tmp/slow", {
      Containerfile: "FROM busybox\nRUN echo started && sleep 60\n",
    });
    /** Starts a build in the background; resolves its pid once its RUN container runs. */
    const startSlow = async (): Promise<string> => {
      const pid = (await core.shOk(
        `setsid ${TSN} build --no-cache /tmp/slow >/tmp/slow.out 2>&1 </dev/null & echo $!`,
      )).trim();
      await core.waitFor("the RUN step's unit", async () =>
        (await core.sh(
          "systemctl list-units --plain --no-legend 'tsnspawn-build-*' | grep -q running",
        ))
          .code === 0);
      return pid;
    };
    // Exited: no such process, or a zombie (its parent shell is gone; PID 1 reaps it).
    const gone = (pid: string) =>
      core.waitFor(
        `process ${pid} to exit`,
        async () =>
          (await core.sh(`[ ! -e /proc/${pid} ] || grep -q '^${pid} ([^)]*) Z' /proc/${pid}/stat`))
            .code === 0,
      );

    // Ctrl-C: the build stops the step, removes its container and exits 130.
    const interrupted = await startSlow();
    await core.shOk(`kill -INT ${interrupted}`);
    await gone(interrupted);
    assertStringIncludes(
      await core.shOk("cat /tmp/slow.out"),
      "tsnspawn: error: the build was interrupted",
    );
    assertEquals(await leftovers(core), "");
    assertEquals((await core.tsnOk(["check"])).trim(), "consistent");

    // SIGKILL mid-step: the container and its unit remain until `check`, which proves the
    // build dead (its lock is free) and removes them.
    const killed = await startSlow();
    await core.shOk(`kill -KILL ${killed}`);
    await gone(killed);
    assert((await leftovers(core)) !== "", "a killed build leaves its step behind");
    const repaired = await core.tsn(["check"]);
    assertStringIncludes(repaired.stdout, "repaired: build-");
    assertEquals((await core.tsnOk(["check"])).trim(), "consistent");
    assertEquals(await leftovers(core), "");
    assertEquals(
      (await core.shOk("grep -c ' /var/lib/tsnspawn/' /proc/self/mountinfo || true")).trim(),
      "0",
    );
  },
);

integrationTest(
  "build: bad Containerfiles fail with one FILE:LINE error before anything runs",
  async (core) => {
    const cases: [string, string][] = [
      ["FROM busybox\nRUN true\nFORM busybox\n", "Containerfile:3: unknown instruction: FORM"],
      ["# comment\nENV A=b\nFROM busybox\n", "Containerfile:2: ENV before the first FROM"],
      ['FROM busybox\nCMD ["sh", "-c",]\n', "Containerfile:2: "],
      ["FROM busybox AS builder\nCOPY --from=Bad:Name /x /y\n", "Containerfile:2: COPY --from"],
      [
        "FROM busybox AS builder\nFROM busybox\nCOPY --from=later /x /y\nFROM busybox AS later\n",
        "Containerfile:3: COPY --from=later: stage later is defined after this one",
      ],
      ["FROM busybox\nHEALTHCHECK --interval=x CMD true\n", "Containerfile:2: "],
    ];
    for (const [text, expected] of cases) {
      writeContext(core, "/tmp/bad", { Containerfile: text });
      const result = await core.tsn(["build", "/tmp/bad"]);
      assertEquals(result.code, 1, text);
      assertEquals(result.stdout, "", text);
      const lines = result.stderr.trim().split("\n");
      assert(lines[0].startsWith(`tsnspawn: error: ${expected}`), `${text}\n${result.stderr}`);
      assert(lines.length <= 2 && (lines.length === 1 || lines[1].startsWith("tsnspawn: hint: ")));
    }
    const stdin = await core.tsn(["build", "-"], { stdin: "FROM busybox\nRUN true\nBOGUS x\n" });
    assertStringIncludes(
      stdin.stderr,
      "tsnspawn: error: Containerfile:3: unknown instruction: BOGUS",
    );
    writeContext(core, "/tmp/good", { Containerfile: "FROM busybox AS base\nRUN true\n" });
    const target = await core.tsn(["build", "--target", "nope", "/tmp/good"]);
    assertEquals(target.code, 2);
    assertEquals(await leftovers(core), "");
  },
);

integrationTest("build: the image runs, saves, loads and pushes like any other", async (core) => {
  writeContext(core, "/tmp/ctx", {
    Containerfile:
      'FROM busybox\nCOPY hello.txt /hello.txt\nENTRYPOINT ["cat"]\nCMD ["/hello.txt"]\n',
    "hello.txt": "hello from a build\n",
  });
  await core.tsnOk([
    "build",
    "-t",
    "app:1",
    "-t",
    "app:latest",
    "--label",
    "built=yes",
    "--iidfile",
    "/tmp/iid",
    "/tmp/ctx",
  ]);
  const iid = (await core.shOk("cat /tmp/iid")).trim();
  const image = await inspect(core, "app:1");
  assertEquals(image.Id, iid);
  assertEquals(image.RepoTags.sort(), ["docker.io/library/app:1", "docker.io/library/app:latest"]);
  assertEquals(image.Config.Labels, { built: "yes" });
  assertEquals(
    await core.tsnOk(["run", "--rm", "--network", "none", "app:1"]),
    "hello from a build\n",
  );
  // save → load in another store (another root: loading needs no container).
  const root2 = "/var/lib/tsnspawn-second";
  await core.shOk(`mkdir -p ${root2} && mount -t tmpfs tmpfs ${root2}`);
  await core.tsnOk(["save", "-o", "/tmp/app.tar", "app:1"]);
  await core.shOk(`TSNSPAWN_ROOT=${root2} ${TSN} load -i /tmp/app.tar`);
  assertStringIncludes(await core.shOk(`TSNSPAWN_ROOT=${root2} ${TSN} image inspect app:1`), iid);
  // push to a registry on 127.0.0.1, remove it here, pull it back, run it.
  await core.shOk(
    "mkdir -p /tmp/registry && printf 'version: 0.1\\nlog:\\n  level: error\\nstorage:\\n  filesystem:\\n    rootdirectory: /tmp/registry/data\\nhttp:\\n  addr: 127.0.0.1:5055\\n' > /tmp/registry/config.yml && " +
      "(setsid docker-registry serve /tmp/registry/config.yml >/tmp/registry/log 2>&1 </dev/null &) && " +
      "for i in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/5055) 2>/dev/null && break; sleep 0.05; done",
  );
  await core.tsnOk(["tag", "app:1", "127.0.0.1:5055/app:1"]);
  await core.tsnOk(["push", "-q", "127.0.0.1:5055/app:1"]);
  await core.tsnOk(["rmi", "-f", iid]);
  await core.tsnOk(["pull", "-q", "127.0.0.1:5055/app:1"]);
  assertEquals(
    await core.tsnOk(["run", "--rm", "--network", "none", "127.0.0.1:5055/app:1"]),
    "hello from a build\n",
  );
});

integrationTest(
  "build: SIGKILL at random moments of builds (15 rounds), check consistent after each",
  async (core) => {
    writeContext(core, "/tmp/ctx", {
      Containerfile: `FROM busybox AS one
RUN head -c 3000000 /dev/urandom > /one && mkdir /many && for i in $(seq 300); do echo $i > /many/$i; done
FROM busybox
COPY big.bin /big.bin
COPY --from=one /many /many
RUN cat /big.bin > /dev/null && echo done > /done
LABEL round=any
`,
      "big.bin": { bytes: new Uint8Array(8 << 20).fill(7) },
    });
    let typical = 3000;
    let killed = 0;
    for (let round = 0; round < 15; round++) {
      const delay = 50 + Math.floor(Math.random() * typical * 1.1);
      const started = Date.now();
      const r = await core.sh(
        `exec timeout -s KILL ${
          (delay / 1000).toFixed(3)
        } ${TSN} build --no-cache -q -t killed /tmp/ctx`,
      );
      if (r.code === 137) killed++;
      else {
        assertEquals(r.code, 0, r.stderr);
        typical = Date.now() - started;
      }
      const check = await core.tsn(["check", "--json"]);
      assertEquals(check.code, 0, `round ${round} (killed after ${delay} ms): ${check.stdout}`);
      assert(JSON.parse(check.stdout).consistent, check.stdout);
      assertEquals(await leftovers(core), "", `round ${round}: something is left`);
    }
    assert(killed > 0, "no build was killed: the delays are too long");
    await core.tsnOk(["build", "-q", "-t", "survivor", "/tmp/ctx"]);
    assertEquals(
      await core.tsnOk(["run", "--rm", "--network", "none", "survivor", "cat", "/done"]),
      "done\n",
    );
    // The images --no-cache replaced in the cache are garbage for `image prune`, nothing worse.
    await core.tsnOk(["image", "prune"]);
    assertEquals((await core.tsnOk(["check"])).trim(), "consistent");
  },
);

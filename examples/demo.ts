/**
 * `deno task demo`: a walk through tsnspawn with real containers.
 *
 * Builds a busybox image from Debian's busybox-static (via `import`), runs a
 * detached web server and a one-shot container, shows list, status, logs,
 * exec and the systemd unit behind a container, then stops and removes
 * everything it made.
 *
 * Where PID 1 is systemd, it runs against that systemd. Elsewhere (a build
 * machine, a container) it boots the throwaway systemd host of the tests
 * (tests/testhost.ts) and runs the same walk inside it; nothing is left
 * behind on the machine either way.
 */
import { dirname, fromFileUrl } from "@std/path";
import { withTestHost } from "../tests/testhost.ts";

const REPO = dirname(dirname(fromFileUrl(import.meta.url)));
const DENO = `${REPO}/node_modules/.bin/deno`;
const TSNSPAWN = [DENO, "run", "-A", "--quiet", `${REPO}/mod.ts`];
const INSIDE_FLAG = "--inside-test-host";

const bold = (text: string) => Deno.stdout.isTerminal() ? `\x1b[1m${text}\x1b[0m` : text;

/** True when this machine is run by systemd (PID 1). */
function systemdIsInit(): boolean {
  try {
    return Deno.statSync("/run/systemd/system").isDirectory &&
      Deno.readLinkSync("/proc/1/exe").includes("systemd");
  } catch {
    return false;
  }
}

/** Prints a command like a shell transcript, runs it, returns its status. */
async function step(title: string, argv: string[], shown?: string): Promise<number> {
  console.log(`\n${bold(`# ${title}`)}\n$ ${shown ?? argv.join(" ")}`);
  try {
    const child = new Deno.Command(argv[0], { args: argv.slice(1), stdin: "null" }).spawn();
    return (await child.status).code;
  } catch (error) {
    console.error(`demo: cannot run ${argv[0]}: ${error instanceof Error ? error.message : error}`);
    return 127;
  }
}

/** tsnspawn with arguments, shown as `tsnspawn ...`. */
function tsnspawn(title: string, args: string[]): Promise<number> {
  return step(title, [...TSNSPAWN, ...args], `tsnspawn ${args.map(quote).join(" ")}`);
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** The walk itself; runs where systemd is PID 1. */
async function walk(): Promise<number> {
  const tarball = "/tmp/tsnspawn-demo-busybox.tar";
  const failures: string[] = [];
  const must = async (what: string, status: Promise<number>) => {
    if (await status !== 0) failures.push(what);
  };
  try {
    await must(
      "build",
      step("Build a root file system from Debian's busybox-static", [
        "sh",
        `${REPO}/examples/busybox-rootfs.sh`,
        tarball,
      ], `examples/busybox-rootfs.sh ${tarball}`),
    );
    await must(
      "import",
      tsnspawn("Make it a one-layer image", ["import", tarball, "demo-busybox:latest"]),
    );
    await must("images", tsnspawn("Images in the store", ["images"]));
    await must(
      "run -d",
      tsnspawn("A detached web server (a transient unit in machine.slice)", [
        "run",
        "-d",
        "--name",
        "demo-web",
        "--memory",
        "64m",
        "--pids-limit",
        "64",
        "demo-busybox",
        "httpd",
        "-f",
        "-v",
        "-p",
        "8080",
        "-h",
        "/var/www",
      ]),
    );
    await must(
      "run",
      tsnspawn("A one-shot container: its own PID 1, hostname and capabilities", [
        "run",
        "--rm",
        "--hostname",
        "demo",
        "demo-busybox",
        "sh",
        "-c",
        "echo \"hello from $(hostname), I am PID $$\"; grep -E '^(CapEff|NoNewPrivs)' /proc/self/status",
      ]),
    );
    await must("list", tsnspawn("Running containers", ["list"]));
    await must(
      "exec",
      tsnspawn("Ask the web server from inside its network namespace", [
        "exec",
        "demo-web",
        "wget",
        "-qO-",
        "http://127.0.0.1:8080/",
      ]),
    );
    await must("status", tsnspawn("Status, like systemctl status", ["status", "demo-web"]));
    await must("logs", tsnspawn("Its log, from journald", ["logs", "demo-web"]));
    await must(
      "systemctl",
      step("The unit as systemd sees it", [
        "systemctl",
        "status",
        "--no-pager",
        "--lines=0",
        "tsnspawn-demo-web.service",
      ]),
    );
    await must(
      "stop",
      tsnspawn("Stop it (SIGTERM, then SIGKILL after the timeout)", [
        "stop",
        "-t",
        "2",
        "demo-web",
      ]),
    );
    await must("list -a", tsnspawn("All containers, stopped ones too", ["list", "-a"]));
  } finally {
    console.log(`\n${bold("# Clean up")}`);
    await step(
      "remove the container",
      [...TSNSPAWN, "rm", "-f", "demo-web"],
      "tsnspawn rm -f demo-web",
    );
    await step(
      "remove the image",
      [...TSNSPAWN, "rmi", "demo-busybox"],
      "tsnspawn rmi demo-busybox",
    );
    try {
      Deno.removeSync(tarball);
    } catch { /* not made */ }
  }
  if (failures.length) {
    console.error(`\ndemo: these steps failed: ${failures.join(", ")}`);
    return 1;
  }
  console.log(`\n${bold("demo: done")}`);
  return 0;
}

async function main(): Promise<number> {
  if (Deno.uid() !== 0) {
    console.error(
      "demo: must run as root (containers need it); run it from a root shell (sudo -i)",
    );
    return 1;
  }
  if (Deno.args.includes(INSIDE_FLAG) || systemdIsInit()) return await walk();
  console.log(
    bold(
      "PID 1 is not systemd here: booting a throwaway systemd host (tests/testhost.ts) for the demo",
    ),
  );
  return await withTestHost({}, async (host) => {
    return await host.runInherit([
      DENO,
      "run",
      "-A",
      "--quiet",
      `${REPO}/examples/demo.ts`,
      INSIDE_FLAG,
    ], { cwd: REPO });
  });
}

Deno.exit(await main());

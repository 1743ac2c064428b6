/**
 * What the create mapping refuses and accepts, field by field: values
 * tsnspawn cannot honour are 400s naming the field, docker's own checks keep
 * docker's words, and zero values of any field (known or not) pass.
 */
import { assertEquals, assertThrows } from "@std/assert";
import { planCommand, planContainerCreate } from "./container_create.ts";
import { ApiError } from "./errors.ts";

interface Request {
  method: string;
  path: string;
  body: Record<string, unknown> | null;
}
const CLI: { captures: { command: string; requests: Request[] }[] } = JSON.parse(
  Deno.readTextFileSync(new URL("./testdata/docker_cli_28.2.2.json", import.meta.url)),
);

function plan(request: Request) {
  const query = new URLSearchParams(request.path.split("?")[1] ?? "");
  return planContainerCreate(request.body!, query, { imageCmd: ["sh"] });
}

function cliCreate(command: string): Request {
  return CLI.captures.find((c) => c.command.endsWith(command))!.requests[0];
}

Deno.test("create: what tsnspawn cannot do is refused, naming the field", () => {
  const error = assertThrows(() => plan(cliCreate("--ipc host --pid host busybox")), ApiError);
  assertEquals(error.status, 400);
  assertEquals(error.message.startsWith("HostConfig.Devices="), true);
  const refused = (body: Record<string, unknown>, field: string) => {
    const e = assertThrows(
      () => plan({ method: "POST", path: "/containers/create", body }),
      ApiError,
    );
    assertEquals(e.status, 400);
    assertEquals(e.message.startsWith(field), true, `${e.message} should name ${field}`);
  };
  const host = (hostConfig: Record<string, unknown>) => ({
    Image: "busybox",
    HostConfig: hostConfig,
  });
  refused(host({ IpcMode: "host" }), "HostConfig.IpcMode=");
  refused(
    host({ Ulimits: [{ Name: "nofile", Soft: 1, Hard: 2, Extra: 1 }] }),
    "HostConfig.Ulimits[0].Extra=",
  );
  refused(
    { Image: "busybox", Healthcheck: { Test: ["CMD", "true"], StartInterval: 2e9 } },
    "Healthcheck.StartInterval=",
  );
  refused(
    host({
      Mounts: [{
        Type: "volume",
        Source: "v",
        Target: "/v",
        VolumeOptions: { Labels: { a: "b" } },
      }],
    }),
    "HostConfig.Mounts[0].VolumeOptions.Labels=",
  );
  refused(
    host({
      Mounts: [{
        Type: "volume",
        Source: "v",
        Target: "/v",
        VolumeOptions: { DriverConfig: { Options: { type: "tmpfs" } } },
      }],
    }),
    "HostConfig.Mounts[0].VolumeOptions.DriverConfig.Options=",
  );
  refused(host({ LogConfig: { Type: "syslog" } }), "HostConfig.LogConfig.Type=");
  refused(
    host({ LogConfig: { Type: "json-file", Config: { "max-size": "10m" } } }),
    "HostConfig.LogConfig.Config=",
  );
  refused(host({ NetworkMode: "container:db" }), "HostConfig.NetworkMode=");
  refused(host({ Links: ["db:db"] }), "HostConfig.Links=");
  refused(host({ MaskedPaths: [] }), "HostConfig.MaskedPaths=");
  refused(host({ UsernsMode: "private" }), "HostConfig.UsernsMode=");
  refused(host({ CpuPeriod: 50000 }), "HostConfig.CpuPeriod=");
  refused(host({ Binds: ["/a:/b:shared"] }), "HostConfig.Binds[0]=");
  refused(host({ Mounts: [{ Type: "npipe", Target: "/x" }] }), "HostConfig.Mounts[0].Type=");
  refused(
    host({ PortBindings: { "80/tcp": [{ HostIp: "::", HostPort: "80" }] } }),
    "HostConfig.PortBindings.80/tcp[0].HostIp=",
  );
  refused(host({ PortBindings: { "80/sctp": [] } }), "HostConfig.PortBindings.80/sctp=");
  refused({ Image: "busybox", Domainname: "example.com" }, "Domainname=");
  refused({ Image: "busybox", SomethingNew: { Enabled: true } }, "SomethingNew=");
  refused(host({ SomethingNew: 1 }), "HostConfig.SomethingNew=");
  refused({
    Image: "busybox",
    NetworkingConfig: { EndpointsConfig: { a: {}, b: {} } },
  }, "NetworkingConfig.EndpointsConfig=");
  refused({
    Image: "busybox",
    NetworkingConfig: {
      EndpointsConfig: { default: { IPAMConfig: { IPv4Address: "10.88.0.9" } } },
    },
  }, "NetworkingConfig.EndpointsConfig.default.IPAMConfig=");
});

Deno.test("create: docker's own 400s, in its words", () => {
  const bad = (body: Record<string, unknown>, message: string) =>
    assertThrows(
      () => plan({ method: "POST", path: "/containers/create", body }),
      ApiError,
      message,
    );
  bad({}, "Config.Image: no image given");
  bad(
    { Image: "b", HostConfig: { AutoRemove: true, RestartPolicy: { Name: "always" } } },
    "can't create 'AutoRemove' container with restart policy",
  );
  bad(
    { Image: "b", HostConfig: { RestartPolicy: { Name: "always", MaximumRetryCount: 2 } } },
    "can only be used with 'on-failure'",
  );
  bad(
    { Image: "b", HostConfig: { RestartPolicy: { Name: "sometimes" } } },
    "unknown policy 'sometimes'",
  );
  bad(
    { Image: "b", HostConfig: { NanoCpus: 1e9, CpuQuota: 50000 } },
    "Nano CPUs and CPU Quota cannot both be set",
  );
  bad({ Image: "b", HostConfig: { Binds: ["/a:/x", "v:/x"] } }, "Duplicate mount point: /x");
  bad({ Image: "b", HostConfig: { Binds: ["/a:/b:bogus"] } }, "invalid mode: bogus");
  bad(
    { Image: "b", NetworkingConfig: { EndpointsConfig: { default: { Aliases: ["x"] } } } },
    "network-scoped alias is supported only",
  );
  bad(
    { Image: "b", Healthcheck: { Test: ["CMD", "true"], Interval: 5 } },
    "Interval in Healthcheck cannot be less than 1ms",
  );
  bad({ Image: "b", Tty: "yes" }, "Tty: expected true or false");
  bad({ Image: "b", HostConfig: { Memory: "512m" } }, "HostConfig.Memory: expected an integer");
  bad({ Image: "b", Env: "A=1" }, "Env: expected an array of strings");
});

Deno.test("create: zero values of any field are accepted, names match in any case", () => {
  const created = plan({
    method: "POST",
    path: "/containers/create",
    body: {
      image: "busybox",
      cmd: ["true"],
      FutureField: { Nested: [], Flag: false, Count: 0 },
      HostConfig: {
        Ulimits: [],
        Devices: null,
        ShmSize: 0,
        MemorySwappiness: -1,
        IpcMode: "private",
        FutureHost: "",
      },
      NetworkingConfig: { EndpointsConfig: { bridge: { NetworkID: "x", IPAddress: "10.0.0.9" } } },
    },
  });
  assertEquals(created.args, ["--pull=never", "--", "busybox", "true"]);
});

Deno.test("create: what issue 14 gave the CLI is mapped, not refused", () => {
  const created = plan({
    method: "POST",
    path: "/containers/create",
    body: {
      Image: "busybox",
      HostConfig: {
        ShmSize: 134217728,
        Sysctls: { "net.ipv4.ip_forward": "1" },
        Ulimits: [{ Name: "nofile", Soft: 1024, Hard: 4096 }],
        Annotations: { "org.example": "x" },
        PortBindings: { "80/tcp": [{ HostIp: "", HostPort: "" }] },
        PublishAllPorts: true,
        Dns: ["10.0.0.53"],
        ExtraHosts: ["db:10.0.0.5"],
        Binds: ["cache:/cache", "/anon"],
      },
      Healthcheck: { Test: ["NONE"] },
    },
  });
  assertEquals(created.args, [
    "--no-healthcheck",
    "--publish=80/tcp",
    "--publish-all",
    "--dns=10.0.0.53",
    "--add-host=db=10.0.0.5",
    "--volume=cache:/cache",
    "--volume=/anon",
    "--shm-size=134217728",
    "--sysctl=net.ipv4.ip_forward=1",
    "--ulimit=nofile=1024:4096",
    "--annotation=org.example=x",
    "--pull=never",
    "--",
    "busybox",
  ]);
});

Deno.test("planCommand: moby's merge of Entrypoint and Cmd with the image", () => {
  assertEquals(planCommand(null, null, ["sh"]), { command: [] }); // the image's entrypoint and Cmd
  assertEquals(planCommand(null, ["ls"], ["sh"]), { command: ["ls"] });
  assertEquals(planCommand([""], null, ["sh"]), { entrypoint: "", command: [] });
  assertEquals(planCommand([""], ["ls"], ["sh"]), { entrypoint: "", command: ["ls"] });
  assertEquals(planCommand([], null, ["sh", "-l"]), { entrypoint: "", command: ["sh", "-l"] });
  assertEquals(planCommand([], ["ls"], ["sh"]), { entrypoint: "", command: ["ls"] });
  assertEquals(planCommand(["/bin/sh", "-c"], ["echo hi"], ["sh"]), {
    entrypoint: "/bin/sh",
    command: ["-c", "echo hi"],
  });
  assertEquals(planCommand(["tini", "--"], null, ["sh"]), { entrypoint: "tini", command: ["--"] });
  assertThrows(() => planCommand(["", "x"], null, null), ApiError, "the program is empty");
});

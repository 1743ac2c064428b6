import { assertEquals, assertThrows } from "@std/assert";
import { TsnspawnError } from "../errors.ts";
import {
  findPortClash,
  formatPublished,
  formatPublishOption,
  parsePublish,
  pickHostPorts,
  portClashError,
} from "./published_ports.ts";

Deno.test("publish: docker's forms", () => {
  assertEquals(parsePublish("8080:80"), [{
    hostIp: "",
    hostPort: 8080,
    containerPort: 80,
    protocol: "tcp",
  }]);
  assertEquals(parsePublish("127.0.0.1:8080:80/udp"), [
    { hostIp: "127.0.0.1", hostPort: 8080, containerPort: 80, protocol: "udp" },
  ]);
  assertEquals(parsePublish("0.0.0.0:53:53/UDP")[0].hostIp, "");
  assertEquals(parsePublish("8080-8082:80-82").map(formatPublished), [
    "0.0.0.0:8080->80/tcp",
    "0.0.0.0:8081->81/tcp",
    "0.0.0.0:8082->82/tcp",
  ]);
});

Deno.test("publish: every form quadlet documents (random host ports: 0 until create)", () => {
  const shape = (text: string) =>
    parsePublish(text).map((p) => [p.hostIp, p.hostPort, p.containerPort, p.protocol]);
  assertEquals(shape("127.0.0.1:80:90"), [["127.0.0.1", 80, 90, "tcp"]]);
  assertEquals(shape("0.0.0.0:80:91"), [["", 80, 91, "tcp"]]);
  assertEquals(shape(":80:92"), [["", 80, 92, "tcp"]]);
  assertEquals(shape("127.0.0.1::93"), [["127.0.0.1", 0, 93, "tcp"]]);
  assertEquals(shape("0.0.0.0::94"), [["", 0, 94, "tcp"]]);
  assertEquals(shape("::95"), [["", 0, 95, "tcp"]]);
  assertEquals(shape("97"), [["", 0, 97, "tcp"]]);
  assertEquals(shape("1234/udp"), [["", 0, 1234, "udp"]]);
  assertEquals(shape("2000-2001"), [["", 0, 2000, "tcp"], ["", 0, 2001, "tcp"]]);
});

Deno.test("publish: random host ports avoid taken and busy ones", () => {
  const ports = parsePublish("80-82");
  let n = 0;
  const picked = pickHostPorts(ports, new Set(["40000/tcp"]), (port) => port !== 40002, [
    40000,
    40005,
  ], () => (n++ === 0 ? 0 : 0));
  assertEquals(picked.map((p) => p.hostPort), [40001, 40003, 40004]);
  assertThrows(
    () => pickHostPorts(parsePublish("80"), new Set(["1/tcp"]), () => true, [1, 1]),
    TsnspawnError,
    "no free host port",
  );
});

Deno.test("publish: parse ∘ format is the identity", () => {
  for (
    const text of [
      "8080:80/tcp",
      "127.0.0.1:53:53/udp",
      "10.0.0.1:1:65535/tcp",
      "80/tcp",
      "10.0.0.1::53/udp",
    ]
  ) {
    assertEquals(parsePublish(text).map(formatPublishOption), [text]);
  }
});

Deno.test("publish: clear errors", () => {
  const cases: [string, string][] = [
    ["8080:80/sctp", "is not tcp or udp"],
    ["0:80", "not from 1 to 65535"],
    ["8080:70000", "not from 1 to 65535"],
    ["8080-8081:80", "differ in length"],
    ["8081-8080:80-79", "ends before it starts"],
    ["[::1]:80:80", "IPv6 host addresses are not supported"],
    ["1.2.3:80:80", "not an IPv4 address"],
    ["a:b:c:d", "too many"],
    ["1-2000:1-2000", "more than 1024 ports"],
  ];
  for (const [text, message] of cases) {
    assertThrows(() => parsePublish(text), TsnspawnError, message, text);
  }
});

Deno.test("publish: random input only ever raises a clean error", () => {
  const alphabet = "0123456789:-./tcpudp[]1.2";
  for (let i = 0; i < 2000; i++) {
    let text = "";
    for (let j = Math.floor(Math.random() * 16); j > 0; j--) {
      text += alphabet[Math.floor(Math.random() * alphabet.length)];
    }
    try {
      parsePublish(text);
    } catch (error) {
      if (!(error instanceof TsnspawnError)) throw error;
    }
  }
});

Deno.test("publish: clashes: same port and protocol, any address overlaps a specific one", () => {
  const web = { container: "web", ports: parsePublish("8080:80") };
  const dns = { container: "dns", ports: parsePublish("127.0.0.1:53:53/udp") };
  assertEquals(findPortClash(parsePublish("8081:80"), [web, dns]), null);
  assertEquals(findPortClash(parsePublish("8080:80/udp"), [web, dns]), null);
  assertEquals(findPortClash(parsePublish("10.0.0.1:53:53/udp"), [web, dns]), null);
  assertEquals(findPortClash(parsePublish("127.0.0.1:8080:81"), [web, dns])?.owner, "web");
  assertEquals(findPortClash(parsePublish("53:5353/udp"), [web, dns])?.owner, "dns");
  const clash = findPortClash(parsePublish("8080:80"), [web])!;
  assertThrows(
    () => {
      throw portClashError(clash);
    },
    TsnspawnError,
    "host port 8080/tcp is already published by container web",
  );
  const twice = findPortClash([...parsePublish("8080:80"), ...parsePublish("8080:81")], [])!;
  assertThrows(
    () => {
      throw portClashError(twice);
    },
    TsnspawnError,
    "given twice",
  );
});

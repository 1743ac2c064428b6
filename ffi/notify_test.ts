import { assertEquals, assertThrows } from "@std/assert";
import { listenNotifySocket, openNotifySocket, sockaddrUn } from "./notify.ts";

Deno.test("sockaddrUn: paths end with NUL, abstract names start with one", () => {
  const path = sockaddrUn("/run/x");
  assertEquals(path.length, 2 + 6 + 1);
  assertEquals([...path.sockaddr.subarray(0, 9)], [1, 0, ...new TextEncoder().encode("/run/x"), 0]);
  const abstract = sockaddrUn("@name");
  assertEquals(abstract.length, 2 + 1 + 4);
  assertEquals([...abstract.sockaddr.subarray(0, 7)], [
    1,
    0,
    0,
    ...new TextEncoder().encode("name"),
  ]);
  assertThrows(() => sockaddrUn("/" + "x".repeat(120)), RangeError);
});

Deno.test({
  name: "notify: a datagram reaches a path socket and an abstract socket",
  ignore: Deno.build.os !== "linux",
  fn() {
    const dir = Deno.makeTempDirSync();
    const addresses = [`${dir}/notify.sock`, `@tsnspawn-test-${crypto.randomUUID()}`];
    try {
      for (const address of addresses) {
        const listener = listenNotifySocket(address);
        try {
          const socket = openNotifySocket(address)!;
          socket.send("MAINPID=42\nREADY=1");
          socket.close();
          assertEquals(listener.receive(1000), "MAINPID=42\nREADY=1");
          assertEquals(listener.receive(0), null);
        } finally {
          listener.close();
        }
      }
      assertEquals(openNotifySocket(""), null);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "notify: sendWithBarrier queues the state and then BARRIER=1 with a descriptor",
  ignore: Deno.build.os !== "linux",
  fn() {
    const dir = Deno.makeTempDirSync();
    try {
      const listener = listenNotifySocket(`${dir}/notify.sock`);
      try {
        const socket = openNotifySocket(`${dir}/notify.sock`)!;
        // Nobody reads yet, so nobody closes the barrier's pipe: a timeout.
        assertEquals(socket.sendWithBarrier("MAINPID=42\nREADY=1", 0), false);
        socket.close();
        assertEquals(listener.receive(1000), "MAINPID=42\nREADY=1");
        assertEquals(listener.receive(1000), "BARRIER=1");
        assertEquals(listener.receive(0), null);
      } finally {
        listener.close();
      }
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

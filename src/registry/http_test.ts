import { assert, assertEquals, assertRejects } from "@std/assert";
import { httpRequest } from "./http.ts";

/** A TCP server on a free loopback port that answers every connection with `reply` (raw bytes). */
function rawServer(reply: (request: string) => string | Uint8Array) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const requests: string[] = [];
  const serving = (async () => {
    for await (const conn of listener) {
      const buffer = new Uint8Array(65536);
      let request = "";
      while (!request.includes("\r\n\r\n")) {
        const n = await conn.read(buffer);
        if (n === null) break;
        request += new TextDecoder().decode(buffer.subarray(0, n));
      }
      requests.push(request);
      const answer = reply(request);
      await conn.write(typeof answer === "string" ? new TextEncoder().encode(answer) : answer);
      conn.close();
    }
  })();
  return {
    url: (path: string) =>
      new URL(`http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}${path}`),
    requests,
    async close() {
      listener.close();
      await serving.catch(() => {});
    },
  };
}

async function text(url: URL, method = "GET"): Promise<[number, string]> {
  const response = await httpRequest(url, { method });
  return [response.status, await response.text()];
}

Deno.test("bodies framed by Content-Length, chunks and the connection's end", async () => {
  const server = rawServer((request) => {
    if (request.startsWith("GET /length")) {
      return "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nx-a: 2\r\n\r\nhello";
    }
    if (request.startsWith("GET /chunked")) {
      return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
        "5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nTrailer: x\r\n\r\n";
    }
    if (request.startsWith("HEAD")) return "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n";
    return "HTTP/1.0 404 Not Found\r\n\r\nno such thing";
  });
  try {
    const response = await httpRequest(server.url("/length?x=1"), {
      method: "GET",
      headers: { accept: "a/b" },
    });
    assertEquals([response.status, response.ok], [200, true]);
    assertEquals(response.headers.get("X-A"), "1, 2");
    assertEquals(await response.text(), "hello");
    assert(server.requests[0].startsWith("GET /length?x=1 HTTP/1.1\r\n"));
    assert(server.requests[0].includes("accept: a/b\r\n"));
    assert(server.requests[0].includes("connection: close\r\n"));
    assertEquals(await text(server.url("/chunked")), [200, "hello, world"]);
    assertEquals(await text(server.url("/other")), [404, "no such thing"]);
    const head = await httpRequest(server.url("/x"), { method: "HEAD" });
    assertEquals([head.status, head.body], [200, null]);
  } finally {
    await server.close();
  }
});

Deno.test("a body as a stream, and one cut short, which is an error", async () => {
  const big = new Uint8Array(300_000).map((_, i) => i % 256);
  const server = rawServer((request) => {
    const head = new TextEncoder().encode(
      `HTTP/1.1 200 OK\r\nContent-Length: ${big.length}\r\n\r\n`,
    );
    const body = request.startsWith("GET /cut") ? big.subarray(0, 1000) : big;
    const out = new Uint8Array(head.length + body.length);
    out.set(head);
    out.set(body, head.length);
    return out;
  });
  try {
    const response = await httpRequest(server.url("/all"), { method: "GET" });
    assertEquals(new Uint8Array(await new Response(response.body).arrayBuffer()), big);
    const cut = await httpRequest(server.url("/cut"), { method: "GET" });
    const e = await assertRejects(() => cut.arrayBuffer());
    assert((e as Error).message.includes("before the body's end"), (e as Error).message);
  } finally {
    await server.close();
  }
});

Deno.test("malformed answers and header injection are refused", async () => {
  const answers = [
    "SSH-2.0-OpenSSH\r\n\r\n",
    "HTTP/1.1 200 OK\r\nbad header\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
    `HTTP/1.1 200 OK\r\nX: ${"a".repeat(70_000)}\r\n\r\n`,
  ];
  let next = 0;
  const server = rawServer(() => answers[next++]);
  try {
    for (const _ of answers) {
      const e = await assertRejects(() => httpRequest(server.url("/"), { method: "GET" }));
      assert((e as Error).message.startsWith("invalid HTTP response"), (e as Error).message);
    }
    const chunked = rawServer(() =>
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"
    );
    try {
      const response = await httpRequest(chunked.url("/"), { method: "GET" });
      await assertRejects(() => response.text(), Error, "bad chunk size line");
    } finally {
      await chunked.close();
    }
    await assertRejects(
      () =>
        httpRequest(server.url("/"), { method: "GET", headers: { authorization: "a\r\nX: y" } }),
      TypeError,
    );
  } finally {
    await server.close();
  }
});

Deno.test("the abort signal covers the wait for the headers", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn); // never answers
  })();
  try {
    const controller = new AbortController();
    const port = (listener.addr as Deno.NetAddr).port;
    const request = httpRequest(new URL(`http://127.0.0.1:${port}/`), {
      method: "GET",
      signal: controller.signal,
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    controller.abort();
    await assertRejects(() => request);
  } finally {
    listener.close();
    await accepting.catch(() => {});
    for (const conn of held) conn.close();
  }
});

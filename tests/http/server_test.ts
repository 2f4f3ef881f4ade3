import assert from "node:assert/strict";
import { parseRequestHead, repairTarget, serveHttp1 } from "../../src/http/mod.ts";

const enc = new TextEncoder();

async function rawExchange(port: number, request: Uint8Array | string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(typeof request === "string" ? enc.encode(request) : request);
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(4096);
  for (let n; (n = await conn.read(buf)) !== null;) chunks.push(buf.slice(0, n));
  conn.close();
  return new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
}

function echoServer() {
  const seen: { url: string; raw: string; remote: string }[] = [];
  const server = serveHttp1({
    hostname: "127.0.0.1",
    port: 0,
    handler: (req, info) => {
      seen.push({ url: req.url, raw: info.rawTarget, remote: info.remoteAddress });
      return new Response(`ok ${new URL(req.url).search}`);
    },
  });
  return { server, seen };
}

Deno.test("a request line with raw spaces and UTF-8 in the target is repaired, not refused", async () => {
  const { server, seen } = echoServer();
  try {
    const line = enc.encode(
      "GET /phone/101/onIncomingCall?dr=Jane Doe Müller&remote=+49301@pbx HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    const reply = await rawExchange(server.port, line);
    assert.match(reply, /^HTTP\/1\.1 200 OK\r\n/);
    assert.equal(
      seen[0].url,
      "http://localhost/phone/101/onIncomingCall?dr=Jane%20Doe%20M%C3%BCller&remote=+49301@pbx",
    );
    assert.equal(decodeURIComponent("Jane%20Doe%20M%C3%BCller"), "Jane Doe Müller");
    assert.equal(seen[0].remote, "127.0.0.1");
    assert.equal(seen[0].raw, "/phone/101/onIncomingCall?dr=Jane Doe Müller&remote=+49301@pbx");
  } finally {
    await server.close();
  }
});

Deno.test("keep-alive serves several requests on one connection", async () => {
  const { server, seen } = echoServer();
  try {
    const reply = await rawExchange(
      server.port,
      "GET /a?1 HTTP/1.1\r\nHost: x\r\n\r\nGET /b?2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert.equal(reply.match(/HTTP\/1\.1 200 OK/g)?.length, 2);
    assert.deepEqual(seen.map((s) => new URL(s.url).pathname), ["/a", "/b"]);
  } finally {
    await server.close();
  }
});

Deno.test("malformed requests get 400 and the server keeps serving", async () => {
  const { server } = echoServer();
  try {
    assert.match(await rawExchange(server.port, "HELLO\r\n\r\n"), /^HTTP\/1\.1 400 /);
    assert.match(await rawExchange(server.port, "GET nopath HTTP/1.1\r\n\r\n"), /^HTTP\/1\.1 400 /);
    assert.match(
      await rawExchange(server.port, "GET / HTTP/1.1\r\nbad header\r\n\r\n"),
      /^HTTP\/1\.1 400 /,
    );
    assert.match(
      await rawExchange(server.port, `GET /${"a".repeat(20000)} HTTP/1.1\r\n\r\n`),
      /^HTTP\/1\.1 431 /,
    );
    assert.match(await rawExchange(server.port, "GET /fine HTTP/1.0\r\n\r\n"), /^HTTP\/1\.1 200 /);
  } finally {
    await server.close();
  }
});

Deno.test("repairTarget encodes what a URL may not hold and keeps valid escapes", () => {
  assert.equal(repairTarget(enc.encode('/a b?x=%41%zz&y="<>')), "/a%20b?x=%41%25zz&y=%22%3C%3E");
  // A request target has no fragment: a raw # is data (a display name), kept with the query.
  assert.equal(repairTarget(enc.encode("/p?dr=Desk #4&n=1")), "/p?dr=Desk%20%234&n=1");
  const head = parseRequestHead(enc.encode("GET  /x y HTTP/1.0\r\nA: 1"));
  assert.ok(typeof head !== "string");
  assert.equal(head.target, "/x%20y");
  assert.equal(head.version, "HTTP/1.0");
  assert.equal(head.headers.get("a"), "1");
});

/** Resolves "closed" when the server ends the connection, "open" if it is still open after `ms`. */
async function closedWithin(conn: Deno.Conn, ms: number): Promise<"closed" | "open"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const open = new Promise<"open">((r) => timer = setTimeout(() => r("open"), ms));
  const closed = (async () => {
    const buf = new Uint8Array(1024);
    try {
      while ((await conn.read(buf)) !== null) { /* drain */ }
    } catch { /* reset counts as closed */ }
    return "closed" as const;
  })();
  try {
    return await Promise.race([closed, open]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("a client that stalls in the middle of a request body is cut off, not waited for", async () => {
  let handled = 0;
  const server = serveHttp1({
    hostname: "127.0.0.1",
    port: 0,
    headTimeoutMs: 100,
    handler: () => {
      handled++;
      return new Response("ok");
    },
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    await conn.write(enc.encode("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab"));
    assert.equal(await closedWithin(conn, 3000), "closed");
    assert.equal(handled, 0);
  } finally {
    conn.close();
    await server.close();
  }
});

Deno.test("CONNECT, TRACE and TRACK are answered 405, and the server keeps serving", async () => {
  const { server, seen } = echoServer();
  try {
    for (const method of ["CONNECT", "TRACE", "TRACK"]) {
      const reply = await rawExchange(server.port, `${method} / HTTP/1.1\r\nHost: x\r\n\r\n`);
      assert.match(reply, /^HTTP\/1\.1 405 Method Not Allowed\r\n/, method);
      assert.match(reply, /\r\nallow: GET, HEAD, POST\r\n/i);
    }
    assert.equal(seen.length, 0, "a refused method reached the handler");
    assert.match(await rawExchange(server.port, "GET /fine HTTP/1.0\r\n\r\n"), /^HTTP\/1\.1 200 /);
  } finally {
    await server.close();
  }
});

Deno.test("a request with two Content-Length headers is answered 400, never guessed", async () => {
  const { server, seen } = echoServer();
  try {
    const reply = await rawExchange(
      server.port,
      "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 30\r\n\r\nabc",
    );
    assert.match(reply, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(reply, /more than one Content-Length/);
    assert.equal(seen.length, 0);
  } finally {
    await server.close();
  }
});

Deno.test("a refused client (401, 403) is not kept connected", async () => {
  const server = serveHttp1({
    hostname: "127.0.0.1",
    port: 0,
    handler: () => new Response("no", { status: 403 }),
  });
  try {
    // A keep-alive request, and the connection still closes after the answer.
    const reply = await rawExchange(server.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.match(reply, /^HTTP\/1\.1 403 Forbidden\r\n/);
    assert.match(reply, /\r\nconnection: close\r\n/i);
  } finally {
    await server.close();
  }
});

Deno.test("one address holds at most its share of connections; preferred addresses more", async () => {
  const server = serveHttp1({
    hostname: "127.0.0.1",
    port: 0,
    handler: () => new Response("ok"),
    maxConnections: 8,
    maxConnectionsPerAddress: 2,
    reservedConnections: 4,
    preferred: (address) => address === "127.0.0.1",
  });
  const conns: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 6; i++) {
      conns.push(await Deno.connect({ hostname: "127.0.0.1", port: server.port }));
    }
    const open = async () => {
      await new Promise((r) => setTimeout(r, 50));
      return server.connections;
    };
    assert.equal(await open(), 6, "a preferred address is held to the total only");
  } finally {
    for (const c of conns) c.close();
    await server.close();
  }
});

Deno.test("one address gets at most maxConnectionsPerAddress connections; the next is closed", async () => {
  const server = serveHttp1({
    hostname: "127.0.0.1",
    port: 0,
    handler: () => new Response("ok"),
    maxConnections: 16,
    maxConnectionsPerAddress: 2,
  });
  const conns: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      conns.push(await Deno.connect({ hostname: "127.0.0.1", port: server.port }));
    }
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(server.connections, 2, "the third connection from the same address is refused");
    const refused = await conns[2].read(new Uint8Array(16)).catch(() => null);
    assert.equal(refused, null, "and closed at once");
  } finally {
    for (const c of conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    await server.close();
  }
});

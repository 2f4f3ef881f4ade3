import assert from "node:assert/strict";
import {
  netTransport,
  type PhoneRequest,
  requestBytes,
  ResponseReader,
} from "../../src/http/mod.ts";
import { rawPhone as rawServer } from "../fakes/raw_phone.ts";

const enc = (s: string) => new TextEncoder().encode(s);

function readWhole(reply: string, oneByteAtATime: boolean): ResponseReader {
  const r = new ResponseReader();
  const bytes = enc(reply);
  if (oneByteAtATime) { for (const b of bytes) r.push(Uint8Array.of(b)); }
  else r.push(bytes);
  return r;
}

for (const oneByte of [false, true]) {
  const how = oneByte ? "one byte at a time" : "whole";
  Deno.test(`a reply with Content-Length is read completely (${how})`, () => {
    const r = readWhole(
      "HTTP/1.1 302 Found\r\nLocation: /index.htm\r\nContent-Length: 5\r\n\r\nhello",
      oneByte,
    );
    assert.equal(r.complete, true);
    assert.equal(r.head?.status, 302);
    assert.deepEqual(r.head?.headers[0], ["location", "/index.htm"]);
    assert.equal(r.body, "hello");
  });

  Deno.test(`a chunked reply is read completely (${how})`, () => {
    const r = readWhole(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbloc\r\n3;x=y\r\nked\r\n0\r\n\r\n",
      oneByte,
    );
    assert.equal(r.complete, true);
    assert.equal(r.body, "blocked");
  });

  Deno.test(`a 100 Continue before the real reply is skipped (${how})`, () => {
    const r = readWhole(
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n",
      oneByte,
    );
    assert.equal(r.head?.status, 401);
    assert.equal(r.complete, true);
  });
}

Deno.test("a reply without length ends with the connection", () => {
  const r = readWhole("HTTP/1.0 200 OK\r\n\r\nsome body", false);
  assert.equal(r.complete, false);
  r.end();
  assert.equal(r.complete, true);
  assert.equal(r.body, "some body");
});

Deno.test("a chunked reply whose framing line never ends stops growing: its status stands", () => {
  const r = readWhole("HTTP/1.1 302 Found\r\nTransfer-Encoding: chunked\r\n\r\n", false);
  const digits = enc("f".repeat(16 * 1024));
  for (let i = 0; i < 8 && !r.complete; i++) r.push(digits);
  assert.equal(r.complete, true, "the body is taken as ended");
  assert.equal(r.head?.status, 302);
  assert.equal(r.error, undefined);
});

Deno.test("bytes that are not HTTP are recognised early", () => {
  const r = readWhole("SSH-2.0-OpenSSH\r\n", false);
  assert.match(r.error ?? "", /not start with an HTTP status line/);
});

Deno.test("a request goes out with the exact target, Host with port, and Content-Length only with a body", () => {
  const base: PhoneRequest = {
    protocol: "HTTP",
    host: "192.168.1.21",
    port: 80,
    method: "GET",
    target: "/command.htm?number=%2A21%23",
    headers: [["Connection", "keep-alive"]],
    body: "",
    timeoutMs: 1000,
  };
  assert.equal(
    new TextDecoder().decode(requestBytes(base)),
    "GET /command.htm?number=%2A21%23 HTTP/1.1\r\nHost: 192.168.1.21\r\nConnection: keep-alive\r\n\r\n",
  );
  const post = new TextDecoder().decode(
    requestBytes({ ...base, method: "POST", port: 8080, host: "::1", body: "a=1" }),
  );
  assert.match(post, /^POST \/command.htm\?number=%2A21%23 HTTP\/1.1\r\nHost: \[::1\]:8080\r\n/);
  assert.match(post, /Content-Length: 3\r\n\r\na=1$/);
});

function get(port: number, timeoutMs = 2000, protocol: "HTTP" | "HTTPS" = "HTTP"): PhoneRequest {
  return {
    protocol,
    host: "127.0.0.1",
    port,
    method: "GET",
    target: "/command.htm?number=102",
    headers: [],
    body: "",
    timeoutMs,
  };
}

Deno.test("a connection closed without a reply is 'closed', not an error", async () => {
  const s = await rawServer((socket) => socket.end());
  try {
    assert.deepEqual(await netTransport.exchange(get(s.port)), { kind: "closed" });
  } finally {
    await s.close();
  }
});

Deno.test("a connection reset after the request is also 'closed'", async () => {
  const s = await rawServer((socket) => socket.resetAndDestroy());
  try {
    assert.deepEqual(await netTransport.exchange(get(s.port)), { kind: "closed" });
  } finally {
    await s.close();
  }
});

Deno.test("a refused connection is 'unreachable'", async () => {
  const s = await rawServer(() => {});
  const port = s.port;
  await s.close();
  const reply = await netTransport.exchange(get(port));
  assert.equal(reply.kind, "unreachable");
});

Deno.test("a phone that never answers is a timeout", async () => {
  const s = await rawServer(() => {});
  try {
    assert.deepEqual(await netTransport.exchange(get(s.port, 150)), { kind: "timeout" });
  } finally {
    await s.close();
  }
});

Deno.test("a status already received counts even if the body never completes", async () => {
  const s = await rawServer((socket) =>
    socket.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
  );
  try {
    const reply = await netTransport.exchange(get(s.port, 200));
    assert.equal(reply.kind, "response");
    assert.equal(reply.kind === "response" && reply.status, 200);
  } finally {
    await s.close();
  }
});

Deno.test("garbage instead of HTTP is 'malformed'", async () => {
  const s = await rawServer((socket) => socket.end("garbage, not http\r\n\r\n"));
  try {
    assert.equal((await netTransport.exchange(get(s.port))).kind, "malformed");
  } finally {
    await s.close();
  }
});

Deno.test("an HTTPS phone with a self-signed certificate is accepted", async () => {
  const s = await rawServer(
    (socket) => socket.end("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    true,
  );
  try {
    const reply = await netTransport.exchange(get(s.port, 2000, "HTTPS"));
    assert.equal(reply.kind, "response");
    assert.equal(reply.kind === "response" && reply.body, "ok");
    assert.match(s.heads[0], /^GET \/command.htm\?number=102 HTTP\/1.1\r\n/);
  } finally {
    await s.close();
  }
});

Deno.test("the local address towards a loopback phone is a loopback address", async () => {
  const s = await rawServer(() => {});
  try {
    assert.equal(await netTransport.localAddress("127.0.0.1", s.port, 1000), "127.0.0.1");
  } finally {
    await s.close();
  }
});

Deno.test("a kept-alive reply without a length ends after a short silence, not at the timeout", async () => {
  const s = await rawServer((socket) =>
    socket.write("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n\r\nbody")
  );
  try {
    const started = Date.now();
    const reply = await netTransport.exchange(get(s.port, 5000));
    assert.equal(reply.kind === "response" && reply.body, "body");
    assert.ok(Date.now() - started < 4000, "finished well before the 5 s timeout");
  } finally {
    await s.close();
  }
});

/**
 * The phone client over real sockets on 127.0.0.1, the same table of cases for plain and
 * HTTPS phones: plain and TLS share everything but the socket, so each case must come out
 * the same on both. The HTTPS phone presents a self-signed certificate, as phones do.
 */

import assert from "node:assert/strict";
import net from "node:net";
import { netTransport, type PhoneReply, type PhoneRequest } from "../../src/http/mod.ts";
import { type RawPhone, rawPhone } from "../fakes/raw_phone.ts";

type Protocol = PhoneRequest["protocol"];

/** A phone's web server that does `behave` with each connection once a request head is in. */
function phone(protocol: Protocol, behave: (socket: net.Socket) => void): Promise<RawPhone> {
  return rawPhone(behave, protocol === "HTTPS");
}

function request(protocol: Protocol, port: number, more: Partial<PhoneRequest> = {}): PhoneRequest {
  return {
    protocol,
    host: "127.0.0.1",
    port,
    method: "GET",
    target: "/command.htm?number=0049%2A1",
    headers: [["Connection", "keep-alive"]],
    body: "",
    timeoutMs: 2000,
    ...more,
  };
}

/** Runs one exchange against a phone that does `behave`; the reply and how long it took. */
async function exchangeWith(
  protocol: Protocol,
  behave: (socket: net.Socket) => void,
  more: Partial<PhoneRequest> = {},
): Promise<{ reply: PhoneReply; ms: number; heads: string[] }> {
  const p = await phone(protocol, behave);
  try {
    const started = Date.now();
    const reply = await netTransport.exchange(request(protocol, p.port, more));
    return { reply, ms: Date.now() - started, heads: p.heads };
  } finally {
    await p.close();
  }
}

for (const protocol of ["HTTP", "HTTPS"] as const) {
  Deno.test(`${protocol}: a reply is read whole, and the request went out as formed`, async () => {
    const { reply, heads } = await exchangeWith(
      protocol,
      (s) => s.write("HTTP/1.1 302 Found\r\nLocation: /index.htm\r\nContent-Length: 2\r\n\r\nok"),
    );
    assert.deepEqual(reply, {
      kind: "response",
      status: 302,
      headers: [["location", "/index.htm"], ["content-length", "2"]],
      body: "ok",
    });
    const port = heads[0].match(/Host: 127\.0\.0\.1:(\d+)\r\n/)?.[1];
    assert.ok(port, "Host carries the port");
    assert.equal(
      heads[0],
      `GET /command.htm?number=0049%2A1 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
        "Connection: keep-alive\r\n\r\n",
    );
  });

  Deno.test(`${protocol}: a port nobody listens on is 'unreachable', at once`, async () => {
    const p = await phone(protocol, () => {});
    await p.close();
    const started = Date.now();
    const reply = await netTransport.exchange(request(protocol, p.port, { timeoutMs: 5000 }));
    assert.equal(reply.kind, "unreachable");
    assert.match(reply.kind === "unreachable" ? reply.message : "", /refused/i);
    assert.ok(Date.now() - started < 2000, "not at the timeout");
  });

  Deno.test(`${protocol}: a phone that never answers is a timeout, at the timeout`, async () => {
    const { reply, ms } = await exchangeWith(protocol, () => {}, { timeoutMs: 300 });
    assert.deepEqual(reply, { kind: "timeout" });
    assert.ok(ms >= 280 && ms < 2000, `took ${ms} ms`);
  });

  Deno.test(`${protocol}: a phone that closes without a reply is 'closed' (a dial that worked)`, async () => {
    const { reply, ms } = await exchangeWith(protocol, (s) => s.end(), { timeoutMs: 5000 });
    assert.deepEqual(reply, { kind: "closed" });
    assert.ok(ms < 2000, "not at the timeout");
  });

  Deno.test(`${protocol}: a phone that resets after the request is 'closed' too`, async () => {
    const { reply } = await exchangeWith(protocol, (s) => s.resetAndDestroy(), { timeoutMs: 5000 });
    assert.deepEqual(reply, { kind: "closed" });
  });

  Deno.test(`${protocol}: bytes that are not HTTP are 'malformed'`, async () => {
    const { reply } = await exchangeWith(protocol, (s) => s.end("SSH-2.0-OpenSSH_9.6\r\n\r\n"));
    assert.equal(reply.kind, "malformed");
    assert.match(reply.kind === "malformed" ? reply.message : "", /HTTP status line/);
  });

  Deno.test(`${protocol}: a reply that ends inside its head is 'malformed'`, async () => {
    const { reply } = await exchangeWith(protocol, (s) => s.end("HTTP/1.1 200 OK\r\nContent-Le"));
    assert.deepEqual(reply, { kind: "malformed", message: "the reply ended inside its head" });
  });

  Deno.test(`${protocol}: a reset after part of a reply gives what was read`, async () => {
    const { reply, ms } = await exchangeWith(
      protocol,
      (s) =>
        s.write(
          "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial",
          () => setTimeout(() => s.resetAndDestroy(), 20),
        ),
      { timeoutMs: 5000 },
    );
    assert.equal(reply.kind, "response");
    assert.equal(reply.kind === "response" && reply.status, 200);
    assert.equal(reply.kind === "response" && reply.body, "partial");
    assert.ok(ms < 2000, "not at the timeout");
  });

  Deno.test(`${protocol}: a status in hand at the timeout is the answer, body or not`, async () => {
    const { reply } = await exchangeWith(
      protocol,
      (s) => s.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial"),
      { timeoutMs: 300 },
    );
    assert.equal(reply.kind === "response" && reply.status, 200);
  });

  Deno.test(`${protocol}: a kept-alive reply without a length ends after a short silence`, async () => {
    const { reply, ms } = await exchangeWith(
      protocol,
      (s) => s.write("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n\r\nbody"),
      { timeoutMs: 5000 },
    );
    assert.equal(reply.kind === "response" && reply.body, "body");
    assert.ok(ms >= 200 && ms < 2000, `took ${ms} ms`);
  });

  Deno.test(`${protocol}: aborting ends the exchange at once: the server is stopping`, async () => {
    const stopping = new AbortController();
    const p = await phone(protocol, () => stopping.abort());
    try {
      const started = Date.now();
      const reply = await netTransport.exchange(
        request(protocol, p.port, { timeoutMs: 5000, signal: stopping.signal }),
      );
      assert.deepEqual(reply, { kind: "unreachable", message: "the server is stopping" });
      assert.ok(Date.now() - started < 2000, "not at the timeout");
      assert.equal(p.heads.length, 1, "the request had gone out");
    } finally {
      await p.close();
    }
  });

  Deno.test(`${protocol}: a request aborted before it starts is never sent`, async () => {
    const p = await phone(protocol, (s) => s.end("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
    try {
      const reply = await netTransport.exchange(
        request(protocol, p.port, { signal: AbortSignal.abort() }),
      );
      assert.deepEqual(reply, { kind: "unreachable", message: "the server is stopping" });
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(p.heads.length, 0);
    } finally {
      await p.close();
    }
  });
}

Deno.test("HTTPS to a port that speaks plain HTTP fails the handshake: 'unreachable', at once", async () => {
  const plain = net.createServer((s) => {
    s.on("error", () => {});
    s.once("data", () => s.end("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"));
  });
  await new Promise<void>((resolve) => plain.listen(0, "127.0.0.1", () => resolve()));
  try {
    const started = Date.now();
    const reply = await netTransport.exchange(
      request("HTTPS", (plain.address() as net.AddressInfo).port, { timeoutMs: 5000 }),
    );
    assert.equal(reply.kind, "unreachable");
    assert.ok(Date.now() - started < 2000, "not at the timeout");
  } finally {
    await new Promise<void>((resolve) => plain.close(() => resolve()));
  }
});

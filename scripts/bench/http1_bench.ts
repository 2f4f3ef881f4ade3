/**
 * HTTP/1.1 both ways, each against a baseline measured on the same machine in the same run.
 *
 * - The tolerant front (which phones' callbacks and the status page go through) against
 *   `Deno.serve`: sequential keep-alive GETs like a phone's action URLs, latency percentiles
 *   and throughput.
 * - The phone client (docs/snom.md §2.6: one request per connection, closed by us once the
 *   reply is in) against the least a client can do on the same server, a bare `Deno.connect`
 *   that writes the request and reads until the reply ends: plain HTTP and HTTPS, latency
 *   and the CPU time of this process per request (client and the small server together; the
 *   server is the same for every row).
 */

import net from "node:net";
import process from "node:process";
import tls from "node:tls";
import { netTransport, type PhoneRequest, serveHttp1 } from "../../src/http/mod.ts";
import { percentile, printTable, type Row, timeEach } from "./_table.ts";

const N = 3000;
const CLIENT_N = 2000;
const target =
  "/phone/101/onIncomingCall?k=abcdefghijklmnopqrstuv&cid=3c2a1@pbx&remote=0049301234@pbx&n=1";

async function measure(name: string, port: number): Promise<Row> {
  const url = `http://127.0.0.1:${port}${target}`;
  for (let i = 0; i < 200; i++) await (await fetch(url)).arrayBuffer(); // warm-up
  const start = performance.now();
  const times = await timeEach(N, async () => {
    await (await fetch(url)).arrayBuffer();
  });
  const seconds = (performance.now() - start) / 1000;
  return {
    name,
    values: { "req/s": N / seconds, p50: percentile(times, 50), p99: percentile(times, 99) },
  };
}

const handler = () => new Response("", { headers: { "content-type": "text/plain" } });
const ac = new AbortController();
const native = Deno.serve(
  { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
  handler,
);
const front = serveHttp1({ hostname: "127.0.0.1", port: 0, handler });
const rows = [
  await measure("Deno.serve (baseline)", native.addr.port),
  await measure("serveHttp1 front", front.port),
];
ac.abort();
await native.finished;
await front.close();
printTable(rows, { "req/s": "1/s", p50: "ms", p99: "ms" });

// The phone client.

const REPLY = new TextEncoder().encode(
  "HTTP/1.1 302 Found\r\nLocation: /index.htm\r\nContent-Length: 0\r\n\r\n",
);

/** A phone's web server at its simplest: reads a head, answers 302, keeps the connection. */
function phoneServer(listener: Deno.Listener): void {
  (async () => {
    for await (const conn of listener) {
      (async () => {
        const buf = new Uint8Array(4096);
        let seen = "";
        try {
          for (let n; (n = await conn.read(buf)) !== null;) {
            seen += new TextDecoder().decode(buf.subarray(0, n));
            if (seen.includes("\r\n\r\n")) {
              seen = "";
              await conn.write(REPLY);
            }
          }
        } catch {
          // the client closed first
        } finally {
          try {
            conn.close();
          } catch { /* closed */ }
        }
      })();
    }
  })().catch(() => {});
}

const plain = Deno.listen({ hostname: "127.0.0.1", port: 0 });
phoneServer(plain);
// HTTPS on node:tls, as Deno's own TLS listener holds small writes back (Nagle's algorithm)
// and would measure that instead of the client.
const secure = tls.createServer({
  cert: await Deno.readTextFile(
    new URL("../../tests/fixtures/phones/sim-cert.pem", import.meta.url),
  ),
  key: await Deno.readTextFile(new URL("../../tests/fixtures/phones/sim-key.pem", import.meta.url)),
}, (socket) => {
  let seen = "";
  socket.on("error", () => {});
  socket.on("data", (chunk: Uint8Array) => {
    seen += new TextDecoder().decode(chunk);
    if (seen.includes("\r\n\r\n")) {
      seen = "";
      socket.write(REPLY);
    }
  });
});
await new Promise<void>((resolve) => secure.listen(0, "127.0.0.1", () => resolve()));

function request(protocol: "HTTP" | "HTTPS", port: number): PhoneRequest {
  return {
    protocol,
    host: "127.0.0.1",
    port,
    method: "GET",
    target: "/command.htm?number=0049301234",
    headers: [["Connection", "keep-alive"], ["Authorization", "Basic YWRtaW46czNjcmV0"]],
    body: "",
    timeoutMs: 2000,
  };
}

/** The least a client can do: connect, write, read until the whole reply is in, close. */
async function bare(port: number): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  conn.setNoDelay(true);
  await conn.write(
    new TextEncoder().encode(`GET /command.htm?number=0049301234 HTTP/1.1\r\nHost: x\r\n\r\n`),
  );
  const buf = new Uint8Array(4096);
  let got = 0;
  while (got < REPLY.length) {
    const n = await conn.read(buf);
    if (n === null) break;
    got += n;
  }
  conn.close();
}

async function client(name: string, once: () => Promise<void>): Promise<Row> {
  for (let i = 0; i < 200; i++) await once(); // warm-up
  const cpu = process.cpuUsage();
  const start = performance.now();
  const times = await timeEach(CLIENT_N, once);
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  return {
    name,
    values: {
      "req/s": CLIENT_N / seconds,
      p50: percentile(times, 50),
      p99: percentile(times, 99),
      cpu: (used.user + used.system) / CLIENT_N,
    },
  };
}

const plainPort = (plain.addr as Deno.NetAddr).port;
const securePort = (secure.address() as net.AddressInfo).port;
const expect302 = async (r: PhoneRequest) => {
  const reply = await netTransport.exchange(r);
  if (reply.kind !== "response" || reply.status !== 302) throw new Error(JSON.stringify(reply));
};
const clientRows = [
  await client("bare Deno.connect (baseline)", () => bare(plainPort)),
  await client("phone client, HTTP", () => expect302(request("HTTP", plainPort))),
  await client("phone client, HTTPS", () => expect302(request("HTTPS", securePort))),
];
plain.close();
await new Promise<void>((resolve) => secure.close(() => resolve()));
console.log();
printTable(clientRows, { "req/s": "1/s", p50: "ms", p99: "ms", cpu: "µs/req" });

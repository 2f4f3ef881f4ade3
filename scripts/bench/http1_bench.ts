/**
 * The tolerant HTTP/1.1 front (which phones' callbacks and the status page go through)
 * against `Deno.serve` as the baseline, on the same machine in the same run: sequential
 * keep-alive GETs like a phone's action URLs, latency percentiles and throughput.
 */

import { serveHttp1 } from "../../src/http/mod.ts";
import { percentile, printTable, type Row, timeEach } from "./_table.ts";

const N = 3000;
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

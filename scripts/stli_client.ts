/**
 * A tiny interactive channel client for trying the server by hand (where nc or telnet is not
 * at hand): lines typed (or piped) go to the channel with CR LF, lines from the server are
 * printed as they arrive.
 *
 *   deno run --allow-net scripts/stli_client.ts [host] [port]
 */

const host = Deno.args[0] ?? "127.0.0.1";
const port = Number(Deno.args[1] ?? 26535);
const conn = await Deno.connect({ hostname: host, port });
console.error(`connected to ${host}:${port}; type STLI lines, Ctrl+D to end`);

const printing = (async () => {
  const decoder = new TextDecoder();
  for await (const chunk of conn.readable) {
    await Deno.stdout.write(
      new TextEncoder().encode(decoder.decode(chunk).replaceAll("\r\n", "\n")),
    );
  }
})();

let pending = "";
for await (const chunk of Deno.stdin.readable) {
  pending += new TextDecoder().decode(chunk);
  const lines = pending.split(/\r?\n/);
  pending = lines.pop() ?? "";
  for (const line of lines) {
    const pause = /^#\s*sleep\s+(\d+)/.exec(line);
    if (pause) await new Promise((r) => setTimeout(r, Number(pause[1])));
    else await conn.write(new TextEncoder().encode(line + "\r\n"));
  }
}
if (pending !== "") await conn.write(new TextEncoder().encode(pending + "\r\n"));
await new Promise((r) => setTimeout(r, 500));
await conn.closeWrite().catch(() => {}); // the server may have closed already (BYE)
await printing.catch(() => {});

/**
 * A client that gives up at once: connects to each port given and resets the connection
 * (RST) as soon as it is established, `count` times per port, then writes `done` into the
 * marker file. Run as its own process, so the server under test can be kept from accepting
 * meanwhile: `deno run --allow-net --allow-write resetter.ts <marker> <count> <port>...`.
 */

import net from "node:net";

const [marker, countText, ...ports] = Deno.args;
for (const port of ports.map(Number)) {
  for (let i = 0; i < Number(countText); i++) {
    await new Promise<void>((resolve) => {
      const socket = net.connect(port, "127.0.0.1", () => {
        socket.resetAndDestroy();
        resolve();
      });
      socket.on("error", () => resolve());
    });
  }
}
await Deno.writeTextFile(marker, "done");

/**
 * A phone's web server at its rawest, for the phone client's tests: plain TCP or TLS with a
 * self-signed certificate (as phones present), on 127.0.0.1 and a free port, doing what the
 * test says with each connection once a request head is in (answer, stall, close, reset).
 */

import net from "node:net";
import tls from "node:tls";

/** A listening raw phone. */
export interface RawPhone {
  readonly port: number;
  /** Every request head received (with its blank line), in order. */
  readonly heads: string[];
  close(): Promise<void>;
}

const CERT = new URL("../fixtures/phones/sim-cert.pem", import.meta.url);
const KEY = new URL("../fixtures/phones/sim-key.pem", import.meta.url);

/** Starts a raw phone that does `behave` with a connection after each request head. */
export async function rawPhone(
  behave: (socket: net.Socket, head: string) => void,
  secure = false,
): Promise<RawPhone> {
  const heads: string[] = [];
  const sockets = new Set<net.Socket>();
  const onSocket = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let seen = "";
    socket.on("data", (d: Uint8Array) => {
      seen += new TextDecoder().decode(d);
      if (!seen.includes("\r\n\r\n")) return;
      const head = seen;
      seen = "";
      heads.push(head);
      behave(socket, head);
    });
  };
  const server = secure
    ? tls.createServer(
      { cert: await Deno.readTextFile(CERT), key: await Deno.readTextFile(KEY) },
      onSocket,
    )
    : net.createServer(onSocket);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    port: (server.address() as net.AddressInfo).port,
    heads,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

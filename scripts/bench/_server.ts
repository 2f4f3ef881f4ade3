/**
 * The server in-process for a benchmark, as `main.ts` starts it from a configuration file: on
 * free loopback ports, its log at warning level into `bench.log` of `dir` and off the console,
 * no file watch. `lines` are the rest of the configuration.
 */

import { join } from "node:path";
import { LogService } from "../../src/log/mod.ts";
import { loadSettings, Server } from "../../src/server/mod.ts";
import { freePort } from "./_lines.ts";

/** A started server, its log service and its two ports. */
export interface BenchServer {
  readonly server: Server;
  readonly logService: LogService;
  readonly channelPort: number;
  readonly httpPort: number;
}

/** Starts the server; a configuration with errors throws with its findings. */
export async function startBenchServer(
  dir: string,
  lines: readonly string[],
): Promise<BenchServer> {
  const channelPort = freePort();
  const httpPort = freePort();
  const text = [
    "serverBindAddress = 127.0.0.1",
    `serverPort = ${channelPort}`,
    `serverHttpPort = ${httpPort}`,
    "logLevel = warning",
    "serverLogFilePath = bench.log",
    ...lines,
  ].join("\n") + "\n";
  const loaded = await loadSettings(text, join(dir, "phone-companion.cfg"));
  if (!loaded.settings) throw new Error(JSON.stringify(loaded.findings));
  const logService = new LogService(() => {});
  const server = await Server.start({
    settings: loaded.settings,
    configText: text,
    logService,
    watch: false,
  });
  return { server, logService, channelPort, httpPort };
}

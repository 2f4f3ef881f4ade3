/**
 * Entry point: flags → configuration → server → run until SIGINT/SIGTERM; or one of the
 * subcommands `client`, `service` and `provisioning`. The only place that reads the process's arguments,
 * writes the first-start file and exits.
 */

import {
  discoverConfig,
  type Discovered,
  formatFinding,
  homeFolder,
  isCompiled,
  readConfigText,
  renderDefaultConfig,
} from "./src/config/mod.ts";
import { log, LogService } from "./src/log/mod.ts";
import { type CliRequest, parseCli, USAGE, versionText } from "./src/server/cli.ts";
import {
  bannerText,
  consoleFacts,
  lanAddresses,
  loadSettings,
  logFindings,
  provisioningCommand,
  runClient,
  Server,
  serviceCommand,
  shouldWaitForEnter,
  systemInterfaces,
  waitForEnter,
  watchParent,
} from "./src/server/mod.ts";
import { EXECUTABLE, PRODUCT } from "./src/version.ts";
import { errorText } from "./src/text.ts";
import { within } from "./src/clock.ts";

/** How long a stop may take before the process ends regardless (ms). */
const STOP_LIMIT_MS = 1700;

/** The configuration file's text, or undefined after saying why it cannot be read. */
async function readConfig(path: string): Promise<string | undefined> {
  try {
    return await readConfigText(path);
  } catch (e) {
    console.error(
      `error: cannot read the configuration file ${path}: ${errorText(e)}`,
    );
    return undefined;
  }
}

/**
 * The last net under "bad input never crashes the server": an error that escaped every
 * handler is logged, and the server keeps serving its other channels and phones.
 */
function keepRunningOnStrayErrors(): void {
  globalThis.addEventListener("unhandledrejection", (e) => {
    e.preventDefault();
    log("server").error("an unexpected error was not handled: {error}", { error: e.reason });
  });
  globalThis.addEventListener("error", (e) => {
    e.preventDefault();
    log("server").error("an unexpected error was not handled: {error}", { error: e.error });
  });
}

async function main(request: CliRequest): Promise<number> {
  switch (request.kind) {
    case "help":
      console.log(USAGE);
      return 0;
    case "version":
      console.log(versionText());
      return 0;
    case "bad":
      console.error(`error: ${request.message}`);
      console.error(USAGE);
      return 2;
    case "client":
      return await runClient(request.host, request.port, {
        input: Deno.stdin.readable,
        print: (line) => console.log(line),
        note: (line) => console.error(line),
      });
    case "service":
      return await serviceCommand(request, (line) => console.log(line));
  }
  const found = await discoverConfig(request.config, homeFolder());
  switch (request.kind) {
    case "provisioning":
      return await provisioning(found, request.extension);
    case "check":
      return await checkConfig(found);
    case "run":
      return await run(found);
  }
}

/** `provisioning <extension>`: the lines to load into a provisioned phone. */
async function provisioning(found: Discovered, extension: string): Promise<number> {
  const text = found.exists ? await readConfig(found.path) : undefined;
  if (text === undefined) {
    if (!found.exists) console.error(`error: no configuration file at ${found.path}`);
    return 1;
  }
  const result = await loadSettings(text, found.path);
  if (!result.settings) {
    for (const f of result.findings) {
      if (f.level === "error") console.error(`error: ${formatFinding(f)}`);
    }
    return 1;
  }
  return await provisioningCommand(
    result.settings,
    extension,
    (line) => console.log(line),
    (line) => console.error(line),
  );
}

/** `--check-config`: every finding with its line; exit 1 on errors. */
async function checkConfig(found: Discovered): Promise<number> {
  if (!found.exists) {
    console.error(`error: no configuration file at ${found.path}`);
    return 1;
  }
  const text = await readConfig(found.path);
  if (text === undefined) return 1;
  const result = await loadSettings(text, found.path);
  for (const f of result.findings) console.log(`${f.level}: ${formatFinding(f)}`);
  const errors = result.findings.filter((f) => f.level === "error").length;
  const warnings = result.findings.filter((f) => f.level === "warning").length;
  console.log(
    `${found.path}: ${errors} error(s), ${warnings} warning(s)` +
      (errors === 0 ? ", the configuration is valid" : ""),
  );
  return errors === 0 ? 0 : 1;
}

/** The server: started with the configuration (written first if there is none), until a stop signal. */
async function run(found: Discovered): Promise<number> {
  const logService = new LogService();
  await logService.start();
  keepRunningOnStrayErrors();
  const wroteDefault = !found.exists && await writeDefaultConfig(found.path);
  if (!found.exists && !wroteDefault) {
    await logService.close();
    return 1;
  }
  const text = await readConfig(found.path);
  const result = text === undefined ? undefined : await loadSettings(text, found.path);
  if (result) logFindings(result.findings);
  if (text === undefined || !result?.settings) {
    if (result) {
      log("config").error("{path} has errors; fix them and start again", { path: found.path });
    }
    await logService.close();
    return 1;
  }
  // The log file first, so what follows (the default file written) is in it too.
  await logService.apply(result.settings.config);
  if (wroteDefault) {
    log("config").info(
      "no configuration file was found, so a default one was written to {path}; edit it to add your phones",
      { path: found.path },
    );
  }
  let server: Server;
  try {
    server = await Server.start({
      settings: result.settings,
      configText: text,
      logService,
      findings: result.findings,
    });
  } catch (e) {
    explainStartFailure(e, result.settings.config.server.bindAddress, found.path);
    await logService.close();
    return 1;
  }
  log("server").info("{product} is running; press Ctrl+C to stop", { product: PRODUCT });
  // With JSON Lines the console's standard output is for the log alone (a service's collector
  // reads it line by line): the banner, meant for a person, goes to standard error.
  const say = result.settings.config.log.format === "json"
    ? (text: string) => console.error(text)
    : (text: string) => console.log(text);
  await untilStopped(() =>
    // Printed once Ctrl+C is handled: whoever reads "Stop Ctrl+C" may press it at once.
    say(
      "\n" + bannerText({
        settings: server.settings,
        wroteDefault,
        lan: lanAddresses(systemInterfaces()),
        clientCommand: isCompiled()
          ? `${EXECUTABLE} client`
          : "npx -y deno@2.9.6 task start client",
        pid: Deno.pid,
        os: Deno.build.os,
      }) + "\n",
    )
  );
  log("server").info("stopping");
  // Every part closes within about a second; should one not, the stop still ends in time
  // (service managers kill what does not), with the log written out.
  if (!await within(server.close(), STOP_LIMIT_MS)) {
    log("server").warning("some parts had not finished closing after {ms} ms; stopping anyway", {
      ms: STOP_LIMIT_MS,
    });
  }
  await logService.close();
  return 0;
}

/** Writes the commented default file on first start; false after saying why it could not. */
async function writeDefaultConfig(path: string): Promise<boolean> {
  try {
    const eol = Deno.build.os === "windows" ? "\r\n" : "\n";
    await Deno.writeTextFile(path, renderDefaultConfig(eol), { createNew: true });
    return true;
  } catch (e) {
    log("config").error("cannot write the default configuration to {path}: {error}", {
      path,
      error: e,
    });
    return false;
  }
}

/** Why the server could not start, in words that say what to change. */
function explainStartFailure(e: unknown, bind: string, path: string): void {
  const cause = e instanceof Error && e.cause instanceof Error ? e.cause : undefined;
  if (cause instanceof Deno.errors.AddrNotAvailable) {
    log("server").error(
      "cannot start: {error}; {bind} is not an address of this computer. Set " +
        "serverBindAddress in {path} to one of its addresses, or to 0.0.0.0 for all of them",
      { error: errorText(e), bind, path },
    );
  } else {
    log("server").error(
      "cannot start: {error}{cause}; is another Phone Companion Server running? " +
        "Stop it or choose another serverPort in {path}",
      { error: errorText(e), cause: cause ? ` (${cause.message})` : "", path },
    );
  }
}

/**
 * Waits for a stop: SIGINT or SIGTERM, on Windows SIGINT or SIGBREAK (Windows has no SIGTERM;
 * Ctrl+Break is its other stop key), or the end of the process that started the server
 * (docs/install.md §6). `ready` runs once the signals are handled.
 */
async function untilStopped(ready: () => void): Promise<void> {
  const stopped = Promise.withResolvers<void>();
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT", "SIGBREAK"]
    : ["SIGINT", "SIGTERM"];
  const onSignal = () => stopped.resolve();
  for (const s of signals) {
    try {
      Deno.addSignalListener(s, onSignal);
    } catch { /* SIGTERM is not available on every platform */ }
  }
  const unwatch = watchParent(() => {
    log("server").info("the process that started the server has ended; stopping with it");
    stopped.resolve();
  });
  ready();
  await stopped.promise;
  unwatch();
  for (const s of signals) {
    try {
      Deno.removeSignalListener(s, onSignal);
    } catch { /* not registered */ }
  }
}

const request = parseCli(Deno.args);
const code = await main(request);
// A start-up error in a console window opened for this program alone would vanish with it.
if (code !== 0 && shouldWaitForEnter(consoleFacts(request.kind === "run" && request.noPause))) {
  await waitForEnter();
}
Deno.exit(code);

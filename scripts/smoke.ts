/**
 * The one smoke test of a built server (docs/building.md §9): runs the command that starts
 * the server, as a new user would, in an empty temporary folder, and checks what a user
 * notices first. The release workflow runs it on the executable on a runner of each OS;
 * `.ci/run` runs it on `deno task start` from the checkout.
 *
 *   deno task smoke --executable dist/x86_64-unknown-linux-gnu/phone-companion-server
 *   deno task smoke -- deno task --config deno.json start
 *
 * With `--executable`, the file is copied into an empty folder and started from another
 * one, so the configuration and the log must appear beside the executable; with a command,
 * it is started in the empty folder, where they must appear. Default ports 26535 and 26536
 * must be free. Exit status 0 when every check passed.
 */

import { parseArgs } from "node:util";
import { basename, join } from "node:path";
import { EXECUTABLE, PRODUCT, VERSION } from "../src/version.ts";

const CHANNEL_PORT = 26535;
const HTTP_PORT = 26536;
const START_TIMEOUT_MS = 60_000;

/**
 * `work`'s value if it settles within `ms`, else undefined; the timer is cleared either way,
 * so the script ends as soon as its last step does.
 */
async function settled<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
const STOP_LIMIT_MS = 2_000;

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: { executable: { type: "string" }, target: { type: "string" } },
});

class SmokeFailure extends Error {}

function fail(message: string): never {
  throw new SmokeFailure(message);
}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) fail(message);
}

let passed = 0;
async function stepDo<T>(what: string, run: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    const result = await run();
    passed++;
    console.log(`ok ${passed} - ${what} (${Math.round(performance.now() - t0)} ms)`);
    return result;
  } catch (e) {
    console.log(`not ok ${passed + 1} - ${what}`);
    throw e;
  }
}

/** A started process whose output is collected as it comes. */
interface Running {
  readonly child: Deno.ChildProcess;
  readonly stdin: WritableStreamDefaultWriter<Uint8Array>;
  output(): string;
  waitFor(pattern: RegExp, ms: number, what: string): Promise<RegExpExecArray>;
  /** Exit status, once stdout and stderr have ended too. */
  readonly done: Promise<Deno.CommandStatus>;
}

/**
 * The environment of every start: `INIT_CWD` says where it was started from, as a person's
 * `deno task` would (docs/configuration.md §2); ours may be inherited from a task runner.
 */
function env(cwd: string): Record<string, string> {
  return { NO_COLOR: "1", INIT_CWD: cwd };
}

function start(argv: readonly string[], cwd: string, args: readonly string[] = []): Running {
  const child = new Deno.Command(argv[0], {
    args: [...argv.slice(1), ...args],
    cwd,
    env: env(cwd),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    // Its own process group, so that clean-up reaches a task runner's children too.
    detached: Deno.build.os !== "windows",
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const done = child.status.then(async (s) => {
    await pumps;
    return s;
  });
  return {
    child,
    stdin: child.stdin.getWriter(),
    output: () => text,
    done,
    async waitFor(pattern, ms, what) {
      const end = Date.now() + ms;
      let exited = false;
      done.then(() => exited = true);
      for (;;) {
        const m = pattern.exec(text);
        if (m) return m;
        if (exited) fail(`${what}: the process ended first; its output:\n${text}`);
        if (Date.now() > end) fail(`${what}: not within ${ms} ms; output so far:\n${text}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}

async function run(argv: readonly string[], cwd: string, args: readonly string[]) {
  const out = await new Deno.Command(argv[0], {
    args: [...argv.slice(1), ...args],
    cwd,
    env: env(cwd),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function portFree(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch {
    return false;
  }
}

/** A channel connection that reads whole lines with a deadline. */
async function channel() {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: CHANNEL_PORT });
  const lines: string[] = [];
  let closed = false;
  const reading = (async () => {
    const decoder = new TextDecoder();
    let pending = "";
    try {
      for await (const chunk of conn.readable) {
        pending += decoder.decode(chunk, { stream: true });
        const parts = pending.split("\r\n");
        pending = parts.pop() ?? "";
        lines.push(...parts);
      }
    } catch { /* reset: counted as closed */ }
    closed = true;
  })();
  const next = async (what: string, ms = 10_000): Promise<string> => {
    const end = Date.now() + ms;
    while (lines.length === 0) {
      if (closed) fail(`${what}: the channel closed`);
      if (Date.now() > end) fail(`${what}: no line within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return lines.shift()!;
  };
  return {
    send: (line: string) => conn.write(new TextEncoder().encode(line + "\r\n")),
    next,
    async expect(expected: string | RegExp, what: string): Promise<RegExpExecArray | string> {
      const line = await next(what);
      if (typeof expected === "string") {
        check(line === expected, `${what}: expected '${expected}', got '${line}'`);
        return line;
      }
      const m = expected.exec(line);
      check(m, `${what}: expected ${expected}, got '${line}'`);
      return m;
    },
    async closedByServer(ms = 5000) {
      const end = Date.now() + ms;
      while (!closed && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      check(closed, "the server did not close the channel after BYE");
      check(lines.length === 0, `unexpected lines after BYE: ${lines.join(" | ")}`);
      await reading;
    },
    close: () => {
      try {
        conn.close();
      } catch { /* closed */ }
    },
  };
}

/**
 * Windows has no SIGTERM for another process: a console program stops on Ctrl+Break. This
 * process moves to a console of its own before starting the server, so the Ctrl+Break it
 * sends reaches only the server and itself (and it ignores it).
 */
const windowsConsole = Deno.build.os === "windows"
  ? (() => {
    const root = Deno.env.get("SystemRoot") ?? "C:\\Windows";
    const k = Deno.dlopen(`${root}\\System32\\kernel32.dll`, {
      FreeConsole: { parameters: [], result: "i32" },
      AllocConsole: { parameters: [], result: "i32" },
      GenerateConsoleCtrlEvent: { parameters: ["u32", "u32"], result: "i32" },
    });
    return {
      ownConsole() {
        if (Deno.stdout.isTerminal() || Deno.stderr.isTerminal()) {
          fail(
            "on Windows, run the smoke script with its output redirected (as CI does): it " +
              "moves to a console of its own to send Ctrl+Break",
          );
        }
        k.symbols.FreeConsole();
        check(k.symbols.AllocConsole() !== 0, "AllocConsole failed");
        Deno.addSignalListener("SIGBREAK", () => {});
      },
      ctrlBreak() {
        check(k.symbols.GenerateConsoleCtrlEvent(1, 0) !== 0, "GenerateConsoleCtrlEvent failed");
      },
    };
  })()
  : undefined;

async function main(): Promise<void> {
  const exeMode = values.executable !== undefined;
  const command = exeMode ? [] : positionals;
  check(exeMode || command.length > 0, "usage: smoke.ts --executable <file> | -- <command…>");
  windowsConsole?.ownConsole();

  // The real path: what the server sees as its executable's folder (macOS /private/var,
  // Windows long names instead of RUNNER~1), so the paths it prints can be compared.
  const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "pcs-smoke-" }));
  // Where the configuration and the log must appear, and where the process is started.
  const home = exeMode ? join(tmp, "app") : join(tmp, "work");
  const cwd = exeMode ? join(tmp, "elsewhere") : home;
  await Deno.mkdir(home);
  await Deno.mkdir(cwd, { recursive: true });
  const running: Running[] = [];
  try {
    let argv: string[];
    if (exeMode) {
      const name = basename(values.executable!);
      const want = Deno.build.os === "windows" ? `${EXECUTABLE}.exe` : EXECUTABLE;
      check(name === want, `the executable is named '${name}', expected '${want}'`);
      const copy = join(home, name);
      await Deno.copyFile(values.executable!, copy);
      if (Deno.build.os !== "windows") await Deno.chmod(copy, 0o755);
      argv = [copy];
    } else {
      argv = command[0] === "deno" ? [Deno.execPath(), ...command.slice(1)] : [...command];
    }
    const config = join(home, "phone-companion.cfg");
    const logFile = join(home, "phone-companion.log");
    console.log(`# smoke: ${argv.join(" ")} (home ${home}, started in ${cwd})`);
    for (const port of [CHANNEL_PORT, HTTP_PORT]) {
      check(portFree(port), `port ${port} is in use; the first start needs the default ports`);
    }

    await stepDo("--version names the version and the target; --help the executable", async () => {
      const v = await run(argv, cwd, ["--version"]);
      check(v.code === 0, `--version exited ${v.code}: ${v.stderr}`);
      const m = /^(.+) (\d+\.\d+\.\d+\S*) \(Deno (\S+), (\S+)\)\n$/.exec(v.stdout);
      check(m, `--version printed '${v.stdout}'`);
      check(m[1] === PRODUCT && m[2] === VERSION, `--version says ${m[1]} ${m[2]}`);
      if (values.target) check(m[4] === values.target, `built for ${m[4]}, not ${values.target}`);
      const h = await run(argv, cwd, ["--help"]);
      check(h.code === 0 && h.stdout.startsWith(`Usage: ${EXECUTABLE} `), `--help: ${h.stdout}`);
      check([...Deno.readDirSync(home)].length === (exeMode ? 1 : 0), "--version wrote files");
    });

    await stepDo("service install --dry-run shows the real path and changes nothing", async () => {
      const r = await run(argv, cwd, ["service", "install", "--dry-run"]);
      check(r.code === 0, `service install --dry-run exited ${r.code}: ${r.stdout}${r.stderr}`);
      check(/dry run: nothing was written or run\n$/.test(r.stdout), r.stdout);
      const program = exeMode ? await Deno.realPath(argv[0]) : "main.ts";
      check(r.stdout.includes(program), `the plan does not name ${program}:\n${r.stdout}`);
      check(r.stdout.includes(config), `the plan does not name ${config}:\n${r.stdout}`);
      check([...Deno.readDirSync(home)].length === (exeMode ? 1 : 0), "--dry-run wrote files");
    });

    const server = start(argv, cwd);
    running.push(server);
    await stepDo("the first start runs and says where everything is", async () => {
      await server.waitFor(/is running\./, START_TIMEOUT_MS, "the banner");
      await server.waitFor(/Stop +Ctrl\+C/, 5000, "the end of the banner");
      const out = server.output();
      for (const text of [config, logFile, `http://localhost:${HTTP_PORT}/`]) {
        check(out.includes(text), `the banner does not name ${text}:\n${out}`);
      }
    });

    await stepDo("the first start wrote the commented configuration and the log", async () => {
      const text = await Deno.readTextFile(config).catch(() => fail(`no ${config}`));
      check(text.startsWith("# Phone Companion Server configuration"), "not the default file");
      check(/^demoPhones = 2\r?$/m.test(text), "the default file has no demoPhones = 2");
      check(
        (text.match(/^#/gm) ?? []).length > 50,
        "the default file explains too little (fewer than 50 comment lines)",
      );
      await Deno.stat(logFile).catch(() => fail(`no ${logFile}`));
    });

    // The client watches 102 while a raw channel drives 101.
    const client = start(argv, cwd, ["client"]);
    running.push(client);
    const say = (line: string) => client.stdin.write(new TextEncoder().encode(line + "\n"));
    await stepDo("the built-in client connects, shakes hands and monitors 102", async () => {
      await client.waitFor(/connected to /, START_TIMEOUT_MS, "the client's greeting");
      await say("STLI;Version=2");
      await client.waitFor(
        /^error_ind SUCCESS STLI;Version=2;DeviceInformation=Standard$/m,
        10_000,
        "handshake",
      );
      await say("MonitorStart 102");
      await client.waitFor(/^error_ind SUCCESS MonitorStart$/m, 10_000, "MonitorStart 102");
    });

    const a = await channel();
    await stepDo("the STLI handshake", async () => {
      await a.send("STLI;Version=2");
      await a.expect("error_ind SUCCESS STLI;Version=2;DeviceInformation=Standard", "handshake");
    });
    await stepDo(
      "MonitorStart 101, then MakeCall 101 102: the three lines, then Originated",
      async () => {
        await a.send("MonitorStart 101");
        await a.expect("error_ind SUCCESS MonitorStart", "MonitorStart 101");
        await a.send("MakeCall 101 102");
        await a.expect("error_ind SUCCESS MakeCall", "MakeCall reply");
        const i = await a.expect(
          /^Initiated 101 makeCall (\d+) 101$/,
          "Initiated",
        ) as RegExpExecArray;
        await a.expect(`DeviceInformation 101 1 (${i[1]}:dialing:102)`, "DeviceInformation");
        // When phone 101 reports the call it dialled: the same call's Originated.
        await a.expect("Originated 101 newCall 101 102 101", "Originated");
        await a.expect(`DeviceInformation 101 1 (${i[1]}:dialing:102)`, "DeviceInformation");
        await client.waitFor(
          /^Delivered 102 newCall 102 101 102$/m,
          10_000,
          "the client sees 102 ring",
        );
      },
    );
    await stepDo("AnswerCall 102 and ClearConnection 101 end the call on both sides", async () => {
      await a.send("AnswerCall 102");
      await a.expect("error_ind SUCCESS AnswerCall", "AnswerCall reply");
      await a.expect("Established 101 newCall 102 101 102", "Established on 101");
      await a.send("ClearConnection 101");
      await a.expect("error_ind SUCCESS ClearConnection", "ClearConnection reply");
      await a.expect("ConnectionCleared 101 normalClearing 101", "ConnectionCleared on 101");
      await a.expect("DeviceInformation 101 0 ()", "DeviceInformation after the call");
      await client.waitFor(
        /^ConnectionCleared 102 normalClearing 102$/m,
        10_000,
        "the client sees the end",
      );
    });
    await stepDo("BYE ends the channel and the client", async () => {
      await a.send("BYE");
      await a.expect("error_ind SUCCESS BYE", "BYE reply");
      await a.closedByServer();
      await say("BYE");
      const status = await settled(client.done, 10_000);
      check(status?.code === 0, `the client did not end with 0 after BYE:\n${client.output()}`);
      check(
        /^error_ind SUCCESS BYE$/m.test(client.output()),
        "the client did not print BYE's reply",
      );
    });

    const pid = await stepDo("the status page answers", async () => {
      const page = await fetch(`http://127.0.0.1:${HTTP_PORT}/`);
      const html = await page.text();
      check(page.status === 200, `/ answered ${page.status}`);
      check(html.includes(PRODUCT) && html.includes(VERSION), "the page names no product version");
      const api = await fetch(`http://127.0.0.1:${HTTP_PORT}/api/status`);
      const status = await api.json() as { server?: { version?: string; pid?: number } };
      check(status.server?.version === VERSION, `/api/status says ${status.server?.version}`);
      check(typeof status.server?.pid === "number", "/api/status names no pid");
      if (exeMode) check(status.server.pid === server.child.pid, "the server is not the process");
      return status.server.pid;
    });

    await stepDo("the call journal kept the call, beside the configuration", async () => {
      type Calls = { calls?: { device: string; direction: string; outcome: string }[] };
      let got: Calls = {};
      for (let i = 0; i < 50 && (got.calls ?? []).length < 2; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 100));
        const r = await fetch(`http://127.0.0.1:${HTTP_PORT}/api/calls`);
        check(r.status === 200, `/api/calls answered ${r.status}: ${await r.clone().text()}`);
        got = await r.json();
      }
      const seen = (got.calls ?? []).map((c) => `${c.device} ${c.direction} ${c.outcome}`);
      check(
        seen.includes("101 outgoing answered") && seen.includes("102 incoming answered"),
        `/api/calls has ${JSON.stringify(seen)}`,
      );
      const journal = join(config, "..", "phone-companion-calls.sqlite");
      await Deno.stat(journal).catch(() => fail(`no ${journal}`));
    });

    await stepDo(
      "a second start exits 1 with a clear message, without waiting for Enter",
      async () => {
        const second = start(argv, cwd);
        running.push(second);
        const status = await settled(second.done, START_TIMEOUT_MS);
        check(status !== undefined, `a second start kept running:\n${second.output()}`);
        check(status.code === 1, `a second start exited ${status.code}:\n${second.output()}`);
        check(/another Phone Companion Server running/.test(second.output()), second.output());
      },
    );

    await stepDo(
      `a stop signal ends it within ${STOP_LIMIT_MS} ms and the log is complete`,
      async () => {
        const t0 = performance.now();
        if (windowsConsole) windowsConsole.ctrlBreak();
        else Deno.kill(pid, "SIGTERM");
        const status = await settled(server.done, 10_000);
        const ms = Math.round(performance.now() - t0);
        check(status !== undefined, `still running 10 s after the stop signal`);
        console.log(`# stopped in ${ms} ms, exit code ${status.code}`);
        check(ms <= STOP_LIMIT_MS, `the stop took ${ms} ms`);
        check(
          status.code === 0,
          `exit code ${status.code} after the stop signal:\n${server.output()}`,
        );
        const log = (await Deno.readTextFile(logFile)).trimEnd().split(/\r?\n/);
        const wanted = [/a default one was written to/, /is running/, /\[server\] stopping$/];
        for (const w of wanted) check(log.some((l) => w.test(l)), `the log has no line ${w}`);
        check(/\[server\] stopped$/.test(log.at(-1) ?? ""), `the log ends '${log.at(-1)}'`);
        // The one error is the second start's, which the log must keep too.
        const errors = log.filter((l) => / (ERROR|FATAL) /.test(l));
        check(
          errors.length === 1 && /cannot start: .*another Phone Companion Server/.test(errors[0]),
          `the log has other errors than the second start's:\n${errors.join("\n")}`,
        );
      },
    );
  } finally {
    for (const r of running) {
      try {
        if (Deno.build.os === "windows") r.child.kill("SIGKILL");
        else Deno.kill(-r.child.pid, "SIGKILL");
      } catch { /* ended */ }
      r.stdin.close().catch(() => {});
      await settled(r.done, 5000);
    }
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

try {
  await main();
  console.log(`smoke: ${passed} passed, 0 failed`);
} catch (e) {
  console.log(`# ${e instanceof SmokeFailure ? e.message : e instanceof Error ? e.stack : e}`);
  console.log(`smoke: ${passed} passed, 1 failed`);
  Deno.exit(1);
}

/**
 * Service install (docs/install.md §5): what is written and run on each platform, from the
 * executable's real path and its configuration, checked through a fake runner that records
 * every step; and `--dry-run` through the real `main.ts`, which must change nothing.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  carryOut,
  planService,
  type Runner,
  type RunResult,
  type ServiceTarget,
  systemdWord,
  windowsArg,
} from "../../src/service/mod.ts";
import { serviceCommand, type ServiceFacts } from "../../src/server/service_command.ts";
import { ROOT, runMain, tempDir } from "../helpers.ts";

/** Records every step; answers commands from `answers` (default: success, no output). */
class FakeRunner implements Runner {
  readonly calls: string[] = [];
  readonly files = new Map<string, { data: Uint8Array; mode?: number }>();
  constructor(readonly answers: Record<string, RunResult> = {}) {}
  run(argv: readonly string[]): Promise<RunResult> {
    this.calls.push(`run ${argv.join(" ")}`);
    return Promise.resolve(this.answers[argv.join(" ")] ?? { code: 0, output: "" });
  }
  write(path: string, data: Uint8Array, mode?: number): Promise<void> {
    this.calls.push(`write ${path}`);
    this.files.set(path, { data, mode });
    return Promise.resolve();
  }
  remove(path: string): Promise<void> {
    this.calls.push(`remove ${path}`);
    return Promise.resolve();
  }
}

const linux: ServiceTarget = {
  os: "linux",
  program: "/opt/Phone Companion/phone-companion-server",
  programArgs: [],
  config: "/opt/Phone Companion/phone-companion.cfg",
  user: "pcs",
};

function text(runner: FakeRunner, path: string): string {
  return new TextDecoder().decode(runner.files.get(path)!.data);
}

Deno.test("Linux: a systemd unit from the real path, enabled and started with systemctl", async () => {
  const runner = new FakeRunner();
  const printed: string[] = [];
  const code = await carryOut(
    planService("install", linux),
    "linux",
    runner,
    (l) => printed.push(l),
  );
  assert.equal(code, 0);
  const unit = "/etc/systemd/system/phone-companion-server.service";
  assert.deepEqual(runner.calls, [
    `write ${unit}`,
    "run systemctl daemon-reload",
    "run systemctl enable --now phone-companion-server.service",
  ]);
  assert.equal(runner.files.get(unit)!.mode, 0o644);
  const written = text(runner, unit);
  assert.match(
    written,
    /^ExecStart="\/opt\/Phone Companion\/phone-companion-server" --config "\/opt\/Phone Companion\/phone-companion\.cfg"$/m,
  );
  assert.match(written, /^WorkingDirectory=\/opt\/Phone Companion$/m);
  assert.match(written, /^User=pcs$/m);
  assert.match(written, /^Restart=on-failure$/m);
  assert.match(written, /^WantedBy=multi-user\.target$/m);
  // Printed before it is carried out: the file whole, then each command.
  assert.equal(printed[0], `write ${unit}:\n${written.trimEnd()}\n`);
  assert.deepEqual(printed.slice(1), [
    "run systemctl daemon-reload",
    "run systemctl enable --now phone-companion-server.service",
  ]);
  // systemd would read % as a specifier, $ as a variable and \ or " as escapes.
  assert.equal(systemdWord('C:\\a "b" 100% $HOME'), '"C:\\\\a \\"b\\" 100%% $$HOME"');
});

Deno.test("Linux: uninstall goes on when the service is not running; status passes the answer", async () => {
  const runner = new FakeRunner({
    "systemctl disable --now phone-companion-server.service": { code: 1, output: "not loaded" },
    "systemctl status --no-pager phone-companion-server.service": { code: 3, output: "inactive" },
  });
  const printed: string[] = [];
  assert.equal(await carryOut(planService("uninstall", linux), "linux", runner, () => {}), 0);
  assert.deepEqual(runner.calls, [
    "run systemctl disable --now phone-companion-server.service",
    "remove /etc/systemd/system/phone-companion-server.service",
    "run systemctl daemon-reload",
  ]);
  const status = await carryOut(
    planService("status", linux),
    "linux",
    runner,
    (l) => printed.push(l),
  );
  assert.equal(status, 3);
  assert.ok(printed.includes("inactive"));
});

Deno.test("a refused step stops the install and says what to do", async () => {
  const runner = new FakeRunner({
    "systemctl daemon-reload": { code: 1, output: "Access denied" },
  });
  const printed: string[] = [];
  const code = await carryOut(
    planService("install", linux),
    "linux",
    runner,
    (l) => printed.push(l),
  );
  assert.equal(code, 1);
  assert.equal(runner.calls.length, 2, "nothing runs after the refusal");
  assert.equal(printed.at(-1), "failed with exit code 1: run it again with sudo");
});

Deno.test("macOS: a launchd daemon plist, bootstrapped into the system domain", async () => {
  const runner = new FakeRunner({
    "launchctl bootout system/phone-companion-server": { code: 3, output: "No such process" },
  });
  const target: ServiceTarget = {
    ...linux,
    os: "darwin",
    program: "/Applications/PCS & Co/phone-companion-server",
    config: "/Applications/PCS & Co/phone-companion.cfg",
    user: undefined,
  };
  assert.equal(await carryOut(planService("install", target), "darwin", runner, () => {}), 0);
  const plist = "/Library/LaunchDaemons/phone-companion-server.plist";
  assert.deepEqual(runner.calls, [
    `write ${plist}`,
    "run launchctl bootout system/phone-companion-server",
    "run launchctl enable system/phone-companion-server",
    `run launchctl bootstrap system ${plist}`,
  ]);
  const written = text(runner, plist);
  assert.match(
    written,
    /<key>ProgramArguments<\/key>\n {2}<array>\n {4}<string>\/Applications\/PCS &amp; Co\/phone-companion-server<\/string>\n {4}<string>--config<\/string>\n {4}<string>\/Applications\/PCS &amp; Co\/phone-companion\.cfg<\/string>\n {2}<\/array>/,
  );
  assert.match(written, /<key>RunAtLoad<\/key>\n {2}<true\/>/);
  assert.match(written, /<key>SuccessfulExit<\/key>\n {4}<false\/>/);
  assert.doesNotMatch(written, /UserName/);
});

Deno.test("Windows: a boot task for SYSTEM from XML in UTF-16, without the three-day limit", async () => {
  const runner = new FakeRunner();
  const target: ServiceTarget = {
    os: "windows",
    program: "C:\\Program Files\\PCS\\phone-companion-server.exe",
    programArgs: [],
    config: "C:\\Program Files\\PCS\\phone-companion.cfg",
  };
  assert.equal(await carryOut(planService("install", target), "windows", runner, () => {}), 0);
  const xmlPath = "C:\\Program Files\\PCS\\phone-companion-server.task.xml";
  assert.deepEqual(runner.calls, [
    `write ${xmlPath}`,
    `run schtasks /Create /TN Phone Companion Server /XML ${xmlPath} /F`,
    `remove ${xmlPath}`,
    "run schtasks /Run /TN Phone Companion Server",
  ]);
  const data = runner.files.get(xmlPath)!.data;
  assert.deepEqual([data[0], data[1]], [0xff, 0xfe], "UTF-16 LE with a byte order mark");
  const xml = new TextDecoder("utf-16le").decode(data.subarray(2));
  assert.match(xml, /<Command>C:\\Program Files\\PCS\\phone-companion-server\.exe<\/Command>/);
  assert.match(
    xml,
    /<Arguments>--config &quot;C:\\Program Files\\PCS\\phone-companion\.cfg&quot; --no-pause<\/Arguments>/,
  );
  assert.match(xml, /<WorkingDirectory>C:\\Program Files\\PCS<\/WorkingDirectory>/);
  assert.match(xml, /<BootTrigger>/);
  assert.match(xml, /<UserId>S-1-5-18<\/UserId>/);
  assert.match(xml, /<ExecutionTimeLimit>PT0S<\/ExecutionTimeLimit>/);
  // Quoting as the C runtime reads arguments back.
  assert.equal(windowsArg("C:\\a b\\"), '"C:\\a b\\\\"');
  assert.equal(windowsArg('say "hi"'), '"say \\"hi\\""');
  assert.equal(windowsArg("plain"), "plain");
});

Deno.test("service install takes the executable's real path and the config beside it", async () => {
  const facts: ServiceFacts = {
    os: "linux",
    execPath: "/usr/local/bin/pcs",
    compiled: true,
    mainModule: "/unused/main.ts",
    sudoUser: "alice",
    realPath: (p) => (p === "/usr/local/bin/pcs" ? "/opt/pcs/phone-companion-server" : p),
  };
  const runner = new FakeRunner();
  const printed: string[] = [];
  const code = await serviceCommand(
    { action: "install", dryRun: false },
    (l) => printed.push(l),
    facts,
    runner,
    "/opt/pcs",
  );
  assert.equal(code, 0);
  const unit = text(runner, "/etc/systemd/system/phone-companion-server.service");
  assert.match(
    unit,
    /^ExecStart=\/opt\/pcs\/phone-companion-server --config \/opt\/pcs\/phone-companion\.cfg$/m,
  );
  assert.match(unit, /^User=alice$/m, "the user who ran sudo");
  assert.ok(printed.includes(
    "note: /opt/pcs/phone-companion.cfg does not exist yet; the server writes it at its first start",
  ));
});

Deno.test("a path with a line break is refused before anything is written", async () => {
  const runner = new FakeRunner();
  const printed: string[] = [];
  const facts: ServiceFacts = {
    os: "linux",
    execPath: "/opt/pcs/phone-companion-server",
    compiled: true,
    mainModule: "/unused/main.ts",
    realPath: (p) => p,
  };
  const code = await serviceCommand(
    { action: "install", config: "/opt/pcs/x.cfg\nExecStartPre=/bin/sh", dryRun: false },
    (l) => printed.push(l),
    facts,
    runner,
    "/opt/pcs",
  );
  assert.equal(code, 2);
  assert.deepEqual(runner.calls, []);
  assert.match(printed[0], /^error: .* has a control character; services cannot use it$/);
});

Deno.test("--dry-run through main.ts prints the plan and changes nothing", async () => {
  const dir = await tempDir();
  try {
    const config = join(dir.path, "pcs.cfg");
    const r = await runMain(["service", "install", "--dry-run", "--config", config], dir.path);
    assert.equal(r.code, 0, r.stderr);
    const os = Deno.build.os;
    if (os === "linux") {
      // From a checkout the service runs deno on main.ts, with the start task's permissions.
      assert.match(
        r.stdout,
        new RegExp(
          `^ExecStart=\\S+ run --v8-flags=\\S+ --allow-net .* ${
            join(ROOT, "main.ts")
          } --config ${config}$`,
          "m",
        ),
      );
      assert.match(r.stdout, /^run systemctl enable --now phone-companion-server\.service$/m);
    }
    assert.match(r.stdout, /^note: this is a checkout/m);
    assert.match(r.stdout, /dry run: nothing was written or run\n$/);
    assert.deepEqual([...Deno.readDirSync(dir.path)], [], "nothing written");
  } finally {
    await dir.remove();
  }
});

const systemdAnalyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].find((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});

Deno.test({
  name: "Linux: systemd-analyze verify accepts the generated unit, spaces in the path and all",
  ignore: Deno.build.os !== "linux" || systemdAnalyze === undefined,
  fn: async () => {
    const dir = await tempDir();
    try {
      const folder = join(dir.path, "Phone Companion 100%");
      await Deno.mkdir(folder);
      const program = join(folder, "phone-companion-server");
      await Deno.copyFile("/bin/true", program);
      await Deno.chmod(program, 0o755);
      const unit = join(dir.path, "phone-companion-server.service");
      const runner = new FakeRunner();
      await carryOut(
        planService("install", { ...linux, program, config: join(folder, "phone-companion.cfg") }),
        "linux",
        runner,
        () => {},
      );
      await Deno.writeFile(
        unit,
        runner.files.get("/etc/systemd/system/phone-companion-server.service")!.data,
      );
      const out = await new Deno.Command(systemdAnalyze!, { args: ["verify", unit] }).output();
      const said = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, said);
      assert.equal(said.trim(), "", "no complaint at all");
    } finally {
      await dir.remove();
    }
  },
});

const python = ["/usr/bin/python3", "/usr/local/bin/python3"].find((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});

Deno.test({
  name: "the plist reads back as launchd's keys and the task XML is well-formed (Python's readers)",
  ignore: python === undefined,
  fn: async () => {
    const mac = new FakeRunner();
    const darwin: ServiceTarget = { ...linux, os: "darwin", program: "/opt/a&b <c>/pcs" };
    await carryOut(planService("install", darwin), "darwin", mac, () => {});
    const win = new FakeRunner();
    const windows: ServiceTarget = {
      os: "windows",
      program: "C:\\A&B\\phone-companion-server.exe",
      programArgs: [],
      config: 'C:\\A&B\\"odd".cfg',
    };
    await carryOut(planService("install", windows), "windows", win, () => {});
    const script = `
import json, plistlib, sys, xml.etree.ElementTree as ET
p = plistlib.loads(open(sys.argv[1], "rb").read())
t = ET.fromstring(open(sys.argv[2], "rb").read().decode("utf-16"))
ns = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}
print(json.dumps({"plist": p, "command": t.find(".//t:Command", ns).text,
  "arguments": t.find(".//t:Arguments", ns).text}))`;
    const dir = await tempDir();
    try {
      const plist = join(dir.path, "p.plist");
      const xml = join(dir.path, "t.xml");
      await Deno.writeFile(
        plist,
        mac.files.get("/Library/LaunchDaemons/phone-companion-server.plist")!.data,
      );
      await Deno.writeFile(xml, win.files.get("C:\\A&B\\phone-companion-server.task.xml")!.data);
      const out = await new Deno.Command(python!, { args: ["-c", script, plist, xml] }).output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      const read = JSON.parse(new TextDecoder().decode(out.stdout));
      assert.deepEqual(read.plist.ProgramArguments, [
        "/opt/a&b <c>/pcs",
        "--config",
        "/opt/Phone Companion/phone-companion.cfg",
      ]);
      assert.equal(read.plist.UserName, "pcs");
      assert.equal(read.plist.RunAtLoad, true);
      assert.deepEqual(read.plist.KeepAlive, { SuccessfulExit: false });
      assert.equal(read.command, "C:\\A&B\\phone-companion-server.exe");
      // The C runtime reads `\\\"` back as `\"`: the backslash, then the quote.
      assert.equal(read.arguments, '--config "C:\\A&B\\\\\\"odd\\".cfg" --no-pause');
    } finally {
      await dir.remove();
    }
  },
});

Deno.test("logged in as root without sudo, install refuses to make a root service unless told", async () => {
  const facts: ServiceFacts = {
    os: "linux",
    execPath: "/opt/pcs/phone-companion-server",
    compiled: true,
    mainModule: "/unused/main.ts",
    root: true,
    realPath: (p) => p,
  };
  const printed: string[] = [];
  const refused = new FakeRunner();
  const code = await serviceCommand(
    { action: "install", dryRun: false },
    (l) => printed.push(l),
    facts,
    refused,
    "/opt/pcs",
  );
  assert.equal(code, 2);
  assert.equal(refused.calls.length, 0, "nothing written, nothing run");
  assert.ok(printed.some((l) => /would run as root.*--user <name>/.test(l)), printed.join("\n"));
  assert.ok(printed.includes("error: not installed; add --user <name> or --user root"));

  const dry: string[] = [];
  assert.equal(
    await serviceCommand(
      { action: "install", dryRun: true },
      (l) => dry.push(l),
      facts,
      new FakeRunner(),
      "/opt/pcs",
    ),
    0,
  );
  assert.ok(dry.some((l) => /would run as root/.test(l)), "a dry run says so too");

  const meant = new FakeRunner();
  assert.equal(
    await serviceCommand(
      { action: "install", dryRun: false, user: "root" },
      () => {},
      facts,
      meant,
      "/opt/pcs",
    ),
    0,
  );
  assert.match(text(meant, "/etc/systemd/system/phone-companion-server.service"), /^User=root$/m);

  const named = new FakeRunner();
  assert.equal(
    await serviceCommand(
      { action: "install", dryRun: false, user: "pcs" },
      () => {},
      facts,
      named,
      "/opt/pcs",
    ),
    0,
  );
  assert.match(text(named, "/etc/systemd/system/phone-companion-server.service"), /^User=pcs$/m);
});

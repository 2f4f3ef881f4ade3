import assert from "node:assert/strict";
import { join } from "node:path";
import { parseCli, parseHostPort } from "../../src/server/cli.ts";
import { ROOT, runMain, tempDir } from "../helpers.ts";

Deno.test("flags parse into requests; bad flags into a one-line message", () => {
  assert.deepEqual(parseCli([]), { kind: "run", config: undefined, noPause: false });
  assert.deepEqual(parseCli(["--config", "a.cfg", "--no-pause"]), {
    kind: "run",
    config: "a.cfg",
    noPause: true,
  });
  assert.deepEqual(parseCli(["--check-config", "--config=a.cfg"]), {
    kind: "check",
    config: "a.cfg",
  });
  assert.equal(parseCli(["--help", "--config", "x"]).kind, "help");
  assert.equal(parseCli(["--version"]).kind, "version");
  const bad = parseCli(["--bogus"]);
  assert.equal(bad.kind, "bad");
  assert.match((bad as { message: string }).message, /^Unknown option '--bogus'/);
  assert.equal(parseCli(["--config"]).kind, "bad");
  assert.equal(parseCli(["stray"]).kind, "bad");
});

Deno.test("client and service parse into their requests; mistakes into one line", () => {
  assert.deepEqual(parseCli(["client"]), { kind: "client", host: "127.0.0.1", port: 26535 });
  assert.deepEqual(parseCli(["client", "pcs.local:4000"]), {
    kind: "client",
    host: "pcs.local",
    port: 4000,
  });
  assert.deepEqual(parseHostPort("[::1]:26535"), { host: "::1", port: 26535 });
  assert.deepEqual(parseHostPort("fe80::1"), { host: "fe80::1", port: 26535 });
  assert.deepEqual(parseHostPort("10.0.0.5"), { host: "10.0.0.5", port: 26535 });
  for (const bad of [["client", "host:99999"], ["client", "a", "b"], ["client", "--port"]]) {
    assert.equal(parseCli(bad).kind, "bad", bad.join(" "));
  }
  assert.deepEqual(parseCli(["service", "install", "--dry-run", "--config", "/opt/p.cfg"]), {
    kind: "service",
    action: "install",
    config: "/opt/p.cfg",
    user: undefined,
    dryRun: true,
  });
  assert.deepEqual(parseCli(["service", "status", "--user", "pcs"]), {
    kind: "service",
    action: "status",
    config: undefined,
    user: "pcs",
    dryRun: false,
  });
  for (
    const bad of [
      ["service"],
      ["service", "start"],
      ["service", "install", "extra"],
      ["service", "install", "--bogus"],
      ["service", "install", "--user", "a b"],
    ]
  ) {
    const r = parseCli(bad);
    assert.equal(r.kind, "bad", bad.join(" "));
    assert.doesNotMatch((r as { message: string }).message, /\n/);
  }
});

Deno.test("--help prints usage and exits 0; --version names version, Deno and target", async () => {
  const help = await runMain(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: phone-companion-server \[--config <path>\]/);
  assert.match(help.stdout, /^ {7}phone-companion-server client \[<host>\[:<port>\]\]$/m);
  assert.match(help.stdout, /^ {7}phone-companion-server service install\|uninstall\|status /m);
  const version = await runMain(["--version"]);
  assert.equal(version.code, 0);
  assert.match(
    version.stdout,
    /^Phone Companion Server \d+\.\d+\.\d+ \(Deno \d+\.\d+\.\d+, [a-z0-9_]+-[a-z0-9_-]+\)\n$/,
  );
});

Deno.test("an unknown flag or a missing value exits 2 with one error line and the usage", async () => {
  for (const args of [["--bogus"], ["--config"]]) {
    const r = await runMain(args);
    assert.equal(r.code, 2, args.join(" "));
    const lines = r.stderr.split("\n");
    assert.match(lines[0], /^error: /);
    assert.match(lines[1], /^Usage: /);
    assert.equal(r.stdout, "");
  }
});

Deno.test("--check-config prints every finding with its line and exits 1 on errors, 0 when valid", async () => {
  const dir = await tempDir();
  try {
    const bad = join(dir.path, "bad.cfg");
    await Deno.writeTextFile(
      bad,
      "serverPort = 26535x\nserverprot = 1\nphone=101@10.0.0.1 snom.cfg admin\nphone=102@10.0.0.2 nosuch.cfg\nproviderVerifyDepth = 4\n",
    );
    const r = await runMain(["--check-config", "--config", bad]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stdout,
      [
        `error: ${bad}:1: serverPort must be a port number 1-65535, got '26535x'`,
        `warning: ${bad}:2: unknown key 'serverprot', did you mean 'serverPort'?`,
        `error: ${bad}:3: phone has a username but no password; expected '<extension>@<host>[:<port>] <profile file> [<username> <password>]'`,
        `info: ${bad}:5: providerVerifyDepth is accepted for compatibility and ignored: the runtime has no such setting`,
        // The profiles are checked even though the file itself has errors.
        `error: ${bad}:4: profile 'nosuch.cfg' not found beside the configuration file nor built in`,
        `${bad}: 3 error(s), 1 warning(s)`,
        "",
      ].join("\n"),
    );

    const good = join(dir.path, "good.cfg");
    await Deno.writeTextFile(good, "phone=101@10.0.0.1 snom.cfg\nphone=102@10.0.0.2 nosuch.cfg\n");
    const missingProfile = await runMain(["--check-config", "--config", good]);
    assert.equal(missingProfile.code, 1);
    assert.match(
      missingProfile.stdout,
      /good\.cfg:2: profile 'nosuch\.cfg' not found beside the configuration file nor built in/,
    );

    await Deno.writeTextFile(good, "phone=101@10.0.0.1 snom.cfg\n");
    const ok = await runMain(["--check-config", "--config", good]);
    assert.equal(ok.code, 0);
    assert.equal(ok.stdout, `${good}: 0 error(s), 0 warning(s), the configuration is valid\n`);

    const none = await runMain(["--check-config", "--config", join(dir.path, "missing.cfg")]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no configuration file at .*missing\.cfg/);
  } finally {
    await dir.remove();
  }
});

Deno.test("a profile beside the config file overrides the built-in one, and its mistakes are reported", async () => {
  const dir = await tempDir();
  try {
    const cfg = join(dir.path, "phone-companion.cfg");
    await Deno.writeTextFile(cfg, "phone=101@10.0.0.1 snom.cfg\n");
    await Deno.writeTextFile(
      join(dir.path, "snom.cfg"),
      "protocol = HTTP\n[MakeCall]\nmethod = FETCH\nresource = /x\n",
    );
    const r = await runMain(["--check-config"], dir.path);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /error: .*snom\.cfg:3: method must be GET, POST or PUT, got 'FETCH'/);
  } finally {
    await dir.remove();
  }
});

Deno.test("a configuration file that cannot be read is one error line and exit 1, not a crash", async () => {
  const dir = await tempDir();
  try {
    const file = join(dir.path, "pcs.cfg");
    await Deno.writeTextFile(file, "serverPort = 26535\n");
    // Reading outside the repository is not allowed, as a locked-down file would not be.
    const permissions = ["--allow-net", `--allow-read=${ROOT}`, "--allow-write", "--allow-env"];
    for (const args of [["--check-config", "--config", file], ["--config", file]]) {
      const r = await runMain(args, ROOT, permissions);
      assert.equal(r.code, 1, args.join(" "));
      assert.match(r.stderr, new RegExp(`^error: cannot read the configuration file ${file}: `));
      assert.doesNotMatch(r.stderr, /Uncaught/);
    }
  } finally {
    await dir.remove();
  }
});

Deno.test("deno task's INIT_CWD names the home folder only when the task runs in the checkout", async () => {
  const started = await tempDir();
  const elsewhere = await tempDir();
  try {
    await Deno.writeTextFile(join(started.path, "phone-companion.cfg"), "demoPhones = 1\n");
    // `deno task start` runs main.ts in the checkout and says where it was started from.
    const fromTask = await runMain(["--check-config"], ROOT, undefined, {
      INIT_CWD: started.path,
    });
    assert.equal(fromTask.code, 0, fromTask.stderr);
    assert.match(fromTask.stdout, new RegExp(`^${started.path}/phone-companion\\.cfg: 0 error`));
    // Started in another folder, an inherited INIT_CWD is stale and the working folder counts.
    const stale = await runMain(["--check-config"], elsewhere.path, undefined, {
      INIT_CWD: started.path,
    });
    assert.equal(stale.code, 1);
    assert.match(stale.stderr, new RegExp(`no configuration file at ${elsewhere.path}/`));
  } finally {
    await started.remove();
    await elsewhere.remove();
  }
});

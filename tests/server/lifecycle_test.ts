import assert from "node:assert/strict";
import { join } from "node:path";
import {
  freePort,
  ROOT,
  runMain,
  SERVER_PERMISSIONS,
  startMain,
  tempDir,
  waitFor,
} from "../helpers.ts";

function config(lines: Record<string, string | number>, extra = ""): string {
  return Object.entries(lines).map(([k, v]) => `${k} = ${v}`).join("\n") + "\n" + extra;
}

async function statusOf(port: number): Promise<Record<string, Record<string, unknown>>> {
  const res = await fetch(`http://127.0.0.1:${port}/api/status`);
  return await res.json();
}

Deno.test("first start in an empty folder writes a documented default file and runs on it", async () => {
  const dir = await tempDir();
  const server = startMain([], dir.path);
  try {
    await server.waitForOutput(/is running; press Ctrl\+C to stop/);
    const text = await Deno.readTextFile(join(dir.path, "phone-companion.cfg"));
    assert.match(text, /^demoPhones = 2$/m);
    assert.match(server.output(), /a default one was written to .*phone-companion\.cfg/);
    assert.equal(await server.stop("SIGINT"), 0);
    const log = await Deno.readTextFile(join(dir.path, "phone-companion.log"));
    assert.match(
      log,
      /INFO {2}\[config\] no configuration file was found, so a default one was written/,
    );
    assert.match(log, /INFO {2}\[server\] stopped\n$/);
    assert.ok(
      log.indexOf("a default one was written") < log.indexOf("[server] started with"),
      "the log says the default file was written before it says the server started",
    );
  } finally {
    await server.stop();
    await dir.remove();
  }
});

Deno.test("a bind address that is not on this computer is named as such, not as a busy port", async () => {
  const dir = await tempDir();
  try {
    const file = join(dir.path, "phone-companion.cfg");
    // 192.0.2.1 is reserved for documentation: no computer has it. Binding fails locally;
    // nothing is sent anywhere.
    await Deno.writeTextFile(
      file,
      config({ serverBindAddress: "192.0.2.1", serverPort: freePort(), demoPhones: 0 }),
    );
    const r = await runMain(["--config", file], dir.path);
    assert.equal(r.code, 1);
    const all = r.stdout + r.stderr;
    assert.match(all, /192\.0\.2\.1 is not an address of this computer/);
    assert.doesNotMatch(all, /another Phone Companion Server running/);
  } finally {
    await dir.remove();
  }
});

Deno.test("the vendor's file name is found when ours is absent", async () => {
  const dir = await tempDir();
  const http = freePort();
  await Deno.writeTextFile(
    join(dir.path, "24uPhoneCompanionServer.cfg"),
    config({
      serverHttpPort: http,
      serverPort: freePort(),
      serverBindAddress: "127.0.0.1",
      serverLogFilePath: "vendor.log",
    }),
  );
  const server = startMain([], dir.path);
  try {
    await server.waitForOutput(/is running/);
    const status = await statusOf(http);
    assert.match(String(status.server.configurationFile), /24uPhoneCompanionServer\.cfg$/);
    assert.equal(await server.stop(), 0);
    assert.match(await Deno.readTextFile(join(dir.path, "vendor.log")), /\[server\] started/);
  } finally {
    await server.stop();
    await dir.remove();
  }
});

Deno.test("editing the config of a running server: valid changes apply, mistakes keep the last good one", async () => {
  const dir = await tempDir();
  const file = join(dir.path, "pcs.cfg");
  const base = { serverBindAddress: "127.0.0.1", serverPort: freePort(), configReloadSeconds: 1 };
  const first = freePort();
  await Deno.writeTextFile(file, config({ ...base, serverHttpPort: first }));
  const server = startMain(["--config", file]);
  try {
    await server.waitForOutput(/is running/);
    assert.equal((await statusOf(first)).server.version !== undefined, true);

    const second = freePort();
    await Deno.writeTextFile(file, config({ ...base, serverHttpPort: second, logLevel: "debug" }));
    await server.waitForOutput(/applied the changed .*pcs\.cfg/);
    await waitFor("the status page on the new port", () => statusOf(second).catch(() => undefined));
    await waitFor(
      "the old port to close",
      () => fetch(`http://127.0.0.1:${first}/`).then(() => false, () => true),
    );

    await Deno.writeTextFile(
      file,
      config({ ...base, serverHttpPort: second }, "phoneTimeoutSeconds = soon\nfoo = bar\n"),
    );
    await server.waitForOutput(/keeping the last good settings/);
    const out = server.output();
    assert.match(
      out,
      /ERROR \[config\] .*pcs\.cfg:5: phoneTimeoutSeconds must be a number of seconds 1-120, got 'soon'/,
    );
    assert.match(out, /WARN {2}\[config\] .*pcs\.cfg:6: unknown key 'foo'/);
    const status = await statusOf(second);
    assert.equal(status.configuration.lastChangeApplied, false);
    assert.match(
      JSON.stringify(status.configuration.findings),
      /phoneTimeoutSeconds must be a number/,
    );

    assert.equal(await server.stop(), 0);
    const log = await Deno.readTextFile(join(dir.path, "phone-companion.log"));
    assert.match(log, /pcs\.cfg:5: phoneTimeoutSeconds must be a number of seconds/);
    assert.match(log, /\[server\] stopped/);
  } finally {
    await server.stop();
    await dir.remove();
  }
});

Deno.test("secrets from the config never reach the log, the console or the status page", async () => {
  const dir = await tempDir();
  const file = join(dir.path, "pcs.cfg");
  const http = freePort();
  const secrets = {
    adminPassword: "AdminSecret-7731",
    providerClientSecret: "ClientSecret-5523",
    providerPassword: "ProviderPass-9182",
    providerJwt: "eyJhbGciOi.JwtSecret-4410.sig",
    phonePassword: "PhonePass-6620",
  };
  await Deno.writeTextFile(
    file,
    config({
      serverBindAddress: "127.0.0.1",
      serverPort: freePort(),
      serverHttpPort: http,
      configReloadSeconds: 1,
      logLevel: "debug",
      adminPassword: secrets.adminPassword,
      providerId: "ringcentral",
      providerClientId: "client-id",
      providerClientSecret: secrets.providerClientSecret,
      providerUsername: "user",
      providerPassword: secrets.providerPassword,
      providerJwt: secrets.providerJwt,
    }, `phone=101@127.0.0.1:9 snom.cfg admin ${secrets.phonePassword}\n`),
  );
  const server = startMain(["--config", file]);
  try {
    await server.waitForOutput(/is running/);
    const pages = [
      await (await fetch(`http://127.0.0.1:${http}/`)).text(),
      await (await fetch(`http://127.0.0.1:${http}/api/status`)).text(),
    ];
    // A reload that fails, with the secrets still in the file.
    await Deno.writeTextFile(file, (await Deno.readTextFile(file)) + "serverPort = x\n");
    await server.waitForOutput(/keeping the last good settings/);
    assert.equal(await server.stop(), 0);
    const log = await Deno.readTextFile(join(dir.path, "phone-companion.log"));
    assert.ok(log.length > 0);
    for (const [name, value] of Object.entries(secrets)) {
      for (
        const [where, text] of [["log", log], ["console", server.output()], ["page", pages.join()]]
      ) {
        assert.ok(!text.includes(value), `${name} leaked into the ${where}`);
      }
    }
  } finally {
    await server.stop();
    await dir.remove();
  }
});

Deno.test("a second server on a channel port in use says so and exits 1", async () => {
  const dir = await tempDir();
  const blocker = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (blocker.addr as Deno.NetAddr).port;
  const file = join(dir.path, "pcs.cfg");
  await Deno.writeTextFile(
    file,
    config({ serverBindAddress: "127.0.0.1", serverPort: port, serverHttpPort: freePort() }),
  );
  const server = startMain(["--config", file]);
  try {
    assert.equal(await server.stop("SIGCONT"), 1);
    assert.match(
      server.output(),
      /ERROR \[server\] cannot start: cannot listen for channels on 127\.0\.0\.1:\d+ \(Address already in use.*\); is another Phone Companion Server running\?/,
    );
    assert.match(await Deno.readTextFile(join(dir.path, "phone-companion.log")), /cannot start/);
  } finally {
    blocker.close();
    await server.stop();
    await dir.remove();
  }
});

Deno.test("with logFormat = json the console's standard output is JSON Lines only", async () => {
  const dir = await tempDir();
  const file = join(dir.path, "phone-companion.cfg");
  await Deno.writeTextFile(
    file,
    config({
      logFormat: "json",
      serverPort: freePort(),
      serverHttpPort: freePort(),
      demoPhones: 1,
    }),
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...SERVER_PERMISSIONS, join(ROOT, "main.ts"), "--config", file],
    cwd: dir.path,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stdout = "";
  let stderr = "";
  const pump = async (s: ReadableStream<Uint8Array>, add: (t: string) => void) => {
    const decoder = new TextDecoder();
    for await (const chunk of s) add(decoder.decode(chunk, { stream: true }));
  };
  const pumps = Promise.all([
    pump(child.stdout, (t) => stdout += t),
    pump(child.stderr, (t) => stderr += t),
  ]);
  try {
    await waitFor("the banner", () => stderr.includes("is running."), 15_000);
    child.kill("SIGTERM");
    assert.equal((await child.status).code, 0);
    await pumps;
    const lines = stdout.split("\n").filter((l) => l !== "");
    assert.ok(lines.length >= 3, stdout);
    for (const line of lines) {
      assert.doesNotThrow(() => JSON.parse(line), `not JSON on standard output: ${line}`);
    }
    assert.ok(lines.some((l) => JSON.parse(l).message?.includes("is running")), stdout);
    assert.match(stderr, /Phone Companion Server .* is running\./, "the banner, for a person");
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* ended */ }
    await dir.remove();
  }
});

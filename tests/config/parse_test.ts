import assert from "node:assert/strict";
import { formatFinding, parseConfig, renderDefaultConfig } from "../../src/config/mod.ts";

const FILE = "/srv/pcs/phone-companion.cfg";

function messages(text: string, level?: string): string[] {
  return parseConfig(text, FILE).findings
    .filter((f) => level === undefined || f.level === level)
    .map(formatFinding);
}

/** The vendor's example file from the seed, with its X.X.X.X placeholders made real. */
const VENDOR_EXAMPLE = `# Server uses this port to listen to connections. Default number is 26535
serverPort = 26535
# Change the log file path including the name to create logs at desired place. Default path including the name is "24uPhoneCompanionServer.log"
serverLogFilePath = 24uPhoneCompanionServer.log
# Id of your provider. Possible values are: "ringcentral", "alliancephones" and "custom"
providerId = ringcentral
# Host name of the provider
providerHostname = pbx.yourhostname.com
# Port of the provider. Default is 443
providerPort = 443
# Client id of the provider
providerClientId = dAvO1HZAXXXXXXXaTvx
# Client secret of the provider
providerClientSecret = ubJtxGDeS9a7OXXXXXXXXXXXcGWrRMSrXRc0hkb_M
# Username of the provider
providerUsername = 19XXXXXXX27
# Password of the provider
providerPassword = yourpassword
# The security switch for the HTTP protocol. Possible values are: "HTTP" and "HTTPS"
providerProtocol = HTTPS
# SSL verification file name. Server will first search the certificates in the file, then those in the path
providerSslVerificationFilename = /etc/ssl/cert.pem
# SSL verification path
providerSslVerificationPath = /etc/ssl
# Minimum protocol version. Currently supported versions are SSL3_VERSION, TLS1_VERSION, TLS1_1_VERSION and TLS1_2_VERSION
providerMinProtocolVersion = TLS1_VERSION
# Increase this number if you have troubles connecting to the provider
providerVerifyDepth = 4
phone=101@192.168.1.21 snom.cfg
phone=102@192.168.1.22 snom.cfg username password
`;

Deno.test("the vendor's example file parses with no warning and keeps its values", () => {
  const { snapshot, findings } = parseConfig(VENDOR_EXAMPLE, FILE);
  assert.deepEqual(findings.filter((f) => f.level !== "info"), []);
  assert.ok(snapshot);
  assert.equal(snapshot.server.port, 26535);
  assert.equal(snapshot.log.filePath, "/srv/pcs/24uPhoneCompanionServer.log");
  assert.equal(snapshot.provider?.id, "ringcentral");
  assert.equal(snapshot.provider?.hostname, "pbx.yourhostname.com");
  assert.equal(snapshot.provider?.auth, "oauth");
  assert.equal(snapshot.provider?.caFile, "/etc/ssl/cert.pem");
  assert.deepEqual(
    snapshot.phones.map((p) => [p.extension, p.host, p.port, p.profile, p.username, p.password]),
    [
      ["101", "192.168.1.21", undefined, "snom.cfg", undefined, undefined],
      ["102", "192.168.1.22", undefined, "snom.cfg", "username", "password"],
    ],
  );
});

Deno.test("ignored vendor TLS keys are reported as info, not as warnings", () => {
  const infos = messages(VENDOR_EXAMPLE, "info");
  assert.equal(infos.length, 2);
  assert.match(infos.join("\n"), /providerVerifyDepth is accepted for compatibility and ignored/);
  assert.match(infos.join("\n"), /TLS 1\.2 or newer, which meets providerMinProtocolVersion/);
});

Deno.test("an empty file gives every default of docs/configuration.md, with a warning", () => {
  const { snapshot, findings, empty } = parseConfig("# only a comment\n\n", FILE);
  assert.equal(empty, true);
  assert.deepEqual(findings.map((f) => [f.level, f.message]), [[
    "warning",
    "the file sets nothing (it is empty or holds only comments): every key takes its default, " +
    "and a running server keeps the settings in effect",
  ]]);
  assert.ok(snapshot);
  assert.equal(snapshot.server.port, 26535);
  assert.equal(snapshot.server.httpPort, 26536);
  assert.equal(snapshot.server.bindAddress, "0.0.0.0");
  assert.equal(snapshot.server.callbackUrl, "auto");
  assert.equal(snapshot.server.maxChannels, 1024);
  assert.equal(snapshot.log.filePath, "/srv/pcs/phone-companion.log");
  assert.equal(snapshot.log.level, "info");
  assert.equal(snapshot.log.maxBytes, 10 * 1024 * 1024);
  assert.equal(snapshot.log.maxFiles, 5);
  assert.equal(snapshot.phoneTimeoutSeconds, 5);
  assert.equal(snapshot.channel.deviceInformation, "standard");
  assert.equal(snapshot.channel.errorDetail, false);
  assert.equal(snapshot.channel.maxLineBytes, 65536);
  assert.equal(snapshot.channel.maxQueueBytes, 1048576);
  assert.equal(snapshot.configReloadSeconds, 5);
  assert.equal(snapshot.demoPhones, 0);
  assert.equal(snapshot.provider, undefined);
  assert.deepEqual(
    snapshot.server.allowedClients.map((c) => c.text),
    [
      "127.0.0.0/8",
      "10.0.0.0/8",
      "172.16.0.0/12",
      "192.168.0.0/16",
      "169.254.0.0/16",
      "::1/128",
      "fe80::/10",
      "fc00::/7",
    ],
  );
});

Deno.test("keys match case-insensitively; BOM, CR LF and both comment styles are accepted", () => {
  const text =
    "\uFEFF# comment\r\n; another\r\nSERVERPORT=4000\r\n  serverhttpport =  4001  \r\n\r\nLogLevel = DEBUG\r\n";
  const { snapshot, findings } = parseConfig(text, FILE);
  assert.deepEqual(findings, []);
  assert.equal(snapshot?.server.port, 4000);
  assert.equal(snapshot?.server.httpPort, 4001);
  assert.equal(snapshot?.log.level, "debug");
});

Deno.test("a bad value names the file, line, key, expectation and what was found", () => {
  assert.deepEqual(messages("# x\n\nserverPort = 26535x\n"), [
    "/srv/pcs/phone-companion.cfg:3: serverPort must be a port number 1-65535, got '26535x'",
  ]);
  assert.deepEqual(messages("logLevel = loud"), [
    "/srv/pcs/phone-companion.cfg:1: logLevel must be one of debug, info, warning, error, got 'loud'",
  ]);
});

Deno.test("an unknown key is a warning with the nearest known key, never fatal", () => {
  const { snapshot, findings } = parseConfig("a=b\n\n\n\n\n\nserverprot = 1\n", FILE);
  assert.ok(snapshot, "the file is still usable");
  assert.deepEqual(findings.map(formatFinding), [
    "/srv/pcs/phone-companion.cfg:1: unknown key 'a', ignored",
    "/srv/pcs/phone-companion.cfg:7: unknown key 'serverprot', did you mean 'serverPort'?",
  ]);
  assert.ok(findings.every((f) => f.level === "warning"));
});

Deno.test("a key set twice is a warning naming both lines, and the later line wins", () => {
  assert.deepEqual(messages("serverPort=1\nserverport=2"), [
    "/srv/pcs/phone-companion.cfg:2: serverPort is also set on line 1; this later line wins",
  ]);
  const { snapshot, findings } = parseConfig("serverPort=1\nserverport=2", FILE);
  assert.equal(snapshot?.server.port, 2);
  assert.deepEqual(findings.map((f) => f.level), ["warning"]);
});

Deno.test("sizes take KB, MB and GB (counted in 1024s), KiB and MiB, with or without a space", () => {
  const size = (text: string) => parseConfig(`logMaxBytes = ${text}`, FILE).snapshot?.log.maxBytes;
  assert.equal(size("10 MB"), 10 << 20);
  assert.equal(size("10MB"), 10 << 20);
  assert.equal(size("10 MiB"), 10 << 20);
  assert.equal(size("512 KB"), 512 << 10);
  assert.equal(size("1 GB"), 1 << 30);
  assert.equal(size("65536"), 65536);
  assert.equal(size("10 MBX"), undefined);
  assert.match(
    messages("logMaxBytes = lots").join("\n"),
    /logMaxBytes must be a size of 4096-1073741824 bytes, such as 10 MB, 512 KB or 65536/,
  );
});

Deno.test("phone lines: host with port, credentials, and each kind of mistake", () => {
  const { snapshot } = parseConfig("phone=7@[fe80::1]:8080 my.cfg admin p#ss;word", FILE);
  assert.deepEqual(
    [snapshot?.phones[0].host, snapshot?.phones[0].port, snapshot?.phones[0].password],
    ["fe80::1", 8080, "p#ss;word"],
  );
  const cases: [string, RegExp][] = [
    ["phone=101 snom.cfg", /without '@'/],
    ["phone=101@h", /got 1 words/],
    ["phone=101@h snom.cfg admin", /username but no password/],
    ["phone=1 01@h snom.cfg", /got 3 words|username but no password/],
    ["phone=a(b@h snom.cfg", /extension must be/],
    ["phone=101@h:99999 snom.cfg", /port must be a port number 1-65535, got '99999'/],
    ["phone=101@bad_host! snom.cfg", /host must be/],
    [
      "phone=101@a snom.cfg\nphone=101@b snom.cfg",
      /:2: extension 101 is already used by the phone on line 1/,
    ],
  ];
  for (const [text, expected] of cases) {
    const found = messages(text, "error");
    assert.equal(found.length, 1, `${text} → ${found}`);
    assert.match(found[0], expected);
  }
});

Deno.test("demo phones may not take an extension a phone line uses", () => {
  const found = messages("demoPhones = 2\nphone=102@10.0.0.2 snom.cfg", "error");
  assert.deepEqual(found, [
    "/srv/pcs/phone-companion.cfg:1: demo phone 102 clashes with the phone on line 2; set demoPhones = 0 to use only the phones listed here",
  ]);
});

Deno.test("demoYealinkPhones names demo phones that are Yealinks; others are warned about and left out", () => {
  const parsed = parseConfig("demoPhones = 3\ndemoYealinkPhones = 102, 103,102\n", FILE);
  assert.deepEqual(parsed.snapshot?.demoYealinkPhones, ["102", "103"]);
  assert.deepEqual(parsed.findings, []);
  const out = parseConfig("demoPhones = 2\ndemoYealinkPhones = 102,105\n", FILE);
  assert.deepEqual(out.snapshot?.demoYealinkPhones, ["102"]);
  assert.deepEqual(out.findings.map(formatFinding), [
    "/srv/pcs/phone-companion.cfg:2: demoYealinkPhones names 105, which is not a demo phone (demoPhones = 2 starts 101-102)",
  ]);
  assert.deepEqual(messages("demoYealinkPhones = 102\n", "warning"), [
    "/srv/pcs/phone-companion.cfg:1: demoYealinkPhones names 102, which is not a demo phone (demoPhones = 0 starts none)",
  ]);
  assert.deepEqual(messages("demoPhones = 2\ndemoYealinkPhones = 102 103\n", "error"), [
    "/srv/pcs/phone-companion.cfg:2: demoYealinkPhones must be extensions separated by commas, got '102 103'",
  ]);
});

Deno.test("a bad secret value is reported without showing the value", () => {
  // Secret keys accept any text; a malformed line that looks like one still never echoes it.
  const found = messages(
    "providerId = custom\nproviderHostname = h\nproviderAuth = bearer",
    "warning",
  );
  assert.deepEqual(found, [
    "/srv/pcs/phone-companion.cfg:1: providerAuth = bearer needs providerToken",
  ]);
});

Deno.test("relative paths resolve against the config file's folder; absolute ones stay", () => {
  const rel = parseConfig("serverLogFilePath = logs/pcs.log", FILE).snapshot;
  assert.equal(rel?.log.filePath, "/srv/pcs/logs/pcs.log");
  const abs = parseConfig("serverLogFilePath = /var/log/pcs.log", FILE).snapshot;
  assert.equal(abs?.log.filePath, "/var/log/pcs.log");
});

Deno.test("the snapshot is frozen all the way down", () => {
  const { snapshot } = parseConfig("phone=101@h snom.cfg", FILE);
  assert.ok(snapshot);
  assert.throws(() => {
    (snapshot.server as { port: number }).port = 1;
  }, TypeError);
  assert.throws(() => {
    (snapshot.phones as unknown as unknown[]).push({});
  }, TypeError);
});

Deno.test("every secret of the file is listed for redaction", () => {
  const { snapshot } = parseConfig(
    "adminPassword = a1\nproviderId = ringcentral\nproviderClientSecret = s2\nproviderPassword = p3\nproviderJwt = j4\nphone=101@h snom.cfg u p5",
    FILE,
  );
  assert.deepEqual([...(snapshot?.secrets ?? [])].sort(), ["a1", "j4", "p3", "p5", "s2"]);
});

Deno.test("provider: ringcentral defaults its host; others need one; custom defaults to no auth", () => {
  assert.equal(
    parseConfig("providerId = ringcentral", FILE).snapshot?.provider?.hostname,
    "platform.ringcentral.com",
  );
  assert.match(
    messages("providerId = alliancephones", "error").join(),
    /providerId = alliancephones needs providerHostname/,
  );
  const custom = parseConfig(
    "providerId = custom\nproviderHostname = api.example\nproviderProtocol = http",
    FILE,
  );
  assert.equal(custom.snapshot?.provider?.auth, "none");
  assert.equal(custom.snapshot?.provider?.protocol, "HTTP");
});

Deno.test("the generated default file documents every key and parses cleanly with two demo phones", () => {
  const text = renderDefaultConfig();
  const { snapshot, findings } = parseConfig(text, FILE);
  assert.deepEqual(findings, []);
  assert.equal(snapshot?.demoPhones, 2);
  assert.deepEqual(snapshot?.phones, []);
  for (
    const key of [
      "serverPort",
      "providerJwt",
      "adminPassword",
      "logMaxFiles",
      "providerVerifyDepth",
    ]
  ) {
    assert.match(text, new RegExp(`^(# )?${key} =`, "m"), `${key} is in the file`);
  }
  assert.match(text, /^# phone=201@192\.168\.1\.21 snom\.cfg$/m);
  // A newcomer with RingCentral sees how an extension becomes a device, and that line parses.
  assert.match(text, /^# phone=101@provider$/m);
  const cloud = parseConfig(
    text.replace("# phone=101@provider", "phone=101@provider")
      .replace(/^# providerId = .*$/m, "providerId = ringcentral")
      .replace("demoPhones = 2", "demoPhones = 0"),
    FILE,
  );
  assert.deepEqual(cloud.snapshot?.cloudPhones.map((p) => p.extension), ["101"]);
  const crlf = renderDefaultConfig("\r\n");
  assert.deepEqual(parseConfig(crlf, FILE).findings, []);
});

Deno.test("a line without '=' is an error that does not echo the line (it may be a password)", () => {
  assert.deepEqual(messages("providerPassword: hunter2"), [
    "/srv/pcs/phone-companion.cfg:1: expected 'key = value', got a line without '='",
  ]);
});

Deno.test("an adminPassword under 10 characters is a warning that does not show it; 10 are fine", () => {
  const short = parseConfig("\n\nadminPassword = Ab3$xyz", FILE);
  assert.ok(short.snapshot, "a short password is still used");
  assert.deepEqual(short.findings.map((f) => [f.level, f.line, f.key]), [
    ["warning", 3, "adminPassword"],
  ]);
  assert.match(formatFinding(short.findings[0]), /shorter than 10 characters/);
  assert.doesNotMatch(JSON.stringify(short.findings), /Ab3\$xyz/);
  assert.deepEqual(parseConfig("adminPassword = 0123456789", FILE).findings, []);
  assert.deepEqual(parseConfig("adminPassword =", FILE).findings, [], "not set is no warning");
  // Ten characters, counted as characters and not as UTF-16 units.
  assert.deepEqual(parseConfig("adminPassword = ööööö😀😀😀😀😀", FILE).findings, []);
});

Deno.test("logFormat and phoneCheckSeconds: defaults, values and what is refused", () => {
  const defaults = parseConfig("", FILE).snapshot!;
  assert.equal(defaults.log.format, "text");
  assert.equal(defaults.phoneCheckSeconds, 60);
  const set = parseConfig("logFormat = JSON\nphoneCheckSeconds = 0", FILE).snapshot!;
  assert.equal(set.log.format, "json");
  assert.equal(set.phoneCheckSeconds, 0, "0 switches the checks off");
  assert.deepEqual(messages("logFormat = xml\nphoneCheckSeconds = -1", "error"), [
    "/srv/pcs/phone-companion.cfg:1: logFormat must be one of text, json, got 'xml'",
    "/srv/pcs/phone-companion.cfg:2: phoneCheckSeconds must be a number of seconds 0-86400, got '-1'",
  ]);
  assert.match(renderDefaultConfig(), /JSON Lines[\s\S]*\nlogFormat = text\n/);
  assert.match(renderDefaultConfig(), /\nphoneCheckSeconds = 60\n/);
});

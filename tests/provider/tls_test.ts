import assert from "node:assert/strict";
import { join } from "node:path";
import { type FetchLike, ProviderService } from "../../src/provider/mod.ts";
import { loadSettings } from "../../src/server/mod.ts";
import { FakeProvider } from "../fakes/fake_provider.ts";
import { makeTestCertificates } from "../fakes/test_certs.ts";
import { type Lines, raw, ringCentralLines, settingsFrom } from "./_helpers.ts";

const certs = makeTestCertificates();
const strangerCa = makeTestCertificates("Some Other CA").caPem;
const GET_EXTENSION = { method: "GET", resource: "/restapi/v1.0/account/~/extension/~" };

interface TlsRig extends AsyncDisposable {
  readonly fake: FakeProvider;
  readonly provider: ProviderService;
  readonly dir: string;
  /** fetch calls the service made. */
  readonly calls: () => number;
  apply(lines: Lines): Promise<void>;
}

async function tlsRig(): Promise<TlsRig> {
  const fake = await FakeProvider.start({ tls: { cert: certs.certPem, key: certs.keyPem } });
  const dir = await Deno.makeTempDir({ prefix: "pcs-provider-tls-" });
  let calls = 0;
  const counting: FetchLike = (input, init) => {
    calls++;
    return fetch(input, init);
  };
  const provider = new ProviderService({ fetch: counting });
  return {
    fake,
    provider,
    dir,
    calls: () => calls,
    async apply(lines) {
      await provider.apply(await settingsFrom(ringCentralLines(fake, lines)));
    },
    async [Symbol.asyncDispose]() {
      await provider.close();
      await fake.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("a provider certificate from an unknown CA is refused, never accepted", async () => {
  await using t = await tlsRig();
  await t.apply({});
  const reply = await raw(t.provider, GET_EXTENSION);
  assert.deepEqual([reply.ok, reply.status], [false, 0]);
  assert.match(reply.error!, /^CertificateRefused: .*UnknownIssuer/);
  assert.match(reply.error!, /providerSslVerificationFilename/);
  assert.equal(t.fake.requests.length, 0);
  assert.equal(t.calls(), 1, "a refused certificate is not tried again");
});

Deno.test("the CA in providerSslVerificationFilename makes the provider trusted", async () => {
  await using t = await tlsRig();
  await Deno.writeTextFile(join(t.dir, "ca.pem"), certs.caPem);
  await t.apply({ providerSslVerificationFilename: join(t.dir, "ca.pem") });
  const reply = await raw(t.provider, GET_EXTENSION);
  assert.equal(reply.ok, true, reply.json);
  assert.equal(t.fake.logins().length, 1);
});

Deno.test("a relative CA file name is found beside the configuration file", async () => {
  await using t = await tlsRig();
  await Deno.writeTextFile(join(t.dir, "ca.pem"), certs.caPem);
  const text = Object.entries(
    ringCentralLines(t.fake, { providerSslVerificationFilename: "ca.pem" }),
  )
    .filter(([, v]) => v !== null).map(([k, v]) => `${k} = ${v}`).join("\n");
  const { settings } = await loadSettings(text, join(t.dir, "phone-companion.cfg"));
  assert.ok(settings);
  await t.provider.apply(settings);
  assert.equal((await raw(t.provider, GET_EXTENSION)).ok, true);
});

Deno.test("every *.pem and *.crt in providerSslVerificationPath is trusted", async () => {
  await using t = await tlsRig();
  const cas = join(t.dir, "cas");
  await Deno.mkdir(cas);
  await Deno.writeTextFile(join(cas, "a-stranger.pem"), strangerCa);
  await Deno.writeTextFile(join(cas, "ours.crt"), certs.caPem);
  await Deno.writeTextFile(join(cas, "README.txt"), "not a certificate");
  await t.apply({ providerSslVerificationPath: cas });
  const reply = await raw(t.provider, GET_EXTENSION);
  assert.equal(reply.ok, true, reply.json);
});

Deno.test("a CA file of another CA leaves the provider untrusted", async () => {
  await using t = await tlsRig();
  await Deno.writeTextFile(join(t.dir, "ca.pem"), strangerCa);
  await t.apply({ providerSslVerificationFilename: join(t.dir, "ca.pem") });
  const reply = await raw(t.provider, GET_EXTENSION);
  assert.match(reply.error!, /^CertificateRefused/);
  assert.equal(t.fake.requests.length, 0);
});

Deno.test("a missing CA file is an ERROR naming it, checked again on the next command", async () => {
  await using t = await tlsRig();
  const file = join(t.dir, "later.pem");
  await t.apply({ providerSslVerificationFilename: file });
  const reply = await raw(t.provider, GET_EXTENSION);
  assert.equal(reply.status, 0);
  assert.ok(
    reply.error!.startsWith(
      `CaFileUnreadable: cannot read providerSslVerificationFilename ${file}`,
    ),
    reply.error,
  );
  assert.equal(t.calls(), 0);
  await Deno.writeTextFile(file, certs.caPem);
  assert.equal((await raw(t.provider, GET_EXTENSION)).ok, true);
});

Deno.test("a CA file without a PEM certificate is an ERROR", async () => {
  await using t = await tlsRig();
  const file = join(t.dir, "ca.pem");
  await Deno.writeTextFile(file, "this is not PEM");
  await t.apply({ providerSslVerificationFilename: file });
  const reply = await raw(t.provider, GET_EXTENSION);
  assert.equal(
    reply.error,
    `CaFileInvalid: providerSslVerificationFilename ${file} holds no PEM certificate ` +
      "(-----BEGIN CERTIFICATE-----)",
  );
});

Deno.test("a CA folder without certificate files is an ERROR", async () => {
  await using t = await tlsRig();
  await t.apply({ providerSslVerificationPath: t.dir });
  const reply = await raw(t.provider, GET_EXTENSION);
  assert.equal(
    reply.error,
    `CaFileInvalid: the folder providerSslVerificationPath ${t.dir} holds no *.pem or *.crt file`,
  );
});

Deno.test("providerMinProtocolVersion and providerVerifyDepth are accepted", async () => {
  await using t = await tlsRig();
  await Deno.writeTextFile(join(t.dir, "ca.pem"), certs.caPem);
  const lines = ringCentralLines(t.fake, {
    providerSslVerificationFilename: join(t.dir, "ca.pem"),
    providerMinProtocolVersion: "TLS1_VERSION",
    providerVerifyDepth: 2,
  });
  const text = Object.entries(lines).map(([k, v]) => `${k} = ${v}`).join("\n");
  const { settings, findings } = await loadSettings(text, join(t.dir, "x.cfg"));
  assert.ok(settings);
  const notes = findings.filter((f) =>
    f.key?.startsWith("providerMin") || f.key === "providerVerifyDepth"
  );
  assert.deepEqual(notes.map((f) => f.level), ["info", "info"]);
  await t.provider.apply(settings);
  assert.equal((await raw(t.provider, GET_EXTENSION)).ok, true);
});

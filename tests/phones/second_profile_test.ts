import assert from "node:assert/strict";
import { PhoneRegistry } from "../../src/phones/mod.ts";
import { SimNetwork } from "../../src/simulator/mod.ts";
import { phoneLine, settingsFrom } from "../fakes/phone_settings.ts";
import { call } from "../helpers.ts";

const SNOM = await Deno.readTextFile(new URL("../../profiles/snom.cfg", import.meta.url));
const LOGIN = { username: "admin", password: "pw" };

Deno.test("a second profile with other key names changes what is sent, without any code change", async () => {
  // A copy of the SNOM profile for a phone that answers with OFFHOOK, hangs up with ONHOOK
  // and has the older hold key F_R, and that dials through settings.htm with POST.
  const other = SNOM
    .replace("key=ENTER", "key=OFFHOOK")
    .replace(
      "[ClearConnection]\nmethod = GET\nresource = /command.htm?key=CANCEL",
      "[ClearConnection]\nmethod = GET\nresource = /command.htm?key=ONHOOK",
    )
    .replaceAll("key=F_HOLD", "key=F_R")
    .replace(
      "[MakeCall]\nmethod = GET\nresource = /command.htm?number={number}",
      "[MakeCall]\nmethod = POST\nresource = /command.htm\ncontent_type = application/x-www-form-urlencoded\naccept = text/html\nbody = number={number}&outgoing_uri={extension}%40pbx",
    );
  assert.notEqual(other, SNOM);
  const network = new SimNetwork();
  const snomPhone = await network.addPhone({ extension: "101", auth: "digest", ...LOGIN });
  const otherPhone = await network.addPhone({ extension: "102", auth: "digest", ...LOGIN });
  const registry = new PhoneRegistry({ timeoutMs: 2000 });
  try {
    await registry.apply(
      await settingsFrom(
        [
          phoneLine("101", snomPhone.port, "snom.cfg", LOGIN),
          phoneLine("102", otherPhone.port, "other.cfg", LOGIN),
        ].join("\n"),
        { "other.cfg": other },
      ),
    );
    for (const ext of ["101", "102"]) {
      assert.deepEqual(await registry.execute(call(ext, "MakeCall", "*7#")), { ok: true });
      assert.deepEqual(await registry.execute(call(ext, "HoldCall")), { ok: true });
      assert.deepEqual(await registry.execute(call(ext, "ClearConnection")), { ok: true });
      network.phone(ext)!.callFrom("0049301234");
      assert.deepEqual(await registry.execute(call(ext, "AnswerCall")), { ok: true });
    }
    const sent = (ext: string) =>
      network.phone(ext)!.requests.filter((r) => r.authorized).map((r) =>
        `${r.method} ${r.target} ${r.body}`.trim()
      );
    assert.deepEqual(sent("101"), [
      "GET /command.htm?number=%2A7%23",
      "GET /command.htm?key=F_HOLD",
      "GET /command.htm?key=CANCEL",
      "GET /command.htm?key=ENTER",
    ]);
    assert.deepEqual(sent("102"), [
      "POST /command.htm number=%2A7%23&outgoing_uri=102%40pbx",
      "GET /command.htm?key=F_R",
      "GET /command.htm?key=ONHOOK",
      "GET /command.htm?key=OFFHOOK",
    ]);
    const post = otherPhone.requests.find((r) => r.method === "POST" && r.authorized)!;
    assert.deepEqual(
      post.headers.filter(([n]) => n === "content-type" || n === "accept"),
      [["accept", "text/html"], ["content-type", "application/x-www-form-urlencoded"]],
    );
    // Both phones did the same thing with their own requests.
    for (const ext of ["101", "102"]) {
      assert.deepEqual(network.phone(ext)!.calls.map((c) => c.state), ["connected"]);
    }
  } finally {
    await registry.close();
    await network.close();
  }
});

Deno.test("an HTTPS phone with a self-signed certificate is driven with Digest", async () => {
  const https = SNOM.replace(/^protocol = HTTP$/m, "protocol = HTTPS").replace(
    /^port = 80$/m,
    "port = 443",
  );
  const network = new SimNetwork();
  const phone = await network.addPhone({
    extension: "101",
    auth: "digest",
    ...LOGIN,
    tls: {
      cert: await Deno.readTextFile(new URL("../fixtures/phones/sim-cert.pem", import.meta.url)),
      key: await Deno.readTextFile(new URL("../fixtures/phones/sim-key.pem", import.meta.url)),
    },
  });
  const registry = new PhoneRegistry({ timeoutMs: 3000 });
  try {
    await registry.apply(
      await settingsFrom(phoneLine("101", phone.port, "https.cfg", LOGIN), { "https.cfg": https }),
    );
    assert.ok(phone.url.startsWith("https://"));
    assert.deepEqual(await registry.execute(call("101", "MakeCall", "102")), { ok: true });
    assert.equal(registry.status()[0].protocol, "HTTPS");
    assert.deepEqual(phone.requests.filter((r) => r.authorized).map((r) => r.target), [
      "/command.htm?number=102",
    ]);
  } finally {
    await registry.close();
    await network.close();
  }
});

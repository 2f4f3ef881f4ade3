import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import net from "node:net";
import { SimNetwork, type SimPhoneOptions } from "../../src/simulator/mod.ts";

interface Reply {
  status: number;
  headers: Map<string, string[]>;
  body: string;
}

/** Sends one raw request and reads the reply; "closed" or "reset" when there is none. */
function request(
  port: number,
  target: string,
  headers: string[] = [],
  method = "GET",
  body = "",
): Promise<Reply | "closed" | "reset"> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    let data = "";
    s.on("connect", () => {
      const extra = body === "" ? [] : [`Content-Length: ${body.length}`];
      s.write(
        [
          `${method} ${target} HTTP/1.1`,
          "Host: phone",
          "Connection: close",
          ...headers,
          ...extra,
          "",
          body,
        ].join("\r\n"),
      );
    });
    s.on("data", (d: Uint8Array) => (data += new TextDecoder().decode(d)));
    s.on(
      "error",
      (e: Error & { code?: string }) => resolve(e.code === "ECONNRESET" ? "reset" : "closed"),
    );
    s.on("close", () => {
      if (data === "") return resolve("closed");
      const [head, ...rest] = data.split("\r\n\r\n");
      const lines = head.split("\r\n");
      const map = new Map<string, string[]>();
      for (const l of lines.slice(1)) {
        const c = l.indexOf(":");
        const name = l.slice(0, c).toLowerCase();
        map.set(name, [...(map.get(name) ?? []), l.slice(c + 1).trim()]);
      }
      resolve({
        status: Number(lines[0].split(" ")[1]),
        headers: map,
        body: rest.join("\r\n\r\n"),
      });
    });
  });
}

function reply(r: Reply | "closed" | "reset"): Reply {
  assert.notEqual(typeof r, "string", `expected a reply, got ${r}`);
  return r as Reply;
}

async function withPhone(
  options: Partial<SimPhoneOptions>,
  test: (port: number, net: SimNetwork) => Promise<void>,
) {
  const network = new SimNetwork();
  const phone = await network.addPhone({ extension: "101", ...options });
  try {
    await test(phone.port, network);
  } finally {
    await network.close();
  }
}

const md5 = (s: string) => createHash("md5").update(s).digest("hex");

/** A Digest answer computed here, independently of the server's client. */
function digest(
  challenge: string,
  user: string,
  pass: string,
  method: string,
  uri: string,
  nc = "00000001",
): string {
  const realm = /realm="([^"]*)"/.exec(challenge)![1];
  const nonce = /nonce="([^"]*)"/.exec(challenge)![1];
  const ha1 = md5(`${user}:${realm}:${pass}`);
  const ha2 = md5(`${method}:${uri}`);
  const response = md5(`${ha1}:${nonce}:${nc}:abc:auth:${ha2}`);
  return `Authorization: Digest username="${user}", realm="${realm}", nonce="${nonce}", uri="${uri}", ` +
    `response="${response}", qop=auth, nc=${nc}, cnonce="abc", algorithm=MD5`;
}

Deno.test("every reply says Server: snom embedded and titles the page with the model", async () => {
  await withPhone({ model: "D715" }, async (port) => {
    const r = reply(await request(port, "/"));
    assert.equal(r.status, 200);
    assert.deepEqual(r.headers.get("server"), ["snom embedded"]);
    assert.match(r.body, /<title>snom D715<\/title>/);
    const info = reply(await request(port, "/info.htm"));
    assert.match(info.body, /Hardware: D715/);
    assert.match(info.body, /Mac:000413[0-9A-F]{6}/);
  });
});

Deno.test("number= answers 302 to index.htm by default, or closes without a reply, or 200", async () => {
  await withPhone({}, async (port, network) => {
    const r = reply(await request(port, "/command.htm?number=102"));
    assert.equal(r.status, 302);
    assert.deepEqual(r.headers.get("location"), ["/index.htm"]);
    network.phone("101")!.dialReply = "closed";
    assert.equal(await request(port, "/command.htm?number=103"), "closed");
    network.phone("101")!.dialReply = "200";
    assert.equal(reply(await request(port, "/command.htm?number=104")).status, 200);
    // Each number= ended the unanswered call before it.
    assert.deepEqual(network.phone("101")!.calls.map((c) => [c.remote.user, c.state]), [[
      "104",
      "dialing",
    ]]);
  });
});

Deno.test("number= decodes %23 and %2A, and POST with the query works like GET", async () => {
  await withPhone({}, async (port, network) => {
    await request(port, "/command.htm?number=%2A21%23", [], "POST");
    assert.equal(network.phone("101")!.calls[0].remote.user, "*21#");
  });
});

Deno.test("unknown keys are refused with 400 and change nothing", async () => {
  await withPhone({}, async (port, network) => {
    const phone = network.phone("101")!;
    phone.callFrom("0049301234");
    assert.equal(reply(await request(port, "/command.htm?key=ENTER;F_BOGUS")).status, 400);
    assert.equal(phone.calls[0].state, "ringing");
    assert.equal(reply(await request(port, "/command.htm?key=ENTER,200,100")).status, 200);
    assert.equal(phone.calls[0].state, "connected");
  });
});

Deno.test("Basic login: a challenge without credentials, acceptance with the right ones", async () => {
  await withPhone({ auth: "basic", username: "admin", password: "pw" }, async (port) => {
    const challenge = reply(await request(port, "/command.htm?key=ENTER"));
    assert.equal(challenge.status, 401);
    assert.deepEqual(challenge.headers.get("www-authenticate"), ['Basic realm="snom"']);
    const ok = reply(
      await request(port, "/command.htm?key=ENTER", [`Authorization: Basic ${btoa("admin:pw")}`]),
    );
    assert.equal(ok.status, 200);
  });
});

Deno.test("Digest login: MD5 with qop=auth, checked against the request target", async () => {
  await withPhone({ auth: "digest", username: "admin", password: "pw" }, async (port, network) => {
    const challenge = reply(await request(port, "/command.htm?key=F_HOLD"));
    assert.equal(challenge.status, 401);
    const header = challenge.headers.get("www-authenticate")![0];
    assert.match(header, /^Digest realm="snom", qop="auth", nonce="[0-9a-f]+", algorithm=MD5$/);
    const ok = await request(port, "/command.htm?key=F_HOLD", [
      digest(header, "admin", "pw", "GET", "/command.htm?key=F_HOLD"),
    ]);
    assert.equal(reply(ok).status, 200);
    const wrongUri = await request(port, "/command.htm?key=CANCEL", [
      digest(header, "admin", "pw", "GET", "/command.htm?key=F_HOLD", "00000002"),
    ]);
    assert.equal(reply(wrongUri).status, 401);
    assert.equal(network.phone("101")!.failedLogins, 1);
  });
});

Deno.test("Digest offers one challenge per configured algorithm", async () => {
  await withPhone({ auth: "digest", digestAlgorithms: ["SHA-256", "MD5"] }, async (port) => {
    const r = reply(await request(port, "/"));
    assert.deepEqual(
      r.headers.get("www-authenticate")!.map((h) => /algorithm=([\w-]+)/.exec(h)![1]),
      ["SHA-256", "MD5"],
    );
  });
});

Deno.test("three bad logins lock the phone, and each further three double the time", async () => {
  let now = 1_000_000;
  await withPhone({
    auth: "basic",
    username: "admin",
    password: "pw",
    lockoutMs: 60_000,
    clock: { now: () => now },
  }, async (port, network) => {
    const phone = network.phone("101")!;
    const bad = [`Authorization: Basic ${btoa("admin:nope")}`];
    const good = [`Authorization: Basic ${btoa("admin:pw")}`];
    assert.equal(reply(await request(port, "/", bad)).status, 401);
    assert.equal(reply(await request(port, "/", bad)).status, 401);
    const locked = reply(await request(port, "/", bad));
    assert.equal(locked.status, 403);
    assert.match(locked.body, /blocked/);
    assert.equal(phone.lockedUntil, now + 60_000);
    // The right password does not help while locked.
    assert.match(reply(await request(port, "/", good)).body, /blocked/);
    now += 60_001;
    for (let i = 0; i < 3; i++) await request(port, "/", bad);
    assert.equal(phone.lockedUntil, now + 120_000);
    now += 120_001;
    assert.equal(reply(await request(port, "/", good)).status, 200);
    assert.equal(phone.failedLogins, 0);
  });
});

Deno.test("requests without credentials never count as bad logins", async () => {
  await withPhone({ auth: "digest" }, async (port, network) => {
    for (let i = 0; i < 5; i++) assert.equal(reply(await request(port, "/")).status, 401);
    assert.equal(network.phone("101")!.failedLogins, 0);
    assert.equal(network.phone("101")!.lockedUntil, 0);
  });
});

Deno.test("dummy.htm stores settings, persists them only with store_settings=save, and honours R", async () => {
  await withPhone({}, async (port, network) => {
    const phone = network.phone("101")!;
    phone.setPermission("action_hold", "R");
    await request(
      port,
      "/dummy.htm?settings=save&action_incoming_url=http%3A%2F%2Fh%2Fi%3Fa%3D1%26b%3D$remote&action_hold=x",
    );
    assert.equal(phone.settings.get("action_incoming_url"), "http://h/i?a=1&b=$remote");
    assert.equal(phone.storedSettings.get("action_incoming_url"), undefined);
    assert.equal(phone.settings.get("action_hold"), undefined);
    await request(
      port,
      "/dummy.htm?settings=save&action_connected_url=http%3A%2F%2Fh%2Fc&store_settings=save",
    );
    assert.equal(phone.storedSettings.get("action_connected_url"), "http://h/c");
    phone.reboot();
    assert.equal(phone.settings.get("action_incoming_url"), undefined);
    assert.equal(phone.settings.get("action_connected_url"), "http://h/c");
    const listing = reply(await request(port, "/settings.htm"));
    assert.match(listing.body, /action_connected_url: http:\/\/h\/c/);
  });
});

Deno.test("use_hidden_tags=on refuses command.htm and settings writes", async () => {
  await withPhone(
    { settings: { use_hidden_tags: "on" }, hiddenTagsStatus: 403 },
    async (port, network) => {
      assert.equal(reply(await request(port, "/command.htm?number=102")).status, 403);
      assert.equal(reply(await request(port, "/dummy.htm?settings=save&x=1")).status, 403);
      assert.deepEqual(network.phone("101")!.calls, []);
      assert.equal(network.phone("101")!.settings.get("x"), undefined);
    },
  );
});

Deno.test("faults: drop resets without acting, close acts and closes, a status is answered as is", async () => {
  await withPhone({}, async (port, network) => {
    const phone = network.phone("101")!;
    phone.fault = "drop";
    assert.equal(await request(port, "/command.htm?number=102"), "reset");
    assert.deepEqual(phone.calls, []);
    phone.fault = "close";
    assert.equal(await request(port, "/command.htm?number=102"), "closed");
    assert.equal(phone.calls.length, 1);
    phone.fault = 500;
    assert.equal(reply(await request(port, "/command.htm?key=CANCEL")).status, 500);
    assert.equal(phone.calls.length, 1);
    phone.fault = undefined;
    assert.deepEqual(phone.requests.map((r) => r.outcome), ["reset", "closed", 500]);
  });
});

Deno.test("concurrency: refuse resets a second request in progress, stall makes it wait", async () => {
  await withPhone({ concurrency: "refuse" }, async (port, network) => {
    const phone = network.phone("101")!;
    phone.delayMs = 100;
    const [a, b] = await Promise.all([request(port, "/"), request(port, "/")]);
    assert.deepEqual(
      [typeof a === "string" ? a : a.status, typeof b === "string" ? b : b.status].sort(),
      [200, "reset"].sort(),
    );
  });
  await withPhone({ concurrency: "stall" }, async (port, network) => {
    const phone = network.phone("101")!;
    phone.delayMs = 50;
    const replies = await Promise.all([request(port, "/"), request(port, "/"), request(port, "/")]);
    assert.deepEqual(replies.map((r) => reply(r).status), [200, 200, 200]);
    // Served one after the other: each started after the one before had waited its delay.
    const starts = phone.requests.map((r) => r.at);
    assert.ok(starts[1] - starts[0] >= 45 && starts[2] - starts[1] >= 45, `starts ${starts}`);
  });
});

Deno.test("keep-alive connections serve several requests", async () => {
  await withPhone({}, async (port) => {
    const text = await new Promise<string>((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => {
        s.write(
          "GET / HTTP/1.1\r\nHost: p\r\n\r\nGET /info.htm HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n",
        );
      });
      let data = "";
      s.on("data", (d: Uint8Array) => (data += new TextDecoder().decode(d)));
      s.on("close", () => resolve(data));
    });
    assert.equal(text.match(/HTTP\/1.1 200 OK/g)?.length, 2);
  });
});

Deno.test("a request announcing a larger body than a phone takes is refused at once", async () => {
  const net = new SimNetwork();
  const phone = await net.addPhone({ extension: "101" });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const reply = await Promise.race([
      request(phone.port, "/dummy.htm", ["Content-Length: 100000000"], "POST"),
      new Promise<"no reply">((resolve) => timer = setTimeout(() => resolve("no reply"), 3000)),
    ]);
    assert.equal(typeof reply === "object" ? reply.status : reply, 400);
    assert.equal(phone.requests.length, 0);
  } finally {
    clearTimeout(timer);
    await net.close();
  }
});

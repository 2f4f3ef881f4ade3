import assert from "node:assert/strict";
import {
  addressAllowed,
  addressOnSubnetOf,
  DEFAULT_ALLOWED_CLIENTS,
  parseCidr,
} from "../../src/config/mod.ts";

const defaults = DEFAULT_ALLOWED_CLIENTS.split(",").map((s) => parseCidr(s)!);

Deno.test("default allow-list admits loopback and private ranges and refuses public ones", () => {
  for (
    const a of [
      "127.0.0.1",
      "10.1.2.3",
      "172.16.0.1",
      "172.31.255.255",
      "192.168.1.20",
      "169.254.1.1",
      "::1",
      "fe80::1",
      "fd12::3",
      "::ffff:192.168.1.2",
    ]
  ) {
    assert.ok(addressAllowed(a, defaults), a);
  }
  for (const a of ["8.8.8.8", "172.32.0.1", "11.0.0.1", "2001:db8::1", "::ffff:8.8.8.8"]) {
    assert.ok(!addressAllowed(a, defaults), a);
  }
});

Deno.test("CIDR parsing rejects malformed ranges", () => {
  for (
    const bad of [
      "10.0.0.0/33",
      "300.1.1.1",
      "10.0.0/8",
      "fe80::/129",
      "1::2::3",
      "abc",
      "10.0.0.0/8/1",
    ]
  ) {
    assert.equal(parseCidr(bad), undefined, bad);
  }
  assert.equal(parseCidr("10.1.2.3")?.prefix, 32);
  assert.equal(parseCidr("::")?.prefix, 128);
});

Deno.test("this computer's address on a phone's subnet is found from the interfaces alone", () => {
  const interfaces = [
    { address: "127.0.0.1", cidr: "127.0.0.1/8" },
    { address: "192.168.1.20", cidr: "192.168.1.20/24" },
    { address: "10.8.0.2", cidr: "10.8.0.2/16" },
    { address: "fe80::1", cidr: "fe80::1/64" },
  ];
  assert.equal(addressOnSubnetOf("192.168.1.77", interfaces), "192.168.1.20");
  assert.equal(addressOnSubnetOf("10.8.200.1", interfaces), "10.8.0.2");
  assert.equal(addressOnSubnetOf("127.0.0.5", interfaces), "127.0.0.1");
  assert.equal(addressOnSubnetOf("fe80::99", interfaces), "fe80::1");
  assert.equal(addressOnSubnetOf("192.168.2.1", interfaces), undefined, "routed, not attached");
  assert.equal(
    addressOnSubnetOf("desk-101.office", interfaces),
    undefined,
    "names are not guessed",
  );
});

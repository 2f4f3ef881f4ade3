import assert from "node:assert/strict";
import { basicAuthorization } from "../../src/http/mod.ts";
import { chooseChallenge, digestAuthorization, parseChallenges } from "../../src/phones/mod.ts";

function params(header: string): Record<string, string> {
  const c = parseChallenges([header.replace(/^Digest /, "Digest ")])[0];
  return Object.fromEntries(c.params);
}

Deno.test("Digest with MD5 matches the example of RFC 7616 §3.9.1", () => {
  const [challenge] = parseChallenges([
    'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, ' +
    'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
  ]);
  const header = digestAuthorization(challenge, {
    username: "Mufasa",
    password: "Circle of Life",
    method: "GET",
    uri: "/dir/index.html",
    nc: 1,
    cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
  });
  const p = params(header);
  assert.equal(p.response, "8ca523f5e9506fed4657c9700eebdbec");
  assert.equal(p.qop, "auth");
  assert.equal(p.nc, "00000001");
  assert.equal(p.opaque, "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS");
  assert.equal(p.algorithm, "MD5");
});

Deno.test("Digest with SHA-256 matches the example of RFC 7616 §3.9.1", () => {
  const [challenge] = parseChallenges([
    'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, ' +
    'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
  ]);
  const header = digestAuthorization(challenge, {
    username: "Mufasa",
    password: "Circle of Life",
    method: "GET",
    uri: "/dir/index.html",
    nc: 1,
    cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
  });
  assert.equal(
    params(header).response,
    "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
  );
});

Deno.test("Digest matches the example of RFC 2617 §3.5", () => {
  const [challenge] = parseChallenges([
    'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
  ]);
  const header = digestAuthorization(challenge, {
    username: "Mufasa",
    password: "Circle Of Life",
    method: "GET",
    uri: "/dir/index.html",
    nc: 1,
    cnonce: "0a4f113b",
  });
  assert.equal(params(header).response, "6629fae49393a05397450978507c4ef1");
  assert.equal(
    params(header).algorithm,
    undefined,
    "no algorithm is named when the phone named none",
  );
});

Deno.test("several challenges in one header, quoted commas and escapes, are told apart", () => {
  const c = parseChallenges([
    'Digest realm="snom, the phone", qop="auth", nonce="a\\"b", algorithm=MD5, Basic realm="snom"',
    "Digest realm=x, nonce=n2, algorithm=SHA-256",
  ]);
  assert.deepEqual(c.map((x) => x.scheme), ["Digest", "Basic", "Digest"]);
  assert.equal(c[0].params.get("realm"), "snom, the phone");
  assert.equal(c[0].params.get("nonce"), 'a"b');
  assert.equal(c[1].params.get("realm"), "snom");
  assert.equal(c[2].params.get("algorithm"), "SHA-256");
});

Deno.test("the strongest Digest is chosen before Basic, and the profile's auth setting limits the choice", () => {
  const c = parseChallenges([
    'Basic realm="snom"',
    'Digest realm="snom", nonce="1", algorithm=MD5, qop="auth"',
    'Digest realm="snom", nonce="1", algorithm=SHA-256, qop="auth"',
    'Digest realm="snom", nonce="1", algorithm=SHA-512-256, qop="auth"',
  ]);
  assert.equal(chooseChallenge(c, "auto")?.params.get("algorithm"), "SHA-256");
  assert.equal(chooseChallenge(c, "basic")?.scheme, "Basic");
  assert.equal(chooseChallenge(c, "none"), undefined);
  assert.equal(chooseChallenge(parseChallenges(['Basic realm="snom"']), "digest"), undefined);
});

Deno.test("Basic credentials are UTF-8 and base64", () => {
  assert.equal(basicAuthorization("Aladdin", "open sesame"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  assert.equal(basicAuthorization("test", "123£"), "Basic dGVzdDoxMjPCow==");
});

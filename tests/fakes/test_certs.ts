/**
 * A throw-away certificate authority and a server certificate for `localhost` / 127.0.0.1,
 * made at test time with node:crypto and a small DER writer, so TLS tests need no openssl
 * and no certificate files in the repository (docs/provider.md §11).
 */

import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from "node:crypto";
import { concat } from "../../src/bytes.ts";

/** A CA certificate and a server certificate it signed, all PEM. */
export interface TestCertificates {
  /** The CA certificate a client must trust. */
  readonly caPem: string;
  /** The server certificate (subjectAltName localhost and 127.0.0.1). */
  readonly certPem: string;
  /** The server's private key, PKCS#8. */
  readonly keyPem: string;
}

const OID = {
  commonName: "2.5.4.3",
  ecPublicKey: "1.2.840.10045.2.1",
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  subjectAltName: "2.5.29.17",
  subjectKeyId: "2.5.29.14",
  authorityKeyId: "2.5.29.35",
  serverAuth: "1.3.6.1.5.5.7.3.1",
} as const;

function length(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

function tlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  const body = concat(content);
  return concat([Uint8Array.of(tag), length(body.length), body]);
}

const seq = (...items: Uint8Array[]) => tlv(0x30, ...items);
const set = (...items: Uint8Array[]) => tlv(0x31, ...items);
const explicit = (n: number, item: Uint8Array) => tlv(0xa0 + n, item);
const octets = (bytes: Uint8Array) => tlv(0x04, bytes);
const bits = (bytes: Uint8Array, unused = 0) => tlv(0x03, Uint8Array.of(unused), bytes);
const utf8 = (s: string) => tlv(0x0c, new TextEncoder().encode(s));
const TRUE = tlv(0x01, Uint8Array.of(0xff));

function integer(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.subarray(start);
  return tlv(0x02, trimmed[0] & 0x80 ? concat([Uint8Array.of(0), trimmed]) : trimmed);
}

function oid(dotted: string): Uint8Array {
  const [a, b, ...rest] = dotted.split(".").map(Number);
  const out = [40 * a + b];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) {
      chunk.unshift(0x80 | (v & 0x7f));
    }
    out.push(...chunk);
  }
  return tlv(0x06, Uint8Array.from(out));
}

function utcTime(ms: number): Uint8Array {
  const d = new Date(ms).toISOString(); // 2026-01-02T03:04:05.678Z
  const s = d.slice(2, 4) + d.slice(5, 7) + d.slice(8, 10) + d.slice(11, 13) + d.slice(14, 16) +
    d.slice(17, 19) + "Z";
  return tlv(0x17, new TextEncoder().encode(s));
}

function name(commonName: string): Uint8Array {
  return seq(set(seq(oid(OID.commonName), utf8(commonName))));
}

function extension(id: string, value: Uint8Array, critical = false): Uint8Array {
  return critical ? seq(oid(id), TRUE, octets(value)) : seq(oid(id), octets(value));
}

function pem(label: string, der: Uint8Array): string {
  const b64 = btoa(String.fromCharCode(...der)).replace(/(.{64})/g, "$1\n").replace(/\n$/, "");
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function keyId(publicKey: KeyObject): Uint8Array {
  const spki = new Uint8Array(publicKey.export({ type: "spki", format: "der" }));
  return new Uint8Array(createHash("sha1").update(spki).digest());
}

interface CertSpec {
  readonly subject: string;
  readonly issuer: string;
  readonly publicKey: KeyObject;
  readonly signingKey: KeyObject;
  readonly issuerKeyId: Uint8Array;
  readonly ca: boolean;
}

function certificate(spec: CertSpec): Uint8Array {
  const now = Date.now();
  const algorithm = seq(oid(OID.ecdsaWithSha256));
  const extensions = spec.ca
    ? [
      extension(OID.basicConstraints, seq(TRUE), true),
      // keyCertSign and cRLSign: bits 5 and 6, one unused bit.
      extension(OID.keyUsage, bits(Uint8Array.of(0x06), 1), true),
    ]
    : [
      extension(OID.basicConstraints, seq(), true),
      // digitalSignature: bit 0, seven unused bits.
      extension(OID.keyUsage, bits(Uint8Array.of(0x80), 7), true),
      extension(OID.extKeyUsage, seq(oid(OID.serverAuth))),
      extension(
        OID.subjectAltName,
        seq(
          tlv(0x82, new TextEncoder().encode("localhost")),
          tlv(0x87, Uint8Array.of(127, 0, 0, 1)),
        ),
      ),
    ];
  extensions.push(
    extension(OID.subjectKeyId, octets(keyId(spec.publicKey))),
    extension(OID.authorityKeyId, seq(tlv(0x80, spec.issuerKeyId))),
  );
  const tbs = seq(
    explicit(0, integer(Uint8Array.of(2))),
    integer(concat([Uint8Array.of(0x01), new Uint8Array(randomBytes(15))])),
    algorithm,
    name(spec.issuer),
    seq(utcTime(now - 3600_000), utcTime(now + 2 * 86400_000)),
    name(spec.subject),
    new Uint8Array(spec.publicKey.export({ type: "spki", format: "der" })),
    explicit(3, seq(...extensions)),
  );
  const signature = new Uint8Array(sign("sha256", tbs, spec.signingKey));
  return seq(tbs, algorithm, bits(signature));
}

/** Makes a fresh CA and a server certificate for localhost / 127.0.0.1 signed by it. */
export function makeTestCertificates(caName = "Phone Companion Test CA"): TestCertificates {
  const ca = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const server = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const caKeyId = keyId(ca.publicKey);
  const caDer = certificate({
    subject: caName,
    issuer: caName,
    publicKey: ca.publicKey,
    signingKey: ca.privateKey,
    issuerKeyId: caKeyId,
    ca: true,
  });
  const serverDer = certificate({
    subject: "localhost",
    issuer: caName,
    publicKey: server.publicKey,
    signingKey: ca.privateKey,
    issuerKeyId: caKeyId,
    ca: false,
  });
  return {
    caPem: pem("CERTIFICATE", caDer),
    certPem: pem("CERTIFICATE", serverDer),
    keyPem: server.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
}

/**
 * The two archive formats of the release (docs/building.md §8): `.tar.gz` for macOS and
 * Linux, keeping the executable's mode, and `.zip` for Windows, which Explorer opens
 * without extra tools. Written here, with `node:zlib`, so every runner packs the same way
 * and the tests can unpack the result with the system's `tar` and `unzip`.
 */

import { crc32, deflateRawSync, gzipSync } from "node:zlib";
import { concat } from "../src/bytes.ts";

/** One file of an archive; folders are made from the paths. */
export interface Entry {
  /** Path inside the archive, with `/`. */
  readonly path: string;
  readonly data: Uint8Array;
  /** Unix permissions, e.g. 0o755 for the executable. */
  readonly mode: number;
}

const encoder = new TextEncoder();

/** The folders above each entry, each once, parents first. */
function folders(entries: readonly Entry[]): string[] {
  const seen = new Set<string>();
  for (const e of entries) {
    const parts = e.path.split("/").slice(0, -1);
    for (let i = 1; i <= parts.length; i++) seen.add(parts.slice(0, i).join("/") + "/");
  }
  return [...seen].sort();
}

function tarHeader(name: string, mode: number, size: number, mtime: number, type: "0" | "5") {
  const h = new Uint8Array(512);
  const put = (at: number, len: number, text: string) => {
    const bytes = encoder.encode(text);
    if (bytes.length > len) throw new Error(`tar: '${text}' does not fit ${len} bytes`);
    h.set(bytes, at);
  };
  const octal = (n: number, len: number) => n.toString(8).padStart(len - 1, "0") + "\0";
  put(0, 100, name);
  put(100, 8, octal(mode, 8));
  put(108, 8, octal(0, 8));
  put(116, 8, octal(0, 8));
  put(124, 12, octal(size, 12));
  put(136, 12, octal(mtime, 12));
  put(148, 8, "        ");
  put(156, 1, type);
  put(257, 6, "ustar\0");
  put(263, 2, "00");
  put(265, 32, "root");
  put(297, 32, "root");
  const sum = h.reduce((n, b) => n + b, 0);
  put(148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
  return h;
}

/** A gzip-compressed POSIX (ustar) tar archive. `mtime` in seconds since 1970. */
export function tarGz(entries: readonly Entry[], mtime: number): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const dir of folders(entries)) parts.push(tarHeader(dir, 0o755, 0, mtime, "5"));
  for (const e of entries) {
    parts.push(tarHeader(e.path, e.mode, e.data.length, mtime, "0"), e.data);
    const pad = (512 - (e.data.length % 512)) % 512;
    parts.push(new Uint8Array(pad));
  }
  parts.push(new Uint8Array(1024));
  return new Uint8Array(gzipSync(concat(parts), { level: 9 }));
}

/** MS-DOS time and date fields, as zip stores them (local time has no meaning here: UTC). */
function dosTime(seconds: number): { time: number; date: number } {
  const d = new Date(Math.max(seconds, 315532800) * 1000); // zip cannot say before 1980
  return {
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1),
    date: ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
  };
}

/** A zip archive, deflated, with Unix modes in the external attributes. */
export function zip(entries: readonly Entry[], mtime: number): Uint8Array {
  const { time, date } = dosTime(mtime);
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  const items = [
    ...folders(entries).map((path) => ({
      path,
      data: new Uint8Array(0),
      mode: 0o40755,
      dir: true,
    })),
    ...entries.map((e) => ({ ...e, mode: 0o100000 | e.mode, dir: false })),
  ];
  for (const item of items) {
    const name = encoder.encode(item.path);
    const packed = item.dir ? item.data : new Uint8Array(deflateRawSync(item.data, { level: 9 }));
    const method = item.dir ? 0 : 8;
    const crc = crc32(item.data) >>> 0;
    const local = new DataView(new ArrayBuffer(30));
    local.setUint32(0, 0x04034b50, true);
    local.setUint16(4, 20, true);
    local.setUint16(6, 0x0800, true); // names are UTF-8
    local.setUint16(8, method, true);
    local.setUint16(10, time, true);
    local.setUint16(12, date, true);
    local.setUint32(14, crc, true);
    local.setUint32(18, packed.length, true);
    local.setUint32(22, item.data.length, true);
    local.setUint16(26, name.length, true);
    local.setUint16(28, 0, true);
    locals.push(new Uint8Array(local.buffer), name, packed);

    const central = new DataView(new ArrayBuffer(46));
    central.setUint32(0, 0x02014b50, true);
    central.setUint16(4, (3 << 8) | 20, true); // made on Unix, so the modes are read
    central.setUint16(6, 20, true);
    central.setUint16(8, 0x0800, true);
    central.setUint16(10, method, true);
    central.setUint16(12, time, true);
    central.setUint16(14, date, true);
    central.setUint32(16, crc, true);
    central.setUint32(20, packed.length, true);
    central.setUint32(24, item.data.length, true);
    central.setUint16(28, name.length, true);
    central.setUint32(38, ((item.mode << 16) | (item.dir ? 0x10 : 0)) >>> 0, true);
    central.setUint32(42, offset, true);
    centrals.push(new Uint8Array(central.buffer), name);
    offset += 30 + name.length + packed.length;
  }
  const directory = concat(centrals);
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, 0x06054b50, true);
  end.setUint16(8, items.length, true);
  end.setUint16(10, items.length, true);
  end.setUint32(12, directory.length, true);
  end.setUint32(16, offset, true);
  return concat([...locals, directory, new Uint8Array(end.buffer)]);
}

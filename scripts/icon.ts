/**
 * The Windows icon (docs/building.md §10): a white telephone handset on a blue rounded
 * square, drawn here from distance functions at every size an `.ico` holds, so no binary
 * file is kept in the repository and every size is drawn sharp rather than scaled.
 *
 *   deno run --allow-write scripts/icon.ts <out.ico> [<preview.png>]
 */

import { crc32, deflateSync } from "node:zlib";
import { concat } from "../src/bytes.ts";

/** The sizes Windows picks from: lists, Explorer views, the taskbar, large icons. */
export const ICON_SIZES = [16, 24, 32, 48, 64, 256] as const;

type Vec = readonly [number, number];

/** Distance from `p` to the segment a–b. */
function segment(p: Vec, a: Vec, b: Vec): number {
  const [px, py] = [p[0] - a[0], p[1] - a[1]];
  const [bx, by] = [b[0] - a[0], b[1] - a[1]];
  const t = Math.max(0, Math.min(1, (px * bx + py * by) / (bx * bx + by * by)));
  return Math.hypot(px - bx * t, py - by * t);
}

/** Signed distance to a rounded square filling the unit square. */
function roundedSquare(p: Vec, radius: number): number {
  const qx = Math.abs(p[0] - 0.5) - (0.5 - radius);
  const qy = Math.abs(p[1] - 0.5) - (0.5 - radius);
  return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - radius;
}

const CENTER: Vec = [0.74, 0.26];
const RADIUS = 0.47;
const FROM = (100 * Math.PI) / 180;
const TO = (170 * Math.PI) / 180;

function onArc(angle: number, inset = 0): Vec {
  return [
    CENTER[0] + (RADIUS - inset) * Math.cos(angle),
    CENTER[1] + (RADIUS - inset) * Math.sin(angle),
  ];
}

/** Signed distance to the handset: a curved grip and a cup at each end. */
function handset(p: Vec): number {
  // The grip: a band along the arc, its ends rounded by the cups.
  const angle = Math.atan2(p[1] - CENTER[1], p[0] - CENTER[0]);
  const a = Math.max(FROM, Math.min(TO, angle < -Math.PI / 2 ? angle + 2 * Math.PI : angle));
  const grip = Math.hypot(p[0] - onArc(a)[0], p[1] - onArc(a)[1]) - 0.065;
  // The cups: short thick bars across each end, set inwards like a receiver's.
  const cup = (angle: number) => {
    const c = onArc(angle, 0.045);
    const t: Vec = [-Math.sin(angle) * 0.06, Math.cos(angle) * 0.06];
    return segment(p, [c[0] - t[0], c[1] - t[1]], [c[0] + t[0], c[1] + t[1]]) - 0.1;
  };
  return Math.min(grip, cup(FROM - 0.12), cup(TO + 0.12));
}

/** The icon at `size` × `size` as RGBA, four samples per pixel. */
export function renderIcon(size: number): Uint8Array {
  const out = new Uint8Array(size * size * 4);
  const top = [0x3b, 0x82, 0xf6];
  const bottom = [0x1d, 0x4e, 0xd8];
  const offsets = [0.25, 0.75];
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let bg = 0;
      let fg = 0;
      for (const oy of offsets) {
        for (const ox of offsets) {
          const p: Vec = [(x + ox) / size, (y + oy) / size];
          if (roundedSquare(p, 0.2) <= 0) bg++;
          if (handset(p) <= 0) fg++;
        }
      }
      const alpha = bg / 4;
      const white = Math.min(fg / 4, alpha);
      const t = y / (size - 1);
      const i = (y * size + x) * 4;
      for (let c = 0; c < 3; c++) {
        const blue = top[c] + (bottom[c] - top[c]) * t;
        const color = alpha === 0 ? 0 : (blue * (alpha - white) + 255 * white) / alpha;
        out[i + c] = Math.round(color);
      }
      out[i + 3] = Math.round(alpha * 255);
    }
  }
  return out;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)) >>> 0);
  return out;
}

/** An RGBA image as a PNG file. */
export function png(size: number, rgba: Uint8Array): Uint8Array {
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, size);
  view.setUint32(4, size);
  header.set([8, 6, 0, 0, 0], 8); // 8 bits, RGBA, deflate, no filter method, no interlace
  const raw = new Uint8Array(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    raw.set(rgba.subarray(y * size * 4, (y + 1) * size * 4), y * (size * 4 + 1) + 1);
  }
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", new Uint8Array(deflateSync(raw, { level: 9 }))),
    chunk("IEND", new Uint8Array(0)),
  ];
  return concat(parts);
}

/** The `.ico` file: one PNG image per size (Windows Vista and later read PNG entries). */
export function iconFile(): Uint8Array {
  const images = ICON_SIZES.map((s) => png(s, renderIcon(s)));
  const head = 6 + 16 * images.length;
  const out = new Uint8Array(head + images.reduce((n, i) => n + i.length, 0));
  const view = new DataView(out.buffer);
  view.setUint16(2, 1, true); // an icon
  view.setUint16(4, images.length, true);
  let offset = head;
  images.forEach((image, n) => {
    const size = ICON_SIZES[n];
    const at = 6 + 16 * n;
    out[at] = size === 256 ? 0 : size; // 0 means 256
    out[at + 1] = size === 256 ? 0 : size;
    view.setUint16(at + 4, 1, true); // colour planes
    view.setUint16(at + 6, 32, true); // bits per pixel
    view.setUint32(at + 8, image.length, true);
    view.setUint32(at + 12, offset, true);
    out.set(image, offset);
    offset += image.length;
  });
  return out;
}

if (import.meta.main) {
  const [ico, preview] = Deno.args;
  if (!ico) {
    console.error("usage: icon.ts <out.ico> [<preview.png>]");
    Deno.exit(2);
  }
  await Deno.writeFile(ico, iconFile());
  if (preview) await Deno.writeFile(preview, png(256, renderIcon(256)));
}

/**
 * The Windows icon (docs/building.md §10): a valid `.ico` whose every entry is a PNG of the
 * size its directory says, showing a white handset on a blue rounded square.
 */

import assert from "node:assert/strict";
import { ICON_SIZES, iconFile, renderIcon } from "../../scripts/icon.ts";

Deno.test("the .ico lists one PNG per size, each the size its entry says", () => {
  const ico = iconFile();
  const view = new DataView(ico.buffer, ico.byteOffset, ico.byteLength);
  assert.deepEqual([view.getUint16(0, true), view.getUint16(2, true)], [0, 1], "an icon file");
  assert.equal(view.getUint16(4, true), ICON_SIZES.length);
  ICON_SIZES.forEach((size, n) => {
    const at = 6 + 16 * n;
    assert.equal(ico[at] || 256, size);
    const length = view.getUint32(at + 8, true);
    const offset = view.getUint32(at + 12, true);
    assert.ok(offset + length <= ico.length);
    const png = new DataView(ico.buffer, ico.byteOffset + offset, length);
    assert.equal(png.getUint32(0), 0x89504e47, "PNG signature");
    assert.deepEqual([png.getUint32(16), png.getUint32(20)], [size, size], "IHDR size");
  });
});

Deno.test("the icon is a white handset on blue, with transparent corners", () => {
  const size = 64;
  const rgba = renderIcon(size);
  const at = (
    x: number,
    y: number,
  ) => [...rgba.subarray((y * size + x) * 4, (y * size + x) * 4 + 4)];
  assert.equal(at(0, 0)[3], 0, "corner transparent");
  const [r, g, b, a] = at(size - 8, 8);
  assert.ok(b > 200 && r < 100 && g < 160 && a === 255, `blue background, got ${[r, g, b, a]}`);
  let white = 0;
  for (let i = 0; i < rgba.length; i += 4) {
    if (rgba[i] > 240 && rgba[i + 1] > 240 && rgba[i + 2] > 240 && rgba[i + 3] === 255) white++;
  }
  const share = white / (size * size);
  assert.ok(share > 0.1 && share < 0.4, `the handset covers ${Math.round(share * 100)} %`);
});

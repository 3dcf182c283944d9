/**
 * A small PNG encoder (and IHDR reader): RGBA images (the rasterised charts) and palette images
 * (a heatmap or attention pattern drawn one pixel per cell). zlib from Node does the compression;
 * every row uses filter 0 ("none"), which compresses these flat, few-colour images well and fast.
 * Format: PNG 1.2 / ISO 15948 — signature, IHDR, [PLTE, tRNS], IDAT, IEND, each chunk CRC-32'd.
 */
import * as zlib from "zlib";

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(parts: Buffer[]): number {
  let c = 0xffffffff;
  for (const buf of parts) for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, "ascii");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32([head.subarray(4), data]), 0);
  return Buffer.concat([head, data, crc]);
}

function ihdr(width: number, height: number, colorType: number): Buffer {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`encodePng: width and height must be positive integers, got ${width}×${height}.`);
  }
  const b = Buffer.alloc(13);
  b.writeUInt32BE(width, 0);
  b.writeUInt32BE(height, 4);
  b[8] = 8; // bit depth
  b[9] = colorType; // 6 RGBA, 3 palette
  return b; // compression 0, filter 0, interlace 0
}

/** Rows prefixed with filter byte 0, deflated. `bpp` bytes per pixel. */
function idat(pixels: Uint8Array, width: number, height: number, bpp: number, level: number): Buffer {
  const stride = width * bpp;
  if (pixels.length !== stride * height) {
    throw new Error(`encodePng: expected ${stride * height} bytes for ${width}×${height}×${bpp}, got ${pixels.length}.`);
  }
  const raw = Buffer.alloc((stride + 1) * height);
  const src = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.length);
  for (let y = 0; y < height; y++) src.copy(raw, y * (stride + 1) + 1, y * stride, (y + 1) * stride);
  return zlib.deflateSync(raw, { level });
}

/** @returns a PNG of `rgba` (`[height, width, 4]` bytes, row-major). */
export function encodePng(rgba: Uint8Array, width: number, height: number, level = 6): Buffer {
  return Buffer.concat([
    PNG_SIGNATURE,
    chunk("IHDR", ihdr(width, height, 6)),
    chunk("IDAT", idat(rgba, width, height, 4, level)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/**
 * @param indices `[height, width]` palette indices
 * @param palette up to 256 colours as [r, g, b, a] (0–255 each)
 * @returns an 8-bit palette PNG (alpha through tRNS)
 */
export function encodeIndexedPng(indices: Uint8Array, width: number, height: number, palette: ReadonlyArray<readonly [number, number, number, number]>, level = 6): Buffer {
  if (palette.length === 0 || palette.length > 256) throw new Error(`encodeIndexedPng: palette needs 1..256 colours, got ${palette.length}.`);
  const plte = Buffer.alloc(palette.length * 3);
  const trns = Buffer.alloc(palette.length);
  palette.forEach(([r, g, b, a], i) => {
    plte[i * 3] = r;
    plte[i * 3 + 1] = g;
    plte[i * 3 + 2] = b;
    trns[i] = a;
  });
  return Buffer.concat([
    PNG_SIGNATURE,
    chunk("IHDR", ihdr(width, height, 3)),
    chunk("PLTE", plte),
    chunk("tRNS", trns),
    chunk("IDAT", idat(indices, width, height, 1, level)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** Width and height from a PNG's IHDR; throws if `png` is not a PNG. */
export function pngSize(png: Uint8Array): { width: number; height: number } {
  const b = Buffer.from(png.buffer, png.byteOffset, png.length);
  if (b.length < 24 || !b.subarray(0, 8).equals(PNG_SIGNATURE) || b.toString("ascii", 12, 16) !== "IHDR") {
    throw new Error("pngSize: not a PNG (no signature and IHDR chunk).");
  }
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

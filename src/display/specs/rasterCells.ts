/**
 * Large matrices as pictures: beyond a few thousand cells one SVG rect per cell makes megabytes
 * of SVG and seconds of rendering, so the cells become one image (a palette PNG, one pixel per
 * cell, drawn unsmoothed over the plot area) and hover reads a coarse grid of invisible blocks,
 * each naming its largest cell. Shared by the heatmap and the attention viewer.
 */
import { encodeIndexedPng } from "../png";
import { COLORMAPS } from "../theme";
import type { Ticks } from "./axes";

/** More cells than this and a heatmap is drawn as an image (50 × 50 still draws rects, ~0.5 MB of SVG). */
export const RASTER_CELLS = 2500;
/** Hover blocks per side at most (a 1024-wide matrix: blocks of 16). */
export const HOVER_BLOCKS = 64;

export type Rgb = [number, number, number];

/** "#rgb", "#rrggbb", "rgb(r, g, b)" or "hsl(h, s%, l%)" → [r, g, b] 0–255. */
export function parseColor(css: string): Rgb {
  const c = css.trim();
  let m = /^#([0-9a-f]{3})$/i.exec(c);
  if (m) return [...m[1]].map((d) => parseInt(d + d, 16)) as Rgb;
  m = /^#([0-9a-f]{6})$/i.exec(c);
  if (m) return [0, 2, 4].map((i) => parseInt(m![1].slice(i, i + 2), 16)) as Rgb;
  m = /^rgb\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)\s*\)$/i.exec(c);
  if (m) return [Number(m[1]), Number(m[2]), Number(m[3])].map(Math.round) as Rgb;
  m = /^hsl\(\s*([\d.]+)\s*,\s*([\d.]+)%\s*,\s*([\d.]+)%\s*\)$/i.exec(c);
  if (m) {
    const [h, s, l] = [Number(m[1]) / 360, Number(m[2]) / 100, Number(m[3]) / 100];
    const q = l < 0.5 ? l * (1 + s) : l + s - l * s;
    const p = 2 * l - q;
    const hue = (t: number) => {
      const u = t < 0 ? t + 1 : t > 1 ? t - 1 : t;
      return u < 1 / 6 ? p + (q - p) * 6 * u : u < 1 / 2 ? q : u < 2 / 3 ? p + (q - p) * (2 / 3 - u) * 6 : p;
    };
    return [hue(h + 1 / 3), hue(h), hue(h - 1 / 3)].map((v) => Math.round(v * 255)) as Rgb;
  }
  throw new Error(`parseColor: cannot read colour "${css}".`);
}

/** 255 colours along a matplotlib colormap, by vega's own interpolators (as the rect heatmap's scale). */
export function colormapColors(name: string): Rgb[] {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const vega = require("vega") as { scheme(n: string): (t: number) => string; interpolateColors(c: string[], type: string): (t: number) => string };
  const reverse = name.endsWith("_r");
  const entry = COLORMAPS[reverse ? name.slice(0, -2) : name];
  if (!entry) throw new Error(`colormapColors: unknown colormap "${name}".`);
  const f = "range" in entry ? vega.interpolateColors([...entry.range], "rgb") : vega.scheme(entry.scheme);
  return Array.from({ length: 255 }, (_, i) => parseColor(f(reverse ? 1 - i / 254 : i / 254)));
}

/**
 * One pixel per cell: colour index from the value's place in [lo, hi] (clamped), NaN transparent.
 * @returns a `data:image/png;base64,` URL
 */
export function colormapImage(values: readonly (readonly number[])[], lo: number, hi: number, colors: readonly Rgb[]): string {
  const rows = values.length;
  const cols = values[0].length;
  const idx = new Uint8Array(rows * cols);
  const span = hi - lo;
  const top = colors.length - 1;
  for (let r = 0; r < rows; r++) {
    const row = values[r];
    for (let c = 0; c < cols; c++) {
      const v = row[c];
      if (Number.isNaN(v)) continue; // index 0: transparent
      const t = span > 0 ? (v - lo) / span : 0.5;
      idx[r * cols + c] = 1 + Math.round(Math.min(1, Math.max(0, t)) * top);
    }
  }
  const palette: Array<[number, number, number, number]> = [[255, 255, 255, 0], ...colors.map(([r, g, b]) => [r, g, b, 255] as [number, number, number, number])];
  return `data:image/png;base64,${encodeIndexedPng(idx, cols, rows, palette).toString("base64")}`;
}

/**
 * One pixel per cell in one colour, opacity = the value clamped to [0, 1] (the attention viewer's
 * look: a hue per head, weight as opacity); `skip(r, c)` cells (the masked triangle) transparent.
 */
export function opacityImage(values: readonly (readonly number[])[], color: Rgb, skip?: (r: number, c: number) => boolean): string {
  const rows = values.length;
  const cols = values[0].length;
  const idx = new Uint8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const row = values[r];
    for (let c = 0; c < cols; c++) {
      if (skip?.(r, c)) continue;
      const v = row[c];
      idx[r * cols + c] = Number.isNaN(v) ? 0 : Math.round(Math.min(1, Math.max(0, v)) * 255);
    }
  }
  const palette = Array.from({ length: 256 }, (_, a) => [color[0], color[1], color[2], a] as [number, number, number, number]);
  return `data:image/png;base64,${encodeIndexedPng(idx, cols, rows, palette).toString("base64")}`;
}

/** A hover block: rows r0..r1 and columns c0..c1 (inclusive), and its largest cell. */
export interface HoverBlock {
  r0: number;
  r1: number;
  c0: number;
  c1: number;
  row: number;
  col: number;
  value: number;
}

/** The block side (cells) for `HOVER_BLOCKS` blocks per side at most. */
export function blockSide(rows: number, cols: number): number {
  return Math.max(1, Math.ceil(Math.max(rows, cols) / HOVER_BLOCKS));
}

/** Blocks of `side` × `side` cells, each with its largest (non-NaN, non-skipped) cell; empty blocks left out. */
export function hoverBlocks(values: readonly (readonly number[])[], side: number, skip?: (r: number, c: number) => boolean): HoverBlock[] {
  const rows = values.length;
  const cols = values[0].length;
  const out: HoverBlock[] = [];
  for (let r0 = 0; r0 < rows; r0 += side) {
    for (let c0 = 0; c0 < cols; c0 += side) {
      let best = -Infinity;
      let row = -1;
      let col = -1;
      const r1 = Math.min(rows, r0 + side) - 1;
      const c1 = Math.min(cols, c0 + side) - 1;
      for (let r = r0; r <= r1; r++) {
        for (let c = c0; c <= c1; c++) {
          const v = values[r][c];
          if (v > best && !(skip && skip(r, c))) {
            best = v;
            row = r;
            col = c;
          }
        }
      }
      if (row >= 0) out.push({ r0, r1, c0, c1, row, col, value: best });
    }
  }
  return out;
}

/** At most `max` of the ticks (every k-th), so long token axes stay readable. */
export function thinTicks(ticks: Ticks, max: number): Ticks {
  const n = ticks.positions.length;
  if (n <= max) return ticks;
  const step = Math.ceil(n / Math.max(1, max));
  const keep = ticks.positions.map((_, i) => i).filter((i) => i % step === 0);
  return {
    ...ticks,
    positions: keep.map((i) => ticks.positions[i]),
    ...(ticks.labels ? { labels: keep.map((i) => ticks.labels![i]) } : {}),
  };
}

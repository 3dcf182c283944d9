/**
 * The attention viewer for long prompts: the same layout and interaction as attentionPatterns.ts
 * (thumbnails of every head, one head large, hover a thumbnail to view it, click or the slider
 * to lock it), but each head is a picture (a palette PNG, weight as opacity of the head's hue)
 * instead of one rect per cell, so 12 heads × 1024 tokens stay a few hundred kB and render in
 * well under a second. Thumbnails are max-pooled to twice their size (a sharp stripe stays
 * visible); hover on the large view reads blocks of cells, each naming its strongest query/key
 * pair and weight (interactive views only).
 */
import { STATIC_PARAM } from "../mime";
import { headPickerLayer } from "./headPicker";
import { opacityImage, parseColor, thinTicks } from "./rasterCells";

export interface AttentionRasterParts {
  attention: number[][][];
  labels: string[];
  headLabels: string[];
  colors: string[];
  mask: boolean;
  thumb: number;
  columns: number;
  /** Side of the large view in px. */
  bigSize: number;
  headerParams: Record<string, unknown>[];
  title: Record<string, unknown>;
  config: Record<string, unknown>;
  lockParams: Record<string, unknown>[];
  description: string;
}

/** Hover blocks per side of the large view at most (the masked triangle has about half of them). */
const VIEWER_BLOCKS = 40;
/** Pictures larger than this per side are max-pooled down to it. */
const MAX_IMAGE = 1024;

/** Max-pools `plane` (masked cells skipped) to at most `size` × `size`; cells with nothing to pool are NaN. */
function pool(plane: number[][], size: number, mask: boolean): number[][] {
  const n = plane.length;
  if (n <= size) return plane; // the caller skips the masked triangle (no 1024² copy)
  const out: number[][] = [];
  for (let i = 0; i < size; i++) {
    const q0 = Math.floor((i * n) / size);
    const q1 = Math.floor(((i + 1) * n) / size);
    const row: number[] = [];
    for (let j = 0; j < size; j++) {
      const k0 = Math.floor((j * n) / size);
      const k1 = Math.floor(((j + 1) * n) / size);
      let best = NaN;
      for (let q = q0; q < q1; q++) {
        for (let k = k0; k < k1 && !(mask && k > q); k++) {
          const w = plane[q][k];
          if (!(w <= best)) best = w;
        }
      }
      row.push(best);
    }
    out.push(row);
  }
  return out;
}

export function attentionRasterSpec(p: AttentionRasterParts): Record<string, unknown> {
  const n = p.labels.length;
  const nHeads = p.attention.length;
  const rgb = p.colors.map(parseColor);
  const picture = (plane: number[][], size: number, head: number) => {
    const pooled = pool(plane, size, p.mask);
    // unpooled: skip keys after the query; pooled: those cells are already NaN (transparent)
    return opacityImage(pooled, rgb[head], p.mask && pooled === plane ? (q, k) => k > q : undefined);
  };
  const thumbRows = p.attention.map((plane, head) => ({ head, headLabel: p.headLabels[head], url: picture(plane, p.thumb * 2, head) }));
  const bigRows = p.attention.map((plane, head) => ({ head, url: picture(plane, MAX_IMAGE, head) }));

  // Hover blocks: the strongest (query, key) in each side × side block of each head.
  const side = Math.max(1, Math.ceil(n / VIEWER_BLOCKS));
  const blocks: Array<Record<string, number>> = [];
  p.attention.forEach((plane, h) => {
    for (let q0 = 0; q0 < n; q0 += side) {
      for (let k0 = 0; k0 < n && !(p.mask && k0 > q0 + side - 1); k0 += side) {
        let w = -Infinity;
        let bq = -1;
        let bk = -1;
        for (let q = q0; q < Math.min(n, q0 + side); q++) {
          for (let k = k0; k < Math.min(n, k0 + side) && !(p.mask && k > q); k++) {
            if (plane[q][k] > w) {
              w = plane[q][k];
              bq = q;
              bk = k;
            }
          }
        }
        if (bq >= 0) blocks.push({ h, q0, k0, q: bq, k: bk, w: Math.round(w * 1e4) / 1e4 });
      }
    }
  });

  const ticks = thinTicks({ positions: p.labels.map((_, i) => i) }, Math.max(2, Math.floor(p.bigSize / 11)));
  const axisScale = (reverse: boolean) => ({ domain: [-0.5, n - 0.5], nice: false, zero: false, ...(reverse ? { reverse: true } : {}) });
  const x = {
    type: "quantitative",
    scale: axisScale(false),
    axis: { title: "Key (attending to)", values: ticks.positions, labelExpr: "tokenLabels[datum.value]", labelAngle: -45, labelAlign: "right", labelBaseline: "top" },
  };
  const y = { type: "quantitative", scale: axisScale(true), axis: { title: "Query (attending from)", values: ticks.positions, labelExpr: "tokenLabels[datum.value]" } };
  const pictureMark = (size: number) => ({ type: "image", width: size, height: size, aspect: false, align: "left", baseline: "top", aria: false });

  const thumbnails = {
    data: { values: thumbRows },
    facet: { field: "head", type: "ordinal", header: { labelExpr: "headLabels[datum.value]", title: null, labelFontSize: 10, labelPadding: 2 } },
    columns: p.columns,
    spacing: { row: 6, column: 8 },
    bounds: "flush",
    spec: {
      width: p.thumb,
      height: p.thumb,
      layer: [
        { mark: pictureMark(p.thumb), encoding: { x: { value: 0 }, y: { value: 0 }, url: { field: "url", type: "nominal" } } },
        headPickerLayer(p.lockParams),
      ],
    },
  };

  const bigView = {
    width: p.bigSize,
    height: p.bigSize,
    title: { text: { expr: "headLabels[shownHead]" }, anchor: "start", fontSize: 13 },
    layer: [
      {
        data: { values: bigRows },
        transform: [{ filter: "datum.head == shownHead" }],
        mark: { ...pictureMark(p.bigSize), smooth: false },
        encoding: { x: { datum: -0.5, ...x }, y: { datum: -0.5, ...y }, url: { field: "url", type: "nominal" } },
      },
      {
        data: { values: blocks },
        transform: [
          { filter: `datum.h == shownHead && !${STATIC_PARAM}` },
          { calculate: "datum.k0 - 0.5", as: "x0" },
          { calculate: `min(datum.k0 + ${side}, ${n}) - 0.5`, as: "x1" },
          { calculate: "datum.q0 - 0.5", as: "y0" },
          { calculate: `min(datum.q0 + ${side}, ${n}) - 0.5`, as: "y1" },
          { calculate: "tokenLabels[datum.q]", as: "queryToken" },
          { calculate: "tokenLabels[datum.k]", as: "keyToken" },
        ],
        mark: { type: "rect", fill: "transparent", aria: false },
        encoding: {
          x: { field: "x0", type: "quantitative" },
          x2: { field: "x1" },
          y: { field: "y0", type: "quantitative" },
          y2: { field: "y1" },
          tooltip: [
            { field: "queryToken", type: "nominal", title: "query token" },
            { field: "q", type: "quantitative", title: "query pos" },
            { field: "keyToken", type: "nominal", title: "key token" },
            { field: "k", type: "quantitative", title: "key pos" },
            { field: "w", type: "quantitative", title: side > 1 ? `attention (largest in ${side}×${side})` : "attention", format: ".3f" },
          ],
        },
      },
    ],
  };

  return {
    description: p.description,
    title: p.title,
    config: p.config,
    params: p.headerParams,
    vconcat: [thumbnails, bigView],
    spacing: 16,
    usermeta: { heads: nHeads, tokens: n, picture: true },
  };
}

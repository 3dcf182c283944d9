/**
 * `imshow`-style heatmaps: a matrix drawn as square cells (or cells stretched to fill the box,
 * `aspect: "auto"`), row 0 at the top, with optional token tick labels, rotated x labels, axis
 * titles (multi-line with "\n"), a colour scheme, a colour bar, and extra layers drawn on top in
 * cell coordinates (markers from `plt.plot` over `plt.imshow`). Used for one attention head's
 * pattern (queries down, keys across) and layer × head score grids.
 */
import { read2D } from "../data";
import { colormapScale, matplotlibConfig } from "../theme";
import type { Values2D, VegaLiteSpec } from "../types";
import { tickAxis, tickParams, type Ticks } from "./axes";
import { lineCount, oneLine, textLines } from "./text";
import { STATIC_PARAM, VEGALITE_SCHEMA } from "../mime";
import { RASTER_CELLS, blockSide, colormapColors, colormapImage, hoverBlocks, thinTicks } from "./rasterCells";

export interface HeatmapOptions {
  /** `[rows, cols]`; read, never disposed. */
  values: Values2D;
  title?: string;
  xTitle?: string;
  yTitle?: string;
  /** Tick positions (column indices) and labels, e.g. tokens. Default: every index. */
  xTicks?: Ticks;
  yTicks?: Ticks;
  /** matplotlib colormap name (see theme COLORMAPS); default "viridis", matplotlib's default. */
  colormap?: string;
  /** Colour-scale limits; default the data's min and max, as imshow. */
  vmin?: number;
  vmax?: number;
  /** A colour bar with this title; omitted or false: no colour bar (as before `plt.colorbar()`). */
  colorbar?: { title?: string } | boolean;
  /** Name of the value in tooltips (default the colour-bar title, else "value"). */
  valueName?: string;
  /** Total size in pixels; cells stay square (imshow's `aspect="equal"`). Default 480 × 400. */
  width?: number;
  height?: number;
  /**
   * "equal" (default, imshow's): square cells, as large as fit in width × height. "auto": the
   * cells fill the box (wider than tall when the figure is), as `imshow(..., aspect="auto")`.
   */
  aspect?: "equal" | "auto";
  /**
   * Layers drawn over the cells, in the heatmap's coordinates: fields "col" and "row" (ordinal,
   * integers 0..cols-1 / 0..rows-1), as matplotlib puts data coordinates at the cell centres.
   */
  overlays?: Record<string, unknown>[];
  /** Prefix for the tick-label param names, so panels of one figure do not collide (default ""). */
  paramPrefix?: string;
  description?: string;
}

const CHAR_WIDTH = 6.2; // px per character at the 10 px axis label font
const TITLE_ROOM = 22;

function longest(labels: readonly string[] | undefined, fallback: number): number {
  if (!labels || labels.length === 0) return fallback;
  let most = 0;
  for (const l of labels) most = Math.max(most, l.length);
  return most;
}

/**
 * The room (px) labels, titles and the colour bar take around the cells: an estimate from label
 * lengths and line counts, as vega cannot fit band scales to a total size.
 */
function margins(rows: number, cols: number, o: HeatmapOptions): { left: number; right: number; top: number; bottom: number } {
  const yLabelChars = longest(o.yTicks?.labels, String(rows - 1).length);
  const xLabelChars = longest(o.xTicks?.labels, String(cols - 1).length);
  const angle = ((o.xTicks?.rotation ?? 0) * Math.PI) / 180;
  const left = yLabelChars * CHAR_WIDTH + 10 + lineCount(o.yTitle) * TITLE_ROOM;
  const bottom = Math.abs(Math.sin(angle)) * xLabelChars * CHAR_WIDTH + 16 + lineCount(o.xTitle) * TITLE_ROOM;
  const cbTitle = typeof o.colorbar === "object" ? o.colorbar.title : undefined;
  const right = o.colorbar ? 50 + lineCount(cbTitle) * 16 : 10;
  const top = o.title ? 14 + lineCount(o.title) * 16 : 6;
  return { left, right, top, bottom };
}

/**
 * Cell width and height (px): square (aspect "equal") or filling the box (aspect "auto"). Rect
 * cells are whole pixels, at least 4; an image's cells may be fractions of a pixel.
 */
function cellSize(rows: number, cols: number, o: HeatmapOptions, raster: boolean): { w: number; h: number } {
  const m = margins(rows, cols, o);
  const w = ((o.width ?? 480) - m.left - m.right) / cols;
  const h = ((o.height ?? 400) - m.top - m.bottom) / rows;
  if ((o.aspect ?? "equal") === "auto") return raster ? { w: Math.max(1 / cols, w), h: Math.max(1 / rows, h) } : { w: Math.max(1, w), h: Math.max(1, h) };
  if (raster) {
    const side = Math.max(64 / Math.max(rows, cols), Math.min(w, h));
    return { w: side, h: side };
  }
  const cell = Math.max(4, Math.floor(Math.min(w, h)));
  return { w: cell, h: cell };
}

/** Smallest and largest value, in one pass (no spread: fine for millions of cells). */
export function extent(values: readonly (readonly number[])[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const row of values) {
    for (const v of row) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return [lo, hi];
}

function labelMap(ticks: Ticks | undefined): Map<number, string> | undefined {
  if (!ticks?.labels) return undefined;
  const m = new Map<number, string>();
  ticks.positions.forEach((p, i) => m.set(p, ticks.labels![i]));
  return m;
}

/** Smallest and largest non-NaN value (NaN, NaN when every cell is NaN). */
function finiteExtent(values: readonly (readonly number[])[]): [number, number] {
  const [lo, hi] = extent(values);
  return lo <= hi ? [lo, hi] : [NaN, NaN];
}

export function heatmapSpec(options: HeatmapOptions): VegaLiteSpec {
  const where = "heatmapSpec";
  const values = read2D(options.values, `${where} values`, { allowNaN: true });
  const rows = values.length;
  const cols = values[0].length;
  if (options.aspect !== undefined && options.aspect !== "equal" && options.aspect !== "auto") {
    throw new Error(`${where}: aspect must be "equal" or "auto", got "${String(options.aspect)}".`);
  }
  const raster = rows * cols > RASTER_CELLS;
  const cell = cellSize(rows, cols, options, raster);
  const auto = (options.aspect ?? "equal") === "auto";
  const plotW = cell.w * cols;
  const plotH = cell.h * rows;
  const colorbarTitle = typeof options.colorbar === "object" ? options.colorbar.title : undefined;
  const valueName = options.valueName ?? colorbarTitle ?? "value";
  // Long tick lists (tokens) are thinned to what fits: about one label per 11 px.
  const longestX = options.xTicks?.labels ? longest(options.xTicks.labels, 1) : String(cols - 1).length;
  const xTicks = options.xTicks && thinTicks(options.xTicks, Math.max(2, Math.floor(plotW / (options.xTicks.rotation ? 11 : Math.max(11, longestX * CHAR_WIDTH + 4)))));
  const yTicks = options.yTicks && thinTicks(options.yTicks, Math.max(2, Math.floor(plotH / 11)));

  const scale: Record<string, unknown> = colormapScale(options.colormap ?? "viridis", where);
  const [dataLo, dataHi] = finiteExtent(values);
  const lo = options.vmin ?? dataLo;
  const hi = options.vmax ?? dataHi;
  if (options.vmin !== undefined || options.vmax !== undefined || raster) {
    if (Number.isFinite(lo) && Number.isFinite(hi)) scale.domain = [lo, hi];
    scale.clamp = true;
  }
  const legend = options.colorbar
    ? {
        title: textLines(colorbarTitle) ?? null,
        orient: "right",
        direction: "vertical",
        gradientLength: Math.round(plotH),
        gradientThickness: 14,
        titleOrient: "right",
        titleAnchor: "middle",
      }
    : null;
  const px = options.paramPrefix ?? "";
  const params: Record<string, unknown>[] = [...tickParams(xTicks, `${px}xTick`, where), ...tickParams(yTicks, `${px}yTick`, where)];
  const xAxis = { title: textLines(options.xTitle) ?? null, labelAngle: 0, ...tickAxis(xTicks, `${px}xTick`) };
  const yAxis = { title: textLines(options.yTitle) ?? null, ...tickAxis(yTicks, `${px}yTick`) };
  const tipTitles = { row: oneLine(options.yTitle) ?? "row", col: oneLine(options.xTitle) ?? "column", value: oneLine(valueName) ?? "value" };

  let layers: Record<string, unknown>[];
  let overlays = options.overlays ?? [];
  if (raster) {
    if (!params.some((p) => p.name === STATIC_PARAM)) params.push({ name: STATIC_PARAM, value: false });
    layers = rasterLayers(values, { lo, hi, colormap: options.colormap ?? "viridis", scale, legend, xAxis, yAxis, plotW, plotH, tipTitles, xTicks: options.xTicks, yTicks: options.yTicks });
    // Overlays address cells by index; on the linear axes of the image those are the centres.
    overlays = overlays.map((o) => retype(o, "quantitative"));
  } else {
    const colLabels = labelMap(options.xTicks);
    const rowLabels = labelMap(options.yTicks);
    const hasNaN = values.some((row) => row.some(Number.isNaN));
    const data: Record<string, unknown>[] = [];
    values.forEach((row, r) =>
      row.forEach((value, c) => {
        if (Number.isNaN(value)) return; // blank cell, as matplotlib draws NaN
        const d: Record<string, unknown> = { row: r, col: c, value };
        const xl = colLabels?.get(c);
        const yl = rowLabels?.get(r);
        if (xl !== undefined) d.colLabel = xl;
        if (yl !== undefined) d.rowLabel = yl;
        data.push(d);
      })
    );
    const hasColLabels = data.some((d) => "colLabel" in d);
    const hasRowLabels = data.some((d) => "rowLabel" in d);
    // With blank cells the data may miss a whole row or column: name every index in the domain.
    const band = (n: number) => ({ paddingInner: 0, paddingOuter: 0, ...(hasNaN ? { domain: Array.from({ length: n }, (_, i) => i) } : {}) });
    layers = [
      {
        data: { values: data },
        mark: { type: "rect" },
        encoding: {
          x: { field: "col", type: "ordinal", scale: band(cols), axis: xAxis },
          y: { field: "row", type: "ordinal", scale: band(rows), axis: yAxis },
          color: { field: "value", type: "quantitative", scale, legend },
          tooltip: [
            hasRowLabels ? { field: "rowLabel", type: "nominal", title: tipTitles.row } : { field: "row", type: "ordinal", title: tipTitles.row },
            hasColLabels ? { field: "colLabel", type: "nominal", title: tipTitles.col } : { field: "col", type: "ordinal", title: tipTitles.col },
            { field: "value", type: "quantitative", title: tipTitles.value, format: ".3f" },
          ],
        },
      },
    ];
  }
  const all = [...layers, ...overlays];
  return {
    $schema: VEGALITE_SCHEMA,
    description: options.description ?? `Heatmap ${rows}×${cols}`,
    ...(options.title ? { title: textLines(options.title) } : {}),
    // equal: a step per cell keeps them square; auto (and images): the plot area itself is given.
    width: auto || raster ? Math.round(plotW) : { step: cell.w },
    height: auto || raster ? Math.round(plotH) : { step: cell.h },
    config: matplotlibConfig(),
    ...(params.length ? { params } : {}),
    ...(all.length > 1 ? { layer: all } : all[0]),
  };
}

/** An overlay layer with its x/y encodings switched to `type` (cell indices on linear axes). */
function retype(layer: Record<string, unknown>, type: string): Record<string, unknown> {
  const enc = (layer.encoding ?? {}) as Record<string, Record<string, unknown>>;
  return { ...layer, encoding: { ...enc, x: { ...enc.x, type }, y: { ...enc.y, type } } };
}

interface RasterParts {
  lo: number;
  hi: number;
  colormap: string;
  scale: Record<string, unknown>;
  legend: Record<string, unknown> | null;
  xAxis: Record<string, unknown>;
  yAxis: Record<string, unknown>;
  plotW: number;
  plotH: number;
  tipTitles: { row: string; col: string; value: string };
  xTicks?: Ticks;
  yTicks?: Ticks;
}

/**
 * The cells as one image on linear axes (cell c spans c-0.5..c+0.5, row 0 at the top, as
 * matplotlib's imshow extent), a colour bar from an invisible two-point layer, and invisible hover
 * blocks naming each block's largest cell (interactive views only: filtered out when static).
 */
function rasterLayers(values: number[][], o: RasterParts): Record<string, unknown>[] {
  const rows = values.length;
  const cols = values[0].length;
  const lo = Number.isFinite(o.lo) ? o.lo : 0;
  const hi = Number.isFinite(o.hi) ? o.hi : 1;
  const url = colormapImage(values, lo, hi, colormapColors(o.colormap));
  const xScale = { domain: [-0.5, cols - 0.5], nice: false, zero: false };
  const yScale = { domain: [-0.5, rows - 0.5], nice: false, zero: false, reverse: true };
  const x = { type: "quantitative", scale: xScale, axis: { tickMinStep: 1, ...o.xAxis } };
  const y = { type: "quantitative", scale: yScale, axis: { tickMinStep: 1, ...o.yAxis } };
  const image = {
    data: { values: [{ url }] },
    // aria: false, or the SVG would repeat the whole data URL as the image's aria-label
    mark: { type: "image", width: Math.round(o.plotW), height: Math.round(o.plotH), aspect: false, smooth: false, align: "left", baseline: "top", aria: false },
    encoding: { x: { datum: -0.5, ...x }, y: { datum: -0.5, ...y }, url: { field: "url", type: "nominal" } },
  };
  const layers: Record<string, unknown>[] = [image];
  if (o.legend) {
    layers.push({
      data: { values: [{ value: lo }, { value: hi }] },
      mark: { type: "point", opacity: 0, aria: false },
      encoding: { x: { datum: -0.5, type: "quantitative" }, y: { datum: -0.5, type: "quantitative" }, color: { field: "value", type: "quantitative", scale: o.scale, legend: o.legend } },
    });
  }
  const colLabels = labelMap(o.xTicks);
  const rowLabels = labelMap(o.yTicks);
  const side = blockSide(rows, cols);
  // Compact rows (block origin, largest cell, its value); the rest is computed by vega.
  const blocks = hoverBlocks(values, side).map((b) => ({ r: b.r0, c: b.c0, R: b.row, C: b.col, v: b.value }));
  const rowName = (expr: string) => (rowLabels ? `${JSON.stringify(Object.fromEntries(rowLabels))}[${expr}] || ${expr}` : expr);
  const colName = (expr: string) => (colLabels ? `${JSON.stringify(Object.fromEntries(colLabels))}[${expr}] || ${expr}` : expr);
  const span = (v: string, n: number) => (side > 1 ? `${v} + "–" + min(${v} + ${side - 1}, ${n - 1})` : `"" + ${v}`);
  layers.push({
    data: { values: blocks },
    transform: [
      { filter: `!${STATIC_PARAM}` },
      { calculate: "datum.c - 0.5", as: "x0" },
      { calculate: `min(datum.c + ${side}, ${cols}) - 0.5`, as: "x1" },
      { calculate: "datum.r - 0.5", as: "y0" },
      { calculate: `min(datum.r + ${side}, ${rows}) - 0.5`, as: "y1" },
      { calculate: span("datum.r", rows), as: "rows" },
      { calculate: span("datum.c", cols), as: "cols" },
      { calculate: `${rowName("datum.R")} + ", " + ${colName("datum.C")}`, as: "at" },
    ],
    mark: { type: "rect", fill: "transparent", stroke: null, aria: false },
    encoding: {
      x: { field: "x0", type: "quantitative" },
      x2: { field: "x1" },
      y: { field: "y0", type: "quantitative" },
      y2: { field: "y1" },
      tooltip: [
        { field: "rows", type: "nominal", title: o.tipTitles.row },
        { field: "cols", type: "nominal", title: o.tipTitles.col },
        { field: "v", type: "quantitative", title: side > 1 ? `largest ${o.tipTitles.value}` : o.tipTitles.value, format: ".3f" },
        ...(side > 1 ? [{ field: "at", type: "nominal", title: "at (row, column)" }] : []),
      ],
    },
  });
  return layers;
}

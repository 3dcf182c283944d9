/**
 * `imshow`-style heatmaps: a matrix drawn as square cells (or cells stretched to fill the box,
 * `aspect: "auto"`), row 0 at the top, with optional token tick labels, rotated x labels, axis
 * titles (multi-line with "\n"), a colour scheme, a colour bar, and extra layers drawn on top in
 * cell coordinates (markers from `plt.plot` over `plt.imshow`). Used for one attention head's
 * pattern (queries down, keys across) and layer × head score grids.
 */
import { read2D } from "../data";
import { VEGALITE_SCHEMA } from "../mime";
import { colormapScale, matplotlibConfig } from "../theme";
import type { Values2D, VegaLiteSpec } from "../types";
import { tickAxis, tickParams, type Ticks } from "./axes";
import { lineCount, oneLine, textLines } from "./text";

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

/** Cell width and height (px): square (aspect "equal") or filling the box (aspect "auto"). */
function cellSize(rows: number, cols: number, o: HeatmapOptions): { w: number; h: number } {
  const m = margins(rows, cols, o);
  const w = ((o.width ?? 480) - m.left - m.right) / cols;
  const h = ((o.height ?? 400) - m.top - m.bottom) / rows;
  if ((o.aspect ?? "equal") === "auto") return { w: Math.max(1, w), h: Math.max(1, h) };
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

function labelFor(ticks: Ticks | undefined, index: number): string | undefined {
  if (!ticks?.labels) return undefined;
  const at = ticks.positions.indexOf(index);
  return at >= 0 ? ticks.labels[at] : undefined;
}

export function heatmapSpec(options: HeatmapOptions): VegaLiteSpec {
  const where = "heatmapSpec";
  const values = read2D(options.values, `${where} values`);
  const rows = values.length;
  const cols = values[0].length;
  if (options.aspect !== undefined && options.aspect !== "equal" && options.aspect !== "auto") {
    throw new Error(`${where}: aspect must be "equal" or "auto", got "${String(options.aspect)}".`);
  }
  const cell = cellSize(rows, cols, options);
  const auto = (options.aspect ?? "equal") === "auto";
  const colorbarTitle = typeof options.colorbar === "object" ? options.colorbar.title : undefined;
  const valueName = options.valueName ?? colorbarTitle ?? "value";

  const data = values.flatMap((row, r) =>
    row.map((value, c) => {
      const d: Record<string, unknown> = { row: r, col: c, value };
      const xl = labelFor(options.xTicks, c);
      const yl = labelFor(options.yTicks, r);
      if (xl !== undefined) d.colLabel = xl;
      if (yl !== undefined) d.rowLabel = yl;
      return d;
    })
  );
  const hasColLabels = data.some((d) => "colLabel" in d);
  const hasRowLabels = data.some((d) => "rowLabel" in d);

  const scale: Record<string, unknown> = colormapScale(options.colormap ?? "viridis", where);
  if (options.vmin !== undefined || options.vmax !== undefined) {
    const [lo, hi] = options.vmin === undefined || options.vmax === undefined ? extent(values) : [0, 0];
    scale.domain = [options.vmin ?? lo, options.vmax ?? hi];
    scale.clamp = true;
  }
  const legend = options.colorbar
    ? {
        title: textLines(colorbarTitle) ?? null,
        orient: "right",
        direction: "vertical",
        gradientLength: Math.round(cell.h * rows),
        gradientThickness: 14,
        titleOrient: "right",
        titleAnchor: "middle",
      }
    : null;
  const px = options.paramPrefix ?? "";
  const params = [...tickParams(options.xTicks, `${px}xTick`, where), ...tickParams(options.yTicks, `${px}yTick`, where)];
  const bandScale = { paddingInner: 0, paddingOuter: 0 };

  const cells = {
    data: { values: data },
    mark: { type: "rect" },
    encoding: {
      x: {
        field: "col",
        type: "ordinal",
        scale: bandScale,
        axis: { title: textLines(options.xTitle) ?? null, labelAngle: 0, ...tickAxis(options.xTicks, `${px}xTick`) },
      },
      y: {
        field: "row",
        type: "ordinal",
        scale: bandScale,
        axis: { title: textLines(options.yTitle) ?? null, ...tickAxis(options.yTicks, `${px}yTick`) },
      },
      color: { field: "value", type: "quantitative", scale, legend },
      tooltip: [
        hasRowLabels ? { field: "rowLabel", type: "nominal", title: oneLine(options.yTitle) ?? "row" } : { field: "row", type: "ordinal", title: oneLine(options.yTitle) ?? "row" },
        hasColLabels ? { field: "colLabel", type: "nominal", title: oneLine(options.xTitle) ?? "column" } : { field: "col", type: "ordinal", title: oneLine(options.xTitle) ?? "column" },
        { field: "value", type: "quantitative", title: oneLine(valueName), format: ".3f" },
      ],
    },
  };
  const overlays = options.overlays ?? [];
  return {
    $schema: VEGALITE_SCHEMA,
    description: options.description ?? `Heatmap ${rows}×${cols}`,
    ...(options.title ? { title: textLines(options.title) } : {}),
    // equal: a step per cell keeps them square; auto: the plot area itself is given.
    width: auto ? Math.round(cell.w * cols) : { step: cell.w },
    height: auto ? Math.round(cell.h * rows) : { step: cell.h },
    config: matplotlibConfig(),
    ...(params.length ? { params } : {}),
    ...(overlays.length ? { layer: [cells, ...overlays] } : cells),
  };
}

/**
 * `imshow`-style heatmaps: a matrix drawn as square cells, row 0 at the top, with optional token
 * tick labels, rotated x labels, axis titles, a colour scheme and a colour bar. Used for one
 * attention head's pattern (queries down, keys across).
 */
import { read2D } from "../data";
import { VEGALITE_SCHEMA } from "../mime";
import { colormapScale, matplotlibConfig } from "../theme";
import type { Values2D, VegaLiteSpec } from "../types";
import { tickAxis, tickParams, type Ticks } from "./axes";

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
  description?: string;
}

const CHAR_WIDTH = 6.2; // px per character at the 10 px axis label font
const TITLE_ROOM = 22;

function longest(labels: readonly string[] | undefined, fallback: number): number {
  if (!labels || labels.length === 0) return fallback;
  return Math.max(...labels.map((l) => l.length));
}

/**
 * Cell size (px) such that the whole chart, labels and colour bar included, fits width × height
 * with square cells: an estimate of the margins from label lengths, as vega cannot fit band scales.
 */
function squareCellSize(rows: number, cols: number, o: HeatmapOptions): number {
  const width = o.width ?? 480;
  const height = o.height ?? 400;
  const yLabelChars = longest(o.yTicks?.labels, String(rows - 1).length);
  const xLabelChars = longest(o.xTicks?.labels, String(cols - 1).length);
  const angle = ((o.xTicks?.rotation ?? 0) * Math.PI) / 180;
  const left = yLabelChars * CHAR_WIDTH + 10 + (o.yTitle ? TITLE_ROOM : 0);
  const bottom = Math.abs(Math.sin(angle)) * xLabelChars * CHAR_WIDTH + 16 + (o.xTitle ? TITLE_ROOM : 0);
  const right = o.colorbar ? 80 : 10;
  const top = o.title ? 30 : 6;
  const cell = Math.min((width - left - right) / cols, (height - top - bottom) / rows);
  return Math.max(4, Math.floor(cell));
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
  const cell = squareCellSize(rows, cols, options);
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
    const flat = values.flat();
    scale.domain = [options.vmin ?? Math.min(...flat), options.vmax ?? Math.max(...flat)];
    scale.clamp = true;
  }
  const legend = options.colorbar
    ? {
        title: colorbarTitle ?? null,
        orient: "right",
        direction: "vertical",
        gradientLength: cell * rows,
        gradientThickness: 14,
        titleOrient: "right",
        titleAnchor: "middle",
      }
    : null;
  const params = [...tickParams(options.xTicks, "xTick", where), ...tickParams(options.yTicks, "yTick", where)];
  const bandScale = { paddingInner: 0, paddingOuter: 0 };

  return {
    $schema: VEGALITE_SCHEMA,
    description: options.description ?? `Heatmap ${rows}×${cols}`,
    ...(options.title ? { title: options.title } : {}),
    width: { step: cell },
    height: { step: cell },
    config: matplotlibConfig(),
    ...(params.length ? { params } : {}),
    data: { values: data },
    mark: { type: "rect" },
    encoding: {
      x: {
        field: "col",
        type: "ordinal",
        scale: bandScale,
        axis: { title: options.xTitle ?? null, labelAngle: 0, ...tickAxis(options.xTicks, "xTick") },
      },
      y: {
        field: "row",
        type: "ordinal",
        scale: bandScale,
        axis: { title: options.yTitle ?? null, ...tickAxis(options.yTicks, "yTick") },
      },
      color: { field: "value", type: "quantitative", scale, legend },
      tooltip: [
        hasRowLabels ? { field: "rowLabel", type: "nominal", title: options.yTitle ?? "row" } : { field: "row", type: "ordinal", title: options.yTitle ?? "row" },
        hasColLabels ? { field: "colLabel", type: "nominal", title: options.xTitle ?? "column" } : { field: "col", type: "ordinal", title: options.xTitle ?? "column" },
        { field: "value", type: "quantitative", title: valueName, format: ".3f" },
      ],
    },
  };
}

/**
 * Line charts with markers, e.g. the residual-stream norm at each layer (`plt.plot(norms, "o-")`).
 */
import { read1D } from "../data";
import { MPL_COLOR_CYCLE, resolveColor } from "../theme";
import type { Values1D, VegaLiteSpec } from "../types";
import { axesSpec, type AxesLayer, type AxesOptions } from "./axes";

/** matplotlib marker characters → Vega point shapes. */
export const MARKERS: Readonly<Record<string, string>> = {
  o: "circle",
  s: "square",
  "^": "triangle-up",
  v: "triangle-down",
  D: "diamond",
  d: "diamond",
  x: "cross",
  "+": "cross",
  ".": "circle",
};

/** matplotlib line styles → Vega stroke dash arrays (empty: solid). */
export const LINE_STYLES: Readonly<Record<string, number[]>> = {
  "-": [],
  "--": [6, 4],
  ":": [1.5, 2.5],
  "-.": [6, 3, 1.5, 3],
};

export interface LineSeries {
  /** x positions; omitted: 0, 1, 2, ... as matplotlib does for `plot(y)`. */
  x?: Values1D;
  y: Values1D;
  /** Legend entry (series without a label stay out of the legend). */
  label?: string;
  /** CSS colour, "C0".."C9" or a matplotlib letter; default: the next colour of the cycle. */
  color?: string;
  /** A key of MARKERS, or null for no markers (default null). */
  marker?: string | null;
  /** A key of LINE_STYLES, or null for markers only (default "-"). */
  lineStyle?: string | null;
  /** Line width in pixels (matplotlib's default 1.5). */
  lineWidth?: number;
  /** Marker size in points = pixels at 72 dpi (matplotlib's `markersize`, default 6): the marker's width. */
  markerSize?: number;
  /** "full" (default) or "none": an outline only, as matplotlib's `fillstyle="none"`. */
  fillStyle?: "full" | "none";
  /** Outline width in points (matplotlib's `markeredgewidth`, default 1). */
  markerEdgeWidth?: number;
}

/**
 * Vega point-mark properties for a matplotlib marker: Vega's `size` is the area of the symbol's
 * box, so a marker `markersize` points wide has size markersize² ("." is drawn at half width).
 */
export function markerProps(s: Pick<LineSeries, "marker" | "markerSize" | "fillStyle" | "markerEdgeWidth">, where: string): Record<string, unknown> {
  const marker = s.marker as string;
  const ms = s.markerSize ?? 6;
  if (!(ms > 0)) throw new Error(`${where}: markersize must be a positive number of points, got ${String(s.markerSize)}.`);
  const mew = s.markerEdgeWidth ?? 1;
  if (!(mew >= 0)) throw new Error(`${where}: markeredgewidth must be a non-negative number of points, got ${String(s.markerEdgeWidth)}.`);
  const fill = s.fillStyle ?? "full";
  if (fill !== "full" && fill !== "none") {
    throw new Error(`${where}: fillstyle must be "full" or "none", got "${String(s.fillStyle)}".`);
  }
  const width = marker === "." ? ms / 2 : ms;
  return {
    shape: MARKERS[marker],
    filled: fill === "full",
    size: s.markerSize === undefined && marker === "." ? 15 : width * width,
    opacity: 1,
    ...(fill === "none" || s.markerEdgeWidth !== undefined ? { strokeWidth: mew } : {}),
  };
}

export interface LineOptions extends AxesOptions {
  series: LineSeries[];
}

/** The layer for one line series. `index` is its position among all series (for the colour cycle). */
export function lineLayer(s: LineSeries, index: number, where: string): AxesLayer {
  const y = read1D(s.y, `${where} series ${index} y`);
  const x = s.x === undefined ? y.map((_, i) => i) : read1D(s.x, `${where} series ${index} x`);
  if (x.length !== y.length) {
    throw new Error(`${where}: series ${index} has ${x.length} x values but ${y.length} y values; they must match.`);
  }
  const marker = s.marker ?? null;
  const lineStyle = s.lineStyle === undefined ? "-" : s.lineStyle;
  if (marker !== null && !(marker in MARKERS)) {
    throw new Error(`${where}: unsupported marker "${marker}". Supported: ${Object.keys(MARKERS).join(" ")}.`);
  }
  if (lineStyle !== null && !(lineStyle in LINE_STYLES)) {
    throw new Error(`${where}: unsupported line style "${lineStyle}". Supported: ${Object.keys(LINE_STYLES).join(" ")}.`);
  }
  if (marker === null && lineStyle === null) {
    throw new Error(`${where}: series ${index} has neither a marker nor a line style, so it would be invisible.`);
  }
  const name = s.label ?? `line ${index}`;
  const color = s.color ? resolveColor(s.color) : MPL_COLOR_CYCLE[index % MPL_COLOR_CYCLE.length];
  const point = marker === null ? undefined : markerProps(s, where);
  const mark: Record<string, unknown> =
    lineStyle === null
      ? { type: "point", ...point }
      : {
          type: "line",
          strokeWidth: s.lineWidth ?? 1.5,
          ...(LINE_STYLES[lineStyle].length ? { strokeDash: LINE_STYLES[lineStyle] } : {}),
          ...(point ? { point } : {}),
        };
  const layer = {
    data: { values: x.map((xv, i) => ({ x: xv, y: y[i], series: name })) },
    mark,
    encoding: {
      // matplotlib leaves a margin around the data; nice=false keeps it from growing to round numbers.
      x: {
        field: "x",
        type: "quantitative",
        scale: { zero: false, nice: false, padding: 14 },
        axis: x.every(Number.isInteger) ? { tickMinStep: 1 } : {},
      },
      y: { field: "y", type: "quantitative", scale: { zero: false, nice: false, padding: 14 } },
      color: { datum: name, type: "nominal" },
      tooltip: [
        ...(s.label ? [{ field: "series", type: "nominal", title: "series" }] : []),
        { field: "x", type: "quantitative" },
        { field: "y", type: "quantitative", format: ".4~g" },
      ],
    },
  };
  return {
    kind: "line",
    layer,
    series: { name, color, labelled: s.label !== undefined },
    points: x.map((xv, i) => [xv, y[i]] as [number, number]),
  };
}

/** A line chart of one or more series (layers share axes, colours and legend). */
export function lineSpec(options: LineOptions): VegaLiteSpec {
  const where = "lineSpec";
  if (!options.series?.length) throw new Error(`${where}: options.series is empty; give at least one { y } series.`);
  const layers = options.series.map((s, i) => lineLayer(s, i, where));
  return axesSpec(layers, { description: "Line chart", ...options }, where);
}

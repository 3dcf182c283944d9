/**
 * What every x/y chart shares: titles, tick positions and labels, grid, legend placement and the
 * figure size, turned into Vega-Lite axis/legend objects. Line and bar builders produce layers;
 * `axesSpec` composes them into one chart so both (or both at once, as pyplot allows) look alike.
 */
import { VEGALITE_SCHEMA } from "../mime";
import { matplotlibConfig } from "../theme";
import type { VegaLiteSpec } from "../types";
import { textLines } from "./text";

/** Explicit ticks, as `plt.xticks(positions, labels, {rotation, ha})` sets them. */
export interface Ticks {
  positions: readonly number[];
  /** One label per position; omitted: the positions themselves. */
  labels?: readonly string[];
  /** Degrees counter-clockwise, as matplotlib's `rotation`. */
  rotation?: number;
  /** Which end of a label sits at its tick, as matplotlib's `ha`. */
  ha?: "left" | "center" | "right";
}

export interface GridOptions {
  /** Which axes draw grid lines (matplotlib's `axis="both" | "x" | "y"`). */
  axis?: "both" | "x" | "y";
  /** Grid line opacity (matplotlib's `alpha`), default 1. */
  alpha?: number;
}

/** matplotlib `loc` names → Vega-Lite legend orient (inside the plot, like matplotlib). */
export const LEGEND_LOCATIONS: Readonly<Record<string, string>> = {
  "upper right": "top-right",
  "upper left": "top-left",
  "lower left": "bottom-left",
  "lower right": "bottom-right",
  right: "right",
  "center right": "right",
  "center left": "left",
};

export interface LegendOptions {
  /** matplotlib's `loc`: "best" (default) or a key of LEGEND_LOCATIONS. */
  loc?: string;
}

export interface AxesOptions {
  title?: string;
  xTitle?: string;
  yTitle?: string;
  xTicks?: Ticks;
  yTicks?: Ticks;
  /** Grid lines; omitted or false: none (matplotlib's default). */
  grid?: GridOptions | boolean;
  /** Show a legend of the labelled series; omitted or false: none (as before `plt.legend()`). */
  legend?: LegendOptions | boolean;
  /** Total chart width in pixels, axes and legend included (default 640). */
  width?: number;
  /** Total chart height in pixels (default 320). */
  height?: number;
  /** The one-line text form of the chart (text/plain). */
  description?: string;
  /** Prefix for the tick-label param names, so panels of one figure do not collide (default ""). */
  paramPrefix?: string;
}

export const DEFAULT_WIDTH = 640;
export const DEFAULT_HEIGHT = 320;

/** One series as the shared colour/legend scale sees it. */
export interface SeriesKey {
  /** Legend entry and colour-scale domain value (unique per chart). */
  name: string;
  color: string;
  /** Appears in the legend (matplotlib shows only artists given a `label`). */
  labelled: boolean;
}

/** A layer plus what the composed chart needs to know about it. */
export interface AxesLayer {
  kind: "line" | "bar";
  layer: Record<string, unknown>;
  series: SeriesKey;
  /** Data extent for the "best" legend placement: [x, y] points. */
  points: Array<[number, number]>;
}

function tickLabelExpr(ticks: Ticks, paramName: string): Record<string, unknown> {
  if (!ticks.labels) return {};
  return { labelExpr: `${paramName}Labels[indexof(${paramName}Positions, datum.value)]` };
}

/** Tick labels as top-level params, so `labelExpr` can map a position to its label. */
export function tickParams(ticks: Ticks | undefined, paramName: string, where: string): Record<string, unknown>[] {
  if (!ticks) return [];
  if (ticks.labels && ticks.labels.length !== ticks.positions.length) {
    throw new Error(
      `${where}: ${ticks.positions.length} tick positions but ${ticks.labels.length} labels; give one label per position.`
    );
  }
  if (!ticks.labels) return [];
  return [
    { name: `${paramName}Positions`, value: [...ticks.positions] },
    { name: `${paramName}Labels`, value: [...ticks.labels] },
  ];
}

/** Axis properties for explicit ticks (positions, labels, rotation). */
export function tickAxis(ticks: Ticks | undefined, paramName: string): Record<string, unknown> {
  if (!ticks) return {};
  const axis: Record<string, unknown> = { values: [...ticks.positions], ...tickLabelExpr(ticks, paramName) };
  if (ticks.rotation) {
    axis.labelAngle = -ticks.rotation; // matplotlib turns counter-clockwise, Vega clockwise
    axis.labelAlign = ticks.ha ?? "center";
    axis.labelBaseline = "top";
  } else if (ticks.ha) {
    axis.labelAlign = ticks.ha;
  }
  return axis;
}

export function gridAxes(grid: AxesOptions["grid"]): { x: Record<string, unknown>; y: Record<string, unknown> } {
  if (!grid) return { x: {}, y: {} };
  const opts: GridOptions = grid === true ? {} : grid;
  const which = opts.axis ?? "both";
  const line = { grid: true, gridColor: "#b0b0b0", gridOpacity: opts.alpha ?? 1, gridWidth: 0.8 };
  return { x: which === "y" ? {} : line, y: which === "x" ? {} : line };
}

/**
 * matplotlib's "best": the upper corner whose side of the plot has the lower data, else lower.
 * A cheap stand-in for matplotlib's overlap search, good for the line and bar charts here.
 */
export function bestLegendOrient(points: ReadonlyArray<[number, number]>): string {
  if (points.length === 0) return "top-right";
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const [xMin, xMax] = [Math.min(...xs), Math.max(...xs)];
  const [yMin, yMax] = [Math.min(...ys, 0), Math.max(...ys)];
  const span = xMax - xMin || 1;
  const maxIn = (lo: number, hi: number) =>
    Math.max(-Infinity, ...points.filter((p) => p[0] >= lo && p[0] <= hi).map((p) => p[1]));
  const minIn = (lo: number, hi: number) =>
    Math.min(Infinity, ...points.filter((p) => p[0] >= lo && p[0] <= hi).map((p) => p[1]));
  const leftMax = maxIn(xMin, xMin + 0.3 * span);
  const rightMax = maxIn(xMax - 0.3 * span, xMax);
  const top = yMin + 0.7 * (yMax - yMin);
  if (Math.min(leftMax, rightMax) < top) return leftMax <= rightMax ? "top-left" : "top-right";
  const leftMin = minIn(xMin, xMin + 0.3 * span);
  const rightMin = minIn(xMax - 0.3 * span, xMax);
  return leftMin >= rightMin ? "bottom-left" : "bottom-right";
}

function legendSpec(
  legend: AxesOptions["legend"],
  series: SeriesKey[],
  points: Array<[number, number]>,
  where: string
): Record<string, unknown> | null {
  const labelled = series.filter((s) => s.labelled).map((s) => s.name);
  if (!legend || labelled.length === 0) return null;
  const loc = (legend === true ? undefined : legend.loc) ?? "best";
  let orient: string | undefined;
  if (loc === "best") orient = bestLegendOrient(points);
  else orient = LEGEND_LOCATIONS[loc];
  if (!orient) {
    throw new Error(`${where}: unsupported legend loc "${loc}". Use "best" or one of: ${Object.keys(LEGEND_LOCATIONS).join(", ")}.`);
  }
  return {
    title: null,
    values: labelled,
    orient,
    fillColor: "rgba(255,255,255,0.8)",
    strokeColor: "#cccccc",
    padding: 6,
    cornerRadius: 3,
  };
}

/**
 * Value-axis domain when bars are drawn: bars stand on 0, and like matplotlib the far end gets a 5%
 * margin instead of being rounded up to a "nice" number.
 */
export function barValueDomain(points: ReadonlyArray<[number, number]>): [number, number] {
  const ys = points.map((p) => p[1]);
  const lo = Math.min(0, ...ys);
  const hi = Math.max(0, ...ys);
  const pad = 0.05 * (hi - lo || 1);
  return [lo < 0 ? lo - pad : 0, hi > 0 ? hi + pad : 0];
}

/** Composes x/y layers into one chart with matplotlib-like axes. */
export function axesSpec(layers: AxesLayer[], options: AxesOptions, where: string): VegaLiteSpec {
  if (layers.length === 0) throw new Error(`${where}: nothing to draw (no lines or bars were added).`);
  const names = new Set<string>();
  for (const l of layers) {
    if (names.has(l.series.name)) {
      throw new Error(`${where}: two series are both labelled "${l.series.name}"; give each a distinct label.`);
    }
    names.add(l.series.name);
  }
  const series = layers.map((l) => l.series);
  const points = layers.flatMap((l) => l.points);
  const grid = gridAxes(options.grid);
  const colorScale = { domain: series.map((s) => s.name), range: series.map((s) => s.color) };
  const legend = legendSpec(options.legend, series, points, where);
  const prefix = options.paramPrefix ?? "";
  const xAxis = { title: textLines(options.xTitle) ?? null, ...grid.x, ...tickAxis(options.xTicks, `${prefix}xTick`) };
  const yAxis = { title: textLines(options.yTitle) ?? null, ...grid.y, ...tickAxis(options.yTicks, `${prefix}yTick`) };
  const params = [...tickParams(options.xTicks, `${prefix}xTick`, where), ...tickParams(options.yTicks, `${prefix}yTick`, where)];

  const yDomain = layers.some((l) => l.kind === "bar") ? barValueDomain(points) : undefined;

  const composed = layers.map(({ layer }) => {
    const enc = (layer.encoding ?? {}) as Record<string, Record<string, unknown>>;
    const yScale = yDomain ? { domain: yDomain, nice: false, zero: true } : enc.y?.scale;
    return {
      ...layer,
      encoding: {
        ...enc,
        x: { ...enc.x, axis: { ...(enc.x?.axis as object), ...xAxis } },
        y: { ...enc.y, ...(yScale ? { scale: yScale } : {}), axis: { ...(enc.y?.axis as object), ...yAxis } },
        color: { ...enc.color, scale: colorScale, legend },
      },
    };
  });

  const spec: VegaLiteSpec = {
    $schema: VEGALITE_SCHEMA,
    ...(options.description ? { description: options.description } : {}),
    ...(options.title ? { title: textLines(options.title) } : {}),
    width: options.width ?? DEFAULT_WIDTH,
    height: options.height ?? DEFAULT_HEIGHT,
    autosize: { type: "fit", contains: "padding" },
    config: matplotlibConfig(),
    ...(params.length ? { params } : {}),
    layer: composed,
  };
  return spec;
}

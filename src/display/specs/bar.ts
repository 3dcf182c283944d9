/**
 * Bar charts, matplotlib-style: each series is bars centred at given x positions with a given
 * width, so grouped bars are two series offset by ± width/2 (as the chapter draws attention vs MLP
 * output norms per layer). `groupedBarSpec` does the offsetting for you.
 */
import { read1D } from "../data";
import { MPL_COLOR_CYCLE, resolveColor } from "../theme";
import type { Values1D, VegaLiteSpec } from "../types";
import { axesSpec, type AxesLayer, type AxesOptions } from "./axes";

export interface BarSeries {
  /** Bar centres. */
  x: Values1D;
  /** Bar heights (negative bars go down from 0). */
  heights: Values1D;
  /** Bar width in x units (matplotlib's default 0.8). */
  width?: number;
  label?: string;
  /** CSS colour, "C0".."C9" or a matplotlib letter; default: the next colour of the cycle. */
  color?: string;
  /** Opacity 0–1 (matplotlib's `alpha`), default 1. */
  alpha?: number;
}

export interface BarOptions extends AxesOptions {
  series: BarSeries[];
}

/** The layer for one bar series; `index` is its position among all series (for the colour cycle). */
export function barLayer(s: BarSeries, index: number, where: string): AxesLayer {
  const x = read1D(s.x, `${where} series ${index} x`);
  const h = read1D(s.heights, `${where} series ${index} heights`);
  if (x.length !== h.length) {
    throw new Error(`${where}: series ${index} has ${x.length} x positions but ${h.length} heights; they must match.`);
  }
  const width = s.width ?? 0.8;
  if (!(width > 0)) throw new Error(`${where}: bar width must be positive, got ${width}.`);
  const alpha = s.alpha ?? 1;
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`${where}: alpha must be between 0 and 1, got ${alpha}.`);
  const name = s.label ?? `bars ${index}`;
  const color = s.color ? resolveColor(s.color) : MPL_COLOR_CYCLE[index % MPL_COLOR_CYCLE.length];
  const layer = {
    data: {
      values: x.map((xc, i) => ({ x: xc, x0: xc - width / 2, x1: xc + width / 2, height: h[i], series: name })),
    },
    mark: { type: "rect", opacity: alpha },
    encoding: {
      x: {
        field: "x0",
        type: "quantitative",
        scale: { zero: false, nice: false, padding: 12 },
        axis: x.every(Number.isInteger) ? { tickMinStep: 1 } : {},
      },
      x2: { field: "x1" },
      y: { field: "height", type: "quantitative" },
      y2: { datum: 0 },
      color: { datum: name, type: "nominal" },
      tooltip: [
        ...(s.label ? [{ field: "series", type: "nominal", title: "series" }] : []),
        { field: "x", type: "quantitative" },
        { field: "height", type: "quantitative", format: ".4~g" },
      ],
    },
  };
  return {
    kind: "bar",
    layer,
    series: { name, color, labelled: s.label !== undefined },
    points: x.flatMap((xc, i) => [
      [xc - width / 2, h[i]],
      [xc + width / 2, h[i]],
    ] as Array<[number, number]>),
  };
}

/** Bars of one or more series on shared axes. */
export function barSpec(options: BarOptions): VegaLiteSpec {
  const where = "barSpec";
  if (!options.series?.length) throw new Error(`${where}: options.series is empty; give at least one { x, heights } series.`);
  const layers = options.series.map((s, i) => barLayer(s, i, where));
  return axesSpec(layers, { description: "Bar chart", ...options }, where);
}

export interface GroupedBarOptions extends AxesOptions {
  /** Category positions, e.g. layer indices 0..11 (also the x ticks unless `xTicks` is given). */
  categories: Values1D;
  /** One group member per entry, drawn side by side in this order. */
  groups: Array<{ label: string; values: Values1D; color?: string; alpha?: number }>;
  /** Total width of a group of bars in x units (default 0.7: two bars of 0.35, as in the chapter). */
  groupWidth?: number;
}

/** Side-by-side bars per category, with a legend of the groups (e.g. Attention vs MLP by layer). */
export function groupedBarSpec(options: GroupedBarOptions): VegaLiteSpec {
  const where = "groupedBarSpec";
  const { categories, groups, groupWidth = 0.7, ...axes } = options;
  if (!groups?.length) throw new Error(`${where}: options.groups is empty; give at least one { label, values } group.`);
  const cats = read1D(categories, `${where} categories`);
  const width = groupWidth / groups.length;
  const layers = groups.map((g, i) =>
    barLayer(
      {
        x: cats.map((c) => c + (i - (groups.length - 1) / 2) * width),
        heights: g.values,
        width,
        label: g.label,
        color: g.color,
        alpha: g.alpha,
      },
      i,
      where
    )
  );
  return axesSpec(
    layers,
    { description: "Grouped bar chart", legend: true, xTicks: { positions: cats }, ...axes },
    where
  );
}

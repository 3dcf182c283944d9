/**
 * A plotly-express look-alike for the chapters' `px.bar(df, x=..., y=..., color=..., barmode=...)`
 * cells: rows are a DataFrame's records (`df.to_dict("records")`, or the array the Python built
 * the DataFrame from), the figure is a Vega-Lite spec in plotly's default look (template "plotly":
 * blue-grey plot area, white grid, the qualitative palette #636efa, #EF553B, #00cc96, ...), shown
 * through the same bundle as every chart (spec + SVG + text).
 *
 *   const fig = px.bar(data, { x: "layer", y: "diff", color: "component", barmode: "group",
 *                             title: "...", labels: { diff: "Contribution", layer: "Layer" } });
 *   fig.show();
 *
 * Values are copied when `px.bar` is called (a scalar tensor in a row is read then, not disposed).
 */
import { inspect } from "util";
import { Chart } from "./chart";
import { isTensorLike } from "./data";
import { display as defaultDisplay, type DisplayOptions } from "./display";
import { VEGALITE_SCHEMA } from "./mime";
import { textLines } from "./specs/text";
import type { VegaLiteSpec } from "./types";

/** plotly's default qualitative colour sequence (`px.colors.qualitative.Plotly`). */
export const PLOTLY_COLORS: readonly string[] = [
  "#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A",
  "#19d3f3", "#FF6692", "#B6E880", "#FF97FF", "#FECB52",
];

export interface PxBarOptions {
  /** Column for the bar positions (categories, or numbers drawn as categories in ascending order). */
  x: string;
  /** Column for the bar lengths (numbers). */
  y: string;
  /** Column whose values get one colour each (in order of first appearance), with a legend. */
  color?: string;
  /**
   * With `color`: "relative" (plotly's default: stacked, negatives below zero), "stack" (drawn as
   * "relative" here), or "group" (side by side).
   */
  barmode?: "group" | "relative" | "stack";
  title?: string;
  /** Display names for columns (axis, legend and hover titles), as plotly's `labels`. */
  labels?: Record<string, string>;
  /** Total size in px (plotly's notebook default 700 × 450). */
  width?: number;
  height?: number;
}

/** plotly's "plotly" template in Vega-Lite config terms. */
function plotlyConfig(): Record<string, unknown> {
  const ink = "#2a3f5f";
  return {
    font: "Open Sans, verdana, arial, sans-serif",
    background: "#ffffff",
    view: { fill: "#E5ECF6", stroke: null },
    axis: {
      domain: false,
      ticks: false,
      grid: true,
      gridColor: "#ffffff",
      gridWidth: 1,
      labelColor: ink,
      labelFontSize: 12,
      labelPadding: 6,
      titleColor: ink,
      titleFontSize: 14,
      titleFontWeight: "normal",
    },
    axisBand: { grid: false },
    legend: { labelColor: ink, titleColor: ink, labelFontSize: 12, titleFontSize: 12, titleFontWeight: "normal", symbolType: "square" },
    title: { color: ink, fontSize: 17, fontWeight: "normal", anchor: "start" },
    range: { category: [...PLOTLY_COLORS] },
  };
}

function cell(row: Record<string, unknown>, column: string, i: number, where: string): unknown {
  if (row == null || typeof row !== "object" || !(column in row)) {
    throw new Error(`${where}: row ${i} has no column "${column}"; every row needs ${where === "px.bar" ? "the x, y and color columns" : "it"}.`);
  }
  const v = row[column];
  return isTensorLike(v) ? v.arraySync() : v;
}

/** A plotly-express figure: `show()` displays it; `toSpec()` is the Vega-Lite spec. */
export class PxFigure {
  constructor(
    readonly spec: VegaLiteSpec,
    private readonly displayChart: (chart: Chart, options?: DisplayOptions) => void
  ) {}

  toSpec(): VegaLiteSpec {
    return this.spec;
  }
  toChart(): Chart {
    return new Chart(this.spec);
  }
  /** Displays the figure (one message: spec + SVG + text); synchronous, returns undefined. */
  show(options: DisplayOptions = {}): void {
    this.displayChart(this.toChart(), options);
  }
  [inspect.custom](): string {
    return `PxFigure ${String(this.spec.description)}`;
  }
}

export interface PlotlyExpressOptions {
  /** How `fig.show()` displays a chart (default: the package's `display`). Tests inject a recorder. */
  display?: (chart: Chart, options?: DisplayOptions) => void;
}

export class PlotlyExpress {
  private readonly displayChart: (chart: Chart, options?: DisplayOptions) => void;

  constructor(options: PlotlyExpressOptions = {}) {
    this.displayChart = options.display ?? ((c, o) => defaultDisplay(c, o));
  }

  /** Bars of `y` at each `x`, one colour per `color` value (grouped or stacked by `barmode`). */
  bar(rows: readonly Record<string, unknown>[], options: PxBarOptions): PxFigure {
    const where = "px.bar";
    if (!Array.isArray(rows) || rows.length === 0) {
      throw new Error(`${where}: rows must be a non-empty array of records (a DataFrame's rows), got ${Array.isArray(rows) ? "an empty array" : typeof rows}.`);
    }
    const allowed = ["x", "y", "color", "barmode", "title", "labels", "width", "height"];
    const unknown = Object.keys(options ?? {}).filter((k) => !allowed.includes(k));
    if (unknown.length) throw new Error(`${where}: unsupported option${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => `"${k}"`).join(", ")}. Supported: ${allowed.join(", ")}.`);
    if (typeof options.x !== "string" || typeof options.y !== "string") {
      throw new Error(`${where}: give the x and y column names, e.g. { x: "layer", y: "diff" }.`);
    }
    const barmode = options.barmode ?? "relative";
    if (!["group", "relative", "stack"].includes(barmode)) {
      throw new Error(`${where}: barmode must be "group", "relative" or "stack", got "${String(barmode)}".`);
    }
    const { x, y, color } = options;
    const labels = options.labels ?? {};
    const name = (column: string) => labels[column] ?? column;
    const values = rows.map((row, i) => {
      const xv = cell(row, x, i, where);
      const yv = cell(row, y, i, where);
      if (typeof yv !== "number" || !Number.isFinite(yv)) {
        throw new Error(`${where}: row ${i} column "${y}" must be a finite number, but is ${String(yv)}.`);
      }
      if (typeof xv !== "number" && typeof xv !== "string") {
        throw new Error(`${where}: row ${i} column "${x}" must be a number or string, but is ${typeof xv}.`);
      }
      const d: Record<string, unknown> = { x: xv, y: yv };
      if (color !== undefined) d.color = String(cell(row, color, i, where));
      return d;
    });
    const numericX = values.every((d) => typeof d.x === "number");
    // plotly keeps categories and colours in order of first appearance; numbers go in ascending order.
    const xOrder = numericX ? [...new Set(values.map((d) => d.x as number))].sort((a, b) => a - b) : [...new Set(values.map((d) => d.x))];
    const colorOrder = color === undefined ? [] : [...new Set(values.map((d) => d.color as string))];
    const colorRange = colorOrder.map((_, i) => PLOTLY_COLORS[i % PLOTLY_COLORS.length]);
    const grouped = color !== undefined && barmode === "group";

    const encoding: Record<string, unknown> = {
      x: {
        field: "x",
        type: numericX ? "ordinal" : "nominal",
        sort: xOrder,
        scale: { paddingInner: 0.2, paddingOuter: 0.1 },
        axis: { title: textLines(name(x)), labelAngle: 0 },
      },
      y: { field: "y", type: "quantitative", axis: { title: textLines(name(y)), tickCount: 6 }, ...(grouped || color === undefined ? {} : { stack: "zero" }) },
      tooltip: [
        ...(color !== undefined ? [{ field: "color", type: "nominal", title: name(color) }] : []),
        { field: "x", type: numericX ? "ordinal" : "nominal", title: name(x) },
        { field: "y", type: "quantitative", title: name(y), format: ".4~g" },
      ],
    };
    if (color !== undefined) {
      encoding.color = {
        field: "color",
        type: "nominal",
        sort: colorOrder,
        scale: { domain: colorOrder, range: colorRange },
        legend: { title: textLines(name(color)), orient: "right" },
      };
      if (grouped) encoding.xOffset = { field: "color", type: "nominal", sort: colorOrder, scale: { paddingInner: 0 } };
    } else {
      encoding.color = { value: PLOTLY_COLORS[0] };
    }
    const spec: VegaLiteSpec = {
      $schema: VEGALITE_SCHEMA,
      description: `px.bar (${rows.length} rows${color !== undefined ? `, ${colorOrder.length} ${name(color)} ${barmode}` : ""})`,
      ...(options.title ? { title: textLines(options.title) } : {}),
      width: options.width ?? 700,
      height: options.height ?? 450,
      autosize: { type: "fit", contains: "padding" },
      config: plotlyConfig(),
      data: { values },
      mark: { type: "bar" },
      encoding,
    };
    return new PxFigure(spec, this.displayChart);
  }
}

export function createPlotlyExpress(options: PlotlyExpressOptions = {}): PlotlyExpress {
  return new PlotlyExpress(options);
}

/** The shared instance notebooks use: `import { px } from "mechinterp-ts"`. */
export const px: PlotlyExpress = createPlotlyExpress();

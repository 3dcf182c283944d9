/**
 * One matplotlib Axes: what `ax.imshow`, `ax.plot`, `ax.bar`, `ax.set_title`, ... (and the `plt.*`
 * calls on the current axes) record, turned into one Vega-Lite view by `toSpec`. A Figure holds a
 * grid of these (see pyplot.ts, `plt.subplots`). Values are copied when a call is made, so a
 * tensor may be disposed right after `plot`/`imshow`/`bar`; tensors are read, never disposed.
 */
import { read1D, read2D, isTensorLike } from "./data";
import { type GridOptions, type LegendOptions, type Ticks, axesSpec } from "./specs/axes";
import { barLayer, type BarSeries } from "./specs/bar";
import { heatmapSpec } from "./specs/heatmap";
import { LINE_STYLES, MARKERS, lineLayer, markerProps, type LineSeries } from "./specs/line";
import { MPL_COLOR_CYCLE, MPL_COLOR_LETTERS, colormapScale, resolveColor } from "./theme";
import type { Values1D, Values2D, VegaLiteSpec } from "./types";

export interface ImshowOptions {
  /** matplotlib colormap name (default "viridis"). */
  cmap?: string;
  vmin?: number;
  vmax?: number;
  /** "equal" (default, square cells) or "auto" (cells fill the axes' box), as matplotlib. */
  aspect?: "equal" | "auto";
}
export interface PlotOptions {
  label?: string;
  color?: string;
  linewidth?: number;
  marker?: string;
  linestyle?: string;
  /** Marker width in points (= px at 72 dpi), default 6. */
  markersize?: number;
  /** "full" (default) or "none" (outline only). */
  fillstyle?: "full" | "none";
  /** Marker outline width in points, default 1. */
  markeredgewidth?: number;
}
export interface BarOptions {
  label?: string;
  alpha?: number;
  color?: string;
}
export interface TickOptions {
  /** Degrees counter-clockwise. */
  rotation?: number;
  /** Horizontal alignment of each label at its tick. */
  ha?: "left" | "center" | "right";
}
export interface GridCallOptions {
  alpha?: number;
  axis?: "both" | "x" | "y";
}

/** Throws if `options` has keys outside `allowed`: silently ignoring a matplotlib argument would mislead. */
export function checkOptions(options: object | undefined, allowed: readonly string[], where: string): void {
  if (options == null) return;
  if (typeof options !== "object" || Array.isArray(options) || isTensorLike(options)) {
    throw new Error(`${where}: expected an options object, got ${Array.isArray(options) ? "an array" : typeof options}.`);
  }
  const unknown = Object.keys(options).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) {
    throw new Error(
      `${where}: unsupported option${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => `"${k}"`).join(", ")}. ` +
        `Supported: ${allowed.join(", ") || "none"}.`
    );
  }
}

/** A parsed matplotlib format string such as "o-", "r--", "s". */
export interface ParsedFormat {
  marker: string | null;
  lineStyle: string | null;
  color?: string;
}

/** Parses a matplotlib format string `[marker][line][color]` (any order). */
export function parseFormat(fmt: string, where = "plt.plot"): ParsedFormat {
  let marker: string | null = null;
  let lineStyle: string | null = null;
  let color: string | undefined;
  let rest = fmt;
  while (rest.length > 0) {
    const two = rest.slice(0, 2);
    if (two === "--" || two === "-.") {
      lineStyle = two;
      rest = rest.slice(2);
      continue;
    }
    const c = rest[0];
    if (c in LINE_STYLES) lineStyle = c;
    else if (c in MARKERS) marker = c;
    else if (c in MPL_COLOR_LETTERS) color = c;
    else {
      throw new Error(
        `${where}: cannot read "${c}" in format string "${fmt}". Markers: ${Object.keys(MARKERS).join(" ")}; ` +
          `lines: ${Object.keys(LINE_STYLES).join(" ")}; colours: ${Object.keys(MPL_COLOR_LETTERS).join("")}.`
      );
    }
    rest = rest.slice(1);
  }
  // matplotlib: a format with a marker but no line style draws markers only.
  if (lineStyle === null && marker === null) lineStyle = "-";
  return { marker, lineStyle, color };
}

/** Plot coordinates: a number (one point, as `plt.plot(k, q, "ro")`), a rank-0 tensor, or 1-D values. */
function readCoords(v: unknown, name: string): number[] {
  if (typeof v === "number") return read1D([v], name);
  if (isTensorLike(v) && v.shape.length === 0) return read1D([v.arraySync() as number], name);
  return read1D(v as Values1D, name);
}

const isCoords = (v: unknown) => typeof v === "number" || Array.isArray(v) || ArrayBuffer.isView(v) || isTensorLike(v);

type Artist = { kind: "line"; series: LineSeries & { x: number[]; y: number[] } } | { kind: "bar"; series: BarSeries };

interface ImageState {
  values: number[][];
  cmap: string;
  vmin?: number;
  vmax?: number;
  aspect: "equal" | "auto";
}

/** What `imshow` returns: pass it to `plt.colorbar(im, { ax })` as matplotlib does. */
export class AxesImage {
  constructor(readonly axes: Axes) {}
}

/** One set of axes: title, labels, ticks, an image and/or lines and bars. */
export class Axes {
  title?: string;
  xlabel?: string;
  ylabel?: string;
  xticks?: Ticks;
  yticks?: Ticks;
  grid?: GridOptions;
  legend?: LegendOptions;
  image?: ImageState;
  colorbar?: { label?: string };
  readonly artists: Artist[] = [];
  private lineCount = 0;
  private barCount = 0;

  /** `where` names the axes in errors ("plt" for the current axes, "axes[1]" for subplots). */
  constructor(readonly where = "plt") {}

  get isEmpty(): boolean {
    return !this.image && this.artists.length === 0;
  }

  /** Draws a matrix, row 0 at the top. `values`: `[rows, cols]`, copied now, not disposed. */
  imshow(values: Values2D, options: ImshowOptions = {}): AxesImage {
    const where = `${this.where}.imshow`;
    checkOptions(options, ["cmap", "vmin", "vmax", "aspect"], where);
    if (options.aspect !== undefined && options.aspect !== "equal" && options.aspect !== "auto") {
      throw new Error(`${where}: aspect must be "equal" or "auto", got "${String(options.aspect)}".`);
    }
    const cmap = options.cmap ?? "viridis";
    colormapScale(cmap, where); // fail now, at the call that named it
    this.image = { values: read2D(values, `${where} values`, { allowNaN: true }), cmap, vmin: options.vmin, vmax: options.vmax, aspect: options.aspect ?? "equal" };
    return new AxesImage(this);
  }

  /**
   * `plot(y, fmt?, options?)` or `plot(x, y, fmt?, options?)`: a line and/or markers per call; x
   * and y may be single numbers (one marker). Over an image, coordinates are cell indices.
   */
  plot(y: Values1D | number, fmt?: string | PlotOptions, options?: PlotOptions): void;
  plot(x: Values1D | number, y: Values1D | number, fmt?: string | PlotOptions, options?: PlotOptions): void;
  plot(...args: unknown[]): void {
    const where = `${this.where}.plot`;
    let xv: unknown;
    let yv: unknown;
    let rest: unknown[];
    if (args.length >= 2 && isCoords(args[0]) && isCoords(args[1])) {
      [xv, yv] = args;
      rest = args.slice(2);
    } else if (args.length >= 1 && isCoords(args[0])) {
      yv = args[0];
      rest = args.slice(1);
    } else {
      throw new Error(`${where}: expected plot(y, fmt?, options?) or plot(x, y, fmt?, options?) with numbers, arrays or tensors.`);
    }
    let fmt: string | undefined;
    if (typeof rest[0] === "string") fmt = rest.shift() as string;
    const options = (rest.shift() ?? {}) as PlotOptions;
    if (rest.length > 0) throw new Error(`${where}: too many arguments (${args.length}).`);
    checkOptions(options, ["label", "color", "linewidth", "marker", "linestyle", "markersize", "fillstyle", "markeredgewidth"], where);
    const parsed = fmt !== undefined ? parseFormat(fmt, where) : { marker: null, lineStyle: "-" as string | null, color: undefined };
    // Copy now: the caller may dispose a tensor before show().
    const y = readCoords(yv, `${where} y`);
    const x = xv === undefined ? y.map((_, i) => i) : readCoords(xv, `${where} x`);
    const index = this.lineCount++;
    const series = {
      x,
      y,
      label: options.label,
      color: options.color ?? parsed.color ?? MPL_COLOR_CYCLE[index % MPL_COLOR_CYCLE.length],
      marker: options.marker ?? parsed.marker,
      lineStyle: options.linestyle ?? parsed.lineStyle,
      lineWidth: options.linewidth,
      markerSize: options.markersize,
      fillStyle: options.fillstyle,
      markerEdgeWidth: options.markeredgewidth,
    };
    // Validate now so the error points at this call, not at show().
    lineLayer(series, this.artists.length, where);
    if (this.image) cellLayer(series, this.artists.length, this.image.values.length, this.image.values[0].length, where);
    this.artists.push({ kind: "line", series });
  }

  /** Bars centred at `x` with the given heights and width (default 0.8), as matplotlib's `bar`. */
  bar(x: Values1D, heights: Values1D, width: number | BarOptions = 0.8, options: BarOptions = {}): void {
    const where = `${this.where}.bar`;
    if (typeof width === "object") {
      options = width;
      width = 0.8;
    }
    checkOptions(options, ["label", "alpha", "color"], where);
    const index = this.barCount++;
    const series: BarSeries = {
      x: read1D(x, `${where} x`),
      heights: read1D(heights, `${where} heights`),
      width,
      label: options.label,
      alpha: options.alpha,
      color: options.color ?? MPL_COLOR_CYCLE[index % MPL_COLOR_CYCLE.length],
    };
    barLayer(series, this.artists.length, where);
    this.artists.push({ kind: "bar", series });
  }

  set_xticks(positions: Values1D, labels?: readonly string[] | TickOptions, options: TickOptions = {}): void {
    this.xticks = readTicks(`${this.where}.set_xticks`, positions, labels, options);
  }
  set_yticks(positions: Values1D, labels?: readonly string[] | TickOptions, options: TickOptions = {}): void {
    this.yticks = readTicks(`${this.where}.set_yticks`, positions, labels, options);
  }
  /** Text; "\n" starts a new line. */
  set_xlabel(text: string): void {
    this.xlabel = String(text);
  }
  set_ylabel(text: string): void {
    this.ylabel = String(text);
  }
  set_title(text: string): void {
    this.title = String(text);
  }

  /** A legend of the series given a `label` (loc: "best" by default, or e.g. "upper left"). */
  setLegend(options: LegendOptions, where: string): void {
    checkOptions(options, ["loc"], where);
    if (!this.artists.some((a) => a.series.label !== undefined)) {
      throw new Error(`${where}: no series has a label; pass { label: ... } to plot or bar first.`);
    }
    this.legend = { ...options };
  }

  /**
   * The Vega-Lite view for these axes, `width` × `height` px in all (labels included).
   * `paramPrefix` keeps tick-label params of several axes apart in one figure.
   */
  toSpec(width: number, height: number, paramPrefix = "", description?: string): VegaLiteSpec {
    const where = `${this.where === "plt" ? "plt" : this.where}.show`;
    if (this.image) return this.imageSpec(width, height, paramPrefix, description, where);
    if (this.artists.length === 0) throw new Error(`${where}: the axes are empty; call plot, bar or imshow first.`);
    const layers = this.artists.map((a, i) => (a.kind === "line" ? lineLayer(a.series, i, where) : barLayer(a.series, i, where)));
    const kinds = [...new Set(this.artists.map((a) => (a.kind === "line" ? "plot" : "bar")))].join(" + ");
    return axesSpec(
      layers,
      {
        title: this.title,
        xTitle: this.xlabel,
        yTitle: this.ylabel,
        xTicks: this.xticks,
        yTicks: this.yticks,
        grid: this.grid ?? false,
        legend: this.legend ?? false,
        width,
        height,
        paramPrefix,
        description: description ?? `Figure (${kinds}, ${this.artists.length} series)`,
      },
      where
    );
  }

  private imageSpec(width: number, height: number, paramPrefix: string, description: string | undefined, where: string): VegaLiteSpec {
    const image = this.image as ImageState;
    const rows = image.values.length;
    const cols = image.values[0].length;
    const overlays = this.artists.map((a, i) => {
      if (a.kind !== "line") {
        throw new Error(`${where}: bars on top of imshow are not supported; draw them in another figure or subplot.`);
      }
      return cellLayer(a.series, i, rows, cols, where);
    });
    if (this.legend) throw new Error(`${where}: a legend over imshow is not supported; use a title or axis label instead.`);
    return heatmapSpec({
      values: image.values,
      colormap: image.cmap,
      vmin: image.vmin,
      vmax: image.vmax,
      aspect: image.aspect,
      title: this.title,
      xTitle: this.xlabel,
      yTitle: this.ylabel,
      xTicks: this.xticks,
      yTicks: this.yticks,
      colorbar: this.colorbar ? { title: this.colorbar.label } : false,
      overlays,
      paramPrefix,
      width,
      height,
      description: description ?? `Figure (imshow ${rows}×${cols}${overlays.length ? ` + ${overlays.length} plot` : ""})`,
    });
  }
}

/** Reads `xticks(positions, labels?, options?)` (labels may be left out: `xticks(positions, options)`). */
export function readTicks(where: string, positions: Values1D, labels: readonly string[] | TickOptions | undefined, options: TickOptions): Ticks {
  if (labels !== undefined && !Array.isArray(labels)) {
    options = labels as TickOptions;
    labels = undefined;
  }
  checkOptions(options, ["rotation", "ha"], where);
  if (options.ha !== undefined && !["left", "center", "right"].includes(options.ha)) {
    throw new Error(`${where}: ha must be "left", "center" or "right", got "${options.ha}".`);
  }
  const pos = read1D(positions, `${where} positions`);
  const lab = labels as readonly string[] | undefined;
  if (lab && lab.length !== pos.length) {
    throw new Error(`${where}: ${pos.length} positions but ${lab.length} labels; give one label per position.`);
  }
  return { positions: pos, labels: lab ? lab.map(String) : undefined, rotation: options.rotation, ha: options.ha };
}

/**
 * A plot drawn over an image: matplotlib's imshow puts data coordinate (c, r) at the centre of the
 * cell in column c, row r, so points must be cell indices here (the heatmap's axes are bands).
 */
function cellLayer(s: LineSeries & { x: number[]; y: number[] }, index: number, rows: number, cols: number, where: string): Record<string, unknown> {
  s.x.forEach((x, i) => {
    const y = s.y[i];
    if (!Number.isInteger(x) || !Number.isInteger(y) || x < 0 || x >= cols || y < 0 || y >= rows) {
      throw new Error(
        `${where}: over imshow, plot draws at cell centres, so x must be a column 0..${cols - 1} and y a row 0..${rows - 1}; ` +
          `point ${i} is (${x}, ${y}).`
      );
    }
  });
  if (s.x.length !== s.y.length) throw new Error(`${where}: series ${index} has ${s.x.length} x values but ${s.y.length} y values; they must match.`);
  const color = resolveColor(s.color ?? MPL_COLOR_CYCLE[index % MPL_COLOR_CYCLE.length]);
  const lineStyle = s.lineStyle === undefined ? "-" : s.lineStyle;
  const point = s.marker ? markerProps(s, where) : undefined;
  const mark: Record<string, unknown> =
    lineStyle === null
      ? { type: "point", ...point, color }
      : {
          type: "line",
          color,
          strokeWidth: s.lineWidth ?? 1.5,
          ...(LINE_STYLES[lineStyle].length ? { strokeDash: LINE_STYLES[lineStyle] } : {}),
          ...(point ? { point: { ...point, color } } : {}),
        };
  return {
    data: { values: s.x.map((x, i) => ({ col: x, row: s.y[i], order: i })) },
    mark,
    encoding: {
      x: { field: "col", type: "ordinal" },
      y: { field: "row", type: "ordinal" },
      ...(lineStyle === null ? {} : { order: { field: "order", type: "quantitative" } }),
    },
  };
}

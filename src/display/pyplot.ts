/**
 * A small matplotlib.pyplot look-alike, so notebook cells read like the original chapter:
 *
 *   plt.figure({ figsize: [8, 6] });
 *   plt.imshow(attn, { cmap: "Blues" });
 *   plt.xticks(range(tokens.length), tokens, { rotation: 45, ha: "right" });
 *   plt.colorbar({ label: "Attention weight" });
 *   plt.show();
 *
 * Each call records into the current figure (created on first use, as in matplotlib); `show()`
 * turns it into one Vega-Lite spec (via the builders in ./specs), displays it and closes it.
 * Only what the chapter needs is supported: imshow + colorbar, plot with format strings, bar,
 * ticks, labels, title, legend, grid. Anything else throws an error saying what is supported;
 * options that matplotlib accepts but that change nothing here are listed and ignored explicitly
 * (`tightLayout`: vega always lays out labels itself).
 */
import * as fs from "fs";
import * as path from "path";
import { inspect } from "util";
import { Chart } from "./chart";
import { read1D, read2D, isTensorLike } from "./data";
import { display as defaultDisplay, type DisplayOptions } from "./display";
import { toHtmlPage } from "./html";
import { type GridOptions, type LegendOptions, type Ticks, axesSpec } from "./specs/axes";
import { barLayer, type BarSeries } from "./specs/bar";
import { heatmapSpec } from "./specs/heatmap";
import { LINE_STYLES, MARKERS, lineLayer, type LineSeries } from "./specs/line";
import { DEFAULT_DPI, MPL_COLOR_CYCLE, MPL_COLOR_LETTERS, colormapScale } from "./theme";
import type { Values1D, Values2D, VegaLiteSpec } from "./types";

export interface FigureOptions {
  /** [width, height] in inches, as matplotlib (default [6.4, 4.8]). */
  figsize?: [number, number];
  /** Pixels per inch (default 72: one point per pixel, see theme DEFAULT_DPI). */
  dpi?: number;
}
export interface ImshowOptions {
  /** matplotlib colormap name (default "viridis"). */
  cmap?: string;
  vmin?: number;
  vmax?: number;
  /** Only "equal" (square cells), matplotlib's default for imshow. */
  aspect?: "equal";
}
export interface PlotOptions {
  label?: string;
  color?: string;
  linewidth?: number;
  marker?: string;
  linestyle?: string;
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
export interface ColorbarOptions {
  label?: string;
}

/** Throws if `options` has keys outside `allowed`: silently ignoring a matplotlib argument would mislead. */
function checkOptions(options: object | undefined, allowed: readonly string[], where: string): void {
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

type Artist = { kind: "line"; series: LineSeries } | { kind: "bar"; series: BarSeries };

interface ImageState {
  values: number[][];
  cmap: string;
  vmin?: number;
  vmax?: number;
}

/** One figure with one set of axes: what the pyplot calls have recorded so far. */
export class Figure {
  readonly figsize: [number, number];
  readonly dpi: number;
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

  constructor(options: FigureOptions = {}) {
    checkOptions(options, ["figsize", "dpi"], "plt.figure");
    const figsize = options.figsize ?? [6.4, 4.8];
    if (!Array.isArray(figsize) || figsize.length !== 2 || !figsize.every((v) => typeof v === "number" && v > 0)) {
      throw new Error(`plt.figure: figsize must be [width, height] in inches, got ${JSON.stringify(figsize)}.`);
    }
    this.figsize = [figsize[0], figsize[1]];
    this.dpi = options.dpi ?? DEFAULT_DPI;
  }

  /** Total size in pixels. */
  get pixelSize(): { width: number; height: number } {
    return { width: Math.round(this.figsize[0] * this.dpi), height: Math.round(this.figsize[1] * this.dpi) };
  }

  get isEmpty(): boolean {
    return !this.image && this.artists.length === 0;
  }

  /** The Vega-Lite spec for everything recorded. */
  toSpec(): VegaLiteSpec {
    const { width, height } = this.pixelSize;
    if (this.image) {
      if (this.artists.length > 0) {
        throw new Error("plt.show: drawing lines or bars on top of imshow is not supported; use separate figures.");
      }
      return heatmapSpec({
        values: this.image.values,
        colormap: this.image.cmap,
        vmin: this.image.vmin,
        vmax: this.image.vmax,
        title: this.title,
        xTitle: this.xlabel,
        yTitle: this.ylabel,
        xTicks: this.xticks,
        yTicks: this.yticks,
        colorbar: this.colorbar ? { title: this.colorbar.label } : false,
        width,
        height,
        description: `Figure (imshow ${this.image.values.length}×${this.image.values[0].length})`,
      });
    }
    if (this.artists.length === 0) throw new Error("plt.show: the figure is empty; call plt.plot, plt.bar or plt.imshow first.");
    const layers = this.artists.map((a, i) =>
      a.kind === "line" ? lineLayer(a.series, i, "plt.plot") : barLayer(a.series, i, "plt.bar")
    );
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
        description: `Figure (${kinds}, ${this.artists.length} series)`,
      },
      "plt.show"
    );
  }

  toChart(): Chart {
    return new Chart(this.toSpec());
  }

  /** What a cell ending in `plt.figure(...)` prints, as matplotlib's repr. */
  [inspect.custom](): string {
    const { width, height } = this.pixelSize;
    return `<Figure size ${width}x${height} with ${this.isEmpty ? 0 : 1} Axes>`;
  }
}

export interface PyplotOptions {
  /** How `show()` displays a chart (default: the package's `display`). Tests inject a recorder. */
  display?: (chart: Chart, options?: DisplayOptions) => void;
}

/** The pyplot surface. `plt` is one instance; `createPyplot` makes independent ones. */
export class Pyplot {
  private current?: Figure;
  private lineCount = 0;
  private barCount = 0;
  private readonly displayChart: (chart: Chart, options?: DisplayOptions) => void;

  constructor(options: PyplotOptions = {}) {
    this.displayChart = options.display ?? ((c, o) => defaultDisplay(c, o));
  }

  /** Starts a new figure (matplotlib's `plt.figure(figsize=..., dpi=...)`). */
  figure(options: FigureOptions = {}): Figure {
    this.current = new Figure(options);
    this.lineCount = 0;
    this.barCount = 0;
    return this.current;
  }

  /** The current figure, created with default size if there is none (matplotlib's `gcf`). */
  gcf(): Figure {
    return this.current ?? this.figure();
  }

  /** Draws a matrix as square cells, row 0 at the top. `values`: `[rows, cols]`, read, not disposed. */
  imshow(values: Values2D, options: ImshowOptions = {}): void {
    checkOptions(options, ["cmap", "vmin", "vmax", "aspect"], "plt.imshow");
    if (options.aspect !== undefined && options.aspect !== "equal") {
      throw new Error(`plt.imshow: only aspect "equal" is supported, got "${options.aspect}".`);
    }
    const cmap = options.cmap ?? "viridis";
    colormapScale(cmap, "plt.imshow"); // fail now, at the call that named it
    this.gcf().image = { values: read2D(values, "plt.imshow values"), cmap, vmin: options.vmin, vmax: options.vmax };
  }

  /**
   * `plot(y, fmt?, options?)` or `plot(x, y, fmt?, options?)`: a line (and/or markers) per call.
   * fmt is a matplotlib format string such as "o-" (see `parseFormat`).
   */
  plot(y: Values1D, fmt?: string | PlotOptions, options?: PlotOptions): void;
  plot(x: Values1D, y: Values1D, fmt?: string | PlotOptions, options?: PlotOptions): void;
  plot(...args: unknown[]): void {
    const isValues = (v: unknown) => Array.isArray(v) || ArrayBuffer.isView(v) || isTensorLike(v);
    let x: Values1D | undefined;
    let y: Values1D;
    let rest: unknown[];
    if (args.length >= 2 && isValues(args[0]) && isValues(args[1])) {
      [x, y] = args as [Values1D, Values1D];
      rest = args.slice(2);
    } else if (args.length >= 1 && isValues(args[0])) {
      y = args[0] as Values1D;
      rest = args.slice(1);
    } else {
      throw new Error("plt.plot: expected plot(y, fmt?, options?) or plot(x, y, fmt?, options?) with arrays or tensors.");
    }
    let fmt: string | undefined;
    if (typeof rest[0] === "string") fmt = rest.shift() as string;
    const options = (rest.shift() ?? {}) as PlotOptions;
    if (rest.length > 0) throw new Error(`plt.plot: too many arguments (${args.length}).`);
    checkOptions(options, ["label", "color", "linewidth", "marker", "linestyle"], "plt.plot");
    const parsed = fmt !== undefined ? parseFormat(fmt) : { marker: null, lineStyle: "-" as string | null };
    const fig = this.gcf(); // before counting: a new figure restarts the colour cycle
    const index = this.lineCount++;
    const series: LineSeries = {
      x,
      y,
      label: options.label,
      color: options.color ?? ("color" in parsed ? parsed.color : undefined) ?? MPL_COLOR_CYCLE[index % MPL_COLOR_CYCLE.length],
      marker: options.marker ?? parsed.marker,
      lineStyle: options.linestyle ?? parsed.lineStyle,
      lineWidth: options.linewidth,
    };
    // Validate now so the error points at this call, not at show().
    lineLayer(series, fig.artists.length, "plt.plot");
    fig.artists.push({ kind: "line", series });
  }

  /** Bars centred at `x` with the given heights and width (default 0.8), as matplotlib's `bar`. */
  bar(x: Values1D, heights: Values1D, width: number | BarOptions = 0.8, options: BarOptions = {}): void {
    if (typeof width === "object") {
      options = width;
      width = 0.8;
    }
    checkOptions(options, ["label", "alpha", "color"], "plt.bar");
    const fig = this.gcf(); // before counting: a new figure restarts the colour cycle
    const index = this.barCount++;
    const series: BarSeries = {
      x,
      heights,
      width,
      label: options.label,
      alpha: options.alpha,
      color: options.color ?? MPL_COLOR_CYCLE[index % MPL_COLOR_CYCLE.length],
    };
    barLayer(series, fig.artists.length, "plt.bar");
    fig.artists.push({ kind: "bar", series });
  }

  /** Tick positions, optional labels (e.g. tokens), rotation and alignment for the x axis. */
  xticks(positions: Values1D, labels?: readonly string[] | TickOptions, options: TickOptions = {}): void {
    this.gcf().xticks = this.ticks("plt.xticks", positions, labels, options);
  }

  yticks(positions: Values1D, labels?: readonly string[] | TickOptions, options: TickOptions = {}): void {
    this.gcf().yticks = this.ticks("plt.yticks", positions, labels, options);
  }

  private ticks(where: string, positions: Values1D, labels: readonly string[] | TickOptions | undefined, options: TickOptions): Ticks {
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

  xlabel(text: string): void {
    this.gcf().xlabel = text;
  }
  ylabel(text: string): void {
    this.gcf().ylabel = text;
  }
  title(text: string): void {
    this.gcf().title = text;
  }

  /** A colour bar for the image drawn by `imshow` (call imshow first). */
  colorbar(options: ColorbarOptions = {}): void {
    checkOptions(options, ["label"], "plt.colorbar");
    if (!this.gcf().image) {
      throw new Error("plt.colorbar: no image to make a colour bar for; call plt.imshow first.");
    }
    this.gcf().colorbar = { label: options.label };
  }

  /** A legend of the series given a `label` (loc: "best" by default, or e.g. "upper left"). */
  legend(options: LegendOptions = {}): void {
    checkOptions(options, ["loc"], "plt.legend");
    const fig = this.gcf();
    const labelled = fig.artists.some((a) => a.series.label !== undefined);
    if (!labelled) {
      throw new Error("plt.legend: no series has a label; pass { label: ... } to plt.plot or plt.bar first.");
    }
    fig.legend = { ...options };
  }

  /** Grid lines: `grid(true, { alpha: 0.3, axis: "y" })`; `grid(false)` removes them. */
  grid(visible = true, options: GridCallOptions = {}): void {
    checkOptions(options, ["alpha", "axis"], "plt.grid");
    if (options.axis !== undefined && !["both", "x", "y"].includes(options.axis)) {
      throw new Error(`plt.grid: axis must be "both", "x" or "y", got "${options.axis}".`);
    }
    this.gcf().grid = visible ? { alpha: options.alpha, axis: options.axis } : undefined;
  }

  /** Accepted for fidelity with matplotlib; does nothing: vega always makes room for labels. */
  tightLayout(): void {}

  /** matplotlib's spelling of `tightLayout` (also a no-op), so cells can keep `plt.tight_layout()`. */
  tight_layout(): void {}

  /**
   * Displays the current figure (one message: Vega-Lite spec + SVG + text) and closes it.
   * Synchronous, so a cell's last line `plt.show()` needs no `await` (see display.ts).
   */
  show(options: DisplayOptions = {}): void {
    const fig = this.current;
    this.close();
    if (!fig || fig.isEmpty) return; // as matplotlib: nothing to show
    this.displayChart(fig.toChart(), options);
  }

  /** Writes the current figure to `file`: ".svg" (static) or ".html" (live, self-contained). */
  savefig(file: string): void {
    const ext = path.extname(file).toLowerCase();
    const chart = this.gcf().toChart();
    if (ext === ".svg") fs.writeFileSync(file, chart.toSVG());
    else if (ext === ".html") fs.writeFileSync(file, toHtmlPage([chart.spec], { title: this.gcf().title }));
    else throw new Error(`plt.savefig: "${file}" must end in .svg or .html (PNG needs a browser; open the HTML and export).`);
  }

  /** Discards the current figure. */
  close(): void {
    this.current = undefined;
    this.lineCount = 0;
    this.barCount = 0;
  }
}

export function createPyplot(options: PyplotOptions = {}): Pyplot {
  return new Pyplot(options);
}

/** The shared pyplot instance notebooks use: `import { plt } from "mechinterp-ts"`. */
export const plt: Pyplot = createPyplot();

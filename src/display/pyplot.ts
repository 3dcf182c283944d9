/**
 * A small matplotlib.pyplot look-alike, so notebook cells read like the original chapter:
 *
 *   plt.figure({ figsize: [8, 6] });
 *   plt.imshow(attn, { cmap: "Blues" });
 *   plt.xticks(range(tokens.length), tokens, { rotation: 45, ha: "right" });
 *   plt.colorbar({ label: "Attention weight" });
 *   plt.show();
 *
 *   const [fig, axes] = plt.subplots(1, 2, { figsize: [14, 5] });
 *   const im = axes[0].imshow(scores, { cmap: "Blues", aspect: "auto" });
 *   plt.colorbar(im, { ax: axes[0] });
 *
 * Each call records into the current figure's current axes (created on first use, as in
 * matplotlib; per-axes state lives in pyplotAxes.ts); `show()` turns the figure into one Vega-Lite
 * spec — one view, or a grid of views (hconcat/vconcat) for subplots, each with its own colour
 * scale — displays it and closes it. Only what the chapters need is supported; anything else
 * throws an error saying what is supported; `tightLayout` is accepted and does nothing (vega lays
 * out labels itself).
 */
import * as fs from "fs";
import * as path from "path";
import { inspect } from "util";
import { Chart } from "./chart";
import { display as defaultDisplay, type DisplayOptions } from "./display";
import { toHtmlPage } from "./html";
import { VEGALITE_SCHEMA } from "./mime";
import { Axes, AxesImage, checkOptions, readTicks } from "./pyplotAxes";
import type { LegendOptions } from "./specs/axes";
import { DEFAULT_DPI, matplotlibConfig } from "./theme";
import type { Values1D, Values2D, VegaLiteSpec } from "./types";
import type { BarOptions, GridCallOptions, ImshowOptions, PlotOptions, TickOptions } from "./pyplotAxes";

export { Axes, AxesImage, parseFormat, type ParsedFormat } from "./pyplotAxes";
export type { BarOptions, GridCallOptions, ImshowOptions, PlotOptions, TickOptions } from "./pyplotAxes";

export interface FigureOptions {
  /** [width, height] in inches, as matplotlib (default [6.4, 4.8]). */
  figsize?: [number, number];
  /** Pixels per inch (default 72: one point per pixel, see theme DEFAULT_DPI). */
  dpi?: number;
}
export interface ColorbarOptions {
  label?: string;
  /** The axes the colour bar sits beside (must be the image's own axes here). */
  ax?: Axes;
}

/** What `plt.subplots(rows, cols)` returns as axes: one Axes, a row/column of them, or a grid. */
export type SubplotsAxes = Axes | Axes[] | Axes[][];

function checkFigsize(figsize: unknown, where: string): [number, number] {
  const f = figsize ?? [6.4, 4.8];
  if (!Array.isArray(f) || f.length !== 2 || !f.every((v) => typeof v === "number" && v > 0)) {
    throw new Error(`${where}: figsize must be [width, height] in inches, got ${JSON.stringify(figsize)}.`);
  }
  return [f[0], f[1]];
}

/** One figure: a grid of axes (one for `plt.figure`, rows × cols for `plt.subplots`). */
export class Figure {
  readonly figsize: [number, number];
  readonly dpi: number;
  /** `[rows][cols]`; empty until the first drawing call for `plt.figure()`. */
  readonly grid: Axes[][] = [];
  current?: Axes;

  constructor(options: FigureOptions = {}, where = "plt.figure") {
    checkOptions(options, ["figsize", "dpi"], where);
    this.figsize = checkFigsize(options.figsize, where);
    this.dpi = options.dpi ?? DEFAULT_DPI;
  }

  /** Total size in pixels. */
  get pixelSize(): { width: number; height: number } {
    return { width: Math.round(this.figsize[0] * this.dpi), height: Math.round(this.figsize[1] * this.dpi) };
  }

  /** Every axes, row by row. */
  get axes(): Axes[] {
    return this.grid.flat();
  }

  get isEmpty(): boolean {
    return this.axes.every((a) => a.isEmpty);
  }

  /** The current axes, made (one, filling the figure) if there are none: matplotlib's `gca`. */
  gca(): Axes {
    if (!this.current) {
      if (this.grid.length === 0) this.grid.push([new Axes("plt")]);
      this.current = this.grid[0][0];
    }
    return this.current;
  }

  /** The Vega-Lite spec for everything recorded: one view, or hconcat/vconcat of the subplots. */
  toSpec(): VegaLiteSpec {
    const { width, height } = this.pixelSize;
    if (this.isEmpty) throw new Error("plt.show: the figure is empty; call plt.plot, plt.bar or plt.imshow first.");
    if (this.grid.length === 1 && this.grid[0].length === 1) return this.grid[0][0].toSpec(width, height);
    const rows = this.grid.length;
    const cols = this.grid[0].length;
    const params: unknown[] = [];
    const panel = (ax: Axes, r: number, c: number): Record<string, unknown> => {
      const w = Math.floor(width / cols);
      const h = Math.floor(height / rows);
      if (ax.isEmpty) return emptyPanel(w, h);
      const spec = { ...ax.toSpec(w, h, `p${r}_${c}_`) } as Record<string, unknown>;
      // Only the top level may carry $schema, config and variable params; concat cannot "fit".
      delete spec.$schema;
      delete spec.config;
      delete spec.description;
      // Tick params carry a per-panel prefix; shared ones (staticView) are declared once.
      if (Array.isArray(spec.params)) {
        for (const p of spec.params as Array<{ name?: string }>) if (!params.some((q) => (q as { name?: string }).name === p.name)) params.push(p);
      }
      delete spec.params;
      if (spec.autosize) {
        delete spec.autosize;
        spec.width = Math.max(20, (spec.width as number) - 60);
        spec.height = Math.max(20, (spec.height as number) - 50 - (spec.title ? 20 : 0));
      }
      return spec;
    };
    const independent = { scale: { color: "independent" }, legend: { color: "independent" } };
    const rowSpecs = this.grid.map((row, r) => row.map((ax, c) => panel(ax, r, c)));
    const body =
      rows === 1
        ? { hconcat: rowSpecs[0], resolve: independent }
        : cols === 1
          ? { vconcat: rowSpecs.map((r) => r[0]), resolve: independent }
          : { vconcat: rowSpecs.map((r) => ({ hconcat: r, resolve: independent })), resolve: independent };
    const kinds = this.axes.filter((a) => !a.isEmpty).length;
    return {
      $schema: VEGALITE_SCHEMA,
      description: `Figure (${rows}×${cols} subplots, ${kinds} drawn)`,
      config: matplotlibConfig(),
      ...(params.length ? { params } : {}),
      ...body,
    };
  }

  toChart(): Chart {
    return new Chart(this.toSpec());
  }

  /** What a cell ending in `plt.figure(...)` prints, as matplotlib's repr. */
  [inspect.custom](): string {
    const { width, height } = this.pixelSize;
    const n = this.grid.length === 1 && this.grid[0].length === 1 ? (this.isEmpty ? 0 : 1) : this.axes.length;
    return `<Figure size ${width}x${height} with ${n} Axes>`;
  }
}

/** An empty frame, as matplotlib draws an axes nothing was drawn on. */
function emptyPanel(width: number, height: number): Record<string, unknown> {
  return { width: Math.max(20, width - 60), height: Math.max(20, height - 50), data: { values: [] }, mark: "point" };
}

export interface PyplotOptions {
  /** How `show()` displays a chart (default: the package's `display`). Tests inject a recorder. */
  display?: (chart: Chart, options?: DisplayOptions) => void;
}

/** The pyplot surface. `plt` is one instance; `createPyplot` makes independent ones. */
export class Pyplot {
  private current?: Figure;
  private readonly displayChart: (chart: Chart, options?: DisplayOptions) => void;

  constructor(options: PyplotOptions = {}) {
    this.displayChart = options.display ?? ((c, o) => defaultDisplay(c, o));
  }

  /** Starts a new figure (matplotlib's `plt.figure(figsize=..., dpi=...)`). */
  figure(options: FigureOptions = {}): Figure {
    this.current = new Figure(options);
    return this.current;
  }

  /**
   * A new figure with a rows × cols grid of axes, as matplotlib's `plt.subplots`:
   * `[fig, axes]` with axes one `Axes` (1×1), an array (1×n or n×1), or `axes[row][col]` (n×m).
   * Cast or index as matplotlib: `const [fig, axes] = plt.subplots(1, 2); axes[0].imshow(...)`.
   */
  subplots(options?: FigureOptions): [Figure, Axes];
  subplots(rows: 1, cols?: 1, options?: FigureOptions): [Figure, Axes];
  subplots(rows: 1, cols: number, options?: FigureOptions): [Figure, Axes[]];
  subplots(rows: number, cols: 1, options?: FigureOptions): [Figure, Axes[]];
  subplots(rows: number, cols: number, options?: FigureOptions): [Figure, Axes[][]];
  subplots(...args: unknown[]): [Figure, SubplotsAxes] {
    let rows = 1;
    let cols = 1;
    let options: FigureOptions = {};
    const nums: number[] = [];
    for (const a of args) {
      if (typeof a === "number") nums.push(a);
      else if (a !== undefined) options = a as FigureOptions;
    }
    if (nums.length > 2) throw new Error(`plt.subplots: expected subplots(rows, cols, { figsize }), got ${nums.length} numbers.`);
    [rows = 1, cols = 1] = nums;
    for (const [name, v] of [["rows", rows], ["cols", cols]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`plt.subplots: ${name} must be a positive integer, got ${v}.`);
    }
    const fig = new Figure(options, "plt.subplots");
    for (let r = 0; r < rows; r++) {
      const row: Axes[] = [];
      for (let c = 0; c < cols; c++) {
        const name = rows === 1 && cols === 1 ? "ax" : rows === 1 || cols === 1 ? `axes[${r * cols + c}]` : `axes[${r}][${c}]`;
        row.push(new Axes(name));
      }
      fig.grid.push(row);
    }
    fig.current = fig.grid[rows - 1][cols - 1]; // matplotlib: the last one made is current
    this.current = fig;
    const axes: SubplotsAxes = rows === 1 && cols === 1 ? fig.grid[0][0] : rows === 1 ? fig.grid[0] : cols === 1 ? fig.grid.map((r) => r[0]) : fig.grid;
    return [fig, axes];
  }

  /** The current figure, created with default size if there is none (matplotlib's `gcf`). */
  gcf(): Figure {
    return this.current ?? this.figure();
  }

  /** The current axes of the current figure (matplotlib's `gca`). */
  gca(): Axes {
    return this.gcf().gca();
  }

  /** Draws a matrix on the current axes, row 0 at the top. `values`: `[rows, cols]`, copied now, not disposed. */
  imshow(values: Values2D, options: ImshowOptions = {}): AxesImage {
    return this.gca().imshow(values, options);
  }

  /**
   * `plot(y, fmt?, options?)` or `plot(x, y, fmt?, options?)`: a line (and/or markers) per call.
   * fmt is a matplotlib format string such as "o-" (see `parseFormat`). Values are copied now.
   */
  plot(y: Values1D | number, fmt?: string | PlotOptions, options?: PlotOptions): void;
  plot(x: Values1D | number, y: Values1D | number, fmt?: string | PlotOptions, options?: PlotOptions): void;
  plot(...args: unknown[]): void {
    (this.gca().plot as (...a: unknown[]) => void)(...args);
  }

  /** Bars centred at `x` with the given heights and width (default 0.8), as matplotlib's `bar`. */
  bar(x: Values1D, heights: Values1D, width: number | BarOptions = 0.8, options: BarOptions = {}): void {
    this.gca().bar(x, heights, width, options);
  }

  /** Tick positions, optional labels (e.g. tokens), rotation and alignment for the x axis. */
  xticks(positions: Values1D, labels?: readonly string[] | TickOptions, options: TickOptions = {}): void {
    this.gca().xticks = readTicks("plt.xticks", positions, labels, options);
  }

  yticks(positions: Values1D, labels?: readonly string[] | TickOptions, options: TickOptions = {}): void {
    this.gca().yticks = readTicks("plt.yticks", positions, labels, options);
  }

  /** Axis label of the current axes; "\n" starts a new line. */
  xlabel(text: string): void {
    this.gca().set_xlabel(text);
  }
  ylabel(text: string): void {
    this.gca().set_ylabel(text);
  }
  title(text: string): void {
    this.gca().set_title(text);
  }

  /**
   * A colour bar: `colorbar({ label })` for the current axes' image, or `colorbar(im, { ax, label })`
   * for the image `imshow` returned (matplotlib's `plt.colorbar(im, ax=axes[0])`).
   */
  colorbar(options?: ColorbarOptions): void;
  colorbar(image: AxesImage, options?: ColorbarOptions): void;
  colorbar(imageOrOptions?: AxesImage | ColorbarOptions, maybeOptions: ColorbarOptions = {}): void {
    const image = imageOrOptions instanceof AxesImage ? imageOrOptions : undefined;
    const options = (image ? maybeOptions : imageOrOptions ?? {}) as ColorbarOptions;
    checkOptions(options, ["label", "ax"], "plt.colorbar");
    if (options.ax !== undefined && !(options.ax instanceof Axes)) {
      throw new Error("plt.colorbar: ax must be one Axes from plt.subplots (e.g. axes[0]).");
    }
    const axes = image?.axes ?? options.ax ?? this.gca();
    if (options.ax && options.ax !== axes) {
      throw new Error(`plt.colorbar: the image is on ${axes.where} but ax is ${options.ax.where}; a colour bar sits beside its own image here.`);
    }
    if (!axes.image) {
      throw new Error("plt.colorbar: no image to make a colour bar for; call plt.imshow first.");
    }
    axes.colorbar = { label: options.label };
  }

  /** A legend of the series given a `label` (loc: "best" by default, or e.g. "upper left"). */
  legend(options: LegendOptions = {}): void {
    this.gca().setLegend(options, "plt.legend");
  }

  /** Grid lines: `grid(true, { alpha: 0.3, axis: "y" })`; `grid(false)` removes them. */
  grid(visible = true, options: GridCallOptions = {}): void {
    checkOptions(options, ["alpha", "axis"], "plt.grid");
    if (options.axis !== undefined && !["both", "x", "y"].includes(options.axis)) {
      throw new Error(`plt.grid: axis must be "both", "x" or "y", got "${options.axis}".`);
    }
    this.gca().grid = visible ? { alpha: options.alpha, axis: options.axis } : undefined;
  }

  /** Accepted for fidelity with matplotlib; does nothing: vega always makes room for labels. */
  tightLayout(): void {}

  /** matplotlib's spelling of `tightLayout` (also a no-op), so cells can keep `plt.tight_layout()`. */
  tight_layout(): void {}

  /**
   * Displays the current figure, every subplot in one chart (one message: Vega-Lite spec + SVG +
   * text), and closes it. Synchronous, so a cell's last line `plt.show()` needs no `await`.
   */
  show(options: DisplayOptions = {}): void {
    const fig = this.current;
    this.close();
    if (!fig || fig.isEmpty) return; // as matplotlib: nothing to show
    this.displayChart(fig.toChart(), options);
  }

  /** Writes the current figure to `file`: ".svg" or ".png" (static, PNG at 2×) or ".html" (live, self-contained). */
  savefig(file: string): void {
    const ext = path.extname(file).toLowerCase();
    const fig = this.gcf();
    const chart = fig.toChart();
    if (ext === ".svg") fs.writeFileSync(file, chart.toSVG());
    else if (ext === ".png") fs.writeFileSync(file, chart.toPNG());
    else if (ext === ".html") fs.writeFileSync(file, toHtmlPage([chart.spec], { title: fig.axes[0]?.title }));
    else throw new Error(`plt.savefig: "${file}" must end in .svg, .png or .html.`);
  }

  /** Discards the current figure. */
  close(): void {
    this.current = undefined;
  }
}

export function createPyplot(options: PyplotOptions = {}): Pyplot {
  return new Pyplot(options);
}

/** The shared pyplot instance notebooks use: `import { plt } from "mechinterp-ts"`. */
export const plt: Pyplot = createPyplot();

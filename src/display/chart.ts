/**
 * `Chart`: a Vega-Lite spec with its renderings attached, so one value can be displayed in tslab,
 * in Deno's kernel (via `Symbol.for("Jupyter.display")`), saved as SVG or HTML, or inspected.
 */
import * as fs from "fs";
import { inspect } from "util";
import { describeSpec, staticVariant, toBundle } from "./bundle";
import { svgToPng } from "./raster";
import { toHtmlPage, type HtmlPageOptions } from "./html";
import type { MimeBundle } from "./mime";
import { renderSvg, renderSvgSync } from "./render";
import type { VegaLiteSpec } from "./types";

/** The symbol Deno's Jupyter kernel (and other JS kernels) call to get a value's MIME bundle. */
export const JUPYTER_DISPLAY = Symbol.for("Jupyter.display");

export class Chart {
  constructor(readonly spec: VegaLiteSpec) {}

  /** The four-representation bundle (see `toBundle`). */
  toBundle(): MimeBundle {
    return toBundle(this.spec);
  }

  /** The static SVG as vega renders it in Node (synchronously; see `renderSvgSync`), as the bundle carries it. */
  toSVG(): string {
    return renderSvgSync(staticVariant(this.spec));
  }

  /** The static SVG through vega's public asynchronous `view.toSVG()`. */
  toSVGAsync(): Promise<string> {
    return renderSvg(staticVariant(this.spec));
  }

  /** The PNG the bundle carries: `scale` (default 2) device pixels per SVG pixel. */
  toPNG(scale?: number): Buffer {
    return svgToPng(this.toSVG(), scale).png;
  }

  savePng(file: string, scale?: number): void {
    fs.writeFileSync(file, this.toPNG(scale));
  }

  /** A self-contained HTML page that draws the chart live with inlined vega/vega-lite/vega-embed. */
  toHTML(options: HtmlPageOptions = {}): string {
    return toHtmlPage([this.spec], options);
  }

  saveSvg(file: string): void {
    fs.writeFileSync(file, this.toSVG());
  }

  saveHtml(file: string, options: HtmlPageOptions = {}): void {
    fs.writeFileSync(file, this.toHTML(options));
  }

  /** Deno's kernel calls this when the chart is a cell's last value. */
  [JUPYTER_DISPLAY](): MimeBundle {
    return this.toBundle();
  }

  /** `JSON.stringify(chart)` gives the spec. */
  toJSON(): VegaLiteSpec {
    return this.spec;
  }

  [inspect.custom](): string {
    return `Chart ${describeSpec(this.spec)}`;
  }
}

/** Wraps a spec (e.g. from `heatmapSpec`) as a `Chart`. */
export function chart(spec: VegaLiteSpec): Chart {
  return new Chart(spec);
}

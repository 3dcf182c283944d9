/**
 * `display(x)`: show a chart (a `Chart`, a Vega-Lite spec, or a ready MIME bundle) in whatever is
 * running the code — a tslab kernel (one display_data with every representation), Deno's kernel,
 * or plain Node (prints the one-line text form; nothing to draw on).
 *
 * It resolves to `undefined` rather than the bundle: tslab prints a cell's last value as text, so a
 * returned bundle would be dumped under the chart. Use `toBundle`/`Chart.toBundle` for the data.
 */
import { isMimeBundle, toBundle } from "./bundle";
import { Chart } from "./chart";
import { sendThroughDeno } from "./denoDisplay";
import { TEXT_MIME, type MimeBundle } from "./mime";
import { sendThroughTslab } from "./tslabDisplay";
import type { VegaLiteSpec } from "./types";

export type Displayable = Chart | VegaLiteSpec | MimeBundle;

/** Where a displayed bundle went. */
export type DisplayRoute = "tslab-bundle" | "tslab-single" | "deno" | "stdout" | "none";

export interface DisplayOptions {
  /** Outside a kernel, print the text form to stdout (default true). */
  printOutsideKernel?: boolean;
  /** Called with the route taken (tests and diagnostics). */
  onRoute?: (route: DisplayRoute, bundle: MimeBundle) => void;
}

/** Turns anything `display` accepts into a MIME bundle (rendering the SVG for specs and charts). */
export async function bundleOf(item: Displayable): Promise<MimeBundle> {
  if (item instanceof Chart) return item.toBundle();
  if (isMimeBundle(item)) {
    return item[TEXT_MIME] === undefined ? { ...item, [TEXT_MIME]: "<rich output>" } : item;
  }
  if (item && typeof item === "object" && !Array.isArray(item)) return toBundle(item as VegaLiteSpec);
  throw new Error(
    `display() takes a Chart, a Vega-Lite spec object or a MIME bundle, but got ${Array.isArray(item) ? "an array" : typeof item}.`
  );
}

/** Shows `item` once, with all its representations in one message. Resolves when it is sent. */
export async function display(item: Displayable, options: DisplayOptions = {}): Promise<void> {
  const bundle = await bundleOf(item);
  let route: DisplayRoute = sendThroughTslab(bundle);
  if (route === "none" && (await sendThroughDeno(bundle))) route = "deno";
  if (route === "none" && (options.printOutsideKernel ?? true)) {
    process.stdout.write(`${String(bundle[TEXT_MIME])}\n`);
    route = "stdout";
  }
  options.onRoute?.(route, bundle);
}

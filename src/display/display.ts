/**
 * `display(x)`: show a chart (a `Chart`, a Vega-Lite spec, or a ready MIME bundle) in whatever is
 * running the code — a tslab kernel (one display_data with every representation), Deno's kernel,
 * or plain Node (prints the one-line text form; there is nothing to draw on).
 *
 * Synchronous and returning `undefined` on purpose: tslab prints a cell's last value as text, and
 * an un-awaited promise as "Promise { <pending> }" (its output then arrives after the cell is over,
 * where nbclient drops it). So `display(chart)`, `plt.show()` and `attentionPatterns(...)` work as
 * a cell's last line with or without `await`. Use `toBundle`/`Chart.toBundle` for the data.
 */
import { bundleMetadata, isMimeBundle, toBundle } from "./bundle";
import { Chart } from "./chart";
import { sendThroughDeno } from "./denoDisplay";
import { SVG_MIME, TEXT_MIME, type MimeBundle } from "./mime";
import { sendThroughTslab } from "./tslabDisplay";
import type { VegaLiteSpec } from "./types";

export type Displayable = Chart | VegaLiteSpec | MimeBundle;

/** Where a displayed bundle went. */
export type DisplayRoute = "tslab-bundle" | "tslab-single" | "deno" | "stdout" | "none";

export interface DisplayOptions {
  /** Outside a kernel, print the text form to stdout (default true). */
  printOutsideKernel?: boolean;
  /** Called with the route taken and the bundle sent (tests and diagnostics). */
  onRoute?: (route: DisplayRoute, bundle: MimeBundle) => void;
}

function specBundle(spec: VegaLiteSpec): MimeBundle {
  try {
    return toBundle(spec);
  } catch (err) {
    // Still show the interactive chart where the front end can; say why a static copy is missing.
    try {
      const withSvg = toBundle(spec, { png: false });
      process.stderr.write(`display: no PNG for this chart (${(err as Error).message})\n`);
      return withSvg;
    } catch {
      process.stderr.write(`display: no static SVG for this chart (${(err as Error).message})\n`);
      return toBundle(spec, { svg: false });
    }
  }
}

/** Turns anything `display` accepts into a MIME bundle (rendering the SVG for specs and charts). */
export function bundleOf(item: Displayable): MimeBundle {
  if (item instanceof Chart) return specBundle(item.spec);
  if (isMimeBundle(item)) {
    return item[TEXT_MIME] === undefined ? { ...item, [TEXT_MIME]: "<rich output>" } : item;
  }
  if (item && typeof item === "object" && !Array.isArray(item)) return specBundle(item as VegaLiteSpec);
  throw new Error(
    `display() takes a Chart, a Vega-Lite spec object or a MIME bundle, but got ${Array.isArray(item) ? "an array" : typeof item}.`
  );
}

/**
 * Shows `item` once, with all its representations in one message. `undefined` (what the
 * self-displaying `attentionPatterns`, `cv.attention.attentionPatterns` and `plt.show` return)
 * shows nothing more, so the Python `display(cv.attention.attention_patterns(...))` keeps its shape.
 */
export function display(item: Displayable | undefined | void, options: DisplayOptions = {}): void {
  if (item === undefined) return;
  const bundle = bundleOf(item);
  // The PNG is 2×: tell the front end its size in CSS pixels (only for bundles made here).
  const metadata = isMimeBundle(item) ? {} : bundleMetadata(bundle);
  let route: DisplayRoute = sendThroughTslab(bundle, metadata);
  if (route === "none" && sendThroughDeno(bundle)) route = "deno";
  if (route === "none" && (options.printOutsideKernel ?? true)) {
    const hint = bundle[SVG_MIME] !== undefined ? " (save it with saveHtml/saveSvg to see it)" : "";
    process.stdout.write(`${String(bundle[TEXT_MIME])}${hint}\n`);
    route = "stdout";
  }
  options.onRoute?.(route, bundle);
}

/**
 * Spec → Jupyter MIME bundle: the Vega-Lite 5 spec (interactive where the front end can), an SVG
 * and a 2× PNG rendered in Node (everywhere else; the PNG where SVG is refused, as in an untrusted
 * classic Notebook), and a line of text (terminals, logs), in one object.
 *
 * The static pictures are drawn from the spec's static variant: a spec that declares the param
 * `staticView` (false) gets it set to true, so it can drop hover/click hints and say instead
 * where the interactive view is (the attention viewer does).
 */
import { PNG_MIME, STATIC_PARAM, SVG_MIME, TEXT_MIME, VEGALITE_MIME, type MimeBundle } from "./mime";
import { pngSize } from "./png";
import { PNG_SCALE, svgToPng } from "./raster";
import { renderSvgSync } from "./render";
import type { VegaLiteSpec } from "./types";

export { STATIC_PARAM };

/** The spec as the static SVG/PNG draw it: `staticView` set to true (the spec itself untouched). */
export function staticVariant(spec: VegaLiteSpec): VegaLiteSpec {
  const params = spec.params;
  if (!Array.isArray(params) || !params.some((p) => p && (p as { name?: string }).name === STATIC_PARAM)) return spec;
  return { ...spec, params: params.map((p) => ((p as { name?: string }).name === STATIC_PARAM ? { ...(p as object), value: true } : p)) };
}

/** One line naming the chart, from its `description` or title: the bundle's `text/plain`. */
export function describeSpec(spec: VegaLiteSpec): string {
  const title = titleText(spec.title);
  const what = typeof spec.description === "string" && spec.description ? spec.description : "Vega-Lite chart";
  return `<${what}${title && !what.includes(title) ? `: ${title}` : ""}>`;
}

function titleText(title: unknown): string | undefined {
  if (typeof title === "string") return title;
  if (Array.isArray(title)) return title.join(" ");
  if (title && typeof title === "object" && "text" in title) return titleText((title as { text: unknown }).text);
  return undefined;
}

export interface BundleOptions {
  /** Render the SVG representation (default true; false skips vega, e.g. for a quick text-only check). */
  svg?: boolean;
  /** Render the PNG from the SVG (default: whenever the SVG is rendered). */
  png?: boolean;
}

/**
 * @returns `{ "application/vnd.vegalite.v5+json": spec, "image/svg+xml": svg, "image/png": base64, "text/plain": text }`
 * Synchronous (see `renderSvgSync`, `svgToPng`), so displaying needs no `await`. The PNG has
 * PNG_SCALE (2) device pixels per SVG pixel; `bundleMetadata` gives the size to show it at.
 */
export function toBundle(spec: VegaLiteSpec, options: BundleOptions = {}): MimeBundle {
  const bundle: MimeBundle = { [VEGALITE_MIME]: spec };
  if (options.svg ?? true) {
    const svg = renderSvgSync(staticVariant(spec));
    bundle[SVG_MIME] = svg;
    if (options.png ?? true) bundle[PNG_MIME] = svgToPng(svg).png.toString("base64");
  }
  bundle[TEXT_MIME] = describeSpec(spec);
  return bundle;
}

/**
 * Display metadata for a bundle made by `toBundle`: the PNG's size in CSS pixels (its pixel size /
 * PNG_SCALE), so front ends draw it at the chart's size, sharp on high-DPI screens.
 */
export function bundleMetadata(bundle: MimeBundle): Record<string, unknown> {
  const png = bundle[PNG_MIME];
  if (typeof png !== "string") return {};
  const { width, height } = pngSize(Buffer.from(png.slice(0, 64), "base64"));
  return { [PNG_MIME]: { width: Math.round(width / PNG_SCALE), height: Math.round(height / PNG_SCALE) } };
}

/** True for an object whose keys all look like MIME types (`type/subtype`). */
export function isMimeBundle(x: unknown): x is MimeBundle {
  if (x == null || typeof x !== "object" || Array.isArray(x)) return false;
  const keys = Object.keys(x);
  return keys.length > 0 && keys.every((k) => /^[a-z]+\/[-+.\w]+$/i.test(k));
}

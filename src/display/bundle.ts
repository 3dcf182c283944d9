/**
 * Spec → Jupyter MIME bundle: the Vega-Lite 5 spec (interactive where the front end can), an SVG
 * rendered in Node (everywhere else), and a line of text (terminals, logs), in one object.
 */
import { SVG_MIME, TEXT_MIME, VEGALITE_MIME, type MimeBundle } from "./mime";
import { renderSvgSync } from "./render";
import type { VegaLiteSpec } from "./types";

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
}

/**
 * @returns `{ "application/vnd.vegalite.v5+json": spec, "image/svg+xml": svg, "text/plain": text }`
 * Synchronous (see `renderSvgSync`), so displaying needs no `await`.
 */
export function toBundle(spec: VegaLiteSpec, options: BundleOptions = {}): MimeBundle {
  const bundle: MimeBundle = { [VEGALITE_MIME]: spec };
  if (options.svg ?? true) bundle[SVG_MIME] = renderSvgSync(spec);
  bundle[TEXT_MIME] = describeSpec(spec);
  return bundle;
}

/** True for an object whose keys all look like MIME types (`type/subtype`). */
export function isMimeBundle(x: unknown): x is MimeBundle {
  if (x == null || typeof x !== "object" || Array.isArray(x)) return false;
  const keys = Object.keys(x);
  return keys.length > 0 && keys.every((k) => /^[a-z]+\/[-+.\w]+$/i.test(k));
}

/**
 * MIME types and library versions the display layer speaks, named once.
 *
 * Vega-Lite 5 is deliberate: JupyterLab 4 and VS Code render `application/vnd.vegalite.v5+json`
 * natively (and interactively, even in untrusted notebooks) but not v6; vega 6 is also ESM-only
 * with top-level await, which `require()` cannot load on Node 20.
 */

/** The Vega-Lite 5 spec MIME type (interactive in JupyterLab 4, Notebook 7, VS Code). */
export const VEGALITE_MIME = "application/vnd.vegalite.v5+json";
/** Static SVG rendered in Node by vega: what the classic Notebook, GitHub and nbconvert show. */
export const SVG_MIME = "image/svg+xml";
/**
 * A PNG (base64, 2× for high-DPI) rendered in Node by resvg: what an untrusted classic Notebook,
 * nbviewer and GitHub show (they refuse or sanitise SVG from untrusted notebooks).
 */
export const PNG_MIME = "image/png";
/** The plain-text fallback every bundle carries. */
export const TEXT_MIME = "text/plain";
export const HTML_MIME = "text/html";

/**
 * The param a spec declares (value false) to know, in its expressions and filters, that it is
 * being drawn as a static SVG/PNG (the bundle sets it true there; see bundle.ts `staticVariant`).
 */
export const STATIC_PARAM = "staticView";

/** The `$schema` every spec built here carries. */
export const VEGALITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";

/** The order front ends should prefer representations in (most capable first). */
export const MIME_PRIORITY: readonly string[] = [VEGALITE_MIME, SVG_MIME, PNG_MIME, TEXT_MIME];

/** A Jupyter MIME bundle: MIME type → data (JSON for the spec, strings otherwise). */
export type MimeBundle = Record<string, unknown>;

/** Versions of the libraries that compile, render and embed specs (read from the installed packages). */
export function libraryVersions(): { vega: string; vegaLite: string; vegaEmbed: string } {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const vega = require("vega") as { version: string };
  const vegaLite = require("vega-lite") as { version: string };
  const vegaEmbed = require("vega-embed") as { version: string };
  return { vega: vega.version, vegaLite: vegaLite.version, vegaEmbed: vegaEmbed.version };
}

/**
 * HTML export: pages that draw charts live with vega-embed, using the vega, vega-lite and
 * vega-embed builds installed in node_modules (inlined, or copied beside the page) — never a CDN,
 * so pages work offline. A chart that fails to render shows the error inside its own box.
 */
import * as fs from "fs";
import * as path from "path";
import { isMimeBundle } from "./bundle";
import { Chart } from "./chart";
import { SVG_MIME, VEGALITE_MIME, libraryVersions, type MimeBundle } from "./mime";
import type { VegaLiteSpec } from "./types";

/** The browser builds, in load order (vega-embed's UMD build reads the `vega`/`vegaLite` globals). */
export const VEGA_LIBRARIES = [
  { name: "vega", pkg: "vega", file: "build/vega.min.js" },
  { name: "vega-lite", pkg: "vega-lite", file: "build/vega-lite.min.js" },
  { name: "vega-embed", pkg: "vega-embed", file: "build/vega-embed.min.js" },
] as const;

/** The package folder of an installed dependency (vega-embed's `exports` hides its package.json). */
function packageDir(pkg: string): string {
  let dir = path.dirname(require.resolve(pkg));
  while (!fs.existsSync(path.join(dir, "package.json")) || path.basename(dir) === "build") {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`Cannot find the folder of the installed package "${pkg}".`);
    dir = parent;
  }
  return dir;
}

/** Absolute paths of the three minified browser builds. */
export function vegaLibraryFiles(): Array<{ name: string; file: string }> {
  return VEGA_LIBRARIES.map((lib) => {
    const file = path.join(packageDir(lib.pkg), lib.file);
    if (!fs.existsSync(file)) {
      throw new Error(`The browser build ${file} of ${lib.pkg} is missing; reinstall it with \`npm install\`.`);
    }
    return { name: lib.name, file };
  });
}

let inlineCache: string | undefined;

/** The three libraries as inline <script> elements (source-map comments removed: nothing to fetch). */
export function inlineVegaScripts(): string {
  if (inlineCache === undefined) {
    inlineCache = vegaLibraryFiles()
      .map(({ name, file }) => {
        const js = fs
          .readFileSync(file, "utf8")
          .replace(/\n?\/\/# sourceMappingURL=\S+\s*$/, "")
          .replace(/<\/script/gi, "<\\/script");
        return `<script data-library="${name}">\n${js}\n</script>`;
      })
      .join("\n");
  }
  return inlineCache;
}

/** Copies the libraries into `dir` (created if needed); returns `<script src>` tags relative to `pageDir`. */
export function copyVegaScripts(dir: string, pageDir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  return vegaLibraryFiles()
    .map(({ name, file }) => {
      const target = path.join(dir, path.basename(file));
      fs.copyFileSync(file, target);
      const rel = path.relative(pageDir, target).split(path.sep).join("/");
      return `<script data-library="${name}" src="${escapeHtml(rel)}"></script>`;
    })
    .join("\n");
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** JSON safe inside a <script> element. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

let idCounter = 0;
/** A fresh element id per chart, so several charts (or pages merged into one) never collide. */
export function freshChartId(): string {
  idCounter += 1;
  return `vega-chart-${Date.now().toString(36)}-${idCounter}-${Math.random().toString(36).slice(2, 8)}`;
}

export interface ChartHtmlOptions {
  /** Static SVG shown until (or if not) the live chart draws, e.g. from a notebook output. */
  fallbackSvg?: string;
  /** vega-embed mode: "vega-lite" (default) or "vega" for compiled Vega specs. */
  mode?: "vega-lite" | "vega";
}

/**
 * One chart box: a container div and the script that embeds the spec into it. Needs the libraries
 * on the page (see `toHtmlPage`). Errors are written into the box, not only to the console.
 */
export function chartHtml(spec: unknown, options: ChartHtmlOptions = {}): string {
  const id = freshChartId();
  const fallback = options.fallbackSvg
    ? `\n<img class="chart-fallback" alt="chart (static rendering)" src="data:image/svg+xml;base64,${Buffer.from(options.fallbackSvg, "utf8").toString("base64")}">`
    : "";
  return [
    `<div class="chart-box" id="${id}-box"><div id="${id}" class="chart"></div>${fallback}</div>`,
    `<script>`,
    `(function () {`,
    `  var box = document.getElementById(${scriptJson(id + "-box")});`,
    `  var el = document.getElementById(${scriptJson(id)});`,
    `  function fail(message) {`,
    `    var pre = document.createElement("pre");`,
    `    pre.className = "chart-error";`,
    `    pre.textContent = "Chart could not be drawn: " + message;`,
    `    box.insertBefore(pre, el);`,
    `  }`,
    `  if (typeof vegaEmbed !== "function") { fail("vega-embed did not load"); return; }`,
    `  vegaEmbed(el, ${scriptJson(spec)}, {`,
    `    mode: ${scriptJson(options.mode ?? "vega-lite")},`,
    `    renderer: "svg",`,
    `    actions: { export: true, source: false, compiled: false, editor: false }`,
    `  }).then(function () {`,
    `    var img = box.querySelector(".chart-fallback");`,
    `    if (img) img.remove();`,
    `  }).catch(function (err) { fail(err && err.message ? err.message : String(err)); });`,
    `})();`,
    `</script>`,
  ].join("\n");
}

export const PAGE_CSS = `
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2rem auto; max-width: 1100px; padding: 0 1rem; color: #1f2328; }
.chart-box { margin: 1rem 0; overflow-x: auto; }
.chart-error { color: #b00020; background: #fff0f0; border: 1px solid #f3b7b7; padding: 0.5rem; white-space: pre-wrap; }
.vega-embed .vega-bindings { margin-top: 0.4rem; font-size: 0.9rem; }
`;

/** Where the page gets vega from: inlined into the HTML (default), or copied into a folder. */
export type ScriptPlacement = "inline" | { copyTo: string; pageDir: string };

export interface HtmlPageOptions {
  title?: string;
  scripts?: ScriptPlacement;
  /** Extra CSS appended to the page's style element. */
  css?: string;
}

/** Anything a page can show as a chart. */
export type ChartLike = Chart | VegaLiteSpec | MimeBundle;

function specOf(item: ChartLike): { spec: unknown; fallbackSvg?: string } {
  if (item instanceof Chart) return { spec: item.spec };
  if (isMimeBundle(item)) {
    const spec = item[VEGALITE_MIME];
    const svg = typeof item[SVG_MIME] === "string" ? (item[SVG_MIME] as string) : undefined;
    if (spec === undefined) throw new Error(`toHtmlPage: a MIME bundle without "${VEGALITE_MIME}" cannot be drawn live.`);
    return { spec, fallbackSvg: svg };
  }
  return { spec: item };
}

/** The <head> script tags for a placement. */
export function vegaScriptTags(placement: ScriptPlacement = "inline"): string {
  return placement === "inline" ? inlineVegaScripts() : copyVegaScripts(placement.copyTo, placement.pageDir);
}

/** A complete HTML document with the page CSS, the vega libraries and `body` (already HTML). */
export function htmlDocument(body: string, options: HtmlPageOptions & { needsVega?: boolean } = {}): string {
  const v = libraryVersions();
  return [
    "<!DOCTYPE html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta name="generator" content="mechinterp-ts display (vega ${v.vega}, vega-lite ${v.vegaLite}, vega-embed ${v.vegaEmbed})">`,
    `<title>${escapeHtml(options.title ?? "Charts")}</title>`,
    `<style>${PAGE_CSS}${options.css ?? ""}</style>`,
    options.needsVega === false ? "" : vegaScriptTags(options.scripts),
    "</head>",
    "<body>",
    body,
    "</body>",
    "</html>",
    "",
  ].join("\n");
}

/** A self-contained page drawing each chart live (specs, `Chart`s, or bundles with a v5 spec). */
export function toHtmlPage(items: ChartLike | ChartLike[], options: HtmlPageOptions = {}): string {
  const list = Array.isArray(items) ? items : [items];
  const heading = options.title ? `<h1>${escapeHtml(options.title)}</h1>\n` : "";
  const body = heading + list.map((item) => {
    const { spec, fallbackSvg } = specOf(item);
    return chartHtml(spec, { fallbackSvg });
  }).join("\n");
  return htmlDocument(body, options);
}

export interface SaveHtmlOptions {
  title?: string;
  /** "inline" (default: one self-contained file) or "beside": copy the libraries into `<dir>/vega/`. */
  scripts?: "inline" | "beside";
}

/** Writes `toHtmlPage(items)` to `file`; returns the file's path. */
export function saveHtml(items: ChartLike | ChartLike[], file: string, options: SaveHtmlOptions = {}): string {
  const pageDir = path.dirname(path.resolve(file));
  const scripts: ScriptPlacement =
    options.scripts === "beside" ? { copyTo: path.join(pageDir, "vega"), pageDir } : "inline";
  fs.mkdirSync(pageDir, { recursive: true });
  fs.writeFileSync(file, toHtmlPage(items, { title: options.title, scripts }));
  return file;
}

/**
 * Spec → compiled Vega → SVG string, in Node, without a browser or canvas.
 *
 * Vega-Lite reports problems through a logger rather than by throwing, and a vega View logs
 * runtime errors (an unknown colour scheme, a bad expression) and then renders a broken scene.
 * Both loggers here collect messages so problems surface as exceptions or as a warnings list.
 * Text is measured by vega's built-in estimate when no canvas package is installed, which is fine
 * for axis layout.
 */
import type { VegaLiteSpec } from "./types";

// vega and vega-lite are loaded lazily: requiring them costs ~300 ms, which a notebook that never
// draws should not pay.
type VegaModule = typeof import("vega");
type VegaLiteModule = typeof import("vega-lite");
let vegaModule: VegaModule | undefined;
let vegaLiteModule: VegaLiteModule | undefined;
function vega(): VegaModule {
  return (vegaModule ??= require("vega") as VegaModule);
}
function vegaLite(): VegaLiteModule {
  return (vegaLiteModule ??= require("vega-lite") as VegaLiteModule);
}

/**
 * A logger with the interface vega and vega-lite both accept, that keeps what it is told. Methods
 * are bound arrow functions: vega calls them detached from the object.
 */
class CollectingLogger {
  readonly errors: string[] = [];
  readonly warnings: string[] = [];
  private currentLevel = 2; // vega's Warn
  level = (level?: number): number | this => {
    if (level === undefined) return this.currentLevel;
    this.currentLevel = level;
    return this;
  };
  error = (...args: unknown[]): this => {
    this.errors.push(args.map(formatLogArg).join(" "));
    return this;
  };
  warn = (...args: unknown[]): this => {
    this.warnings.push(args.map(formatLogArg).join(" "));
    return this;
  };
  info = (): this => this;
  debug = (): this => this;
}

function formatLogArg(arg: unknown): string {
  if (arg instanceof Error) return arg.message;
  return typeof arg === "string" ? arg : JSON.stringify(arg);
}

export interface CompiledSpec {
  /** The Vega spec vega-lite produced. */
  vega: Record<string, unknown>;
  /** Everything vega-lite warned about while compiling (empty for every builder in this package). */
  warnings: string[];
}

/** Compiles a Vega-Lite spec to Vega, collecting warnings; throws if vega-lite reports an error. */
export function compileVegaLite(spec: VegaLiteSpec): CompiledSpec {
  const logger = new CollectingLogger();
  let compiled: { spec: unknown };
  try {
    // A copy: vega tags every inline datum with a symbol id, which must not leak into the caller's spec.
    compiled = vegaLite().compile(structuredClone(spec) as never, { logger: logger as never });
  } catch (err) {
    throw new Error(`Vega-Lite could not compile the chart spec: ${(err as Error).message}`);
  }
  if (logger.errors.length > 0) {
    throw new Error(`Vega-Lite reported errors compiling the chart spec: ${logger.errors.join("; ")}`);
  }
  return { vega: compiled.spec as Record<string, unknown>, warnings: logger.warnings };
}

/** A vega View of the compiled spec with no renderer, logging into a collector (and the vega module); the caller finalizes it. */
function headlessView(spec: VegaLiteSpec) {
  const { vega: vegaSpec } = compileVegaLite(spec);
  const logger = new CollectingLogger();
  const v = vega();
  const view = new v.View(v.parse(vegaSpec as never), {
    renderer: "none",
    logger: logger as never,
    // Specs from this package carry their data inline; refuse anything that would reach a network.
    loader: refusingLoader() as never,
  });
  return { view, logger, v };
}

/**
 * Renders a Vega-Lite spec to a standalone SVG document string, as the classic Notebook, GitHub and
 * nbconvert will show it (the chart's initial state; interaction needs the Vega-Lite MIME type).
 * Throws with vega's message if the view logs an error while rendering.
 */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const { view, logger } = headlessView(spec);
  try {
    await view.runAsync();
    primeInlineImages((view.scenegraph() as unknown as { root: SceneNode }).root);
    const svg = await view.toSVG();
    if (logger.errors.length > 0) {
      throw new Error(`Vega could not render the chart: ${logger.errors.join("; ")}`);
    }
    return svg;
  } finally {
    view.finalize();
  }
}

/** The parts of vega's View this file reads beyond its typed public API (see renderSvgSync). */
interface ViewInternals {
  _viewWidth: number;
  _viewHeight: number;
  _origin: [number, number];
  _pending: unknown;
}

/**
 * The same SVG as `renderSvg`, produced synchronously, so `display(...)` and `plt.show()` can send
 * their message before the cell ends without the learner writing `await` (tslab prints an
 * un-awaited promise as "Promise { <pending> }", and output sent after the cell has finished is
 * lost by nbclient).
 *
 * How: vega's dataflow evaluates synchronously when no operator waits on I/O (inline data only,
 * which the loader enforces), so after `view.run()` the scenegraph is complete. The SVG string
 * renderer is then initialised exactly as vega-view's own headless path does (size = view size +
 * padding, origin = padding + view origin), which needs View's `_viewWidth`, `_viewHeight` and
 * `_origin` fields — stable since vega 3, and checked here and by a test that compares this output
 * with `view.toSVG()`.
 */
export function renderSvgSync(spec: VegaLiteSpec): string {
  const { view, logger, v } = headlessView(spec);
  try {
    view.run();
    const internals = view as unknown as ViewInternals;
    if (internals._pending) {
      throw new Error("The chart loads data asynchronously; use `await renderSvg(spec)` instead.");
    }
    if (logger.errors.length > 0) {
      throw new Error(`Vega could not render the chart: ${logger.errors.join("; ")}`);
    }
    const origin = internals._origin;
    if (typeof internals._viewWidth !== "number" || typeof internals._viewHeight !== "number" || !Array.isArray(origin)) {
      throw new Error(
        `This vega version (${(v as unknown as { version: string }).version}) lays out views differently; ` +
          "use `await renderSvg(spec)`."
      );
    }
    const pad = view.padding() as { left: number; right: number; top: number; bottom: number };
    const width = Math.max(0, internals._viewWidth + pad.left + pad.right);
    const height = Math.max(0, internals._viewHeight + pad.top + pad.bottom);
    const Renderer = (v as unknown as { renderModule(type: string): { headless: new (loader: unknown) => SvgStringRenderer } })
      .renderModule("svg").headless;
    const renderer = new Renderer(view.loader())
      .initialize(null, width, height, [pad.left + origin[0], pad.top + origin[1]], 1, undefined)
      .background(view.background());
    const root = (view.scenegraph() as unknown as { root: SceneNode }).root;
    primeInlineImages(root);
    renderer.render(root);
    return renderer.svg();
  } finally {
    view.finalize();
  }
}

interface SceneNode {
  marktype?: string;
  items?: SceneNode[];
  url?: unknown;
  image?: unknown;
}

/**
 * Image marks with inline `data:` URLs (large heatmaps drawn as pictures) get their image object
 * now: vega would load it asynchronously through an HTMLImageElement, which Node lacks, and the
 * SVG would carry an empty href. The SVG renderer needs only `src` (width/height come from the mark).
 */
function primeInlineImages(node: SceneNode | undefined): void {
  if (!node) return;
  if (node.marktype === "image") {
    for (const item of node.items ?? []) {
      if (typeof item.url === "string" && item.url.startsWith("data:")) {
        item.image = { complete: true, width: 0, height: 0, src: item.url, url: item.url };
      }
    }
    return;
  }
  for (const child of node.items ?? []) primeInlineImages(child);
}

interface SvgStringRenderer {
  initialize(el: null, width: number, height: number, origin: [number, number], scale: number, opt: undefined): SvgStringRenderer;
  background(color: unknown): SvgStringRenderer;
  render(scene: unknown): SvgStringRenderer;
  svg(): string;
}

/** A vega loader that declines every load: rendering in Node never fetches files or URLs. */
function refusingLoader() {
  const refuse = (uri: string) =>
    Promise.reject(new Error(`Charts render offline: put the data inline in the spec instead of loading "${uri}".`));
  return {
    load: refuse,
    // Inline images (data: URLs) are allowed: they are part of the spec, not a fetch.
    sanitize: (uri: string) => (typeof uri === "string" && uri.startsWith("data:") ? Promise.resolve({ href: uri }) : refuse(uri)),
    http: refuse,
    file: refuse,
  };
}

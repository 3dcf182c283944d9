/**
 * The kernel extension: sends ONE Jupyter `display_data` message carrying a whole MIME bundle
 * through a running tslab kernel.
 *
 * Why an extension: tslab's public `display.raw(mime, data)` puts exactly one MIME type in each
 * message, so a chart sent through it is either interactive (Vega-Lite, JupyterLab/VS Code only) or
 * static (SVG, everywhere), never both. A front end picks the best representation only when all of
 * them arrive in the same message.
 *
 * How (tslab 1.0.x, read from node_modules/tslab/dist): while a cell executes, the kernel stores its
 * message writer in `exports.lastWriteDisplayData` of `tslab/dist/jupyter.js`; `display.raw` calls
 * it as `writer({ data: { [mime]: value }, metadata, transient }, update)`. We call the same writer
 * with a full `data` bundle. The module is found in `require.cache` (the kernel loaded it), not
 * with `require("tslab/...")`, so this works even when the package resolves a different tslab copy
 * than the one running the kernel, and it never loads tslab in plain Node.
 *
 * Fallbacks, in order:
 *  1. the writer above (one message, every MIME type)                 → route "tslab-bundle"
 *  2. tslab's public `display.raw` for the single most widely rendered
 *     type (SVG if present, else the Vega-Lite spec, else text), reached
 *     through the kernel's own `require("tslab")` (`globalThis.__tslab__`) → route "tslab-single"
 *  3. nothing: not inside a tslab kernel                                 → route "none"
 * If a future tslab renames the internal writer, step 2 still shows a static chart.
 */
import { SVG_MIME, TEXT_MIME, VEGALITE_MIME, type MimeBundle } from "./mime";

/** The `content` of a Jupyter display_data message. */
export interface DisplayDataContent {
  data: MimeBundle;
  metadata: Record<string, unknown>;
  transient: Record<string, unknown>;
}

type DisplayWriter = (content: DisplayDataContent, update: boolean) => void;

interface TslabPublic {
  display: { raw(contentType: string, data: string): unknown };
}

const TSLAB_JUPYTER_MODULE = /[\\/]tslab[\\/]dist[\\/]jupyter\.js$/;

/** The running kernel's display_data writer, or undefined outside a tslab kernel cell. */
export function tslabWriter(): DisplayWriter | undefined {
  for (const [file, mod] of Object.entries(require.cache)) {
    if (!mod || !TSLAB_JUPYTER_MODULE.test(file)) continue;
    const writer = (mod.exports as { lastWriteDisplayData?: unknown }).lastWriteDisplayData;
    if (typeof writer === "function") return writer as DisplayWriter;
  }
  return undefined;
}

/** tslab's public module as the kernel's own cell `require` returns it, if we are in a tslab cell. */
function tslabPublic(): TslabPublic | undefined {
  const host = (globalThis as { __tslab__?: { require?: (id: string) => unknown } }).__tslab__;
  if (typeof host?.require !== "function") return undefined;
  try {
    const mod = host.require("tslab") as Partial<TslabPublic> | null;
    return typeof mod?.display?.raw === "function" ? (mod as TslabPublic) : undefined;
  } catch {
    return undefined;
  }
}

/** The single representation to send when only one MIME type fits in a message. */
export function singleMimeFallback(bundle: MimeBundle): [string, string] | undefined {
  if (typeof bundle[SVG_MIME] === "string") return [SVG_MIME, bundle[SVG_MIME] as string];
  if (bundle[VEGALITE_MIME] !== undefined) return [VEGALITE_MIME, JSON.stringify(bundle[VEGALITE_MIME])];
  if (typeof bundle[TEXT_MIME] === "string") return [TEXT_MIME, bundle[TEXT_MIME] as string];
  return undefined;
}

export type TslabRoute = "tslab-bundle" | "tslab-single" | "none";

/**
 * Sends `bundle` as one display_data message through the running tslab kernel.
 * @returns how it was sent (see the file comment), "none" outside a kernel
 */
export function sendThroughTslab(bundle: MimeBundle, metadata: Record<string, unknown> = {}): TslabRoute {
  const writer = tslabWriter();
  if (writer) {
    writer({ data: bundle, metadata, transient: {} }, false);
    return "tslab-bundle";
  }
  const pub = tslabPublic();
  const single = singleMimeFallback(bundle);
  if (pub && single) {
    pub.display.raw(single[0], single[1]);
    return "tslab-single";
  }
  return "none";
}

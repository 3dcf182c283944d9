/**
 * SVG → PNG in Node with no browser and no system library: resvg (a Rust SVG renderer) through
 * `@resvg/resvg-js`, whose npm package ships prebuilt N-API binaries per platform as optional
 * dependencies (no install script, so it installs where scripts are blocked; N-API, so one binary
 * serves Node 20 and 24) and renders synchronously — which `display` needs (see display.ts).
 * `@resvg/resvg-wasm` was the other candidate: the same renderer, but its WebAssembly start-up is
 * asynchronous, which a synchronous `plt.show()` cannot wait for.
 *
 * Text is drawn with DejaVu Sans from the `dejavu-fonts-ttf` package (matplotlib's default font),
 * never with the machine's fonts, so a PNG looks the same everywhere. resvg gives the pixels; the
 * PNG is encoded here (png.ts), faster than resvg's own encoder at a similar size.
 */
import * as path from "path";
import { encodePng } from "./png";

/** Device pixels per CSS pixel of the PNG: 2 keeps charts sharp on high-DPI screens. */
export const PNG_SCALE = 2;
/** Above this many device pixels the PNG scale drops (a huge chart would otherwise be huge). */
const MAX_PIXELS = 16_000_000;

interface ResvgModule {
  Resvg: new (svg: string, options: Record<string, unknown>) => {
    width: number;
    height: number;
    render(): { width: number; height: number; pixels: Buffer };
  };
}

let resvg: ResvgModule | undefined;
let fontFiles: string[] | undefined;

function load(): { resvg: ResvgModule; fonts: string[] } {
  if (!resvg) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      resvg = require("@resvg/resvg-js") as ResvgModule;
    } catch (err) {
      throw new Error(
        `the PNG renderer @resvg/resvg-js is not installed or has no binary for ${process.platform}-${process.arch} ` +
          `(${(err as Error).message.split("\n")[0]}); run npm install in the project to get it.`
      );
    }
  }
  if (!fontFiles) {
    const dir = path.join(path.dirname(require.resolve("dejavu-fonts-ttf/package.json")), "ttf");
    fontFiles = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf"].map((f) => path.join(dir, f));
  }
  return { resvg, fonts: fontFiles };
}

export interface RasterResult {
  /** The PNG file's bytes. */
  png: Buffer;
  /** Size in device pixels (the SVG's size × scale). */
  width: number;
  height: number;
  /** Device pixels per SVG pixel actually used. */
  scale: number;
}

/**
 * Renders an SVG (as vega writes it) to a PNG at `scale` device pixels per SVG pixel.
 * Synchronous. Throws if the renderer is missing (the message says how to get it).
 */
export function svgToPng(svg: string, scale = PNG_SCALE): RasterResult {
  const { resvg: mod, fonts } = load();
  const probe = /<svg[^>]*\swidth="([\d.]+)"[^>]*\sheight="([\d.]+)"/.exec(svg);
  const area = probe ? Number(probe[1]) * Number(probe[2]) : 0;
  const used = area * scale * scale > MAX_PIXELS ? Math.max(1, Math.sqrt(MAX_PIXELS / area)) : scale;
  const renderer = new mod.Resvg(svg, {
    fitTo: { mode: "zoom", value: used },
    font: { loadSystemFonts: false, fontFiles: fonts, defaultFontFamily: "DejaVu Sans", sansSerifFamily: "DejaVu Sans" },
    logLevel: "off",
  });
  const image = renderer.render();
  return { png: encodePng(image.pixels, image.width, image.height), width: image.width, height: image.height, scale: used };
}

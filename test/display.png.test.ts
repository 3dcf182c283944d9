/**
 * Charts that show wherever a notebook is read (issue 13): every bundle carries spec + SVG + PNG +
 * text; the PNG decodes (independent decoder, test/helpers/pngDecode.ts) at twice the SVG's size
 * and draws the chart's pixels; heatmaps past RASTER_CELLS cells and long-prompt attention viewers
 * become pictures (one pixel per cell) with hover blocks, staying small; the static SVG/PNG says
 * where the interactive view is instead of giving hover hints; vmin/vmax at any size; NaN blank.
 * Times are in the bench (`npm run bench -- --charts`), never asserted here.
 */
import * as assert from "assert";
import {
  INTERACTIVE_HINT,
  PNG_MIME,
  RASTER_CELLS,
  STATIC_CAPTION,
  SVG_MIME,
  TEXT_MIME,
  VEGALITE_MIME,
  attentionPatternsSpec,
  compileVegaLite,
  createPlotlyExpress,
  heatmapSpec,
  renderSvg,
  renderSvgSync,
  staticVariant,
  toBundle,
  type VegaLiteSpec,
} from "../src/display";
import { createPyplot } from "../src/display/pyplot";
import { causalAttention, chapterCharts } from "./helpers/displayFixtures";
import { dataUrlBytes, decodePng, pixel } from "./helpers/pngDecode";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const MB = 1024 * 1024;

function svgSize(svg: string): [number, number] {
  const m = /^<svg [^>]*width="([\d.]+)" height="([\d.]+)"/.exec(svg);
  assert.ok(m, "an <svg> with width and height");
  return [Number(m[1]), Number(m[2])];
}

/** Every image mark's data URL in a spec (walks the JSON). */
function imageUrls(spec: unknown): string[] {
  const out: string[] = [];
  JSON.stringify(spec, (k, v) => {
    if (k === "url" && typeof v === "string" && v.startsWith("data:image/png")) out.push(v);
    return v;
  });
  return out;
}

function subplotFigure(): VegaLiteSpec {
  let spec: VegaLiteSpec | undefined;
  const plt = createPyplot({ display: (c) => void (spec = c.spec) });
  const [, axes] = plt.subplots(1, 2, { figsize: [10, 4] });
  axes[0].imshow([[1, 2], [3, 4]], { aspect: "auto" });
  axes[1].plot([1, 3, 2], "o-");
  plt.show();
  return spec as VegaLiteSpec;
}

describe("display: PNG in every bundle, large inputs, static captions", function () {
  this.timeout(120_000);

  describe("bundles carry four MIME types and a PNG that decodes", () => {
    const specs: Array<[string, () => VegaLiteSpec]> = [
      ...Object.entries(chapterCharts()).map(([name, spec]) => [`chapter ${name}`, () => spec] as [string, () => VegaLiteSpec]),
      ["subplots", subplotFigure],
      ["px.bar", () => createPlotlyExpress().bar([{ a: "x", b: 1 }, { a: "y", b: -2 }], { x: "a", y: "b" }).toSpec()],
    ];
    for (const [name, build] of specs) {
      it(name, () => {
        const bundle = toBundle(build());
        assert.deepStrictEqual(Object.keys(bundle).sort(), [PNG_MIME, SVG_MIME, TEXT_MIME, VEGALITE_MIME].sort());
        const png = Buffer.from(bundle[PNG_MIME] as string, "base64");
        const img = decodePng(png);
        const [w, h] = svgSize(bundle[SVG_MIME] as string);
        assert.deepStrictEqual([img.width, img.height], [Math.ceil(w * 2), Math.ceil(h * 2)], "2× the SVG, for high-DPI screens");
        let ink = 0;
        for (let i = 0; i < img.width * img.height; i++) {
          const [r, g, b] = [img.rgba[i * 4], img.rgba[i * 4 + 1], img.rgba[i * 4 + 2]];
          if (r < 200 || g < 200 || b < 200) ink++;
        }
        assert.ok(ink > 0.01 * img.width * img.height, `drawn pixels: ${ink} of ${img.width * img.height}`);
        assert.ok(png.length < 150 * 1024, `a chapter-sized PNG stays small (${png.length} bytes)`);
      });
    }

    it("draws the cells' colours: a Reds checker 2×2 gives two #67000d cells of (2·step)² pixels", () => {
      const spec = heatmapSpec({ values: [[0, 1], [1, 0]], colormap: "Reds", vmin: 0, vmax: 1 }) as Json;
      const step = spec.width.step as number;
      const img = decodePng(Buffer.from(toBundle(spec)[PNG_MIME] as string, "base64"));
      let black = 0;
      let [x0, y0, x1, y1] = [Infinity, Infinity, -1, -1];
      for (let y = 0; y < img.height; y++) {
        for (let x = 0; x < img.width; x++) {
          const [r, g, b] = pixel(img, x, y);
          if (Math.abs(r - 0x67) + g + Math.abs(b - 0x0d) < 6) {
            black++;
            [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
          }
        }
      }
      const side = 2 * step; // one cell at 2×
      assert.ok(Math.abs(black - 2 * side * side) < 0.05 * 2 * side * side, `${black} black pixels, expected ~${2 * side * side}`);
      assert.ok(Math.abs(x1 - x0 + 1 - 2 * side) <= 2 && Math.abs(y1 - y0 + 1 - 2 * side) <= 2, "the two cells span the 2×2 plot");
    });
  });

  describe("large heatmaps become one picture", () => {
    const n = 1024;
    const checker = Array.from({ length: n }, (_, r) => Array.from({ length: n }, (_, c) => (r === 5 && c === 7 ? NaN : (r + c) % 2)));

    it("1024×1024: one pixel per cell, in the colormap, NaN transparent; each output under 2 MB", () => {
      const labels = Array.from({ length: n }, (_, i) => `t${i}`);
      const spec = heatmapSpec({ values: checker, colormap: "Greys", vmin: 0, vmax: 1, colorbar: { title: "w" }, xTicks: { positions: labels.map((_, i) => i), labels, rotation: 45, ha: "right" } }) as Json;
      assert.deepStrictEqual(compileVegaLite(spec).warnings, []);
      const urls = imageUrls(spec);
      assert.strictEqual(urls.length, 1);
      const pic = decodePng(dataUrlBytes(urls[0]));
      assert.deepStrictEqual([pic.width, pic.height], [n, n]);
      for (const [r, c] of [[0, 0], [0, 1], [1, 0], [511, 300], [1023, 1023], [1000, 3]]) {
        const expected = (r + c) % 2 ? [0, 0, 0, 255] : [255, 255, 255, 255]; // Greys: #ffffff → #000000
        assert.deepStrictEqual(pixel(pic, c, r), expected, `cell (${r}, ${c})`);
      }
      assert.strictEqual(pixel(pic, 7, 5)[3], 0, "NaN is blank");
      const bundle = toBundle(spec);
      for (const mime of [VEGALITE_MIME, SVG_MIME, PNG_MIME]) {
        const size = typeof bundle[mime] === "string" ? (bundle[mime] as string).length : JSON.stringify(bundle[mime]).length;
        assert.ok(size < 2 * MB, `${mime}: ${size} bytes`);
      }
      // the 1024 token labels are thinned to what fits (about one per 11 px)
      const axis = spec.layer[0].encoding.x.axis;
      assert.ok(axis.values.length <= Math.ceil(spec.width / 11) && axis.values.length >= 10, `${axis.values.length} labels`);
      const labelParam = spec.params.find((p: Json) => p.name === "xTickLabels");
      axis.values.forEach((pos: number, i: number) => assert.strictEqual(labelParam.value[i], `t${pos}`));
    });

    it("hover blocks name each block's largest cell, and only the interactive view has them", async () => {
      const values = Array.from({ length: 100 }, (_, r) => Array.from({ length: 100 }, (_, c) => Math.sin(r * 0.37 + c * 0.11) + r / 100));
      const spec = heatmapSpec({ values }) as Json;
      const hover = spec.layer.find((l: Json) => l.transform?.[0]?.filter === "!staticView");
      assert.ok(hover, "a hover layer filtered out of static pictures");
      const side = 2; // 100 cells / 64 blocks per side
      assert.strictEqual(hover.data.values.length, 50 * 50);
      for (const b of hover.data.values) {
        let best = -Infinity;
        for (let r = b.r; r < Math.min(100, b.r + side); r++) for (let c = b.c; c < Math.min(100, b.c + side); c++) best = Math.max(best, values[r][c]);
        assert.strictEqual(b.v, best);
        assert.strictEqual(values[b.R][b.C], best, "names the cell that holds it");
      }
      // the synchronous SVG (with the picture primed) equals vega's own asynchronous toSVG
      const norm = (svg: string) => svg.replace(/gradient_\d+/g, "gradient_N");
      assert.strictEqual(norm(renderSvgSync(spec)), norm(await renderSvg(spec)));
      assert.match(renderSvgSync(spec), /<image [^>]*href="data:image\/png;base64,/);
      const interactive = (renderSvgSync(spec).match(/<path /g) ?? []).length;
      const still = (renderSvgSync(staticVariant(spec)).match(/<path /g) ?? []).length;
      assert.ok(interactive - still >= hover.data.values.length, `${interactive} vs ${still} paths`);
    });

    it(`up to ${RASTER_CELLS} cells stay one rect each (exact tooltips)`, () => {
      const side = Math.floor(Math.sqrt(RASTER_CELLS));
      const small = heatmapSpec({ values: Array.from({ length: side }, () => Array(side).fill(1)) }) as Json;
      assert.strictEqual(small.mark.type, "rect");
      const big = heatmapSpec({ values: Array.from({ length: side + 1 }, () => Array(side + 1).fill(1)) }) as Json;
      assert.strictEqual(big.layer[0].mark.type, "image");
    });
  });

  describe("vmin/vmax and NaN at any size", () => {
    it("400×400 with only vmin (once a stack overflow) takes the data's max for vmax", () => {
      const values = Array.from({ length: 400 }, (_, r) => Array.from({ length: 400 }, (_, c) => (r * 400 + c) / 1000));
      const spec = heatmapSpec({ values, vmin: -1, colorbar: true }) as Json;
      const legendLayer = spec.layer.find((l: Json) => l.encoding?.color);
      assert.deepStrictEqual(legendLayer.encoding.color.scale.domain, [-1, (400 * 400 - 1) / 1000]);
      assert.deepStrictEqual(compileVegaLite(spec).warnings, []);
    });

    it("NaN cells are left out (blank) and every row and column keeps its place", () => {
      const spec = heatmapSpec({ values: [[1, NaN], [NaN, NaN]] }) as Json;
      assert.deepStrictEqual(spec.data.values.map((d: Json) => [d.row, d.col, d.value]), [[0, 0, 1]]);
      assert.deepStrictEqual(spec.encoding.x.scale.domain, [0, 1]);
      assert.deepStrictEqual(spec.encoding.y.scale.domain, [0, 1]);
      const plt = createPyplot({ display: () => undefined });
      assert.doesNotThrow(() => plt.imshow([[NaN, 1]]));
      assert.deepStrictEqual(compileVegaLite(spec).warnings, []);
      assert.ok(renderSvgSync(spec).includes("<path"));
    });
  });

  describe("the attention viewer for long prompts", () => {
    const n = 200;
    const attention = causalAttention(12, n);
    const tokens = Array.from({ length: n }, (_, i) => ` w${i}`);
    const spec = attentionPatternsSpec({ tokens, attention, initialHead: 3 }) as Json;

    it("draws each head as a picture: weight as opacity of its hue, masked triangle transparent", () => {
      assert.deepStrictEqual(compileVegaLite(spec).warnings, []);
      const big = spec.vconcat[1].layer[0].data.values;
      assert.strictEqual(big.length, 12);
      assert.strictEqual(spec.vconcat[0].data.values.length, 12, "one thumbnail each");
      const pic = decodePng(dataUrlBytes(big[3].url));
      assert.deepStrictEqual([pic.width, pic.height], [n, n]);
      for (const [q, k] of [[0, 0], [10, 3], [199, 0], [150, 149], [120, 120]]) {
        assert.strictEqual(pixel(pic, k, q)[3], Math.round(attention[3][q][k] * 255), `(${q}, ${k})`);
      }
      assert.strictEqual(pixel(pic, 5, 2)[3], 0, "key after query: blank");
    });

    it("hover gives query, key and the largest weight of each block of the shown head", () => {
      const hover = spec.vconcat[1].layer[1];
      assert.match(hover.transform[0].filter, /datum\.h == shownHead && !staticView/);
      const side = Math.ceil(n / 40);
      const rows = hover.data.values.filter((b: Json) => b.h === 3);
      assert.ok(rows.length > 0);
      for (const b of rows) {
        let best = -Infinity;
        for (let q = b.q0; q < Math.min(n, b.q0 + side); q++) for (let k = b.k0; k <= Math.min(q, b.k0 + side - 1); k++) best = Math.max(best, attention[3][q][k]);
        assert.ok(Math.abs(b.w - best) < 1e-4 && Math.abs(attention[3][b.q][b.k] - best) < 1e-12, JSON.stringify(b));
      }
      const tips = hover.encoding.tooltip.map((t: Json) => t.title);
      assert.deepStrictEqual(tips.slice(0, 4), ["query token", "query pos", "key token", "key pos"]);
    });

    it("the static picture has a caption and no hover hints; the live view has the hints; each output < 2 MB", () => {
      const bundle = toBundle(spec);
      const svg = bundle[SVG_MIME] as string;
      assert.ok(svg.includes(STATIC_CAPTION) && !svg.includes("hover to view"));
      assert.ok(renderSvgSync(spec).includes(INTERACTIVE_HINT));
      for (const mime of [VEGALITE_MIME, SVG_MIME, PNG_MIME]) {
        const size = typeof bundle[mime] === "string" ? (bundle[mime] as string).length : JSON.stringify(bundle[mime]).length;
        assert.ok(size < 2 * MB, `${mime}: ${size} bytes`);
      }
      const small = toBundle(attentionPatternsSpec({ tokens: tokens.slice(0, 6), attention: causalAttention(12, 6) }));
      assert.ok((small[SVG_MIME] as string).includes(STATIC_CAPTION) && !(small[SVG_MIME] as string).includes("hover to view"));
    });
  });
});

/**
 * Chart builders: every spec compiles with vega-lite without a warning and renders to SVG in Node;
 * the data in each spec is the data given (compared with independently computed values); options
 * the chapter uses land where Vega-Lite reads them; bad input fails with a message that says what
 * and where.
 */
import * as assert from "assert";
import { initBackend, tf } from "../src/backend";
import {
  attentionPatternsSpec,
  barSpec,
  compileVegaLite,
  groupedBarSpec,
  heatmapSpec,
  lineSpec,
  renderSvg,
  renderSvgSync,
  tokenLabel,
  VEGALITE_SCHEMA,
  type VegaLiteSpec,
} from "../src/display";
import { createPyplot, parseFormat } from "../src/display/pyplot";
import { ATTN_NORMS, MLP_NORMS, NORMS, TOKENS, causalAttention, chapterCharts, dataOf } from "./helpers/displayFixtures";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Gradient ids come from a process-wide counter; everything else must match byte for byte. */
const normalizeIds = (svg: string) => svg.replace(/gradient_\d+/g, "gradient_N");

const n = TOKENS.length;
const attention = causalAttention(12, n);

const BUILDERS: Array<[string, () => VegaLiteSpec]> = [
  ["heatmapSpec (defaults)", () => heatmapSpec({ values: [[1, 2, 3], [4, 5, 6]] })],
  ["heatmapSpec (vmin/vmax, reversed map)", () => heatmapSpec({ values: [[0, 1], [1, 0]], colormap: "RdBu_r", vmin: -1, vmax: 1, colorbar: true })],
  ["lineSpec (two labelled series, legend)", () =>
    lineSpec({ series: [{ y: [1, 3, 2], label: "a", marker: "o" }, { x: [0, 1, 2], y: [2, 2, 1], label: "b", lineStyle: "--" }], legend: true })],
  ["lineSpec (markers only)", () => lineSpec({ series: [{ y: [1, 2], marker: "s", lineStyle: null }] })],
  ["barSpec (negative heights)", () => barSpec({ series: [{ x: [0, 1, 2], heights: [1, -2, 3] }] })],
  ["groupedBarSpec", () => groupedBarSpec({ categories: [0, 1, 2], groups: [{ label: "A", values: [1, 2, 3] }, { label: "B", values: [3, 2, 1] }] })],
  ["attentionPatternsSpec (unmasked, 3 heads)", () =>
    attentionPatternsSpec({ tokens: ["a", "b", "c"], attention: causalAttention(3, 3), maskUpperTriangle: false, initialHead: 2 })],
  ...Object.entries(chapterCharts()).map(([name, spec]) => [`chapter chart: ${name}`, () => spec] as [string, () => VegaLiteSpec]),
];

describe("display: chart builders", function () {
  this.timeout(60_000);
  before(async () => {
    await initBackend();
  });

  describe("every spec compiles without warnings and renders to SVG", () => {
    for (const [name, build] of BUILDERS) {
      it(name, async () => {
        const spec = build();
        assert.strictEqual(spec.$schema, VEGALITE_SCHEMA);
        const { vega, warnings } = compileVegaLite(spec);
        assert.deepStrictEqual(warnings, []);
        assert.ok(Array.isArray(vega.marks) && (vega.marks as unknown[]).length > 0, "compiled Vega has marks");
        const svg = renderSvgSync(spec);
        assert.match(svg, /^<svg [^>]*width="\d+(\.\d+)?" height="\d+(\.\d+)?"/);
        assert.ok((svg.match(/<path /g) ?? []).length > 0, "the SVG draws shapes");
        // The synchronous path (used by display) must equal vega's public async toSVG.
        assert.strictEqual(normalizeIds(svg), normalizeIds(await renderSvg(spec)));
      });
    }
  });

  it("compileVegaLite collects vega-lite's warnings (so the checks above can fail)", () => {
    const { warnings } = compileVegaLite({
      data: { values: [{ a: 1 }] },
      mark: "point",
      encoding: { x: { field: "a", type: "quantitative" }, shape: { field: "a", type: "quantitative" } },
    });
    assert.ok(warnings.some((w) => /shape encoding should be discrete/.test(w)), warnings.join("\n"));
  });

  it("rendering leaves the caller's spec untouched", () => {
    const spec = lineSpec({ series: [{ y: [1, 2, 3] }] });
    const copy = structuredClone(spec);
    renderSvgSync(spec);
    assert.deepStrictEqual(spec, copy);
  });

  describe("imshow heatmap of one head (the chapter's plt.imshow cell)", () => {
    const spec = chapterCharts().heatmap as Json;

    it("holds every cell of the matrix once, row 0 at the top", () => {
      const values = dataOf(spec);
      assert.strictEqual(values.length, n * n);
      for (const d of values) {
        assert.strictEqual(d.value, attention[0][d.row as number][d.col as number]);
      }
      assert.strictEqual(spec.encoding.y.field, "row");
      assert.strictEqual(spec.encoding.y.type, "ordinal"); // ascending ordinal y: row 0 at the top
    });

    it("labels ticks with the tokens, keeping the repeated token at both positions", () => {
      const params = Object.fromEntries((spec.params as Json[]).map((p) => [p.name, p.value]));
      assert.deepStrictEqual(params.xTickLabels, TOKENS);
      assert.deepStrictEqual(params.xTickPositions, TOKENS.map((_, i) => i));
      const cols = dataOf(spec).filter((d) => d.row === n - 1);
      assert.deepStrictEqual(cols.map((d) => d.colLabel), TOKENS);
      const svg = renderSvgSync(spec);
      assert.strictEqual((svg.match(/>\s?capital</g) ?? []).length, 4, "' capital' labels twice on each axis");
      assert.ok(svg.includes("&lt;|endoftext|&gt;"));
    });

    it("rotates x labels 45° right-aligned, titles axes, uses Blues and a titled colour bar", () => {
      const x = spec.encoding.x.axis;
      assert.strictEqual(x.labelAngle, -45);
      assert.strictEqual(x.labelAlign, "right");
      assert.strictEqual(x.title, "Key (attending to)");
      assert.strictEqual(spec.encoding.y.axis.title, "Query (attending from)");
      assert.strictEqual(spec.title, "Attention Pattern: Layer 5, Head 0");
      const color = spec.encoding.color;
      assert.strictEqual(color.scale.range[0], "#f7fbff"); // matplotlib's Blues starts near white
      assert.strictEqual(color.scale.range.at(-1), "#08306b");
      assert.strictEqual(color.legend.title, "Attention weight");
      const svg = renderSvgSync(spec);
      for (const text of ["Key (attending to)", "Query (attending from)", "Attention weight", "Attention Pattern: Layer 5, Head 0"]) {
        assert.ok(svg.includes(text), `SVG shows "${text}"`);
      }
    });

    it("keeps cells square and the figure within figsize × 72 px", () => {
      assert.deepStrictEqual(spec.width, spec.height);
      const svg = renderSvgSync(spec);
      const [, w, h] = /width="([\d.]+)" height="([\d.]+)"/.exec(svg)!.map(Number);
      assert.ok(w <= 8 * 72 + 40 && h <= 6 * 72 + 40, `rendered ${w}×${h} for figsize [8, 6]`);
      assert.ok(w >= 8 * 72 * 0.6, `uses most of the width (${w})`);
    });
  });

  describe("line chart with markers and grid (residual norms by layer)", () => {
    const spec = chapterCharts().line as Json;
    it("plots y against 0..n-1 with points on a solid line", () => {
      const values = dataOf(spec, 0);
      assert.deepStrictEqual(values.map((d) => d.x), NORMS.map((_, i) => i));
      assert.deepStrictEqual(values.map((d) => d.y), NORMS);
      const mark = spec.layer[0].mark;
      assert.strictEqual(mark.type, "line");
      assert.strictEqual(mark.point.shape, "circle");
      assert.strictEqual(mark.strokeDash, undefined);
    });
    it("draws a light grid on both axes, sized from figsize [10, 4]", () => {
      const enc = spec.layer[0].encoding;
      assert.strictEqual(enc.x.axis.grid, true);
      assert.strictEqual(enc.y.axis.grid, true);
      assert.strictEqual(enc.y.axis.gridOpacity, 0.3);
      assert.deepStrictEqual([spec.width, spec.height], [720, 288]);
      assert.deepStrictEqual(spec.autosize, { type: "fit", contains: "padding" });
      assert.strictEqual(enc.color.legend, null); // no plt.legend() in this cell
    });
  });

  describe("grouped bars with legend (attention vs MLP by layer)", () => {
    const spec = chapterCharts().bars as Json;
    it("centres each series ∓ width/2 around the layer, with the given heights", () => {
      const [attnBars, mlpBars] = [dataOf(spec, 0), dataOf(spec, 1)];
      attnBars.forEach((d, i) => {
        assert.ok(Math.abs((d.x0 as number) - (i - 0.35)) < 1e-12 && Math.abs((d.x1 as number) - i) < 1e-12);
        assert.strictEqual(d.height, ATTN_NORMS[i]);
      });
      mlpBars.forEach((d, i) => {
        assert.ok(Math.abs((d.x0 as number) - i) < 1e-12 && Math.abs((d.x1 as number) - (i + 0.35)) < 1e-12);
        assert.strictEqual(d.height, MLP_NORMS[i]);
      });
    });
    it("has a legend of both labels in matplotlib's first two colours, alpha 0.8", () => {
      const color = spec.layer[0].encoding.color;
      assert.deepStrictEqual(color.scale, { domain: ["Attention", "MLP"], range: ["#1f77b4", "#ff7f0e"] });
      assert.deepStrictEqual(color.legend.values, ["Attention", "MLP"]);
      assert.strictEqual(spec.layer[0].mark.opacity, 0.8);
      const svg = renderSvgSync(spec);
      assert.ok(svg.includes(">Attention<") && svg.includes(">MLP<"), "legend entries in the SVG");
    });
    it("ticks every layer on x and grids only y; the y range starts at 0 with a 5% margin", () => {
      const enc = spec.layer[0].encoding;
      assert.deepStrictEqual(enc.x.axis.values, ATTN_NORMS.map((_, i) => i));
      assert.strictEqual(enc.x.axis.grid, undefined);
      assert.strictEqual(enc.y.axis.grid, true);
      const max = Math.max(...ATTN_NORMS, ...MLP_NORMS);
      assert.deepStrictEqual(enc.y.scale.domain, [0, max * 1.05]);
    });
    it("is the same chart groupedBarSpec builds", () => {
      const direct = groupedBarSpec({
        categories: ATTN_NORMS.map((_, i) => i),
        groups: [
          { label: "Attention", values: ATTN_NORMS, alpha: 0.8 },
          { label: "MLP", values: MLP_NORMS, alpha: 0.8 },
        ],
      }) as Json;
      for (const i of [0, 1]) {
        const a = dataOf(direct, i).map((d) => [d.x0, d.x1, d.height]);
        const b = dataOf(spec, i).map((d) => [d.x0, d.x1, d.height]);
        a.flat().forEach((v, j) => assert.ok(Math.abs((v as number) - (b.flat()[j] as number)) < 1e-12));
      }
    });
  });

  describe("attention-pattern viewer", () => {
    const spec = chapterCharts().attention as Json;
    const values = spec.data.values as Json[];

    it("holds the lower triangle of every head, weights as given", () => {
      assert.strictEqual(values.length, 12 * ((n * (n + 1)) / 2));
      for (const d of values) {
        assert.ok(d.key <= d.query, "no key after its query");
        assert.strictEqual(d.weight, attention[d.head][d.query][d.key]);
      }
    });

    it("uses positions as fields, so the repeated ' capital' stays two rows", () => {
      const capitalRows = new Set(values.filter((d) => d.queryToken === " capital").map((d) => d.query));
      assert.deepStrictEqual([...capitalRows].sort(), [2, 7]);
      const big = spec.vconcat[1];
      assert.strictEqual(big.encoding.x.field, "key");
      assert.strictEqual(big.encoding.y.field, "query");
      assert.strictEqual(big.encoding.x.axis.labelExpr, "tokenLabels[datum.value]");
      const params = Object.fromEntries((spec.params as Json[]).map((p) => [p.name, p]));
      assert.deepStrictEqual(params.tokenLabels.value, TOKENS.map(tokenLabel));
    });

    it("shows every head as a thumbnail and one head large in the static SVG", () => {
      const svg = renderSvgSync(spec);
      for (let h = 0; h < 12; h++) assert.ok(svg.includes(`>Head ${h}<`), `thumbnail header Head ${h}`);
      // "Head 0" twice: its thumbnail header and the large view's title.
      assert.strictEqual((svg.match(/>Head 0</g) ?? []).length, 2);
      assert.ok(svg.includes("Key (attending to)") && svg.includes("Query (attending from)"));
    });

    it("chooses heads by click, hover and a bound slider; tooltips name both tokens and the weight", () => {
      const frame = spec.vconcat[0].spec.layer[1];
      const byName = Object.fromEntries((frame.params as Json[]).map((p) => [p.name, p]));
      assert.deepStrictEqual(byName.lock.select.on, "click");
      assert.deepStrictEqual(byName.lock.bind.input, "range");
      assert.deepStrictEqual(byName.lock.value, [{ head: 0 }]);
      assert.strictEqual(byName.hover.select.on, "pointerover");
      const tooltipFields = spec.vconcat[1].encoding.tooltip.map((t: Json) => t.field);
      assert.deepStrictEqual(tooltipFields, ["queryToken", "query", "keyToken", "key", "weight"]);
    });

    it("switches the large view when the locked head changes (vega dataflow in Node)", async () => {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const vega = require("vega");
      const view = new vega.View(vega.parse(compileVegaLite(spec as VegaLiteSpec).vega), { renderer: "none" });
      await view.runAsync();
      assert.strictEqual(view.signal("shownHead"), 0);
      view.signal("lock_head", 7); // what the slider sets
      await view.runAsync();
      assert.strictEqual(view.signal("shownHead"), 7);
      const svg = await view.toSVG();
      assert.strictEqual((svg.match(/>Head 7</g) ?? []).length, 2);
      view.finalize();
    });

    it("leaves the upper triangle in only when asked, and starts at initialHead", () => {
      const unmasked = attentionPatternsSpec({ tokens: TOKENS, attention, maskUpperTriangle: false, initialHead: 3 }) as Json;
      assert.strictEqual(unmasked.data.values.length, 12 * n * n);
      assert.match(unmasked.params[2].expr, /: 3\)$/);
    });
  });

  describe("tensor inputs", () => {
    it("reads tf tensors like arrays and neither disposes nor leaks them", () => {
      const t3 = tf.tensor3d(attention);
      const t2 = tf.tensor2d(attention[1]);
      const t1 = tf.tensor1d(NORMS);
      const before = tf.memory().numTensors;
      const fromTensor = attentionPatternsSpec({ tokens: TOKENS, attention: t3 }) as Json;
      const heat = heatmapSpec({ values: t2 }) as Json;
      const line = lineSpec({ series: [{ y: t1 }] }) as Json;
      assert.strictEqual(tf.memory().numTensors, before);
      assert.ok(!t3.isDisposed && !t2.isDisposed && !t1.isDisposed);
      const fromArray = attentionPatternsSpec({ tokens: TOKENS, attention }) as Json;
      // float32 rounding: compare the weights at tolerance, everything else exactly
      assert.strictEqual(fromTensor.data.values.length, fromArray.data.values.length);
      fromTensor.data.values.forEach((d: Json, i: number) => {
        assert.ok(Math.abs(d.weight - fromArray.data.values[i].weight) < 1e-6);
        assert.deepStrictEqual([d.head, d.query, d.key], [fromArray.data.values[i].head, fromArray.data.values[i].query, fromArray.data.values[i].key]);
      });
      assert.strictEqual(heat.data.values.length, n * n);
      assert.strictEqual(dataOf(line, 0).length, NORMS.length);
      tf.dispose([t1, t2, t3]);
    });
  });

  describe("errors say what was wrong and where", () => {
    const cases: Array<[string, () => unknown, RegExp]> = [
      ["attention with a batch dimension", () => {
        const batched = tf.zeros([1, 12, n, n]);
        try {
          attentionPatternsSpec({ tokens: TOKENS, attention: batched as tf.Tensor3D });
        } finally {
          batched.dispose();
        }
      }, /rank 3 \[head, query_pos, key_pos\].*squeeze.*shape \[1, 12, 8, 8\]/],
      ["tokens and attention disagree", () => attentionPatternsSpec({ tokens: TOKENS.slice(1), attention }), /\[12, 8, 8\] but there are 7 tokens/],
      ["initial head out of range", () => attentionPatternsSpec({ tokens: TOKENS, attention, initialHead: 12 }), /initialHead 12 is not a head index \(0\.\.11\)/],
      ["ragged matrix", () => heatmapSpec({ values: [[1, 2], [3]] }), /values\[1\] has 1 entries, but earlier rows have 2/],
      ["infinite value (NaN is a blank cell)", () => heatmapSpec({ values: [[1, Infinity]] }), /values\[0\]\[1\] must be a finite number or NaN, but is Infinity/],
      ["unknown colormap", () => heatmapSpec({ values: [[1]], colormap: "jet" }), /unknown colormap "jet"\. Supported: Blues, .*viridis/],
      ["tick labels and positions differ", () => heatmapSpec({ values: [[1, 2]], xTicks: { positions: [0, 1], labels: ["a"] } }), /2 tick positions but 1 labels/],
      ["x and y lengths differ", () => lineSpec({ series: [{ x: [0, 1], y: [1, 2, 3] }] }), /series 0 has 2 x values but 3 y values/],
      ["duplicate series labels", () => lineSpec({ series: [{ y: [1], label: "a" }, { y: [2], label: "a" }] }), /two series are both labelled "a"/],
      ["unknown legend loc", () => lineSpec({ series: [{ y: [1], label: "a" }], legend: { loc: "middle" } }), /unsupported legend loc "middle"/],
    ];
    for (const [what, fn, message] of cases) {
      it(what, () => assert.throws(fn, message));
    }
  });
});

describe("display: pyplot surface", () => {
  const record = () => {
    const shown: VegaLiteSpec[] = [];
    return { shown, plt: createPyplot({ display: (c) => void shown.push(c.spec) }) };
  };

  it("parses matplotlib format strings", () => {
    const table: Array<[string, ReturnType<typeof parseFormat>]> = [
      ["o-", { marker: "o", lineStyle: "-", color: undefined }],
      ["-", { marker: null, lineStyle: "-", color: undefined }],
      ["o", { marker: "o", lineStyle: null, color: undefined }],
      ["r--", { marker: null, lineStyle: "--", color: "r" }],
      ["s:k", { marker: "s", lineStyle: ":", color: "k" }],
      ["-.", { marker: null, lineStyle: "-.", color: undefined }],
    ];
    for (const [fmt, expected] of table) assert.deepStrictEqual(parseFormat(fmt), expected, fmt);
    assert.throws(() => parseFormat("o-q"), /cannot read "q" in format string "o-q"/);
  });

  it("shows one chart per show(), then starts afresh (show with nothing drawn shows nothing)", () => {
    const { shown, plt } = record();
    plt.plot([1, 2, 3]);
    plt.show();
    plt.show();
    assert.strictEqual(shown.length, 1);
    plt.plot([3, 2, 1], "r--", { label: "down" });
    plt.legend({ loc: "upper right" });
    plt.show();
    const layer = (shown[1] as Json).layer[0];
    assert.deepStrictEqual(layer.mark.strokeDash, [6, 4]);
    assert.strictEqual(layer.encoding.color.scale.range[0], "#ff0000"); // matplotlib's "r" is pure red
    assert.strictEqual(layer.encoding.color.legend.orient, "top-right");
    assert.deepStrictEqual([(shown[1] as Json).width, (shown[1] as Json).height], [461, 346]); // figsize 6.4×4.8 at 72 px/in
  });

  it("prints a figure as matplotlib's repr does", () => {
    const { plt } = record();
    const fig = plt.figure({ figsize: [8, 6] });
    assert.strictEqual(require("util").inspect(fig), "<Figure size 576x432 with 0 Axes>");
    plt.plot([1]);
    assert.strictEqual(require("util").inspect(fig), "<Figure size 576x432 with 1 Axes>");
  });

  it("cycles colours per kind of artist as matplotlib does", () => {
    const { shown, plt } = record();
    plt.plot([1, 2]);
    plt.plot([2, 1]);
    plt.bar([0, 1], [1, 1]);
    plt.show();
    const ranges = (shown[0] as Json).layer[0].encoding.color.scale.range;
    assert.deepStrictEqual(ranges, ["#1f77b4", "#ff7f0e", "#1f77b4"]);
  });

  const errors: Array<[string, (plt: ReturnType<typeof createPyplot>) => void, RegExp]> = [
    ["unsupported imshow option", (plt) => plt.imshow([[1]], { interpolation: "nearest" } as never), /plt\.imshow: unsupported option "interpolation"\. Supported: cmap, vmin, vmax, aspect/],
    ["unsupported bar option", (plt) => plt.bar([0], [1], 0.5, { align: "edge" } as never), /plt\.bar: unsupported option "align"/],
    ["colorbar without an image", (plt) => plt.colorbar({ label: "x" }), /no image to make a colour bar for; call plt\.imshow first/],
    ["legend without labels", (plt) => { plt.plot([1]); plt.legend(); }, /no series has a label/],
    ["bad tick alignment", (plt) => plt.xticks([0], ["a"], { ha: "middle" as never }), /ha must be "left", "center" or "right"/],
    ["bars over an image", (plt) => { plt.imshow([[1]]); plt.bar([0], [1]); plt.show(); }, /bars on top of imshow are not supported/],
    ["a line over an image off its cells", (plt) => { plt.imshow([[1]]); plt.plot([1]); }, /over imshow, plot draws at cell centres/],
    ["bad figsize", (plt) => plt.figure({ figsize: [8] as never }), /figsize must be \[width, height\] in inches/],
    ["savefig to pdf", (plt) => { plt.plot([1]); plt.savefig("x.pdf"); }, /must end in \.svg, \.png or \.html/],
  ];
  for (const [what, fn, message] of errors) {
    it(`errors clearly: ${what}`, () => assert.throws(() => fn(createPyplot({ display: () => undefined })), message));
  }
});

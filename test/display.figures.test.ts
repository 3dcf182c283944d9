/**
 * Figures as the induction-heads and first-analysis notebooks draw them: `plt.subplots` grids
 * (one Vega-Lite concat chart, a colour scale per panel), `imshow(..., aspect: "auto")`, markers
 * drawn over a heatmap at cell centres in matplotlib's sizes, multi-line titles, plotly-express
 * `px.bar`, and values copied at call time (a tensor disposed before `show()` still draws).
 * Every chart compiles with no vega-lite warning and renders to SVG in Node.
 */
import * as assert from "assert";
import { inspect } from "util";
import { initBackend, tf } from "../src/backend";
import {
  Axes,
  PLOTLY_COLORS,
  attentionPatternsSpec,
  compileVegaLite,
  createPlotlyExpress,
  heatmapSpec,
  lineSpec,
  renderSvg,
  renderSvgSync,
  type VegaLiteSpec,
} from "../src/display";
import { createPyplot } from "../src/display/pyplot";
import { TOKENS, causalAttention } from "./helpers/displayFixtures";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const normalizeIds = (svg: string) => svg.replace(/gradient_\d+/g, "gradient_N");

/** [layer, head] scores, independent of the code under test: a smooth bump per layer. */
const scores = (shift: number) =>
  Array.from({ length: 12 }, (_, l) => Array.from({ length: 12 }, (_, h) => Math.exp(-((l - shift) ** 2) / 8) * (1 + h / 12)));
const PREV = scores(1);
const IND = scores(7);

function recorder() {
  const shown: VegaLiteSpec[] = [];
  return { shown, plt: createPyplot({ display: (c) => void shown.push(c.spec) }), px: createPlotlyExpress({ display: (c) => void shown.push(c.spec) }) };
}

/** The induction-heads notebook's comparison cell, call for call. */
function comparisonFigure(): Json {
  const { shown, plt } = recorder();
  const [, axes] = plt.subplots(1, 2, { figsize: [14, 5] });
  const im1 = axes[0].imshow(PREV, { cmap: "Blues", aspect: "auto" });
  axes[0].set_xlabel("Head");
  axes[0].set_ylabel("Layer");
  axes[0].set_title("Previous Token Scores\n(Early layers)");
  plt.colorbar(im1, { ax: axes[0] });
  const im2 = axes[1].imshow(IND, { cmap: "Reds", aspect: "auto" });
  axes[1].set_xlabel("Head");
  axes[1].set_ylabel("Layer");
  axes[1].set_title("Induction Scores\n(Later layers)");
  plt.colorbar(im2, { ax: axes[1] });
  plt.tight_layout();
  plt.show();
  return shown[0] as Json;
}

const MARKED: Array<[number, number]> = [[6, 2], [7, 3], [8, 4], [9, 5]];

/** The notebook's attention pattern with red circles at (key, query) cells. */
function markedPattern(): Json {
  const { shown, plt } = recorder();
  const attn = causalAttention(1, 10)[0];
  const tokens = Array.from({ length: 10 }, (_, i) => `t${i}`);
  plt.figure({ figsize: [10, 8] });
  plt.imshow(attn, { cmap: "Blues" });
  plt.colorbar({ label: "Attention Weight" });
  plt.xticks([...tokens.keys()], tokens, { rotation: 45, ha: "right" });
  plt.yticks([...tokens.keys()], tokens);
  plt.title("Induction Head Attention Pattern\nLayer 5, Head 1");
  for (const [q, k] of MARKED) plt.plot(k, q, "ro", { markersize: 15, fillstyle: "none", markeredgewidth: 2 });
  plt.tight_layout();
  plt.show();
  return shown[0] as Json;
}

function autoHeatmap(): Json {
  const { shown, plt } = recorder();
  plt.figure({ figsize: [12, 6] });
  plt.imshow(IND, { cmap: "Reds", aspect: "auto" });
  plt.colorbar({ label: "Induction Score" });
  plt.xlabel("Head");
  plt.ylabel("Layer");
  plt.title("Induction Scores by Head\n(Higher = more induction-like behavior)");
  plt.xticks([...Array(12).keys()]);
  plt.yticks([...Array(12).keys()]);
  plt.show();
  return shown[0] as Json;
}

function gridFigure(): Json {
  const { shown, plt } = recorder();
  const [, axes] = plt.subplots(2, 2, { figsize: [8, 6] });
  axes[0][0].plot([1, 3, 2], "o-");
  axes[0][0].set_xticks([0, 1, 2], ["a", "b", "c"]);
  axes[0][1].bar([0, 1], [2, 3]);
  axes[1][0].imshow([[1, 2], [3, 4]]);
  axes[1][0].set_xticks([0, 1], ["x", "y"]);
  // axes[1][1] stays empty: an empty frame, as matplotlib draws it
  plt.show();
  return shown[0] as Json;
}

/** first-analysis.ipynb's DataFrame records. */
const ATTRIB_ROWS = Array.from({ length: 12 }, (_, layer) => [
  { layer, component: "attention", diff: Math.sin(layer + 1) },
  { layer, component: "mlp", diff: Math.cos(layer) / 2 },
]).flat();

function attributionBars(barmode?: "group" | "relative" | "stack"): Json {
  const { shown, px } = recorder();
  const fig = px.bar(ATTRIB_ROWS, {
    x: "layer",
    y: "diff",
    color: "component",
    ...(barmode ? { barmode } : {}),
    title: "Attribution Difference: Positive vs Negative Sentiment",
    labels: { diff: "Contribution difference to 'great'", layer: "Layer" },
  });
  fig.show();
  assert.deepStrictEqual(shown[0], fig.toSpec());
  return shown[0] as Json;
}

const FIGURES: Array<[string, () => Json]> = [
  ["subplots(1, 2) of two auto-aspect heatmaps with colour bars", comparisonFigure],
  ["imshow with ro markers on top", markedPattern],
  ["imshow aspect auto, two-line title", autoHeatmap],
  ["subplots(2, 2) with line, bar, image and an empty panel", gridFigure],
  ["px.bar grouped", () => attributionBars("group")],
  ["px.bar relative (plotly's default)", () => attributionBars()],
  ["px.bar without colour", () => (createPlotlyExpress().bar([{ a: "x", b: 1 }, { a: "y", b: -2 }], { x: "a", y: "b" }).toSpec() as Json)],
];

describe("display: figures (subplots, overlays, aspect, px)", function () {
  this.timeout(60_000);
  before(async () => {
    await initBackend();
  });

  describe("every figure compiles without warnings and renders to SVG", () => {
    for (const [name, build] of FIGURES) {
      it(name, async () => {
        const spec = build();
        const { warnings } = compileVegaLite(spec);
        assert.deepStrictEqual(warnings, []);
        const svg = renderSvgSync(spec);
        assert.ok((svg.match(/<path /g) ?? []).length > 0, "the SVG draws shapes");
        assert.strictEqual(normalizeIds(svg), normalizeIds(await renderSvg(spec)));
      });
    }
  });

  describe("plt.subplots", () => {
    it("returns axes shaped as matplotlib: one Axes, a row or column array, or a 2-D grid", () => {
      const { plt } = recorder();
      const table: Array<[number, number, (axes: unknown) => void]> = [
        [1, 1, (a) => assert.ok(a instanceof Axes)],
        [1, 3, (a) => assert.ok(Array.isArray(a) && a.length === 3 && a.every((x) => x instanceof Axes))],
        [3, 1, (a) => assert.ok(Array.isArray(a) && a.length === 3 && a.every((x) => x instanceof Axes))],
        [2, 3, (a) => assert.ok(Array.isArray(a) && a.length === 2 && a.every((r) => Array.isArray(r) && r.length === 3 && r.every((x) => x instanceof Axes)))],
      ];
      for (const [rows, cols, check] of table) {
        const [fig, axes] = plt.subplots(rows, cols, { figsize: [6, 4] });
        check(axes);
        assert.strictEqual(inspect(fig), `<Figure size 432x288 with ${rows * cols === 1 ? 0 : rows * cols} Axes>`, `${rows}×${cols}`);
      }
    });

    it("draws 1×2 as one hconcat chart, each panel its own data, colour scale and colour bar", () => {
      const spec = comparisonFigure();
      assert.strictEqual(spec.hconcat.length, 2);
      assert.deepStrictEqual(spec.resolve, { scale: { color: "independent" }, legend: { color: "independent" } });
      const [left, right] = spec.hconcat;
      assert.deepStrictEqual(left.title, ["Previous Token Scores", "(Early layers)"]);
      assert.deepStrictEqual(right.title, ["Induction Scores", "(Later layers)"]);
      assert.strictEqual(left.encoding.color.scale.range[0], "#f7fbff"); // Blues
      assert.strictEqual(right.encoding.color.scale.range[0], "#fff5f0"); // Reds
      assert.ok(left.encoding.color.legend && right.encoding.color.legend, "both have a colour bar");
      for (const [panel, values] of [[left, PREV], [right, IND]] as const) {
        assert.strictEqual(panel.data.values.length, 144);
        for (const d of panel.data.values) assert.strictEqual(d.value, values[d.row][d.col]);
        assert.strictEqual(panel.encoding.x.axis.title, "Head");
        assert.strictEqual(panel.encoding.y.axis.title, "Layer");
      }
      // Vega itself ends up with two colour scales and two gradient legends (resolve works).
      const { vega } = compileVegaLite(spec);
      const colorScales = JSON.stringify(vega).match(/"name":"[^"]*color"/g) ?? [];
      assert.ok(colorScales.length >= 2, `two colour scales, got ${colorScales.join(", ")}`);
      assert.strictEqual((renderSvgSync(spec).match(/role-legend-gradient/g) ?? []).length, 2);
    });

    it("draws n×m as vconcat of hconcat rows, keeping each panel's tick labels apart", () => {
      const spec = gridFigure();
      assert.strictEqual(spec.vconcat.length, 2);
      assert.deepStrictEqual(spec.vconcat.map((r: Json) => r.hconcat.length), [2, 2]);
      const names = spec.params.map((p: Json) => p.name).sort();
      assert.deepStrictEqual(names, ["p0_0_xTickLabels", "p0_0_xTickPositions", "p1_0_xTickLabels", "p1_0_xTickPositions"]);
      assert.deepStrictEqual(spec.params.find((p: Json) => p.name === "p1_0_xTickLabels").value, ["x", "y"]);
      const svg = renderSvgSync(spec);
      for (const label of ["a", "b", "c", "x", "y"]) assert.match(svg, new RegExp(`>${label}</text>`), label);
    });

    it("puts plt.* calls on the current (last) axes, as matplotlib", () => {
      const { shown, plt } = recorder();
      const [, axes] = plt.subplots(1, 2);
      axes[0].plot([1, 2]);
      plt.plot([5, 6, 7]);
      plt.title("right");
      plt.show();
      const spec = shown[0] as Json;
      assert.strictEqual(spec.hconcat[1].title, "right");
      assert.deepStrictEqual(spec.hconcat[1].layer[0].data.values.map((d: Json) => d.y), [5, 6, 7]);
      assert.deepStrictEqual(spec.hconcat[0].layer[0].data.values.map((d: Json) => d.y), [1, 2]);
    });
  });

  describe("imshow aspect", () => {
    it('"auto" fills the figure\'s box, "equal" keeps cells square', () => {
      const auto = autoHeatmap();
      assert.strictEqual(typeof auto.width, "number");
      assert.strictEqual(typeof auto.height, "number");
      // 12 × 6 in at 72 px: a wide box; the plot area keeps most of it
      assert.ok(auto.width / auto.height > 1.8, `${auto.width}×${auto.height}`);
      assert.ok(auto.width > 0.8 * 864 && auto.height > 0.6 * 432, `${auto.width}×${auto.height}`);
      const equal = heatmapSpec({ values: IND, width: 864, height: 432 }) as Json;
      assert.deepStrictEqual(equal.width, equal.height);
      assert.ok(typeof equal.width.step === "number");
      assert.deepStrictEqual(auto.title, ["Induction Scores by Head", "(Higher = more induction-like behavior)"]);
    });
  });

  describe("plot over imshow", () => {
    it("layers hollow red circles, markersize² in area, edge width in points, at the given cells", () => {
      const spec = markedPattern();
      assert.strictEqual(spec.layer.length, 1 + MARKED.length);
      assert.strictEqual(spec.layer[0].mark.type, "rect");
      spec.layer.slice(1).forEach((l: Json, i: number) => {
        assert.deepStrictEqual(l.mark, { type: "point", shape: "circle", filled: false, size: 225, opacity: 1, strokeWidth: 2, color: "#ff0000" });
        assert.deepStrictEqual(l.data.values, [{ col: MARKED[i][1], row: MARKED[i][0], order: 0 }]);
      });
    });

    it("draws each circle at its cell's centre, 15 px wide (the rendered SVG)", () => {
      const spec = markedPattern();
      const step = spec.width.step as number;
      const svg = renderSvgSync(spec);
      const circles = [...svg.matchAll(/translate\(([\d.]+),([\d.]+)\)" d="M7\.5,0A7\.5,7\.5[^"]*" stroke="#ff0000" stroke-width="2"/g)];
      assert.strictEqual(circles.length, MARKED.length);
      circles.forEach((m, i) => {
        const [q, k] = MARKED[i];
        assert.ok(Math.abs(Number(m[1]) - (k + 0.5) * step) < 0.01 && Math.abs(Number(m[2]) - (q + 0.5) * step) < 0.01, m[0]);
      });
    });

    it("says what to do when a point is not a cell or bars are drawn over an image", () => {
      const { plt } = recorder();
      plt.imshow([[1, 2], [3, 4]]);
      assert.throws(() => plt.plot(2, 0, "ro"), /x must be a column 0\.\.1 and y a row 0\.\.1; point 0 is \(2, 0\)/);
      assert.throws(() => plt.plot(0.5, 0, "ro"), /cell centres/);
      plt.bar([0], [1]);
      assert.throws(() => plt.show(), /bars on top of imshow are not supported/);
    });
  });

  describe("multi-line titles and labels", () => {
    it('"a\\nb" becomes two lines in titles, axis titles and colour bars, and in the SVG', () => {
      const heat = heatmapSpec({ values: [[1]], title: "t1\nt2", xTitle: "x1\nx2", yTitle: "y", colorbar: { title: "c1\nc2" } }) as Json;
      assert.deepStrictEqual(heat.title, ["t1", "t2"]);
      assert.deepStrictEqual(heat.encoding.x.axis.title, ["x1", "x2"]);
      assert.strictEqual(heat.encoding.y.axis.title, "y");
      assert.deepStrictEqual(heat.encoding.color.legend.title, ["c1", "c2"]);
      assert.strictEqual(heat.encoding.tooltip[1].title, "x1 x2", "tooltips take one line");
      const line = lineSpec({ series: [{ y: [1, 2] }], title: "a\nb", yTitle: "u\nv" }) as Json;
      assert.deepStrictEqual(line.title, ["a", "b"]);
      assert.deepStrictEqual(line.layer[0].encoding.y.axis.title, ["u", "v"]);
      const viewer = attentionPatternsSpec({ tokens: TOKENS, attention: causalAttention(2, TOKENS.length), title: "L5\nprompt" }) as Json;
      assert.deepStrictEqual(viewer.title.text, ["L5", "prompt"]);
      const svg = renderSvgSync(heat);
      for (const part of ["t1", "t2", "x1", "x2", "c1", "c2"]) assert.match(svg, new RegExp(`<tspan[^>]*>${part}</tspan>`), part);
    });
  });

  describe("px.bar", () => {
    it("groups bars by colour with xOffset, in plotly's palette, titled from labels", () => {
      const spec = attributionBars("group");
      assert.deepStrictEqual(spec.encoding.color.scale, { domain: ["attention", "mlp"], range: [PLOTLY_COLORS[0], PLOTLY_COLORS[1]] });
      assert.deepStrictEqual(PLOTLY_COLORS.slice(0, 3), ["#636efa", "#EF553B", "#00cc96"]);
      assert.strictEqual(spec.encoding.xOffset.field, "color");
      assert.strictEqual(spec.encoding.y.stack, undefined);
      assert.strictEqual(spec.encoding.x.axis.title, "Layer");
      assert.strictEqual(spec.encoding.y.axis.title, "Contribution difference to 'great'");
      assert.strictEqual(spec.encoding.color.legend.title, "component");
      assert.strictEqual(spec.title, "Attribution Difference: Positive vs Negative Sentiment");
      assert.deepStrictEqual(spec.encoding.x.sort, [...Array(12).keys()]);
      assert.deepStrictEqual(
        spec.data.values,
        ATTRIB_ROWS.map((r) => ({ x: r.layer, y: r.diff, color: r.component }))
      );
      // both colours are drawn
      const svg = renderSvgSync(spec);
      assert.ok(svg.includes('fill="#636efa"') && svg.includes('fill="#EF553B"'));
    });

    it("stacks by default (plotly's relative) and keeps categories in order of appearance", () => {
      assert.strictEqual(attributionBars().encoding.y.stack, "zero");
      assert.strictEqual(attributionBars("stack").encoding.y.stack, "zero");
      const spec = createPlotlyExpress().bar([{ c: "b", v: 1 }, { c: "a", v: 2 }, { c: "b", v: 3 }], { x: "c", y: "v" }).toSpec() as Json;
      assert.deepStrictEqual(spec.encoding.x.sort, ["b", "a"]);
      assert.deepStrictEqual(spec.encoding.color, { value: "#636efa" });
    });

    const cases: Array<[string, () => unknown, RegExp]> = [
      ["a missing column", () => createPlotlyExpress().bar([{ a: 1 }], { x: "a", y: "b" }), /row 0 has no column "b"/],
      ["a non-number y", () => createPlotlyExpress().bar([{ a: 1, b: "2" }], { x: "a", y: "b" }), /row 0 column "b" must be a finite number, but is 2/],
      ["an unknown barmode", () => createPlotlyExpress().bar([{ a: 1, b: 2 }], { x: "a", y: "b", barmode: "overlay" as never }), /barmode must be "group", "relative" or "stack"/],
      ["an unknown option", () => createPlotlyExpress().bar([{ a: 1, b: 2 }], { x: "a", y: "b", text: "b" } as never), /unsupported option "text"/],
      ["no rows", () => createPlotlyExpress().bar([], { x: "a", y: "b" }), /non-empty array of records/],
    ];
    for (const [what, fn, message] of cases) it(`errors clearly: ${what}`, () => assert.throws(fn, message));
  });

  describe("values are copied when a call is made", () => {
    it("plot, imshow, bar, ticks and px.bar draw after their tensors are disposed, leaking nothing", () => {
      const { shown, plt, px } = recorder();
      const before = tf.memory().numTensors;
      const y = tf.tensor1d([3, 1, 2]);
      const img = tf.tensor2d([[1, 2], [3, 4]]);
      const heights = tf.tensor1d([5, 6]);
      const ticks = tf.tensor1d([0, 1]);
      const k = tf.scalar(1);
      const v = tf.scalar(2.5);
      plt.plot(y);
      plt.show();
      plt.imshow(img);
      plt.xticks(ticks, ["a", "b"]);
      plt.plot(k, 0, "ro");
      plt.show();
      plt.bar([0, 1], heights);
      plt.show();
      const fig = px.bar([{ x: "a", y: v }], { x: "x", y: "y" });
      // dispose before anything is drawn (the first show drew; the spec must not hold the tensor)
      const { plt: plt2 } = recorder();
      const late = tf.tensor1d([7, 8]);
      plt2.plot(late);
      late.dispose();
      plt2.show();
      tf.dispose([y, img, heights, ticks, k, v]);
      fig.show();
      assert.strictEqual(tf.memory().numTensors, before);
      assert.deepStrictEqual((shown[0] as Json).layer[0].data.values.map((d: Json) => d.y), [3, 1, 2]);
      assert.deepStrictEqual((shown[1] as Json).layer[0].data.values.map((d: Json) => d.value), [1, 2, 3, 4]);
      assert.deepStrictEqual((shown[1] as Json).layer[1].data.values, [{ col: 1, row: 0, order: 0 }]);
      assert.deepStrictEqual((shown[2] as Json).layer[0].data.values.map((d: Json) => d.height), [5, 6]);
      assert.deepStrictEqual((shown[3] as Json).data.values, [{ x: "a", y: 2.5 }]);
      for (const s of shown) assert.deepStrictEqual(compileVegaLite(s).warnings, []);
    });

    it("plt.plot(t); t.dispose(); plt.show() works", () => {
      const { shown, plt } = recorder();
      const t = tf.tensor1d([1, 4, 9]);
      plt.plot(t, "o-");
      t.dispose();
      assert.doesNotThrow(() => plt.show());
      assert.deepStrictEqual((shown[0] as Json).layer[0].data.values.map((d: Json) => d.y), [1, 4, 9]);
    });
  });

  describe("plt.colorbar(im, { ax })", () => {
    it("puts the bar beside the image's axes, and refuses another axes", () => {
      const { shown, plt } = recorder();
      const [, axes] = plt.subplots(1, 2);
      const im = axes[0].imshow([[1, 2]]);
      axes[1].imshow([[3, 4]]);
      assert.throws(() => plt.colorbar(im, { ax: axes[1] }), /the image is on axes\[0\] but ax is axes\[1\]/);
      plt.colorbar(im, { label: "w" });
      plt.show();
      const spec = shown[0] as Json;
      assert.strictEqual(spec.hconcat[0].encoding.color.legend.title, "w");
      assert.strictEqual(spec.hconcat[1].encoding.color.legend, null);
    });
  });
});

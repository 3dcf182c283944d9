/**
 * The book's first-analysis and exercises notebooks, executed headless under the tslab kernel on a
 * generated 12-layer, 12-head checkpoint (test/helpers/notebookRun.ts): every code cell runs, the
 * prints of the originals are there in their formats, the charts carry their Vega-Lite spec and
 * SVG, and every number printed agrees, at its printed precision, with the float64 reference of
 * test/reference/analyses.ts (plain loops on the processed weights; nothing from the library).
 *
 * Needs Jupyter (Debian: jupyter-notebook python3-nbclient jupyter-nbconvert); `.ci/run` installs it.
 * Each notebook runs on both kernels, tslab and Deno's (skipped with the reason where the optional
 * `deno` is not installed, except under CI).
 */
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as path from "path";
import { denoMissingReason } from "../kernel-setup/denoKernel";
import type { NotebookKernel } from "../scripts/run-notebook";
import { requireTool } from "./helpers/requireTool";
import { Gpt2Tokenizer, BOS_TOKEN_ID } from "../src/tokenizer/gpt2Tokenizer";
import {
  HeadlessNotebookRun, assertChartBundle, cellWith, chartBundles, runNotebookHeadless, stdoutLines,
} from "./helpers/notebookRun";
import { LinePart, expectLine, expectLines, expectRanking, num } from "./helpers/printedNumbers";
import {
  ReferenceModel, componentContributions, fractionActive, headAblationDrops, headAttribution, lastAttentionRow,
  logitAttribution, logitLensTopK, meanAbsOffDiagonalCosine, mlpVsAttention, patchedLastPosition,
  patchedLogitsPerLayer, rowAt, saeTopFeatures, sentimentScores, tokenLogit, topKIndices, topPredictions, unembedCosine,
} from "./reference/analyses";
import { readReferenceSae, referenceEncode } from "./reference/sae";
import { itRanEveryCell } from "./helpers/notebookChecks";

const tokenizer = new Gpt2Tokenizer();
/** model.toTokens(text)[0]: BOS, then the text's ids. */
const toTokens = (text: string): number[] => [BOS_TOKEN_ID, ...tokenizer.encode(text)];
const single = (text: string): number => {
  const ids = tokenizer.encode(text);
  assert.strictEqual(ids.length, 1, `${JSON.stringify(text)} is not one token`);
  return ids[0];
};
const decode = (id: number): string => tokenizer.decode([id]);
/** Python's f"{s:N}" for a string: left-aligned, padded with spaces to N code points. */
const pad = (s: string, width: number): string => s + " ".repeat(Math.max(0, width - [...s].length));
/** Python's repr() of a list of strings, from Python itself (an independent check of pyRepr). */
function pythonRepr(list: string[]): string {
  return execFileSync("python3", ["-c", "import json, sys; print(repr(json.load(sys.stdin)), end='')"], { input: JSON.stringify(list) }).toString("utf8");
}

function commonChecks(notebook: string, get: () => HeadlessNotebookRun): void {
  itRanEveryCell(notebook, undefined, get);

  it("loads the model and names its shape", () => {
    const lines = stdoutLines(get().run.executed, "HookedTransformer.fromPretrained(");
    assert.match(lines[0], /^GPU available: (True|False)$/);
    assert.match(lines[lines.length - 1], /^Loaded \S+: 12 layers, 12 heads$/);
  });
}

const KERNELS: NotebookKernel[] = ["tslab", "deno"];

for (const kernel of KERNELS) describe(`notebooks/first-analysis.ipynb, headless on the 12-layer checkpoint (${kernel})`, function () {
  this.timeout(900_000);
  const NOTEBOOK = "notebooks/first-analysis.ipynb";
  const POSITIVE = "I love this movie because it is";
  const NEGATIVE = "I hate this movie because it is";
  let h: HeadlessNotebookRun;
  let ref: ReferenceModel;
  const out = (marker: string) => stdoutLines(h.run.executed, marker);

  before(async function () {
    if (kernel === "deno") requireTool(this, "Deno (the optional dependency deno)", denoMissingReason());
    h = await runNotebookHeadless(NOTEBOOK, { kernel });
    ref = ReferenceModel.fromCheckpoint(h.checkpoint);
  });
  after(() => h?.cleanup());

  commonChecks(NOTEBOOK, () => h);

  it("prints the top 5 predictions with probability and logit for both prompts", () => {
    const block = (prompt: string): LinePart[][] =>
      topPredictions(ref, toTokens(prompt), 5).map((p) => [`  ${pad(decode(p.id), 15)} prob=`, num(p.prob, ".3f"), "  logit=", num(p.logit, ".2f")]);
    expectLines(out("getTopPredictions(model, \"I love"), [
      [`POSITIVE: '${POSITIVE}'`], ...block(POSITIVE), [""], [`NEGATIVE: '${NEGATIVE}'`], ...block(NEGATIVE),
    ], "top predictions");
  });

  it("prints the logits of ' great' and ' bad' after each prompt", () => {
    const l = (prompt: string, word: string) => num(tokenLogit(ref, toTokens(prompt), single(word)), ".2f");
    expectLines(out("function getTokenLogit("), [
      ["Logit for 'great':"], ["  After 'love': ", l(POSITIVE, " great")], ["  After 'hate': ", l(NEGATIVE, " great")],
      [""], ["Logit for 'bad':"], ["  After 'love': ", l(POSITIVE, " bad")], ["  After 'hate': ", l(NEGATIVE, " bad")],
    ], "chosen-word logits");
  });

  it("attributes the ' great' logit to each component, and ranks the differences", () => {
    const great = single(" great");
    const pos = logitAttribution(ref, toTokens(POSITIVE), great);
    const neg = logitAttribution(ref, toTokens(NEGATIVE), great);
    expectLines(out("const [posAttrib, posLogit]"), [
      ["Total logit for ' great': positive=", num(pos.logit, ".2f"), ", negative=", num(neg.logit, ".2f")],
      ["Difference: ", num(pos.logit - neg.logit, ".2f")],
    ], "total logits");
    const diffs: [string, number][] = [...pos.contributions.keys()].map((k) => [k, pos.contributions.get(k)! - neg.contributions.get(k)!]);
    assert.strictEqual(diffs.length, 2 + 2 * 12);
    const ranked = [...diffs].sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]));
    const lines = out("const diffAttrib");
    assert.deepStrictEqual(lines.slice(0, 4), [
      "", "Components with largest attribution difference (positive - negative):",
      "(Positive values → component pushes more toward 'great' in positive case)", "-".repeat(60),
    ]);
    const rows = lines.slice(4);
    const printed = rows.map((r) => r.split(" ")[0]);
    expectRanking(printed, ranked.slice(0, 10), Math.abs, "attribution ranking");
    rows.forEach((row, i) => {
      const k = printed[i];
      expectLine(row, [pad(k, 15), " diff=", num(pos.contributions.get(k)! - neg.contributions.get(k)!, "+.3f"),
        "  (pos=", num(pos.contributions.get(k)!, ".3f"), ", neg=", num(neg.contributions.get(k)!, ".3f"), ")"], `attribution row ${i + 1}`);
    });
  });

  it("draws the grouped bar chart of the per-layer differences, with the reference's values", () => {
    const bundles = chartBundles(cellWith(h.run.executed, "px.bar("));
    assert.strictEqual(bundles.length, 1);
    const spec = assertChartBundle(bundles[0], "grouped bars");
    // px.bar's spec: one record per DataFrame row, {x: layer, y: diff, color: component}; bars side by side (xOffset).
    const records = (spec.data as { values: { x: number; y: number; color: string }[] }).values;
    assert.strictEqual(records.length, 24, "one record per layer and component");
    assert.ok((spec.encoding as Record<string, unknown>).xOffset, "grouped bars (barmode: group)");
    const great = single(" great");
    const pos = logitAttribution(ref, toTokens(POSITIVE), great).contributions;
    const neg = logitAttribution(ref, toTokens(NEGATIVE), great).contributions;
    for (const r of records) {
      const key = `L${r.x}_${r.color === "attention" ? "attn" : "mlp"}`;
      const want = pos.get(key)! - neg.get(key)!;
      assert.ok(Math.abs(r.y - want) <= 1e-4 * Math.max(1, Math.abs(want)), `${key}: chart ${r.y}, reference ${want}`);
    }
    assert.ok(JSON.stringify(spec).includes("Attribution Difference: Positive vs Negative Sentiment"), "title");
    assert.ok(JSON.stringify(spec).includes("Contribution difference to 'great'"), "y label from `labels`");
  });

  it("ranks the heads by attribution difference through z @ W_O", () => {
    const great = single(" great");
    const pos = headAttribution(ref, toTokens(POSITIVE), great);
    const neg = headAttribution(ref, toTokens(NEGATIVE), great);
    const diffs: [string, number][] = [...pos.keys()].map((k) => [k, pos.get(k)! - neg.get(k)!]);
    const lines = out("function headAttribution(");
    assert.deepStrictEqual(lines.slice(0, 2), ["Top 10 heads by attribution difference:", "-".repeat(50)]);
    const rows = lines.slice(2);
    const printed = rows.map((r) => r.split(":")[0]);
    expectRanking(printed, [...diffs].sort((a, b) => Math.abs(b[1]) - Math.abs(a[1])).slice(0, 10), Math.abs, "head ranking");
    rows.forEach((row, i) => expectLine(row, [`${printed[i]}: diff=`, num(pos.get(printed[i])! - neg.get(printed[i])!, "+.3f")], `head row ${i + 1}`));
  });

  it("patches ' love' (position 2, not 1: BOS comes first) at every layer, with the reference's logits", () => {
    const great = single(" great");
    const strTokens = toTokens(POSITIVE).map(decode);
    assert.strictEqual(strTokens[2], " love");
    const clean = tokenLogit(ref, toTokens(POSITIVE), great);
    const patched = patchedLogitsPerLayer(ref, toTokens(POSITIVE), toTokens(NEGATIVE), 2).map((l) => l[great]);
    expectLines(out("const sentimentPos = 2"), [
      [`Tokens: ${pythonRepr(strTokens)}`], [""], ["Patching 'love' → 'hate' at sentiment position:"], ["-".repeat(50)],
      ["Original (love → great): ", num(clean, ".2f")],
      ...patched.map((p, l): LinePart[] => [`Layer ${String(l).padStart(2)}: `, num(p, ".2f"), " (change: ", num(p - clean, "+.2f"), ")"]),
    ], "patching");
    assert.ok(patched.some((p) => Math.abs(p - clean) > 0.01), "patching position 2 changes the logit somewhere");
  });

  it("shows the attention viewer of layer 8 and names head 6", () => {
    const cell = cellWith(h.run.executed, "cv.attention.attentionPatterns(");
    assert.deepStrictEqual(stdoutLines(h.run.executed, "cv.attention.attentionPatterns("), [
      "Attention pattern for L8H6", `Tokens: ${pythonRepr(toTokens(POSITIVE).map(decode))}`,
    ]);
    const bundles = chartBundles(cell);
    assert.strictEqual(bundles.length, 1);
    assertChartBundle(bundles[0], "attention viewer");
  });

  it("runs the generalization test and the neutral case", () => {
    const cases: [string, string][] = [
      ["I really love this book because it is", "positive"],
      ["I absolutely hate this song because it is", "negative"],
      ["This restaurant is great because the food is", "positive"],
      ["This restaurant is terrible because the food is", "negative"],
    ];
    const [great, bad] = [single(" great"), single(" bad")];
    const neutral = "I watched this movie because it is";
    expectLines(out("const testCases"), [
      ["Generalization test:"],
      ...cases.map(([prompt, expected]): LinePart[] => {
        const g = tokenLogit(ref, toTokens(prompt), great);
        const b = tokenLogit(ref, toTokens(prompt), bad);
        const match = (g > b ? "positive" : "negative") === expected ? "✓" : "✗";
        return [`${match} ${pad(expected, 8)} | great=`, num(g, ".1f"), ", bad=", num(b, ".1f"), ` | ${prompt.slice(0, 40)}...`];
      }),
      [""],
      ["Neutral case: great=", num(tokenLogit(ref, toTokens(neutral), great), ".2f"), ", bad=", num(tokenLogit(ref, toTokens(neutral), bad), ".2f")],
    ], "generalization");
  });

  it("the only chart outputs are the bar chart and the attention viewer", () => {
    assert.strictEqual(h.run.executed.cells.flatMap((c) => chartBundles(c)).length, 2);
  });
});

for (const kernel of KERNELS) describe(`notebooks/exercises.ipynb, headless on the 12-layer checkpoint (${kernel})`, function () {
  this.timeout(900_000);
  const NOTEBOOK = "notebooks/exercises.ipynb";
  const EIFFEL = "The Eiffel Tower is in";
  let h: HeadlessNotebookRun;
  let ref: ReferenceModel;
  const out = (marker: string) => stdoutLines(h.run.executed, marker);

  before(async function () {
    if (kernel === "deno") requireTool(this, "Deno (the optional dependency deno)", denoMissingReason());
    h = await runNotebookHeadless(NOTEBOOK, { kernel, saes: { saeIds: ["blocks.8.hook_resid_pre"], dSae: 256, seed: 5 } });
    ref = ReferenceModel.fromCheckpoint(h.checkpoint);
  });
  after(() => h?.cleanup());

  commonChecks(NOTEBOOK, () => h);

  it("2.1: where the last position of layer 0, head 0 attends", () => {
    const tokens = toTokens("The cat sat on the");
    const row = lastAttentionRow(ref, tokens, 0, 0);
    expectLines(out("Solution 2.1"), [["Attention from final 'the':"], ...tokens.map((t, i): LinePart[] => [`  ${decode(t)}: `, num(row[i], ".3f")])], "2.1");
  });

  it("2.2: the fraction of active MLP neurons in layer 5", () => {
    expectLines(out("Solution 2.2"), [["Fraction active: ", num(fractionActive(ref, toTokens("The cat sat on the"), 5), ".1%")]], "2.2");
  });

  it("3.1: the logit lens's top 5 tokens at every layer", () => {
    const top = logitLensTopK(ref, toTokens(EIFFEL), 5);
    const lines = out("Solution 3.1");
    assert.strictEqual(lines.length, 12);
    top.forEach((ids, layer) => {
      const words = ids.map(decode);
      const paris = words.includes(" Paris") || words.includes("Paris");
      assert.strictEqual(lines[layer], `Layer ${layer}: ${pythonRepr(words)} ${paris ? "<-- Paris!" : ""}`);
    });
  });

  it("3.2: the five largest contributions to ' Paris' among MLPs and heads", () => {
    const all = componentContributions(ref, toTokens(EIFFEL), single(" Paris"));
    assert.strictEqual(all.length, 12 * 13);
    const ranked = [...all].sort((a, b) => b[1] - a[1]);
    const lines = out("Solution 3.2");
    assert.strictEqual(lines[0], "Top contributors to 'Paris':");
    const printed = lines.slice(1).map((l) => l.trim().split(":")[0]);
    expectRanking(printed, ranked.slice(0, 5), (v) => v, "3.2 ranking");
    const value = new Map(all);
    lines.slice(1).forEach((l, i) => expectLine(l, [`  ${printed[i]}: `, num(value.get(printed[i])!, "+.2f")], `3.2 row ${i + 1}`));
  });

  it("4.1: pairwise cosine similarities of six unembedding vectors", () => {
    const words = [" Paris", " London", " Berlin", " cat", " dog", " fish"];
    const expected: LinePart[][] = [["Cosine similarities:"]];
    words.forEach((w1, i) => words.forEach((w2, j) => {
      if (j > i) expected.push([`  ${w1} - ${w2}: `, num(unembedCosine(ref, single(w1), single(w2)), ".3f")]);
    }));
    expectLines(out("Solution 4.1"), expected, "4.1");
  });

  it("5.1: the sentiment score of two sentences along the W_E direction", () => {
    const ids = (ws: string[]) => ws.map(single);
    const sentences = ["This movie is fantastic", "This movie is terrible"];
    const scores = sentimentScores(ref, ids([" good", " great", " excellent", " wonderful"]), ids([" bad", " terrible", " awful", " horrible"]), sentences.map(toTokens));
    expectLines(out("Solution 5.1"), sentences.map((s, i): LinePart[] => [`${s}: `, num(scores[i], "+.2f")]), "5.1");
  });

  it("6.1: the mean |cos| of the 100 unembeddings Python's random.seed(42) samples", () => {
    // random.seed(42); random.sample(list(range(50257)), 100), printed by CPython 3.
    const sample = [
      41905, 7296, 1639, 48598, 18024, 16049, 14628, 9144, 48265, 6717, 44348, 48540, 35741, 5697, 38698, 27651, 2082, 1952, 6140, 14328,
      15247, 33118, 39453, 1739, 36781, 13031, 46925, 42590, 45962, 35713, 27493, 14446, 29439, 38618, 18231, 425, 49729, 10463, 45753, 27696,
      22298, 18210, 10189, 14110, 50036, 22059, 6698, 6078, 24898, 6338, 23526, 22541, 39565, 17335, 2847, 47823, 30108, 35142, 8180, 24807,
      5164, 36178, 19213, 41198, 40535, 23700, 37837, 12601, 46174, 4558, 3003, 43336, 14935, 18965, 5229, 15256, 6619, 24911, 18217, 29714,
      41660, 23909, 10659, 24260, 23283, 13730, 43920, 17496, 45994, 44796, 42469, 4679, 39920, 41613, 11215, 35005, 47784, 16043, 10708, 30294,
    ];
    expectLines(out("Solution 6.1"), [["Average |cosine similarity|: ", num(meanAbsOffDiagonalCosine(ref, sample), ".4f")]], "6.1");
  });

  it("10.1: the ' 4' logit split into MLP and attention totals", () => {
    const { mlp, attn } = mlpVsAttention(ref, toTokens("2 + 2 ="), single(" 4"));
    expectLines(out("Solution 10.1"), [
      ["MLP contribution: ", num(mlp, ".2f")], ["Attention contribution: ", num(attn, ".2f")], ["MLP fraction: ", num(mlp / (mlp + attn), ".1%")],
    ], "10.1");
  });

  it("11.1: Rome and Paris logits after patching layer 6's last position", () => {
    const logits = patchedLastPosition(ref, toTokens("The Colosseum is in"), toTokens("The Louvre is in"), 6);
    expectLines(out("Solution 11.1"), [
      ["Rome logit: ", num(logits[single(" Rome")], ".2f")], ["Paris logit: ", num(logits[single(" Paris")], ".2f")],
      [`Prediction: ${decode(topKIndices(logits, 1)[0])}`],
    ], "11.1");
  });

  it("12.1: the heads whose zero-ablation through attn.hook_z lowers ' Paris' most", () => {
    const { baseline, drops } = headAblationDrops(ref, toTokens(EIFFEL), single(" Paris"));
    const lines = out("Solution 12.1");
    expectLine(lines[0], ["Baseline Paris logit: ", num(baseline, ".2f")], "12.1 baseline");
    assert.deepStrictEqual(lines.slice(1, 3), ["", "Heads whose ablation most reduces Paris logit:"]);
    const rows = lines.slice(3);
    const printed = rows.map((l) => l.trim().split(":")[0]);
    expectRanking(printed, [...drops].sort((a, b) => b[1] - a[1]).slice(0, 5), (v) => v, "12.1 ranking");
    const value = new Map(drops);
    // Python prints f"-{drop:.2f}": a minus sign in front of the formatted drop, whatever its sign.
    rows.forEach((l, i) => {
      const d = value.get(printed[i])!;
      expectLine(l.replace(/^(\s+\S+: )-(-?)/, "$1$2"), [`  ${printed[i]}: `, num(d, ".2f")], `12.1 row ${i + 1}`);
      assert.match(l, /^\s+\S+: -/);
    });
  });

  it("9.1: the five most active features of the layer-8 SAE (served by SAE_OVERRIDE_DIR), with Neuronpedia links", () => {
    const sae = readReferenceSae(path.join(h.saeDir!, "blocks.8.hook_resid_pre"));
    const top = saeTopFeatures(ref, sae, toTokens("The president of the United States"), 8, 5);
    assert.ok(top[4][1] > 0, "the fixture SAE has at least five active features here");
    const lines = out("Solution 9.1");
    assert.strictEqual(lines[0], "Top 5 features:");
    const printed = lines.filter((_, i) => i % 2 === 1).map((l) => l.trim().replace(/^Feature (\d+):.*$/, "$1"));
    expectRanking(printed, top.map(([f, a]): [string, number] => [String(f), a]), (v) => v, "9.1 ranking");
    const act = new Map(referenceEncode(sae, rowAt(ref.run(toTokens("The president of the United States")).cache.get("blocks.8.hook_resid_pre")!, -1)).entries());
    expectLines(lines.slice(1), printed.flatMap((f): LinePart[][] => [
      [`  Feature ${f}: `, num(act.get(Number(f))!, ".2f")], [`  https://neuronpedia.org/gpt2-small/8-res-jb/${f}`],
    ]), "9.1");
  });
});

/**
 * Chapter 13 (induction heads), executed headless the way `npm run notebook` does, under the tslab
 * kernel, on the generated 12-layer, 12-head checkpoint of test/helpers/notebookRun.ts
 * (MODEL_OVERRIDE_DIR): every code cell runs, the prints of the original are there, every chart
 * carries its Vega-Lite spec and SVG and draws in the web page, and the numbers printed (scores,
 * top heads, target logit and rank, with and without ablation through hook_z) and the heatmaps'
 * matrices agree with the independent float64 reference (test/reference/induction.ts).
 *
 * Needs Jupyter (Debian: jupyter-notebook python3-nbclient jupyter-nbconvert); `.ci/run` installs it.
 * It runs on both kernels, tslab and Deno's (skipped with the reason where the optional `deno` is
 * not installed, except under CI).
 */
import * as assert from "assert";
import { denoMissingReason } from "../kernel-setup/denoKernel";
import { requireTool } from "./helpers/requireTool";
import * as fs from "fs";
import * as path from "path";
import { NotebookRun, streamText, NotebookKernel } from "../scripts/run-notebook";
import { BOS_TOKEN_ID, Gpt2Tokenizer } from "../src/tokenizer/gpt2Tokenizer";
import { HeadlessNotebookRun, NOTEBOOK_CHECKPOINT, allStdout, assertChartBundle, cellWith, chartBundles, runNotebookHeadless } from "./helpers/notebookRun";
import { closeAtPrecision, dataArrays, heatmapMatrices, itRanEveryCell } from "./helpers/notebookChecks";
import { Gpt2Params, NaiveForwardResult, gpt2Params, naiveForward } from "./reference/naiveGpt2";
import { centerLastAxis } from "./reference/processed";
import { readSafetensorsF64 } from "./reference/safetensorsRead";
import { TargetResult, headsByScore, inductionScores, prevTokenScores, rankInterval, targetLogitAndRank } from "./reference/induction";

/** GPT-2 small's 12 layers, 12 heads and vocabulary (the real tokenizer); narrow otherwise. */
const SHAPE = { nLayers: NOTEBOOK_CHECKPOINT.nLayers!, nHeads: NOTEBOOK_CHECKPOINT.nHeads!, dVocab: NOTEBOOK_CHECKPOINT.dVocab! };
/**
 * How far a float32 logit of the 12-layer checkpoint may be from the float64 reference, and a
 * score (a mean of attention weights): beyond the printed precision's half unit.
 */
const LOGIT_TOL = 5e-5;
const SCORE_TOL = 1e-5;

const NB13 = "notebooks/13-induction-heads.ipynb";

/** A head as the notebook printed it: its place and the score's digits. */
interface PrintedHead {
  layer: number;
  head: number;
  printed: string;
}

const tokenizer = new Gpt2Tokenizer();
const toTokens = (text: string): number[] => [BOS_TOKEN_ID, ...tokenizer.encode(text)];
const stdoutOf = streamText;

/** The one chart the cell with `marker` displayed: its Vega-Lite spec (with an SVG and a text fallback). */
function chartIn(run: NotebookRun, marker: string): Record<string, unknown> {
  const bundles = chartBundles(cellWith(run.executed, marker));
  assert.strictEqual(bundles.length, 1, `charts shown by the cell with ${JSON.stringify(marker)}`);
  return assertChartBundle(bundles[0], marker);
}

for (const kernel of ["tslab", "deno"] as NotebookKernel[]) describe(`chapter 13 notebook (induction heads), headless under the ${kernel} kernel`, function () {
  this.timeout(900_000);
  let h: HeadlessNotebookRun;
  let run: NotebookRun;
  let params: Gpt2Params;
  let config: Parameters<typeof naiveForward>[1];

  // The reference, computed once from the checkpoint's file.
  const TEXT = "The city of Paris is in France. I visited Paris";
  const REPEATED = "A B C D E A B C D";
  const TEST_TEXT = "The word hello is followed by world. The word hello is followed by";
  let repeated: NaiveForwardResult;
  let seqLen: number;
  let induction: number[][];
  let prevToken: number[][];

  before(async function () {
    if (kernel === "deno") requireTool(this, "Deno (the optional dependency deno)", denoMissingReason());
    h = await runNotebookHeadless(NB13, { kernel });
    run = h.run;
    config = JSON.parse(fs.readFileSync(path.join(h.checkpoint, "config.json"), "utf8"));
    params = gpt2Params(readSafetensorsF64(path.join(h.checkpoint, "model.safetensors")), config);
    const repeatedTokens = toTokens(REPEATED);
    seqLen = repeatedTokens.length;
    repeated = naiveForward(params, config, [repeatedTokens]);
    induction = inductionScores(repeated.cache, SHAPE.nLayers, seqLen);
    prevToken = prevTokenScores(repeated.cache, SHAPE.nLayers, seqLen);
  });
  after(() => h?.cleanup());

  itRanEveryCell(NB13, 3, () => h);

  it("prints the set-up lines and the repeated sequence's tokens as Python lists them", () => {
    const out = allStdout(run.executed);
    assert.match(out, /^Using device: \S.*$/m);
    assert.match(out, new RegExp(`^Loaded GPT-2 Small: ${SHAPE.nLayers} layers, ${SHAPE.nHeads} heads per layer$`, "m"));
    assert.ok(out.includes(`Test sequence: '${TEXT}'\n`), out);
    assert.ok(out.includes("Expected: model should predict 'France' or similar after second 'Paris'\n"));
    assert.ok(out.includes("Tokens: ['<|endoftext|>', 'A', ' B', ' C', ' D', ' E', ' A', ' B', ' C', ' D']\n"), out);
    assert.strictEqual(seqLen, 10);
  });

  it("the top 5 predictions after 'Paris' are the reference's, with logits at 2 decimals", () => {
    const lines = stdoutOf(cellWith(run.executed, "topK(finalLogits, 5)")).split("\n");
    assert.strictEqual(lines[0], "Top predictions after 'Paris':");
    const { logits } = naiveForward(params, config, [toTokens(TEXT)]);
    const last = centerLastAxis(logits).data.slice((toTokens(TEXT).length - 1) * SHAPE.dVocab);
    const order = Array.from(last.keys()).sort((a, b) => last[b] - last[a]);
    const printed = lines.slice(1, 6).map((l) => /^ {2}'(.*)' \(logit=(-?\d+\.\d{2})\)$/s.exec(l));
    printed.forEach((m, i) => {
      assert.ok(m, `prediction line ${i + 1}: ${JSON.stringify(lines[i + 1])}`);
      // A near-tie may swap two neighbours: the printed token's logit must be the i-th largest.
      const id = order.slice(0, 10).find((t) => tokenizer.decode([t]) === m[1]);
      assert.ok(id !== undefined, `printed token ${JSON.stringify(m[1])} is not among the reference's top 10`);
      assert.ok(Math.abs(last[id] - last[order[i]]) <= LOGIT_TOL, `prediction ${i + 1}: ${m[1]} (${last[id]}) vs ${last[order[i]]}`);
      closeAtPrecision(m[2], last[id], LOGIT_TOL, `logit of prediction ${i + 1}`);
    });
  });

  /** `  Layer L, Head H: S` lines under `title` in the cell containing `marker`. */
  function printedHeads(marker: string, title: string, n: number): PrintedHead[] {
    const lines = stdoutOf(cellWith(run.executed, marker)).split("\n");
    const start = lines.indexOf(title);
    assert.ok(start >= 0, `no line ${JSON.stringify(title)} in:\n${lines.join("\n")}`);
    return lines.slice(start + 1, start + 1 + n).map((l) => {
      const m = /^ {2}Layer (\d+), Head (\d+): (\d\.\d{3})$/.exec(l);
      assert.ok(m, `head line ${JSON.stringify(l)}`);
      return { layer: Number(m[1]), head: Number(m[2]), printed: m[3] };
    });
  }

  function checkRanking(printed: PrintedHead[], scores: number[][], what: string): void {
    const ranked = headsByScore(scores);
    printed.forEach((p, i) => {
      const ref = scores[p.layer][p.head];
      // The printed head's score must be the i-th largest (a near-tie may swap neighbours).
      assert.ok(Math.abs(ref - ranked[i].score) <= SCORE_TOL, `${what} #${i + 1}: layer ${p.layer} head ${p.head} scores ${ref}, the reference's #${i + 1} is ${JSON.stringify(ranked[i])}`);
      closeAtPrecision(p.printed, ref, SCORE_TOL, `${what} of layer ${p.layer} head ${p.head}`);
    });
    assert.strictEqual(new Set(printed.map((p) => `${p.layer}.${p.head}`)).size, printed.length, `${what}: a head printed twice`);
  }

  it("the top 10 heads by induction score are the reference's", () => {
    checkRanking(printedHeads("measureInductionScore(repeatedCache", "Top 10 heads by induction score:", 10), induction, "induction score");
  });

  it("the top 5 previous-token heads are the reference's", () => {
    checkRanking(printedHeads("measurePrevTokenScore(repeatedCache", "Top 5 'previous token' heads:", 5), prevToken, "previous-token score");
  });

  it("the best induction head is the reference's argmax, its score at 3 decimals", () => {
    const out = stdoutOf(cellWith(run.executed, "argmax2d(inductionScores)"));
    const m = /^Best induction head: Layer (\d+), Head (\d+)\nScore: (\d\.\d{3})\n$/.exec(out);
    assert.ok(m, out);
    const [layer, head] = [Number(m[1]), Number(m[2])];
    assert.ok(Math.abs(induction[layer][head] - headsByScore(induction)[0].score) <= SCORE_TOL, `layer ${layer} head ${head} is not the best`);
    closeAtPrecision(m[3], induction[layer][head], SCORE_TOL, "best head's score");
  });

  describe("ablation through hook_z", () => {
    let target: number;
    let clean: TargetResult;
    let best: { layer: number; head: number };
    let top5: { layer: number; head: number }[];

    before(() => {
      const ids = tokenizer.encode(" world");
      assert.strictEqual(ids.length, 1);
      target = ids[0];
      clean = targetLogitAndRank(params, config, toTokens(TEST_TEXT), target);
      const m = /^Best induction head: Layer (\d+), Head (\d+)$/m.exec(allStdout(run.executed));
      assert.ok(m);
      best = { layer: Number(m[1]), head: Number(m[2]) };
      top5 = printedHeads("measureInductionScore(repeatedCache", "Top 10 heads by induction score:", 5);
    });

    /** Checks a printed rank against the reference's, allowing neighbours within float32 error to swap. */
    function checkRank(printed: string, ref: TargetResult, what: string): void {
      const [lo, hi] = rankInterval(ref.lastLogits, target, 2 * LOGIT_TOL);
      const r = Number(printed);
      assert.ok(Number.isInteger(r) && r >= lo && r <= hi, `${what}: printed rank ${printed}, reference ${ref.rank} (could be ${lo}..${hi})`);
    }

    it("the clean target logit and rank are the reference's", () => {
      const out = stdoutOf(cellWith(run.executed, "getInductionLoss(model, testText, target);"));
      const m = /^Clean model:\n {2}Target ' world' logit: (-?\d+\.\d{2})\n {2}Target rank: (\d+)\n$/.exec(out);
      assert.ok(m, out);
      closeAtPrecision(m[1], clean.logit, LOGIT_TOL, "clean logit");
      checkRank(m[2], clean, "clean");
    });

    it("ablating the best head: the logit, rank and drop of the reference's ablation", () => {
      const ablated = targetLogitAndRank(params, config, toTokens(TEST_TEXT), target, [best]);
      const out = stdoutOf(cellWith(run.executed, "ablateHead(bestLayer, bestHead)"));
      const re = new RegExp(
        String.raw`^\nWith Layer ${best.layer} Head ${best.head} ablated:\n {2}Target ' world' logit: (-?\d+\.\d{2}) \(was (-?\d+\.\d{2})\)\n` +
          String.raw` {2}Target rank: (\d+) \(was (\d+)\)\n\n {2}Logit drop: (-?\d+\.\d{2})\n$`
      );
      const m = re.exec(out);
      assert.ok(m, out);
      closeAtPrecision(m[1], ablated.logit, LOGIT_TOL, "ablated logit");
      closeAtPrecision(m[2], clean.logit, LOGIT_TOL, "clean logit (was)");
      checkRank(m[3], ablated, "ablated");
      checkRank(m[4], clean, "clean (was)");
      closeAtPrecision(m[5], clean.logit - ablated.logit, 2 * LOGIT_TOL, "logit drop");
      // The ablation must do something for this check to mean anything.
      assert.ok(Math.abs(clean.logit - ablated.logit) > 1e-3, `ablating layer ${best.layer} head ${best.head} changes nothing in the reference`);
    });

    it("ablating the top 5 heads (two hooks may share a layer): the reference's logit, rank and drop", () => {
      const ablated = targetLogitAndRank(params, config, toTokens(TEST_TEXT), target, top5);
      const out = stdoutOf(cellWith(run.executed, "fwdHooks: hooks"));
      const m = new RegExp(
        String.raw`^With top 5 induction heads ablated:\n {2}Target logit: (-?\d+\.\d{2}) \(was (-?\d+\.\d{2})\)\n` +
          String.raw` {2}Target rank: (\d+) \(was (\d+)\)\n\n {2}Total logit drop: (-?\d+\.\d{2})\n$`
      ).exec(out);
      assert.ok(m, out);
      closeAtPrecision(m[1], ablated.logit, LOGIT_TOL, "multi-ablated logit");
      closeAtPrecision(m[2], clean.logit, LOGIT_TOL, "clean logit (was)");
      checkRank(m[3], ablated, "multi-ablated");
      checkRank(m[4], clean, "clean (was)");
      closeAtPrecision(m[5], clean.logit - ablated.logit, 2 * LOGIT_TOL, "total logit drop");
    });
  });

  it("the induction heatmap holds the reference's score matrix, [n_layers, n_heads]", () => {
    const spec = chartIn(run, 'plt.imshow(inductionScores, { cmap: "Reds", aspect: "auto" })');
    const [matrix] = heatmapMatrices(spec, 1);
    compareMatrix(matrix, induction, "induction heatmap");
    assert.ok(JSON.stringify(spec).includes("Induction Scores by Head"), "title");
  });

  it("the pattern heatmap is the best head's pattern, with red unfilled circles at the four induction positions", () => {
    const spec = chartIn(run, '"ro", { markersize: 15');
    const m = /^Best induction head: Layer (\d+), Head (\d+)$/m.exec(allStdout(run.executed))!;
    const [layer, head] = [Number(m[1]), Number(m[2])];
    const pattern = repeated.cache.get(`blocks.${layer}.attn.hook_pattern`)!;
    const expected = Array.from({ length: seqLen }, (_, q) => Array.from({ length: seqLen }, (_, k) => pattern.data[(head * seqLen + q) * seqLen + k]));
    const [matrix] = heatmapMatrices(spec, 1);
    compareMatrix(matrix, expected, "pattern heatmap");
    checkMarkers(spec, [[2, 6], [3, 7], [4, 8], [5, 9]]);
    const out = stdoutOf(cellWith(run.executed, '"ro", { markersize: 15'));
    assert.strictEqual(out, "Red circles mark induction positions:\nPosition 6 (A) → Position 2 (C): attend to what followed previous A\n");
  });

  it("the two-panel comparison holds the previous-token and induction matrices, side by side", () => {
    const cell = cellWith(run.executed, "plt.subplots(1, 2");
    const spec = chartIn(run, "plt.subplots(1, 2");
    const [left, right] = heatmapMatrices(spec, 2);
    compareMatrix(left, prevToken, "previous-token panel");
    compareMatrix(right, induction, "induction panel");
    const text = JSON.stringify(spec);
    for (const t of ["Previous Token Scores", "(Early layers)", "Induction Scores", "(Later layers)"]) assert.ok(text.includes(t), `title part ${t}`);
    assert.ok(stdoutOf(cell).endsWith("This is the two-layer circuit: early heads enable later heads!\n"));
  });
});

function compareMatrix(actual: number[][], expected: number[][], what: string): void {
  assert.deepStrictEqual([actual.length, actual[0]?.length], [expected.length, expected[0].length], `${what}: shape`);
  actual.forEach((row, r) =>
    row.forEach((v, c) => assert.ok(Math.abs(v - expected[r][c]) <= SCORE_TOL, `${what}[${r}][${c}] = ${v}, reference ${expected[r][c]}`))
  );
}

/**
 * The chart draws one red unfilled circle (matplotlib's "ro", fillstyle none, markeredgewidth 2,
 * markersize 15 → area 225) at each (x, y) = (key, query): point marks whose data records, read
 * through their x/y encoding fields, are exactly `points`.
 */
function checkMarkers(spec: unknown, points: [number, number][]): void {
  const views: Record<string, unknown>[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === "object") {
      const o = node as Record<string, unknown>;
      const mark = o.mark as { type?: string } | undefined;
      if (mark && typeof mark === "object" && mark.type === "point") views.push(o);
      Object.values(o).forEach(walk);
    }
  };
  walk(spec);
  const drawn: [number, number][] = [];
  for (const view of views) {
    const mark = view.mark as Record<string, unknown>;
    assert.deepStrictEqual(
      { color: mark.color, filled: mark.filled, shape: mark.shape, size: mark.size, strokeWidth: mark.strokeWidth },
      { color: "#ff0000", filled: false, shape: "circle", size: 225, strokeWidth: 2 },
      "marker style"
    );
    const enc = view.encoding as { x: { field: string }; y: { field: string } };
    for (const r of dataArrays(view.data).flat()) drawn.push([r[enc.x.field] as number, r[enc.y.field] as number]);
  }
  assert.deepStrictEqual(drawn.sort(), [...points].sort(), "marker positions (key, query)");
}

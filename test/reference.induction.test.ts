/**
 * The Chapter 13 reference (test/reference/induction.ts) on hand-made attention patterns whose
 * scores are known, and its ablation on properties that hold whatever the weights: with every
 * head's z zeroed only the biases cross positions, so the last position's logits no longer depend
 * on the earlier tokens. (That zeroing the processed z is setting the unprocessed one to the value
 * bias is checked where it matters: the notebook's ablated logits, computed by the library on the
 * processed model, must equal these; test/notebooks.induction.test.ts.)
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { writeTinyCheckpoint } from "./fixtures/checkpoint";
import { headsByScore, inductionScores, prevTokenScores, rankInterval, targetLogitAndRank } from "./reference/induction";
import { NdArray, gpt2Params, ndarray } from "./reference/naiveGpt2";
import { readSafetensorsF64 } from "./reference/safetensorsRead";

/** A [1, heads, P, P] pattern with `weight(head, q, k)` in each cell. */
function pattern(heads: number, P: number, weight: (head: number, q: number, k: number) => number): NdArray {
  const a = ndarray([1, heads, P, P]);
  for (let h = 0; h < heads; h++) for (let q = 0; q < P; q++) for (let k = 0; k < P; k++) a.data[(h * P + q) * P + k] = weight(h, q, k);
  return a;
}

describe("reference: Chapter 13's scores and ablation", () => {
  const P = 10;
  // Head 0 attends to the induction key (q - 4) from the repeated half; head 1 to the previous
  // token everywhere; head 2 uniformly over the causal prefix.
  const cache = new Map([
    [
      "blocks.0.attn.hook_pattern",
      pattern(3, P, (h, q, k) => {
        if (h === 0) return q >= 6 ? (k === q - 4 ? 1 : 0) : k === 0 ? 1 : 0;
        if (h === 1) return q === 0 ? (k === 0 ? 1 : 0) : k === q - 1 ? 1 : 0;
        return k <= q ? 1 / (q + 1) : 0;
      }),
    ],
  ]);

  const cases: { what: string; fn: typeof inductionScores; seqLen: number; expected: number[] }[] = [
    { what: "induction, 10 tokens", fn: inductionScores, seqLen: 10, expected: [1, 0, (1 / 7 + 1 / 8 + 1 / 9 + 1 / 10) / 4] },
    // With 8 tokens only queries 6 and 7 count.
    { what: "induction, 8 tokens", fn: inductionScores, seqLen: 8, expected: [1, 0, (1 / 7 + 1 / 8) / 2] },
    // Head 0 looks at the previous token only from query 1 (key 0); queries 6..9 look at q - 4.
    { what: "previous token, 10 tokens", fn: prevTokenScores, seqLen: 10, expected: [1 / 9, 1, [...Array(9).keys()].reduce((s, i) => s + 1 / (i + 2), 0) / 9] },
  ];
  for (const { what, fn, seqLen, expected } of cases) {
    it(`${what}: ${expected.map((v) => v.toFixed(4)).join(", ")}`, () => {
      const [scores] = fn(cache, 1, seqLen);
      scores.forEach((s, h) => assert.ok(Math.abs(s - expected[h]) < 1e-12, `head ${h}: ${s} vs ${expected[h]}`));
    });
  }

  it("ranks heads largest first, ties by flat index", () => {
    const ranked = headsByScore([
      [0.1, 0.5],
      [0.5, 0.3],
    ]);
    assert.deepStrictEqual(ranked.map((r) => [r.layer, r.head]), [[0, 1], [1, 0], [1, 1], [0, 0]]);
  });

  it("a rank interval counts the logits that could pass the target within the tolerance", () => {
    const logits = Float64Array.from([1.0, 2.0, 1.00001, 0.99999, 3.0]);
    assert.deepStrictEqual(rankInterval(logits, 0, 1e-3), [2, 4]);
    assert.deepStrictEqual(rankInterval(logits, 0, 1e-9), [3, 3]);
  });

  describe("ablation through hook_z on a generated checkpoint", function () {
    this.timeout(120_000);
    let tmp: string;
    let params: ReturnType<typeof gpt2Params>;
    let config: Parameters<typeof targetLogitAndRank>[1];
    before(() => {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mechinterp-ref-induction-"));
      const ck = writeTinyCheckpoint(tmp, { nLayers: 2, nHeads: 4, dModel: 32, nCtx: 32, dVocab: 300, seed: 11 });
      config = ck.config;
      params = gpt2Params(readSafetensorsF64(ck.weightsPath), config);
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    const all = [0, 1].flatMap((layer) => [0, 1, 2, 3].map((head) => ({ layer, head })));

    it("with every head zeroed, the last logits do not depend on the earlier tokens", () => {
      const a = targetLogitAndRank(params, config, [1, 2, 3, 4, 7], 5, all);
      const b = targetLogitAndRank(params, config, [9, 8, 250, 4, 7], 5, all);
      for (let v = 0; v < a.lastLogits.length; v++) assert.ok(Math.abs(a.lastLogits[v] - b.lastLogits[v]) < 1e-9, `logit ${v}`);
      const clean = [targetLogitAndRank(params, config, [1, 2, 3, 4, 7], 5), targetLogitAndRank(params, config, [9, 8, 250, 4, 7], 5)];
      assert.ok(Math.abs(clean[0].logit - clean[1].logit) > 1e-6, "without ablation the context matters");
    });

    it("naming a head twice is the same as once; the processed logits have mean zero over the vocabulary", () => {
      const once = targetLogitAndRank(params, config, [1, 2, 3], 5, [{ layer: 1, head: 2 }]);
      const twice = targetLogitAndRank(params, config, [1, 2, 3], 5, [{ layer: 1, head: 2 }, { layer: 1, head: 2 }]);
      assert.deepStrictEqual(twice.lastLogits, once.lastLogits);
      const mean = once.lastLogits.reduce((s, v) => s + v, 0) / once.lastLogits.length;
      assert.ok(Math.abs(mean) < 1e-12);
      assert.strictEqual(once.rank, Array.from(once.lastLogits).filter((v) => v > once.logit).length);
    });
  });
});

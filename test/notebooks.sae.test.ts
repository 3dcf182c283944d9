/**
 * Chapter 9 (sparse autoencoders), executed headless the way `npm run notebook` does, under the
 * tslab kernel, on the generated 12-layer checkpoint of test/helpers/notebookRun.ts
 * (MODEL_OVERRIDE_DIR) and a generated gpt2-small-res-jb SAE at blocks.8.hook_resid_pre
 * (SAE_OVERRIDE_DIR, test/fixtures/sae.ts): every code cell runs, the
 * prints of the original are there, and the numbers printed (sparsity, top features, the most
 * active feature, its activation over the test texts, reconstruction MSE and explained variance)
 * agree with the independent float64 reference (naiveGpt2.ts, processed.ts, sae.ts) at printed
 * precision. The tiny random model generates nonsense: the steering cell is checked for its shape
 * (prompt first, three lines each) and for repeating exactly under the same seeds.
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
import { HookedTransformer, SAE, tf } from "../src";
import { BOS_TOKEN_ID, Gpt2Tokenizer } from "../src/tokenizer/gpt2Tokenizer";
import { HeadlessNotebookRun, NOTEBOOK_CHECKPOINT, allStdout, cellWith, runNotebookHeadless } from "./helpers/notebookRun";
import { closeAtPrecision, itRanEveryCell } from "./helpers/notebookChecks";
import { Gpt2Params, gpt2Params, naiveForward } from "./reference/naiveGpt2";
import { centerLastAxis } from "./reference/processed";
import { ReferenceSae, readReferenceSae, referenceDecode, referenceEncode } from "./reference/sae";
import { readSafetensorsF64 } from "./reference/safetensorsRead";

const TINY = { nLayers: NOTEBOOK_CHECKPOINT.nLayers!, dModel: NOTEBOOK_CHECKPOINT.dModel! };
/** GPT-2 small's SAE has 32 features per residual dimension (24576 / 768); so does the fixture. */
const D_SAE = 32 * TINY.dModel;
const HOOK = "blocks.8.hook_resid_pre";
/** float32 error of a feature activation / residual value of the tiny model, beyond printed precision. */
const ACT_TOL = 1e-4;

const NB09 = "notebooks/09-sparse-autoencoders.ipynb";
const TEXT = "The Golden Gate Bridge is a famous landmark in San Francisco.";
const TOKEN_STRS = ["<|endoftext|>", "The", " Golden", " Gate", " Bridge", " is", " a", " famous", " landmark", " in", " San", " Francisco", "."];
const TEST_TEXTS = [
  "The Golden Gate Bridge is beautiful.",
  "San Francisco is a city in California.",
  "The bridge spans the bay.",
  "I love eating pizza.",
  "Python is a programming language.",
  "The weather is nice today.",
];
const PROMPT = "I went to the store to buy";

const tokenizer = new Gpt2Tokenizer();
const toTokens = (text: string): number[] => [BOS_TOKEN_ID, ...tokenizer.encode(text)];
const stdoutOf = streamText;

/** The SAE with every pre-activation moved by `shift` (b_enc + shift): counts features whose pre-activation exceeds -shift. */
function shifted(sae: ReferenceSae, shift: number): ReferenceSae {
  return { ...sae, b_enc: sae.b_enc.map((b) => b + shift) };
}

for (const kernel of ["tslab", "deno"] as NotebookKernel[]) describe(`chapter 9 notebook (sparse autoencoders), headless under the ${kernel} kernel`, function () {
  this.timeout(900_000);
  let h: HeadlessNotebookRun;
  let run: NotebookRun;
  let saeDir: string;
  let params: Gpt2Params;
  let config: Parameters<typeof naiveForward>[1];
  let refSae: ReferenceSae;

  /** The processed model's blocks.8.hook_resid_pre for `text`: [pos × d_model], row-major. */
  function residPre8(text: string): Float64Array {
    const { cache } = naiveForward(params, config, [toTokens(text)]);
    return centerLastAxis(cache.get(HOOK)!).data; // center_writing_weights: the stream loses its mean
  }

  before(async function () {
    if (kernel === "deno") requireTool(this, "Deno (the optional dependency deno)", denoMissingReason());
    h = await runNotebookHeadless(NB09, { kernel, saes: { saeIds: [HOOK], dSae: D_SAE, seed: 3 } });
    run = h.run;
    saeDir = h.saeDir!;
    config = JSON.parse(fs.readFileSync(path.join(h.checkpoint, "config.json"), "utf8"));
    params = gpt2Params(readSafetensorsF64(path.join(h.checkpoint, "model.safetensors")), config);
    refSae = readReferenceSae(path.join(saeDir, HOOK));
  });
  after(() => h?.cleanup());

  itRanEveryCell(NB09, 0, () => h);

  it("prints the model, the SAE's shape and the sample's tokens and shapes", () => {
    const out = allStdout(run.executed);
    const expected = [
      `Model loaded: ${TINY.nLayers} layers, ${TINY.dModel} dimensions\n`,
      `SAE loaded!\n  Input dimension: ${TINY.dModel}\n  Number of features: ${D_SAE}\n  Expansion factor: 32.0x\n`,
      `Tokens: [${TOKEN_STRS.map((t) => `'${t}'`).join(", ")}]\n`,
      `Activation shape: [1,13,${TINY.dModel}]\n  (batch, sequence_length, d_model)\n`,
      `Feature activation shape: [1,13,${D_SAE}]\n  (batch, sequence_length, n_features)\n`,
    ];
    for (const e of expected) assert.ok(out.includes(e), `missing ${JSON.stringify(e)} in:\n${out}`);
    assert.deepStrictEqual(toTokens(TEXT).map((t) => tokenizer.decode([t])), TOKEN_STRS);
  });

  it("sparsity: the reference's active-feature count per position", () => {
    const x = residPre8(TEXT);
    // Features within ACT_TOL of zero could go either way in float32: count both ways.
    const count = (sae: ReferenceSae) => referenceEncode(sae, x).reduce((n, v) => n + (v > 0 ? 1 : 0), 0) / TOKEN_STRS.length;
    const [fewest, most] = [count(shifted(refSae, -ACT_TOL)), count(shifted(refSae, ACT_TOL))];
    const m = /^\nSparsity analysis:\n {2}Total features: (\d+)\n {2}Avg active per position: (\d+\.\d)\n {2}Sparsity: (\d+\.\d{2})%\n$/.exec(
      stdoutOf(cellWith(run.executed, "Sparsity analysis"))
    );
    assert.ok(m, stdoutOf(cellWith(run.executed, "Sparsity analysis")));
    assert.strictEqual(Number(m[1]), D_SAE);
    const mean = Number(m[2]);
    assert.ok(mean >= fewest - 0.05 && mean <= most + 0.05, `avg active ${mean}, reference ${fewest}..${most}`);
    const sparsity = Number(m[3]);
    assert.ok(sparsity >= 100 * (1 - most / D_SAE) - 0.005 && sparsity <= 100 * (1 - fewest / D_SAE) + 0.005, `sparsity ${sparsity}%`);
    assert.ok(fewest > 3, `the fixture should fire more than 3 features per position (got ${fewest}) so the top 3 are not ties at 0`);
  });

  it("the top 3 features of each token and the most active feature are the reference's", () => {
    const f = referenceEncode(refSae, residPre8(TEXT));
    const lines = stdoutOf(cellWith(run.executed, "Top 3 features per token")).split("\n");
    assert.strictEqual(lines[0], "Top 3 features per token:");
    assert.strictEqual(lines[1], "");
    TOKEN_STRS.forEach((tok, pos) => {
      const line = lines[2 + pos];
      const prefix = tok.padEnd(15) + " → ";
      assert.ok(line.startsWith(prefix), `line ${pos}: ${JSON.stringify(line)} should start ${JSON.stringify(prefix)}`);
      const row = f.subarray(pos * D_SAE, (pos + 1) * D_SAE);
      const sorted = Array.from(row).sort((a, b) => b - a);
      const items = line.slice(prefix.length).split(", ");
      assert.strictEqual(items.length, 3, line);
      items.forEach((it: string, k: number) => {
        const m = /^#(\d+)\((\d+\.\d{2})\)$/.exec(it);
        assert.ok(m, `item ${JSON.stringify(it)}`);
        const id = Number(m[1]);
        assert.ok(Math.abs(row[id] - sorted[k]) <= ACT_TOL, `token ${pos}: feature #${id} (${row[id]}) is not the reference's #${k + 1} (${sorted[k]})`);
        closeAtPrecision(m[2], row[id], ACT_TOL, `token ${pos} feature #${id}`);
      });
    });

    const out = stdoutOf(cellWith(run.executed, "argmax2d(acts0)"));
    const m = /^Most active feature: #(\d+)\n {2}Activation: (\d+\.\d{2})\n {2}Token: '(.*)' \(position (\d+)\)\n$/s.exec(out);
    assert.ok(m, out);
    const [feature, pos] = [Number(m[1]), Number(m[4])];
    const max = f.reduce((a, b) => Math.max(a, b), -Infinity);
    assert.ok(Math.abs(f[pos * D_SAE + feature] - max) <= ACT_TOL, `feature #${feature} at ${pos} is ${f[pos * D_SAE + feature]}, the reference's maximum ${max}`);
    closeAtPrecision(m[2], max, ACT_TOL, "max activation");
    assert.strictEqual(m[3], TOKEN_STRS[pos]);
    const url = stdoutOf(cellWith(run.executed, "neuronpediaUrl(maxFeatureIdx)"));
    assert.strictEqual(url, `Explore feature #${feature} on Neuronpedia:\nhttps://www.neuronpedia.org/gpt2-small/8-res-jb/${feature}\n`);
  });

  it("the text-bar chart: each text's maximum activation of that feature, and its bar, as the f-string prints them", () => {
    const feature = Number(/^Most active feature: #(\d+)$/m.exec(allStdout(run.executed))![1]);
    const lines = stdoutOf(cellWith(run.executed, "getFeatureActivation(text, featureToTest)")).split("\n");
    assert.strictEqual(lines[0], `Testing feature #${feature}:`);
    assert.strictEqual(lines[1], "");
    TEST_TEXTS.forEach((text, i) => {
      const f = referenceEncode(refSae, residPre8(text));
      let act = -Infinity;
      for (let p = 0; p < f.length / D_SAE; p++) act = Math.max(act, f[p * D_SAE + feature]);
      const line = lines[2 + i];
      const m = /^([ \d]{1,4}\d\.\d{2}) (█*) *(.*)$/.exec(line);
      assert.ok(m, `bar line ${JSON.stringify(line)}`);
      closeAtPrecision(m[1].trim(), act, ACT_TOL, `activation on ${JSON.stringify(text)}`);
      // "█" * int(act * 5), padded to 20 by {bar:20}; act*5 within float32 error of an integer may go either way.
      const bars = [Math.trunc((act - ACT_TOL) * 5), Math.trunc((act + ACT_TOL) * 5)].map((n) => Math.max(0, n));
      assert.ok(bars.includes(m[2].length), `bar of ${m[2].length} for activation ${act}`);
      const pad = Math.max(20, m[2].length);
      assert.strictEqual(line, `${m[1]} ${m[2].padEnd(pad)} ${text.slice(0, 50)}`);
      assert.strictEqual(m[1].length, Math.max(5, m[1].trim().length), "{act:5.2f} pads to 5");
    });
    assert.strictEqual(lines.length, 2 + TEST_TEXTS.length + 1);
  });

  it("reconstruction MSE and explained variance (torch's unbiased var) are the reference's", () => {
    const x = residPre8("The capital of France is Paris.");
    const xHat = referenceDecode(refSae, referenceEncode(refSae, x));
    let se = 0;
    let mean = 0;
    for (let i = 0; i < x.length; i++) {
      se += (x[i] - xHat[i]) ** 2;
      mean += x[i];
    }
    const mse = se / x.length;
    mean /= x.length;
    let ss = 0;
    for (const v of x) ss += (v - mean) ** 2;
    const explained = 1 - mse / (ss / (x.length - 1));
    const out = stdoutOf(cellWith(run.executed, "explainedVariance"));
    const m = /^Reconstruction quality:\n {2}MSE: (\d+\.\d{4})\n {2}Explained variance: (-?\d+\.\d%)\n {2}\(Higher is better, typically 85-95% for good SAEs\)\n$/.exec(out);
    assert.ok(m, out);
    closeAtPrecision(m[1], mse, ACT_TOL * Math.max(1, mse), "MSE");
    closeAtPrecision(m[2], explained, 1e-5, "explained variance");
  });

  describe("steering generation", () => {
    let blocks: { plain: string[]; steered: string[]; feature: number };

    before(() => {
      const out = stdoutOf(cellWith(run.executed, 'const prompt = "I went to the store to buy"'));
      const m = /^Generation WITHOUT steering:\n([\s\S]*)\n\nGeneration WITH steering \(feature #(\d+), strength=5\.0\):\n([\s\S]*)\n$/.exec(out);
      assert.ok(m, out);
      // Each result is printed as "  " + text; the text may itself hold newlines.
      const split = (block: string) => ("\n" + block).split(`\n  ${PROMPT}`).slice(1).map((rest) => PROMPT + rest);
      blocks = { plain: split(m[1]), steered: split(m[3]), feature: Number(m[2]) };
    });

    it("prints three generations without and three with steering, each the prompt and a continuation", () => {
      assert.strictEqual(blocks.plain.length, 3, JSON.stringify(blocks.plain));
      assert.strictEqual(blocks.steered.length, 3, JSON.stringify(blocks.steered));
      for (const g of [...blocks.plain, ...blocks.steered]) assert.ok(g.length > PROMPT.length, `no continuation in ${JSON.stringify(g)}`);
      assert.strictEqual(blocks.feature, Number(/^Most active feature: #(\d+)$/m.exec(allStdout(run.executed))![1]));
    });

    it("repeats exactly with the same seeds (42, 43, 44 plain; 45, 46, 47 steered), and steering changes the text", async () => {
      const model = await HookedTransformer.fromPretrained(h.checkpoint, { warn: () => {} });
      const sae = await SAE.fromDir(path.join(saeDir, HOOK));
      const before = tf.memory().numTensors;
      try {
        const options = (seed: number) => ({ maxNewTokens: 20, temperature: 0.7, doSample: true, seed, verbose: false });
        const plain = [42, 43, 44].map((seed) => model.generate(PROMPT, options(seed)));
        const direction = tf.tidy(() => tf.mul(5.0, tf.squeeze(tf.slice(sae.W_dec, [blocks.feature, 0], [1, -1]))));
        const steered = model.hooks({ fwdHooks: [[HOOK, (act: tf.Tensor) => tf.add(act, direction)]] }, () =>
          [45, 46, 47].map((seed) => model.generate(PROMPT, options(seed)))
        );
        direction.dispose();
        assert.deepStrictEqual(plain, blocks.plain);
        assert.deepStrictEqual(steered, blocks.steered);
        const unsteered = [45, 46, 47].map((seed) => model.generate(PROMPT, options(seed)));
        assert.notDeepStrictEqual(unsteered, steered, "steering by 5 × the decoder direction changed nothing");
      } finally {
        sae.dispose();
        model.dispose();
      }
      assert.ok(tf.memory().numTensors <= before, "generation leaked tensors");
    });
  });
});

/**
 * Parity of the library with the independent float64 reference (test/reference): every hook in
 * the cache, logits and loss, for an unprocessed (fromPretrainedNoProcessing) and a processed
 * (fromPretrained) model; F16 / BF16 / "transformer."-prefixed / untied checkpoints; patching and
 * ablation through runWithHooks; no leaked tensors.
 *
 * Tolerance: max |library - reference| / (max |reference| + 1e-6) per tensor, at float32 precision.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { HookedTransformer, tf } from "../src/index";
import { initBackend } from "../src/backend";
import { nativeKernelsStatus, setNativeKernelsEnabled } from "../src/kernels/nativeKernels";
import { CheckpointOptions, WrittenCheckpoint, writeTinyCheckpoint } from "./fixtures/checkpoint";
import { F64Tensor, readSafetensorsF64 } from "./reference/safetensorsRead";
import {
  NaiveForwardResult, NdArray, ReferenceHook, lmCrossEntropyLoss, naiveForward, transformerLensHookNames,
} from "./reference/naiveGpt2";
import { centerLastAxis, processedExpectations } from "./reference/processed";
import { compareArrays, describeComparison } from "./reference/compare";

/** Relative tolerance: float32 precision, accumulated over a 2-layer model. */
const TOL = 1e-5;

const TOKENS = [
  [50256, 464, 3139, 286, 4881, 318, 6342, 13, 50256, 40],
  [50256, 100, 50000, 7, 7, 7, 9000, 12, 30000, 2],
];

function expectClose(name: string, actual: tf.Tensor, expected: NdArray, tol = TOL): number {
  assert.deepStrictEqual(actual.shape, expected.shape, `${name}: shape [${actual.shape}] vs reference [${expected.shape}]`);
  const c = compareArrays(actual.dataSync(), expected.data);
  assert.ok(c.nonFiniteMismatches === 0 && c.relative <= tol, `${describeComparison(name, c)} (tolerance ${tol})`);
  return c.relative;
}

function numberOrArray(t: tf.Tensor): NdArray {
  return { shape: [...t.shape], data: Float64Array.from(t.dataSync()) };
}

/** The residual patch both sides apply: batch 0's position 2 copied over its position 6. */
function copyPosition2To6(act: tf.Tensor): tf.Tensor {
  const rows = act.arraySync() as number[][][];
  rows[0][6] = [...rows[0][2]];
  return tf.tensor(rows);
}
const copyPosition2To6Reference: ReferenceHook = (act) => {
  const D = act.shape[2];
  act.data.copyWithin(6 * D, 2 * D, 3 * D);
};

interface Loaded {
  ck: WrittenCheckpoint;
  weights: Map<string, F64Tensor>;
  reference: NaiveForwardResult;
}

// Both compute paths: the native kernels (when the addon is built) and tfjs's own kernels.
const KERNEL_MODES: { label: string; native: boolean }[] = [
  { label: "tfjs kernels only", native: false },
  ...(nativeKernelsStatus().available ? [{ label: "native kernels", native: true }] : []),
];
for (const mode of KERNEL_MODES) describe(`parity: library vs naive float64 reference (${mode.label})`, function () {
  this.timeout(300_000);
  before(async () => {
    await initBackend();
    setNativeKernelsEnabled(mode.native);
  });
  after(() => setNativeKernelsEnabled(true));
  let root: string;
  const savedOverride = process.env.MODEL_OVERRIDE_DIR;
  const worst: Record<string, { relative: number; name: string }> = {};
  const note = (model: string, name: string, relative: number) => {
    if (!worst[model] || relative > worst[model].relative) worst[model] = { relative, name };
  };

  function load(tag: string, options: CheckpointOptions = {}): Loaded {
    const ck = writeTinyCheckpoint(path.join(root, tag), {
      seed: 31, nLayers: 2, nHeads: 4, dModel: 32, nCtx: 64, dVocab: 50257, ...options,
    });
    const weights = readSafetensorsF64(ck.weightsPath);
    return { ck, weights, reference: naiveForward(weights, ck.config, TOKENS) };
  }

  let main: Loaded;
  before(() => {
    delete process.env.MODEL_OVERRIDE_DIR; // a set override would replace the fixture directories
    root = fs.mkdtempSync(path.join(os.tmpdir(), "mechinterp-parity-"));
    main = load("main");
  });
  after(() => {
    if (savedOverride !== undefined) process.env.MODEL_OVERRIDE_DIR = savedOverride;
    fs.rmSync(root, { recursive: true, force: true });
    console.log(`      backend: ${tf.getBackend()}, ${mode.label}`);
    for (const [model, w] of Object.entries(worst)) {
      console.log(`      worst relative difference, ${model}: ${w.relative.toExponential(2)} (${w.name})`);
    }
  });

  describe("unprocessed model (fromPretrainedNoProcessing)", () => {
    let model: HookedTransformer;
    before(async () => {
      model = await HookedTransformer.fromPretrainedNoProcessing(main.ck.dir);
    });
    after(() => model?.dispose());

    it("caches exactly TransformerLens's hooks (2 + 17 per layer + 2), each equal to the reference", () => {
      const [logits, cache] = model.runWithCache(TOKENS);
      try {
        assert.strictEqual(cache.size, 2 + 17 * 2 + 2);
        assert.deepStrictEqual([...cache.keys()].sort(), transformerLensHookNames(2).sort());
        for (const [name, expected] of main.reference.cache) note("unprocessed", name, expectClose(name, cache.get(name), expected));
        note("unprocessed", "logits", expectClose("logits", logits, main.reference.logits));
      } finally {
        logits.dispose();
        cache.dispose();
      }
    });

    it("loss and loss per token equal the reference cross-entropy", () => {
      const loss = model.forward(TOKENS, { returnType: "loss" });
      const perToken = model.forward(TOKENS, { returnType: "loss", lossPerToken: true });
      try {
        const expected = lmCrossEntropyLoss(main.reference.logits, TOKENS);
        assert.strictEqual(loss.size, 1);
        const got = loss.dataSync()[0];
        assert.ok(Math.abs(got - expected) <= TOL * expected, `loss ${got} vs reference ${expected}`);
        expectClose("loss per token", perToken, lmCrossEntropyLoss(main.reference.logits, TOKENS, { perToken: true }));
      } finally {
        loss.dispose();
        perToken.dispose();
      }
    });

    it("reads the checkpoint's values: W_E, W_pos and W_U equal what the reference reader decodes", () => {
      const wte = main.weights.get("wte.weight")!;
      expectClose("W_E", model.W_E, { shape: wte.shape, data: wte.data }, 0);
      const wpe = main.weights.get("wpe.weight")!;
      expectClose("W_pos", model.W_pos, { shape: [64, 32], data: wpe.data }, 0);
      // W_U is [d_model, d_vocab], the transpose of wte (tied).
      const wu = new Float64Array(32 * 50257);
      for (let v = 0; v < 50257; v++) for (let i = 0; i < 32; i++) wu[i * 50257 + v] = wte.data[v * 32 + i];
      expectClose("W_U", model.W_U, { shape: [32, 50257], data: wu }, 0);
    });

    it("runWithHooks: patching one residual position matches the reference with the same hook", () => {
      // Layer 1's resid_pre at batch 0, position 6 takes the value at position 2.
      const expected = naiveForward(main.weights, main.ck.config, TOKENS, { hooks: { "blocks.1.hook_resid_pre": copyPosition2To6Reference } });
      const logits = model.runWithHooks(TOKENS, { fwdHooks: [["blocks.1.hook_resid_pre", copyPosition2To6]] }) as tf.Tensor3D;
      try {
        // The patch changes the prediction at position 6 (else the test would prove nothing).
        assert.ok(compareArrays(expected.logits.data, main.reference.logits.data).maxAbsDiff > 1e-2);
        note("unprocessed", "patched logits", expectClose("patched logits", logits, expected.logits));
      } finally {
        logits.dispose();
      }
    });

    it("runWithHooks: zero-ablating one head through hook_z matches the reference", () => {
      const [H, E] = [4, 8];
      const expected = naiveForward(main.weights, main.ck.config, TOKENS, {
        hooks: {
          "blocks.0.attn.hook_z": (z) => {
            for (let r = 0; r < z.data.length / (H * E); r++) z.data.fill(0, r * H * E + 1 * E, r * H * E + 2 * E);
          },
        },
      });
      const both = model.runWithHooks(TOKENS, {
        returnType: "both",
        fwdHooks: [["blocks.0.attn.hook_z", (z) => z.mul(tf.tensor([1, 0, 1, 1]).reshape([1, 1, H, 1]))]],
      }) as { logits: tf.Tensor3D; loss: tf.Tensor };
      try {
        assert.ok(compareArrays(expected.logits.data, main.reference.logits.data).maxAbsDiff > 1e-2);
        note("unprocessed", "ablated logits", expectClose("ablated logits", both.logits, expected.logits));
        const loss = lmCrossEntropyLoss(expected.logits, TOKENS);
        assert.ok(Math.abs(both.loss.dataSync()[0] - loss) <= TOL * loss, `ablated loss ${both.loss.dataSync()[0]} vs ${loss}`);
      } finally {
        both.logits.dispose();
        both.loss.dispose();
      }
    });

    // The fused kernels compute scale with normalized, and scores with pattern, in one pass: a hook
    // that replaces the first must still reach the second, as in TransformerLens.
    const replacements: [string, string, (a: { data: Float64Array }) => void, (t: tf.Tensor) => tf.Tensor][] = [
      ["doubling ln2's scale", "blocks.0.ln2.hook_scale", (a) => a.data.forEach((x, i) => (a.data[i] = 2 * x)), (t) => t.mul(2)],
      [
        "adding 1 to every attention score of layer 1",
        "blocks.1.attn.hook_attn_scores",
        (a) => a.data.forEach((x, i) => (a.data[i] = x + 1 + (i % 3))),
        (t) => t.add(tf.tensor(Array.from({ length: t.size }, (_, i) => 1 + (i % 3)), t.shape)),
      ],
    ];
    for (const [what, name, refHook, hook] of replacements) {
      it(`runWithHooks: ${what} flows into what is computed from it, as in the reference`, () => {
        const expected = naiveForward(main.weights, main.ck.config, TOKENS, { hooks: { [name]: refHook as never } });
        assert.ok(compareArrays(expected.logits.data, main.reference.logits.data).maxAbsDiff > 1e-3, "the hook changes the reference");
        const logits = model.runWithHooks(TOKENS, { fwdHooks: [[name, hook]] }) as tf.Tensor3D;
        try {
          note("unprocessed", `${what} logits`, expectClose(`${what} logits`, logits, expected.logits));
        } finally {
          logits.dispose();
        }
      });
    }

    it("leaks no tensors: runWithCache, forward, runWithHooks", () => {
      const before = tf.memory().numTensors;
      const [logits, cache] = model.runWithCache(TOKENS);
      logits.dispose();
      cache.dispose();
      model.forward(TOKENS).dispose();
      const both = model.forward(TOKENS, { returnType: "both" });
      both.logits.dispose();
      both.loss.dispose();
      (model.runWithHooks(TOKENS, { fwdHooks: [["blocks.0.attn.hook_z", (z) => z.mul(0.5)]] }) as tf.Tensor).dispose();
      assert.strictEqual(tf.memory().numTensors, before);
    });
  });

  describe("processed model (fromPretrained: fold_ln, center_writing_weights, center_unembed, fold_value_biases)", () => {
    let model: HookedTransformer;
    let expected: NaiveForwardResult;
    before(async () => {
      model = await HookedTransformer.fromPretrained(main.ck.dir);
      expected = processedExpectations(main.reference, main.weights, main.ck.config);
    });
    after(() => model?.dispose());

    it("every cached activation and the logits equal the processed expectations", () => {
      const [logits, cache] = model.runWithCache(TOKENS);
      try {
        assert.strictEqual(cache.size, 38);
        assert.deepStrictEqual([...cache.keys()].sort(), transformerLensHookNames(2).sort());
        for (const [name, act] of expected.cache) note("processed", name, expectClose(name, cache.get(name), act));
        note("processed", "logits", expectClose("logits", logits, expected.logits));
        // The processed residual stream has zero mean over d_model.
        const resid = numberOrArray(cache.get("resid_post", -1));
        const c = compareArrays(centerLastAxis(resid).data, resid.data);
        assert.ok(c.maxAbsDiff <= TOL * c.maxAbsExpected, describeComparison("mean of resid_post", c));
      } finally {
        logits.dispose();
        cache.dispose();
      }
    });

    it("gives the unprocessed model's loss", () => {
      const loss = model.forward(TOKENS, { returnType: "loss" });
      try {
        const want = lmCrossEntropyLoss(main.reference.logits, TOKENS);
        assert.ok(Math.abs(loss.dataSync()[0] - want) <= TOL * want, `loss ${loss.dataSync()[0]} vs ${want}`);
      } finally {
        loss.dispose();
      }
    });

    it("runWithHooks: patching a residual position gives the reference's patched logits, centred", () => {
      const patched = naiveForward(main.weights, main.ck.config, TOKENS, {
        hooks: { "blocks.1.hook_resid_pre": copyPosition2To6Reference },
      });
      const logits = model.runWithHooks(TOKENS, { fwdHooks: [["blocks.1.hook_resid_pre", copyPosition2To6]] }) as tf.Tensor3D;
      try {
        note("processed", "patched logits", expectClose("patched logits", logits, centerLastAxis(patched.logits)));
      } finally {
        logits.dispose();
      }
    });
  });

  describe("checkpoint variants load the values the reference reads", () => {
    const variants: Array<[string, CheckpointOptions]> = [
      ["F16 weights, U8 mask buffers", { dtype: "F16", maskDtype: "U8" }],
      ["BF16 weights, BOOL mask buffers", { dtype: "BF16", maskDtype: "BOOL" }],
      ['"transformer." prefix with a tied lm_head.weight', { keyPrefix: "transformer." }],
      ['"transformer." prefix with an untied lm_head.weight', { keyPrefix: "transformer.", untiedLmHead: true }],
      ["no mask buffers, layer_norm_epsilon 1e-3", { includeMaskBuffers: false, layerNormEpsilon: 1e-3 }],
    ];
    for (const [label, options] of variants) {
      it(label, async () => {
        const v = load(label.replace(/[^a-z0-9]+/gi, "-"), { ...options, seed: 41 });
        for (const processed of [false, true]) {
          const model = processed
            ? await HookedTransformer.fromPretrained(v.ck.dir)
            : await HookedTransformer.fromPretrainedNoProcessing(v.ck.dir);
          const want = processed ? processedExpectations(v.reference, v.weights, v.ck.config) : v.reference;
          const tag = `${label} (${processed ? "processed" : "unprocessed"})`;
          const [logits, cache] = model.runWithCache(TOKENS);
          try {
            for (const [name, act] of want.cache) note(tag, name, expectClose(`${tag} ${name}`, cache.get(name), act));
            note(tag, "logits", expectClose(`${tag} logits`, logits, want.logits));
          } finally {
            logits.dispose();
            cache.dispose();
            model.dispose();
          }
        }
      });
    }
  });
});

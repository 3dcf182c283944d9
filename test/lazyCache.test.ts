/**
 * Lazy activations in runWithCache's cache (src/hooks/lazyActivation.ts): the cache keeps q and k and
 * computes hook_attn_scores / hook_pattern when first read, mlp.hook_post from mlp.hook_pre and each
 * LayerNorm's hook_normalized from its input. Checked: the
 * values are the same bits as a cache that recorded them during the pass (forced by a hook that
 * changes nothing), with either kernel path; size, keys, has and iteration are unchanged; nothing is
 * computed until read; any hook that could change them makes the layer record them during the pass;
 * reading then disposing frees everything; an error mid-run leaks nothing.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ActivationCache, HookedTransformer, tf } from "../src";
import { initBackend } from "../src/backend";
import { nativeKernelsStatus, setNativeKernelsEnabled } from "../src/kernels/nativeKernels";
import { writeTinyCheckpoint } from "./fixtures/checkpoint";

const L = 2;
const H = 4;
const TOKENS = [
  [5, 17, 250, 3, 3, 99, 0, 12, 7, 7, 101, 42],
  [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
];
const P = TOKENS[0].length;
const B = TOKENS.length;
/** Bytes of one layer's scores or pattern, [batch, head, query, key] float32. */
const PATTERN_BYTES = B * H * P * P * 4;

function bitsOf(t: tf.Tensor): number[] {
  return Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer));
}

/** A hook that changes nothing: its presence alone makes the layer record scores and pattern during the pass. */
const watch = () => undefined;
const attentionPoints = (n: string) => /hook_(attn_scores|pattern|post|normalized)$/.test(n);

function eagerRun(model: HookedTransformer, tokens: number[][], opts = {}): [tf.Tensor3D, ActivationCache] {
  return model.hooks({ fwdHooks: [[attentionPoints, watch]] }, () => model.runWithCache(tokens, opts));
}

const MODES = [{ label: "tfjs kernels", native: false }, ...(nativeKernelsStatus().available ? [{ label: "native kernels", native: true }] : [])];

for (const mode of MODES) {
  describe(`runWithCache: lazy attention scores and patterns (${mode.label})`, function () {
    this.timeout(120_000);
    let root: string;
    let model: HookedTransformer;
    before(async () => {
      await initBackend();
      setNativeKernelsEnabled(mode.native);
      root = fs.mkdtempSync(path.join(os.tmpdir(), "mechinterp-lazy-"));
      writeTinyCheckpoint(root, { nLayers: L, nHeads: H, dModel: 32, nCtx: 16, dVocab: 300, seed: 5 });
      model = await HookedTransformer.fromPretrained(root, { warn: () => {} });
    });
    after(() => {
      model?.dispose();
      setNativeKernelsEnabled(true);
      fs.rmSync(root, { recursive: true, force: true });
    });

    it("every entry and the logits are the same bits as a cache recorded during the pass; keys, size and order too", () => {
      const before = tf.memory().numTensors;
      const [logits, cache] = model.runWithCache(TOKENS);
      const [eagerLogits, eager] = eagerRun(model, TOKENS);
      try {
        assert.equal(cache.size, 2 + 17 * L + 2);
        assert.equal(cache.size, eager.size);
        assert.deepEqual(cache.keys(), eager.keys());
        assert.deepEqual(bitsOf(logits), bitsOf(eagerLogits));
        for (const name of eager.keys()) {
          const t = cache.get(name);
          assert.deepEqual(t.shape, eager.get(name).shape, name);
          assert.deepEqual(bitsOf(t), bitsOf(eager.get(name)), name);
        }
      } finally {
        tf.dispose([logits, eagerLogits]);
        cache.dispose();
        eager.dispose();
      }
      assert.equal(tf.memory().numTensors, before, "tensors leaked");
    });

    it("keeps no scores or patterns until one is read; has/keys/size compute nothing; reading one computes one; dispose frees all", () => {
      // Distinct data buffers (tf.memory().numBytes counts every handle, also handles that share data).
      const before = tf.memory();
      const [eagerLogits, eager] = eagerRun(model, TOKENS);
      const eagerBuffers = tf.memory().numDataBuffers - before.numDataBuffers;
      tf.dispose(eagerLogits);
      eager.dispose();
      const [logits, cache] = model.runWithCache(TOKENS);
      const lazyBuffers = tf.memory().numDataBuffers - before.numDataBuffers;
      try {
        // The scores, pattern, MLP post and both LayerNorm outputs of every layer, and ln_final's, are
        // left out; the q, k, pre and residuals they are computed from are cached anyway.
        assert.equal(eagerBuffers - lazyBuffers, 5 * L + 1);
        assert.ok(cache.has("pattern", 1) && cache.has("attn_scores", -1) && cache.has("blocks.0.attn.hook_pattern"));
        assert.equal(cache.keys().length, cache.size);
        assert.equal(tf.memory().numDataBuffers - before.numDataBuffers, lazyBuffers, "has/keys/size computed something");
        const p = cache.get("pattern", 1);
        assert.equal(tf.memory().numDataBuffers - before.numDataBuffers, lazyBuffers + 1);
        assert.equal(p.size * 4, PATTERN_BYTES);
        assert.equal(cache.get("blocks.1.attn.hook_pattern"), p, "a second read computed it again");
        // Each row of a pattern sums to 1 over the keys up to the query and is 0 after it (a property, independent of the library).
        const rows = p.arraySync() as number[][][][];
        rows.forEach((b) => b.forEach((h) => h.forEach((r, q) => assert.ok(Math.abs(r.reduce((s, x) => s + x, 0) - 1) < 1e-5 && r.slice(q + 1).every((x) => x === 0)))));
      } finally {
        logits.dispose();
        cache.dispose();
      }
      assert.equal(tf.memory().numTensors, before.numTensors, "tensors leaked after reading one lazy entry and disposing");
      assert.equal(tf.memory().numDataBuffers, before.numDataBuffers);
    });

    it("iteration, values() and entries() give every activation in forward order, the same bits", () => {
      const [logits, cache] = model.runWithCache(TOKENS);
      const [eagerLogits, eager] = eagerRun(model, TOKENS);
      try {
        const iterated = [...cache];
        assert.deepEqual(iterated.map(([k]) => k), eager.keys());
        iterated.forEach(([k, t]) => assert.deepEqual(bitsOf(t), bitsOf(eager.get(k)), k));
        assert.deepEqual(cache.values().map(bitsOf), eager.values().map(bitsOf));
        assert.deepEqual(cache.entries().map(([k]) => k), eager.keys());
      } finally {
        tf.dispose([logits, eagerLogits]);
        cache.dispose();
        eager.dispose();
      }
    });

    const filters: [string, string | string[]][] = [
      ["one pattern", "blocks.1.attn.hook_pattern"],
      ["one layer's scores only", ["blocks.0.attn.hook_attn_scores"]],
      ["scores and pattern of different layers, with q", ["blocks.0.attn.hook_pattern", "blocks.1.attn.hook_attn_scores", "blocks.1.attn.hook_q"]],
      ["a LayerNorm's scale only, another's output only, MLP post without pre", ["blocks.0.ln1.hook_scale", "ln_final.hook_normalized", "blocks.1.mlp.hook_post"]],
    ];
    for (const [label, namesFilter] of filters) {
      it(`namesFilter (${label}): the same names and bits as a recorded cache, nothing leaked`, () => {
        const before = tf.memory().numTensors;
        const [logits, cache] = model.runWithCache(TOKENS, { namesFilter });
        const [eagerLogits, eager] = eagerRun(model, TOKENS, { namesFilter });
        try {
          assert.deepEqual(cache.keys(), eager.keys());
          assert.equal(cache.size, typeof namesFilter === "string" ? 1 : namesFilter.length);
          for (const k of eager.keys()) assert.deepEqual(bitsOf(cache.get(k)), bitsOf(eager.get(k)), k);
        } finally {
          tf.dispose([logits, eagerLogits]);
          cache.dispose();
          eager.dispose();
        }
        assert.equal(tf.memory().numTensors, before);
      });
    }

    it("removeBatchDim: lazy entries lose the batch axis too, same bits", () => {
      const before = tf.memory().numTensors;
      const one = [TOKENS[0]];
      const [logits, cache] = model.runWithCache(one, { removeBatchDim: true });
      const [eagerLogits, eager] = model.hooks({ fwdHooks: [[attentionPoints, watch]] }, () => model.runWithCache(one, { removeBatchDim: true }));
      try {
        assert.deepEqual(cache.get("pattern", 0).shape, [H, P, P]);
        for (const k of eager.keys()) assert.deepEqual(bitsOf(cache.get(k)), bitsOf(eager.get(k)), k);
      } finally {
        tf.dispose([logits, eagerLogits]);
        cache.dispose();
        eager.dispose();
      }
      assert.equal(tf.memory().numTensors, before);
    });

    it("a hook on q is seen by the lazy pattern (it is computed from the hooked q)", () => {
      const scaleQ = (q: tf.Tensor) => tf.mul(q, 3);
      const [logits, cache] = model.hooks({ fwdHooks: [["blocks.1.attn.hook_q", scaleQ]] }, () => model.runWithCache(TOKENS));
      const [eagerLogits, eager] = model.hooks({ fwdHooks: [["blocks.1.attn.hook_q", scaleQ], [attentionPoints, watch]] }, () => model.runWithCache(TOKENS));
      const [plainLogits, plain] = model.runWithCache(TOKENS);
      try {
        assert.deepEqual(bitsOf(cache.get("pattern", 1)), bitsOf(eager.get("pattern", 1)));
        assert.deepEqual(bitsOf(cache.get("attn_scores", 1)), bitsOf(eager.get("attn_scores", 1)));
        // The scores are 3x those of the plain run (q scaled by 3; -Infinity stays -Infinity).
        const s = cache.get("attn_scores", 1).dataSync();
        const s0 = plain.get("attn_scores", 1).dataSync();
        for (let i = 0; i < s.length; i++) assert.ok(s[i] === s0[i] * 3 || Math.abs(s[i] - s0[i] * 3) <= 1e-5 * Math.abs(s[i]), `score ${i}`);
      } finally {
        tf.dispose([logits, eagerLogits, plainLogits]);
        [cache, eager, plain].forEach((c) => c.dispose());
      }
    });

    it("MLP hook_post: computed from the hooked hook_pre; a hook on hook_post is what the cache holds", () => {
      const double = (t: tf.Tensor) => tf.mul(t, 2);
      const [l1, lazy] = model.hooks({ fwdHooks: [["blocks.0.mlp.hook_pre", double]] }, () => model.runWithCache(TOKENS));
      const [l2, eager] = model.hooks({ fwdHooks: [["blocks.0.mlp.hook_pre", double], [attentionPoints, watch]] }, () => model.runWithCache(TOKENS));
      const [l3, hooked] = model.hooks({ fwdHooks: [["blocks.1.mlp.hook_post", (t) => tf.zerosLike(t)]] }, () => model.runWithCache(TOKENS));
      try {
        assert.deepEqual(bitsOf(lazy.get("blocks.0.mlp.hook_post")), bitsOf(eager.get("blocks.0.mlp.hook_post")));
        assert.deepEqual(bitsOf(l1), bitsOf(l2));
        // gelu_new(x) for the cached (doubled) pre, in float64 (an independent formula).
        const pre = lazy.get("blocks.0.mlp.hook_pre").dataSync();
        const post = lazy.get("blocks.0.mlp.hook_post").dataSync();
        pre.forEach((x, i) => {
          const g = 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
          assert.ok(Math.abs(post[i] - g) <= 1e-5 * (1 + Math.abs(g)), `post[${i}] ${post[i]} vs ${g}`);
        });
        assert.ok((hooked.get("blocks.1.mlp.hook_post").dataSync() as Float32Array).every((x) => x === 0));
      } finally {
        tf.dispose([l1, l2, l3]);
        [lazy, eager, hooked].forEach((c) => c.dispose());
      }
    });

    it("LayerNorm hook_normalized: a hook on hook_scale is seen (recorded during the pass); without one, the same bits", () => {
      const halfScale = (t: tf.Tensor) => tf.mul(t, 0.5);
      const [l1, hooked] = model.hooks({ fwdHooks: [["blocks.1.ln2.hook_scale", halfScale]] }, () => model.runWithCache(TOKENS));
      const [l2, plain] = model.runWithCache(TOKENS);
      try {
        // Halving the scale doubles the normalized values (LNPre: no w and b after folding).
        const a = hooked.get("blocks.1.ln2.hook_normalized").dataSync();
        const b = plain.get("blocks.1.ln2.hook_normalized").dataSync();
        a.forEach((x, i) => assert.ok(Math.abs(x - 2 * b[i]) <= 1e-5 * (1 + Math.abs(x)), `normalized[${i}]`));
        assert.deepEqual(bitsOf(hooked.get("blocks.0.ln1.hook_normalized")), bitsOf(plain.get("blocks.0.ln1.hook_normalized")));
      } finally {
        tf.dispose([l1, l2]);
        [hooked, plain].forEach((c) => c.dispose());
      }
    });

    it("a hook that replaces the scores: the cache holds the hook's scores and the pattern made from them", () => {
      // Hide key 0 from every query after the first.
      const hideFirstKey = (s: tf.Tensor) => {
        const m = new Float32Array(s.size);
        for (let i = 0; i < m.length; i++) if (i % P === 0 && Math.floor(i / P) % P > 0) m[i] = -Infinity;
        return tf.add(s, tf.tensor(m, s.shape));
      };
      const [logits, cache] = model.hooks({ fwdHooks: [["blocks.0.attn.hook_attn_scores", hideFirstKey]] }, () => model.runWithCache(TOKENS));
      try {
        const pattern = cache.get("pattern", 0).arraySync() as number[][][][];
        const scores = cache.get("attn_scores", 0).arraySync() as number[][][][];
        for (const b of [0, 1]) for (let h = 0; h < H; h++) for (let q = 1; q < P; q++) {
          assert.equal(pattern[b][h][q][0], 0, `pattern [${b}, ${h}, ${q}, 0]`);
          assert.equal(scores[b][h][q][0], -Infinity);
        }
      } finally {
        logits.dispose();
        cache.dispose();
      }
    });

    it("a hook added during the run onto a later layer's pattern: that pattern is still cached, as the hook left it", () => {
      const zeroPattern = (p: tf.Tensor) => tf.zerosLike(p);
      let remove: (() => void) | undefined;
      const addLater = () => {
        remove ??= model.addHook("blocks.1.attn.hook_pattern", zeroPattern);
      };
      try {
        const [logits, cache] = model.hooks({ fwdHooks: [["blocks.0.hook_resid_pre", addLater]] }, () => model.runWithCache(TOKENS));
        assert.equal(cache.size, 2 + 17 * L + 2);
        assert.ok((cache.get("pattern", 1).dataSync() as Float32Array).every((x) => x === 0));
        assert.ok((cache.get("pattern", 0).dataSync() as Float32Array).some((x) => x !== 0));
        logits.dispose();
        cache.dispose();
      } finally {
        remove?.();
      }
    });

    it("a hook that throws in the last layer: the error comes through and no tensor is left behind", () => {
      const before = tf.memory().numTensors;
      const boom = () => {
        throw new Error("boom");
      };
      assert.throws(() => model.hooks({ fwdHooks: [["blocks.1.hook_mlp_out", boom]] }, () => model.runWithCache(TOKENS)), /boom/);
      assert.equal(tf.memory().numTensors, before);
    });

    it("a namesFilter predicate that throws: the error comes through, nothing leaked, the next run records normally", () => {
      const before = tf.memory().numTensors;
      const bad = (name: string) => {
        if (name.includes("ln2")) throw new Error("bad filter");
        return true;
      };
      assert.throws(() => model.runWithCache(TOKENS, { namesFilter: bad }), /bad filter/);
      assert.equal(tf.memory().numTensors, before);
      const [logits, cache] = model.runWithCache(TOKENS, { namesFilter: "blocks.0.attn.hook_pattern" });
      const plain = model.runWithCache(TOKENS, { namesFilter: (n) => n === "blocks.1.attn.hook_pattern" });
      assert.deepEqual(cache.keys(), ["blocks.0.attn.hook_pattern"]);
      assert.deepEqual(plain[1].keys(), ["blocks.1.attn.hook_pattern"]);
      tf.dispose([logits, plain[0]]);
      cache.dispose();
      plain[1].dispose();
      assert.equal(tf.memory().numTensors, before);
    });

    it("runWithCache and a lazy read inside one tf.tidy: everything is freed at its end", () => {
      const before = tf.memory().numTensors;
      const total = tf.tidy(() => {
        const [l, c] = model.runWithCache(TOKENS);
        return tf.add(tf.sum(l), tf.sum(c.get("pattern", 1)));
      });
      assert.equal(tf.memory().numTensors, before + 1);
      assert.ok(Number.isFinite(total.dataSync()[0]));
      total.dispose();
    });

    it("a cache made outside a tf.tidy and read inside it: the computed entry outlives the tidy, dispose frees it", () => {
      const before = tf.memory().numTensors;
      const [logits, cache] = model.runWithCache(TOKENS);
      const [eagerLogits, eager] = eagerRun(model, TOKENS);
      const sum = tf.tidy(() => tf.sum(cache.get("pattern", 0)));
      assert.ok(!cache.get("pattern", 0).isDisposed);
      assert.deepEqual(bitsOf(cache.get("pattern", 0)), bitsOf(eager.get("pattern", 0)));
      tf.dispose([sum, logits, eagerLogits]);
      cache.dispose();
      eager.dispose();
      assert.equal(tf.memory().numTensors, before);
    });

    it("forward after runWithCache computes nothing lazily and returns the same logits", () => {
      const [logits, cache] = model.runWithCache(TOKENS);
      const plain = model.forward(TOKENS);
      try {
        assert.deepEqual(bitsOf(plain), bitsOf(logits));
      } finally {
        tf.dispose([logits, plain]);
        cache.dispose();
      }
    });
  });
}

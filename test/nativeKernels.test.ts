/**
 * The native kernels against tfjs's own, case by case: each op runs with the native path on and
 * off (setNativeKernelsEnabled) on the same inputs. Copies (transpose, slice) must agree exactly;
 * arithmetic to float32 precision. Skipped, with the reason, where the addon is not built.
 */
import { strict as assert } from "assert";
import { initBackend, tf } from "../src/backend";
import { nativeKernelsActive, nativeKernelsStatus, setNativeKernelsEnabled } from "../src/kernels/nativeKernels";
import { requireTool } from "./helpers/requireTool";
import { causalAttention, centerLastAxis, geluNew, layerNorm, scaleCenterColumns } from "../src/model/fusedOps";

/** Runs fn with the native kernels on and off; returns both results as flat arrays and shapes. */
function bothPaths(fn: () => tf.Tensor | tf.Tensor[]): { native: tf.Tensor[]; plain: tf.Tensor[] } {
  const run = (on: boolean) => {
    setNativeKernelsEnabled(on);
    try {
      const r = fn();
      return Array.isArray(r) ? r : [r];
    } finally {
      setNativeKernelsEnabled(true);
    }
  };
  return { native: run(true), plain: run(false) };
}

function assertAgree(fn: () => tf.Tensor | tf.Tensor[], { exact = false, tol = 2e-6 } = {}): void {
  const before = tf.memory().numTensors;
  const { native, plain } = bothPaths(fn);
  native.forEach((n, i) => {
    const p = plain[i];
    assert.deepEqual(n.shape, p.shape);
    const a = n.dataSync();
    const b = p.dataSync();
    let scale = 1e-6;
    for (const v of b) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
    for (let j = 0; j < a.length; j++) {
      if (exact || !Number.isFinite(b[j])) assert.equal(a[j], b[j], `element ${j}: ${a[j]} vs ${b[j]}`);
      else assert.ok(Math.abs(a[j] - b[j]) <= tol * scale, `element ${j}: ${a[j]} vs ${b[j]} (scale ${scale})`);
    }
  });
  tf.dispose([...native, ...plain]);
  assert.equal(tf.memory().numTensors, before, "no tensor leaked");
}

const rand = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, "float32", seed);

describe("native kernels agree with tfjs's", function () {
  before(async function () {
    const { backend } = await initBackend();
    // Nothing to compare when the addon did not build (no compiler) or is switched off.
    requireTool(this, "the native kernels", nativeKernelsActive(backend) ? undefined : `they are inactive on ${backend} (${nativeKernelsStatus().reason ?? "MECHINTERP_NATIVE_MATMUL=0"})`);
  });

  const matmuls: [string, number[], number[], boolean, boolean][] = [
    ["2-D", [7, 5], [5, 3], false, false],
    ["2-D, b transposed", [7, 5], [3, 5], false, true],
    ["2-D, a transposed", [5, 7], [5, 3], true, false],
    ["batched", [4, 6, 5], [4, 5, 2], false, false],
    ["batched, both transposed", [4, 5, 6], [4, 2, 5], true, true],
    ["b broadcast over a's batch", [2, 3, 6, 5], [5, 4], false, false],
    ["a broadcast over b's batch", [6, 5], [3, 5, 4], false, false],
    ["rank 4", [2, 3, 4, 5], [2, 3, 5, 6], false, false],
  ];
  for (const [what, as, bs, ta, tb] of matmuls) {
    it(`matMul: ${what}`, () => assertAgree(() => tf.tidy(() => tf.matMul(rand(as, 1), rand(bs, 2), ta, tb))));
  }
  it("fused matMul with a bias", () =>
    assertAgree(() => tf.tidy(() => tf.fused.matMul({ a: rand([9, 8], 3), b: rand([8, 11], 4), bias: rand([11], 5) }))));
  it("fused matMul with a relu falls back to tfjs", () =>
    assertAgree(() => tf.tidy(() => tf.fused.matMul({ a: rand([9, 8], 3), b: rand([8, 11], 4), bias: rand([11], 5), activation: "relu" }))));

  const transposes: [number[], number[]][] = [
    [[130, 70], [1, 0]],
    [[3, 4, 5], [1, 0, 2]],
    [[3, 4, 5], [2, 1, 0]],
    [[2, 3, 4, 5], [0, 2, 1, 3]],
    [[2, 3, 4, 5], [3, 2, 1, 0]],
  ];
  for (const [shape, perm] of transposes) {
    it(`transpose [${shape}] by [${perm}] (exact)`, () => assertAgree(() => tf.tidy(() => tf.transpose(rand(shape, 6), perm)), { exact: true }));
  }
  const slices: [number[], number[], number[]][] = [
    [[10, 12], [2, 3], [5, -1]],
    [[4, 5, 6], [1, 0, 2], [2, 5, 3]],
    [[2, 3, 4, 5], [1, 1, 1, 1], [1, 2, 3, 4]],
    [[20], [5], [7]],
  ];
  for (const [shape, begin, size] of slices) {
    it(`slice [${shape}] at [${begin}] size [${size}] (exact)`, () => assertAgree(() => tf.tidy(() => tf.slice(rand(shape, 7), begin, size)), { exact: true }));
  }
  it("GELU (gelu_new)", () => assertAgree(() => tf.tidy(() => geluNew(tf.mul(rand([3, 50, 40], 8), 3)))));
  it("LayerNorm with and without weights: scale and normalized", () => {
    assertAgree(() => tf.tidy(() => Object.values(layerNorm(rand([2, 9, 16], 9), 1e-5))));
    assertAgree(() => tf.tidy(() => Object.values(layerNorm(rand([2, 9, 16], 9), 1e-5, rand([16], 10) as tf.Tensor1D, rand([16], 11) as tf.Tensor1D))));
  });
  it("causal attention: scores with -Infinity above the diagonal, and the pattern", () =>
    assertAgree(() => tf.tidy(() => {
      const { scores, pattern } = causalAttention(rand([6, 9, 8], 12) as tf.Tensor3D, rand([6, 9, 8], 13) as tf.Tensor3D, Math.sqrt(8), { withScores: true });
      return [scores!, pattern];
    })));
  it("causal attention without scores gives the same pattern", () => {
    const q = rand([6, 9, 8], 12) as tf.Tensor3D;
    const k = rand([6, 9, 8], 13) as tf.Tensor3D;
    const a = causalAttention(q, k, 2, { withScores: false });
    const b = causalAttention(q, k, 2, { withScores: true });
    assert.equal(a.scores, undefined);
    assert.deepEqual(Array.from(a.pattern.dataSync()), Array.from(b.pattern.dataSync()));
    tf.dispose([q, k, a.pattern, b.pattern, b.scores!]);
  });
  it("centring rows and folding-and-centring columns", () => {
    assertAgree(() => tf.tidy(() => centerLastAxis(rand([33, 17], 14))));
    assertAgree(() => tf.tidy(() => centerLastAxis(rand([17], 14))));
    assertAgree(() => tf.tidy(() => scaleCenterColumns(rand([3, 17, 29], 15) as tf.Tensor3D, rand([17], 16) as tf.Tensor1D, true)));
    assertAgree(() => tf.tidy(() => scaleCenterColumns(rand([3, 17, 29], 15) as tf.Tensor3D, undefined, true)));
  });
});

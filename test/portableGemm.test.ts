/**
 * The addon's portable SGEMM (native/src/portable_sgemm.cc), selected on purpose with setGemmKernel
 * whatever BLAS the build linked: straight on the addon against the float64 reference, with shapes
 * that cross every block edge (register tile 6 x 16, blocks of 120 rows, 512 columns, depth 256),
 * then through TensorFlow.js against tfjs's own kernels. Skipped with the reason where the addon is
 * not built; .ci/run fails earlier in that case.
 */
import { strict as assert } from "assert";
import { initBackend, tf } from "../src/backend";
import { nativeKernelsActive, nativeKernelsStatus, setNativeKernelsEnabled } from "../src/kernels/nativeKernels";
import { causalAttention } from "../src/model/fusedOps";
import { requireTool } from "./helpers/requireTool";
import { MatMulCase, referenceMatMul } from "./reference/matmul";

interface GemmAddon {
  sgemm(a: Float32Array, aOff: number, b: Float32Array, bOff: number, out: Float32Array, outOff: number,
    batch: number, m: number, n: number, k: number, transA: boolean, transB: boolean, aStride: number, bStride: number,
    bias: Float32Array | null, biasOff: number): void;
  gemmInfo(): { blas: string; kernel: "blas" | "portable" };
  setGemmKernel(name: string): boolean;
}

/** Deterministic values in [-1, 1). */
function values(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let s = seed >>> 0;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

let addon: GemmAddon | undefined;
let kernelBefore: string | undefined;

describe("portable SGEMM", function () {
  before(function () {
    try {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      addon = require("mechinterp-native-gemm") as GemmAddon;
    } catch {
      addon = undefined;
    }
    if (!addon || typeof addon.setGemmKernel !== "function") {
      requireTool(this, "the native addon", `it is not built (${nativeKernelsStatus().reason ?? "it predates setGemmKernel: npm rebuild mechinterp-native-gemm"})`);
      return;
    }
    kernelBefore = addon.gemmInfo().kernel;
    assert.equal(addon.setGemmKernel("portable"), true);
    assert.equal(addon.gemmInfo().kernel, "portable");
  });
  after(() => {
    if (addon && kernelBefore) addon.setGemmKernel(kernelBefore);
  });

  // [what, batch, m, n, k, transA, transB, broadcast ("a" | "b" | ""), bias]
  const cases: [string, number, number, number, number, boolean, boolean, string, boolean][] = [
    ["1 x 1 x 1", 1, 1, 1, 1, false, false, "", false],
    ["one register tile, exactly", 1, 6, 16, 8, false, false, "", false],
    ["tile edges: 7 rows, 17 columns", 1, 7, 17, 5, false, false, "", false],
    ["a transposed", 1, 13, 19, 11, true, false, "", false],
    ["b transposed", 1, 13, 19, 11, false, true, "", false],
    ["both transposed, with a bias", 1, 13, 19, 11, true, true, "", true],
    ["depth past one slab (k 257 = 256 + 1)", 1, 9, 21, 257, false, false, "", false],
    ["rows past one block (m 121 = 120 + 1), columns past one (n 513 = 512 + 1)", 1, 121, 513, 40, false, false, "", true],
    ["batched, a broadcast over the batch", 3, 10, 18, 12, false, false, "a", false],
    ["batched, b broadcast, b transposed", 3, 10, 18, 12, false, true, "b", true],
    ["large enough for several threads", 2, 200, 300, 260, false, true, "", false],
    ["a single row (a vector times a matrix)", 1, 1, 700, 300, false, false, "", false],
  ];
  for (const [what, batch, m, n, k, transA, transB, broadcast, withBias] of cases) {
    it(`${what}: [${batch}] ${m}x${k} * ${k}x${n} matches the float64 reference`, () => {
      const c: MatMulCase = {
        batch, m, n, k, transA, transB,
        aBatchStride: broadcast === "a" ? 0 : m * k,
        bBatchStride: broadcast === "b" ? 0 : k * n,
      };
      const a = values((broadcast === "a" ? 1 : batch) * m * k, 1 + m);
      const b = values((broadcast === "b" ? 1 : batch) * k * n, 2 + n);
      const bias = withBias ? values(n, 3) : null;
      // The output starts as NaN: with no bias it must be written without being read.
      const out = new Float32Array(batch * m * n).fill(NaN);
      addon!.sgemm(a, 0, b, 0, out, 0, batch, m, n, k, transA, transB, c.aBatchStride, c.bBatchStride, bias, 0);
      const expected = referenceMatMul(a, b, c, bias ?? undefined);
      let worst = 0;
      for (let i = 0; i < expected.length; i++) {
        assert.ok(Number.isFinite(out[i]), `element ${i} is ${out[i]}`);
        worst = Math.max(worst, Math.abs(out[i] - expected[i]));
      }
      // float32 accumulation over k terms of magnitude <= 1: error well under k * 2^-24 * |sum| bound.
      assert.ok(worst <= 2e-6 * Math.max(1, k), `max |diff| ${worst} over ${expected.length} values`);
    });
  }

  it("operands at offsets inside one shared buffer", () => {
    const m = 5, n = 7, k = 9;
    const buf = values(3 + m * k + 4 + k * n + 2 + m * n, 11);
    const aOff = 3, bOff = aOff + m * k + 4, oOff = bOff + k * n + 2;
    const a = buf.slice(aOff, aOff + m * k), b = buf.slice(bOff, bOff + k * n);
    addon!.sgemm(buf, aOff, buf, bOff, buf, oOff, 1, m, n, k, false, false, 0, 0, null, 0);
    const expected = referenceMatMul(a, b, { batch: 1, m, n, k, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 });
    expected.forEach((e, i) => assert.ok(Math.abs(buf[oOff + i] - e) < 1e-5, `element ${i}`));
    assert.deepEqual(Array.from(buf.slice(0, aOff)), Array.from(values(3, 11)), "nothing written before A");
  });

  it("k = 0 gives zeros, or the bias", () => {
    const out = new Float32Array(6).fill(NaN);
    addon!.sgemm(new Float32Array(0), 0, new Float32Array(0), 0, out, 0, 1, 2, 3, 0, false, false, 0, 0, null, 0);
    assert.deepEqual(Array.from(out), [0, 0, 0, 0, 0, 0]);
    addon!.sgemm(new Float32Array(0), 0, new Float32Array(0), 0, out, 0, 1, 2, 3, 0, false, false, 0, 0, new Float32Array([1, 2, 3]), 0);
    assert.deepEqual(Array.from(out), [1, 2, 3, 1, 2, 3]);
  });

  it("setGemmKernel refuses unknown names and reports whether a BLAS is there", () => {
    assert.throws(() => addon!.setGemmKernel("fast"), /expected "blas" or "portable"/);
    assert.throws(() => (addon!.setGemmKernel as unknown as (x: number) => boolean)(1), /expected "blas" or "portable"/);
    const { blas } = addon!.gemmInfo();
    assert.equal(addon!.setGemmKernel("blas"), blas !== "none");
    assert.equal(addon!.gemmInfo().kernel, blas !== "none" ? "blas" : "portable");
    addon!.setGemmKernel("portable");
  });

  describe("through TensorFlow.js, against tfjs's own kernels", () => {
    before(async function () {
      const { backend } = await initBackend();
      requireTool(this, "the native kernels", nativeKernelsActive(backend) ? undefined : `they are inactive on ${backend} (${nativeKernelsStatus().reason ?? "MECHINTERP_NATIVE_MATMUL=0"})`);
    });
    const both = (fn: () => tf.Tensor): [Float32Array, Float32Array] => {
      const start = tf.memory().numTensors;
      const native = fn();
      setNativeKernelsEnabled(false);
      let plain: tf.Tensor;
      try {
        plain = fn();
      } finally {
        setNativeKernelsEnabled(true);
      }
      assert.deepEqual(native.shape, plain.shape);
      const r: [Float32Array, Float32Array] = [native.dataSync() as Float32Array, plain.dataSync() as Float32Array];
      tf.dispose([native, plain]);
      assert.equal(tf.memory().numTensors, start, "no tensor leaked");
      return r;
    };
    const rand = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, "float32", seed);
    const shapes: [string, number[], number[], boolean, boolean][] = [
      ["2-D across block edges", [121, 257], [257, 513], false, false],
      ["batched, b transposed", [4, 30, 64], [4, 50, 64], false, true],
      ["b broadcast over a's batch", [2, 3, 7, 9], [9, 17], false, false],
    ];
    for (const [what, as, bs, ta, tb] of shapes) {
      it(`matMul: ${what}`, () => {
        const [n, p] = both(() => tf.tidy(() => tf.matMul(rand(as, 1), rand(bs, 2), ta, tb)));
        const scale = p.reduce((x, v) => Math.max(x, Math.abs(v)), 1e-6);
        p.forEach((v, i) => assert.ok(Math.abs(n[i] - v) <= 2e-6 * scale, `element ${i}: ${n[i]} vs ${v}`));
      });
    }
    it("causal attention pattern", () => {
      const [n, p] = both(() => tf.tidy(() => causalAttention(rand([4, 33, 16], 3) as tf.Tensor3D, rand([4, 33, 16], 4) as tf.Tensor3D, 4, { withScores: false }).pattern));
      p.forEach((v, i) => assert.ok(Math.abs(n[i] - v) <= 1e-6, `element ${i}: ${n[i]} vs ${v}`));
    });
  });
});

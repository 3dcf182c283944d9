import * as assert from "assert";
import { tf, initBackend } from "../src/backend";
import { at, item, topK, norm, cosineSimilarity, softmax, range } from "../src/tensorUtils";

/** A [2, 3, 4] nested array whose element [i][j][k] is 100i + 10j + k, and its tensor. */
const nested = [0, 1].map((i) => [0, 1, 2].map((j) => [0, 1, 2, 3].map((k) => 100 * i + 10 * j + k)));

/** Runs `fn` and checks that it left no tensor behind. */
function noLeak<T>(fn: () => T): T {
  const before = tf.memory().numTensors;
  const result = fn();
  assert.strictEqual(tf.memory().numTensors, before, "tensors leaked");
  return result;
}

describe("tensorUtils", () => {
  let t: tf.Tensor3D;
  before(async () => {
    await initBackend();
    t = tf.tensor3d(nested);
  });
  after(() => t.dispose());

  describe("at", () => {
    const cases: Array<{ indices: number[]; expected: unknown; shape: number[] }> = [
      { indices: [0], expected: nested[0], shape: [3, 4] },
      { indices: [-1], expected: nested[1], shape: [3, 4] },
      { indices: [0, -1], expected: nested[0][2], shape: [4] },
      { indices: [1, -3], expected: nested[1][0], shape: [4] },
      { indices: [-2, 1, -1], expected: nested[0][1][3], shape: [] },
      { indices: [], expected: nested, shape: [2, 3, 4] },
    ];
    for (const { indices, expected, shape } of cases) {
      it(`t[${indices.join(", ")}] -> shape [${shape.join(", ")}]`, () => {
        const before = tf.memory().numTensors;
        const r = at(t, ...indices);
        assert.strictEqual(tf.memory().numTensors, before + 1, "exactly the result tensor is new");
        assert.deepStrictEqual(r.shape, shape);
        assert.deepStrictEqual(r.arraySync(), expected);
        r.dispose();
      });
    }

    const errors: Array<{ indices: number[]; message: RegExp }> = [
      { indices: [2], message: /index 2 is out of range for dimension 0 of size 2 .*shape \[2, 3, 4\].*-2\.\.1/ },
      { indices: [0, -4], message: /index -4 is out of range for dimension 1 of size 3/ },
      { indices: [0, 0, 0, 0], message: /4 indices given for a tensor of rank 3/ },
      { indices: [0.5], message: /index 0\.5 for dimension 0 is not an integer/ },
    ];
    for (const { indices, message } of errors) {
      it(`rejects t[${indices.join(", ")}] clearly, leaking nothing`, () => {
        noLeak(() => assert.throws(() => at(t, ...indices), message));
      });
    }
  });

  describe("item", () => {
    it("reads single elements with negative indices, leaking nothing", () => {
      assert.strictEqual(noLeak(() => item(t, 1, -1, -2)), 122);
      assert.strictEqual(noLeak(() => item(t, 0, 1, 0)), 10);
    });
    it("reads a scalar tensor with no indices, as (a @ b).item()", () => {
      const s = tf.scalar(2.5);
      assert.strictEqual(noLeak(() => item(s)), 2.5);
      s.dispose();
    });
    it("insists on one index per dimension", () => {
      noLeak(() => assert.throws(() => item(t, 0, 1), /needs 3 indices.*got 2.*at\(\)/));
    });
  });

  describe("topK", () => {
    const values = [0.5, -2, 3, 3, 1, 7, -0.25];
    // Reference: sort (value, index) pairs by value descending, then index ascending.
    const reference = (k: number) =>
      values
        .map((v, i) => [v, i] as const)
        .sort((a, b) => b[0] - a[0] || a[1] - b[1])
        .slice(0, k);
    for (const k of [1, 3, 4, 7]) {
      it(`k=${k} from a tensor and from an array`, () => {
        const expected = { values: reference(k).map((p) => p[0]), indices: reference(k).map((p) => p[1]) };
        const x = tf.tensor1d(values);
        const fromTensor = noLeak(() => topK(x, k));
        x.dispose();
        assert.deepStrictEqual(fromTensor, expected);
        assert.deepStrictEqual(topK(values, k), expected);
      });
    }
    it("rejects bad k and non-1-D input", () => {
      assert.throws(() => topK(values, 0), /k must be an integer from 1 to 7.*got 0/);
      assert.throws(() => topK(values, 8), /from 1 to 7.*got 8/);
      noLeak(() => assert.throws(() => topK(t, 2), /must be 1-D, got shape \[2, 3, 4\]/));
    });
  });

  describe("norm", () => {
    it("is the Frobenius norm over all elements", () => {
      const flat = nested.flat(2);
      const expected = Math.sqrt(flat.reduce((s, v) => s + v * v, 0));
      assert.ok(Math.abs(noLeak(() => norm(t)) - expected) < 1e-9 * expected);
      assert.strictEqual(norm([3, 4]), 5);
      assert.strictEqual(norm([]), 0);
    });
  });

  describe("cosineSimilarity", () => {
    const cases: Array<{ a: number[]; b: number[]; expected: number }> = [
      { a: [1, 0], b: [0, 2], expected: 0 },
      { a: [1, 2, 3], b: [2, 4, 6], expected: 1 },
      { a: [1, 2, 3], b: [-1, -2, -3], expected: -1 },
      { a: [1, 1], b: [1, 0], expected: Math.SQRT1_2 },
      { a: [0, 0], b: [1, 0], expected: 0 }, // eps keeps a zero vector finite, as PyTorch
    ];
    for (const { a, b, expected } of cases) {
      it(`cos([${a}], [${b}]) = ${expected.toFixed(4)}`, () => {
        assert.ok(Math.abs(cosineSimilarity(a, b) - expected) < 1e-12);
        const ta = tf.tensor1d(a);
        const tb = tf.tensor1d(b);
        const fromTensors = noLeak(() => cosineSimilarity(ta, tb));
        tf.dispose([ta, tb]);
        assert.ok(Math.abs(fromTensors - expected) < 1e-6);
      });
    }
    it("rejects vectors of different lengths and non-1-D tensors", () => {
      assert.throws(() => cosineSimilarity([1, 2], [1, 2, 3]), /differ in length \(2 and 3\)/);
      assert.throws(() => cosineSimilarity(t, [1]), /first vector must be 1-D.*at\(resid, 0, -1\)/);
    });
  });

  describe("softmax", () => {
    const logits = [1, 2, 3, -1000];
    const z = Math.exp(1) + Math.exp(2) + Math.exp(3);
    const expected = [Math.exp(1) / z, Math.exp(2) / z, Math.exp(3) / z, 0];
    it("of an array is an array, stable for large magnitudes", () => {
      const p = softmax(logits);
      p.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-12, `p[${i}]=${v}`));
      assert.deepStrictEqual(softmax([1000, 1000]), [0.5, 0.5]);
    });
    it("of a tensor is a tensor over the last axis, int inputs included", () => {
      const x = tf.tensor2d([logits, [0, 0, 0, 0]]);
      const before = tf.memory().numTensors;
      const p = softmax(x);
      assert.strictEqual(tf.memory().numTensors, before + 1);
      const rows = p.arraySync() as number[][];
      rows[0].forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-6));
      rows[1].forEach((v) => assert.ok(Math.abs(v - 0.25) < 1e-7));
      tf.dispose([x, p]);
      const ints = tf.tensor1d([0, 0], "int32");
      const q = noLeak(() => tf.tidy(() => softmax(ints).arraySync()));
      ints.dispose();
      assert.deepStrictEqual(q, [0.5, 0.5]);
    });
  });

  describe("range", () => {
    const cases: Array<{ args: [number, number?, number?]; expected: number[] }> = [
      { args: [4], expected: [0, 1, 2, 3] },
      { args: [0], expected: [] },
      { args: [2, 5], expected: [2, 3, 4] },
      { args: [5, 2], expected: [] },
      { args: [0, 10, 3], expected: [0, 3, 6, 9] },
      { args: [3, 0, -1], expected: [3, 2, 1] },
    ];
    for (const { args, expected } of cases) {
      it(`range(${args.filter((a) => a !== undefined).join(", ")}) = [${expected}]`, () => {
        assert.deepStrictEqual(range(...args), expected);
      });
    }
    it("rejects a zero step", () => {
      assert.throws(() => range(0, 3, 0), /step must be a non-zero finite number, got 0/);
    });
  });
});
